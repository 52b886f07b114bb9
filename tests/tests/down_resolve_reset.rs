//! `down`, `resolve` and `reset`.

use migrate_tests::{Project, TestDb};

const A: &str = "20261121090000_create_users";
const B: &str = "20261121090100_add_email";
const C: &str = "20261121090200_drop_legacy";

fn three(db: &TestDb) -> Project {
    let p = Project::with_db(db);
    p.migration(
        A,
        "CREATE TABLE users (id int);\n",
        Some("DROP TABLE users;\n"),
    )
    .migration(
        B,
        "ALTER TABLE users ADD COLUMN email text;\n",
        Some("ALTER TABLE users DROP COLUMN email;\n"),
    )
    .migration(
        C,
        "CREATE TABLE legacy (id int);\n",
        Some("DROP TABLE legacy;\n"),
    );
    assert_eq!(p.run(&["apply"]).code, 0);
    p
}

#[test]
fn down_reverts_the_newest_and_records_it() {
    let db = TestDb::new();
    let p = three(&db);
    let run = p.run(&["down"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(&format!("  Reverted {C} (")),
        "{}",
        run.stderr
    );
    assert!(!db.has_table("legacy") && db.has_table("users"));
    let last = db.history().pop().unwrap();
    assert_eq!(
        last,
        (C[..14].to_string(), "down".into(), "rolled_back".into())
    );
    let status = p.run(&["status"]);
    assert_eq!(status.code, 4, "a reverted migration is pending again");
    assert_eq!(p.run(&["apply"]).code, 0);
    assert!(db.has_table("legacy"));
}

#[test]
fn down_to_and_steps() {
    let db = TestDb::new();
    let p = three(&db);
    let dry = p.run(&["down", "--to", &A[..14], "--dry-run"]);
    assert_eq!(dry.code, 0);
    assert_eq!(
        dry.stdout,
        format!(
            "Would revert {C} (in a transaction) with:\n  | DROP TABLE legacy;\n\
             Would revert {B} (in a transaction) with:\n  | ALTER TABLE users DROP COLUMN email;\n"
        )
    );
    assert!(db.has_table("legacy"), "dry run changes nothing");
    assert_eq!(p.run(&["down", "--steps", "2"]).code, 0);
    assert!(!db.has_table("legacy"));
    assert_eq!(
        db.count("SELECT count(*) FROM information_schema.columns WHERE table_name = 'users'"),
        1
    );
}

#[test]
fn down_refuses_irreversible_and_missing_down_sql_before_running_anything() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(
        A,
        "CREATE TABLE users (id int);\n",
        Some("DROP TABLE users;\n"),
    )
    .migration(
        B,
        "-- migrate:irreversible: drops data\nCREATE TABLE gone (id int);\n",
        None,
    )
    .migration(C, "CREATE TABLE legacy (id int);\n", None);
    assert_eq!(p.run(&["apply"]).code, 0);
    let run = p.run(&["down", "--steps", "3"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains(&format!("--> migrations/{C}: has no down.sql")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "--> migrations/{B}: irreversible (`-- migrate:irreversible`), it has no down.sql"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("restore the database from the backup"),
        "{}",
        run.stderr
    );
    assert!(
        db.has_table("legacy") && db.has_table("users"),
        "nothing ran"
    );
}

#[test]
fn down_uses_the_recorded_down_sql_when_the_folder_is_gone() {
    let db = TestDb::new();
    let p = three(&db);
    std::fs::remove_dir_all(p.path().join("migrations").join(C)).unwrap();
    assert_eq!(p.run(&["seal", "--force", &C[..14]]).code, 0);
    let run = p.run(&["down"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "{C}: its folder is gone; using the down.sql recorded when it was applied"
        )),
        "{}",
        run.stderr
    );
    assert!(!db.has_table("legacy"));
    assert_eq!(
        p.run(&["status"]).code,
        0,
        "reverted and gone: nothing to report"
    );
}

#[test]
fn resolve_applied_baselines_without_running() {
    let db = TestDb::new();
    db.client()
        .batch_execute("CREATE TABLE users (id int)")
        .unwrap();
    let p = Project::with_db(&db);
    p.migration(A, "CREATE TABLE users (id int);\n", None)
        .migration(B, "ALTER TABLE users ADD COLUMN email text;\n", None);
    let run = p.run(&["resolve", "--applied", &A[..14]]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "Marked 20261121090000 as applied (recorded in the history; nothing was run).\n  Sealed {A}\n"
        )
    );
    assert_eq!(
        db.history(),
        [(A[..14].to_string(), "resolve".into(), "applied".into())]
    );
    assert_eq!(p.run(&["apply"]).code, 0, "only the newer one runs");
    let again = p.run(&["resolve", "--applied", &A[..14]]);
    assert_eq!(again.code, 1);
    assert_eq!(
        again.stderr,
        "error: migration 20261121090000 is already applied\n  note: nothing was changed\n"
    );
}

#[test]
fn resolve_applied_marks_a_failed_migration_finished_by_hand() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(
        A,
        "CREATE TABLE users (id int);\nINSERT INTO nowhere VALUES (1);\n",
        None,
    )
    .migration(B, "ALTER TABLE users ADD COLUMN email text;\n", None);
    assert_eq!(p.run(&["apply"]).code, 1);
    assert_eq!(
        db.history(),
        [(A[..14].to_string(), "apply".into(), "failed".into())]
    );
    // Finished by hand, then recorded: apply goes on with the next one, never reruns it.
    db.client()
        .batch_execute("CREATE TABLE users (id int)")
        .expect("by hand");
    let run = p.run(&["resolve", "--applied", &A[..14]]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.starts_with(
            "Marked 20261121090000 as applied (recorded in the history; nothing was run).\n"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(
        db.history().last(),
        Some(&(A[..14].to_string(), "resolve".into(), "applied".into()))
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(db.history().len(), 3);
    assert_eq!(p.run(&["status"]).code, 0);
}

#[test]
fn resolve_rolled_back_only_for_failed_migrations() {
    let db = TestDb::new();
    let p = three(&db);
    let applied = p.run(&["resolve", "--rolled-back", &C[..14]]);
    assert_eq!(applied.code, 1);
    assert!(
        applied
            .stderr
            .starts_with("error: migration 20261121090200 is applied, not failed\n"),
        "{}",
        applied.stderr
    );
    assert!(
        applied.stderr.contains("cargo migrate down"),
        "{}",
        applied.stderr
    );
    p.migration("20261121090300_later", "SELECT 1;\n", None);
    let never = p.run(&["resolve", "--rolled-back", "20261121090300"]);
    assert_eq!(never.code, 1);
    assert!(never.stderr.starts_with("error: migration 20261121090300 is never applied; only a failed migration can be marked rolled back\n"), "{}", never.stderr);
    let unknown = p.run(&["resolve", "--applied", "20991231000000"]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown
            .stderr
            .starts_with("error: there is no migration 20991231000000 in migrations\n"),
        "{}",
        unknown.stderr
    );
    assert_eq!(
        p.run(&["resolve"]).code,
        2,
        "one of --applied / --rolled-back is required"
    );
}

#[test]
fn reset_drops_and_reapplies_on_a_local_database() {
    let db = TestDb::new();
    let p = three(&db);
    db.client()
        .batch_execute("CREATE TABLE stray (id int); INSERT INTO users VALUES (1);")
        .unwrap();
    let run = p.run(&["reset"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("  Dropped schema(s) public; public recreated empty\n"),
        "{}",
        run.stderr
    );
    assert!(!db.has_table("stray"));
    assert_eq!(db.count("SELECT count(*) FROM users"), 0);
    assert_eq!(db.history().len(), 3, "a fresh history");
}

#[test]
fn reset_refuses_remote_hosts_unless_forced_and_confirmed_without_connecting() {
    let p = Project::new();
    p.migration(A, "SELECT 1;\n", None);
    let url = "postgres://app:pw@db.example.invalid:5432/shop";
    let run = p.run(&["--database-url", url, "reset"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: refusing to reset app@db.example.invalid:5432/shop: it connects to db.example.invalid, which is not \
         on this machine, and reset drops every table\n  \
         help: if you really mean it: --force --confirm shop\n  note: nothing was changed\n"
    );
    let wrong = p.run(&[
        "--database-url",
        url,
        "reset",
        "--force",
        "--confirm",
        "shoe",
    ]);
    assert_eq!(wrong.code, 1);
    assert!(
        wrong
            .stderr
            .starts_with("error: --confirm must repeat the database name `shop`"),
        "{}",
        wrong.stderr
    );
    assert_eq!(
        p.run(&["--database-url", url, "reset", "--confirm", "shop"])
            .code,
        2,
        "--confirm needs --force"
    );
}

/// Runs the CLI in an empty network namespace: whatever it tries, no packet leaves the machine.
fn run_offline(p: &Project, args: &[&str]) -> migrate_tests::Run {
    let out = std::process::Command::new("unshare")
        .arg("-n")
        .arg(migrate_tests::binary())
        .arg("migrate")
        .args(args)
        .current_dir(p.path())
        .env_remove("DATABASE_URL")
        .env("NO_COLOR", "1")
        .output()
        .expect("run cargo-migrate under unshare -n");
    migrate_tests::Run::from_output(out)
}

#[test]
fn reset_decides_locality_from_every_host_and_hostaddr() {
    let p = Project::new();
    p.migration(A, "SELECT 1;\n", None);
    for (url, label, address) in [
        (
            "host=localhost hostaddr=192.0.2.5 user=app dbname=shop",
            "app@localhost (192.0.2.5):5432/shop",
            "192.0.2.5",
        ),
        (
            "postgres://app@localhost/shop?hostaddr=192.0.2.5",
            "app@localhost (192.0.2.5):5432/shop",
            "192.0.2.5",
        ),
        (
            "host=/var/run/postgresql hostaddr=192.0.2.5 user=app dbname=shop",
            "app@/var/run/postgresql (192.0.2.5):5432/shop",
            "192.0.2.5",
        ),
        (
            "host=localhost,db.example.invalid user=app dbname=shop",
            "app@localhost:5432,db.example.invalid:5432/shop",
            "db.example.invalid",
        ),
    ] {
        let run = run_offline(&p, &["--database-url", url, "reset"]);
        assert_eq!(run.code, 1, "{url}: {run:?}");
        assert_eq!(
            run.stderr.lines().next(),
            Some(
                format!(
                    "error: refusing to reset {label}: it connects to {address}, which is not on \
                     this machine, and reset drops every table"
                )
                .as_str()
            ),
            "{url}"
        );
    }
}
