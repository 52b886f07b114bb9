//! `down`'s report: what would be reverted (dry run), or what was.

use super::{Format, plural, print_json};
use anstream::println;
use migrate_runtime::model::folder_name;
use migrate_runtime::ops::DownOutcome;
use serde_json::json;

/// Prints the outcome.
pub fn print(format: Format, o: &DownOutcome) {
    let report = &o.report;
    match format {
        Format::Text if report.dry_run => {
            if report.plan.is_empty() {
                crate::info!("Dry run: nothing to revert.");
            }
            for p in &report.plan {
                let mode = if p.backfill {
                    "backfill, batch by batch: each batch in a transaction of its own"
                } else if p.no_transaction {
                    "no transaction, statement by statement"
                } else {
                    "in a transaction"
                };
                let resume = match (&p.backfill_from, p.resume_at) {
                    (Some(from), _) => format!(", {}", super::backfill::resumes_after(from)),
                    (None, Some(at)) => format!(", resuming at statement {at}"),
                    (None, None) => String::new(),
                };
                println!(
                    "Would revert {} ({mode}{resume}) with:",
                    folder_name(p.version, &p.name)
                );
                for line in p.down_sql.lines() {
                    println!("  | {line}");
                }
            }
        }
        Format::Text => match report.reverted.len() {
            0 => crate::info!("Nothing to revert."),
            n => crate::info!("Reverted {}.", plural(n, "migration")),
        },
        Format::Json => print_json(&json!({
            "ok": true,
            "dry_run": report.dry_run,
            "database": o.database,
            "plan": report.plan,
            "reverted": report.reverted,
        })),
    }
}
