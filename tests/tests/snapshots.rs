//! What every command prints, text and JSON, success and error, pinned as snapshots
//! (`tests/snapshots/`): the output is part of the interface, so a change to it shows up here
//! as a diff to review (`cargo insta review`, or `INSTA_UPDATE=always` to accept). Values that
//! differ between runs (database names, durations, times, pids, paths) are normalised.

use migrate_tests::{Project, Run, TestDb, admin_url, with_dbname};

/// One run as a snapshot: the exit code, then stdout and stderr.
fn shown(run: &Run) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        run.code, run.stdout, run.stderr
    )
}

/// Snapshots `runs` (named) with run-specific values normalised.
fn snapshot(name: &str, p: &Project, runs: &[(&str, Run)]) {
    snapshot_with(name, p, runs, &[]);
}

/// [`snapshot`] with more filters (regex, replacement) for what else varies in these runs.
fn snapshot_with(name: &str, p: &Project, runs: &[(&str, Run)], filters: &[(&str, &str)]) {
    let mut text = String::new();
    for (what, run) in runs {
        text.push_str(&format!("=== {what}\n{}\n", shown(run)));
    }
    let project = p.path().display().to_string();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.add_filter(&regex_escape(&project), "[project]");
    settings.add_filter(r"cm_test_[0-9]+_[0-9]+_[0-9]+", "[db]");
    settings.add_filter(r"[0-9]+(\.[0-9]+)? ms\b", "[ms]");
    settings.add_filter(
        r#""(duration_ms|execution_ms|elapsed_ms|eta_ms)": ?[0-9.e+-]+"#,
        r#""$1": "[ms]""#,
    );
    settings.add_filter(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?( UTC|Z|[+-][0-9]{2}:[0-9]{2})?",
        "[time]",
    );
    settings.add_filter(r"pid [0-9]+", "pid [pid]");
    settings.add_filter(r#""pid": ?[0-9]+"#, r#""pid": "[pid]""#);
    for (regex, replacement) in filters {
        settings.add_filter(regex, *replacement);
    }
    settings.bind(|| insta::assert_snapshot!(name, text));
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

const USERS: &str = "20261121090000_create_users";
const EMAIL: &str = "20261121090100_add_email";
const BROKEN: &str = "20261121090200_broken";

fn two(db: &TestDb) -> Project {
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

#[test]
fn apply_and_status() {
    let db = TestDb::new();
    let p = two(&db);
    let runs = vec![
        ("status before (text)", p.run(&["status"])),
        ("apply --dry-run (text)", p.run(&["apply", "--dry-run"])),
        (
            "apply --dry-run (json)",
            p.run(&["apply", "--dry-run", "--format", "json"]),
        ),
        ("apply --to (text)", p.run(&["apply", "--to", &USERS[..14]])),
        ("apply (json)", p.run(&["apply", "--format", "json"])),
        ("apply again (text)", p.run(&["apply"])),
    ];
    p.migration(
        BROKEN,
        "CREATE TABLE audit (id int);\nINSERT INTO nowhere VALUES (1);\n",
        Some("DROP TABLE audit;\n"),
    );
    let mut runs = runs;
    runs.push(("apply failing (text)", p.run(&["apply"])));
    runs.push((
        "apply failing again (json)",
        p.run(&["apply", "--format", "json"]),
    ));
    runs.push(("status with a failure (text)", p.run(&["status"])));
    runs.push((
        "status with a failure (json)",
        p.run(&["status", "--format", "json"]),
    ));
    snapshot("apply_and_status", &p, &runs);
}

#[test]
fn refusals() {
    let db = TestDb::new();
    let p = two(&db);
    assert_eq!(p.run(&["apply"]).code, 0);
    p.migration(
        USERS,
        "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n",
        Some("DROP TABLE users;\n"),
    );
    let mut runs = vec![
        ("edited sealed migration (text)", p.run(&["apply"])),
        (
            "edited sealed migration (json)",
            p.run(&["apply", "--format", "json"]),
        ),
        ("seal --check (text)", p.run(&["seal", "--check"])),
        (
            "seal --check (json)",
            p.run(&["seal", "--check", "--format", "json"]),
        ),
    ];
    assert_eq!(p.run(&["seal", "--force", &USERS[..14]]).code, 0);
    runs.push(("edited applied migration (text)", p.run(&["apply"])));
    runs.push((
        "edited applied migration (json)",
        p.run(&["apply", "--format", "json"]),
    ));
    p.migration(
        BROKEN,
        "CREATE INDEX CONCURRENTLY i ON users (id);\n",
        Some("DROP INDEX i;\n"),
    );
    runs.push((
        "lint gate (json)",
        p.run(&["apply", "--format", "json", "--to", BROKEN]),
    ));
    snapshot("refusals", &p, &runs);
}

#[test]
fn down_resolve_reset() {
    let db = TestDb::new();
    let p = two(&db);
    assert_eq!(p.run(&["apply"]).code, 0);
    let mut runs = vec![
        ("down --dry-run (text)", p.run(&["down", "--dry-run"])),
        (
            "down --dry-run (json)",
            p.run(&["down", "--dry-run", "--format", "json"]),
        ),
        ("down (text)", p.run(&["down"])),
        ("down (json)", p.run(&["down", "--format", "json"])),
        (
            "resolve --applied (json)",
            p.run(&["resolve", "--applied", &USERS[..14], "--format", "json"]),
        ),
        (
            "resolve --applied-through (text)",
            p.run(&["resolve", "--applied-through", &EMAIL[..14]]),
        ),
        (
            "resolve --rolled-back of an applied one (text)",
            p.run(&["resolve", "--rolled-back", &EMAIL[..14]]),
        ),
    ];
    db.client()
        .batch_execute("DROP TABLE IF EXISTS users; DROP TABLE _migrate_history")
        .expect("clean");
    runs.push(("reset (json)", p.run(&["reset", "--format", "json"])));
    runs.push((
        "reset of a remote host (text)",
        p.run(&[
            "--database-url",
            "postgres://app:pw@db.example.invalid/shop",
            "reset",
        ]),
    ));
    snapshot("down_resolve_reset", &p, &runs);
}

#[test]
fn new_seal_lint() {
    let p = Project::new();
    p.migration(
        USERS,
        "CREATE TABLE users (id bigint PRIMARY KEY);\n",
        Some("DROP TABLE users;\n"),
    );
    p.migration(
        EMAIL,
        "ALTER TABLE users DROP COLUMN email;\n",
        Some("ALTER TABLE users ADD COLUMN email text;\n"),
    );
    let runs = vec![
        ("lint (text)", p.run(&["lint"])),
        ("lint (json)", p.run(&["lint", "--format", "json"])),
        ("lint (github)", p.run(&["lint", "--format", "github"])),
        ("seal (text)", p.run(&["seal"])),
        ("seal again (json)", p.run(&["seal", "--format", "json"])),
        ("new with a bad name (text)", p.run(&["new", "Add Users"])),
        (
            "new with a bad name (json)",
            p.run(&["new", "Add Users", "--format", "json"]),
        ),
    ];
    snapshot("new_seal_lint", &p, &runs);
}

#[test]
fn input_errors() {
    let p = Project::new();
    p.file("migrations/not_a_migration/migration.sql", "SELECT 1;\n");
    p.file(
        "migrations/20261121090000_a/migration.sql",
        "-- migrate:notransaction\nSELECT 1;\n",
    );
    let mut runs = vec![
        ("reading errors (text)", p.run(&["seal"])),
        (
            "reading errors (json)",
            p.run(&["seal", "--format", "json"]),
        ),
    ];
    let q = Project::new();
    q.migration(USERS, "SELECT 1;\n", Some("SELECT 1;\n"));
    runs.push((
        "invalid URL (json)",
        q.run(&[
            "--database-url",
            "postgres://u:pa@ss@127.0.0.1/db",
            "status",
            "--format",
            "json",
        ]),
    ));
    runs.push((
        "invalid setting (text)",
        q.run(&[
            "--database-url",
            "postgres://u@127.0.0.1:1/db",
            "apply",
            "--lock-timeout",
            "forever",
        ]),
    ));
    runs.push((
        "no server (text)",
        q.run(&["--database-url", "postgres://u@127.0.0.1:1/db", "status"]),
    ));
    snapshot("input_errors", &p, &runs);
}

#[test]
fn no_transaction_down_and_resolving_a_failure() {
    const INDEX: &str = "20261121090300_index_users";
    const FAILING: &str = "20261121090400_failing";
    let db = TestDb::new();
    let p = Project::with_db(&db);
    let index = "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS users_id ON users (id);\n";
    p.migration(
        USERS,
        "CREATE TABLE users (id bigint PRIMARY KEY);\n",
        Some("DROP TABLE users;\n"),
    )
    .migration(
        INDEX,
        index,
        Some("DROP INDEX CONCURRENTLY IF EXISTS users_id;\nSELECT 1;\n"),
    );
    assert_eq!(p.run(&["apply"]).code, 0);
    let mut runs = vec![(
        "down of a no-transaction down.sql (json)",
        p.run(&["down", "--format", "json"]),
    )];
    assert_eq!(p.run(&["apply"]).code, 0);
    p.migration(
        FAILING,
        "INSERT INTO nowhere VALUES (1);\n",
        Some("SELECT 1;\n"),
    );
    runs.push((
        "apply failing (json)",
        p.run(&["apply", "--format", "json"]),
    ));
    runs.push((
        "resolve --applied of the failed one (json)",
        p.run(&["resolve", "--applied", &FAILING[..14], "--format", "json"]),
    ));
    p.migration(
        INDEX,
        index,
        Some("DROP INDEX CONCURRENTLY IF EXISTS users_id;\nSELECT * FROM nowhere;\n"),
    );
    assert_eq!(p.run(&["seal", "--force", INDEX]).code, 0);
    runs.push((
        "down --to failing part-way through a no-transaction down.sql (json)",
        p.run(&["down", "--to", &USERS[..14], "--format", "json"]),
    ));
    runs.push((
        "status after (json)",
        p.run(&["status", "--format", "json"]),
    ));
    snapshot("no_transaction_down_and_resolving_a_failure", &p, &runs);
}

/// The shadow databases `verify` and `check` make (named after the process and a counter).
const SHADOW: (&str, &str) = (r"migrate_shadow_[0-9a-z_]+", "[shadow]");

#[test]
fn import() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/import");
    let source = fixtures.join("golang-migrate").display().to_string();
    let p = Project::new();
    let mut runs = vec![
        (
            "import --dry-run (text)",
            p.run(&["import", "--from", "golang-migrate", &source, "--dry-run"]),
        ),
        (
            "import (json)",
            p.run(&[
                "import",
                "--from",
                "golang-migrate",
                &source,
                "--format",
                "json",
            ]),
        ),
        (
            "import again (text)",
            p.run(&["import", "--from", "golang-migrate", &source]),
        ),
    ];
    let missing = fixtures.join("nowhere").display().to_string();
    runs.push((
        "import from a missing directory (json)",
        p.run(&["import", "--from", "sqlx", &missing, "--format", "json"]),
    ));
    runs.push((
        "import from a missing directory (text)",
        p.run(&["import", "--from", "sqlx", &missing]),
    ));
    let fixtures = fixtures.display().to_string();
    snapshot_with(
        "import",
        &p,
        &runs,
        &[(regex_escape(&fixtures).as_str(), "[fixtures]")],
    );
}

#[test]
fn verify() {
    let db = TestDb::new();
    let p = two(&db);
    assert_eq!(p.run(&["seal"]).code, 0);
    p.migration(
        BROKEN,
        "CREATE TABLE audit (id int);\nCREATE INDEX audit_id ON audit (id);\n",
        Some("DROP INDEX audit_id;\n"),
    );
    let mut runs = vec![
        ("verify a failing draft (text)", p.run(&["verify"])),
        (
            "verify a failing draft (json)",
            p.run(&["verify", "--format", "json"]),
        ),
    ];
    runs.push((
        "verify the sealed ones (text)",
        p.run(&["verify", &USERS[..14], &EMAIL[..14]]),
    ));
    runs.push((
        "verify the sealed ones (json)",
        p.run(&["verify", &USERS[..14], &EMAIL[..14], "--format", "json"]),
    ));
    runs.push((
        "verify an unknown version (json)",
        p.run(&["verify", "20990101000000", "--format", "json"]),
    ));
    snapshot_with(
        "verify",
        &p,
        &runs,
        &[SHADOW, (r"[0-9]+(\.[0-9]+)? s\b", "[s]")],
    );
}

#[test]
fn check() {
    let db = TestDb::new();
    let p = two(&db);
    assert_eq!(p.run(&["apply"]).code, 0);
    let shadow = with_dbname(&admin_url(), "postgres");
    let mut runs = vec![
        (
            "check passing (text)",
            p.run(&["check", "--shadow-url", &shadow]),
        ),
        (
            "check passing (json)",
            p.run(&["check", "--shadow-url", &shadow, "--format", "json"]),
        ),
    ];
    p.migration(
        BROKEN,
        "CREATE TABLE audit (id int);\n",
        Some("SELECT 1;\n"),
    );
    runs.push((
        "check with an unsealed, irreversible draft (text)",
        p.run(&["check", "--shadow-url", &shadow]),
    ));
    runs.push((
        "check with an unsealed, irreversible draft (json)",
        p.run(&["check", "--shadow-url", &shadow, "--format", "json"]),
    ));
    snapshot_with(
        "check",
        &p,
        &runs,
        &[SHADOW, (r"[0-9]+(\.[0-9]+)? s\b", "[s]")],
    );
}

#[test]
fn dev_db() {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        "[package]\nname = \"snap-app\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n",
    );
    migrate_tests::open_up(p.path());
    p.migration(
        USERS,
        "CREATE TABLE users (id bigint PRIMARY KEY);\n",
        Some("DROP TABLE users;\n"),
    );
    struct Destroy<'a>(&'a Project);
    impl Drop for Destroy<'_> {
        fn drop(&mut self) {
            let _ = self.0.run(&["dev-db", "destroy"]);
        }
    }
    let _destroy = Destroy(&p);
    let runs = vec![
        ("status before (text)", p.run(&["dev-db", "status"])),
        (
            "status before (json)",
            p.run(&["dev-db", "status", "--format", "json"]),
        ),
        ("url, creating it (text)", p.run(&["dev-db", "url"])),
        (
            "url again (json)",
            p.run(&["dev-db", "url", "--format", "json"]),
        ),
        ("apply using it (text)", p.run(&["apply"])),
        ("status running (text)", p.run(&["dev-db", "status"])),
        (
            "status running (json)",
            p.run(&["dev-db", "status", "--format", "json"]),
        ),
        (
            "stop (json)",
            p.run(&["dev-db", "stop", "--format", "json"]),
        ),
        ("stop again (text)", p.run(&["dev-db", "stop"])),
        (
            "status stopped (json)",
            p.run(&["dev-db", "status", "--format", "json"]),
        ),
        ("url, starting it (text)", p.run(&["dev-db", "url"])),
        ("destroy (text)", p.run(&["dev-db", "destroy"])),
        (
            "destroy again (json)",
            p.run(&["dev-db", "destroy", "--format", "json"]),
        ),
    ];
    snapshot_with(
        "dev_db",
        &p,
        &runs,
        &[
            (r"127\.0\.0\.1:[0-9]+", "127.0.0.1:[port]"),
            (r#""port": ?[0-9]+"#, r#""port": "[port]""#),
            (r"PostgreSQL [0-9]+", "PostgreSQL [major]"),
            (
                r#""postgres_version": ?"[0-9]+""#,
                r#""postgres_version": "[major]""#,
            ),
        ],
    );
}
