//! `cargo migrate status [--drift]`: exit 0 up to date, 4 pending only, 3 problems (drift
//! included), 1 error.

use crate::cli::StatusArgs;
use crate::exit::Exit;
use crate::render::error::CliError;
use crate::render::{Format, events::printer, status};
use migrate_runtime::ops::{self, StatusRequest, Workspace};

pub fn run(ws: &Workspace, format: Format, args: StatusArgs) -> Result<Exit, CliError> {
    if let Some(file) = args.fleet.file() {
        return super::fleet::status(ws, format, file, &args);
    }
    let request = StatusRequest {
        db: args.db.options(),
        drift: args.drift,
        shadow_url: args.shadow_url,
    };
    let report = ops::status(ws, &request, &mut printer(format))?;
    status::print(format, &report);
    Ok(status::exit(&report))
}
