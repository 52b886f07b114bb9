//! `cargo migrate status`: every state, the exit-code contract, the JSON shape.

use migrate_tests::{Project, TestDb};

const A: &str = "20261121090000_create_users";
const B: &str = "20261121090100_add_email";

#[test]
fn exit_codes_up_to_date_pending_problems_and_error() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(A, "CREATE TABLE users (id int);\n", None);
    let pending = p.run(&["status"]);
    assert_eq!(pending.code, 4, "{pending:?}");
    assert!(
        pending
            .stdout
            .contains(&format!("  pending      {A}  draft\n")),
        "{}",
        pending.stdout
    );
    assert_eq!(
        pending.stderr,
        "Pending migrations: run `cargo migrate apply`.\n"
    );
    assert_eq!(p.run(&["apply"]).code, 0);
    let ok = p.run(&["status"]);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert!(ok.stdout.ends_with("1 applied\n"), "{}", ok.stdout);
    p.migration(B, "ALTER TABLE nope ADD COLUMN x int;\n", None);
    assert_eq!(p.run(&["apply"]).code, 1);
    let failed = p.run(&["status"]);
    assert_eq!(failed.code, 3);
    assert!(
        failed.stdout.contains(&format!("  failed       {B}")),
        "{}",
        failed.stdout
    );
    assert!(
        failed
            .stdout
            .contains("42P01: relation \"nope\" does not exist"),
        "{}",
        failed.stdout
    );
    let no_server = p.run(&[
        "--database-url",
        "postgres://postgres@127.0.0.1:1/x",
        "status",
    ]);
    assert_eq!(no_server.code, 1);
    assert!(
        no_server
            .stderr
            .starts_with("error: cannot connect to postgres@127.0.0.1:1/x: "),
        "{}",
        no_server.stderr
    );
    assert!(
        no_server
            .stderr
            .contains("help: is the server running and reachable?"),
        "{}",
        no_server.stderr
    );
}

#[test]
fn json_has_a_state_per_migration_and_a_summary() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(
        A,
        "CREATE TABLE users (id int);\n",
        Some("DROP TABLE users;\n"),
    )
    .migration(
        B,
        "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY users_id ON users (id);\n",
        None,
    );
    assert_eq!(p.run(&["apply", "--to", &A[..14]]).code, 0);
    let run = p.run(&["status", "--format", "json"]);
    assert_eq!(run.code, 4);
    let json = run.json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["exit_code"], 4);
    assert_eq!(json["history_table"], "public._migrate_history");
    let m = &json["migrations"];
    assert_eq!(m[0]["version"], "20261121090000");
    assert_eq!(m[0]["name"], "create_users");
    assert_eq!(m[0]["state"], "applied");
    assert_eq!(m[0]["sealed"], true);
    assert!(m[0]["applied_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(m[1]["state"], "pending");
    assert_eq!(m[1]["sealed"], false);
    assert_eq!(m[1]["no_transaction"], true);
    assert_eq!(m[1]["applied_at"], serde_json::Value::Null);
    assert_eq!(json["summary"]["applied"], 1);
    assert_eq!(json["summary"]["pending"], 1);
    assert_eq!(json["summary"]["failed"], 0);
}

#[test]
fn lock_file_problems_show_in_status() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(A, "CREATE TABLE users (id int);\n", None);
    assert_eq!(p.run(&["apply"]).code, 0);
    p.migration(A, "CREATE TABLE users (id bigint);\n", None);
    let run = p.run(&["status"]);
    assert_eq!(run.code, 3);
    assert!(
        run.stdout.contains(&format!("  edited       {A}")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("lock-file    migrations/20261121090000_create_users/migration.sql: edited after it was sealed"), "{}", run.stdout);
}

#[test]
fn dotenv_provides_the_database_url() {
    // Through `.env` alone: the migration is listed as pending in that database, and the dev
    // database (the fallback when `.env` is ignored, with the same exit code) is never used.
    let db = TestDb::new();
    let p = Project::new();
    p.migration(
        A,
        "CREATE TABLE users (id int);\n",
        Some("DROP TABLE users;\n"),
    )
    .file(".env", format!("# local\nDATABASE_URL={}\n", db.url));
    let run = p.run(&["status", "--format", "json"]);
    assert_eq!(run.code, 4, "{run:?}");
    assert!(!run.stderr.contains("dev database"), "{}", run.stderr);
    assert_eq!(run.json()["migrations"][0]["state"], "pending");
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        db.has_table("users"),
        "applied to the database `.env` names"
    );
    assert!(!p.path().join("target/migrate-dev-db").exists());
}

#[test]
fn verbose_status_shows_an_edited_migrations_diff_against_the_file() {
    // status reads the directory without keeping the texts: the diff's new side is the file
    // read again.
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(A, "CREATE TABLE users (id int);\n", None);
    assert_eq!(p.run(&["apply"]).code, 0);
    p.migration(A, "CREATE TABLE users (id bigint);\n", None);
    let run = p.run(&["status", "--verbose"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stdout.contains(&format!("  edited       {A}")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "      -CREATE TABLE users (id int);\n      +CREATE TABLE users (id bigint);\n"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn a_directory_that_cannot_be_read_wins_over_a_database_that_cannot_be_reached() {
    // status reads the directory while it connects; when both fail it reports the directory,
    // as when it read the directory first, and prints nothing about the connection.
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(A, "CREATE TABLE users (id int);\n", None);
    std::fs::create_dir(p.path().join("migrations/not_a_migration")).expect("mkdir");
    let unreachable = "postgres://postgres@127.0.0.1:1/x";
    for args in [
        vec!["--database-url", unreachable, "status"],
        vec!["--database-url", unreachable, "status", "--verbose"],
        vec!["status", "--verbose"],
        vec!["status", "--format", "json"],
    ] {
        let run = p.run(&args);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        // Text on stderr, JSON on stdout.
        let shown = format!("{}{}", run.stdout, run.stderr);
        assert!(
            shown.contains("the migrations directory has a problem"),
            "{args:?}: {shown}"
        );
        assert!(
            shown.contains("migrations/not_a_migration"),
            "{args:?}: {shown}"
        );
        for connection in ["cannot connect", "Connected to", "Settings:", "127.0.0.1"] {
            assert!(!shown.contains(connection), "{args:?}: {shown}");
        }
    }
}

#[test]
fn a_directory_that_cannot_be_read_starts_no_dev_database() {
    let p = Project::new();
    p.migration(A, "CREATE TABLE users (id int);\n", None);
    std::fs::create_dir(p.path().join("migrations/not_a_migration")).expect("mkdir");
    let run = p.run(&["status"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with("error: the migrations directory has a problem\n"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("dev database"), "{}", run.stderr);
    assert!(!p.path().join("target/migrate-dev-db").exists());
}

#[test]
fn verbose_status_reports_the_settings_then_the_connection() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(A, "CREATE TABLE users (id int);\n", None);
    assert_eq!(p.run(&["apply"]).code, 0);
    let run = p.run(&["status", "--verbose"]);
    assert_eq!(run.code, 0, "{run:?}");
    let settings = run.stderr.find("Settings: history ").expect("settings");
    let connected = run.stderr.find("Connected to ").expect("connected");
    assert!(settings < connected, "{}", run.stderr);
    assert_eq!(
        run.stderr.matches("Connected to ").count(),
        1,
        "{}",
        run.stderr
    );
}

#[test]
fn verbose_status_reports_the_settings_before_a_connection_that_fails() {
    // The settings are reported by the thread that connects; a failed connection must not
    // take them with it.
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(A, "CREATE TABLE users (id int);\n", None);
    let run = p.run(&[
        "--database-url",
        "postgres://postgres@127.0.0.1:1/x",
        "status",
        "--verbose",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    let settings = run.stderr.find("Settings: history ").expect("settings");
    let failed = run.stderr.find("error: ").expect("error");
    assert!(settings < failed, "{}", run.stderr);
}
