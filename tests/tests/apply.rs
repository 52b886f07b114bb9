//! `cargo migrate apply` against a real database: exactly once, atomically, with clear
//! failures, resume of no-transaction migrations, and every refusal before anything runs.

use migrate_tests::{Project, TestDb};

const USERS: &str = "20261121090000_create_users";
const EMAIL: &str = "20261121090100_add_email";

fn two_migrations(db: &TestDb) -> Project {
    let p = Project::with_db(db);
    p.migration(
        USERS,
        "CREATE TABLE users (id bigint PRIMARY KEY);\n",
        Some("DROP TABLE users;\n"),
    )
    .migration(
        EMAIL,
        "ALTER TABLE users ADD COLUMN email text;\n",
        Some("ALTER TABLE users DROP COLUMN email;\n"),
    );
    p
}

fn applied(v: &str) -> (String, String, String) {
    (v[..14].to_string(), "apply".into(), "applied".into())
}

#[test]
fn apply_runs_pending_migrations_once_records_them_and_seals_drafts() {
    let db = TestDb::new();
    let p = two_migrations(&db);
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(&format!("  Applied {USERS} (")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("  Sealed {EMAIL}")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Applied 2 migrations in "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with("the database is at 20261121090100.\n"),
        "{}",
        run.stderr
    );
    assert_eq!(db.history(), [applied(USERS), applied(EMAIL)]);
    assert_eq!(
        db.count("SELECT count(*) FROM information_schema.columns WHERE table_name = 'users'"),
        2
    );
    assert_eq!(
        p.run(&["seal", "--check"]).code,
        0,
        "applied drafts are sealed"
    );
    let again = p.run(&["apply"]);
    assert_eq!(again.code, 0);
    assert!(
        again
            .stderr
            .contains("Nothing to apply; the database is at 20261121090100."),
        "{}",
        again.stderr
    );
    assert_eq!(db.history().len(), 2);
    // Who and what: user, host, tool version, SQL, checksums.
    let row = db
        .client()
        .query_one(
            "SELECT applied_by, client_host, tool_version, sql, checksum, execution_ms, finished_at IS NOT NULL
             FROM _migrate_history ORDER BY id LIMIT 1",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "postgres");
    assert!(!row.get::<_, String>(1).is_empty());
    assert_eq!(row.get::<_, String>(2), env!("CARGO_PKG_VERSION"));
    assert_eq!(
        row.get::<_, String>(3),
        "CREATE TABLE users (id bigint PRIMARY KEY);\n"
    );
    assert_eq!(row.get::<_, String>(4).len(), 64);
    assert!(row.get::<_, f64>(5) >= 0.0);
    assert!(row.get::<_, bool>(6));
}

#[test]
fn failing_transactional_migration_leaves_nothing_and_reports_file_line_column() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(USERS, "CREATE TABLE users (id bigint PRIMARY KEY);\n", None).migration(
        EMAIL,
        "-- two statements, the second one broken\nCREATE TABLE audit (id int);\nINSERT INTO nowhere VALUES (1);\n",
        None,
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    let expected = format!(
        "error: migration {EMAIL} failed: 42P01: relation \"nowhere\" does not exist\n  \
         --> migrations/{EMAIL}/migration.sql:3:13\n    |\n  3 | INSERT INTO nowhere VALUES (1);\n    |             ^\n  \
         = statement 2 of 2\n  help: its transaction was rolled back: nothing of it is in the database. \
         Fix it and run `cargo migrate apply`, which retries it (a draft can be edited freely; if 20261121090100 \
         is sealed, fix what it depends on instead)\n  \
         note: 1 migration(s) before it were applied: {USERS}\n"
    );
    assert!(run.stderr.ends_with(&expected), "{}", run.stderr);
    assert!(db.has_table("users"));
    assert!(!db.has_table("audit"), "no partial schema");
    assert_eq!(
        db.history(),
        [
            applied(USERS),
            (EMAIL[..14].to_string(), "apply".into(), "failed".into())
        ],
        "no row claims success"
    );
    // The failed draft stays editable (not sealed); the one before it is sealed.
    let lock = p.read("migrations/migrations.lock");
    assert!(
        lock.contains("create_users") && !lock.contains("add_email"),
        "{lock}"
    );
    // status shows the failure until the next apply.
    let status = p.run(&["status"]);
    assert_eq!(status.code, 3, "{status:?}");
    assert!(
        status.stdout.contains(&format!("  failed       {EMAIL}  "))
            && status
                .stdout
                .contains("42P01: relation \"nowhere\" does not exist"),
        "{}",
        status.stdout
    );
    // Fix it; the next apply retries it directly (nothing of it remained), no `resolve`.
    p.migration(
        EMAIL,
        "CREATE TABLE audit (id int);\nALTER TABLE users ADD COLUMN email text;\n",
        None,
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "  Retrying {EMAIL}: it failed before and was rolled back (42P01: relation \"nowhere\" does not exist)\n"
        )),
        "{}",
        run.stderr
    );
    assert!(db.has_table("audit"));
    let states: Vec<String> = db
        .history()
        .into_iter()
        .map(|h| format!("{} {}", h.1, h.2))
        .collect();
    assert_eq!(
        states,
        ["apply applied", "apply failed", "apply applied"],
        "audit trail"
    );
    assert_eq!(p.run(&["status"]).code, 0);
}

#[test]
fn a_failure_deep_in_a_long_file_names_its_statement_and_line() {
    // Statements travel several per round trip; a failed batch is located statement by
    // statement, also for errors that carry no position (a unique violation).
    let db = TestDb::new();
    let p = Project::with_db(&db);
    let mut sql = String::from("CREATE TABLE t (id bigint PRIMARY KEY, note text);\n");
    for i in 0..3000 {
        sql.push_str(&format!(
            "INSERT INTO t VALUES ({i}, 'a note long enough to fill several batches');\n"
        ));
    }
    sql.push_str("INSERT INTO t VALUES (2500, 'again');\nINSERT INTO t VALUES (-1, 'never');\n");
    p.migration(USERS, &sql, Some("DROP TABLE t;\n"));
    let run = p.run(&["apply", "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let failure = &run.json()["failure"];
    assert_eq!(failure["code"], "23505");
    assert_eq!(failure["statement"], 3002);
    assert_eq!(failure["line"], 3002);
    assert_eq!(failure["column"], 1);
    assert!(!db.has_table("t"), "rolled back");
    // Fixed, the whole file applies.
    p.migration(
        USERS,
        &sql.replace("(2500, 'again')", "(3000, 'again')"),
        Some("DROP TABLE t;\n"),
    );
    assert_eq!(p.run(&["apply"]).code, 0);
    assert_eq!(db.count("SELECT count(*) FROM t"), 3002);
}

#[test]
fn a_failed_no_transaction_migration_still_needs_its_resume_not_a_retry() {
    // Something of it may remain, so the failure blocks until it resumes or is resolved.
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(
        USERS,
        "-- migrate:no-transaction\nCREATE TABLE IF NOT EXISTS a (n int);\nINSERT INTO nowhere VALUES (1);\n",
        None,
    );
    assert_eq!(p.run(&["apply"]).code, 1);
    assert!(db.has_table("a"), "statement 1 stays applied");
    let status = p.run(&["status", "--format", "json"]);
    assert_eq!(status.code, 3);
    assert_eq!(status.json()["migrations"][0]["state"], "failed");
    assert_eq!(status.json()["migrations"][0]["statements_applied"], 1);
}

#[test]
fn syntax_error_position_maps_to_the_file() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(
        USERS,
        "CREATE TABLE users (\n    id bigint PRIMARY KEY,\n    name txet\n);\n",
        None,
    );
    let run = p.run(&["apply", "--format", "json"]);
    assert_eq!(run.code, 1);
    let json = run.json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["failure"]["code"], "42704");
    assert_eq!(json["failure"]["line"], 3);
    assert_eq!(json["failure"]["column"], 10);
    assert_eq!(json["failure"]["message"], "type \"txet\" does not exist");
    assert_eq!(json["failure"]["transactional"], true);
}

#[test]
fn no_transaction_migration_failing_at_statement_3_of_5_resumes_at_3() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(USERS, "CREATE TABLE log (n int);\n", None).migration(
        EMAIL,
        "-- migrate:no-transaction\nINSERT INTO log VALUES (1);\nINSERT INTO log VALUES (2);\nINSERT INTO log SELECT n FROM later;\nINSERT INTO log VALUES (4);\nINSERT INTO log VALUES (5);\n",
        None,
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains(&format!("--> migrations/{EMAIL}/migration.sql:4:")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("= statement 3 of 5"), "{}", run.stderr);
    assert!(
        run.stderr.contains("statements 1 to 2 stay applied"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("`cargo migrate apply` resumes at statement 3"),
        "{}",
        run.stderr
    );
    assert_eq!(db.count("SELECT count(*) FROM log"), 2);
    let status = p.run(&["status"]);
    assert_eq!(status.code, 3);
    assert!(
        status.stdout.contains("2 of 5 statements applied"),
        "{}",
        status.stdout
    );
    // Fix the cause (not the file), apply again: resumes at 3, statements 1-2 are not re-run.
    db.client()
        .batch_execute("CREATE TABLE later (n int); INSERT INTO later VALUES (3);")
        .unwrap();
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("Resuming 20261121090100 at statement 3 of 5"),
        "{}",
        run.stderr
    );
    let rows: Vec<i32> = db
        .client()
        .query("SELECT n FROM log ORDER BY n", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(rows, [1, 2, 3, 4, 5]);
    let progress = db
        .count("SELECT statements_applied::bigint FROM _migrate_history ORDER BY id DESC LIMIT 1");
    assert_eq!(progress, 5);
}

#[test]
fn resume_refuses_when_statements_that_already_ran_were_edited() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(USERS, "-- migrate:no-transaction\nCREATE TABLE IF NOT EXISTS a (n int);\nCREATE TABLE IF NOT EXISTS b (n int) WITH (oops = 1);\n", None);
    assert_eq!(p.run(&["apply"]).code, 1);
    p.migration(
        USERS,
        "-- migrate:no-transaction\nCREATE TABLE IF NOT EXISTS a2 (n int);\nCREATE TABLE IF NOT EXISTS b (n int);\n",
        None,
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(&format!("--> migrations/{USERS}/migration.sql:2: statement 1 already ran before the failure, but has changed since")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("\n    -CREATE TABLE IF NOT EXISTS a (n int);\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("\n    +CREATE TABLE IF NOT EXISTS a2 (n int);\n"),
        "{}",
        run.stderr
    );
    // Only the failed statement changed: resume works.
    p.migration(
        USERS,
        "-- migrate:no-transaction\nCREATE TABLE IF NOT EXISTS a (n int);\nCREATE TABLE IF NOT EXISTS b (n int);\n",
        None,
    );
    assert_eq!(p.run(&["apply"]).code, 0);
    assert!(db.has_table("b"));
}

#[test]
fn several_concurrent_indexes_in_one_no_transaction_migration() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(USERS, "CREATE TABLE t (a int, b int, c int);\n", None).migration(
        EMAIL,
        "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_a ON t (a);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_b ON t (b);\n\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_c ON t (c);\n",
        None,
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("no transaction, 3 statements"),
        "{}",
        run.stderr
    );
    assert_eq!(db.count("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname IN ('t_a','t_b','t_c') AND i.indisvalid"), 3);
}

#[test]
fn resume_rebuilds_the_invalid_index_a_failed_concurrent_build_left_behind() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(USERS, "CREATE TABLE app_users (email text);\nINSERT INTO app_users VALUES ('a@x'), ('a@x');\n", None)
        .migration(
            EMAIL,
            "-- migrate:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS app_users_email_key ON public.app_users (email);\n",
            None,
        );
    let valid = "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass('public.app_users_email_key')";
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1, "the duplicate fails the unique build: {run:?}");
    // PostgreSQL leaves the half-built index behind, INVALID.
    let left: bool = db
        .client()
        .query_one(valid, &[])
        .expect("index exists")
        .get(0);
    assert!(!left, "the failed build left an INVALID index");

    db.client()
        .batch_execute("DELETE FROM app_users WHERE ctid <> (SELECT min(ctid) FROM app_users)")
        .expect("fix the data");
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("  20261121090100: dropped the invalid index public.app_users_email_key left by an earlier failed build; building it again"),
        "{}",
        run.stderr
    );
    let rebuilt: bool = db
        .client()
        .query_one(valid, &[])
        .expect("index exists")
        .get(0);
    assert!(rebuilt, "IF NOT EXISTS must not keep the invalid index");
}

#[test]
fn concurrently_in_a_transactional_migration_is_refused_before_anything_runs() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(
        USERS,
        "CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_a ON t (a);\n",
        None,
    );
    // The lint gate of apply...
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains(
        "error[requires-no-transaction]: `CREATE INDEX CONCURRENTLY` cannot run inside a transaction, and this migration runs in one\n  \
         --> migrations/20261121090000_create_users/migration.sql:2:1\n"
    ), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: refusing to apply: lint found 1 error(s) in the draft migrations"),
        "{}",
        run.stderr
    );
    assert!(
        !db.has_table("_migrate_history"),
        "the lint gate refuses before connecting"
    );
    // ...and, overridden, the engine itself: nothing runs either way.
    let run = p.run(&["apply", "--allow-unsafe"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(
            "warning: applying despite 1 lint error(s) (--allow-unsafe):\n  \
             requires-no-transaction (error): 1, at migrations/20261121090000_create_users/migration.sql:2\n  \
             `cargo migrate lint` shows each one with its help\n"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("error: refusing to apply: 1 problem in the migration files\n"),
        "the cause is named: {}",
        run.stderr
    );
    assert!(run.stderr.contains(
        "--> migrations/20261121090000_create_users/migration.sql:2:1: `CREATE INDEX CONCURRENTLY` cannot run inside a transaction, and this migration runs in one"
    ), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("help: put `-- migrate:no-transaction` at the top of migration.sql"),
        "{}",
        run.stderr
    );
    assert!(!db.has_table("t"));
    // The engine refuses once it holds the lock and has created the (empty) history table,
    // before running anything; the lint gate above refused before connecting at all.
    assert_eq!(db.history(), vec![], "nothing recorded");
}

#[test]
fn edited_applied_migration_is_refused_with_a_diff() {
    let db = TestDb::new();
    let p = two_migrations(&db);
    assert_eq!(p.run(&["apply"]).code, 0);
    // A developer edits an applied migration and force-reseals it: the lock no longer
    // objects, the database history does.
    p.migration(
        USERS,
        "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n",
        None,
    );
    assert_eq!(p.run(&["seal", "--force", &USERS[..14]]).code, 0);
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1);
    let expected_diff = format!(
        "    --- recorded in the database\n    +++ migrations/{USERS}/migration.sql\n    @@ -1 +1 @@\n    \
         -CREATE TABLE users (id bigint PRIMARY KEY);\n    +CREATE TABLE users (id bigint PRIMARY KEY, name text);\n"
    );
    assert!(run.stderr.contains(&expected_diff), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("\nerror: refusing to apply: 1 problem in the database history\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("revert it first with `cargo migrate down --to 00000000000000`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "--> migrations/{USERS}/migration.sql: applied, but edited since (diff below)"
        )),
        "{}",
        run.stderr
    );
    let status = p.run(&["status", "--format", "json"]);
    assert_eq!(status.code, 3);
    let json = status.json();
    assert_eq!(json["migrations"][0]["state"], "edited");
    assert_eq!(
        json["migrations"][0]["recorded_sql"],
        "CREATE TABLE users (id bigint PRIMARY KEY);\n"
    );
}

#[test]
fn missing_applied_migration_is_refused() {
    let db = TestDb::new();
    let p = two_migrations(&db);
    assert_eq!(p.run(&["apply"]).code, 0);
    std::fs::remove_dir_all(p.path().join("migrations").join(USERS)).unwrap();
    // The lock file objects first.
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("sealed migration is missing"),
        "{}",
        run.stderr
    );
    // With the lock entry dropped, the history objects.
    assert_eq!(p.run(&["seal", "--force", &USERS[..14]]).code, 0);
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(&format!(
            "--> migrations/{USERS}: applied, but its folder is missing"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(p.run(&["status"]).code, 3);
}

#[test]
fn locked_refuses_drafts_and_applies_sealed_ones() {
    let db = TestDb::new();
    let p = two_migrations(&db);
    let run = p.run(&["apply", "--locked"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with("error: --locked: there are unsealed migrations\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("--> migrations/{USERS}: draft, not sealed yet")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with("note: nothing was run\n"),
        "{}",
        run.stderr
    );
    assert!(!db.has_table("users"));
    assert_eq!(p.run(&["seal"]).code, 0);
    assert_eq!(p.run(&["apply", "--locked"]).code, 0);
    assert!(db.has_table("users"));
}

#[test]
fn dry_run_prints_the_plan_and_touches_nothing() {
    let db = TestDb::new();
    let p = two_migrations(&db);
    let run = p.run(&["apply", "--dry-run"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .starts_with("Dry run: 2 migration(s) would be applied to postgres@"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(&format!("{USERS} (in a transaction)\n    1. line 1    CREATE TABLE users (id bigint PRIMARY KEY);\n")), "{}", run.stdout);
    assert!(!db.has_table("_migrate_history"), "dry run creates nothing");
    assert!(!p.path().join("migrations/migrations.lock").exists());
    let json = p.run(&["apply", "--dry-run", "--format", "json"]).json();
    assert_eq!(
        json["plan"][1]["statements"][0]["sql"],
        "ALTER TABLE users ADD COLUMN email text;"
    );
}

#[test]
fn to_stops_at_the_version() {
    let db = TestDb::new();
    let p = two_migrations(&db);
    assert_eq!(p.run(&["apply", "--to", &USERS[..14]]).code, 0);
    assert_eq!(db.history(), [applied(USERS)]);
    assert_eq!(p.run(&["status"]).code, 4);
    let run = p.run(&["apply", "--to", "20991231000000"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("--to 20991231000000: there is no migration 20991231000000 in migrations"),
        "{}",
        run.stderr
    );
}

#[test]
fn single_transaction_rolls_back_everything_on_failure() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(USERS, "CREATE TABLE users (id int);\n", None)
        .migration(EMAIL, "ALTER TABLE nope ADD COLUMN x int;\n", None);
    let run = p.run(&["apply", "--single-transaction"]);
    assert_eq!(run.code, 1);
    assert!(
        !db.has_table("users"),
        "the first migration was rolled back too"
    );
    assert_eq!(
        db.history(),
        [(EMAIL[..14].to_string(), "apply".into(), "failed".into())]
    );
    // Not allowed with no-transaction migrations.
    let db = TestDb::new();
    let q = Project::with_db(&db);
    q.migration(
        "20261121100000_idx",
        "-- migrate:no-transaction\nSELECT 1;\n",
        None,
    );
    let run = q.run(&["apply", "--single-transaction"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("--single-transaction: 20261121100000_idx is a no-transaction migration"),
        "{}",
        run.stderr
    );
}

#[test]
fn single_transaction_records_every_migration_with_its_sql_or_none() {
    // The history rows are written together at the end, in the run's transaction.
    let db = TestDb::new();
    let p = two_migrations(&db);
    p.migration(
        "20261121090200_break_history",
        "-- migrate:allow(renaming-column) reason: the test breaks the history on purpose\nALTER TABLE _migrate_history RENAME COLUMN note TO remark;\n",
        Some("SELECT 1;\n"),
    );
    let run = p.run(&["apply", "--single-transaction"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(
            "error: cannot record the migrations in the history table public._migrate_history: \
             column \"note\" of relation \"_migrate_history\" does not exist"
        ),
        "{}",
        run.stderr
    );
    assert!(!db.has_table("users"), "everything was rolled back");
    assert_eq!(db.history(), []);
    std::fs::remove_dir_all(p.path().join("migrations/20261121090200_break_history"))
        .expect("remove");
    let run = p.run(&["apply", "--single-transaction"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(db.history(), [applied(USERS), applied(EMAIL)]);
    assert_eq!(
        db.count(
            "SELECT count(*) FROM _migrate_history WHERE execution_ms IS NOT NULL \
             AND sql LIKE '%TABLE users%'"
        ),
        2,
        "each row has its SQL and its time"
    );
}

#[test]
fn out_of_order_pending_migration_is_refused_unless_allowed() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(EMAIL, "CREATE TABLE b (id int);\n", None);
    assert_eq!(p.run(&["apply"]).code, 0);
    p.migration(USERS, "CREATE TABLE a (id int);\n", None);
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("draft is older than the newest sealed migration 20261121090100"),
        "{}",
        run.stderr
    );
    let status = p.run(&["status"]);
    assert_eq!(status.code, 3);
    assert!(
        status.stdout.contains(&format!("out_of_order {USERS}")),
        "{}",
        status.stdout
    );
    let run = p.run(&["apply", "--allow-out-of-order"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(db.has_table("a"));
    assert_eq!(p.run(&["seal", "--check"]).code, 0);
}

#[test]
fn lock_file_problems_refuse_before_connecting() {
    let p = Project::new();
    p.migration(USERS, "SELECT 1;", None)
        .file("migrations/migrations.lock", "<<<<<<< HEAD\n");
    let run = p.run(&[
        "--database-url",
        "postgres://nobody@db.example.invalid/x",
        "apply",
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with("error: the migrations do not match migrations.lock\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("git merge conflict markers"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_large_migration_is_recorded_byte_for_byte() {
    // Over a megabyte: the history row is streamed with COPY, whose escapes must round-trip.
    let db = TestDb::new();
    let p = Project::with_db(&db);
    let mut sql = String::from(
        "-- tab\there, back\\slash, ünïcödé, $cm$, \\N\r\nCREATE TABLE big (id int, note text);\n",
    );
    for i in 0..20_000 {
        sql.push_str(&format!(
            "INSERT INTO big VALUES ({i}, E'a\\tb\\\\c');\t-- \"{{x}}\"\r\n"
        ));
    }
    assert!(sql.len() > 1 << 20);
    p.migration(USERS, &sql, Some("DROP TABLE big;\n"));
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    let row = db
        .client()
        .query_one(
            "SELECT sql, down_sql, array_length(statement_checksums, 1), finished_at IS NOT NULL, \
             tool_version, client_host IS NOT NULL FROM _migrate_history",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), sql);
    assert_eq!(row.get::<_, String>(1), "DROP TABLE big;\n");
    assert_eq!(row.get::<_, i32>(2), 20_001);
    assert!(row.get::<_, bool>(3), "finished_at is recorded");
    assert_eq!(row.get::<_, String>(4), env!("CARGO_PKG_VERSION"));
    assert!(row.get::<_, bool>(5));
    assert_eq!(db.count("SELECT count(*) FROM big"), 20_000);
    assert_eq!(
        p.run(&["status"]).code,
        0,
        "checksums match what was recorded"
    );
}

#[test]
fn the_history_records_the_sql_byte_for_byte() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    let sql = "-- it's $cm$ tricky \\ 'quoted' ünïcödé $cm\nCREATE FUNCTION f() RETURNS text AS $cm$ SELECT 'x$cm1$'::text $cm$ LANGUAGE sql;\nCOMMENT ON FUNCTION f() IS E'back\\\\slash';\n";
    p.migration(USERS, sql, Some("DROP FUNCTION f(); -- $cm$\n"));
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    let row = db
        .client()
        .query_one(
            "SELECT sql, down_sql, array_length(statement_checksums, 1) FROM _migrate_history",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), sql);
    assert_eq!(row.get::<_, String>(1), "DROP FUNCTION f(); -- $cm$\n");
    assert_eq!(row.get::<_, i32>(2), 2);
    assert_eq!(
        p.run(&["status"]).code,
        0,
        "checksums match what was recorded"
    );
}
