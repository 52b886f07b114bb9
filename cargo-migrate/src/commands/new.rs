//! `cargo migrate new <name> [--no-transaction | --backfill] [--irreversible]`.

use crate::cli::NewArgs;
use crate::exit::Exit;
use crate::render::error::CliError;
use crate::render::{Format, new};
use migrate_runtime::model::NewMigration;
use migrate_runtime::ops::{self, Workspace};

pub fn run(ws: &Workspace, format: Format, args: NewArgs) -> Result<Exit, CliError> {
    let request = NewMigration {
        name: &args.name,
        no_transaction: args.no_transaction,
        irreversible: args.irreversible,
        backfill: args.backfill,
        rust: args.rust,
    };
    let report = ops::new_migration(ws, &request)?;
    new::print(format, &report);
    Ok(Exit::Success)
}
