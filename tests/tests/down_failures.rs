//! `down` tells the truth: it refuses up front what `apply` refuses, a down.sql runs the way
//! its migration.sql does (unless it says otherwise), a failed down is recorded and shown by
//! `status` with help that is true, a no-transaction down resumes, and `--steps` stops at the
//! first failure saying exactly what was reverted.

use migrate_tests::{Project, TestDb};

const TABLE: &str = "20261121090000_create_t";
const INDEX: &str = "20261121090100_index_t";
const COLUMN: &str = "20261121090200_add_c";

fn project(db: &TestDb) -> Project {
    let p = Project::with_db(db);
    p.migration(TABLE, "CREATE TABLE t (a int);\n", Some("DROP TABLE t;\n"));
    p
}

fn state(p: &Project, version: &str) -> serde_json::Value {
    let status = p.run(&["status", "--format", "json"]);
    status.json()["migrations"]
        .as_array()
        .expect("migrations")
        .iter()
        .find(|m| m["version"] == version)
        .cloned()
        .unwrap_or_else(|| panic!("no {version} in {}", status.stdout))
}

#[test]
fn a_down_sql_runs_the_way_its_migration_does() {
    // The diesel/golang-migrate shape: the up runs without a transaction for CREATE INDEX
    // CONCURRENTLY, and its down.sql (no directive of its own) drops it concurrently.
    let db = TestDb::new();
    let p = project(&db);
    p.migration(
        INDEX,
        "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_a ON t (a);\n",
        Some("DROP INDEX CONCURRENTLY IF EXISTS t_a;\n"),
    );
    assert_eq!(p.run(&["apply"]).code, 0);
    let dry = p.run(&["down", "--dry-run"]);
    assert!(
        dry.stdout.starts_with(&format!(
            "Would revert {INDEX} (no transaction, statement by statement) with:\n"
        )),
        "{}",
        dry.stdout
    );
    let run = p.run(&["down"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        db.count("SELECT count(*) FROM pg_indexes WHERE indexname = 't_a'"),
        0
    );
    assert_eq!(state(&p, &INDEX[..14])["state"], "pending");
}

#[test]
fn down_refuses_up_front_what_cannot_run_in_its_transaction() {
    // `-- migrate:transaction` in down.sql overrides the inherited mode; then a CONCURRENTLY
    // statement is refused before anything runs, naming down.sql, as apply would.
    let db = TestDb::new();
    let p = project(&db);
    p.migration(
        INDEX,
        "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_a ON t (a);\n",
        Some("-- migrate:transaction\nDROP INDEX CONCURRENTLY IF EXISTS t_a;\n"),
    );
    p.migration(
        COLUMN,
        "ALTER TABLE t ADD COLUMN c int;\n",
        Some("ALTER TABLE t DROP COLUMN c;\n"),
    );
    // The lint gate flags that down.sql too (see below): applied anyway, to reach `down`.
    assert_eq!(p.run(&["apply", "--allow-unsafe"]).code, 0);
    let run = p.run(&["down", "--steps", "2"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with("error: refusing to revert: 1 problem in the migration files\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "--> migrations/{INDEX}/down.sql:2:1: `DROP INDEX CONCURRENTLY` cannot run inside a \
             transaction, and this down.sql runs in one\n"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("help: start down.sql with `-- migrate:no-transaction`"),
        "{}",
        run.stderr
    );
    assert_eq!(
        db.count("SELECT count(*) FROM information_schema.columns WHERE table_name = 't'"),
        2,
        "nothing was reverted, not even the newest"
    );
    // lint reports it for drafts too.
    let fresh = project(&TestDb::new());
    fresh.migration(
        INDEX,
        "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_a ON t (a);\n",
        Some("-- migrate:transaction\nDROP INDEX CONCURRENTLY IF EXISTS t_a;\n"),
    );
    let lint = fresh.run(&["lint"]);
    assert_eq!(lint.code, 3, "{lint:?}");
    assert!(
        lint.stderr.contains(&format!(
            "error[requires-no-transaction]: `DROP INDEX CONCURRENTLY` cannot run inside a transaction, \
             and this down.sql runs in one\n  --> migrations/{INDEX}/down.sql:2:1\n"
        )),
        "{}",
        lint.stderr
    );
}

#[test]
fn a_failed_transactional_down_is_recorded_and_its_help_is_true() {
    let db = TestDb::new();
    let p = project(&db);
    p.migration(
        COLUMN,
        "ALTER TABLE t ADD COLUMN c int;\n",
        Some("ALTER TABLE t DROP COLUMN c;\nDROP TABLE nowhere;\n"),
    );
    assert_eq!(p.run(&["apply"]).code, 0);
    let run = p.run(&["down"]);
    assert_eq!(run.code, 1, "{run:?}");
    let v = &COLUMN[..14];
    assert!(
        run.stderr.starts_with(&format!(
            "Reverting migrations of postgres@127.0.0.1:5432/{} (history public._migrate_history)\n\
             error: reverting migration {COLUMN} failed: 42P01: table \"nowhere\" does not exist\n  \
             --> migrations/{COLUMN}/down.sql:2:1\n",
            db.name
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "help: its down.sql was rolled back: {v} is still applied, unchanged. Fix down.sql"
        )),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("resolve --rolled-back"),
        "{}",
        run.stderr
    );
    assert_eq!(
        db.count("SELECT count(*) FROM information_schema.columns WHERE table_name = 't'"),
        2,
        "the column is still there"
    );
    // Recorded, shown, still applied (exit 0: nothing is wrong with the database).
    let last = db.history().pop().expect("a row");
    assert_eq!(last, (v.to_string(), "down".into(), "applied".into()));
    let status = p.run(&["status"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(
        status.stdout.contains(
            "its down.sql failed and was rolled back: 42P01: table \"nowhere\" does not exist"
        ),
        "{}",
        status.stdout
    );
    // Fixed, the same command reverts it.
    p.migration(
        COLUMN,
        "ALTER TABLE t ADD COLUMN c int;\n",
        Some("ALTER TABLE t DROP COLUMN c;\n"),
    );
    assert_eq!(p.run(&["seal", "--force", v]).code, 0);
    assert_eq!(p.run(&["down"]).code, 0);
    assert_eq!(state(&p, v)["state"], "pending");
}

#[test]
fn a_failed_no_transaction_down_is_partly_reverted_shown_and_resumed() {
    let db = TestDb::new();
    let p = project(&db);
    p.migration(
        COLUMN,
        "-- migrate:no-transaction\nALTER TABLE t ADD COLUMN IF NOT EXISTS c int;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_c ON t (c);\n",
        Some("DROP INDEX CONCURRENTLY IF EXISTS t_c;\nALTER TABLE t DROP COLUMN IF EXISTS c;\nDROP TABLE IF EXISTS later_gone;\nSELECT 1 FROM blocker;\n"),
    );
    assert_eq!(p.run(&["apply"]).code, 0);
    let v = &COLUMN[..14];
    let run = p.run(&["down", "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let json = run.json();
    assert_eq!(json["failure"]["direction"], "down");
    assert_eq!(json["failure"]["statement"], 4);
    assert_eq!(json["failure"]["statements_applied"], 3);
    assert_eq!(json["failure"]["transactional"], false);
    assert_eq!(json["reverted"], serde_json::json!([]));
    let text = p.run(&["down"]);
    assert!(
        text.stderr.contains(&format!(
            "help: its down.sql ran outside a transaction: statements 1 to 3 stay done (reverted), so {v} is \
             partly reverted. Fix the cause, then `cargo migrate down` resumes it at statement 4"
        )),
        "{}",
        text.stderr
    );
    // status: a problem, with how far it got.
    let status = p.run(&["status"]);
    assert_eq!(status.code, 3, "{status:?}");
    assert!(
        status.stdout.contains("down_failed")
            && status.stdout.contains("down.sql: 3 of 4 statements done"),
        "{}",
        status.stdout
    );
    assert_eq!(state(&p, v)["state"], "down_failed");
    // apply refuses it (partly reverted), with the way out.
    let apply = p.run(&["apply"]);
    assert_eq!(apply.code, 1);
    assert!(
        apply
            .stderr
            .contains("partly reverted: its down.sql failed after 3 of 4 statements")
            && apply
                .stderr
                .contains("`cargo migrate down` (it resumes at statement 4)"),
        "{}",
        apply.stderr
    );
    // Fix the cause; down resumes at statement 4 (1 to 3 do not run again).
    db.client()
        .batch_execute("CREATE TABLE blocker (a int)")
        .unwrap();
    let run = p.run(&["down"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("Resuming {v} at statement 4 of 4")),
        "{}",
        run.stderr
    );
    assert_eq!(state(&p, v)["state"], "pending");
    let actions: Vec<String> = db
        .history()
        .into_iter()
        .map(|h| format!("{} {}", h.1, h.2))
        .collect();
    assert_eq!(
        actions,
        [
            "apply applied",
            "apply applied",
            "down failed",
            "down failed",
            "down rolled_back"
        ]
    );
}

#[test]
fn down_steps_stops_at_the_first_failure_and_says_what_was_reverted() {
    let db = TestDb::new();
    let p = project(&db);
    p.migration(
        INDEX,
        "CREATE TABLE u (a int);\n",
        Some("DROP TABLE nowhere;\n"),
    );
    p.migration(
        COLUMN,
        "ALTER TABLE t ADD COLUMN c int;\n",
        Some("ALTER TABLE t DROP COLUMN c;\n"),
    );
    assert_eq!(p.run(&["apply"]).code, 0);
    let run = p.run(&["down", "--steps", "3"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "error: reverting migration {INDEX} failed: 42P01: table \"nowhere\" does not exist\n"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with(&format!(
            "note: 1 migration(s) before it were reverted: {COLUMN}\n"
        )),
        "{}",
        run.stderr
    );
    assert!(
        db.has_table("t") && db.has_table("u"),
        "TABLE was not reached"
    );
    let json = p.run(&["down", "--steps", "3", "--format", "json"]).json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["reverted"], serde_json::json!([]));
    assert_eq!(json["failure"]["version"], &INDEX[..14]);
}
