//! `cargo migrate diff [--shadow-url URL]`: exit 0 no drift, 3 drift, 1 error.

use crate::cli::DiffArgs;
use crate::exit::Exit;
use crate::render::error::CliError;
use crate::render::{Format, drift, events::printer};
use migrate_runtime::ops::{self, DriftRequest, Workspace};

pub fn run(ws: &Workspace, format: Format, args: DiffArgs) -> Result<Exit, CliError> {
    let request = DriftRequest {
        shadow_url: args.shadow.shadow_url,
        db: args.shadow.db.options(),
    };
    let outcome = ops::drift(ws, &request, &mut printer(format))?;
    drift::print(format, &outcome);
    Ok(drift::exit(&outcome))
}
