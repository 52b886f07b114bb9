//! `cargo migrate resolve --applied VERSION | --rolled-back VERSION`.

use crate::cli::ResolveArgs;
use crate::context::Context;
use crate::context::Format;
use crate::database::{self, redacted};
use crate::events::printer;
use crate::exit::Exit;
use crate::report::{Error, engine_error, print_json};
use migrate_runtime::engine::Resolution;
use serde_json::json;

pub fn run(cx: &Context, args: ResolveArgs) -> Result<Exit, Error> {
    let (version, resolution) = match (args.applied, args.rolled_back) {
        (Some(v), _) => (v, Resolution::Applied),
        (None, Some(v)) => (v, Resolution::RolledBack),
        (None, None) => {
            return Err(Error::new(
                "give --applied <version> or --rolled-back <version>",
            ));
        }
    };
    let (set, state) = database::preflight(cx)?;
    let settings = database::settings(cx, &args.db)?;
    let mut db = database::connect(cx, &settings)?;
    let engine = settings.engine;
    engine
        .resolve(
            &mut db.client,
            &set,
            version,
            resolution,
            &mut printer(cx.format),
        )
        .map_err(|e| engine_error(e, "resolve"))?;
    let sealed = match resolution {
        Resolution::Applied => database::seal_applied(cx, &set, &state, &[version])?.1,
        Resolution::RolledBack => Vec::new(),
    };
    let what = match resolution {
        Resolution::Applied => "applied",
        Resolution::RolledBack => "rolled back",
    };
    match cx.format {
        Format::Text => {
            crate::info!("Marked {version} as {what} (recorded in the history; nothing was run).");
            for s in &sealed {
                crate::info!("  Sealed {s}");
            }
        }
        Format::Json => print_json(&json!({
            "ok": true,
            "database": redacted(cx),
            "version": version,
            "resolution": what.replace(' ', "_"),
            "sealed": sealed,
        })),
    }
    Ok(Exit::Success)
}
