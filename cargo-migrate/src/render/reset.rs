//! `reset`'s report.

use super::{Format, print_json};
use migrate_runtime::ops::ResetOutcome;
use serde_json::json;

/// Prints the outcome.
pub fn print(format: Format, o: &ResetOutcome) {
    match format {
        Format::Text => {
            for s in &o.sealed {
                crate::info!("  Sealed {s}");
            }
            crate::info!(
                "Reset done: {} migration(s) applied.",
                o.report.applied.len()
            );
            super::seed::print_files(&o.seeded);
        }
        Format::Json => print_json(&json!({
            "ok": true,
            "database": o.database,
            "applied": o.report.applied,
            "sealed": o.sealed,
            "seeded": o.seeded,
        })),
    }
}
