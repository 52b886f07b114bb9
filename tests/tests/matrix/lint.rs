//! The lint with `pg_version` set to each major, its claims checked against that major's
//! server: a change the lint lets through must not rewrite the table (the rewrite holds ACCESS
//! EXCLUSIVE for as long as it takes), and one it flags for a rewrite must really rewrite it.
//! A rewrite gives the table a new file (`pg_relation_filenode`).

use migrate_tests::matrix::Server;
use migrate_tests::{Project, TestDb};
use std::collections::BTreeMap;

const TABLE: &str = "20261121090000_create_t";

/// A project linting for `major`, with the table the changes alter already applied.
fn project(db: &TestDb, major: u32) -> Project {
    let p = Project::with_db(db);
    p.file(
        "Cargo.toml",
        format!(
            "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
             [package.metadata.migrate.lint]\nallow = [\"missing-down-migration\"]\n\
             pg_version = \"{major}\"\n\n[workspace]\n"
        ),
    );
    p.migration(
        TABLE,
        "CREATE TABLE t (id bigint PRIMARY KEY, a int);\nINSERT INTO t SELECT g, g FROM generate_series(1, 100) g;\n",
        None,
    );
    let run = p.run(&["apply", "--allow-unsafe"]);
    assert_eq!(run.code, 0, "{run:?}");
    p
}

/// Each change as its own migration: the rules the lint reports for it, and whether applying
/// it rewrote the table.
fn lint_then_apply(pg: &Server, changes: &[(&str, &str)]) -> BTreeMap<String, (Vec<String>, bool)> {
    let db = pg.db();
    let p = project(&db, pg.major);
    let mut out = BTreeMap::new();
    for (i, (name, sql)) in changes.iter().enumerate() {
        let folder = format!("2026112109{:02}00_{name}", i + 1);
        p.migration(&folder, sql, None);
        let lint = p.run(&["lint", "--format", "json", &folder]);
        assert!(lint.code == 0 || lint.code == 3, "{lint:?}");
        let mut rules: Vec<String> = lint.json()["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| f["rule"].as_str().expect("rule").to_string())
            .collect();
        rules.dedup();
        let before = filenode(&db);
        let run = p.run(&["apply", "--allow-unsafe"]);
        assert_eq!(run.code, 0, "PostgreSQL {}: {sql}: {run:?}", pg.major);
        out.insert(name.to_string(), (rules, filenode(&db) != before));
    }
    out
}

fn filenode(db: &TestDb) -> i64 {
    db.count("SELECT pg_relation_filenode('t')::bigint")
}

fn lint_findings_match_what_the_server_rewrites(pg: &Server) {
    let found = lint_then_apply(
        pg,
        &[
            ("nullable", "ALTER TABLE t ADD COLUMN b int;\n"),
            (
                "constant_default",
                "ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0;\n",
            ),
            (
                "volatile_default",
                "ALTER TABLE t ADD COLUMN d timestamptz DEFAULT clock_timestamp();\n",
            ),
            (
                "stored_generated",
                "ALTER TABLE t ADD COLUMN e int GENERATED ALWAYS AS (a * 2) STORED;\n",
            ),
            ("type_change", "ALTER TABLE t ALTER COLUMN b TYPE bigint;\n"),
        ],
    );
    let expected: BTreeMap<String, (Vec<String>, bool)> = [
        ("nullable", vec![], false),
        ("constant_default", vec![], false),
        ("volatile_default", vec!["adding-field-with-default"], true),
        ("stored_generated", vec!["adding-field-with-default"], true),
        ("type_change", vec!["changing-column-type"], true),
    ]
    .into_iter()
    .map(|(name, rules, rewrite)| {
        (
            name.to_string(),
            (rules.into_iter().map(String::from).collect(), rewrite),
        )
    })
    .collect();
    assert_eq!(found, expected, "PostgreSQL {}", pg.major);
}

migrate_tests::each_major!(lint_findings_match_what_the_server_rewrites);

/// PostgreSQL 18's virtual generated columns are computed when read: adding one rewrites
/// nothing, yet the lint (squawk's `adding-field-with-default`, for any generated column)
/// calls it a table rewrite whatever `pg_version` says.
#[test]
fn pg18_a_virtual_generated_column_lints_clean_as_it_rewrites_nothing() {
    let found = lint_then_apply(
        Server::get(18),
        &[(
            "virtual_generated",
            "ALTER TABLE t ADD COLUMN g int GENERATED ALWAYS AS (a * 3) VIRTUAL;\n",
        )],
    );
    assert_eq!(found["virtual_generated"], (vec![], false));
}
