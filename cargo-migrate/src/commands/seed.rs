//! `cargo migrate seed [PATH] [--force --confirm DBNAME]`: development data.

use crate::cli::SeedArgs;
use crate::exit::Exit;
use crate::render::error::CliError;
use crate::render::{Format, events::printer, seed};
use migrate_runtime::ops::{self, SeedRequest, Workspace};

pub fn run(ws: &Workspace, format: Format, args: SeedArgs) -> Result<Exit, CliError> {
    let request = SeedRequest {
        path: args.path,
        force: args.force,
        confirm: args.confirm,
        db: args.db.options(),
    };
    let outcome = ops::seed(ws, &request, &mut printer(format))?;
    seed::print(format, &outcome);
    Ok(Exit::Success)
}
