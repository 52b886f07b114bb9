//! `cargo migrate status`: exit 0 up to date, 4 pending only, 3 problems, 1 error.

use crate::cli::StatusArgs;
use crate::exit::Exit;
use crate::render::error::CliError;
use crate::render::{Format, events::printer, status};
use migrate_runtime::ops::{self, Workspace};

pub fn run(ws: &Workspace, format: Format, args: StatusArgs) -> Result<Exit, CliError> {
    if let Some(file) = args.fleet.file() {
        return super::fleet::status(ws, format, file, &args);
    }
    let report = ops::status(ws, &args.db.options(), &mut printer(format))?;
    status::print(format, &report);
    Ok(status::exit(&report))
}
