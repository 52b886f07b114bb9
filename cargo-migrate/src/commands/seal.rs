//! `cargo migrate seal [--check] [--force <version>] [--allow-out-of-order] [--verify]`.

use crate::cli::SealArgs;
use crate::exit::Exit;
use crate::render::error::CliError;
use crate::render::{Format, events::printer, seal};
use migrate_runtime::SealOptions;
use migrate_runtime::ops::{self, OpError, SealRequest, VerifyRequest, Workspace};

pub fn run(ws: &Workspace, format: Format, args: SealArgs) -> Result<Exit, CliError> {
    if args.check {
        let report = ops::check(ws)?;
        return Ok(seal::print_check(format, &ws.dir, &report));
    }
    let request = SealRequest {
        options: SealOptions {
            force: args.force.iter().copied().collect(),
            allow_out_of_order: args.allow_out_of_order,
            ..SealOptions::default()
        },
        verify: args.verify.then(|| VerifyRequest {
            shadow_url: args.shadow_url,
            db: args.db.options(),
            ..VerifyRequest::default()
        }),
    };
    match ops::seal_drafts(ws, &request, &mut printer(format)) {
        Ok(report) => {
            seal::print(format, &report);
            Ok(Exit::Success)
        }
        Err(OpError::Unverified(outcome)) => {
            // The verdicts first (as `verify` shows them), then why nothing was sealed.
            if format == Format::Text {
                crate::render::verify::print(format, &outcome);
            }
            Err(seal::unverified(&outcome))
        }
        Err(e) => Err(e.into()),
    }
}
