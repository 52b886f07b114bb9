//! Rendering: every report and error as text for people (results on stdout, progress, notes
//! and errors on stderr) or as one JSON document on stdout for machines, from the operations'
//! typed reports. One module per command's report; `events` for progress, `error` for failures.

pub mod apply;
pub mod backfill;
pub mod backup;
pub mod check;
pub mod dev_db;
pub mod down;
pub mod drift;
pub mod error;
pub mod events;
pub mod fleet;
pub mod impact;
pub mod import;
pub mod lint;
pub mod new;
pub mod reset;
pub mod resolve;
pub mod seal;
pub mod seed;
pub mod status;
pub mod verify;

use anstream::println;
use serde_json::Value;

/// How a command prints: text for people or one JSON document for machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// Prints one JSON document on stdout.
pub fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// The rustc-style lines under a location: the source line with its number, and a caret (or
/// carets up to `end_column`) under `column`.
pub fn snippet(
    line: usize,
    source: &str,
    column: Option<usize>,
    end_column: Option<usize>,
) -> Vec<String> {
    let gutter = " ".repeat(line.to_string().len());
    let mut out = vec![format!("  {gutter} |"), format!("  {line} | {source}")];
    if let Some(col) = column {
        let width = end_column.filter(|e| *e > col).map_or(1, |e| e - col);
        out.push(format!(
            "  {gutter} | {}{}",
            " ".repeat(col.saturating_sub(1)),
            "^".repeat(width)
        ));
    }
    out
}

/// A duration in milliseconds, human-sized.
pub fn ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// `n word(s)`.
pub fn plural(n: usize, word: &str) -> String {
    migrate_runtime::counted(n as u64, word, &format!("{word}s"))
}
