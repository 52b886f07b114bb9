//! `cargo migrate lint`: zero-downtime safety checks. squawk's statement rules (through
//! `squawk-linter`, told whether each migration runs in a transaction) plus our own rules that
//! need the migration set, the directives or the lock file (`rules/`, one file each), and
//! per-statement suppressions with a reason (`suppress`).
//!
//! ```
//! use migrate_runtime::lint::{LintConfig, Severity, lint};
//! use migrate_runtime::MigrationSet;
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::create_dir(dir.path().join("20261121093000_drop")).unwrap();
//! std::fs::write(dir.path().join("20261121093000_drop/migration.sql"), "ALTER TABLE users DROP COLUMN email;\n").unwrap();
//! std::fs::write(dir.path().join("20261121093000_drop/down.sql"), "ALTER TABLE users ADD COLUMN email text;\n").unwrap();
//! let set = MigrationSet::read(dir.path()).unwrap();
//! let findings = lint(&set, &set.migrations.iter().map(|m| m.version).collect::<Vec<_>>(), &[], &LintConfig::default());
//! assert_eq!(findings[0].rule, "ban-drop-column");
//! assert_eq!(findings[0].severity, Severity::Error);
//! assert_eq!((findings[0].line, findings[0].column), (1, 19));
//! ```

mod config;
mod rules;
mod squawk;
mod suppress;

pub use config::{LintConfig, LintSettings};
pub use rules::OWN_RULES;

use crate::Version;
use crate::model::{LineIndex, Migration, MigrationSet};
use std::path::PathBuf;

/// How bad a finding is: errors fail `lint` (exit 3) and stop `apply` (unless
/// `--allow-unsafe`); warnings are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Printed, does not fail.
    Warning,
    /// Fails lint and blocks apply.
    Error,
}

/// One lint finding, located in a file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LintFinding {
    /// Stable kebab-case rule id (ours or squawk's).
    pub rule: String,
    /// Error or warning.
    pub severity: Severity,
    /// One line: what is wrong.
    pub message: String,
    /// The safe alternative.
    pub help: String,
    /// The migration.
    pub version: Version,
    /// Its name.
    pub name: String,
    /// The file (`migration.sql`).
    pub path: PathBuf,
    /// 1-based line of the start.
    pub line: usize,
    /// 1-based column (characters) of the start.
    pub column: usize,
    /// 1-based line of the end.
    pub end_line: usize,
    /// 1-based column of the end (exclusive).
    pub end_column: usize,
    /// The source line at `line`.
    pub source_line: String,
}

/// A finding before it is located: a byte range in `migration.sql`.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    pub rule: String,
    pub message: String,
    pub help: String,
    pub start: usize,
    pub end: usize,
}

/// Lints the migrations with these versions (`sealed`: the versions sealed in the lock file,
/// for rules about releases). Findings are in version, then file order.
pub fn lint(
    set: &MigrationSet,
    versions: &[Version],
    sealed: &[Version],
    config: &LintConfig,
) -> Vec<LintFinding> {
    let mut out = Vec::new();
    for (index, m) in set.migrations.iter().enumerate() {
        if !versions.contains(&m.version) {
            continue;
        }
        let parse = squawk_syntax::SourceFile::parse(&m.up.sql);
        let file = parse.tree();
        let cx = rules::Context {
            set,
            index,
            migration: m,
            sealed,
            config,
            file: &file,
        };
        let mut raw = squawk::lint(m, &parse, config);
        raw.extend(rules::run(&cx));
        let raw = suppress::apply(m, raw);
        let lines = LineIndex::new(&m.up.sql);
        let mut findings: Vec<LintFinding> = raw
            .into_iter()
            .filter_map(|r| {
                let severity = config.severity(&r.rule)?;
                Some(locate(m, &lines, r, severity))
            })
            .collect();
        findings.sort_by_key(|f| (f.line, f.column));
        out.extend(findings);
    }
    out
}

fn locate(m: &Migration, lines: &LineIndex, r: Raw, severity: Severity) -> LintFinding {
    let sql = &m.up.sql;
    let (line, column) = lines.line_column(sql, r.start);
    let (end_line, end_column) = lines.line_column(sql, r.end.max(r.start));
    LintFinding {
        rule: r.rule,
        severity,
        message: r.message,
        help: r.help,
        version: m.version,
        name: m.name.clone(),
        path: m.up.path.clone(),
        line,
        column,
        end_line,
        end_column,
        source_line: lines.line(sql, line).to_string(),
    }
}

#[cfg(test)]
mod tests;
