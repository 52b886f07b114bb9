//! `apply --fleet` of 10 migrations to 50 databases through the CLI: wall time with `--jobs 1`
//! against `--jobs 4` (the default). Each migration creates a table with an index; before each
//! timed run every database is emptied (its `public` schema, which holds the history, dropped
//! and recreated), so each run applies all ten everywhere. Medians of several runs
//! (`BENCH_RUNS`, default 3; `BENCH_DATABASES`, default 50; `BENCH_JOBS`, default "1,4").
//!
//! Run: `cargo bench -p migrate-tests --bench fleet`

use migrate_tests::{Project, TestDb};
use std::time::{Duration, Instant};

const MIGRATIONS: usize = 10;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Empties a database: the next run applies every migration again.
fn empty(db: &TestDb) {
    db.client()
        .batch_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        .expect("empty the database");
}

fn main() {
    let runs = env_usize("BENCH_RUNS", 3);
    let n = env_usize("BENCH_DATABASES", 50);
    let jobs: Vec<String> = std::env::var("BENCH_JOBS")
        .unwrap_or_else(|_| "1,4".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let project = Project::new();
    for i in 1..=MIGRATIONS {
        project.migration(
            &format!("202601010000{i:02}_t{i}"),
            &format!(
                "CREATE TABLE t{i} (id bigint PRIMARY KEY, note text NOT NULL DEFAULT '');\n\
                 CREATE INDEX t{i}_note ON t{i} (note);\n"
            ),
            Some(&format!("DROP TABLE t{i};\n")),
        );
    }
    let sealed = project.run(&["seal"]);
    assert_eq!(sealed.code, 0, "{sealed:?}");
    let dbs: Vec<TestDb> = (0..n).map(|_| TestDb::new()).collect();
    let fleet: String = dbs.iter().map(|db| format!("{}\n", db.url)).collect();
    project.file("fleet.txt", fleet);

    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); jobs.len()];
    for run in 0..runs {
        for (k, j) in jobs.iter().enumerate() {
            dbs.iter().for_each(empty);
            let t = Instant::now();
            let out = project.run(&["-q", "apply", "--fleet", "fleet.txt", "--jobs", j]);
            times[k].push(t.elapsed());
            assert_eq!(out.code, 0, "{out:?}");
            assert!(
                out.stdout
                    .contains(&format!("{n} databases: {n} applied in ")),
                "{}",
                out.stdout
            );
        }
        eprintln!("run {} of {runs} done", run + 1);
    }
    let base = median(times[0].clone()).as_secs_f64();
    println!(
        "\napply --fleet: {MIGRATIONS} migrations to {n} databases, CLI end to end (median of {runs} runs)\n"
    );
    println!(
        "| {:<10} | {:>10} | {:>14} | {:>10} |",
        "jobs", "wall time", "per database", "speed-up"
    );
    println!("|{:-<12}|{:->12}|{:->16}|{:->12}|", "", "", "", "");
    for (j, t) in jobs.iter().zip(&times) {
        let m = median(t.clone()).as_secs_f64();
        println!(
            "| --jobs {:<3} | {:>7.0} ms | {:>11.1} ms | {:>9.2}x |",
            j,
            m * 1000.0,
            m * 1000.0 / n as f64,
            base / m
        );
    }
}
