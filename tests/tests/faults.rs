//! The fault suite: `kill -9` of the runner at seeded random points (transactional runs,
//! no-transaction runs, `down`), a session terminated mid-statement, a server that crashes
//! mid-run, and 16 runners at once. After each: every migration is either applied with its
//! history row or absent, no row is an orphan, nothing ran twice, the advisory lock is free,
//! the data that was there is intact, and running the command again completes.

use migrate_runtime::devdb::{ClusterOptions, Search, ServerUser};
use migrate_tests::{PrivateCluster, Project, Run, TestDb};
use std::time::{Duration, Instant};

/// A tiny seeded generator (the suite must be reproducible: a failure names its seed).
struct Seeded(u64);

impl Seeded {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

const MIGRATIONS: usize = 12;
/// Every fourth migration runs outside a transaction.
fn no_transaction(i: usize) -> bool {
    i % 4 == 3
}

fn folder(i: usize) -> String {
    format!("2026112109{:02}00_step_{i}", i)
}

/// Migrations that each leave a trace in `ledger` (inside their transaction, or idempotently
/// outside one) and take a little time, so a kill lands mid-run.
fn project(url: &str) -> Project {
    let mut p = Project::new();
    p.file(
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [package.metadata.migrate.lint]\nallow = [\"mixed-data-and-ddl\"]\n\n[workspace]\n",
    );
    p.env.push(("DATABASE_URL".into(), url.to_string()));
    p.migration(
        &folder(0),
        "CREATE TABLE ledger (n int NOT NULL);\nCREATE TABLE seeded AS SELECT g AS n FROM generate_series(1, 1000) g;\n",
        Some("DROP TABLE seeded;\nDROP TABLE ledger;\n"),
    );
    for i in 1..MIGRATIONS {
        if no_transaction(i) {
            p.migration(
                &folder(i),
                &format!(
                    "-- migrate:no-transaction\nINSERT INTO ledger SELECT {i} WHERE NOT EXISTS (SELECT 1 FROM ledger WHERE n = {i});\n\
                     CREATE INDEX CONCURRENTLY IF NOT EXISTS ledger_{i} ON ledger (n) WHERE n > {i};\nSELECT pg_sleep(0.02);\n"
                ),
                Some(&format!(
                    "DROP INDEX CONCURRENTLY IF EXISTS ledger_{i};\nDELETE FROM ledger WHERE n = {i};\n"
                )),
            );
        } else {
            p.migration(
                &folder(i),
                &format!(
                    "CREATE TABLE t_{i} (id int);\nINSERT INTO ledger VALUES ({i});\nSELECT pg_sleep(0.02);\n"
                ),
                Some(&format!("DROP TABLE t_{i};\nDELETE FROM ledger WHERE n = {i};\n")),
            );
        }
    }
    p
}

fn count(client: &mut postgres::Client, sql: &str) -> i64 {
    client
        .query_one(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

/// The state the history gives each migration (None: no row).
fn states(client: &mut postgres::Client) -> Vec<Option<String>> {
    let exists = count(
        client,
        "SELECT count(*) FROM pg_tables WHERE tablename = '_migrate_history'",
    ) > 0;
    (0..MIGRATIONS)
        .map(|i| {
            if !exists {
                return None;
            }
            let v: i64 = folder(i)[..14].parse().expect("version");
            client
                .query_opt(
                    "SELECT state FROM _migrate_history WHERE version = $1 ORDER BY id DESC LIMIT 1",
                    &[&v],
                )
                .expect("history")
                .map(|r| r.get(0))
        })
        .collect()
}

/// Waits until no backend of a killed runner is left (it holds the advisory lock until the
/// server notices its client is gone).
fn wait_for_runners_to_go(client: &mut postgres::Client) {
    let started = Instant::now();
    while count(
        client,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cargo-migrate' AND datname = current_database()",
    ) > 0
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "a killed runner's session never ended"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every invariant the engine promises, after whatever happened.
fn check_invariants(client: &mut postgres::Client, what: &str) {
    wait_for_runners_to_go(client);
    assert_eq!(
        count(
            client,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        0,
        "{what}: the advisory lock is free"
    );
    let states = states(client);
    let ledger_exists = count(
        client,
        "SELECT count(*) FROM pg_tables WHERE tablename = 'ledger'",
    ) > 0;
    if ledger_exists {
        assert_eq!(
            count(client, "SELECT count(*) FROM seeded"),
            1000,
            "{what}: seeded rows intact"
        );
        assert_eq!(
            count(client, "SELECT count(*) - count(DISTINCT n) FROM ledger"),
            0,
            "{what}: nothing ran twice"
        );
    }
    for (i, state) in states.iter().enumerate().skip(1) {
        let applied = state.as_deref() == Some("applied");
        let in_ledger = ledger_exists
            && count(
                client,
                &format!("SELECT count(*) FROM ledger WHERE n = {i}"),
            ) == 1;
        if no_transaction(i) {
            // Outside a transaction a statement may be done before its row says so: the
            // promise is "applied means complete", and the rerun finishes the rest.
            if applied {
                assert!(
                    in_ledger,
                    "{what}: {} applied but its work is missing",
                    folder(i)
                );
                assert_eq!(
                    count(
                        client,
                        &format!("SELECT count(*) FROM pg_indexes WHERE indexname = 'ledger_{i}'")
                    ),
                    1,
                    "{what}: {} applied without its index",
                    folder(i)
                );
            }
        } else {
            let table = count(
                client,
                &format!("SELECT count(*) FROM pg_tables WHERE tablename = 't_{i}'"),
            ) == 1;
            assert_eq!(
                applied,
                table,
                "{what}: {} state {state:?} vs table {table}",
                folder(i)
            );
            assert_eq!(applied, in_ledger, "{what}: {} half applied", folder(i));
        }
    }
    if count(
        client,
        "SELECT count(*) FROM pg_tables WHERE tablename = '_migrate_history'",
    ) > 0
    {
        let known: Vec<i64> = (0..MIGRATIONS)
            .map(|i| folder(i)[..14].parse().expect("version"))
            .collect();
        assert_eq!(
            count(
                client,
                &format!(
                    "SELECT count(*) FROM _migrate_history WHERE version NOT IN ({})",
                    known
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                )
            ),
            0,
            "{what}: no orphan rows"
        );
    }
}

fn all_applied(client: &mut postgres::Client, what: &str) {
    let states = states(client);
    assert!(
        states.iter().all(|s| s.as_deref() == Some("applied")),
        "{what}: {states:?}"
    );
    assert_eq!(
        count(client, "SELECT count(*) FROM ledger"),
        (MIGRATIONS - 1) as i64,
        "{what}: each migration's work exactly once"
    );
}

fn kill_at(p: &Project, args: &[&str], after: Duration) {
    let mut child = p.spawn(args);
    std::thread::sleep(after);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn kill_minus_nine_during_apply_never_half_applies() {
    let mut seed = Seeded(0x5eed_0001);
    for round in 0..8 {
        let db = TestDb::new();
        let p = project(&db.url);
        let after = Duration::from_millis(seed.next(400));
        kill_at(&p, &["apply", "--lock-wait", "30s"], after);
        let what = format!("round {round} (killed after {after:?})");
        check_invariants(&mut db.client(), &what);
        let rerun = p.run(&["apply", "--lock-wait", "30s"]);
        assert_eq!(rerun.code, 0, "{what}: {rerun:?}");
        all_applied(&mut db.client(), &what);
        check_invariants(&mut db.client(), &what);
    }
}

#[test]
fn kill_minus_nine_during_down_never_half_reverts() {
    let mut seed = Seeded(0x5eed_0002);
    for round in 0..6 {
        let db = TestDb::new();
        let p = project(&db.url);
        assert_eq!(p.run(&["apply"]).code, 0);
        let after = Duration::from_millis(seed.next(400));
        kill_at(&p, &["down", "--to", &folder(0)[..14]], after);
        let what = format!("down round {round} (killed after {after:?})");
        check_invariants(&mut db.client(), &what);
        let rerun = p.run(&["down", "--to", &folder(0)[..14]]);
        assert_eq!(rerun.code, 0, "{what}: {rerun:?}");
        let states = states(&mut db.client());
        assert!(
            states[1..]
                .iter()
                .all(|s| s.as_deref() == Some("rolled_back")),
            "{what}: {states:?}"
        );
        assert_eq!(
            count(&mut db.client(), "SELECT count(*) FROM ledger"),
            0,
            "{what}"
        );
        check_invariants(&mut db.client(), &what);
    }
}

#[test]
fn a_session_terminated_mid_statement_leaves_nothing_half_done() {
    let db = TestDb::new();
    let p = project(&db.url);
    p.migration(
        &folder(MIGRATIONS),
        "CREATE TABLE slow (id int);\nSELECT pg_sleep(CASE WHEN to_regclass('gate') IS NULL THEN 30 ELSE 0 END);\n",
        Some("DROP TABLE slow;\n"),
    );
    let child = p.spawn(&["apply"]);
    let mut admin = db.client();
    let started = Instant::now();
    let pid: i32 = loop {
        if let Some(row) = admin
            .query_opt(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(CASE%' AND application_name = 'cargo-migrate'",
                &[],
            )
            .expect("activity")
        {
            break row.get(0);
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the slow statement never ran"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    admin
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .expect("terminate");
    let run = Run::from_output(child.wait_with_output().expect("wait"));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "error: the run was cut off while {} ran: ",
            folder(MIGRATIONS)
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "note: {MIGRATIONS} migration(s) before it were applied: "
        )),
        "{}",
        run.stderr
    );
    assert!(!db.has_table("slow"), "rolled back");
    check_invariants(&mut db.client(), "terminated");
    admin.batch_execute("CREATE TABLE gate ()").expect("gate");
    assert_eq!(p.run(&["apply"]).code, 0);
    assert!(db.has_table("slow"));
}

#[test]
fn a_server_crash_mid_run_loses_only_whole_migrations() {
    let cluster = PrivateCluster::start(ClusterOptions::default());
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port());
    let mut seed = Seeded(0x5eed_0003);
    for round in 0..3 {
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        admin
            .batch_execute(
                "DROP SCHEMA public CASCADE; CREATE SCHEMA public; \
                 DROP TABLE IF EXISTS public._migrate_history",
            )
            .expect("clean");
        drop(admin);
        let p = project(&url);
        let child = p.spawn(&["apply"]);
        std::thread::sleep(Duration::from_millis(50 + seed.next(300)));
        // Crash: an immediate shutdown (no checkpoint; the next start runs crash recovery),
        // as a power cut or an OOM kill of the server would leave it.
        let bin = Search::from_env()
            .find(Some(&cluster.running.major))
            .expect("the server programs");
        let mut stop = std::process::Command::new(bin.program("pg_ctl"));
        stop.arg("stop")
            .args(["-m", "immediate", "-w", "-D"])
            .arg(cluster.db.dir().join("data"));
        ServerUser::pick().expect("server user").run_as(&mut stop);
        let stopped = stop.output().expect("pg_ctl stop -m immediate");
        assert!(stopped.status.success(), "{stopped:?}");
        let run = Run::from_output(child.wait_with_output().expect("wait"));
        let what = format!("crash round {round}");
        let running = cluster.db.ensure().expect("restart after the crash");
        assert_eq!(running.port, cluster.port(), "restarted on its port");
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("reconnect");
        check_invariants(&mut client, &what);
        if run.code == 0 {
            // The run finished before the crash: a finished run is durable.
            all_applied(&mut client, &what);
        }
        let rerun = p.run(&["apply"]);
        assert_eq!(rerun.code, 0, "{what}: {rerun:?}");
        all_applied(&mut client, &what);
    }
}

#[test]
fn sixteen_runners_at_once_apply_each_migration_exactly_once() {
    let db = TestDb::new();
    let p = project(&db.url);
    let children: Vec<_> = (0..16).map(|_| p.spawn(&["apply"])).collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|c| Run::from_output(c.wait_with_output().expect("wait")))
        .collect();
    for run in &runs {
        assert!(
            run.code == 0
                || run
                    .stderr
                    .contains("another migration runner holds the migration lock"),
            "{run:?}"
        );
    }
    let winners = runs
        .iter()
        .filter(|r| {
            r.stderr
                .contains(&format!("Applied {MIGRATIONS} migrations"))
        })
        .count();
    assert_eq!(winners, 1, "one runner applied everything");
    all_applied(&mut db.client(), "16 runners");
    assert_eq!(
        db.count("SELECT count(*) FROM _migrate_history"),
        MIGRATIONS as i64,
        "one row each"
    );
    check_invariants(&mut db.client(), "16 runners");
}
