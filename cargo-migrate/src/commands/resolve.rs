//! `cargo migrate resolve --applied V | --rolled-back V | --applied-through V [--dry-run]`.

use crate::cli::ResolveArgs;
use crate::exit::Exit;
use crate::render::error::CliError;
use crate::render::{Format, events::printer, resolve};
use migrate_runtime::engine::Resolution;
use migrate_runtime::ops::{self, ResolveRequest, Workspace};

pub fn run(ws: &Workspace, format: Format, args: ResolveArgs) -> Result<Exit, CliError> {
    let request = match (args.applied, args.rolled_back, args.applied_through) {
        (_, _, Some(version)) => ResolveRequest::Through {
            version,
            dry_run: args.dry_run,
        },
        (Some(v), _, _) => ResolveRequest::One(v, Resolution::Applied),
        (None, Some(v), _) => ResolveRequest::One(v, Resolution::RolledBack),
        (None, None, None) => {
            return Err(CliError::new(
                "give --applied <version>, --rolled-back <version> or --applied-through <version>",
            ));
        }
    };
    let outcome = ops::resolve(ws, &request, &args.db.options(), &mut printer(format))?;
    match request {
        ResolveRequest::Through { version, .. } => {
            resolve::print_through(format, version, &outcome)
        }
        ResolveRequest::One(..) => resolve::print_one(format, &outcome),
    }
    Ok(Exit::Success)
}
