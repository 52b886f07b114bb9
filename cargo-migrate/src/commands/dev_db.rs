//! `cargo migrate dev-db status|url|stop|destroy`.

use crate::cli::DevDbCommand;
use crate::exit::Exit;
use crate::render::error::CliError;
use crate::render::{Format, dev_db};
use migrate_runtime::ops::{Workspace, dev_db as op};

pub fn run(ws: &Workspace, format: Format, action: DevDbCommand) -> Result<Exit, CliError> {
    match action {
        DevDbCommand::Status => dev_db::status(format, &op::status(ws)?),
        DevDbCommand::Url => {
            let (running, dir) = op::url(ws)?;
            dev_db::url(format, &running, &dir);
        }
        DevDbCommand::Stop => dev_db::changed(
            format,
            op::stop(ws)?,
            "stopped",
            "Stopped the dev database",
            "The dev database is not running",
        ),
        DevDbCommand::Destroy => {
            let (destroyed, dir) = op::destroy(ws)?;
            let done = format!("Deleted the dev database ({})", dir.display());
            dev_db::changed(
                format,
                destroyed,
                "destroyed",
                &done,
                "There is no dev database",
            );
        }
    }
    Ok(Exit::Success)
}
