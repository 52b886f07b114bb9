//! No password in any output: text or JSON, quiet or verbose, success or error, for passwords
//! holding every character that delimits a URL or a key=value string, and (property test) for
//! random printable passwords in both forms.

use migrate_runtime::devdb::ClusterOptions;
use migrate_tests::{PrivateCluster, Project, Run, TestDb};
use proptest::prelude::*;

/// Every character that means something in a URL or a key=value string.
const NASTY: &str = "p@ss/w?rd#:%20&x=y 'q\\z";
/// A password the driver reads correctly even unencoded in a URL (it ends the credentials at
/// the first `@`), which naive redaction splitting at `/` or `?` used to print.
const RAW: &str = "se/cr?et:x";

fn url_encoded(password: &str) -> String {
    percent_encoding::utf8_percent_encode(password, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn kv_quoted(password: &str) -> String {
    format!("'{}'", password.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A package of its own whose first migration creates `a` with `up`.
fn project_creating(up: &str) -> Project {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n",
    );
    p.migration("20261121090000_a", up, Some("DROP TABLE a;\n"));
    p
}

fn project() -> Project {
    project_creating("CREATE TABLE a (id int);\n")
}

fn assert_hidden(run: &Run, password: &str, what: &str) {
    assert!(
        !run.stdout.contains(password) && !run.stderr.contains(password),
        "{what} printed the password:\n{run:?}"
    );
}

/// A server of the test's own that checks passwords, with a user whose password holds every
/// delimiter.
fn password_cluster() -> (PrivateCluster, u16) {
    let cluster = PrivateCluster::start(
        ClusterOptions::default()
            .hba("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"),
    );
    let socket = cluster.running.socket_dir.clone().expect("socket");
    let mut admin = postgres::Config::new()
        .host_path(&socket)
        .port(cluster.port())
        .user("postgres")
        .dbname("postgres")
        .connect(postgres::NoTls)
        .expect("connect over the socket");
    admin
        .batch_execute(&format!(
            "CREATE USER app PASSWORD '{}' CREATEDB",
            NASTY.replace('\'', "''")
        ))
        .expect("create the user");
    admin
        .batch_execute(&format!("CREATE USER raw PASSWORD '{RAW}' IN ROLE app"))
        .expect("create the user");
    admin
        .batch_execute("CREATE DATABASE app OWNER app")
        .expect("create the database");
    let port = cluster.port();
    (cluster, port)
}

#[test]
fn a_password_with_every_delimiter_works_and_is_never_printed() {
    let (_cluster, port) = password_cluster();
    let url = format!("postgres://app:{}@127.0.0.1:{port}/app", url_encoded(NASTY));
    let kv = format!(
        "host=127.0.0.1 port={port} user=app password={} dbname=app",
        kv_quoted(NASTY)
    );
    let raw = format!("postgres://raw:{RAW}@127.0.0.1:{port}/app");
    for conn in [&url, &kv, &raw] {
        let password = if conn == &raw { RAW } else { NASTY };
        let user = if conn == &raw { "raw" } else { "app" };
        let redacted = format!("postgres://{user}:***@127.0.0.1:{port}/app");
        let p = project();
        let runs = [
            ("status", p.run(&["--database-url", conn, "status"]), 4),
            (
                "status -v json",
                p.run(&["--database-url", conn, "-v", "status", "--format", "json"]),
                4,
            ),
            (
                "apply -v",
                p.run(&["--database-url", conn, "-v", "apply"]),
                0,
            ),
            (
                "apply json",
                p.run(&["--database-url", conn, "apply", "--format", "json"]),
                0,
            ),
            (
                "down json",
                p.run(&["--database-url", conn, "down", "--format", "json"]),
                0,
            ),
        ];
        for (what, run, code) in &runs {
            assert_eq!(run.code, *code, "{what}: {run:?}");
            assert_hidden(run, password, what);
        }
        assert_eq!(runs[1].2, 4);
        assert_eq!(runs[1].1.json()["database"], redacted.as_str());
        assert_eq!(runs[3].1.json()["database"], redacted.as_str());
        assert!(
            runs[2].1.stderr.contains(&format!(
                "Connected to {user}@127.0.0.1:{port}/app: PostgreSQL "
            )),
            "{}",
            runs[2].1.stderr
        );
    }
    // A wrong password: one line naming user@host:port/db, never either password.
    let p = project();
    let wrong = format!(
        "postgres://app:{}@127.0.0.1:{port}/app",
        url_encoded("n@pe/x?y")
    );
    for args in [
        vec!["--database-url", wrong.as_str(), "status"],
        vec![
            "--database-url",
            wrong.as_str(),
            "-v",
            "apply",
            "--format",
            "json",
        ],
    ] {
        let run = p.run(&args);
        assert_eq!(run.code, 1, "{run:?}");
        assert_hidden(&run, "n@pe/x?y", "wrong password");
        assert_hidden(&run, "n%40pe", "wrong password (encoded)");
    }
}

#[test]
fn connection_strings_that_do_not_parse_are_not_shown_at_all() {
    let p = project();
    let cases = [
        (
            "postgres://app:hunter2@x@127.0.0.1:5432/app",
            "error: invalid database URL (from --database-url): the URL has more than one `@`",
        ),
        (
            "host=127.0.0.1 PASSWORD=hunter2 dbname=app",
            "error: invalid database URL (from --database-url): unknown option (did you mean `password`?)",
        ),
        (
            "host=127.0.0.1 Password=hunter2 dbname=app",
            "error: invalid database URL (from --database-url): unknown option (did you mean `password`?)",
        ),
        (
            "postgres://app:hunter2@127.0.0.1:54x32/app",
            "error: invalid database URL (from --database-url): invalid value for `port`",
        ),
    ];
    for (conn, first) in cases {
        for format in ["text", "json"] {
            let run = p.run(&["--database-url", conn, "status", "--format", format]);
            assert_eq!(run.code, 1, "{conn}: {run:?}");
            assert_hidden(&run, "hunter2", conn);
            let shown = if format == "json" {
                format!(
                    "error: {}",
                    run.json()["error"].as_str().unwrap_or_default()
                )
            } else {
                run.stderr.lines().next().unwrap_or_default().to_string()
            };
            assert!(shown.starts_with(first), "{conn}: {shown}");
        }
    }
    // An upper-case scheme is a URL like any other.
    let db = TestDb::new();
    let upper = migrate_tests::with_dbname(&db.url, &db.name).replacen(
        "postgres://postgres@",
        "POSTGRES://postgres:hunter2@",
        1,
    );
    let run = p.run(&["--database-url", &upper, "status", "--format", "json"]);
    assert_eq!(run.code, 4, "{run:?}");
    assert_hidden(&run, "hunter2", "upper-case scheme");
}

/// The local server trusts loopback, so any password connects: the success paths.
fn trusted(db: &TestDb, password: &str, url_form: bool) -> String {
    if url_form {
        format!(
            "postgres://postgres:{}@127.0.0.1:5432/{}",
            url_encoded(password),
            db.name
        )
    } else {
        format!(
            "host=127.0.0.1 port=5432 user=postgres password={} dbname={}",
            kv_quoted(password),
            db.name
        )
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn random_passwords_never_reach_any_output(
        password in "[!-~][ -~\u{e9}\u{20ac}]{5,20}",
        url_form in proptest::bool::ANY,
    ) {
        prop_assume!(!"postgres://postgres@127.0.0.1:5432/ cm_test_ 20261121090000_a".contains(password.as_str()));
        let db = TestDb::new();
        let conn = trusted(&db, &password, url_form);
        let missing = conn.replace(&db.name, "no_such_db_here");
        let p = project();
        p.file("migrations/20261121090100_b/migration.sql", "SELECT * FROM nope;\n");
        p.file("migrations/20261121090100_b/down.sql", "SELECT 1;\n");
        let runs = [
            p.run(&["--database-url", &conn, "-v", "status"]),
            p.run(&["--database-url", &conn, "status", "--format", "json"]),
            p.run(&["--database-url", &conn, "-v", "apply"]),
            p.run(&["--database-url", &conn, "apply", "--format", "json"]),
            p.run(&["--database-url", &missing, "status"]),
            p.run(&["--database-url", &missing, "-v", "apply", "--format", "json"]),
        ];
        let codes: Vec<i32> = runs.iter().map(|r| r.code).collect();
        prop_assert_eq!(codes, vec![4, 4, 1, 1, 1, 1], "{:?}", runs);
        for run in &runs {
            prop_assert!(!run.stdout.contains(password.as_str()) && !run.stderr.contains(password.as_str()), "{:?}", run);
        }
    }
}

/// The commands that came after the first redaction tests: a backfill's progress and dry run,
/// the shadow database of `verify`, `diff`, `check` and `status --drift`, seeds and a fleet,
/// with the password in the database URL and in the shadow URL.
#[test]
fn newer_commands_never_print_the_password_either() {
    let (_cluster, port) = password_cluster();
    let url = format!("postgres://app:{}@127.0.0.1:{port}/app", url_encoded(NASTY));
    let p = project_creating(
        "CREATE TABLE a (id int PRIMARY KEY);\nINSERT INTO a VALUES (1), (2), (3), (4), (5);\n",
    );
    p.migration(
        "20261121090100_fill",
        "-- migrate:backfill table=a key=id batch=2\nUPDATE a SET id = id WHERE id BETWEEN :batch_start AND :batch_end;\n",
        Some("SELECT 1;\n"),
    );
    p.file(
        "seeds/a.sql",
        "INSERT INTO a VALUES (6) ON CONFLICT DO NOTHING;\n",
    );
    p.file("fleet.txt", format!("# one database\n{url}\n"));
    let runs = [
        (
            "apply --dry-run",
            p.run(&[
                "--database-url",
                &url,
                "apply",
                "--dry-run",
                "--to",
                "20261121090000",
            ]),
            0,
        ),
        (
            "apply first",
            p.run(&["--database-url", &url, "apply", "--to", "20261121090000"]),
            0,
        ),
        (
            "backfill dry run",
            p.run(&[
                "--database-url",
                &url,
                "apply",
                "--dry-run",
                "--format",
                "json",
            ]),
            0,
        ),
        (
            "backfill json",
            p.run(&["--database-url", &url, "-v", "apply", "--format", "json"]),
            0,
        ),
        ("seed", p.run(&["--database-url", &url, "-v", "seed"]), 0),
        (
            "status -v",
            p.run(&["--database-url", &url, "-v", "status"]),
            0,
        ),
        (
            "verify",
            p.run(&[
                "--database-url",
                &url,
                "-v",
                "verify",
                "--all",
                "--shadow-url",
                &url,
            ]),
            0,
        ),
        (
            "verify json",
            p.run(&[
                "--database-url",
                &url,
                "verify",
                "--all",
                "--format",
                "json",
                "--shadow-url",
                &url,
            ]),
            0,
        ),
        (
            "diff",
            p.run(&["--database-url", &url, "-v", "diff", "--shadow-url", &url]),
            0,
        ),
        (
            "status --drift json",
            p.run(&[
                "--database-url",
                &url,
                "status",
                "--drift",
                "--format",
                "json",
                "--shadow-url",
                &url,
            ]),
            0,
        ),
        (
            "check github",
            p.run(&[
                "--database-url",
                &url,
                "check",
                "--format",
                "github",
                "--shadow-url",
                &url,
            ]),
            0,
        ),
        (
            "fleet status",
            p.run(&["status", "--fleet", "fleet.txt"]),
            0,
        ),
        (
            "fleet status json",
            p.run(&["-v", "status", "--fleet", "fleet.txt", "--format", "json"]),
            0,
        ),
    ];
    for (what, run, code) in &runs {
        assert_hidden(run, NASTY, what);
        assert_hidden(run, &url_encoded(NASTY), what);
        assert_eq!(run.code, *code, "{what}: {run:?}");
    }
    let verified = runs[7].1.json();
    assert!(
        runs[4].1.stderr.contains("backfill"),
        "{}",
        runs[4].1.stderr
    );
    assert_eq!(
        verified["shadow"],
        format!("app@127.0.0.1:{port}/app"),
        "{verified}"
    );
}
