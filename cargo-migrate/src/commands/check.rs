//! `cargo migrate check [--all] [--shadow-url URL] [--format text|json|github]`: exit 0 every
//! step passed, 3 a step found problems, 1 a step could not run.

use crate::cli::CheckArgs;
use crate::exit::Exit;
use crate::render::error::CliError;
use crate::render::{Format, check, events::printer};
use migrate_runtime::ops::{self, GateRequest, Workspace};

pub fn run(
    ws: &Workspace,
    format: Format,
    github: bool,
    args: CheckArgs,
) -> Result<Exit, CliError> {
    let request = GateRequest {
        all: args.all,
        shadow_url: args.shadow.shadow_url,
        db: args.shadow.db.options(),
    };
    let report = ops::gate(ws, &request, &mut printer(format))?;
    Ok(check::print(format, github, report))
}
