//! Applying 1000 tiny generated migrations in one transaction, side by side with the floor:
//! one `psql -1` session running the same files in one transaction. cargo-migrate through the
//! library, and through the CLI with drafts (lint gate and sealing included) and with sealed
//! migrations. Medians of several runs (`BENCH_RUNS`, default 5; `BENCH_MIGRATIONS`, default
//! 1000).
//!
//! Run: `cargo bench -p migrate-tests --bench single_tx`

use migrate_tests::bench::{env_usize, measure, median, psql_single_transaction};
use migrate_tests::{Project, TestDb, binary};
use std::process::Command;
use std::time::{Duration, Instant};

fn sql(i: usize) -> String {
    format!("CREATE TABLE t_{i} (id bigint PRIMARY KEY, note text);\n")
}

const TOOLS: [&str; 4] = [
    "psql -1, all files in one transaction",
    "cargo-migrate (library)",
    "cargo-migrate CLI, drafts (lint, seal)",
    "cargo-migrate CLI, sealed",
];

fn main() {
    let n = env_usize("BENCH_MIGRATIONS", 1000);
    let runs = env_usize("BENCH_RUNS", 5);
    let ours = Project::new();
    let mut all = String::new();
    for i in 0..n {
        ours.migration(
            &format!("{}_m{i}", 20260101000000u64 + i as u64),
            &sql(i),
            Some(&format!("DROP TABLE t_{i};")),
        );
        all.push_str(&sql(i));
    }
    let psql_dir = tempfile::tempdir().expect("temp dir");
    let script = psql_dir.path().join("all.sql");
    std::fs::write(&script, all).expect("write");
    let dir = ours.path().join("migrations");
    let lock = dir.join("migrations.lock");
    let cli = binary();
    let sealed = psql_dir.path().join("sealed.lock");
    let seal = Command::new(cli)
        .args(["migrate", "--dir"])
        .arg(&dir)
        .arg("seal")
        .output()
        .expect("seal");
    assert!(seal.status.success(), "{seal:?}");
    std::fs::copy(&lock, &sealed).expect("keep the sealed lock file");
    let set = migrate_runtime::MigrationSet::read(&dir).expect("read migrations");

    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); TOOLS.len()];
    for run in 0..runs {
        for (t, tool) in TOOLS.iter().enumerate() {
            let db = TestDb::new();
            let cli_run = |lock_file: Option<&std::path::Path>| {
                let _ = std::fs::remove_file(&lock);
                if let Some(l) = lock_file {
                    std::fs::copy(l, &lock).expect("sealed lock file");
                }
                let mut c = Command::new(cli);
                c.args(["migrate", "--dir"]).arg(&dir).args([
                    "--database-url",
                    &db.url,
                    "apply",
                    "--single-transaction",
                ]);
                measure(&mut c).wall
            };
            let elapsed = match t {
                0 => {
                    let mut c = psql_single_transaction(&db.url, &script);
                    measure(&mut c).wall
                }
                1 => {
                    let mut client = db.client();
                    let engine = migrate_runtime::engine::Engine::default();
                    let options = migrate_runtime::engine::ApplyOptions {
                        single_transaction: true,
                        ..Default::default()
                    };
                    let started = Instant::now();
                    let report = engine
                        .apply(&mut client, &set, &options, &mut |_| {})
                        .expect("apply");
                    assert_eq!(report.applied.len(), n);
                    started.elapsed()
                }
                2 => cli_run(None),
                _ => cli_run(Some(&sealed)),
            };
            assert_eq!(
                db.count("SELECT count(*) FROM pg_tables WHERE tablename LIKE 't\\_%'"),
                n as i64,
                "{tool} created every table"
            );
            times[t].push(elapsed);
        }
        eprintln!("run {} of {runs} done", run + 1);
    }

    let floor = median(times[0].clone());
    println!("\nApply {n} tiny migrations in one transaction (median of {runs} runs)\n");
    println!(
        "| {:<40} | {:>10} | {:>9} | {:>10} |",
        "tool", "median", "per file", "vs floor"
    );
    println!("|{:-<42}|{:->12}|{:->11}|{:->12}|", "", "", "", "");
    for (tool, t) in TOOLS.iter().zip(&times) {
        let m = median(t.clone());
        println!(
            "| {:<40} | {:>7.0} ms | {:>6.2} ms | {:>9.2}x |",
            tool,
            m.as_secs_f64() * 1000.0,
            m.as_secs_f64() * 1000.0 / n as f64,
            m.as_secs_f64() / floor.as_secs_f64()
        );
    }
}
