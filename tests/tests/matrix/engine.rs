//! The engine end to end through the CLI on each major: apply with transactional and
//! no-transaction migrations (`CREATE INDEX CONCURRENTLY`), a failure mapped to
//! file:line:column, the resume of a failed concurrent build (its INVALID index found in
//! `pg_index`), status exit codes and JSON, down (also outside a transaction), resolve, reset;
//! connection errors, whose hints are chosen from the server's messages.

use migrate_tests::matrix::Server;
use migrate_tests::{Project, TestDb};

const USERS: &str = "20261121090000_create_users";
const INDEX: &str = "20261121090100_index_users_email";
const NAME: &str = "20261121090200_add_users_name";

fn valid_indexes(db: &TestDb, name: &str) -> i64 {
    db.count(&format!(
        "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE c.relname = '{name}' AND i.indisvalid"
    ))
}

fn columns(db: &TestDb, table: &str) -> i64 {
    db.count(&format!(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = '{table}'"
    ))
}

fn apply_status_and_down_in_both_transaction_modes(pg: &Server) {
    let db = pg.db();
    let p = Project::with_db(&db);
    p.migration(
        USERS,
        "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n",
        Some("DROP TABLE users;\n"),
    )
    .migration(
        INDEX,
        "-- migrate:no-transaction\nSET lock_timeout = '1s';\n\
         CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email ON users (email);\n",
        Some("DROP INDEX CONCURRENTLY IF EXISTS users_email;\n"),
    )
    .migration(
        NAME,
        "ALTER TABLE users ADD COLUMN name text;\n",
        Some("ALTER TABLE users DROP COLUMN name;\n"),
    );

    let pending = p.run(&["status", "--format", "json"]);
    assert_eq!(pending.code, 4, "{pending:?}");
    let json = pending.json();
    assert_eq!(json["summary"]["pending"], 3);
    assert_eq!(json["migrations"][1]["no_transaction"], true);

    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(&format!("  Applied {INDEX} ("))
            && run.stderr.contains("no transaction, 2 statements)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Applied 3 migrations in "),
        "{}",
        run.stderr
    );
    assert_eq!(valid_indexes(&db, "users_email"), 1);
    assert_eq!(columns(&db, "users"), 3);

    let verbose = p.run(&["status", "--verbose"]);
    assert!(
        verbose
            .stderr
            .contains(&format!(": PostgreSQL {}, TLS off\n", pg.version)),
        "{}",
        verbose.stderr
    );
    let up_to_date = p.run(&["status", "--format", "json"]);
    assert_eq!(up_to_date.code, 0, "{up_to_date:?}");
    let json = up_to_date.json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["summary"]["applied"], 3);
    for m in json["migrations"].as_array().expect("migrations") {
        assert_eq!(m["state"], "applied", "{m}");
        assert_eq!(m["sealed"], true, "{m}");
    }

    // The newest (transactional) down, then the no-transaction one's, which runs outside a
    // transaction like its migration.
    let down = p.run(&["down", "--steps", "2"]);
    assert_eq!(down.code, 0, "{down:?}");
    assert!(
        down.stderr.contains(&format!("  Reverted {NAME} ("))
            && down.stderr.contains(&format!("  Reverted {INDEX} (")),
        "{}",
        down.stderr
    );
    assert_eq!(columns(&db, "users"), 2);
    assert_eq!(
        db.count("SELECT count(*) FROM pg_class WHERE relname = 'users_email'"),
        0
    );
    let history: Vec<String> = db
        .history()
        .into_iter()
        .map(|(v, action, state)| format!("{v} {action} {state}"))
        .collect();
    assert_eq!(
        history[3..],
        [
            format!("{} down rolled_back", &NAME[..14]),
            format!("{} down rolled_back", &INDEX[..14]),
        ]
    );
    assert_eq!(p.run(&["status"]).code, 4);

    let again = p.run(&["apply"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(valid_indexes(&db, "users_email"), 1);
    assert_eq!(p.run(&["status"]).code, 0);
}

fn a_failure_points_at_file_line_column_and_a_rerun_finishes_the_job(pg: &Server) {
    let db = pg.db();
    let p = Project::with_db(&db);
    // A transactional migration failing at its second statement: rolled back, located.
    p.migration(
        USERS,
        "-- users and their emails\nCREATE TABLE users (id bigint PRIMARY KEY, email text);\n\
         INSERT INTO users (id, emial) VALUES (1, 'a@x');\n",
        None,
    );
    let run = p.run(&["apply", "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let failure = &run.json()["failure"];
    assert_eq!(failure["code"], "42703", "{failure}");
    assert_eq!(
        failure["message"],
        "column \"emial\" of relation \"users\" does not exist"
    );
    let column = "INSERT INTO users (id, emial)"
        .find("emial")
        .expect("column")
        + 1;
    assert_eq!(
        (failure["line"].clone(), failure["column"].clone()),
        (3.into(), column.into())
    );
    assert_eq!(failure["statement"], 2);
    assert_eq!(failure["transactional"], true);
    assert!(!db.has_table("users"), "rolled back");
    let status = p.run(&["status", "--format", "json"]);
    assert_eq!(status.code, 3, "{status:?}");
    assert_eq!(status.json()["migrations"][0]["state"], "failed");

    // Fixed: retried directly. Then a concurrent unique build that fails on duplicates leaves
    // an INVALID index behind, which the resume finds, drops and builds again.
    p.migration(
        USERS,
        "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n\
         INSERT INTO users (id, email) VALUES (1, 'a@x'), (2, 'a@x');\n",
        None,
    )
    .migration(
        INDEX,
        "-- migrate:no-transaction\nCREATE TABLE IF NOT EXISTS audit (id int);\n\
         CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email ON public.users (email);\n\
         CREATE TABLE IF NOT EXISTS after_index (id int);\n",
        None,
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "failed: 23505: could not create unique index \"users_email\"\n  --> migrations/{INDEX}/migration.sql:3:1\n"
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("= statement 2 of 3"), "{}", run.stderr);
    assert_eq!(
        db.count("SELECT count(*) FROM pg_index WHERE indexrelid = to_regclass('public.users_email') AND NOT indisvalid"),
        1,
        "the failed build left an INVALID index"
    );
    let status = p.run(&["status", "--format", "json"]);
    assert_eq!(status.code, 3);
    let m = &status.json()["migrations"][1];
    assert_eq!(
        (m["state"].clone(), m["statements_applied"].clone()),
        ("failed".into(), 1.into())
    );

    db.client()
        .batch_execute("DELETE FROM users WHERE id = 2")
        .expect("fix the data");
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("Resuming {} at statement 2 of 3", &INDEX[..14])),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "  {}: dropped the invalid index public.users_email left by an earlier failed build; building it again",
            &INDEX[..14]
        )),
        "{}",
        run.stderr
    );
    assert_eq!(valid_indexes(&db, "users_email"), 1);
    assert!(db.has_table("after_index"));
    assert_eq!(p.run(&["status"]).code, 0);
}

fn resolve_and_reset(pg: &Server) {
    let db = pg.db();
    let p = Project::with_db(&db);
    // `side` is not among the schemas reset drops (`public`): the gate outlives a reset.
    p.migration(USERS, "CREATE TABLE users (id int);\n", None)
        .migration(
            INDEX,
            "-- migrate:no-transaction\nCREATE TABLE IF NOT EXISTS half (id int);\nINSERT INTO side.gate VALUES (1);\n",
            None,
        )
        .migration(NAME, "ALTER TABLE users ADD COLUMN name text;\n", None);
    assert_eq!(p.run(&["apply"]).code, 1);
    // Cleaned up by hand, then recorded as rolled back: pending again, not failed.
    db.client().batch_execute("DROP TABLE half").expect("drop");
    let run = p.run(&["resolve", "--rolled-back", &INDEX[..14]]);
    assert_eq!(run.code, 0, "{run:?}");
    let status = p.run(&["status", "--format", "json"]);
    assert_eq!(status.code, 4, "{status:?}");
    assert_eq!(status.json()["summary"]["pending"], 2);
    // Done by hand instead: marked applied without running anything.
    db.client()
        .batch_execute("CREATE SCHEMA side; CREATE TABLE side.gate (n int)")
        .expect("gate");
    let run = p.run(&["resolve", "--applied", &INDEX[..14]]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!db.has_table("half"), "resolve runs nothing");
    assert_eq!(p.run(&["apply"]).code, 0);
    assert_eq!(p.run(&["status"]).code, 0);

    // reset drops `public` and applies everything again (the server is local).
    db.client()
        .batch_execute("CREATE TABLE stray (id int)")
        .expect("stray");
    let run = p.run(&["reset"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!db.has_table("stray"));
    assert!(db.has_table("half") && db.has_table("users"));
    assert_eq!(db.count("SELECT count(*) FROM side.gate"), 1);
    assert_eq!(db.history().len(), 3, "a fresh history");
    assert_eq!(p.run(&["status"]).code, 0);
}

fn connection_errors_get_their_hint(pg: &Server) {
    use migrate_tests::matrix::{PASSWORD, PASSWORD_ROLE};
    let db = pg.db();
    let p = Project::new();
    p.migration(USERS, "SELECT 1;\n", Some("SELECT 1;\n"));
    let at = db
        .url
        .strip_prefix("postgres://postgres@")
        .and_then(|rest| rest.rsplit_once('/'))
        .map(|(host, _)| host.to_string())
        .expect("host:port");
    let cases = [
        (
            format!("postgres://{PASSWORD_ROLE}:hunter2@{at}/{}", db.name),
            format!(
                "error: cannot connect to {PASSWORD_ROLE}@{at}/{}: password authentication failed for user \"{PASSWORD_ROLE}\"",
                db.name
            ),
            "  help: check the user and password",
        ),
        (
            format!("postgres://{PASSWORD_ROLE}:{PASSWORD}@{at}/nope"),
            format!(
                "error: cannot connect to {PASSWORD_ROLE}@{at}/nope: database \"nope\" does not exist"
            ),
            "  help: check the database name (create it with `createdb`)",
        ),
    ];
    for (url, first, help) in cases {
        let run = p.run(&["--database-url", &url, "status"]);
        assert_eq!(run.code, 1, "{run:?}");
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert!(lines[0].starts_with(&first), "{}", run.stderr);
        assert_eq!(lines[1..], [help], "{}", run.stderr);
        assert!(!run.stderr.contains("hunter2") && !run.stderr.contains(PASSWORD));
    }
    let url = format!("postgres://{PASSWORD_ROLE}:{PASSWORD}@{at}/{}", db.name);
    let run = p.run(&["--database-url", &url, "status"]);
    assert_eq!(run.code, 4, "the right password gets in: {run:?}");
}

migrate_tests::each_major!(
    apply_status_and_down_in_both_transaction_modes,
    a_failure_points_at_file_line_column_and_a_rerun_finishes_the_job,
    resolve_and_reset,
    connection_errors_get_their_hint,
);
