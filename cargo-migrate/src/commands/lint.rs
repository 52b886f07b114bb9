//! `cargo migrate lint [<version>...] [--all] [--format text|json|github]`: needs no database.

use crate::cli::LintArgs;
use crate::exit::Exit;
use crate::render::error::CliError;
use crate::render::{Format, lint};
use migrate_runtime::ops::{self, LintRequest, Workspace};

pub fn run(ws: &Workspace, format: Format, github: bool, args: LintArgs) -> Result<Exit, CliError> {
    let request = LintRequest {
        versions: args.versions,
        all: args.all,
    };
    let report = ops::lint(ws, &request)?;
    Ok(lint::print_report(format, github, &report))
}
