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

mod chunked;
mod config;
pub mod impact;
mod rules;
mod squawk;
mod suppress;

pub use config::{LintConfig, LintSettings};
pub use rules::{OWN_RULES, Scope};

use crate::Version;
use crate::model::chunks::CHUNK_BYTES;
use crate::model::{LineIndex, Migration, MigrationSet, SqlFile};
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
    /// The file (`migration.sql` or `down.sql`).
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
/// for rules about releases): each `migration.sql`, then its `down.sql`. Findings are in
/// version, then file, then position order.
pub fn lint(
    set: &MigrationSet,
    versions: &[Version],
    sealed: &[Version],
    config: &LintConfig,
) -> Vec<LintFinding> {
    lint_in_chunks(set, versions, sealed, config, CHUNK_BYTES)
}

/// [`lint`], parsing each `migration.sql` about `chunk_bytes` at a time.
pub(crate) fn lint_in_chunks(
    set: &MigrationSet,
    versions: &[Version],
    sealed: &[Version],
    config: &LintConfig,
    chunk_bytes: usize,
) -> Vec<LintFinding> {
    let mut out = Vec::new();
    for (index, m) in set.migrations.iter().enumerate() {
        if !versions.contains(&m.version) {
            continue;
        }
        let cx = rules::Context {
            set,
            index,
            migration: m,
            sealed,
            config,
            file: None,
        };
        let up = suppress::apply(&m.up, lint_up(&cx, chunk_bytes));
        out.extend(located(m.version, &m.name, &m.up, up, config));
        if let Some(down) = &m.down {
            let raw = lint_down(m, down, config);
            out.extend(located(m.version, &m.name, down, raw, config));
        }
    }
    out
}

/// The findings of a `migration.sql`, linted a chunk at a time (the whole file at once when a
/// chunk does not parse as cut); its statements are recorded on the way, so applying it does
/// not parse it again.
fn lint_up(cx: &rules::Context<'_>, chunk_bytes: usize) -> Vec<Raw> {
    let m = cx.migration;
    let in_transaction = !m.directives.no_transaction;
    let mut raw = Vec::new();
    let statements = chunked::each_chunk(&m.up.sql, chunk_bytes, |chunk, parse| {
        let file = parse.tree();
        let cx = rules::Context {
            file: Some(&file),
            ..*cx
        };
        let found = squawk::lint(chunk.text(), parse, cx.config, in_transaction)
            .into_iter()
            .chain(rules::run(&cx, Scope::Statements));
        raw.extend(found.filter_map(|r| {
            let (start, end) = chunk.to_file(r.start, r.end)?;
            Some(Raw { start, end, ..r })
        }));
    });
    match statements {
        Some(statements) => m.up.found_statements(statements),
        None => {
            // A backfill's placeholders read as the parameters they are bound as (same offsets).
            let sql = crate::model::bind_placeholders(&m.up.sql);
            let parse = squawk_syntax::SourceFile::parse(&sql);
            m.up.split_from(&parse);
            let file = parse.tree();
            let cx = rules::Context {
                file: Some(&file),
                ..*cx
            };
            raw = squawk::lint(&sql, &parse, cx.config, in_transaction);
            raw.extend(rules::run(&cx, Scope::Statements));
        }
    }
    raw.extend(rules::run(cx, Scope::File));
    raw
}

/// Lints seed files (`cargo migrate seed`): `seed-insert-without-on-conflict`, with the same
/// suppressions as migrations. Their findings carry version 0 and the name `seed`.
///
/// ```
/// use migrate_runtime::SqlFile;
/// use migrate_runtime::lint::{LintConfig, lint_seeds};
/// let seed = SqlFile::new("seeds/users.sql".into(), "INSERT INTO users VALUES (1);\n".into());
/// let findings = lint_seeds(&[seed], &LintConfig::default());
/// assert_eq!(findings[0].rule, "seed-insert-without-on-conflict");
/// assert_eq!((findings[0].line, findings[0].column), (1, 1));
/// ```
pub fn lint_seeds(files: &[SqlFile], config: &LintConfig) -> Vec<LintFinding> {
    files
        .iter()
        .flat_map(|f| {
            let tree = squawk_syntax::SourceFile::parse(&f.sql).tree();
            let raw = suppress::apply(f, rules::seed_findings(&tree));
            located(Version::new_const(0), "seed", f, raw, config)
        })
        .collect()
}

/// Whether a rule applies to a `down.sql`: reverting a migration drops what it created,
/// renames back what it renamed and revokes what it granted, so squawk's `ban-drop-*`,
/// `renaming-*` and `ban-revoke` rules do not; its locking rules (`DROP INDEX` without
/// `CONCURRENTLY`, ...) do.
fn applies_to_down(rule: &str) -> bool {
    !(rule.starts_with("ban-drop-") || rule.starts_with("renaming-") || rule == "ban-revoke")
}

/// The findings of a `down.sql`: squawk's rules that apply to it (told how it runs), and
/// statements that cannot run in the transaction it runs in.
fn lint_down(m: &Migration, down: &SqlFile, config: &LintConfig) -> Vec<Raw> {
    let sql = crate::model::bind_placeholders(&down.sql);
    let parse = squawk_syntax::SourceFile::parse(&sql);
    down.split_from(&parse);
    let mut raw: Vec<Raw> = squawk::lint(&sql, &parse, config, !m.down_no_transaction)
        .into_iter()
        .filter(|r| applies_to_down(&r.rule))
        .collect();
    if !m.down_no_transaction {
        raw.extend(rules::requires_no_transaction_in(
            &parse.tree(),
            "this down.sql",
            DOWN_HELP,
        ));
    }
    suppress::apply(down, raw)
}

/// What to do about a statement that cannot run in the transaction a down.sql runs in.
const DOWN_HELP: &str = "start down.sql with `-- migrate:no-transaction`: it then runs statement by \
    statement outside a transaction (make each statement re-runnable with IF EXISTS, since a failed \
    down resumes at the failed statement)";

/// Findings located in `file`, in position order, with their configured severity.
fn located(
    version: Version,
    name: &str,
    file: &SqlFile,
    raw: Vec<Raw>,
    config: &LintConfig,
) -> Vec<LintFinding> {
    let lines = LineIndex::new(&file.sql);
    let mut findings: Vec<LintFinding> = raw
        .into_iter()
        .filter_map(|r| {
            let severity = config.severity(&r.rule)?;
            Some(locate((version, name), file, &lines, r, severity))
        })
        .collect();
    findings.sort_by_key(|f| (f.line, f.column));
    findings
}

fn locate(
    (version, name): (Version, &str),
    file: &SqlFile,
    lines: &LineIndex,
    r: Raw,
    severity: Severity,
) -> LintFinding {
    let sql = &file.sql;
    let (line, column) = lines.line_column(sql, r.start);
    let (end_line, end_column) = lines.line_column(sql, r.end.max(r.start));
    LintFinding {
        rule: r.rule,
        severity,
        message: r.message,
        help: r.help,
        version,
        name: name.to_string(),
        path: file.path.clone(),
        line,
        column,
        end_line,
        end_column,
        source_line: lines.line(sql, line).to_string(),
    }
}

#[cfg(test)]
mod tests;
