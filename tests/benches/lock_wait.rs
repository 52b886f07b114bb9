//! What the application sees while a migration waits for a lock: a long reader holds ACCESS
//! SHARE on table `t` (a report query), `cargo migrate apply` runs `ALTER TABLE t ADD COLUMN`
//! (which needs ACCESS EXCLUSIVE), and four application threads read `t` in a loop the whole
//! time. Reported per `lock_timeout`: the longest and the p99 read latency, how many reads
//! waited longer than 50 ms, the read rate, and how long after the reader ended the migration
//! was applied. Side by side in one run: several timeouts, the previous default (5 s), and no
//! timeout at all (PostgreSQL's default).
//!
//! Run: `cargo bench -p migrate-tests --bench lock_wait` (`BENCH_READER_SECS`, default 8;
//! `BENCH_TIMEOUTS`, default `100ms,200ms,500ms,5s,0`).

use migrate_tests::{Project, TestDb, binary};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

struct Outcome {
    timeout: String,
    max_ms: f64,
    p99_ms: f64,
    slow_reads: usize,
    reads_per_s: f64,
    applied_after_reader_ms: f64,
    lock_timeouts: usize,
}

fn scenario(timeout: &str, reader: Duration) -> Outcome {
    let db = TestDb::new();
    db.client()
        .batch_execute("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g")
        .expect("table");
    let p = Project::with_db(&db);
    p.migration(
        "20261121090000_add_column",
        "ALTER TABLE t ADD COLUMN c int;\n",
        Some("ALTER TABLE t DROP COLUMN c;\n"),
    );
    // The long reader.
    let mut long = db.client();
    long.batch_execute("BEGIN").expect("begin");
    long.batch_execute("SELECT count(*) FROM t").expect("read");
    // The application: four threads reading t until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (stop, url) = (stop.clone(), db.url.clone());
            std::thread::spawn(move || {
                let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    client
                        .query_one("SELECT count(*) FROM t", &[])
                        .expect("read");
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let migrate = Command::new(binary())
        .arg("migrate")
        .current_dir(p.path())
        .env("DATABASE_URL", &db.url)
        .env("NO_COLOR", "1")
        .args([
            "apply",
            "--lock-timeout",
            timeout,
            "--lock-retry-budget",
            "10m",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn cargo-migrate");
    std::thread::sleep(reader);
    long.batch_execute("COMMIT").expect("end the reader");
    let reader_ended = started.elapsed();
    let out = migrate.wait_with_output().expect("wait");
    let applied = started.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let mut all: Vec<Duration> = readers
        .into_iter()
        .flat_map(|h| h.join().expect("reader"))
        .collect();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    all.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let window = reader + Duration::from_millis(600);
    Outcome {
        timeout: timeout.to_string(),
        max_ms: ms(*all.last().expect("reads")),
        p99_ms: ms(all[all.len() * 99 / 100]),
        slow_reads: all
            .iter()
            .filter(|d| **d > Duration::from_millis(50))
            .count(),
        reads_per_s: all.len() as f64 / window.as_secs_f64(),
        applied_after_reader_ms: ms(applied.saturating_sub(reader_ended)),
        lock_timeouts: stderr.matches("Lock timeout").count(),
    }
}

fn main() {
    let reader = Duration::from_secs(
        std::env::var("BENCH_READER_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(8),
    );
    let timeouts =
        std::env::var("BENCH_TIMEOUTS").unwrap_or_else(|_| "100ms,200ms,500ms,5s,0".into());
    // Build (or find) the CLI first: a build during a scenario would skew its latencies.
    binary();
    let mut outcomes = Vec::new();
    for timeout in timeouts.split(',') {
        eprintln!("lock_timeout {timeout}...");
        outcomes.push(scenario(timeout, reader));
    }
    println!(
        "\nA migration behind a {}-second reader, four application threads reading the table\n",
        reader.as_secs()
    );
    println!(
        "| {:<14} | {:>9} | {:>9} | {:>11} | {:>8} | {:>16} | {:>13} |",
        "lock_timeout",
        "max read",
        "p99 read",
        "reads >50ms",
        "reads/s",
        "applied after end",
        "lock timeouts"
    );
    println!(
        "|{:-<16}|{:->11}|{:->11}|{:->13}|{:->10}|{:->18}|{:->15}|",
        "", "", "", "", "", "", ""
    );
    for o in &outcomes {
        let label = if o.timeout == "0" {
            "0 (none)".to_string()
        } else {
            o.timeout.clone()
        };
        println!(
            "| {:<14} | {:>6.0} ms | {:>6.1} ms | {:>11} | {:>8.0} | {:>13.0} ms | {:>13} |",
            label,
            o.max_ms,
            o.p99_ms,
            o.slow_reads,
            o.reads_per_s,
            o.applied_after_reader_ms,
            o.lock_timeouts
        );
    }
}
