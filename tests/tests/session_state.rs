//! Session state never leaks from one migration into the next: the same migrations give the
//! same schema applied in one run or in several, and a resumed no-transaction migration sees
//! the session settings its earlier statements made.

use migrate_tests::{Project, TestDb};

const SCHEMA: &str = "20261121090000_app_schema";
const TABLE: &str = "20261121090100_create_t";

fn schema_of(db: &TestDb, table: &str) -> Vec<String> {
    db.client()
        .query(
            "SELECT table_schema::text FROM information_schema.tables WHERE table_name = $1",
            &[&table],
        )
        .expect("list the tables")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn project(db: &TestDb) -> Project {
    let p = Project::with_db(db);
    p.migration(
        SCHEMA,
        "CREATE SCHEMA app;\nSET search_path = app;\n",
        Some("DROP SCHEMA app;\n"),
    )
    .migration(TABLE, "CREATE TABLE t (id int);\n", Some("DROP TABLE t;\n"));
    p
}

#[test]
fn one_run_and_two_runs_give_the_same_schema() {
    for one_run in [true, false] {
        let db = TestDb::new();
        let p = project(&db);
        // Roles are cluster-wide: make each run's unique.
        let role = format!("probe_{}", db.name);
        p.migration(
            SCHEMA,
            &format!("CREATE SCHEMA app;\nSET search_path = app;\nCREATE ROLE {role} NOLOGIN;\nSET ROLE {role};\n"),
            Some("DROP SCHEMA app;\n"),
        );
        if one_run {
            let run = p.run(&["apply"]);
            assert_eq!(run.code, 0, "{run:?}");
        } else {
            assert_eq!(p.run(&["apply", "--to", &SCHEMA[..14]]).code, 0);
            assert_eq!(p.run(&["apply"]).code, 0);
        }
        assert_eq!(schema_of(&db, "t"), ["public"], "one run: {one_run}");
        let owner: String = db
            .client()
            .query_one(
                "SELECT tableowner::text FROM pg_tables WHERE tablename = 't'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(
            owner, "postgres",
            "SET ROLE did not leak (one run: {one_run})"
        );
        db.client()
            .batch_execute(&format!(
                "DROP SCHEMA app CASCADE; DROP TABLE t; DROP ROLE {role}"
            ))
            .unwrap();
    }
}

#[test]
fn single_transaction_mode_resets_the_session_between_migrations_too() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(
        SCHEMA,
        "CREATE SCHEMA app;\nSET search_path = app;\n",
        Some("DROP SCHEMA app;\n"),
    )
    .migration(TABLE, "CREATE TABLE t (id int);\n", Some("DROP TABLE t;\n"));
    assert_eq!(p.run(&["apply", "--single-transaction"]).code, 0);
    assert_eq!(schema_of(&db, "t"), ["public"]);
}

#[test]
fn a_resumed_no_transaction_migration_replays_its_session_settings() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(
        SCHEMA,
        "CREATE SCHEMA app;\nCREATE TABLE app.t (a int);\n",
        Some("DROP SCHEMA app CASCADE;\n"),
    )
    .migration(
        TABLE,
        "-- migrate:no-transaction\nSET search_path = app;\nCREATE TABLE IF NOT EXISTS first (a int);\nINSERT INTO gate VALUES (1);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_a ON t (a);\nCREATE TABLE IF NOT EXISTS after (a int);\n",
        Some("-- migrate:no-transaction\nDROP TABLE IF EXISTS app.after;\nDROP INDEX CONCURRENTLY IF EXISTS app.t_a;\nDROP TABLE IF EXISTS app.first;\n"),
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("= statement 3 of 5"), "{}", run.stderr);
    assert_eq!(schema_of(&db, "first"), ["app"]);
    // The gate exists (in app, where statement 3 looks): resume in a new session.
    db.client()
        .batch_execute("CREATE TABLE app.gate (a int)")
        .unwrap();
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("Resuming {} at statement 3 of 5", &TABLE[..14])),
        "{}",
        run.stderr
    );
    assert_eq!(
        schema_of(&db, "after"),
        ["app"],
        "statement 5 ran under app"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM pg_indexes WHERE schemaname = 'app' AND indexname = 't_a'"),
        1
    );
    assert_eq!(
        db.count("SELECT count(*) FROM app.gate"),
        1,
        "statement 3 ran once"
    );
}

#[test]
fn a_resume_that_cannot_restore_the_session_is_refused() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(
        TABLE,
        "-- migrate:no-transaction\nCREATE TEMP TABLE IF NOT EXISTS scratch (a int);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS gate_a ON gate (a);\n",
        None,
    );
    assert_eq!(p.run(&["apply"]).code, 1);
    db.client()
        .batch_execute("CREATE TABLE gate (a int)")
        .unwrap();
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "--> migrations/{TABLE}/migration.sql: failed after 1 of 2 statements outside a \
             transaction, and statement 1, which already ran, creates a temporary object: a \
             resumed run starts a new session, where that is gone"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "help: finish it by hand (statements 2 to 2 are left) and run `cargo migrate resolve --applied {}`",
            &TABLE[..14]
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn a_migration_that_switches_role_does_not_break_the_bookkeeping() {
    let db = TestDb::new();
    let role = format!("probe_{}", db.name);
    db.client()
        .batch_execute(&format!("CREATE ROLE {role} NOLOGIN"))
        .unwrap();
    let p = Project::with_db(&db);
    p.migration(SCHEMA, &format!("SET ROLE {role};\n"), Some("SELECT 1;\n"))
        .migration(
            TABLE,
            &format!("-- migrate:no-transaction\nSET ROLE {role};\nSELECT 1;\nSELECT 2;\n"),
            Some("SELECT 1;\n"),
        );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    let progress = db
        .count("SELECT statements_applied::bigint FROM _migrate_history ORDER BY id DESC LIMIT 1");
    assert_eq!(progress, 3);
    drop(p);
    db.client()
        .batch_execute(&format!("DROP ROLE {role}"))
        .unwrap();
}
