//! `cargo migrate resolve --applied VERSION | --rolled-back VERSION`.

use crate::cli::ResolveArgs;
use crate::context::Context;
use crate::context::Format;
use crate::database::{self, redacted};
use crate::events::printer;
use crate::exit::Exit;
use crate::report::{Error, engine_error, print_json};
use migrate_runtime::Version;
use migrate_runtime::engine::Resolution;
use serde_json::json;

pub fn run(cx: &Context, args: ResolveArgs) -> Result<Exit, Error> {
    if let Some(through) = args.applied_through {
        return baseline(cx, &args, through);
    }
    let (version, resolution) = match (args.applied, args.rolled_back) {
        (Some(v), _) => (v, Resolution::Applied),
        (None, Some(v)) => (v, Resolution::RolledBack),
        (None, None) => {
            return Err(Error::new(
                "give --applied <version>, --rolled-back <version> or --applied-through <version>",
            ));
        }
    };
    let (set, state) = database::preflight(cx, &args.db)?;
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

/// `--applied-through`: baseline an existing database in one step.
fn baseline(cx: &Context, args: &ResolveArgs, through: Version) -> Result<Exit, Error> {
    let (set, state) = database::preflight(cx, &args.db)?;
    let settings = database::settings(cx, &args.db)?;
    let mut db = database::connect(cx, &settings)?;
    let versions = settings
        .engine
        .resolve_through(
            &mut db.client,
            &set,
            through,
            args.dry_run,
            &mut printer(cx.format),
        )
        .map_err(|e| engine_error(e, "resolve"))?;
    let folders: Vec<String> = versions
        .iter()
        .filter_map(|v| set.get(*v))
        .map(|m| m.folder())
        .collect();
    let sealed = if args.dry_run {
        Vec::new()
    } else {
        database::seal_applied(cx, &set, &state, &versions)?.1
    };
    match cx.format {
        Format::Text => {
            let n = folders.len();
            let what = format!("{n} migration{}", if n == 1 { "" } else { "s" });
            if args.dry_run {
                crate::info!(
                    "Dry run: would mark {what} up to {through} as applied (nothing was changed):"
                );
            } else if n == 0 {
                crate::info!("Nothing to mark: every migration up to {through} is applied.");
            } else {
                crate::info!(
                    "Marked {what} up to {through} as applied (recorded in the history; nothing was run):"
                );
            }
            crate::output::summarised("", &folders, 20, "`cargo migrate status` lists them all");
            crate::output::summarised("Sealed", &sealed, 10, "`cargo migrate status` lists them");
        }
        Format::Json => print_json(&json!({
            "ok": true,
            "dry_run": args.dry_run,
            "database": redacted(cx),
            "through": through,
            "resolution": "applied",
            "versions": versions,
            "sealed": sealed,
        })),
    }
    Ok(Exit::Success)
}
