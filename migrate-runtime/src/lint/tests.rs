//! Helpers for the rule tests, and tests of squawk's rules through our adapter: the seeds'
//! dangerous operations are flagged, the safe ones lint clean.

use super::config::{LINTER_FINDINGS, OFF_BY_DEFAULT, is_rule};
use super::{LintConfig, LintFinding, LintSettings, OWN_RULES, Severity, lint};
use crate::Version;
use crate::model::MigrationSet;
use std::fs;

/// Lints one migration (with a down.sql, so only the SQL is judged).
pub(crate) fn lint_sql(sql: &str) -> Vec<LintFinding> {
    lint_migration(sql, Some("SELECT 1;\n"))
}

/// Lints one migration with this down.sql.
pub(crate) fn lint_migration(sql: &str, down: Option<&str>) -> Vec<LintFinding> {
    lint_with(sql, down, &LintConfig::default())
}

/// Lints one migration with this down.sql and configuration.
pub(crate) fn lint_with(sql: &str, down: Option<&str>, config: &LintConfig) -> Vec<LintFinding> {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("20261121090000_m");
    fs::create_dir(&folder).unwrap();
    fs::write(folder.join("migration.sql"), sql).unwrap();
    if let Some(down) = down {
        fs::write(folder.join("down.sql"), down).unwrap();
    }
    let set = MigrationSet::read(dir.path()).unwrap();
    lint(&set, &[set.migrations[0].version], &[], config)
}

/// Lints one migration (with a down.sql), parsing `chunk_bytes` of it at a time.
pub(crate) fn lint_in_chunks_with(sql: &str, chunk_bytes: usize) -> Vec<LintFinding> {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("20261121090000_m");
    fs::create_dir(&folder).unwrap();
    fs::write(folder.join("migration.sql"), sql).unwrap();
    fs::write(folder.join("down.sql"), "SELECT 1;\n").unwrap();
    let set = MigrationSet::read(dir.path()).unwrap();
    let versions = [set.migrations[0].version];
    let findings = super::lint_in_chunks(&set, &versions, &[], &LintConfig::default(), chunk_bytes);
    // The statements recorded on the way are the file's.
    assert_eq!(
        set.migrations[0].up.statements().ok(),
        crate::model::split_statements(sql).as_deref().ok()
    );
    // Without the temporary directory, to compare runs.
    findings
        .into_iter()
        .map(|f| LintFinding {
            path: f.path.file_name().unwrap().into(),
            ..f
        })
        .collect()
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

/// Whether `id` is a rule id (ours, squawk's, or a finding of the linter itself).
fn real(id: &str) -> bool {
    is_rule(id) || LINTER_FINDINGS.contains(&id)
}

/// The kebab-case words in inline code (`...`) and in the quoted strings of code blocks.
fn kebab_words(markdown: &str) -> Vec<String> {
    let kebab = |w: &str| {
        let mut parts = w.split('-');
        w.contains('-')
            && parts.all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            })
    };
    let (mut prose, mut code) = (String::new(), String::new());
    let mut in_block = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
        } else if in_block {
            code.push_str(line);
            code.push('\n');
        } else {
            prose.push_str(line);
            prose.push(' ');
        }
    }
    let inline = prose.split('`').skip(1).step_by(2);
    let quoted = code.split('"').skip(1).step_by(2);
    inline
        .chain(quoted)
        .filter(|w| kebab(w))
        .map(String::from)
        .collect()
}

/// The string patterns of `help_for`'s match arms in squawk.rs.
fn help_keys() -> Vec<String> {
    let source = include_str!("squawk.rs");
    let body = source
        .split("fn help_for(")
        .nth(1)
        .and_then(|rest| rest.split("\n}\n").next())
        .expect("help_for in squawk.rs");
    body.lines()
        .map(str::trim)
        .filter(|l| l.starts_with('"') && l.ends_with("=> {"))
        .flat_map(|l| l.trim_end_matches("=> {").split('|'))
        .map(|k| k.trim().trim_matches('"').to_string())
        .collect()
}

#[test]
fn every_rule_id_we_name_is_a_real_rule() {
    let mut named: Vec<(String, &str)> = Vec::new();
    named.extend(
        OFF_BY_DEFAULT
            .iter()
            .map(|(id, _)| (id.to_string(), "OFF_BY_DEFAULT")),
    );
    named.extend(OWN_RULES.iter().map(|r| (r.id.to_string(), "OWN_RULES")));
    let keys = help_keys();
    assert!(keys.len() >= 15, "help_for's keys not found: {keys:?}");
    named.extend(
        keys.into_iter()
            .map(|id| (id, "help_for in lint/squawk.rs")),
    );
    let readme = include_str!("../../../README.md");
    let section = readme
        .split("### `cargo migrate lint")
        .nth(1)
        .and_then(|rest| rest.split_once('\n'))
        .and_then(|(_heading, rest)| rest.split("\n### ").next())
        .expect("the README's lint section");
    // The one kebab-case word in that section that is not a rule: the crate's name.
    let words: Vec<String> = kebab_words(section)
        .into_iter()
        .filter(|w| w != "squawk-linter")
        .collect();
    for expected in [
        "requires-no-transaction",
        "prefer-text-field",
        "ban-char-field",
    ] {
        assert!(
            words.iter().any(|w| w == expected),
            "{expected} not found in {words:?}"
        );
    }
    named.extend(words.into_iter().map(|id| (id, "README, lint section")));
    let unknown: Vec<String> = named
        .iter()
        .filter(|(id, _)| !real(id))
        .map(|(id, place)| format!("{id} ({place})"))
        .collect();
    assert!(unknown.is_empty(), "not rule ids: {unknown:?}");
}

#[test]
fn rules_off_by_default_are_silent_until_turned_on() {
    let cases = [
        (
            "CREATE TABLE t (id bigint PRIMARY KEY, at timestamp);\n",
            "prefer-timestamp-tz",
        ),
        (
            "CREATE TABLE t (id bigint PRIMARY KEY, n int);\n",
            "prefer-bigint-over-int",
        ),
        (
            "CREATE TABLE t (id bigint PRIMARY KEY, n smallint);\n",
            "prefer-bigint-over-smallint",
        ),
        (
            "CREATE TABLE t (id bigint PRIMARY KEY, name varchar(10));\n",
            "prefer-text-field",
        ),
        (
            "CREATE TABLE t (id bigint PRIMARY KEY, code char(2));\n",
            "ban-char-field",
        ),
        (
            "CREATE TABLE t (id serial PRIMARY KEY);\n",
            "prefer-identity",
        ),
        (
            "ALTER TABLE t ADD COLUMN c text;\n",
            "require-statement-timeout",
        ),
    ];
    for (sql, rule) in cases {
        let by_default = lint_sql(sql);
        assert_eq!(by_default, vec![], "{sql}");
        let settings = LintSettings {
            warn: vec![rule.to_string()],
            ..Default::default()
        };
        let config = LintConfig::from_settings(&settings).unwrap();
        let findings = lint_with(sql, Some("SELECT 1;\n"), &config);
        assert!(
            findings
                .iter()
                .any(|f| f.rule == rule && f.severity == Severity::Warning),
            "{sql} with warn = [{rule}]: {findings:#?}"
        );
    }
}

#[test]
fn another_spelling_of_a_rule_is_refused_with_its_id() {
    let settings = LintSettings {
        warn: vec!["prefer-timestamptz".into()],
        ..Default::default()
    };
    assert_eq!(
        LintConfig::from_settings(&settings),
        Err(
            "[package.metadata.migrate.lint]: unknown rule `prefer-timestamptz` (squawk's id for \
             it is `prefer-timestamp-tz`)"
                .into()
        )
    );
}

#[test]
fn a_unique_constraint_gets_the_expand_contract_help() {
    let findings = lint_sql("ALTER TABLE users ADD CONSTRAINT users_email UNIQUE (email);\n");
    let f = findings
        .iter()
        .find(|f| f.rule == "disallowed-unique-constraint")
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert!(f.help.contains("USING INDEX"), "{}", f.help);
}

#[test]
fn pg_version_decides_squawks_version_dependent_rules() {
    // A constant default rewrites the table before PostgreSQL 11 only (squawk counts "11"
    // itself as older; the supported majors, 14 on, are all newer).
    let sql = "ALTER TABLE t ADD COLUMN c int DEFAULT 5;\n";
    let on = |version: Option<&str>| {
        let mut config = LintConfig::default();
        config.pg_version = version.map(String::from);
        lint_with(sql, Some("ALTER TABLE t DROP COLUMN c;\n"), &config)
    };
    assert_eq!(ids(&on(Some("10"))), ["adding-field-with-default"]);
    assert!(on(Some("14")).is_empty(), "{:?}", on(Some("14")));
    assert!(on(None).is_empty(), "{:?}", on(None));
    let bad = LintConfig::from_settings(&LintSettings {
        pg_version: Some("fifteen".into()),
        ..Default::default()
    });
    assert!(
        bad.as_ref()
            .is_err_and(|e| e.starts_with("[package.metadata.migrate.lint] pg_version `fifteen`")),
        "{bad:?}"
    );
}

#[test]
fn squawk_ignore_comments_silence_that_rule_on_that_statement() {
    let sql = "ALTER TABLE users DROP COLUMN legacy;\n";
    assert_eq!(ids(&lint_sql(sql)), ["ban-drop-column"]);
    let ignored = format!("-- squawk-ignore ban-drop-column\n{sql}");
    assert!(lint_sql(&ignored).is_empty(), "{:?}", lint_sql(&ignored));
    // Another rule's name does not silence this one.
    let other = format!("-- squawk-ignore ban-drop-table\n{sql}");
    assert_eq!(ids(&lint_sql(&other)), ["ban-drop-column"]);
}

#[test]
fn databases_and_tablespaces_need_a_no_transaction_migration() {
    for sql in [
        "CREATE DATABASE app2;\n",
        "DROP DATABASE app2;\n",
        "CREATE TABLESPACE fast LOCATION '/mnt/fast';\n",
        "DROP TABLESPACE fast;\n",
    ] {
        let findings = lint_sql(sql);
        assert!(
            ids(&findings).contains(&"requires-no-transaction"),
            "{sql}: {findings:?}"
        );
        let free = lint_sql(&format!("-- migrate:no-transaction\n{sql}"));
        assert!(
            !ids(&free).contains(&"requires-no-transaction"),
            "{sql}: {free:?}"
        );
    }
}

#[test]
fn a_delete_without_where_next_to_schema_changes_is_mixed() {
    let sql = "ALTER TABLE users ADD COLUMN flag boolean;\nDELETE FROM sessions;\n";
    assert_eq!(ids(&lint_sql(sql)), ["mixed-data-and-ddl"]);
    let bounded =
        "ALTER TABLE users ADD COLUMN flag boolean;\nDELETE FROM sessions WHERE expired;\n";
    assert!(lint_sql(bounded).is_empty(), "{:?}", lint_sql(bounded));
}
