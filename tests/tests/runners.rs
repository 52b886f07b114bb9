//! One runner at a time: two concurrent applies, a runner that reports who holds the lock,
//! and the lock released on a connection that stays open. (Waiting for table locks held by the
//! application: `lock_waits.rs`.)

use migrate_tests::{Project, Run, TestDb};
use std::time::{Duration, Instant};

const SLOW: &str = "20261121090000_slow";
const NEXT: &str = "20261121090100_next";

fn wait_for_runner_lock(db: &TestDb) {
    let start = Instant::now();
    while db.count(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'cargo-migrate'",
    ) == 0
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the first runner never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_concurrent_applies_apply_each_migration_exactly_once() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(
        SLOW,
        "CREATE TABLE t (id int);\nSELECT pg_sleep(1);\n",
        None,
    )
    .migration(NEXT, "INSERT INTO t VALUES (1);\n", None);
    let a = p.spawn(&["apply"]);
    wait_for_runner_lock(&db);
    let b = p.spawn(&["apply"]);
    let (a, b) = (
        Run::from_output(a.wait_with_output().unwrap()),
        Run::from_output(b.wait_with_output().unwrap()),
    );
    assert_eq!((a.code, b.code), (0, 0), "{a:?}\n{b:?}");
    assert!(
        b.stderr
            .contains("Waiting for the migration lock, held by pid "),
        "{}",
        b.stderr
    );
    assert!(b.stderr.contains("Nothing to apply"), "{}", b.stderr);
    assert_eq!(db.count("SELECT count(*) FROM t"), 1, "the INSERT ran once");
    assert_eq!(db.count("SELECT count(*) FROM _migrate_history"), 2);
    assert_eq!(
        db.count(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        0,
        "no lock lingers"
    );
}

#[test]
fn a_runner_that_cannot_get_the_lock_names_the_holder() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(SLOW, "SELECT pg_sleep(3);\n", None);
    let a = p.spawn(&["apply"]);
    wait_for_runner_lock(&db);
    let b = p.run(&["apply", "--lock-wait", "300ms"]);
    assert_eq!(b.code, 1, "{b:?}");
    assert!(
        b.stderr
            .contains("error: another migration runner holds the migration lock (waited 0s)"),
        "{}",
        b.stderr
    );
    assert!(b.stderr.contains("--> held by pid "), "{}", b.stderr);
    assert!(
        b.stderr
            .contains(", user postgres, application cargo-migrate, from "),
        "{}",
        b.stderr
    );
    assert!(b.stderr.contains("pg_terminate_backend"), "{}", b.stderr);
    assert_eq!(Run::from_output(a.wait_with_output().unwrap()).code, 0);
}

#[test]
fn the_lock_is_released_on_a_connection_that_stays_open_after_a_failure() {
    // The pooled-connection case: the session survives the failed apply, the lock must not.
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(SLOW, "SELECT * FROM nope;\n", None);
    let set = migrate_runtime::MigrationSet::read(&p.path().join("migrations")).unwrap();
    let engine = migrate_runtime::engine::Engine::default();
    let mut client = db.client();
    let result = engine.apply(&mut client, &set, &Default::default(), &mut |_| {});
    assert!(
        matches!(
            result,
            Err(migrate_runtime::engine::EngineError::Failed { .. })
        ),
        "{result:?}"
    );
    let held: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        held, 0,
        "the advisory lock was released on the still-open connection"
    );
    let again = p.run(&["apply", "--lock-wait", "0"]);
    assert!(!again.stderr.contains("migration lock"), "{}", again.stderr);
}
