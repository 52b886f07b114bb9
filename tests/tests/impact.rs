//! The impact plan of `apply --dry-run`: each pending statement's lock, table (size and
//! estimated rows from `pg_class`) and effect, and each migration's risk, in text and JSON.

use migrate_tests::{Project, TestDb};
use serde_json::json;

const A: &str = "20261121090000_widen_users";
const B: &str = "20261121090100_index_users_name";

fn setup() -> (TestDb, Project) {
    let db = TestDb::new();
    db.client()
        .batch_execute(
            "CREATE TABLE users (id int PRIMARY KEY, email text, name text);
             INSERT INTO users SELECT g, 'e' || g, 'n' || g FROM generate_series(1, 1000) g;
             ANALYZE users;",
        )
        .expect("a table with rows");
    let p = Project::with_db(&db);
    p.migration(
        A,
        "ALTER TABLE users ALTER COLUMN id TYPE bigint;\n\
         CREATE INDEX users_email ON users (email);\n\
         CREATE TABLE tags (id int);\n\
         CREATE INDEX tags_id ON tags (id);\n",
        None,
    );
    p.migration(
        B,
        "-- migrate:no-transaction\n\
         CREATE INDEX CONCURRENTLY IF NOT EXISTS users_name ON users (name);\n",
        None,
    );
    (db, p)
}

#[test]
fn dry_run_text_shows_locks_tables_effects_and_risks() {
    let (db, p) = setup();
    let bytes = db.count("SELECT pg_total_relation_size('users')");
    let size = format!("{:.1} KiB", bytes as f64 / 1024.0);
    let run = p.run(&["apply", "--dry-run", "--allow-unsafe"]);
    assert_eq!(run.code, 0, "{run:?}");
    let impact: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| {
            l.starts_with("  impact") || l.starts_with("      ") || l.starts_with("    risk")
        })
        .collect();
    assert_eq!(
        impact,
        [
            "  impact: high risk, strongest lock ACCESS EXCLUSIVE".to_string(),
            format!("      1. line 1    ALTER TABLE ALTER COLUMN TYPE: ACCESS EXCLUSIVE on users ({size}, ~1000 rows); rewrites the table"),
            format!("      2. line 2    CREATE INDEX: SHARE on users ({size}, ~1000 rows); scans the table"),
            "      3. line 3    CREATE TABLE: ACCESS EXCLUSIVE on tags (created in this run)".to_string(),
            "      4. line 4    CREATE INDEX: SHARE on tags (created in this run); scans the table".to_string(),
            "    risk: error[changing-column-type] line 1: Changing a column type requires an `ACCESS EXCLUSIVE` lock on the table which blocks reads and writes while the table is rewritten. Changing the type of the column may also break other clients reading from the table.".to_string(),
            "    risk: error[require-concurrent-index-creation] line 2: During normal index creation, table updates are blocked, but reads are still allowed.".to_string(),
            "  impact: low risk, strongest lock SHARE UPDATE EXCLUSIVE".to_string(),
            format!("      1. line 2    CREATE INDEX CONCURRENTLY: SHARE UPDATE EXCLUSIVE on users ({size}, ~1000 rows); scans the table"),
        ]
    );
    // Nothing was changed.
    assert!(!db.has_table("tags"));
    assert!(!db.has_table("_migrate_history"));
}

#[test]
fn dry_run_json_has_the_impact_of_every_pending_statement() {
    let (db, p) = setup();
    let bytes = db.count("SELECT pg_total_relation_size('users')");
    let run = p.run(&["--format", "json", "apply", "--dry-run", "--allow-unsafe"]);
    assert_eq!(run.code, 0, "{run:?}");
    let v = run.json();
    let impact = &v["impact"];
    assert_eq!(impact.as_array().map(Vec::len), Some(2));
    assert_eq!(impact[0]["version"], "20261121090000");
    assert_eq!(impact[0]["risk"], "high");
    assert_eq!(impact[0]["strongest_lock"], "ACCESS EXCLUSIVE");
    assert_eq!(
        impact[0]["statements"][0],
        json!({
            "index": 1, "line": 1, "kind": "ALTER TABLE ALTER COLUMN TYPE",
            "lock": "ACCESS EXCLUSIVE", "table": "users", "new_table": false,
            "effect": "rewrite", "table_bytes": bytes, "table_rows": 1000
        })
    );
    assert_eq!(
        impact[0]["statements"][3],
        json!({
            "index": 4, "line": 4, "kind": "CREATE INDEX",
            "lock": "SHARE", "table": "tags", "new_table": true,
            "effect": "scan", "table_bytes": null, "table_rows": null
        })
    );
    let rules: Vec<&str> = impact[0]["risks"]
        .as_array()
        .expect("risks")
        .iter()
        .filter_map(|r| r["rule"].as_str())
        .collect();
    assert_eq!(
        rules,
        ["changing-column-type", "require-concurrent-index-creation"]
    );
    assert_eq!(impact[1]["risk"], "low");
    assert_eq!(
        impact[1]["statements"],
        json!([{
            "index": 1, "line": 2, "kind": "CREATE INDEX CONCURRENTLY",
            "lock": "SHARE UPDATE EXCLUSIVE", "table": "users", "new_table": false,
            "effect": "scan", "table_bytes": bytes, "table_rows": 1000
        }])
    );
}
