//! Helpers for the rule tests, and tests of squawk's rules through our adapter: the seeds'
//! dangerous operations are flagged, the safe ones lint clean.

use super::{LintConfig, LintFinding, Severity, lint};
use crate::Version;
use crate::model::MigrationSet;
use std::fs;

/// Lints one migration (with a down.sql, so only the SQL is judged).
pub(crate) fn lint_sql(sql: &str) -> Vec<LintFinding> {
    lint_migration(sql, Some("SELECT 1;\n"))
}

/// Lints one migration with this down.sql.
pub(crate) fn lint_migration(sql: &str, down: Option<&str>) -> Vec<LintFinding> {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("20261121090000_m");
    fs::create_dir(&folder).unwrap();
    fs::write(folder.join("migration.sql"), sql).unwrap();
    if let Some(down) = down {
        fs::write(folder.join("down.sql"), down).unwrap();
    }
    let set = MigrationSet::read(dir.path()).unwrap();
    lint(
        &set,
        &[set.migrations[0].version],
        &[],
        &LintConfig::default(),
    )
}

/// Lints the last of several migrations (`sealed`: indexes of sealed ones).
pub(crate) fn lint_set(
    migrations: &[(&str, &str)],
    sealed: &[usize],
    contract_after: usize,
) -> Vec<LintFinding> {
    let dir = tempfile::tempdir().unwrap();
    for (i, (name, sql)) in migrations.iter().enumerate() {
        let folder = dir
            .path()
            .join(format!("{}_{name}", 20261121090000 + i as i64));
        fs::create_dir(&folder).unwrap();
        fs::write(folder.join("migration.sql"), sql).unwrap();
        fs::write(folder.join("down.sql"), "SELECT 1;\n").unwrap();
    }
    let set = MigrationSet::read(dir.path()).unwrap();
    let sealed: Vec<Version> = sealed.iter().map(|i| set.migrations[*i].version).collect();
    let mut config = LintConfig::default();
    config.contract_after = contract_after;
    lint(
        &set,
        &[set.migrations.last().unwrap().version],
        &sealed,
        &config,
    )
}

pub(crate) fn ids(findings: &[LintFinding]) -> Vec<&str> {
    findings.iter().map(|f| f.rule.as_str()).collect()
}

/// Rule ids, leaving out the `ban-drop-*` findings the test suppressed on purpose.
pub(crate) fn ids_with_allow(findings: &[LintFinding]) -> Vec<&str> {
    ids(findings)
        .into_iter()
        .filter(|r| !r.starts_with("ban-drop"))
        .collect()
}

#[test]
fn the_seeds_dangerous_operations_are_flagged() {
    let cases = [
        (
            "ALTER TABLE tickets DROP COLUMN old_name;\n",
            "ban-drop-column",
        ),
        (
            "ALTER TABLE \"User\" RENAME COLUMN \"name\" TO \"displayName\";\n",
            "renaming-column",
        ),
        (
            "ALTER TABLE users ADD COLUMN phone text NOT NULL;\n",
            "adding-required-field",
        ),
        (
            "ALTER TABLE tickets ALTER COLUMN new_name SET NOT NULL;\n",
            "adding-not-nullable-field",
        ),
        (
            "ALTER TABLE users ALTER COLUMN id TYPE bigint;\n",
            "changing-column-type",
        ),
        ("DROP TABLE legacy;\n", "ban-drop-table"),
        (
            "ALTER TABLE orders ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users (id);\n",
            "adding-foreign-key-constraint",
        ),
        (
            "CREATE INDEX idx_tickets_status ON tickets (status);\n",
            "require-concurrent-index-creation",
        ),
        (
            "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();\n",
            "adding-field-with-default",
        ),
        (
            "BEGIN;\nALTER TABLE t ADD COLUMN c text;\nCOMMIT;\n",
            "transaction-nesting",
        ),
    ];
    for (sql, rule) in cases {
        let findings = lint_sql(sql);
        assert!(
            findings
                .iter()
                .any(|f| f.rule == rule && f.severity == Severity::Error),
            "{sql}: {findings:#?}"
        );
    }
}

#[test]
fn the_seeds_safe_operations_lint_clean() {
    let cases = [
        "ALTER TABLE tickets ADD COLUMN new_field VARCHAR(100);\n",
        "CREATE TABLE tags (id bigint PRIMARY KEY, name text NOT NULL);\nCREATE INDEX tags_name ON tags (name);\n",
        "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_tickets_status ON tickets (status);\n",
        "ALTER TABLE users ADD COLUMN role text DEFAULT 'member';\n",
        "ALTER TABLE orders ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n",
    ];
    for sql in cases {
        assert_eq!(lint_sql(sql), vec![], "{sql}");
    }
}

#[test]
fn squawk_findings_carry_file_line_and_column() {
    let findings =
        lint_sql("-- a comment\nCREATE TABLE t (id bigint);\n\n  ALTER TABLE t DROP COLUMN id;\n");
    let f = &findings[0];
    assert_eq!(
        (f.rule.as_str(), f.line, f.column, f.end_line),
        ("ban-drop-column", 4, 17, 4)
    );
    assert_eq!(f.source_line, "  ALTER TABLE t DROP COLUMN id;");
    assert!(f.path.ends_with("20261121090000_m/migration.sql"));
}

#[test]
fn a_no_transaction_migration_must_be_re_runnable() {
    let findings = lint_sql("-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n");
    assert_eq!(ids(&findings), ["prefer-robust-stmts"]);
    assert!(
        findings[0]
            .help
            .contains("resumes by running the failed statement again"),
        "{}",
        findings[0].help
    );
}

#[test]
fn timeouts_are_not_demanded_since_the_engine_sets_lock_timeout() {
    assert!(lint_sql("ALTER TABLE t ADD COLUMN c text;\n").is_empty());
}
