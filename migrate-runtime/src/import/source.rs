//! A source tool's migrations in the tool's own terms. Each tool's reader produces a
//! [`SourceSet`]; the version mapping, the conversion and the history adoption work on it and
//! never look at a tool's layout again.

use super::{Problem, Skipped};
use std::fs;
use std::path::{Path, PathBuf};

/// How the tool ran a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxMode {
    /// In a transaction of its own (diesel, sqlx, refinery, atlas by default).
    Wrapped,
    /// Sent as one script, without a transaction of the tool's (golang-migrate, Prisma):
    /// PostgreSQL runs several statements sent together in an implicit transaction.
    Script,
    /// Outside a transaction, as the tool's metadata asked (diesel's `run_in_transaction =
    /// false`, sqlx's `-- no-transaction`, atlas's `-- atlas:txmode none`).
    NoTransaction,
}

/// One SQL file of the source.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    /// Its path relative to the source directory, with `/` separators.
    pub(crate) origin: String,
    /// Its text.
    pub(crate) sql: String,
    /// How the tool ran it.
    pub(crate) mode: TxMode,
    /// The 1-based line of the tool's own transaction directive, removed on import (ours
    /// replaces it).
    pub(crate) directive_line: Option<usize>,
}

/// One migration of the source, as the tool sees it.
#[derive(Debug, Clone)]
pub(crate) struct SourceMigration {
    /// Its folder or up file, relative to the source directory, as the mapping shows it.
    pub(crate) origin: String,
    /// What the tool's history table records for it.
    pub(crate) key: String,
    /// Its version as written (diesel's with `-` removed), for the version mapping.
    pub(crate) version_text: String,
    /// Its name as the tool has it.
    pub(crate) name: String,
    /// The up file.
    pub(crate) up: SourceFile,
    /// The down file, when there is one.
    pub(crate) down: Option<SourceFile>,
    /// What the tool's history may hold as this migration's checksum (empty when the tool
    /// keeps none).
    pub(crate) checksums: Vec<String>,
    /// Remarks for the report.
    pub(crate) notes: Vec<String>,
}

/// Every migration of a source directory, in the tool's order, and what was skipped.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceSet {
    /// The migrations, in the order the tool applies them.
    pub(crate) migrations: Vec<SourceMigration>,
    /// Files and folders that are not migrations.
    pub(crate) skipped: Vec<Skipped>,
    /// Migrations of the tool that cannot be imported.
    pub(crate) warnings: Vec<String>,
    /// What stops the import (every problem found, not just the first).
    pub(crate) problems: Vec<Problem>,
}

/// One entry of a directory.
pub(crate) struct Entry {
    pub(crate) path: PathBuf,
    pub(crate) name: String,
    pub(crate) is_dir: bool,
}

/// The entries of a directory, sorted by name, without hidden ones (`.git`, `.gitkeep`).
pub(crate) fn entries(dir: &Path, shown: &str) -> Result<Vec<Entry>, Problem> {
    let io = |e: std::io::Error| Problem::at(shown, None, format!("cannot read it: {e}"));
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        // Follows symbolic links, as the tools do.
        let is_dir = fs::metadata(&path).map_err(io)?.is_dir();
        out.push(Entry { path, name, is_dir });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Reads a SQL file as UTF-8; `shown` names it in messages.
pub(crate) fn read_text(path: &Path, shown: &str) -> Result<String, Problem> {
    let bytes =
        fs::read(path).map_err(|e| Problem::at(shown, None, format!("cannot read it: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        Problem::at(shown, Some(line), "not valid UTF-8")
            .help("save the file as UTF-8 (cargo-migrate, like PostgreSQL, reads SQL as UTF-8)")
    })
}

/// `dir/name` as shown in messages: relative to the source directory, `/`-separated.
pub(crate) fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

/// A file that is not a migration, skipped with a note.
pub(crate) fn skip(path: impl Into<String>, reason: impl Into<String>) -> Skipped {
    Skipped {
        path: path.into(),
        reason: reason.into(),
    }
}

/// The reason given for files that look like documentation or scripts.
pub(crate) fn not_a_migration(name: &str, expected: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("readme") || lower.ends_with(".md") || lower.ends_with(".txt") {
        format!("not a migration (documentation); migrations are {expected}")
    } else {
        format!("not a migration: migrations are {expected}")
    }
}

/// The first line whose trimmed text starts with `prefix` among the leading comment and blank
/// lines of `sql` (its header), 1-based.
pub(crate) fn header_line(sql: &str, matches: impl Fn(&str) -> bool) -> Option<usize> {
    let sql = sql.strip_prefix('\u{feff}').unwrap_or(sql);
    for (i, line) in sql.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if !t.starts_with("--") {
            return None;
        }
        if matches(t) {
            return Some(i + 1);
        }
    }
    None
}

/// Lowercase hex digits of some bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
