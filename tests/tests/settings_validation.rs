//! Bad settings are refused before anything connects (never blamed on a migration, never a
//! panic); a history table that is not one is refused; connecting never hangs.

use migrate_tests::{Project, Run, TestDb};
use std::io::Read;
use std::net::TcpListener;

fn project(db: &TestDb) -> Project {
    let p = Project::with_db(db);
    p.migration(
        "20261121090000_a",
        "CREATE TABLE a (id int);\n",
        Some("DROP TABLE a;\n"),
    );
    p
}

fn first_line(run: &Run) -> &str {
    run.stderr.lines().next().unwrap_or_default()
}

#[test]
fn bad_durations_are_refused_before_anything_runs() {
    let db = TestDb::new();
    let p = project(&db);
    for (args, expected) in [
        (
            vec!["apply", "--lock-timeout", "600h"],
            "error: invalid --lock-timeout: 600h is longer than PostgreSQL's limit for \
             lock_timeout (2147483647ms, about 24.8 days)",
        ),
        (
            vec!["apply", "--lock-timeout", "99999999999999999999s"],
            "error: invalid --lock-timeout: `99999999999999999999s` is not a duration: it is too \
             large (examples: 500ms, 5s, 1.5s, 2m, 1h, 0)",
        ),
        (
            vec!["apply", "--lock-timeout", "5"],
            "error: invalid --lock-timeout: `5` is not a duration: it has no unit (examples: \
             500ms, 5s, 1.5s, 2m, 1h, 0)",
        ),
        (
            vec!["apply", "--statement-timeout", "600h"],
            "error: invalid --statement-timeout: 600h is longer than PostgreSQL's limit for \
             statement_timeout (2147483647ms, about 24.8 days)",
        ),
        (
            vec!["apply", "--statement-timeout", "500us"],
            "error: invalid --statement-timeout: `500us` is not a duration: unknown unit (use ms, \
             s, m or h) (examples: 500ms, 5s, 1.5s, 2m, 1h, 0)",
        ),
        (
            vec!["apply", "--lock-wait", "30d"],
            "error: invalid --lock-wait: `30d` is not a duration: unknown unit (use ms, s, m or h) \
             (examples: 500ms, 5s, 1.5s, 2m, 1h, 0)",
        ),
        (
            vec!["status", "--lock-retry-budget", "200h"],
            "error: invalid --lock-retry-budget: --lock-retry-budget 200h is longer than a week; \
             that is surely a typo",
        ),
        (
            vec!["status", "--connect-timeout", "0"],
            "error: invalid --connect-timeout: it must be more than 0",
        ),
    ] {
        let run = p.run(&args);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert_eq!(first_line(&run), expected, "{args:?}");
        assert!(
            run.stderr.ends_with("note: nothing was changed\n"),
            "{run:?}"
        );
    }
    assert!(
        !db.has_table("_migrate_history"),
        "nothing touched the database"
    );
    // The same from Cargo.toml names the setting.
    p.file(
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [package.metadata.migrate]\nlock_timeout = \"600h\"\n\n[workspace]\n",
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1);
    assert!(
        first_line(&run).starts_with(
            "error: invalid `lock_timeout` in [package.metadata.migrate]: 600h is longer than"
        ),
        "{run:?}"
    );
    p.file(
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [package.metadata.migrate]\nstatement_timeout = \"soon\"\n\n[workspace]\n",
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1);
    assert!(
        first_line(&run).starts_with(
            "error: invalid `statement_timeout` in [package.metadata.migrate]: `soon` is not a duration"
        ),
        "{run:?}"
    );
}

#[test]
fn history_table_names_are_read_as_postgresql_reads_them() {
    let db = TestDb::new();
    let p = project(&db);
    for (name, why) in [
        (
            "x;drop",
            "only letters, digits, `_` and `$` may appear in an unquoted name",
        ),
        ("'hist'", "an unquoted name starts with a letter or `_`"),
        ("a.b.c", "expected `name` or `schema.name`, not more parts"),
        (
            &"h".repeat(64),
            "it is 64 bytes long; PostgreSQL names have at most 63",
        ),
    ] {
        let run = p.run(&["status", "--history-table", name]);
        assert_eq!(run.code, 1, "{name}: {run:?}");
        assert!(
            first_line(&run).starts_with(&format!(
                "error: invalid --history-table: `{name}` is not a valid name: {why}"
            )),
            "{name}: {}",
            run.stderr
        );
    }
    // Quoted parts keep their case and characters; unquoted ones fold to lower case.
    let run = p.run(&["apply", "--history-table", "\"Ops\".\"Migration History\""]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        db.count("SELECT count(*) FROM \"Ops\".\"Migration History\""),
        1
    );
    let run = p.run(&["status", "--history-table", "OPS.Other"]);
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stdout.contains("(history ops.other)"), "{}", run.stdout);
}

#[test]
fn a_history_table_that_is_not_one_is_refused_and_left_alone() {
    let db = TestDb::new();
    db.client()
        .batch_execute("CREATE TABLE orders (id int); INSERT INTO orders VALUES (1); CREATE VIEW v AS SELECT 1 AS x;")
        .unwrap();
    let p = project(&db);
    for cmd in ["status", "apply"] {
        let run = p.run(&[cmd, "--history-table", "orders"]);
        assert_eq!(run.code, 1, "{cmd}: {run:?}");
        assert!(
            first_line(&run).starts_with(
                "error: cannot use the history table public.orders: this table is not a \
                 cargo-migrate history (it has no column `version`, `name`,"
            ),
            "{cmd}: {}",
            run.stderr
        );
    }
    // The server was reached: `--verbose` says so before the error, as when it is read.
    let run = p.run(&["status", "--verbose", "--history-table", "orders"]);
    let lines: Vec<&str> = run.stderr.lines().collect();
    let connected = lines.iter().position(|l| l.starts_with("Connected to "));
    let error = lines.iter().position(|l| l.starts_with("error: "));
    assert!(
        matches!((connected, error), (Some(c), Some(e)) if c < e),
        "{}",
        run.stderr
    );
    let run = p.run(&["status", "--history-table", "v"]);
    assert_eq!(run.code, 1);
    assert!(
        first_line(&run).starts_with(
            "error: cannot use the history table public.v: it is not a table (relkind `v`)"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(db.count("SELECT count(*) FROM orders"), 1);
    assert!(!db.has_table("a"));
}

#[test]
fn rows_this_tool_did_not_write_are_errors_not_guesses() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration("20261121090000_a", "SELECT 1;\n", Some("SELECT 1;\n"));
    assert_eq!(p.run(&["apply"]).code, 0);
    for (change, message) in [
        (
            "UPDATE _migrate_history SET checksum = 'not a checksum'",
            "`checksum` is not a SHA-256 checksum",
        ),
        (
            "ALTER TABLE _migrate_history DROP CONSTRAINT IF EXISTS _migrate_history_state_check; \
             UPDATE _migrate_history SET state = 'weird'",
            "unknown state `weird`",
        ),
        (
            "UPDATE _migrate_history SET version = -5",
            "`-5` is not a migration version",
        ),
    ] {
        let mut client = db.client();
        client.batch_execute("BEGIN").unwrap();
        client.batch_execute(change).unwrap();
        // Another session sees the change only once committed: commit, check, put it back.
        client.batch_execute("COMMIT").unwrap();
        let run = p.run(&["status"]);
        assert_eq!(run.code, 1, "{change}: {run:?}");
        assert!(
            first_line(&run)
                .starts_with("error: cannot use the history table public._migrate_history: row ")
                && first_line(&run).ends_with(message),
            "{change}: {}",
            run.stderr
        );
        db.client()
            .batch_execute(
                "DELETE FROM _migrate_history; ALTER TABLE _migrate_history DROP CONSTRAINT IF EXISTS _migrate_history_state_check",
            )
            .unwrap();
        assert_eq!(p.run(&["apply"]).code, 0);
    }
}

/// A port on this machine that accepts every connection and never says a word.
fn silent_server() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("a port on loopback");
    let port = listener.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

/// All a child wrote on its standard error, read to its end.
fn stderr_of(child: &mut std::process::Child) -> String {
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("the child's stderr");
    stderr
}

#[test]
fn a_server_that_accepts_and_never_answers_is_a_timeout_not_a_hang() {
    let port = silent_server();
    let p = Project::new();
    p.migration("20261121090000_a", "SELECT 1;\n", Some("SELECT 1;\n"));
    for (url, args, secs) in [
        (
            format!("postgres://u:pw@127.0.0.1:{port}/db"),
            vec!["--connect-timeout", "1s"],
            "1",
        ),
        (
            format!("postgres://u:pw@127.0.0.1:{port}/db?connect_timeout=1"),
            vec![],
            "1",
        ),
    ] {
        let mut child = p.spawn(&[&["--database-url", &url, "status"], args.as_slice()].concat());
        // A hang would block here forever; the test harness's own timeout is the backstop.
        let stderr = stderr_of(&mut child);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert_eq!(
            stderr.lines().next(),
            Some(
                format!(
                    "error: cannot connect to u@127.0.0.1:{port}/db: no answer from the server within {secs} s"
                )
                .as_str()
            ),
            "{stderr}"
        );
        assert!(!stderr.contains("pw@"), "{stderr}");
    }
}

#[test]
fn status_reports_a_directory_it_cannot_read_without_waiting_for_a_silent_server() {
    let port = silent_server();
    let p = Project::new();
    p.migration("20261121090000_a", "SELECT 1;\n", Some("SELECT 1;\n"));
    std::fs::create_dir(p.path().join("migrations/20261121090001_b")).unwrap();
    let url = format!("postgres://u:pw@127.0.0.1:{port}/db");
    // The connection could take an hour to give up; the directory's error must not wait for
    // it. (Status connects while it reads the directory.)
    let mut child = p.spawn(&["--database-url", &url, "status", "--connect-timeout", "1h"]);
    let begun = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if begun.elapsed() > std::time::Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("status still waits for the silent server after 120 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let stderr = stderr_of(&mut child);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.lines().take(2).collect::<Vec<_>>(),
        [
            "error: the migrations directory has a problem",
            "  --> migrations/20261121090001_b/migration.sql: missing migration.sql"
        ],
        "{stderr}"
    );
}
