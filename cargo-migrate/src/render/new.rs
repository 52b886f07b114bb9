//! `new`'s report: the folder on stdout (for `$EDITOR "$(cargo migrate new x)"/migration.sql`).

use super::{Format, print_json};
use anstream::println;
use migrate_runtime::ops::NewReport;
use serde_json::json;

/// Prints what was created.
pub fn print(format: Format, r: &NewReport) {
    match format {
        Format::Text => {
            println!("{}", r.folder.display());
            crate::info!(
                "Created {}: write the SQL, then seal it with `cargo migrate seal`.",
                r.files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" and ")
            );
        }
        Format::Json => print_json(&json!({
            "ok": true,
            "version": r.version,
            "name": r.name,
            "path": r.folder,
            "files": r.files,
        })),
    }
}
