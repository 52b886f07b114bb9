//! `backup`'s and `restore`'s reports: the result alone on stdout (a path, a URL), so
//! `cargo migrate restore "$(cargo migrate backup)"` works; details on stderr.

use super::{Format, ms, print_json};
use anstream::println;
use migrate_runtime::backup::BackupRecord;
use migrate_runtime::ops::{BackupOutcome, RestoreOutcome};
use serde_json::json;

/// `Backup <id> (<size>, <time>)`.
pub fn line(b: &BackupRecord) -> String {
    let size = b
        .bytes
        .map(|n| format!("{}, ", super::impact::bytes(n as i64)))
        .unwrap_or_default();
    format!("Backup {} ({size}{})", b.id, ms(b.duration_ms))
}

/// Prints what identifies the backup.
pub fn print_backup(format: Format, o: &BackupOutcome) {
    match format {
        Format::Text => println!("{}", o.backup.id),
        Format::Json => print_json(&json!({
            "ok": true,
            "database": o.database,
            "version": o.version,
            "backup": o.backup,
        })),
    }
}

/// Prints the new database's URL (redacted).
pub fn print_restore(format: Format, o: &RestoreOutcome) {
    match format {
        Format::Text => {
            crate::info!(
                "Restored {} into the new database {} in {}.",
                o.file.display(),
                o.restored.dbname,
                ms(o.restored.duration_ms)
            );
            println!("{}", o.restored.url);
        }
        Format::Json => print_json(&json!({
            "ok": true,
            "file": o.file,
            "database": o.restored.dbname,
            "url": o.restored.url,
            "duration_ms": o.restored.duration_ms,
        })),
    }
}
