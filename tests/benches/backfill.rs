//! A backfill against the one big `UPDATE` it replaces, on `users` with `BENCH_ROWS` rows
//! (default 10,000,000): `UPDATE users SET display_name = split_part(email, '@', 1)`.
//!
//! Reported: the throughput of the backfill (default batch size, `pause` and `nice`) against the single
//! `UPDATE` of the same rows; the longest batch transaction (the longest any row lock is held)
//! and the batches' time in all, from the engine's progress events; and the p99 latency of a
//! pgbench-style workload (a single-row `UPDATE` or `SELECT` by id in a loop, each sent as soon
//! as the last one is answered) while the backfill runs, against the same workload alone.
//!
//! The workload has one thread by default, as pgbench has one client by default: on the 2-core
//! machine the benchmark was written for, its client and its server process use about one core
//! of the two, as an application with room to spare does. More threads (`BENCH_THREADS=4`)
//! saturate the machine: every CPU second and WAL byte the backfill takes then comes out of the
//! workload's latency (the README's figures show both).
//!
//! Run: `cargo bench -p migrate-tests --bench backfill` (`BENCH_ROWS`, `BENCH_BATCH`,
//! `BENCH_PAUSE_MS`, `BENCH_NICE`: the backfill's `nice=` ratio, `BENCH_RATE`: queries per
//! second per workload thread, for a paced workload, `BENCH_THREADS`: the workload's threads,
//! default 1).

use migrate_runtime::MigrationSet;
use migrate_runtime::engine::{ApplyOptions, Engine, Event};
use migrate_runtime::model::NiceRatio;
use migrate_tests::TestDb;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// The latencies of a workload, by kind of query.
#[derive(Default)]
struct Latencies {
    updates: Vec<Duration>,
    selects: Vec<Duration>,
}

/// `threads` application threads on `users` until `stop`: each loop a single-row UPDATE or SELECT
/// by a pseudo-random id; the latencies. With `rate` (queries per second per thread), each
/// query is sent at its scheduled time and its latency counts from then (a late start is
/// latency too); without, as fast as the server answers (the machine saturated).
fn workload(
    url: &str,
    rows: u64,
    threads: u64,
    rate: Option<f64>,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Latencies>> {
    (0..threads)
        .map(|t| {
            let (stop, url) = (stop.clone(), url.to_string());
            std::thread::spawn(move || {
                let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
                let update = client
                    .prepare("UPDATE users SET touched = touched + 1 WHERE id = $1")
                    .expect("prepare");
                let select = client
                    .prepare("SELECT email FROM users WHERE id = $1")
                    .expect("prepare");
                let mut latencies = Latencies::default();
                let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ (t + 1);
                let begun = Instant::now();
                let mut sent = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let id = (x % rows) as i64 + 1;
                    let started = match rate {
                        Some(rate) => {
                            let at = begun + Duration::from_secs_f64(f64::from(sent) / rate);
                            sent += 1;
                            std::thread::sleep(at.saturating_duration_since(Instant::now()));
                            at
                        }
                        None => Instant::now(),
                    };
                    if x.is_multiple_of(2) {
                        client.execute(&update, &[&id]).expect("update");
                        latencies.updates.push(started.elapsed());
                    } else {
                        client.query_opt(&select, &[&id]).expect("select");
                        latencies.selects.push(started.elapsed());
                    }
                }
                latencies
            })
        })
        .collect()
}

/// The `q` quantile (0.5: the median, 0.99: the 99th percentile) in milliseconds.
fn percentile(all: &[Duration], q: f64) -> f64 {
    let mut all = all.to_vec();
    all.sort();
    let at = ((all.len() as f64) * q).ceil() as usize;
    all.get(at.saturating_sub(1))
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Every thread's latencies: all of them, the updates, the selects.
fn join(handles: Vec<std::thread::JoinHandle<Latencies>>) -> [Vec<Duration>; 3] {
    let mut joined = [Vec::new(), Vec::new(), Vec::new()];
    for h in handles {
        let l = h.join().expect("workload thread");
        joined[0].extend(&l.updates);
        joined[0].extend(&l.selects);
        joined[1].extend(l.updates);
        joined[2].extend(l.selects);
    }
    joined
}

fn main() {
    let rows = env("BENCH_ROWS", 10_000_000);
    let batch = env("BENCH_BATCH", migrate_runtime::model::DEFAULT_BATCH as u64);
    let threads = env("BENCH_THREADS", 1).max(1);
    // Queries per second per workload thread; unset: as fast as the server answers.
    let rate = std::env::var("BENCH_RATE")
        .ok()
        .map(|r| {
            r.parse::<f64>()
                .expect("BENCH_RATE: queries per second per thread")
        })
        .filter(|r| *r > 0.0);
    // Milliseconds; unset: the default pause.
    let pause = std::env::var("BENCH_PAUSE_MS")
        .ok()
        .map(|ms| {
            let ms: u64 = ms
                .parse()
                .expect("BENCH_PAUSE_MS: a whole number of milliseconds");
            format!(" pause={ms}ms")
        })
        .unwrap_or_default();
    // The backfill's `nice=` ratio; unset: the default.
    let nice = std::env::var("BENCH_NICE")
        .ok()
        .map(|ratio| {
            let ratio: NiceRatio = ratio.parse().expect("BENCH_NICE");
            format!(" nice={ratio}")
        })
        .unwrap_or_default();
    let db = TestDb::new();
    let mut client = db.client();
    let t = Instant::now();
    client
        .batch_execute(&format!(
            "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, display_name text,
                                 touched int NOT NULL DEFAULT 0) WITH (fillfactor = 90);
             INSERT INTO users (id, email)
                 SELECT i, 'user' || i || '@example.org' FROM generate_series(1, {rows}) i;"
        ))
        .expect("table");
    // VACUUM cannot share a query with other statements (an implicit transaction).
    client
        .batch_execute("VACUUM ANALYZE users")
        .expect("vacuum");
    eprintln!("{rows} rows loaded in {:.1?}", t.elapsed());

    // 1. One UPDATE of every row, then the column emptied again (and vacuumed) for the
    // backfill.
    let t = Instant::now();
    client
        .batch_execute("UPDATE users SET display_name = split_part(email, '@', 1)")
        .expect("single update");
    let single = t.elapsed();
    client
        .batch_execute("UPDATE users SET display_name = NULL")
        .expect("reset");
    client
        .batch_execute("VACUUM ANALYZE users")
        .expect("vacuum");
    eprintln!("single UPDATE: {single:.1?}");

    // 2. The workload alone, for as long as the single UPDATE took (at least 5 s).
    let alone_for = single.max(Duration::from_secs(5));
    let stop = Arc::new(AtomicBool::new(false));
    let handles = workload(&db.url, rows, threads, rate, stop.clone());
    std::thread::sleep(alone_for);
    stop.store(true, Ordering::Relaxed);
    let alone = join(handles);

    // 3. The backfill, with the workload running.
    let dir = tempfile::tempdir().expect("dir");
    let folder = dir.path().join("20261122090000_fill_display_name");
    std::fs::create_dir(&folder).expect("folder");
    std::fs::write(
        folder.join("migration.sql"),
        format!(
            "-- migrate:backfill table=users key=id batch={batch}{pause}{nice}\n\
             UPDATE users SET display_name = split_part(email, '@', 1)\n\
             WHERE display_name IS NULL AND id BETWEEN :batch_start AND :batch_end;\n"
        ),
    )
    .expect("migration");
    let set = MigrationSet::read(dir.path()).expect("read");
    let stop = Arc::new(AtomicBool::new(false));
    let handles = workload(&db.url, rows, threads, rate, stop.clone());
    let mut longest = Duration::ZERO;
    let mut busy = Duration::ZERO;
    let mut batches = 0u64;
    let mut batch_times = Vec::new();
    let t = Instant::now();
    Engine::default()
        .apply(&mut client, &set, &ApplyOptions::default(), &mut |e| {
            if let Event::BackfillProgress {
                progress,
                batch_time,
                ..
            } = e
            {
                // The batch's transaction: the walk, the statement, the checkpoint and the
                // commit (not the sleep after it).
                if let Some(took) = batch_time {
                    longest = longest.max(took);
                    busy += took;
                    batch_times.push(took);
                }
                batches = progress.batches;
            }
        })
        .expect("backfill");
    let backfill = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    let during = join(handles);
    assert_eq!(
        db.count("SELECT count(*) FROM users WHERE display_name IS NULL"),
        0,
        "every row backfilled"
    );

    let secs = |d: Duration| d.as_secs_f64();
    let pace = rate.map_or("as fast as answered".to_string(), |r| {
        format!("{r} queries/s each")
    });
    let plural = if threads == 1 { "" } else { "s" };
    let nice = if nice.is_empty() {
        format!(
            " nice={} (the default)",
            migrate_runtime::model::DEFAULT_NICE
        )
    } else {
        nice
    };
    println!(
        "\nbackfill of {rows} rows, batch {batch}{pause}{nice} ({batches} batches), {threads} workload thread{plural} ({pace})\n"
    );
    println!("| measure | value | target | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| single UPDATE (no workload) | {:.1} s ({:.0} rows/s) | | 1.00x |",
        secs(single),
        rows as f64 / secs(single)
    );
    println!(
        "| backfill (with the workload) | {:.1} s ({:.0} rows/s) | within 2x | {:.2}x |",
        secs(backfill),
        rows as f64 / secs(backfill),
        secs(backfill) / secs(single)
    );
    println!(
        "| longest batch transaction | {:.1} ms | < 100 ms | {:.2}x of target |",
        secs(longest) * 1000.0,
        secs(longest) * 1000.0 / 100.0
    );
    // The longest batch is one of thousands: a stall of the disk sets it. How many batches
    // went over the target, and the distribution below it, say whether it was one.
    let over = batch_times
        .iter()
        .filter(|t| **t > Duration::from_millis(100))
        .count();
    println!(
        "| batch transactions: p50 / p99 / p99.9 | {:.1} / {:.1} / {:.1} ms ({over} of {} over 100 ms) | | |",
        percentile(&batch_times, 0.5),
        percentile(&batch_times, 0.99),
        percentile(&batch_times, 0.999),
        batch_times.len()
    );
    println!(
        "| batches' own time (the rest: sleeps, events) | {:.1} s ({:.0}% of the backfill) | | |",
        secs(busy),
        100.0 * secs(busy) / secs(backfill)
    );
    for (i, what) in ["workload", "its UPDATEs", "its SELECTs"]
        .iter()
        .enumerate()
    {
        let (a, d) = (percentile(&alone[i], 0.99), percentile(&during[i], 0.99));
        let target = if i == 0 { "< 2x" } else { "" };
        // The median beside it: a throttle that rests between batches shortens the time the
        // workload shares the machine, which shows in the body of the distribution first.
        println!(
            "| {what}: p99 alone | {a:.2} ms (p50 {:.2} ms, {} queries) | | 1.00x |",
            percentile(&alone[i], 0.5),
            alone[i].len()
        );
        println!(
            "| {what}: p99 during the backfill | {d:.2} ms (p50 {:.2} ms, {} queries) | {target} | {:.2}x |",
            percentile(&during[i], 0.5),
            during[i].len(),
            d / a.max(f64::MIN_POSITIVE)
        );
    }
}
