//! `cargo migrate down [--steps N | --to VERSION] [--dry-run]`.

use crate::cli::DownArgs;
use crate::exit::Exit;
use crate::render::error::CliError;
use crate::render::{Format, down, events::printer};
use migrate_runtime::engine::DownTarget;
use migrate_runtime::ops::{self, DownRequest, Workspace};

pub fn run(ws: &Workspace, format: Format, args: DownArgs) -> Result<Exit, CliError> {
    let request = DownRequest {
        target: match (args.to, args.steps) {
            (Some(v), _) => DownTarget::To(v),
            (None, n) => DownTarget::Steps(n.unwrap_or(1)),
        },
        dry_run: args.dry_run,
        db: args.db.options(),
        stop: Some(super::stop_on_ctrl_c()),
    };
    super::report_or_interrupted(
        format,
        ops::down(ws, &request, &mut printer(format)),
        down::print,
    )
}
