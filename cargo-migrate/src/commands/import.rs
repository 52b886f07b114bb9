//! `cargo migrate import --from <tool> [<source dir>] [--history] [--dry-run]`.

use crate::cli::ImportArgs;
use crate::exit::Exit;
use crate::render::error::CliError;
use crate::render::{Format, events::printer, import};
use migrate_runtime::import::ImportOptions;
use migrate_runtime::ops::{self, ImportRequest, Workspace};

pub fn run(ws: &Workspace, format: Format, args: ImportArgs) -> Result<Exit, CliError> {
    let request = ImportRequest {
        options: ImportOptions {
            tool: args.from,
            source: args.source.clone(),
            dir: ws.dir.clone(),
            dry_run: args.dry_run,
            source_table: args.source_table.clone(),
        },
        history: args.history,
        db: args.db.options(),
    };
    let report = ops::import(ws, &request, &mut printer(format))?;
    import::print(format, &report, ws.redacted());
    Ok(Exit::Success)
}
