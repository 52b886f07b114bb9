//! `cargo migrate apply`.

use crate::cli::ApplyArgs;
use crate::exit::Exit;
use crate::render::error::CliError;
use crate::render::{Format, apply, events::printer};
use migrate_runtime::engine::ApplyOptions;
use migrate_runtime::ops::{self, ApplyRequest, Workspace};

pub fn run(ws: &Workspace, format: Format, args: ApplyArgs) -> Result<Exit, CliError> {
    let request = ApplyRequest {
        options: ApplyOptions {
            to: args.to,
            dry_run: args.dry_run,
            single_transaction: args.single_transaction,
            allow_out_of_order: args.allow_out_of_order,
        },
        locked: args.locked,
        allow_unsafe: args.allow_unsafe,
        db: args.db.options(),
        backup_command: args.backup.backup_command,
        no_backup: args.backup.no_backup,
        stop: Some(super::stop_on_ctrl_c()),
    };
    if let Some(file) = args.fleet.file() {
        return super::fleet::apply(ws, format, request, file, &args.fleet, &args.fleet_apply);
    }
    super::report_or_interrupted(
        format,
        ops::apply(ws, &request, &mut printer(format)),
        apply::print,
    )
}
