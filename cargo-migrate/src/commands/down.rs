//! `cargo migrate down [--steps N | --to VERSION] [--dry-run]`.

use crate::cli::DownArgs;
use crate::context::Context;
use crate::context::Format;
use crate::database::{self, redacted};
use crate::events::printer;
use crate::exit::Exit;
use crate::report::{Error, engine_error, print_json};
use migrate_runtime::MigrationSet;
use migrate_runtime::engine::DownTarget;
use serde_json::json;

pub fn run(cx: &Context, args: DownArgs) -> Result<Exit, Error> {
    let set = MigrationSet::read(&cx.dir).map_err(|e| Error::read(e).note("nothing was run"))?;
    let settings = database::settings(cx, &args.db)?;
    let mut db = database::connect(cx, &settings)?;
    let engine = database::watching(cx, &settings)?;
    let target = match (args.to, args.steps) {
        (Some(v), _) => DownTarget::To(v),
        (None, n) => DownTarget::Steps(n.unwrap_or(1)),
    };
    let report = engine
        .down(
            &mut db.client,
            &set,
            target,
            args.dry_run,
            &mut printer(cx.format),
        )
        .map_err(|e| {
            let mut e = engine_error(e, "revert");
            e.json["database"] = json!(redacted(cx));
            e
        })?;
    match cx.format {
        Format::Text if report.dry_run => {
            if report.plan.is_empty() {
                crate::info!("Dry run: nothing to revert.");
            }
            for p in &report.plan {
                let mode = if p.no_transaction {
                    "no transaction, statement by statement"
                } else {
                    "in a transaction"
                };
                let resume = p
                    .resume_at
                    .map_or_else(String::new, |at| format!(", resuming at statement {at}"));
                println!(
                    "Would revert {}_{} ({mode}{resume}) with:",
                    p.version, p.name
                );
                for line in p.down_sql.lines() {
                    println!("  | {line}");
                }
            }
        }
        Format::Text => match report.reverted.len() {
            0 => crate::info!("Nothing to revert."),
            n => crate::info!("Reverted {n} migration{}.", if n == 1 { "" } else { "s" }),
        },
        Format::Json => print_json(&json!({
            "ok": true,
            "dry_run": report.dry_run,
            "database": redacted(cx),
            "plan": report.plan,
            "reverted": report.reverted,
        })),
    }
    Ok(Exit::Success)
}
