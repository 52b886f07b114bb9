//! `cargo migrate reset [--force --confirm DBNAME]`: development only.

use crate::cli::ResetArgs;
use crate::context::Context;
use crate::context::Format;
use crate::database::{self, redacted};
use crate::events::printer;
use crate::exit::Exit;
use crate::report::{Error, engine_error, print_json};
use serde_json::json;

pub fn run(cx: &Context, args: ResetArgs) -> Result<Exit, Error> {
    let (set, state) = database::preflight(cx, &args.db)?;
    database::check_drafts(&set, &state, false, false)?;
    let settings = database::settings(cx, &args.db)?;
    // Decided from everything the driver would connect to (every host and hostaddr), before
    // any connection is made.
    let info = database::conninfo(cx)?;
    let label = info.label();
    let dbname = info.dbname().to_string();
    if !info.is_local() {
        let address = info
            .first_remote()
            .map_or_else(|| "no host".to_string(), |t| t.address());
        if !args.force {
            return Err(Error::new(format!(
                "refusing to reset {label}: it connects to {address}, which is not on this \
                 machine, and reset drops every table"
            ))
            .help(format!("if you really mean it: --force --confirm {dbname}"))
            .note("nothing was changed"));
        }
        if args.confirm.as_deref() != Some(dbname.as_str()) {
            return Err(Error::new(format!(
                "--confirm must repeat the database name `{dbname}` to reset {label}"
            ))
            .note("nothing was changed"));
        }
    }
    let mut db = database::connect(cx, &settings)?;
    let engine = database::watching(cx, &settings)?;
    if cx.format == Format::Text {
        crate::info!(
            "Resetting {}: dropping schema(s) {} and applying every migration",
            db.label,
            engine.config.schemas.join(", ")
        );
    }
    let report = engine
        .reset(&mut db.client, &set, &mut printer(cx.format))
        .map_err(|e| engine_error(e, "reset"))?;
    let versions: Vec<_> = report.applied.iter().map(|a| a.version).collect();
    let (_, sealed) = database::seal_applied(cx, &set, &state, &versions)?;
    match cx.format {
        Format::Text => {
            for s in &sealed {
                crate::info!("  Sealed {s}");
            }
            crate::info!("Reset done: {} migration(s) applied.", report.applied.len());
        }
        Format::Json => print_json(&json!({
            "ok": true,
            "database": redacted(cx),
            "applied": report.applied,
            "sealed": sealed,
        })),
    }
    Ok(Exit::Success)
}
