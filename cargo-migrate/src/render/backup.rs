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
        .map(|n| format!("{}, ", size(n)))
        .unwrap_or_default();
    format!("Backup {} ({size}{})", b.id, ms(b.duration_ms))
}

/// A size in bytes, human-sized.
fn size(n: u64) -> String {
    match n {
        n if n < 1024 => format!("{n} B"),
        n if n < 1024 * 1024 => format!("{:.1} KiB", n as f64 / 1024.0),
        n if n < 1024 * 1024 * 1024 => format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0)),
        n => format!("{:.1} GiB", n as f64 / (1024.0 * 1024.0 * 1024.0)),
    }
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
