//! `cargo migrate restore <file>`: into a new database; its URL (redacted) on stdout.

use crate::cli::RestoreArgs;
use crate::exit::Exit;
use crate::render::error::CliError;
use crate::render::{Format, backup, events::printer};
use migrate_runtime::ops::{self, RestoreRequest, Workspace};

pub fn run(ws: &Workspace, format: Format, args: RestoreArgs) -> Result<Exit, CliError> {
    let request = RestoreRequest {
        file: args.file,
        into: args.into,
        db: args.db.options(),
    };
    let outcome = ops::restore(ws, &request, &mut printer(format))?;
    backup::print_restore(format, &outcome);
    Ok(Exit::Success)
}
