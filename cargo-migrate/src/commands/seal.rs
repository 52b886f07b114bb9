//! `cargo migrate seal [--check] [--force <version>] [--allow-out-of-order]`.

use crate::cli::SealArgs;
use crate::exit::Exit;
use crate::render::error::CliError;
use crate::render::{Format, events::printer, seal};
use migrate_runtime::SealOptions;
use migrate_runtime::ops::{self, Workspace};

pub fn run(ws: &Workspace, format: Format, args: SealArgs) -> Result<Exit, CliError> {
    if args.check {
        let report = ops::check(ws)?;
        return Ok(seal::print_check(format, &ws.dir, &report));
    }
    let options = SealOptions {
        force: args.force.iter().copied().collect(),
        allow_out_of_order: args.allow_out_of_order,
    };
    let report = ops::seal_drafts(ws, &options, &mut printer(format))?;
    seal::print(format, &report);
    Ok(Exit::Success)
}
