//! `apply`'s report: the dry-run plan, or what applied and where the database is now.

use super::{Format, ms, plural, print_json};
use anstream::println;
use migrate_runtime::model::folder_name;
use migrate_runtime::ops::ApplyOutcome;
use serde_json::json;

/// Prints the outcome.
pub fn print(format: Format, o: &ApplyOutcome) {
    if o.report.dry_run {
        return plan(format, o);
    }
    match format {
        Format::Text => {
            let sealed: Vec<String> = o
                .sealed
                .iter()
                .filter(|s| !o.recovered.contains(s))
                .cloned()
                .collect();
            crate::output::summarised("Sealed", &sealed, 10, "`cargo migrate status` lists them");
            let at = o
                .version
                .map_or_else(|| "no migration".to_string(), |v| v.to_string());
            match o.report.applied.len() {
                0 => crate::info!("Nothing to apply; the database is at {at}."),
                n => crate::info!(
                    "Applied {} in {}; the database is at {at}.",
                    plural(n, "migration"),
                    ms(o.duration_ms)
                ),
            }
        }
        Format::Json => print_json(&json!({
            "ok": true,
            "dry_run": false,
            "database": o.database,
            "history_table": o.history_table,
            "single_transaction": o.report.single_transaction,
            "applied": o.report.applied,
            "sealed": o.sealed,
            "duration_ms": o.duration_ms,
            "version": o.version,
            "backup": o.backup,
        })),
    }
}

fn plan(format: Format, o: &ApplyOutcome) {
    let report = &o.report;
    match format {
        Format::Text => {
            if report.plan.is_empty() {
                crate::info!("Dry run: nothing to apply to {}.", o.label);
                return;
            }
            println!(
                "Dry run: {} migration(s) would be applied to {}; nothing was changed.",
                report.plan.len(),
                o.label
            );
            if let Some(b) = &o.planned_backup {
                println!("A backup would be taken first: {b}.");
            }
            for p in &report.plan {
                let mode = if p.backfill {
                    "backfill, batch by batch: each batch in a transaction of its own"
                } else if p.no_transaction {
                    "no transaction, statement by statement"
                } else if report.single_transaction {
                    "in the single transaction"
                } else {
                    "in a transaction"
                };
                println!("{} ({mode})", folder_name(p.version, &p.name));
                if let Some(at) = p.resume_at {
                    println!("  resumes at statement {at}");
                }
                if let Some(from) = &p.backfill_from {
                    println!("  {}", super::backfill::resumes_after(from));
                }
                for s in &p.statements {
                    let first = s.sql.lines().next().unwrap_or("");
                    let more = if s.sql.lines().count() > 1 {
                        " …"
                    } else {
                        ""
                    };
                    println!("  {:>3}. line {:<4} {first}{more}", s.index, s.line);
                }
                if let Some(i) = o.impact.iter().find(|i| i.version == p.version) {
                    super::impact::text(i);
                }
            }
        }
        Format::Json => print_json(&json!({
            "ok": true,
            "dry_run": true,
            "database": o.database,
            "plan": report.plan,
            "backup": o.planned_backup,
            "impact": o.impact.iter().map(|i| {
                let mut v = json!(i);
                v["risk"] = json!(i.risk_level());
                v
            }).collect::<Vec<_>>(),
        })),
    }
}
