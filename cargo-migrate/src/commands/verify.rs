//! `cargo migrate verify [<version>...] [--all] [--shadow-url URL]`: exit 0 every verdict
//! passes, 3 one fails, 1 error.

use crate::cli::VerifyArgs;
use crate::exit::Exit;
use crate::render::error::CliError;
use crate::render::{Format, events::printer, verify};
use migrate_runtime::ops::{self, Selection, VerifyRequest, Workspace};

pub fn run(ws: &Workspace, format: Format, args: VerifyArgs) -> Result<Exit, CliError> {
    let selection = match (args.all, args.versions.is_empty()) {
        (true, _) => Selection::All,
        (false, true) => Selection::Drafts,
        (false, false) => Selection::Versions(args.versions),
    };
    let request = VerifyRequest {
        selection,
        shadow_url: args.shadow.shadow_url,
        db: args.shadow.db.options(),
    };
    let outcome = ops::verify(ws, &request, &mut printer(format))?;
    verify::print(format, &outcome);
    Ok(verify::exit(&outcome))
}
