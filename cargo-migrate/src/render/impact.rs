//! The impact plan of `apply --dry-run`, as text: per migration its risk and strongest lock,
//! each statement's lock on its table (size, estimated rows) and whether it rewrites or scans
//! it, and the lint findings behind the risk.

use super::plural;
use anstream::println;
use migrate_runtime::lint::impact::Effect;
use migrate_runtime::ops::{MigrationImpact, PlannedImpact};

/// A size in bytes, human-sized.
pub fn bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    if n < 1024.0 {
        format!("{n} B")
    } else if n < 1024.0 * 1024.0 {
        format!("{:.1} KiB", n / 1024.0)
    } else if n < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MiB", n / (1024.0 * 1024.0))
    } else {
        format!("{:.1} GiB", n / (1024.0 * 1024.0 * 1024.0))
    }
}

/// `ACCESS EXCLUSIVE on users (16.0 KiB, ~2 rows); rewrites the table`.
pub fn statement(s: &PlannedImpact) -> String {
    let st = &s.statement;
    let mut out = format!("{}: ", st.kind);
    match (&st.lock, &st.table) {
        (None, _) => out.push_str("no table lock"),
        (Some(lock), None) => out.push_str(lock.as_str()),
        (Some(lock), Some(table)) => {
            out.push_str(&format!("{} on {table}", lock.as_str()));
            if st.new_table {
                out.push_str(" (created in this run)");
            } else {
                match (s.table_bytes, s.table_rows) {
                    (Some(b), Some(r)) => {
                        out.push_str(&format!(" ({}, ~{})", bytes(b), plural(r as usize, "row")))
                    }
                    (Some(b), None) => {
                        out.push_str(&format!(" ({}, rows unknown: never analyzed)", bytes(b)))
                    }
                    _ => out.push_str(" (not found)"),
                }
            }
        }
    }
    match st.effect {
        Effect::Rewrite => out.push_str("; rewrites the table"),
        Effect::Scan => out.push_str("; scans the table"),
        Effect::None => {}
    }
    out
}

/// Prints a migration's impact under its plan.
pub fn text(m: &MigrationImpact) {
    let lock = m.strongest_lock.map_or_else(
        || "no lock on an existing table".to_string(),
        |l| format!("strongest lock {}", l.as_str()),
    );
    println!("  impact: {} risk, {lock}", m.risk_level());
    if let Some(b) = &m.backfill {
        let rows = b.estimated_rows.map_or_else(
            || "rows unknown (never analyzed)".to_string(),
            |r| format!("~{r} rows"),
        );
        let batches = b.estimated_batches.map_or_else(String::new, |n| {
            format!(
                " in ~{} of {}",
                migrate_runtime::counted(n.unsigned_abs(), "batch", "batches"),
                b.batch
            )
        });
        println!("  backfill: {rows} of {} by {}{batches}", b.table, b.key);
    }
    for s in &m.statements {
        println!(
            "    {:>3}. line {:<4} {}",
            s.statement.index,
            s.statement.line,
            statement(s)
        );
    }
    for r in &m.risks {
        let severity = match r.severity {
            migrate_runtime::lint::Severity::Error => "error",
            migrate_runtime::lint::Severity::Warning => "warning",
        };
        println!(
            "    risk: {severity}[{}] line {}: {}",
            r.rule, r.line, r.message
        );
    }
}
