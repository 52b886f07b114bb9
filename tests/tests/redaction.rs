//! No password in any message, error or JSON report.

use migrate_tests::{Project, TestDb};

const PASSWORD: &str = "hunter2-s3cret";

fn url_with_password(db: &TestDb, dbname: &str) -> String {
    // The local server trusts loopback connections, so any password is accepted.
    let url = migrate_tests::with_dbname(&db.url, dbname);
    url.replacen("postgres@", &format!("postgres:{PASSWORD}@"), 1)
}

#[test]
fn passwords_never_appear_in_output() {
    let db = TestDb::new();
    let p = Project::new();
    p.migration(
        "20261121090000_a",
        "SELECT * FROM nope;\n",
        Some("SELECT 1;\n"),
    );
    let good = url_with_password(&db, &db.name);
    assert!(good.contains(PASSWORD), "{good}");
    let bad_db = url_with_password(&db, "no_such_database_here");
    let key_value =
        format!("host=127.0.0.1 user=postgres password={PASSWORD} dbname=no_such_database_here");
    let runs = [
        p.run(&["--database-url", &good, "apply"]),
        p.run(&["--database-url", &good, "apply", "--format", "json"]),
        p.run(&["--database-url", &good, "status", "--format", "json"]),
        p.run(&["--database-url", &bad_db, "status"]),
        p.run(&["--database-url", &bad_db, "apply", "--format", "json"]),
        p.run(&["--database-url", &key_value, "status"]),
        p.run(&[
            "--database-url",
            "postgres://u:hunter2-s3cret@127.0.0.1:1/x?sslmode=bogus",
            "status",
        ]),
    ];
    for run in &runs {
        assert!(run.code != 0);
        assert!(
            !run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD),
            "{run:?}"
        );
    }
    assert!(
        runs[1].stdout.contains("postgres:***@"),
        "{}",
        runs[1].stdout
    );
    assert!(
        runs[3]
            .stderr
            .contains("database \"no_such_database_here\" does not exist"),
        "{}",
        runs[3].stderr
    );
    assert!(
        runs[3].stderr.contains("help: check the database name"),
        "{}",
        runs[3].stderr
    );
}
