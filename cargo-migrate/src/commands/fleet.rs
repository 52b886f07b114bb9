//! `cargo migrate apply --fleet` and `status --fleet`: every database of a fleet file.

use crate::cli::{FleetApplyArgs, FleetArgs, StatusArgs};
use crate::exit::Exit;
use crate::render::error::CliError;
use crate::render::{Format, events::printer, fleet};
use migrate_runtime::ops::fleet::{FleetRequest, FleetStatusRequest, apply_fleet, status_fleet};
use migrate_runtime::ops::{ApplyRequest, Workspace};
use std::path::PathBuf;

/// `apply --fleet`: exit 0 when every database succeeded, else 1.
pub fn apply(
    ws: &Workspace,
    format: Format,
    apply: ApplyRequest,
    file: Option<PathBuf>,
    args: &FleetArgs,
    how: &FleetApplyArgs,
) -> Result<Exit, CliError> {
    let request = FleetRequest {
        file,
        jobs: args.jobs(),
        fail_fast: how.fail_fast,
        canary: how.canary.map(|n| n as usize),
        apply,
    };
    let report = apply_fleet(ws, &request, &mut printer(format))?;
    let exit = if report.ok() {
        Exit::Success
    } else {
        Exit::Error
    };
    fleet::print_apply(format, report);
    Ok(exit)
}

/// `status --fleet`: the worst of the databases' exit codes (1 unreadable, 3 problems, 4
/// pending, 0 up to date).
pub fn status(
    ws: &Workspace,
    format: Format,
    file: Option<PathBuf>,
    args: &StatusArgs,
) -> Result<Exit, CliError> {
    let request = FleetStatusRequest {
        file,
        jobs: args.fleet.jobs(),
        db: args.db.options(),
    };
    let report = status_fleet(ws, &request, &mut printer(format))?;
    let exit = fleet::status_exit(&report);
    fleet::print_status(format, report);
    Ok(exit)
}
