//! Zero-downtime locking: a migration blocked by a long reader waits with a short
//! `lock_timeout` (so the application never queues behind it for longer), names who blocks it,
//! retries as soon as that transaction ends, and needs no `resolve` when it gives up. Every
//! wait here ends on observable state (a line the CLI prints, a transaction the test ends),
//! never on a sleep.

use migrate_tests::{Project, Run, TestDb};
use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc;
use std::time::Duration;

const TABLE: &str = "20261121090000_create_busy";
const ALTER: &str = "20261121090100_add_column";

/// A session that reads `busy` in an open transaction, as a long report query would: it holds
/// ACCESS SHARE until the test ends its transaction.
struct Reader {
    client: postgres::Client,
    pid: i32,
}

impl Reader {
    fn start(db: &TestDb) -> Reader {
        let mut client = db.client();
        let pid = client
            .query_one("SELECT pg_backend_pid()", &[])
            .expect("pid")
            .get(0);
        for sql in [
            "SET application_name = 'report-job'",
            "BEGIN",
            "SELECT count(*) FROM busy",
        ] {
            client.batch_execute(sql).expect("start the reader");
        }
        Reader { client, pid }
    }

    fn finish(mut self) {
        self.client.batch_execute("COMMIT").expect("end the reader");
    }
}

fn project(db: &TestDb, alter: &str, down: &str) -> Project {
    let p = Project::with_db(db);
    p.migration(
        TABLE,
        "CREATE TABLE busy (id int);\n",
        Some("DROP TABLE busy;\n"),
    );
    assert_eq!(p.run(&["apply"]).code, 0);
    p.migration(ALTER, alter, Some(down));
    p
}

/// The child's stderr, line by line, as it prints them.
fn lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stderr = child.stderr.take().expect("piped stderr");
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

/// Reads lines until one contains `needle` (returns every line read), failing after a minute.
fn until(lines: &mpsc::Receiver<String>, needle: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        match lines.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return seen;
                }
            }
            Err(_) => panic!(
                "no line with {needle:?} after a minute; got:\n{}",
                seen.join("\n")
            ),
        }
    }
}

fn finish(child: Child, lines: mpsc::Receiver<String>) -> (i32, Vec<String>) {
    let out = child.wait_with_output().expect("wait");
    (out.status.code().unwrap_or(-1), lines.iter().collect())
}

fn columns(db: &TestDb) -> i64 {
    db.count("SELECT count(*) FROM information_schema.columns WHERE table_name = 'busy'")
}

#[test]
fn a_blocked_migration_names_its_blocker_and_applies_as_soon_as_it_finishes() {
    let db = TestDb::new();
    let p = project(
        &db,
        "ALTER TABLE busy ADD COLUMN c int;\n",
        "ALTER TABLE busy DROP COLUMN c;\n",
    );
    let reader = Reader::start(&db);
    let mut child = p.spawn(&["apply"]);
    let out = lines(&mut child);
    // Defaults: a 200ms lock_timeout; the first attempt is watched from a second session once
    // it has waited 50 ms, so its timeout already names the blocker.
    let seen = until(&out, "retrying as soon as it ends");
    let report = seen.last().expect("a line");
    assert!(
        report.starts_with(&format!("  Lock timeout in {} (retry 1, ", &ALTER[..14])),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "blocked on public.busy (ACCESS EXCLUSIVE lock) by pid {}, user postgres, application \
             report-job, from ",
            reader.pid
        )),
        "{report}"
    );
    assert!(
        report.contains("idle in transaction (transaction open ")
            && report.contains("running `SELECT count(*) FROM busy`"),
        "{report}"
    );
    assert_eq!(columns(&db), 1, "nothing applied while the reader reads");
    reader.finish();
    let (code, rest) = finish(child, out);
    assert_eq!(code, 0, "{seen:?}\n{rest:?}");
    assert!(
        rest.iter()
            .any(|l| l.starts_with(&format!("  Applied {ALTER} ("))),
        "{rest:?}"
    );
    assert!(
        !rest.iter().any(|l| l.contains("Lock timeout")),
        "no more attempts while waiting for the reader: {rest:?}"
    );
    assert_eq!(columns(&db), 2);
    assert_eq!(
        db.count("SELECT count(*) FROM _migrate_history WHERE state = 'failed'"),
        0
    );
}

#[test]
fn json_events_say_who_blocks() {
    let db = TestDb::new();
    let p = project(
        &db,
        "ALTER TABLE busy ADD COLUMN c int;\n",
        "ALTER TABLE busy DROP COLUMN c;\n",
    );
    let reader = Reader::start(&db);
    let mut child = p.spawn(&["apply", "--format", "json"]);
    let out = lines(&mut child);
    let seen = until(&out, "\"when\":\"when_blockers_finish\"");
    let event: serde_json::Value =
        serde_json::from_str(seen.last().expect("a line")).expect("one JSON object per line");
    assert_eq!(event["event"], "lock_timeout");
    assert_eq!(event["version"], &ALTER[..14]);
    assert_eq!(event["attempt"], 1);
    assert_eq!(
        event["blocked_by"]["lock"],
        "public.busy (ACCESS EXCLUSIVE lock)"
    );
    assert_eq!(event["blocked_by"]["blockers"][0]["pid"], reader.pid);
    assert_eq!(
        event["blocked_by"]["blockers"][0]["application"],
        "report-job"
    );
    assert_eq!(
        event["blocked_by"]["blockers"][0]["state"],
        "idle in transaction"
    );
    reader.finish();
    let result = child.wait_with_output().expect("wait");
    let run = Run::from_output(result);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["applied"][0]["version"], &ALTER[..14]);
}

#[test]
fn out_of_budget_is_not_a_failure_of_the_sql_and_the_next_apply_just_retries() {
    let db = TestDb::new();
    let p = project(
        &db,
        "ALTER TABLE busy ADD COLUMN c int;\n",
        "ALTER TABLE busy DROP COLUMN c;\n",
    );
    let reader = Reader::start(&db);
    let run = p.run(&["apply", "--lock-retry-budget", "1s"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "error: migration {ALTER} failed: 55P03: canceling statement due to lock timeout\n"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "help: it never got the lock it needs, so nothing of it ran. It was blocked on \
             public.busy (ACCESS EXCLUSIVE lock) by pid {}, user postgres, application report-job",
            reader.pid
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Run `cargo migrate apply` again once that session is done (or raise --lock-retry-budget); no `resolve` is needed"),
        "{}",
        run.stderr
    );
    assert_eq!(columns(&db), 1);
    reader.finish();
    let again = p.run(&["apply"]);
    assert_eq!(again.code, 0, "no resolve needed: {again:?}");
    assert_eq!(columns(&db), 2);
}

#[test]
fn no_transaction_statements_and_down_wait_the_same_way() {
    let db = TestDb::new();
    let p = project(
        &db,
        "-- migrate:no-transaction\nALTER TABLE busy ADD COLUMN IF NOT EXISTS c int;\n",
        "ALTER TABLE busy DROP COLUMN IF EXISTS c;\n",
    );
    for args in [vec!["apply"], vec!["down"]] {
        let reader = Reader::start(&db);
        let before = columns(&db);
        let mut child = p.spawn(&args);
        let out = lines(&mut child);
        let seen = until(&out, "retrying as soon as it ends");
        assert!(
            seen.last()
                .expect("line")
                .contains(&format!("by pid {}", reader.pid)),
            "{seen:?}"
        );
        assert_eq!(columns(&db), before, "{args:?} waits");
        reader.finish();
        let (code, rest) = finish(child, out);
        assert_eq!(code, 0, "{args:?}: {rest:?}");
        assert_ne!(columns(&db), before, "{args:?} went through");
    }
}

#[test]
fn without_a_lock_timeout_nothing_is_retried() {
    // `--lock-timeout 0` leaves the server's setting (none here): the migration queues until
    // the reader finishes, as PostgreSQL does by default.
    let db = TestDb::new();
    let p = project(
        &db,
        "ALTER TABLE busy ADD COLUMN c int;\n",
        "ALTER TABLE busy DROP COLUMN c;\n",
    );
    let reader = Reader::start(&db);
    let mut child = p.spawn(&["apply", "--lock-timeout", "0"]);
    // Wait until the migration's ALTER is queued behind the reader.
    let started = std::time::Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the ALTER never queued"
        );
        let waiting = db.count(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE NOT l.granted AND a.application_name = 'cargo-migrate'
               AND a.datname = current_database()",
        );
        if waiting > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    reader.finish();
    let out = lines(&mut child);
    let (code, rest) = finish(child, out);
    assert_eq!(code, 0, "{rest:?}");
    assert!(!rest.iter().any(|l| l.contains("Lock timeout")), "{rest:?}");
    assert_eq!(columns(&db), 2);
}
