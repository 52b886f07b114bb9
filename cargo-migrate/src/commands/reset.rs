//! `cargo migrate reset [--force --confirm DBNAME]`: development only.

use crate::cli::ResetArgs;
use crate::exit::Exit;
use crate::render::error::CliError;
use crate::render::{Format, events::printer, reset};
use migrate_runtime::ops::{self, ResetRequest, Workspace};

pub fn run(ws: &Workspace, format: Format, args: ResetArgs) -> Result<Exit, CliError> {
    let request = ResetRequest {
        force: args.force,
        confirm: args.confirm,
        seed: args.seed,
        db: args.db.options(),
    };
    let outcome = ops::reset(ws, &request, &mut printer(format))?;
    reset::print(format, &outcome);
    Ok(Exit::Success)
}
