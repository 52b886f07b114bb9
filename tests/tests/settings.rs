//! Where each setting comes from: the database from `--database-url`, else `DATABASE_URL`, else
//! `.env` (here or in a parent directory), else `[package.metadata.migrate] database_url`, else
//! the dev database; every other key of `[package.metadata.migrate]` is used and its flag
//! overrides it; `--manifest-path` from outside the package; `reset` of the configured schemas,
//! and forced on a host that is not local.

use migrate_runtime::devdb::ClusterOptions;
use migrate_tests::{PrivateCluster, Project, Run, TestDb};

const A: &str = "20261121090000_create_items";

/// The database named by a "cannot connect to user@host:port/<db>: database "<db>" does not
/// exist" error: which setting was used, without creating any of the databases.
fn database_tried(run: &Run) -> String {
    assert_eq!(run.code, 1, "{run:?}");
    let first = run.stderr.lines().next().unwrap_or_default();
    let rest = first
        .strip_prefix("error: cannot connect to ")
        .unwrap_or_else(|| panic!("{}", run.stderr));
    let (label, _) = rest
        .split_once(": ")
        .unwrap_or_else(|| panic!("{}", run.stderr));
    let (_, db) = label
        .rsplit_once('/')
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(
        first.ends_with(&format!(
            "database \"{db}\" does not exist (SQLSTATE 3D000)"
        )),
        "{first}"
    );
    db.to_string()
}

fn url(name: &str) -> String {
    migrate_tests::with_dbname(&migrate_tests::admin_url(), name)
}

fn manifest(metadata: &str) -> String {
    format!(
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [package.metadata.migrate]\n{metadata}\n\
         [package.metadata.migrate.lint]\nallow = [\"missing-down-migration\"]\n\n[workspace]\n"
    )
}

#[test]
fn the_database_is_the_flag_then_the_environment_then_dotenv_then_the_manifest_then_the_dev_database()
 {
    let mut p = Project::new();
    p.migration(A, "CREATE TABLE items (id int);\n", None);
    // Nothing configured: the dev database (here with no server programs, so it says so
    // instead of creating a cluster).
    let empty = tempfile::tempdir().expect("tempdir");
    let bindir = empty.path().display().to_string();
    p.env.push(("MIGRATE_PG_BINDIR".into(), bindir.clone()));
    let run = p.run(&["status"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with(&format!("error: MIGRATE_PG_BINDIR={bindir} does not hold ")),
        "{}",
        run.stderr
    );
    // Each source below wins over the ones after it; run from `src/`, a subdirectory.
    let sub = p.path().join("src");
    p.file(
        "Cargo.toml",
        manifest(&format!("database_url = \"{}\"\n", url("cm_from_manifest"))),
    );
    assert_eq!(
        database_tried(&p.run_in(&sub, &["status"])),
        "cm_from_manifest"
    );
    p.file(
        ".env",
        format!("DATABASE_URL={}\n", url("cm_from_parent_dotenv")),
    );
    assert_eq!(
        database_tried(&p.run_in(&sub, &["status"])),
        "cm_from_parent_dotenv"
    );
    p.file(
        "src/.env",
        format!(
            "# the nearest wins\nDATABASE_URL={}\n",
            url("cm_from_dotenv")
        ),
    );
    assert_eq!(
        database_tried(&p.run_in(&sub, &["status"])),
        "cm_from_dotenv"
    );
    p.env
        .push(("DATABASE_URL".into(), url("cm_from_environment")));
    assert_eq!(
        database_tried(&p.run_in(&sub, &["status"])),
        "cm_from_environment"
    );
    let flag = url("cm_from_flag");
    assert_eq!(
        database_tried(&p.run_in(&sub, &["--database-url", &flag, "status"])),
        "cm_from_flag"
    );
}

/// `-v`'s settings line (printed before connecting).
fn settings_line(run: &Run) -> &str {
    run.stderr
        .lines()
        .find(|l| l.starts_with("Settings: "))
        .unwrap_or_else(|| panic!("no settings line:\n{run:?}"))
}

#[test]
fn every_key_of_the_manifest_is_used_and_its_flag_overrides_it() {
    let db = TestDb::new();
    let p = Project::new();
    p.file(
        "Cargo.toml",
        manifest(&format!(
            "dir = \"db/migrations\"\nhistory_table = 'ops.\"Hist\"'\nlock_timeout = \"1s\"\n\
             statement_timeout = \"45s\"\n\
             lock_retry_budget = \"10s\"\nlock_retries = 3\nlock_wait = \"5s\"\n\
             connect_timeout = \"7s\"\ngroup_commit = false\nschemas = [\"app\", \"public\"]\n\
             database_url = \"{}\"\n",
            db.url
        )),
    );
    p.file(
        &format!("db/migrations/{A}/migration.sql"),
        "CREATE SCHEMA app;\nCREATE TABLE app.items (id int);\n",
    );
    p.file(
        &format!("db/migrations/{A}/down.sql"),
        "DROP SCHEMA app CASCADE;\n",
    );
    let run = p.run(&["-v", "status"]);
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(
        settings_line(&run),
        "Settings: history ops.\"Hist\", lock_timeout 1s, statement_timeout 45s (backfill batches), \
         lock retries 3 within 10s, lock wait 5s, \
         group commit off, schemas app, public"
    );
    let run = p.run(&[
        "-v",
        "status",
        "--history-table",
        "public.other",
        "--lock-timeout",
        "0",
        "--statement-timeout",
        "1.5s",
        "--lock-retry-budget",
        "1m",
        "--lock-retries",
        "9",
        "--lock-wait",
        "2s",
    ]);
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(
        settings_line(&run),
        "Settings: history public.other, lock_timeout 0, statement_timeout 1.5s (backfill batches), \
         lock retries 9 within 1m, lock wait 2s, \
         group commit off, schemas app, public"
    );
    // The history table of the manifest is where apply records.
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(db.count("SELECT count(*) FROM ops.\"Hist\""), 1);
    assert!(!db.has_table("_migrate_history"));

    // From outside the package, with --manifest-path: the same project, same settings.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let manifest = p.path().join("Cargo.toml").display().to_string();
    let run = p.run_in(
        elsewhere.path(),
        &["--manifest-path", &manifest, "status", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["history_table"], "ops.\"Hist\"");
    assert_eq!(json["migrations"][0]["state"], "applied");

    // reset drops the configured schemas and the history's, and nothing else.
    db.client()
        .batch_execute(
            "CREATE TABLE app.stray (id int); CREATE TABLE public.stray (id int);
             CREATE SCHEMA keep; CREATE TABLE keep.kept (id int);",
        )
        .expect("set up");
    let run = p.run(&["reset"]);
    assert_eq!(run.code, 0, "{run:?}");
    let exists = |name: &str| {
        db.count(&format!(
            "SELECT (to_regclass('{name}') IS NOT NULL)::int::bigint"
        ))
    };
    assert_eq!(
        [
            exists("app.stray"),
            exists("public.stray"),
            exists("keep.kept"),
            exists("app.items")
        ],
        [0, 0, 1, 1],
        "app.stray, public.stray, keep.kept, app.items"
    );
    assert_eq!(db.count("SELECT count(*) FROM ops.\"Hist\""), 1, "fresh");
}

/// The `synchronous_commit` each migration of a run committed with, as it recorded it.
fn commit_modes(db: &TestDb, args: &[&str]) -> Vec<(i32, String)> {
    let p = Project::with_db(db);
    db.client()
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS modes; DROP TABLE IF EXISTS _migrate_history;
             CREATE TABLE modes (n int, mode text);
             ALTER DATABASE {} SET synchronous_commit = off",
            db.name
        ))
        .expect("set up");
    for n in 1..=3 {
        p.migration(
            &format!("2026112109000{n}_m{n}"),
            &format!("INSERT INTO modes VALUES ({n}, current_setting('synchronous_commit'));\n"),
            None,
        );
    }
    let run = p.run(args);
    assert_eq!(run.code, 0, "{run:?}");
    db.client()
        .query("SELECT n, mode FROM modes ORDER BY n", &[])
        .expect("modes")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[test]
fn group_commit_ends_with_a_synchronous_commit_and_the_flag_turns_it_off() {
    // The database's default is off here, so every `on` is the engine's.
    let db = TestDb::new();
    let mode = |n: i32, m: &str| (n, m.to_string());
    assert_eq!(
        commit_modes(&db, &["apply"]),
        [mode(1, "off"), mode(2, "off"), mode(3, "on")],
        "group commit: only the last commit waits for the WAL flush"
    );
    assert_eq!(
        commit_modes(&db, &["apply", "--no-group-commit"]),
        [mode(1, "on"), mode(2, "on"), mode(3, "on")]
    );
    let p = Project::with_db(&db);
    p.migration(A, "SELECT 1;\n", None);
    let on = p.run(&["-v", "status"]);
    assert!(settings_line(&on).contains(", group commit on, "), "{on:?}");
    let off = p.run(&["-v", "status", "--no-group-commit"]);
    assert!(
        settings_line(&off).contains(", group commit off, "),
        "{off:?}"
    );
}

/// This machine's address on its default route (not a loopback address).
fn outward_address() -> std::net::IpAddr {
    let socket = std::net::UdpSocket::bind(("0.0.0.0", 0)).expect("a UDP socket");
    // Connecting a UDP socket sends nothing; it only picks the route and so the source address.
    socket
        .connect(("198.51.100.1", 9))
        .expect("this test needs a network interface besides loopback (a default route)");
    socket.local_addr().expect("local address").ip()
}

#[test]
fn reset_of_a_host_that_is_not_local_runs_when_forced_and_confirmed() {
    // A server of the test's own that also listens on this machine's outward address: reached
    // there, it is "not on this machine" as far as reset can tell.
    let address = outward_address();
    let cluster = PrivateCluster::start(
        ClusterOptions::default()
            .setting("listen_addresses", &format!("127.0.0.1,{address}"))
            .hba("local all all trust\nhost all all 0.0.0.0/0 trust\n"),
    );
    let conn = format!("postgres://postgres@{address}:{}/postgres", cluster.port());
    let p = Project::new();
    p.file("Cargo.toml", manifest(""));
    p.migration(A, "CREATE TABLE items (id int);\n", None);
    assert_eq!(p.run(&["--database-url", &conn, "apply"]).code, 0);
    let mut client = postgres::Client::connect(&conn, postgres::NoTls).expect("connect");
    client
        .batch_execute("CREATE TABLE stray (id int); INSERT INTO items VALUES (1);")
        .expect("set up");
    let refused = p.run(&["--database-url", &conn, "reset"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.starts_with(&format!(
            "error: refusing to reset postgres@{address}:{}/postgres: it connects to {address}, \
             which is not on this machine",
            cluster.port()
        )),
        "{}",
        refused.stderr
    );
    let count = |client: &mut postgres::Client, sql: &str| -> i64 {
        client.query_one(sql, &[]).expect("query").get(0)
    };
    assert_eq!(
        count(&mut client, "SELECT count(*) FROM stray"),
        0,
        "refused: nothing changed"
    );
    let run = p.run(&[
        "--database-url",
        &conn,
        "reset",
        "--force",
        "--confirm",
        "postgres",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let mut client = postgres::Client::connect(&conn, postgres::NoTls).expect("connect");
    assert_eq!(
        count(
            &mut client,
            "SELECT (to_regclass('public.stray') IS NULL)::int::bigint"
        ),
        1,
        "the stray table is gone"
    );
    assert_eq!(count(&mut client, "SELECT count(*) FROM items"), 0);
    assert_eq!(
        count(&mut client, "SELECT count(*) FROM _migrate_history"),
        1,
        "a fresh history"
    );
}
