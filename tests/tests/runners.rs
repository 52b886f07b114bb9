//! One runner at a time: two concurrent applies, a runner that reports who holds the lock,
//! and the lock released on a connection that stays open. (Waiting for table locks held by the
//! application: `lock_waits.rs`.)
//!
//! No sleeps: the first runner's migration waits for an advisory lock the test holds (a gate),
//! and each step waits for what it needs to see (the gate's waiter in `pg_locks`, the second
//! runner's "Waiting" line) before the test opens the gate.

use migrate_tests::{Project, Run, TestDb};
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const SLOW: &str = "20261121090000_slow";
const NEXT: &str = "20261121090100_next";

/// The advisory lock key of the gate.
const GATE: i64 = 4242;
/// A migration statement that waits until the test opens the gate.
const GATED: &str = "SELECT pg_advisory_xact_lock(4242);\n";

/// An advisory lock held by the test's own session; the gated migration waits for it.
struct Gate(postgres::Client);

impl Gate {
    fn close(db: &TestDb) -> Gate {
        let mut client = db.client();
        client
            .execute("SELECT pg_advisory_lock($1)", &[&GATE])
            .expect("take the gate's lock");
        Gate(client)
    }

    fn open(mut self) {
        self.0
            .execute("SELECT pg_advisory_unlock($1)", &[&GATE])
            .expect("release the gate's lock");
    }
}

/// Polls `sql` (one i64) until it is positive; returns it.
fn wait_until(db: &TestDb, what: &str, sql: &str) -> i64 {
    let start = Instant::now();
    let mut client = db.client();
    loop {
        let n: i64 = client
            .query_one(sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0);
        if n > 0 {
            return n;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what}: never happened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The backend pid of the runner whose migration waits at the gate (once it does).
fn runner_at_the_gate(db: &TestDb) -> i32 {
    let pid = wait_until(
        db,
        "the first runner's migration waits at the gate",
        "SELECT coalesce(max(l.pid), 0)::bigint FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND NOT l.granted AND l.objid = 4242
           AND a.application_name = 'cargo-migrate'
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    );
    i32::try_from(pid).expect("a pid")
}

/// Streams `child`'s stderr line by line (from a thread, so a runner that never prints the
/// awaited line fails the test after a minute instead of hanging it).
fn stderr_lines(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let stderr = child.stderr.take().expect("piped stderr");
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

/// Reads lines until one contains `needle` (with `None`: up to the end);
/// returns what was read.
fn read_lines(lines: &mpsc::Receiver<String>, needle: Option<&str>) -> String {
    let mut seen = String::new();
    loop {
        match lines.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                let found = needle.is_some_and(|n| line.contains(n));
                seen.push_str(&line);
                seen.push('\n');
                if found {
                    return seen;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) if needle.is_none() => return seen,
            Err(e) => panic!("stderr: {e} before {needle:?}:\n{seen}"),
        }
    }
}

#[test]
fn two_concurrent_applies_apply_each_migration_exactly_once() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(SLOW, &format!("CREATE TABLE t (id int);\n{GATED}"), None)
        .migration(NEXT, "INSERT INTO t VALUES (1);\n", None);
    let gate = Gate::close(&db);
    // No lock_timeout: the gated statement waits as long as the gate is closed.
    let a = p.spawn(&["apply", "--lock-timeout", "0"]);
    let pid = runner_at_the_gate(&db);
    let mut b = p.spawn(&["apply"]);
    let lines = stderr_lines(&mut b);
    let mut b_err = read_lines(&lines, Some("Waiting for the migration lock"));
    gate.open();
    b_err.push_str(&read_lines(&lines, None));
    let a = Run::from_output(a.wait_with_output().expect("first runner"));
    let b_out = b.wait_with_output().expect("second runner");
    let b = Run {
        code: b_out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&b_out.stdout).into_owned(),
        stderr: b_err,
    };
    assert_eq!((a.code, b.code), (0, 0), "{a:?}\n{b:?}");
    assert!(
        b.stderr.contains(&format!(
            "Waiting for the migration lock, held by pid {pid}, user postgres, application cargo-migrate, from "
        )),
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
    p.migration(SLOW, GATED, None);
    let gate = Gate::close(&db);
    let a = p.spawn(&["apply", "--lock-timeout", "0"]);
    let pid = runner_at_the_gate(&db);
    let b = p.run(&["apply", "--lock-wait", "300ms"]);
    assert_eq!(b.code, 1, "{b:?}");
    // How long it waited, in whole seconds: at least 300 ms, so 0 unless the machine stalls.
    let first = b
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_default();
    let waited = first
        .strip_prefix("error: another migration runner holds the migration lock (waited ")
        .and_then(|rest| rest.strip_suffix("s)"))
        .unwrap_or_else(|| panic!("{}", b.stderr));
    assert!(waited.parse::<u64>().is_ok(), "{first}");
    assert!(
        b.stderr.contains(&format!(
            "--> held by pid {pid}, user postgres, application cargo-migrate, from "
        )),
        "{}",
        b.stderr
    );
    // The holder's query: what the other runner is doing now (in text, its first 80
    // characters: here the session reset sent with the statement; in JSON, all of it).
    assert!(
        b.stderr.contains(", running `SET SESSION AUTHORIZATION "),
        "{}",
        b.stderr
    );
    assert!(b.stderr.contains("pg_terminate_backend"), "{}", b.stderr);
    // The same in JSON, without waiting.
    let json = p.run(&["apply", "--lock-wait", "0", "--format", "json"]);
    assert_eq!(json.code, 1, "{json:?}");
    let json = json.json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["holder"]["pid"], pid);
    assert_eq!(json["holder"]["user"], "postgres");
    assert_eq!(json["holder"]["application"], "cargo-migrate");
    assert!(
        json["holder"]["query"]
            .as_str()
            .is_some_and(|q| q.contains("pg_advisory_xact_lock(4242)")),
        "{json}"
    );
    gate.open();
    let a = Run::from_output(a.wait_with_output().expect("first runner"));
    assert_eq!(a.code, 0, "{a:?}");
    assert_eq!(db.history().len(), 1);
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
    // Another runner gets the lock at once (no wait allowed) and runs the migration again.
    let again = p.run(&["apply", "--lock-wait", "0"]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(
        again.stderr.contains(&format!(
            "\nerror: migration {SLOW} failed: 42P01: relation \"nope\" does not exist\n"
        )),
        "{}",
        again.stderr
    );
    assert!(
        again
            .stderr
            .contains(&format!("  Retrying {SLOW}: it failed before")),
        "{}",
        again.stderr
    );
    assert!(!again.stderr.contains("migration lock"), "{}", again.stderr);
}
