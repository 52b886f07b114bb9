//! `cargo migrate verify` through the CLI: the drafts by default, `--all`, versions, the
//! report in text and JSON with exit codes, progress events, the project's database left
//! untouched, the shadow database dropped, passwords never shown, and the errors when no
//! shadow database can be made.

use migrate_tests::{Project, TestDb, admin_url, with_dbname};

const USERS_UP: &str = "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n";
const USERS_DOWN: &str = "DROP TABLE users;\n";

/// A project on `db` with one sealed migration and one draft whose down.sql forgets an index.
fn project(db: &TestDb) -> Project {
    let p = Project::with_db(db);
    p.migration("20260101000000_create_users", USERS_UP, Some(USERS_DOWN));
    let seal = p.run(&["seal"]);
    assert_eq!(seal.code, 0, "{seal:?}");
    p.migration(
        "20260101000100_index_email",
        "CREATE INDEX users_email ON users (email);\nALTER TABLE users ADD COLUMN name text;\n",
        Some("ALTER TABLE users DROP COLUMN name;\n"),
    );
    p
}

/// Durations vary from run to run.
fn normalized(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = match (line.rfind('('), line.strip_suffix(", dropped afterwards)")) {
            (Some(i), Some(_)) => format!("{}(<time>, dropped afterwards)", &line[..i]),
            (Some(i), None) if line.ends_with(" ms)") || line.ends_with(" s)") => {
                format!("{}(<time>)", &line[..i])
            }
            _ => line.to_string(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn the_drafts_are_verified_by_default_and_a_forgotten_index_fails_with_exit_3() {
    let db = TestDb::new();
    let p = project(&db);
    let run = p.run(&["verify"]);
    assert_eq!(run.code, 3, "{run:?}");
    let label = format!("postgres@127.0.0.1:5432/{}", db.name);
    assert_eq!(
        normalized(&run.stdout),
        format!(
            "Verified 1 migration (the drafts) on a shadow database on {label} (<time>, dropped afterwards)\n\
             \x20 not_restored   20260101000100_index_email (<time>)\n\
             \x20   down.sql did not restore the schema: 1 object differs from before the migration (added: left by down.sql; removed: not restored by it)\n\
             \x20   index public.users_email on public.users: added\n\
             \x20     + CREATE INDEX users_email ON public.users USING btree (email);\n\
             1 not_restored\n"
        )
    );
    assert!(
        run.stderr
            .contains("Verifying 1 of 2 migrations on the shadow database postgres@127.0.0.1:5432/migrate_shadow_"),
        "{}",
        run.stderr
    );
    // Nothing was written to the project's database: no table, no history.
    assert!(!db.has_table("users"));
    assert!(!db.has_table("_migrate_history"));
    // Fixing down.sql makes it pass.
    p.file(
        "migrations/20260101000100_index_email/down.sql",
        "ALTER TABLE users DROP COLUMN name;\nDROP INDEX users_email;\n",
    );
    let run = p.run(&["verify"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        normalized(&run.stdout)
            .ends_with("  ok             20260101000100_index_email (<time>)\n1 ok\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_json_report_has_every_field_and_progress_comes_as_json_events() {
    let db = TestDb::new();
    let p = project(&db);
    let run = p.run(&["verify", "--all", "--format", "json"]);
    assert_eq!(run.code, 3, "{run:?}");
    let json = run.json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["exit_code"], 3);
    assert_eq!(json["selection"], "all");
    assert_eq!(
        json["shadow"],
        format!("postgres@127.0.0.1:5432/{}", db.name)
    );
    assert_eq!(
        json["summary"],
        serde_json::json!({"ok": 1, "not_restored": 1})
    );
    let m = &json["migrations"];
    assert_eq!(m[0]["verdict"], "ok");
    assert_eq!(m[0]["diff"], serde_json::Value::Null);
    assert_eq!(m[1]["version"], "20260101000100");
    assert_eq!(m[1]["name"], "index_email");
    assert_eq!(m[1]["verdict"], "not_restored");
    assert_eq!(
        m[1]["diff"],
        serde_json::json!([{
            "kind": "index",
            "name": "public.users_email",
            "table": "public.users",
            "change": "added",
            "text": "CREATE INDEX users_email ON public.users USING btree (email);"
        }])
    );
    assert!(json["duration_ms"].as_f64().unwrap() > 0.0);
    let events: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "verify_started",
            "verifying",
            "verified",
            "verifying",
            "verified"
        ]
    );
    assert_eq!(events[0]["total"], 2);
    assert_eq!(events[3]["index"], 1);
    assert_eq!(events[4]["verdict"], "not_restored");
}

#[test]
fn a_failing_down_is_shown_at_its_file_line_and_column() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration("20260101000000_create_users", USERS_UP, Some(USERS_DOWN));
    p.migration(
        "20260101000100_add_age",
        "ALTER TABLE users ADD COLUMN age integer CHECK (age > 0);\n",
        Some("ALTER TABLE users DROP COLUMN age;\nSELECT age + 'x' FROM users;\n"),
    );
    let run = p.run(&["verify", "20260101000100"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        normalized(&run.stdout).contains(
            "  down_failed    20260101000100_add_age (<time>)\n\
             \x20   migrations/20260101000100_add_age/down.sql:2:8: down.sql failed: column \"age\" does not exist\n\
             \x20     |\n\
             \x20   2 | SELECT age + 'x' FROM users;\n\
             \x20     |        ^\n"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn nothing_to_verify_when_every_migration_is_sealed() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration("20260101000000_create_users", USERS_UP, Some(USERS_DOWN));
    assert_eq!(p.run(&["seal"]).code, 0);
    let run = p.run(&["verify"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "Nothing to verify: every migration is sealed (verify sealed ones with --all, or name their versions)\n"
    );
    let run = p.run(&["verify", "--all"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.ends_with("1 ok\n"), "{}", run.stdout);
}

#[test]
fn an_unknown_version_is_refused() {
    let db = TestDb::new();
    let p = project(&db);
    let run = p.run(&["verify", "20990101000000"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: no migration 20990101000000 in migrations\n\
         \x20 help: `cargo migrate status` lists the migrations\n"
    );
}

#[test]
fn the_shadow_database_is_dropped_when_verify_ends() {
    let db = TestDb::new();
    let p = project(&db);
    let child = p.spawn(&["verify"]);
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let left = db.count(&format!(
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'migrate\\_shadow\\_%\\_{pid}\\_%'"
    ));
    assert_eq!(left, 0);
}

#[test]
fn a_password_in_the_shadow_url_is_never_shown() {
    let db = TestDb::new();
    let p = project(&db);
    let url = with_dbname(&admin_url(), "postgres").replace("postgres@", "postgres:s3cr%2Ft@");
    for format in ["text", "json"] {
        let run = p.run(&["verify", "--shadow-url", &url, "--format", format]);
        assert_eq!(run.code, 3, "{run:?}");
        assert!(
            !run.stdout.contains("s3cr") && !run.stderr.contains("s3cr"),
            "{run:?}"
        );
    }
    let unreachable = "postgres://postgres:s3cr%2Ft@127.0.0.1:1/postgres?connect_timeout=2";
    let run = p.run(&["verify", "--shadow-url", unreachable]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.starts_with(
            "error: cannot connect to postgres@127.0.0.1:1/postgres for a shadow database: "
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .ends_with("  note: nothing was written to the project's database\n")
    );
    assert!(!run.stderr.contains("s3cr"), "{}", run.stderr);
}

#[test]
fn a_role_that_cannot_create_databases_is_told_what_to_do() {
    let db = TestDb::new();
    let p = project(&db);
    let role = format!("{}_nocreatedb", db.name);
    db.client()
        .batch_execute(&format!("CREATE ROLE {role} LOGIN"))
        .unwrap();
    let url = with_dbname(&admin_url(), &db.name).replace("postgres@", &format!("{role}@"));
    let run = p.run(&["verify", "--shadow-url", &url]);
    db.client()
        .batch_execute(&format!("DROP ROLE {role}"))
        .unwrap();
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "error: cannot create a shadow database on {role}@127.0.0.1:5432/{}: permission denied to create database (SQLSTATE 42501)\n\
             \x20 help: the role needs CREATEDB (`ALTER ROLE ... CREATEDB`), or pass `--shadow-url` (or set `shadow_url` in [package.metadata.migrate]) to a server where it can create databases\n\
             \x20 note: nothing was written to the project's database\n",
            db.name
        )
    );
}

/// A run killed with `kill -9` cannot drop its shadow database: the next run that makes one on
/// that server drops it, says so, and leaves alone the ones still in use or too recent to tell.
/// On a private server, so no other test's run sweeps the ones made here.
#[test]
fn shadow_databases_left_by_killed_runs_are_dropped_by_the_next_run() {
    use migrate_runtime::devdb::ClusterOptions;
    use migrate_tests::PrivateCluster;
    let cluster = PrivateCluster::start(ClusterOptions::default());
    let server = format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port());
    let mut admin = postgres::Client::connect(&server, postgres::NoTls).expect("connect");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let killed = [
        format!("migrate_shadow_{}_4001_0", now - 3600),
        format!("migrate_shadow_{}_4002_3", now - 11 * 60),
    ];
    let in_use = format!("migrate_shadow_{}_4003_0", now - 3600);
    let recent = format!("migrate_shadow_{}_4004_0", now - 60);
    let not_ours = "migrate_shadow_app".to_string();
    for name in killed.iter().chain([&in_use, &recent, &not_ours]) {
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create");
    }
    let _session = postgres::Client::connect(&with_dbname(&server, &in_use), postgres::NoTls)
        .expect("connect to the one in use");

    let db = TestDb::new();
    let p = project(&db);
    let run = p.run(&["verify", "--shadow-url", &server, "--format", "json"]);
    assert_eq!(run.code, 3, "{run:?}");
    let swept: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "shadows_swept")
        .collect();
    assert_eq!(
        swept,
        vec![serde_json::json!({
            "event": "shadows_swept",
            "server": format!("postgres@127.0.0.1:{}/postgres", cluster.port()),
            "databases": killed,
        })],
        "{}",
        run.stderr
    );
    let mut left: Vec<String> = admin
        .query(
            "SELECT datname::text FROM pg_database WHERE datname LIKE 'migrate_shadow%' ORDER BY 1",
            &[],
        )
        .expect("list")
        .iter()
        .map(|r| r.get(0))
        .collect();
    left.sort();
    let mut expected = vec![in_use.clone(), recent.clone(), not_ours.clone()];
    expected.sort();
    assert_eq!(
        left, expected,
        "this run's own shadow database is dropped too"
    );

    // In text, one line says which were dropped.
    admin
        .batch_execute(&format!("CREATE DATABASE {}", killed[0]))
        .expect("create");
    let run = p.run(&["verify", "--shadow-url", &server]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "Dropped 1 shadow database on postgres@127.0.0.1:{}/postgres that runs killed \
             before they could drop them: {}\n",
            cluster.port(),
            killed[0]
        )),
        "{}",
        run.stderr
    );
}

/// A backfill changes rows, not the schema: on the shadow database its statement runs with
/// its batch bounds `NULL`, so it is checked against the schema (a wrong column fails at its
/// line and column) and changes nothing; `diff` replays it the same way.
#[test]
fn a_backfill_is_checked_against_the_schema_on_the_shadow_database() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(
        "20260101000000_create_users",
        "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, name text);\n",
        Some(USERS_DOWN),
    );
    p.migration(
        "20260101000100_fill_names",
        "-- migrate:backfill table=users key=id batch=100\n\
         UPDATE users SET name = split_part(email, '@', 1)\n\
         WHERE name IS NULL AND id BETWEEN :batch_start AND :batch_end;\n",
        Some("-- migrate:backfill table=users key=id\nUPDATE users SET name = NULL WHERE id BETWEEN :batch_start AND :batch_end;\n"),
    );
    let run = p.run(&["verify", "--all"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        normalized(&run.stdout).contains("  ok             20260101000100_fill_names (<time>)\n"),
        "{}",
        run.stdout
    );
    let applied = p.run(&["apply"]);
    assert_eq!(applied.code, 0, "{applied:?}");
    let drift = p.run(&["diff"]);
    assert_eq!(drift.code, 0, "{drift:?}");

    // A new draft whose backfill names a column that does not exist.
    p.migration(
        "20260101000200_fill_again",
        "-- migrate:backfill table=users key=id batch=100\n\
         UPDATE users SET name = split_part(mail, '@', 1)\n\
         WHERE name IS NULL AND id BETWEEN :batch_start AND :batch_end;\n",
        Some("SELECT 1;\n"),
    );
    let run = p.run(&["verify"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stdout.contains(
            "migrations/20260101000200_fill_again/migration.sql:2:36: column \"mail\" does not exist"
        ),
        "{}",
        run.stdout
    );
}
