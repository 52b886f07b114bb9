//! `resolve`'s report: what was marked, and the drafts sealed.

use super::{Format, plural, print_json};
use migrate_runtime::Version;
use migrate_runtime::ops::ResolveOutcome;
use serde_json::json;

/// Prints the outcome of `--applied` / `--rolled-back`.
pub fn print_one(format: Format, o: &ResolveOutcome) {
    let version = o
        .versions
        .first()
        .map(Version::to_string)
        .unwrap_or_default();
    match format {
        Format::Text => {
            let what = o.resolution.replace('_', " ");
            crate::info!("Marked {version} as {what} (recorded in the history; nothing was run).");
            for s in &o.sealed {
                crate::info!("  Sealed {s}");
            }
        }
        Format::Json => print_json(&json!({
            "ok": true,
            "database": o.database,
            "version": version,
            "resolution": o.resolution,
            "sealed": o.sealed,
        })),
    }
}

/// Prints the outcome of `--applied-through`.
pub fn print_through(format: Format, through: Version, o: &ResolveOutcome) {
    match format {
        Format::Text => {
            let what = plural(o.folders.len(), "migration");
            if o.dry_run {
                crate::info!(
                    "Dry run: would mark {what} up to {through} as applied (nothing was changed):"
                );
            } else if o.folders.is_empty() {
                crate::info!("Nothing to mark: every migration up to {through} is applied.");
            } else {
                crate::info!(
                    "Marked {what} up to {through} as applied (recorded in the history; nothing was run):"
                );
            }
            crate::output::summarised("", &o.folders, 20, "`cargo migrate status` lists them all");
            crate::output::summarised("Sealed", &o.sealed, 10, "`cargo migrate status` lists them");
        }
        Format::Json => print_json(&json!({
            "ok": true,
            "dry_run": o.dry_run,
            "database": o.database,
            "through": through,
            "resolution": o.resolution,
            "versions": o.versions,
            "sealed": o.sealed,
        })),
    }
}
