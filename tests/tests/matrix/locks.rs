//! Who blocks whom, on each major: the catalog views the engine reads for it (`pg_locks`,
//! `pg_blocking_pids`, `pg_stat_activity`) are the ones PostgreSQL changes between versions. A
//! blocked migration names its blocker (text and JSON events, apply and down) and goes on as
//! soon as it is gone; a second runner names the holder of the migration lock.

use migrate_tests::matrix::Server;
use migrate_tests::{Project, Run, TestDb};
use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const TABLE: &str = "20261121090000_create_busy";
const ALTER: &str = "20261121090100_add_column";

/// A session reading `busy` in an open transaction, as a long report would: it holds ACCESS
/// SHARE until [`Reader::finish`].
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
        client
            .batch_execute("SET application_name = 'report-job'")
            .expect("name");
        client.batch_execute("BEGIN").expect("begin");
        client
            .batch_execute("SELECT count(*) FROM busy")
            .expect("read");
        Reader { client, pid }
    }

    fn finish(mut self) {
        self.client.batch_execute("COMMIT").expect("end the reader");
    }
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

/// Reads lines until one contains `needle`, which it returns; fails after a minute.
fn until(lines: &mpsc::Receiver<String>, needle: &str) -> String {
    let mut seen = Vec::new();
    loop {
        match lines.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.contains(needle) => return line,
            Ok(line) => seen.push(line),
            Err(_) => panic!("no line with {needle:?}; got:\n{}", seen.join("\n")),
        }
    }
}

fn columns(db: &TestDb) -> i64 {
    db.count("SELECT count(*) FROM information_schema.columns WHERE table_name = 'busy'")
}

fn a_blocked_migration_names_its_blocker_and_goes_on_when_it_ends(pg: &Server) {
    let db = pg.db();
    let p = Project::with_db(&db);
    p.migration(
        TABLE,
        "CREATE TABLE busy (id int);\n",
        Some("DROP TABLE busy;\n"),
    );
    assert_eq!(p.run(&["apply"]).code, 0);
    p.migration(
        ALTER,
        "ALTER TABLE busy ADD COLUMN c int;\n",
        Some("ALTER TABLE busy DROP COLUMN c;\n"),
    );

    // apply, in text.
    let reader = Reader::start(&db);
    let mut child = p.spawn(&["apply"]);
    let out = lines(&mut child);
    let report = until(&out, "retrying as soon as it ends");
    assert!(
        report.starts_with(&format!("  Lock timeout in {} (retry 1, ", &ALTER[..14])),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "blocked on public.busy (ACCESS EXCLUSIVE lock) by pid {}, user postgres, \
             application report-job, from ",
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
    let run = Run::from_output(child.wait_with_output().expect("wait"));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(columns(&db), 2);

    // down, as JSON events.
    let reader = Reader::start(&db);
    let mut child = p.spawn(&["down", "--format", "json"]);
    let out = lines(&mut child);
    let line = until(&out, "\"event\":\"lock_timeout\"");
    let event: serde_json::Value = serde_json::from_str(&line).expect("one JSON object per line");
    assert_eq!(event["version"], &ALTER[..14]);
    assert_eq!(event["next"]["when"], "when_blockers_finish", "{event}");
    let blocked_by = &event["blocked_by"];
    assert_eq!(blocked_by["lock"], "public.busy (ACCESS EXCLUSIVE lock)");
    let blocker = &blocked_by["blockers"][0];
    assert_eq!(blocker["pid"], reader.pid);
    assert_eq!(blocker["user"], "postgres");
    assert_eq!(blocker["client"], "127.0.0.1");
    assert_eq!(blocker["application"], "report-job");
    assert_eq!(blocker["state"], "idle in transaction");
    assert_eq!(blocker["query"], "SELECT count(*) FROM busy");
    assert_eq!(columns(&db), 2, "nothing reverted while the reader reads");
    reader.finish();
    let run = Run::from_output(child.wait_with_output().expect("wait"));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(columns(&db), 1);
}

fn a_second_runner_names_the_holder_of_the_migration_lock(pg: &Server) {
    let db = pg.db();
    let p = Project::with_db(&db);
    p.migration(TABLE, "SELECT pg_sleep(30);\n", None);
    let mut first = p.spawn(&["apply"]);
    let start = Instant::now();
    while db.count(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'cargo-migrate'
           AND a.datname = current_database()",
    ) == 0
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the first runner never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = p.run(&["apply", "--lock-wait", "200ms", "--format", "json"]);
    assert_eq!(second.code, 1, "{second:?}");
    let holder = &second.json()["holder"];
    assert!(
        holder["pid"].as_i64().is_some_and(|pid| pid > 0),
        "{holder}"
    );
    assert_eq!(holder["user"], "postgres", "{holder}");
    assert_eq!(holder["application"], "cargo-migrate", "{holder}");
    assert!(
        holder["since"]
            .as_str()
            .is_some_and(|s| s.ends_with(" UTC")),
        "{holder}"
    );
    assert_eq!(holder["client"], "127.0.0.1", "{holder}");
    // Its session ends with the test database.
    first.kill().expect("stop the first runner");
    first.wait().expect("wait");
}

migrate_tests::each_major!(
    a_blocked_migration_names_its_blocker_and_goes_on_when_it_ends,
    a_second_runner_names_the_holder_of_the_migration_lock,
);
