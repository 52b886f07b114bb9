//! Backfill migrations (`-- migrate:backfill`): every key visited exactly once in bounded
//! batches, resumed after a `kill -9` or a Ctrl-C from the last committed batch, clear errors
//! for a bad file or a key without a unique index, and what `status`, `--dry-run` and the JSON
//! events show. Concurrency is gated on an advisory lock the test holds (the batch waits for
//! it with `--lock-timeout 0`), and each wait ends on observable state (the waiting backend in
//! `pg_locks`, a line the CLI prints), never on a sleep.

use migrate_runtime::MigrationSet;
use migrate_runtime::engine::{Engine, EngineError, Event, Stop};
use migrate_tests::{Project, TestDb};
use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CREATE: &str = "20261122090000_create_items";
const FILL: &str = "20261122090100_fill_items";
const GATE: i64 = 4242;

/// `items` with 95 rows (ids 1..=95), each with a counter the backfill increments.
fn project(db: &TestDb, fill: &str) -> Project {
    let p = Project::with_db(db);
    p.migration(
        CREATE,
        "CREATE TABLE items (id bigint PRIMARY KEY, n int NOT NULL DEFAULT 0, note text);\n",
        Some("DROP TABLE items;\n"),
    );
    assert_eq!(p.run(&["apply"]).code, 0);
    db.client()
        .batch_execute("INSERT INTO items (id) SELECT generate_series(1, 95); ANALYZE items;")
        .expect("rows");
    p.migration(FILL, fill, None);
    p
}

/// Batches of 10; batches from key 31 on wait for the test's advisory lock.
const GATED: &str = "-- migrate:backfill table=items key=id batch=10\n\
    UPDATE items SET n = n + 1\n\
    WHERE id BETWEEN :batch_start AND :batch_end\n  \
      AND (:batch_start < 31 OR pg_advisory_xact_lock_shared(4242)::text IS NOT NULL);\n";

/// A backfill that adds one to `n` of every row, `batch` keys at a time: a row changed twice
/// shows as 2.
fn counting(batch: u32) -> String {
    format!(
        "-- migrate:backfill table=items key=id batch={batch}\n\
         UPDATE items SET n = n + 1 WHERE id BETWEEN :batch_start AND :batch_end;\n"
    )
}

/// How many rows were changed how many times: `(n, rows)` ordered by `n`.
fn counts(db: &TestDb) -> Vec<(i32, i64)> {
    db.client()
        .query("SELECT n, count(*) FROM items GROUP BY n ORDER BY n", &[])
        .expect("counts")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// The newest history row of the backfill: state and checkpoint.
fn checkpoint(db: &TestDb) -> (String, Option<serde_json::Value>) {
    let row = db
        .client()
        .query_one(
            "SELECT state, backfill FROM _migrate_history WHERE version = $1 ORDER BY id DESC LIMIT 1",
            &[&FILL[..14].parse::<i64>().expect("version")],
        )
        .expect("history row");
    let text: Option<String> = row.get(1);
    (
        row.get(0),
        text.map(|t| serde_json::from_str(&t).expect("checkpoint JSON")),
    )
}

/// The backfill's entry in `status --format json`.
fn status_entry(p: &Project) -> serde_json::Value {
    let json = p.run(&["status", "--format", "json"]).json();
    json["migrations"]
        .as_array()
        .expect("migrations")
        .iter()
        .find(|m| m["name"] == "fill_items")
        .expect("the backfill")
        .clone()
}

/// The backfill's line in `status`'s text.
fn status_line(status: &migrate_tests::Run) -> String {
    status
        .stdout
        .lines()
        .chain(status.stderr.lines())
        .find(|l| l.contains(FILL))
        .expect("a line for the backfill")
        .to_string()
}

/// Holds the gate: batches from key 31 on wait for it.
fn hold_gate(db: &TestDb) -> postgres::Client {
    let mut gate = db.client();
    gate.batch_execute(&format!("SELECT pg_advisory_lock({GATE})"))
        .expect("gate");
    gate
}

/// Waits until a session of the test database waits for the gate.
fn wait_for_waiter(db: &TestDb) {
    let started = Instant::now();
    let mut client = db.client();
    loop {
        let waiting: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                 WHERE l.locktype = 'advisory' AND NOT l.granted AND l.objid = $1::bigint::oid
                   AND d.datname = current_database()",
                &[&GATE],
            )
            .expect("pg_locks")
            .get(0);
        if waiting > 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no batch waits for the gate"
        );
        std::thread::yield_now();
    }
}

/// The child's stderr, line by line.
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

#[test]
fn every_key_is_visited_once_in_bounded_batches() {
    let db = TestDb::new();
    let p = project(
        &db,
        "-- migrate:backfill table=items key=id batch=10 pause=1ms\n\
         UPDATE items SET n = n + 1, note = :batch_start || '-' || :batch_end\n\
         WHERE id BETWEEN :batch_start AND :batch_end;\n",
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(&format!("  Applied {FILL} ("))
            && run.stderr.contains(", backfill: 10 batches, 95 rows)"),
        "{}",
        run.stderr
    );
    assert_eq!(counts(&db), [(1, 95)], "every row exactly once");
    // Each row saw the bounds of its own batch: the next 10 keys after the last one done.
    assert_eq!(
        db.count("SELECT count(DISTINCT note) FROM items"),
        10,
        "ten batches"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM items WHERE note = '91-95' AND id BETWEEN 91 AND 95"),
        5
    );
    assert_eq!(
        db.count("SELECT count(*) FROM items WHERE note = '1-10' AND id BETWEEN 1 AND 10"),
        10
    );
    let (state, progress) = checkpoint(&db);
    assert_eq!(state, "applied");
    assert_eq!(
        progress.expect("checkpoint"),
        serde_json::json!({"last_key": "95", "keys": 95, "rows": 95, "batches": 10})
    );
    // Applied once: a second apply runs nothing.
    assert_eq!(p.run(&["apply"]).code, 0);
    assert_eq!(counts(&db), [(1, 95)]);
}

#[test]
fn text_and_uuid_keys_are_walked_in_their_own_order() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(
        CREATE,
        "CREATE TABLE tags (name text PRIMARY KEY, n int NOT NULL DEFAULT 0);\n\
         CREATE TABLE docs (id uuid PRIMARY KEY, n int NOT NULL DEFAULT 0);\n",
        None,
    );
    assert_eq!(p.run(&["apply"]).code, 0);
    db.client()
        .batch_execute(
            "INSERT INTO tags (name) SELECT 'tag' || i FROM generate_series(1, 25) i;
             INSERT INTO docs (id) SELECT md5(i::text)::uuid FROM generate_series(1, 25) i;",
        )
        .expect("rows");
    p.migration(
        FILL,
        "-- migrate:backfill table=tags key=name batch=7\n\
         UPDATE tags SET n = n + 1 WHERE name BETWEEN :batch_start AND :batch_end;\n",
        None,
    );
    p.migration(
        "20261122090200_fill_docs",
        "-- migrate:backfill table=public.docs key=id batch=4\n\
         UPDATE docs SET n = n + 1 WHERE id >= :batch_start AND id <= :batch_end;\n",
        None,
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("backfill: 4 batches, 25 rows"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("backfill: 7 batches, 25 rows"),
        "{}",
        run.stderr
    );
    assert_eq!(db.count("SELECT count(*) FROM tags WHERE n = 1"), 25);
    assert_eq!(db.count("SELECT count(*) FROM docs WHERE n = 1"), 25);
}

#[test]
fn kill_9_mid_walk_resumes_after_the_last_committed_batch() {
    let db = TestDb::new();
    let p = project(&db, GATED);
    let gate = hold_gate(&db);
    let mut child = p.spawn(&["apply", "--lock-timeout", "0"]);
    wait_for_waiter(&db);
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    // Three batches (keys 1 to 30) committed with their checkpoint; the fourth waits.
    assert_eq!(counts(&db), [(0, 65), (1, 30)]);
    let (state, progress) = checkpoint(&db);
    assert_eq!(state, "failed", "the row of a run that did not finish");
    assert_eq!(
        progress.expect("checkpoint"),
        serde_json::json!({"last_key": "30", "keys": 30, "rows": 30, "batches": 3})
    );
    // The killed session's batch goes on once the gate opens, then finds its client gone and
    // rolls back; the next run waits for that session's runner lock, then resumes.
    drop(gate);
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(
            "backfill: 10 batches, 95 rows; resumed after 3 batches (30 keys, 30 rows, last key 30))"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(counts(&db), [(1, 95)], "no row twice, none skipped");
    let (state, progress) = checkpoint(&db);
    assert_eq!(state, "applied");
    assert_eq!(
        progress.expect("checkpoint"),
        serde_json::json!({"last_key": "95", "keys": 95, "rows": 95, "batches": 10})
    );
    let note: String = db
        .client()
        .query_one(
            "SELECT note FROM _migrate_history ORDER BY id DESC LIMIT 1",
            &[],
        )
        .expect("note")
        .get(0);
    assert_eq!(note, "resumed after 3 batches, key 30");
}

#[test]
fn ctrl_c_stops_after_the_current_batch_and_apply_resumes() {
    let db = TestDb::new();
    let p = project(&db, GATED);
    let gate = hold_gate(&db);
    let mut child = p.spawn(&["apply", "--lock-timeout", "0"]);
    let out = lines(&mut child);
    wait_for_waiter(&db);
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    // The batch that was waiting finishes (and commits) once the gate opens; then the run
    // stops.
    drop(gate);
    let code = child.wait().expect("wait").code();
    let stderr: Vec<String> = out.iter().collect();
    assert_eq!(code, Some(130), "{stderr:#?}");
    assert!(
        stderr.contains(&format!(
            "Stopped: backfill {FILL} interrupted after 4 batches (40 rows, last key 40)"
        )),
        "{stderr:#?}"
    );
    assert!(
        stderr.contains(
            &"  help: run `cargo migrate apply` again to resume after the last committed batch"
                .to_string()
        ),
        "{stderr:#?}"
    );
    assert_eq!(counts(&db), [(0, 55), (1, 40)]);

    // `status` shows it, with its progress (text and JSON), as a problem (exit 3).
    let status = p.run(&["status"]);
    assert_eq!(status.code, 3, "{status:?}");
    let line = status_line(&status);
    assert!(line.trim_start().starts_with("failed"), "{line}");
    assert!(
        line.contains(
            "backfill stopped after 4 batches (40 keys, 40 rows, last key 40): interrupted (the session that ran it has ended): `cargo migrate apply` resumes it after the last committed batch"
        ),
        "{line}"
    );
    let entry = status_entry(&p);
    assert_eq!(entry["state"], "failed");
    assert_eq!(
        entry["backfill"],
        serde_json::json!({"last_key": "40", "keys": 40, "rows": 40, "batches": 4})
    );
    assert_eq!(entry["unfinished"], "interrupted");
    assert_eq!(entry.get("runner"), None);
    // A session that takes the migration lock now (another command) does not run it.
    let mut other = db.client();
    other
        .execute(
            "SELECT pg_advisory_lock($1)",
            &[&migrate_runtime::engine::lock_key(&Default::default())],
        )
        .expect("the migration lock");
    assert_eq!(status_entry(&p)["unfinished"], "interrupted");
    drop(other);

    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(counts(&db), [(1, 95)]);
}

#[test]
fn status_tells_a_running_backfill_from_an_interrupted_one_by_who_holds_the_lock() {
    let db = TestDb::new();
    let p = project(&db, GATED);
    let gate = hold_gate(&db);
    let mut child = p.spawn(&["apply", "--lock-timeout", "0"]);
    wait_for_waiter(&db);
    // The runner's backend: the session waiting for the gate, which holds the migration lock.
    let runner: i32 = db
        .client()
        .query_one(
            "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
             WHERE l.locktype = 'advisory' AND NOT l.granted AND l.objid = $1::bigint::oid
               AND d.datname = current_database()",
            &[&GATE],
        )
        .expect("the waiting batch")
        .get(0);

    // Running: still `failed` (its run has not ended; exit 3), with the runner named.
    let status = p.run(&["status"]);
    assert_eq!(status.code, 3, "{status:?}");
    let line = status_line(&status);
    assert!(
        line.contains(&format!(
            "backfill committed 3 batches (30 keys, 30 rows, last key 30): running now (the migration lock is held by pid {runner}, user postgres, application cargo-migrate"
        )),
        "{line}"
    );
    let entry = status_entry(&p);
    assert!(
        status.stderr.ends_with(
            "A migration is running now: run `cargo migrate status` again once it ends \
             (`cargo migrate apply` waits for it).\n"
        ),
        "{}",
        status.stderr
    );
    assert_eq!(entry["unfinished"], "running");
    assert_eq!(entry["runner"]["pid"], runner);
    assert_eq!(entry["runner"]["application"], "cargo-migrate");

    // Finished: the line and the fields are gone.
    drop(gate);
    assert_eq!(child.wait().expect("wait").code(), Some(0));
    let entry = status_entry(&p);
    assert_eq!(entry["state"], "applied");
    assert_eq!(entry.get("unfinished"), None);
    assert_eq!(counts(&db), [(1, 95)]);
}

#[test]
fn a_key_without_a_unique_index_is_refused_before_anything_runs() {
    let db = TestDb::new();
    let p = project(
        &db,
        "-- migrate:backfill table=items key=n\n\
         UPDATE items SET note = 'x' WHERE n BETWEEN :batch_start AND :batch_end;\n",
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "error: migration {FILL} failed: key items.n has no unique index (or primary key) of \
             its own: a backfill walks a unique key, in index order\n  --> migrations/{FILL}/migration.sql:1\n"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        db.count("SELECT count(*) FROM items WHERE note IS NOT NULL"),
        0
    );
    assert_eq!(
        db.count("SELECT count(*) FROM _migrate_history WHERE backfill IS NOT NULL"),
        0,
        "nothing recorded: nothing ran"
    );
}

#[test]
fn every_file_error_names_its_file_and_line() {
    let p = Project::new();
    let cases = [
        (
            "20261122090001_a",
            "-- migrate:backfill table=t\nDELETE FROM t WHERE id BETWEEN :batch_start AND :batch_end;\n",
            "migration.sql:1: the backfill directive needs `key=<name>`",
        ),
        (
            "20261122090002_b",
            "-- migrate:backfill table=t key=id batch=0\nDELETE FROM t WHERE id BETWEEN :batch_start AND :batch_end;\n",
            "migration.sql:1: backfill option `batch`: `0` is not a batch size (a whole number from 1 to 1000000)",
        ),
        (
            "20261122090003_c",
            "-- migrate:backfill table=t key=id pause=later\nDELETE FROM t WHERE id BETWEEN :batch_start AND :batch_end;\n",
            "migration.sql:1: backfill option `pause`: `later` is not a duration: it does not start with a number (examples: 500ms, 5s, 1.5s, 2m, 1h, 0)",
        ),
        (
            "20261122090004_d",
            "-- migrate:backfill table=t key=id every=1\nDELETE FROM t WHERE id BETWEEN :batch_start AND :batch_end;\n",
            "migration.sql:1: unknown backfill option `every` (known: table, key, batch, pause, nice, max_replica_lag, rust)",
        ),
        (
            "20261122090005_e",
            "-- migrate:backfill table=t key=id\n\nDELETE FROM t WHERE id >= :batch_start;\n",
            "migration.sql:3: the backfill statement does not use `:batch_end`",
        ),
        (
            "20261122090006_f",
            "-- migrate:backfill table=t key=id\nDELETE FROM t WHERE id BETWEEN :batch_start AND :batch_end;\nDELETE FROM u;\n",
            "migration.sql:3: a backfill holds exactly one statement, this file has 2",
        ),
        (
            "20261122090007_g",
            "-- migrate:backfill table=t key=id\nALTER TABLE t ADD COLUMN c int;\n",
            "migration.sql:2: a backfill cannot change the schema (ALTER TABLE)",
        ),
        (
            "20261122090008_h",
            "-- migrate:no-transaction\n-- migrate:backfill table=t key=id\nDELETE FROM t WHERE id BETWEEN :batch_start AND :batch_end;\n",
            "migration.sql:1: `-- migrate:backfill` and `-- migrate:no-transaction` together",
        ),
        (
            "20261122090009_i",
            "-- Throttled by its own speed.\n-- migrate:backfill table=t key=id nice=-1\nDELETE FROM t WHERE id BETWEEN :batch_start AND :batch_end;\n",
            "migration.sql:2: backfill option `nice`: `-1` is not a ratio (a decimal number from 0 to 100, e.g. 0.5)",
        ),
        (
            "20261122090010_j",
            "-- migrate:backfill table=t key=id nice=abc\nDELETE FROM t WHERE id BETWEEN :batch_start AND :batch_end;\n",
            "migration.sql:1: backfill option `nice`: `abc` is not a ratio (a decimal number from 0 to 100, e.g. 0.5)",
        ),
        (
            "20261122090011_k",
            "-- migrate:backfill table=t key=id nice= pause=1ms\nDELETE FROM t WHERE id BETWEEN :batch_start AND :batch_end;\n",
            "migration.sql:1: backfill option `nice`: `` is not a ratio (a decimal number from 0 to 100, e.g. 0.5)",
        ),
    ];
    for (folder, sql, _) in cases {
        p.migration(folder, sql, None);
    }
    let run = p.run(&["lint"]);
    assert_eq!(run.code, 1, "{run:?}");
    for (folder, _, message) in cases {
        let expected = format!("  --> migrations/{folder}/{message}");
        assert!(
            run.stderr.lines().any(|l| l == expected),
            "{expected}\n{}",
            run.stderr
        );
    }
    assert!(
        run.stderr.contains("help: a backfill reads `-- migrate:backfill table=<table> key=<column> [batch=<n>] [pause=<duration>] [nice=<ratio>] [max_replica_lag=<duration>] [rust]`"),
        "{}",
        run.stderr
    );
}

#[test]
fn json_events_report_each_batch() {
    let db = TestDb::new();
    let p = project(&db, &counting(50));
    let run = p.run(&["apply", "--format", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let events: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|e: &serde_json::Value| e["event"] == "backfill_progress")
        .collect();
    let shape: Vec<(u64, u64, u64, Option<String>)> = events
        .iter()
        .map(|e| {
            (
                e["batches"].as_u64().expect("batches"),
                e["keys"].as_u64().expect("keys"),
                e["rows"].as_u64().expect("rows"),
                e["last_key"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (0, 0, 0, None),
            (1, 50, 50, Some("50".into())),
            (2, 95, 95, Some("95".into()))
        ]
    );
    assert!(events.iter().all(|e| e["version"] == FILL[..14]
        && e["direction"] == "up"
        && e["estimated_rows"] == 95));
    assert!(events[2]["keys_per_s"].as_f64().is_some());
    let report = run.json();
    assert_eq!(
        report["applied"][0]["backfill"],
        serde_json::json!({"last_key": "95", "keys": 95, "rows": 95, "batches": 2})
    );
}

#[test]
fn down_runs_a_backfill_down_sql() {
    let db = TestDb::new();
    let p = project(
        &db,
        "-- migrate:backfill table=items key=id batch=40\n\
         UPDATE items SET note = 'filled' WHERE id BETWEEN :batch_start AND :batch_end;\n",
    );
    p.file(
        &format!("migrations/{FILL}/down.sql"),
        "-- migrate:backfill table=items key=id batch=30\n\
         UPDATE items SET note = NULL WHERE id BETWEEN :batch_start AND :batch_end;\n",
    );
    assert_eq!(p.run(&["apply"]).code, 0);
    assert_eq!(
        db.count("SELECT count(*) FROM items WHERE note = 'filled'"),
        95
    );
    let run = p.run(&["down"]);
    assert_eq!(run.code, 0, "{run:?}");
    // A header naming the database, and the batches of the down.sql (30 keys each).
    assert!(
        run.stderr.starts_with(&format!(
            "Reverting migrations of postgres@127.0.0.1:5432/{} (history public._migrate_history)\n",
            db.name
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with(&format!("  Reverted {FILL} ("))
                && l.ends_with(" ms, backfill: 4 batches, 95 rows)")),
        "{}",
        run.stderr
    );
    assert_eq!(
        db.count("SELECT count(*) FROM items WHERE note IS NULL"),
        95
    );
    let (state, progress) = checkpoint(&db);
    assert_eq!(state, "rolled_back");
    assert_eq!(progress.expect("checkpoint")["batches"], 4);
}

#[test]
fn new_backfill_writes_a_template_that_reads_as_a_backfill() {
    let p = Project::new();
    std::fs::create_dir(p.path().join("migrations")).expect("dir");
    let run = p.run(&["new", "fill_names", "--backfill"]);
    assert_eq!(run.code, 0, "{run:?}");
    let set = MigrationSet::read(&p.path().join("migrations")).expect("reads");
    let m = &set.migrations[0];
    assert!(m.directives.backfill);
    let up = m.up.backfill().expect("valid").expect("a backfill");
    assert_eq!(
        (up.table.to_string(), up.key.as_str(), up.batch),
        ("my_table".to_string(), "id", 1000)
    );
    let down = m.down.as_ref().expect("down.sql");
    assert!(down.backfill().expect("valid").is_some());
    let refused = p.run(&["new", "x", "--backfill", "--no-transaction"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    let refused = p.run(&["new", "x", "--rust"]);
    assert_eq!(refused.code, 2, "--rust needs --backfill: {refused:?}");
    assert!(refused.stderr.contains("--backfill"), "{}", refused.stderr);
    assert_eq!(p.migration_folders().len(), 1, "nothing created");
}

#[test]
fn new_backfill_rust_writes_a_rust_backfill_that_says_how_to_register_its_code() {
    let p = Project::new();
    std::fs::create_dir(p.path().join("migrations")).expect("dir");
    let run = p.run(&["new", "fill_display_name", "--backfill", "--rust"]);
    assert_eq!(run.code, 0, "{run:?}");
    let set = MigrationSet::read(&p.path().join("migrations")).expect("reads");
    let m = &set.migrations[0];
    assert!(m.up.is_rust_backfill(), "{}", m.up.sql);
    assert!(
        m.up.sql.contains(
            "migrations::MIGRATOR.with_backfill(migrations::FILL_DISPLAY_NAME, MyBackfill)"
        ),
        "{}",
        m.up.sql
    );
    let down = m.down.as_ref().expect("down.sql");
    assert!(down.is_rust_backfill(), "{}", down.sql);
    // A fresh template passes lint and seals.
    let lint = p.run(&["lint"]);
    assert_eq!(lint.code, 0, "{lint:?}");
    assert_eq!(p.run(&["seal"]).code, 0);
}

#[test]
fn dry_run_estimates_rows_and_batches() {
    let db = TestDb::new();
    let p = project(&db, &counting(20));
    let run = p.run(&["apply", "--dry-run"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .lines()
            .any(|l| l == "  backfill: ~95 rows of items by id in ~5 batches of 20"),
        "{}",
        run.stdout
    );
    let json = p.run(&["apply", "--dry-run", "--format", "json"]).json();
    assert_eq!(
        json["impact"][0]["backfill"],
        serde_json::json!({"table": "items", "key": "id", "batch": 20,
                           "estimated_rows": 95, "estimated_batches": 5})
    );
    assert_eq!(counts(&db), [(0, 95)], "nothing ran");
}

#[test]
fn a_batch_longer_than_statement_timeout_is_rolled_back_and_the_checkpoint_stays() {
    let db = TestDb::new();
    // From key 31 on, a batch sleeps while the timeout is the test's 100ms.
    let p = project(
        &db,
        "-- migrate:backfill table=items key=id batch=10\n\
         UPDATE items SET n = n + 1\n\
         WHERE id BETWEEN :batch_start AND :batch_end\n  \
           AND (:batch_start < 31 OR current_setting('statement_timeout') <> '100ms'\n       \
                OR pg_sleep(0.3)::text IS NOT NULL);\n",
    );
    let run = p.run(&["apply", "--statement-timeout", "100ms"]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("batch 4 of backfill 20261122090100_fill_items failed"),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("canceling statement due to statement timeout"),
        "{run:?}"
    );
    assert_eq!(counts(&db), [(0, 65), (1, 30)], "batch 4 was rolled back");
    let (state, progress) = checkpoint(&db);
    assert_eq!(state, "failed");
    assert_eq!(
        progress.expect("checkpoint"),
        serde_json::json!({"last_key": "30", "keys": 30, "rows": 30, "batches": 3})
    );
    // With the default (30s) the backfill resumes at batch 4 and finishes.
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(counts(&db), [(1, 95)]);
}

/// Batches of 20, each taking at least 20 ms (one `pg_sleep` per batch, in an InitPlan), with
/// `nice=<ratio>`.
fn niced(ratio: &str) -> String {
    format!(
        "-- migrate:backfill table=items key=id batch=20 nice={ratio}\n\
         UPDATE items SET n = n + 1\n\
         WHERE id BETWEEN :batch_start AND :batch_end AND (SELECT pg_sleep(0.02))::text = '';\n"
    )
}

#[test]
fn nice_sleeps_after_each_batch_in_proportion_to_its_duration() {
    let db = TestDb::new();
    let p = project(&db, &niced("3"));
    let set = MigrationSet::read(&p.path().join("migrations")).expect("reads");
    // When each progress event came, with the duration of the batch it reports.
    let mut seen: Vec<(Instant, Option<Duration>)> = Vec::new();
    let report = Engine::default()
        .apply(&mut db.client(), &set, &Default::default(), &mut |e| {
            if let Event::BackfillProgress { batch_time, .. } = e {
                seen.push((Instant::now(), batch_time));
            }
        })
        .expect("applied");
    assert_eq!(counts(&db), [(1, 95)], "every row exactly once");
    let progress = report.applied[0].backfill.as_ref().expect("a backfill");
    assert_eq!((progress.rows, progress.batches), (95, 5));
    // The start, then one event per batch, each batch at least its pg_sleep long.
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert_eq!(seen[0].1, None);
    for (i, pair) in seen.windows(2).enumerate().skip(1) {
        let (after, (next, _)) = (&pair[0], pair[1]);
        let took = after.1.expect("a batch's duration");
        assert!(took >= Duration::from_millis(20), "batch {i}: {took:?}");
        // Between a batch's event and the next one: the sleep of 3 times the batch (a lower
        // bound only: the next batch and the machine's load come on top of it).
        let gap = next - after.0;
        assert!(
            gap >= took * 3,
            "batch {i} took {took:?}, then {gap:?} to the next batch's end"
        );
    }
}

#[test]
fn a_stop_request_cuts_the_nice_sleep_short() {
    let db = TestDb::new();
    // Each batch takes at least 20 ms: the sleep after it is at least 2 s.
    let p = project(&db, &niced("100"));
    let stop = Stop::default();
    let engine = Engine {
        stop: Some(stop.clone()),
        ..Default::default()
    };
    // Asked to stop 100 ms into the sleep after the first batch (Ctrl-C's flag).
    let (asked, stopping) = std::sync::mpsc::channel::<Instant>();
    let stopper = std::thread::spawn(move || {
        let after_first = stopping.recv().expect("the first batch");
        std::thread::sleep(Duration::from_millis(100));
        stop.requested
            .store(true, std::sync::atomic::Ordering::Release);
        after_first
    });
    let set = MigrationSet::read(&p.path().join("migrations")).expect("reads");
    let mut first: Option<Duration> = None;
    let outcome = engine.apply(&mut db.client(), &set, &Default::default(), &mut |e| {
        if let Event::BackfillProgress {
            batch_time: Some(took),
            ..
        } = e
            && first.is_none()
        {
            first = Some(took);
            asked.send(Instant::now()).expect("the stopper waits");
        }
    });
    let ended = Instant::now();
    let Err(EngineError::Interrupted(interrupted)) = outcome else {
        panic!("expected a stop during the sleep: {outcome:?}");
    };
    let after_first = stopper.join().expect("stopper");
    assert_eq!(
        interrupted.to_string(),
        format!("backfill {FILL} interrupted after 1 batch (20 rows, last key 20)")
    );
    assert_eq!(counts(&db), [(0, 75), (1, 20)], "no batch after the stop");
    // The whole sleep would have been 100 times the first batch; the run ended well before.
    let sleep = first.expect("the first batch") * 100;
    assert!(
        ended - after_first < sleep,
        "ended {:?} after the first batch, its sleep was {sleep:?}",
        ended - after_first
    );
}

/// A stopped backfill whose draft is edited to walk another key is not resumed after the old
/// walk's last key (which would run some rows twice and skip others); restoring the key
/// resumes it, every row once.
#[test]
fn a_stopped_backfill_edited_to_walk_another_key_is_refused_until_the_key_is_restored() {
    let db = TestDb::new();
    // Batch 3 (keys 21..30) fails: 2 batches, keys 1..20, are committed.
    let p = project(
        &db,
        "-- migrate:backfill table=items key=id batch=10\n\
         UPDATE items SET n = n + 1 WHERE id BETWEEN :batch_start AND :batch_end \
         AND 1 / (id - 25) IS NOT NULL;\n",
    );
    // A second unique key, in the reverse order: code 95 is id 1.
    db.client()
        .batch_execute(
            "UPDATE items SET note = lpad((96 - id)::text, 3, '0');
             CREATE UNIQUE INDEX items_note ON items (note);",
        )
        .expect("second key");
    let failed = p.run(&["apply"]);
    assert_eq!(failed.code, 1, "{failed:?}");
    assert_eq!(counts(&db), [(0, 75), (1, 20)]);
    p.migration(
        FILL,
        "-- migrate:backfill table=items key=note batch=10\n\
         UPDATE items SET n = n + 1 WHERE note BETWEEN :batch_start AND :batch_end;\n",
        None,
    );
    let refused = p.run(&["apply"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains(&format!(
            "  --> migrations/{FILL}/migration.sql: backfill stopped after 2 batches walking \
             items.id (last key 20), but its directive now walks items.note: that checkpoint \
             is not a key of the new walk\n  help: restore `table=items key=id` so `cargo \
             migrate apply` resumes after key 20;"
        )),
        "{}",
        refused.stderr
    );
    assert_eq!(counts(&db), [(0, 75), (1, 20)], "nothing ran");
    p.migration(FILL, &counting(50), None);
    let resumed = p.run(&["apply"]);
    assert_eq!(resumed.code, 0, "{resumed:?}");
    assert_eq!(counts(&db), [(1, 95)], "every row exactly once");
}

/// The same for a backfill down.sql that stopped part-way: `down` would resume the new walk
/// after a key of the old one.
#[test]
fn a_stopped_backfill_down_edited_to_walk_another_key_is_refused_until_the_key_is_restored() {
    let db = TestDb::new();
    let p = project(&db, &counting(10));
    db.client()
        .batch_execute(
            "UPDATE items SET note = lpad((96 - id)::text, 3, '0');
             CREATE UNIQUE INDEX items_note ON items (note);",
        )
        .expect("second key");
    let down = |key: &str, fails: &str| {
        std::fs::write(
            p.path().join(format!("migrations/{FILL}/down.sql")),
            format!(
                "-- migrate:backfill table=items key={key} batch=10\n\
                 UPDATE items SET n = n - 1 WHERE {key} BETWEEN :batch_start AND :batch_end{fails};\n"
            ),
        )
        .expect("down.sql");
    };
    // Batch 3 of the down.sql (keys 21..30) fails: 2 batches are reverted.
    down("id", " AND 1 / (id - 25) IS NOT NULL");
    assert_eq!(p.run(&["apply"]).code, 0);
    assert_eq!(p.run(&["down"]).code, 1);
    assert_eq!(counts(&db), [(0, 20), (1, 75)]);
    // Edited to walk `note` (and sealed again, as a fix of a never-shared down.sql would be).
    down("note", "");
    assert_eq!(p.run(&["seal", "--force", &FILL[..14]]).code, 0);
    let refused = p.run(&["down"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains(&format!(
            "  --> migrations/{FILL}/down.sql: backfill stopped after 2 batches walking \
             items.id (last key 20), but its directive now walks items.note: that checkpoint \
             is not a key of the new walk\n  help: restore `table=items key=id` so `cargo \
             migrate down` resumes after key 20;"
        )),
        "{}",
        refused.stderr
    );
    assert_eq!(counts(&db), [(0, 20), (1, 75)], "nothing ran");
    down("id", "");
    assert_eq!(p.run(&["seal", "--force", &FILL[..14]]).code, 0);
    let resumed = p.run(&["down"]);
    assert_eq!(resumed.code, 0, "{resumed:?}");
    assert_eq!(counts(&db), [(0, 95)], "every row reverted exactly once");
}

/// A backfill that moves its rows along its own key would meet them again after the walk's
/// position, batch after batch, without end: refused when the directory is read.
#[test]
fn a_backfill_that_sets_its_own_key_is_refused_before_anything_runs() {
    let db = TestDb::new();
    let p = project(
        &db,
        "-- migrate:backfill table=items key=id batch=10\n\
         UPDATE public.items SET n = n + 1,\n  ID = id * 1000\n\
         WHERE id BETWEEN :batch_start AND :batch_end;\n",
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "  --> migrations/{FILL}/migration.sql:2: the backfill statement sets its own key \
             `id`: the walk would meet the rows it moves again, and change them again\n  help: \
             walk a key the statement does not change"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(counts(&db), [(0, 95)], "nothing ran");
    // Setting a column of that name in another table is fine.
    db.client()
        .batch_execute("CREATE TABLE copies (id bigint, n int)")
        .expect("copies");
    p.migration(
        FILL,
        "-- migrate:backfill table=items key=id batch=10\n\
         UPDATE copies SET id = items.id FROM items\n\
         WHERE items.id BETWEEN :batch_start AND :batch_end AND copies.n = items.n;\n",
        None,
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
}

/// `--dry-run` says how a backfill runs (not "in a transaction": batch by batch) and, for a
/// stopped one, where it resumes; `down --dry-run` likewise for a backfill down.sql.
#[test]
fn dry_run_says_a_backfill_runs_batch_by_batch_and_where_it_resumes() {
    let db = TestDb::new();
    let p = project(
        &db,
        "-- migrate:backfill table=items key=id batch=10\n\
         UPDATE items SET n = n + 1 WHERE id BETWEEN :batch_start AND :batch_end \
         AND 1 / (id - 25) IS NOT NULL;\n",
    );
    let fresh = p.run(&["apply", "--dry-run"]);
    assert!(
        fresh.stdout.contains(&format!(
            "\n{FILL} (backfill, batch by batch: each batch in a transaction of its own)\n    1. line 2 "
        )),
        "{}",
        fresh.stdout
    );
    assert_eq!(p.run(&["apply"]).code, 1);
    let stopped = p.run(&["apply", "--dry-run"]);
    assert!(
        stopped.stdout.contains(&format!(
            "\n{FILL} (backfill, batch by batch: each batch in a transaction of its own)\n  \
             resumes after 2 batches (20 keys, 20 rows, last key 20)\n"
        )),
        "{}",
        stopped.stdout
    );
    let json = p.run(&["apply", "--dry-run", "--format", "json"]).json();
    assert_eq!(json["plan"][0]["backfill"], true);
    assert_eq!(
        json["plan"][0]["backfill_from"],
        serde_json::json!({"last_key": "20", "keys": 20, "rows": 20, "batches": 2})
    );
    assert_eq!(counts(&db), [(0, 75), (1, 20)], "nothing more ran");
    // Finished, then reverted by a backfill down.sql: `down --dry-run` says so too.
    p.migration(
        FILL,
        &counting(10),
        Some(
            "-- migrate:backfill table=items key=id batch=10\n\
             UPDATE items SET n = n - 1 WHERE id BETWEEN :batch_start AND :batch_end;\n",
        ),
    );
    assert_eq!(p.run(&["apply"]).code, 0);
    let down = p.run(&["down", "--dry-run"]);
    assert!(
        down.stdout.starts_with(&format!(
            "Would revert {FILL} (backfill, batch by batch: each batch in a transaction of its own) with:\n"
        )),
        "{}",
        down.stdout
    );
}

/// A backfill down.sql that stopped part-way: `apply` refuses it with what the batches did and
/// how `down` resumes (not "statements", which a backfill does not count).
#[test]
fn apply_of_a_partly_reverted_backfill_says_how_far_its_down_got() {
    let db = TestDb::new();
    let p = project(&db, &counting(10));
    std::fs::write(
        p.path().join(format!("migrations/{FILL}/down.sql")),
        "-- migrate:backfill table=items key=id batch=10\n\
         UPDATE items SET n = n - 1 WHERE id BETWEEN :batch_start AND :batch_end \
         AND 1 / (id - 25) IS NOT NULL;\n",
    )
    .expect("down.sql");
    assert_eq!(p.run(&["apply"]).code, 0);
    assert_eq!(p.run(&["down"]).code, 1);
    assert_eq!(counts(&db), [(0, 20), (1, 75)]);
    let refused = p.run(&["apply"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains(&format!(
            "  --> migrations/{FILL}: partly reverted: its backfill down.sql stopped after 2 \
             batches (20 keys, 20 rows, last key 20) (division by zero (SQLSTATE 22012))\n  \
             help: finish reverting it with `cargo migrate down` (it resumes after the last \
             committed batch)"
        )),
        "{}",
        refused.stderr
    );
}

/// Ctrl-C while a batch waits to be retried after a lock timeout (its blocker still holds
/// the row) stops the run at once at the last checkpoint: the batch was rolled back, so
/// there is nothing to finish, and the wait could last the whole retry budget.
#[test]
fn ctrl_c_during_a_lock_retry_wait_stops_without_waiting_for_the_blocker() {
    let db = TestDb::new();
    let p = project(&db, &counting(10));
    let mut blocker = db.client();
    blocker
        .batch_execute("BEGIN; SELECT * FROM items WHERE id = 35 FOR UPDATE;")
        .expect("row lock");
    let mut child = p.spawn(&[
        "apply",
        "--lock-timeout",
        "100ms",
        "--lock-retry-budget",
        "5m",
    ]);
    let out = lines(&mut child);
    let mut seen = Vec::new();
    loop {
        let line = out
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no lock timeout reported: {seen:#?}"));
        let retrying = line.starts_with("  Lock timeout in ");
        seen.push(line);
        if retrying {
            break;
        }
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    let asked = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status.code();
        }
        if asked.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("still waiting for the blocker 20 s after Ctrl-C: {seen:#?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    seen.extend(out.iter());
    assert_eq!(code, Some(130), "{seen:#?}");
    assert!(
        seen.contains(&format!(
            "Stopped: backfill {FILL} interrupted after 3 batches (30 rows, last key 30)"
        )),
        "{seen:#?}"
    );
    assert_eq!(counts(&db), [(0, 65), (1, 30)]);
    blocker.batch_execute("COMMIT").expect("release");
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(counts(&db), [(1, 95)], "every row exactly once");
}

/// The run that resumes a stopped backfill says so, and from where (text and JSON).
#[test]
fn a_resumed_backfill_says_where_it_resumed() {
    let db = TestDb::new();
    let p = project(
        &db,
        "-- migrate:backfill table=items key=id batch=10\n\
         UPDATE items SET n = n + 1 WHERE id BETWEEN :batch_start AND :batch_end \
         AND 1 / (id - 25) IS NOT NULL;\n",
    );
    assert_eq!(p.run(&["apply"]).code, 1);
    p.migration(FILL, &counting(10), None);
    let run = p.run(&["apply", "--format", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json()["applied"][0]["backfill_resumed"],
        serde_json::json!({"last_key": "20", "keys": 20, "rows": 20, "batches": 2})
    );
    assert_eq!(counts(&db), [(1, 95)], "every row exactly once");
    // Text: a fresh database, stopped the same way, resumed.
    let db = TestDb::new();
    let p = project(
        &db,
        "-- migrate:backfill table=items key=id batch=10\n\
         UPDATE items SET n = n + 1 WHERE id BETWEEN :batch_start AND :batch_end \
         AND 1 / (id - 25) IS NOT NULL;\n",
    );
    assert_eq!(p.run(&["apply"]).code, 1);
    p.migration(FILL, &counting(10), None);
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(
            ", backfill: 10 batches, 95 rows; resumed after 2 batches (20 keys, 20 rows, last key 20))\n"
        ),
        "{}",
        run.stderr
    );
}

/// A stray `;` after the statement (`...;;`) is not a second statement.
#[test]
fn a_stray_semicolon_is_not_a_second_statement() {
    let db = TestDb::new();
    let p = project(
        &db,
        "-- migrate:backfill table=items key=id batch=50\n\
         UPDATE items SET n = n + 1 WHERE id BETWEEN :batch_start AND :batch_end;;\n",
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(counts(&db), [(1, 95)]);
}

/// `down` of a backfill stopped half-way refuses (its down.sql would run over keys its
/// batches never reached), saying how far it got and how to proceed; nothing runs.
#[test]
fn down_of_a_stopped_backfill_says_how_far_it_got_and_changes_nothing() {
    let db = TestDb::new();
    let p = project(
        &db,
        "-- migrate:backfill table=items key=id batch=10\n\
         UPDATE items SET n = n + 1 WHERE id BETWEEN :batch_start AND :batch_end \
         AND 1 / (id - 25) IS NOT NULL;\n",
    );
    std::fs::write(
        p.path().join(format!("migrations/{FILL}/down.sql")),
        "-- migrate:backfill table=items key=id batch=10\n\
         UPDATE items SET n = n - 1 WHERE id BETWEEN :batch_start AND :batch_end;\n",
    )
    .expect("down.sql");
    assert_eq!(p.run(&["apply"]).code, 1);
    let down = p.run(&["down"]);
    assert_eq!(down.code, 1, "{down:?}");
    assert!(
        down.stderr.starts_with(&format!(
            "error: migration {FILL} is partly applied: its backfill stopped after 2 batches \
             (20 keys, 20 rows, last key 20); finish it before reverting anything\n  help: \
             `cargo migrate apply` resumes it after the last committed batch; then `cargo \
             migrate down` reverts it whole."
        )),
        "{}",
        down.stderr
    );
    assert_eq!(counts(&db), [(0, 75), (1, 20)], "nothing ran");
}

/// A placeholder PostgreSQL types as something no key of the walk fits (here text, for a
/// bigint key) is refused before anything runs, naming the file and line, instead of failing
/// at the first batch as a lost connection.
#[test]
fn a_placeholder_typed_unlike_the_key_is_refused_before_anything_runs() {
    let db = TestDb::new();
    let p = project(
        &db,
        "-- migrate:backfill table=items key=id batch=10\n\
         UPDATE items SET n = n + 1\n\
         WHERE note BETWEEN :batch_start AND :batch_end;\n",
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "the backfill statement uses `:batch_start` as text, but it holds keys of items.id \
             (bigint): compare it with the key, or cast it (`:batch_start::bigint`)\n  --> \
             migrations/{FILL}/migration.sql:2\n"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(counts(&db), [(0, 95)], "nothing ran");
    let rows = db.count(&format!(
        "SELECT count(*) FROM _migrate_history WHERE version = {}",
        &FILL[..14]
    ));
    assert_eq!(rows, 0, "no history row: nothing started");
}

/// Sends the child a Ctrl-C.
fn ctrl_c(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
}

/// Runs `args` until a batch waits at the gate (which stays held), then presses Ctrl-C twice:
/// the exit code and what the run printed.
fn two_ctrl_c(db: &TestDb, p: &Project, args: &[&str]) -> (Option<i32>, Vec<String>) {
    let mut child = p.spawn(args);
    let out = lines(&mut child);
    wait_for_waiter(db);
    ctrl_c(&child);
    // Signals of one kind are not queued: one sent before the first is handled would be lost.
    std::thread::sleep(Duration::from_millis(300));
    ctrl_c(&child);
    let code = child.wait().expect("wait").code();
    (code, out.iter().collect())
}

/// Within 2 s of the process's end, no session of the test database runs the batch's
/// statement any more and none but `gate` holds an advisory lock (the migration lock is free),
/// although the gate the batch waited for is still held: the batch was cancelled, not finished.
fn assert_batch_cancelled(db: &TestDb, gate: &mut postgres::Client) {
    let gate_pid: i32 = gate
        .query_one("SELECT pg_backend_pid()", &[])
        .expect("pid")
        .get(0);
    let mut client = db.client();
    let started = Instant::now();
    loop {
        let row = client
            .query_one(
                "SELECT (SELECT count(*) FROM pg_stat_activity
                         WHERE datname = current_database() AND state = 'active'
                           AND query LIKE '%UPDATE items%' AND pid <> pg_backend_pid()),
                        (SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                         WHERE l.locktype = 'advisory' AND l.granted
                           AND d.datname = current_database() AND l.pid <> $1)",
                &[&gate_pid],
            )
            .expect("pg_stat_activity, pg_locks");
        let (running, locks): (i64, i64) = (row.get(0), row.get(1));
        if running == 0 && locks == 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "2 s after the second Ctrl-C, {running} session(s) still run the batch and \
             {locks} advisory lock(s) besides the gate are held"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A second Ctrl-C cancels the running batch on the server before the process ends: the
/// batch's statement stops at once (its row locks and the migration lock are freed, so the
/// next `apply` does not wait for them), and `apply` resumes after the last committed batch
/// with no row changed twice.
#[test]
fn a_second_ctrl_c_cancels_the_running_batch_on_the_server() {
    let db = TestDb::new();
    let p = project(&db, GATED);
    let mut gate = hold_gate(&db);
    let (code, stderr) = two_ctrl_c(&db, &p, &["apply", "--lock-timeout", "0"]);
    assert_batch_cancelled(&db, &mut gate);
    assert_eq!(code, Some(130), "{stderr:#?}");
    assert!(
        stderr.contains(&format!(
            "Stopped: backfill {FILL} cancelled on the server: a batch that was running is rolled \
             back and its locks released; run `cargo migrate apply` again to resume after the last \
             committed batch"
        )),
        "{stderr:#?}"
    );
    assert_eq!(counts(&db), [(0, 65), (1, 30)]);
    let (state, progress) = checkpoint(&db);
    assert_eq!(state, "failed");
    assert_eq!(
        progress.expect("checkpoint"),
        serde_json::json!({"last_key": "30", "keys": 30, "rows": 30, "batches": 3})
    );
    drop(gate);
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        !run.stderr.contains("Waiting for the migration lock"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "backfill: 10 batches, 95 rows; resumed after 3 batches (30 keys, 30 rows, last key 30))"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(counts(&db), [(1, 95)], "every row exactly once");
}

/// The same for a backfill's down.sql: `down` again resumes it.
#[test]
fn a_second_ctrl_c_cancels_the_running_batch_of_a_down_backfill() {
    let db = TestDb::new();
    let p = project(&db, &counting(10));
    p.file(
        &format!("migrations/{FILL}/down.sql"),
        "-- migrate:backfill table=items key=id batch=10\n\
         UPDATE items SET n = n - 1\n\
         WHERE id BETWEEN :batch_start AND :batch_end\n  \
           AND (:batch_start < 31 OR pg_advisory_xact_lock_shared(4242)::text IS NOT NULL);\n",
    );
    assert_eq!(p.run(&["apply"]).code, 0);
    let mut gate = hold_gate(&db);
    let (code, stderr) = two_ctrl_c(&db, &p, &["down", "--lock-timeout", "0"]);
    assert_batch_cancelled(&db, &mut gate);
    assert_eq!(code, Some(130), "{stderr:#?}");
    assert!(
        stderr.contains(&format!(
            "Stopped: backfill {FILL} cancelled on the server: a batch that was running is rolled \
             back and its locks released; run `cargo migrate down` again to resume after the last \
             committed batch"
        )),
        "{stderr:#?}"
    );
    assert_eq!(counts(&db), [(0, 30), (1, 65)]);
    drop(gate);
    let run = p.run(&["down"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        !run.stderr.contains("Waiting for the migration lock"),
        "{}",
        run.stderr
    );
    assert_eq!(counts(&db), [(0, 95)], "every row reverted exactly once");
}

/// In a program, `Stop::cancel_running` cancels the running batch on the server and the run
/// stops as interrupted at the last checkpoint (the batch's rows unchanged although it never
/// got past the gate); the next run resumes there.
#[test]
fn cancel_running_stops_a_program_s_run_at_the_last_checkpoint() {
    let db = TestDb::new();
    let p = project(&db, GATED);
    let gate = hold_gate(&db);
    let stop = Stop::default();
    let engine = Engine {
        stop: Some(stop.clone()),
        config: migrate_runtime::engine::EngineConfig {
            lock_timeout: Duration::ZERO,
            ..Default::default()
        },
        ..Default::default()
    };
    let set = MigrationSet::read(&p.path().join("migrations")).expect("reads");
    let (outcome, cancelled) = std::thread::scope(|s| {
        let canceller = s.spawn(|| {
            wait_for_waiter(&db);
            stop.cancel_running()
        });
        let outcome = engine.apply(&mut db.client(), &set, &Default::default(), &mut |_| {});
        (outcome, canceller.join().expect("canceller"))
    });
    let Err(EngineError::Interrupted(interrupted)) = outcome else {
        panic!("expected the run to stop: {outcome:?}");
    };
    assert_eq!(
        interrupted.to_string(),
        format!("backfill {FILL} interrupted after 3 batches (30 rows, last key 30)")
    );
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0].folder(), FILL);
    assert_eq!(cancelled[0].error, None);
    assert_eq!(counts(&db), [(0, 65), (1, 30)]);
    drop(gate);
    Engine::default()
        .apply(&mut db.client(), &set, &Default::default(), &mut |_| {})
        .expect("resumes");
    assert_eq!(counts(&db), [(1, 95)], "every row exactly once");
}

/// A login role of its own, dropped (after the databases it owns) when this is dropped: declare
/// it before them.
struct Role(String);

impl Role {
    fn new(prefix: &str) -> Role {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!("{prefix}_{}_{nanos}", std::process::id());
        admin()
            .batch_execute(&format!("CREATE ROLE {name} LOGIN"))
            .expect("create role");
        Role(name)
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        let _ = admin().batch_execute(&format!("DROP ROLE IF EXISTS {}", self.0));
    }
}

fn admin() -> postgres::Client {
    postgres::Client::connect(&migrate_tests::admin_url(), postgres::NoTls).expect("admin")
}

/// `items` with 95 rows, applied as `url`'s role (so it owns the table), and a backfill with
/// `max_replica_lag` on line 2.
fn replica_lag_project(db: &TestDb, url: &str) -> Project {
    let mut p = Project::with_db(db);
    p.env.retain(|(k, _)| k != "DATABASE_URL");
    p.env.push(("DATABASE_URL".into(), url.to_string()));
    p.migration(
        CREATE,
        "CREATE TABLE items (id bigint PRIMARY KEY, n int NOT NULL DEFAULT 0, note text);\n",
        None,
    );
    assert_eq!(p.run(&["apply"]).code, 0);
    db.client()
        .batch_execute("INSERT INTO items (id) SELECT generate_series(1, 95)")
        .expect("rows");
    p.migration(
        FILL,
        "-- Counts each row once.\n\
         -- migrate:backfill table=items key=id batch=10 max_replica_lag=5s\n\
         UPDATE items SET n = n + 1 WHERE id BETWEEN :batch_start AND :batch_end;\n",
        None,
    );
    p
}

/// PostgreSQL shows `pg_stat_replication.replay_lag` as NULL (read as no lag) to a role that is
/// neither superuser nor a member of pg_read_all_stats, so `max_replica_lag` would never wait:
/// such a run is refused before the backfill's first batch, naming the directive's line and the
/// fix; once the role is granted pg_read_all_stats, the backfill runs.
#[test]
fn max_replica_lag_is_refused_for_a_role_that_cannot_read_the_lag_until_granted() {
    let role = Role::new("cm_lagless");
    let db = TestDb::new();
    db.client()
        .batch_execute(&format!("ALTER DATABASE {} OWNER TO {}", db.name, role.0))
        .expect("owner");
    let url = migrate_tests::with_dbname(&migrate_tests::admin_url(), &db.name)
        .replace("postgres@", &format!("{}@", role.0));
    let p = replica_lag_project(&db, &url);
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "error: migration {FILL} failed: role {role} cannot read the replicas' lag that \
             `max_replica_lag` waits on: pg_stat_replication shows replay_lag only to superusers \
             and members of pg_read_all_stats (to others it is NULL, read as no lag), so the \
             backfill would never wait; run `GRANT pg_read_all_stats TO {role}`, or remove \
             `max_replica_lag`\n  --> migrations/{FILL}/migration.sql:2\n",
            role = role.0
        )),
        "{}",
        run.stderr
    );
    assert_eq!(counts(&db), [(0, 95)], "nothing ran");
    let rows = db.count(&format!(
        "SELECT count(*) FROM _migrate_history WHERE version = {}",
        &FILL[..14]
    ));
    assert_eq!(rows, 0, "no history row: nothing started");

    admin()
        .batch_execute(&format!("GRANT pg_read_all_stats TO {}", role.0))
        .expect("grant");
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(counts(&db), [(1, 95)]);
}

/// A superuser reads the replicas' lag: its `max_replica_lag` backfill runs.
#[test]
fn max_replica_lag_runs_for_a_superuser() {
    let db = TestDb::new();
    let p = replica_lag_project(&db, &db.url);
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(counts(&db), [(1, 95)]);
}
