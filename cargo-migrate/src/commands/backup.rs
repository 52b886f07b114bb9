//! `cargo migrate backup`: one backup now; what identifies it on stdout.

use crate::cli::BackupArgs;
use crate::exit::Exit;
use crate::render::error::CliError;
use crate::render::{Format, backup, events::printer};
use migrate_runtime::ops::{self, BackupRequest, Workspace};

pub fn run(ws: &Workspace, format: Format, args: BackupArgs) -> Result<Exit, CliError> {
    let request = BackupRequest {
        command: args.backup_command,
        db: args.db.options(),
    };
    let outcome = ops::backup(ws, &request, &mut printer(format))?;
    backup::print_backup(format, &outcome);
    Ok(Exit::Success)
}
