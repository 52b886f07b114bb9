//! Applying one huge migration (a table and 445,000 `INSERT`s, about 50 MB), side by side with
//! the floor: `psql -1 -f` running the same file in one transaction. cargo-migrate's CLI with
//! the file as a draft (the lint gate and sealing included) and sealed, and `lint` alone; wall
//! time and each process's peak memory (`/usr/bin/time`). Medians of several runs
//! (`BENCH_RUNS`, default 3; `BENCH_STATEMENTS`, default 445000).
//!
//! Run: `cargo bench -p migrate-tests --bench big_file`

use migrate_tests::bench::{Measured, env_usize, measure, median, psql_single_transaction};
use migrate_tests::{Project, TestDb, binary};
use std::path::Path;
use std::process::Command;

const TOOLS: [&str; 4] = [
    "psql -1 -f",
    "cargo-migrate apply (draft: lint, seal)",
    "cargo-migrate apply (sealed)",
    "cargo-migrate lint alone",
];

fn main() {
    let n = env_usize("BENCH_STATEMENTS", 445_000);
    let runs = env_usize("BENCH_RUNS", 3);
    let mut sql = String::from("CREATE TABLE big (id bigint PRIMARY KEY, note text, n int);\n");
    for i in 0..n {
        sql.push_str(&format!(
            "INSERT INTO big (id, note, n) VALUES ({i}, 'row number {i} with some filler text to make it longer', {});\n",
            i % 97
        ));
    }
    let size = sql.len();
    let ours = Project::new();
    ours.migration("20260101000000_big", &sql, Some("DROP TABLE big;\n"));
    drop(sql);
    let dir = ours.path().join("migrations");
    let file = dir.join("20260101000000_big/migration.sql");
    let lock = dir.join("migrations.lock");
    let cli = binary();
    let keep = tempfile::tempdir().expect("temp dir");
    let sealed = keep.path().join("sealed.lock");
    let seal = Command::new(cli)
        .args(["migrate", "--dir"])
        .arg(&dir)
        .arg("seal")
        .output()
        .expect("seal");
    assert!(seal.status.success(), "{seal:?}");
    std::fs::copy(&lock, &sealed).expect("keep the sealed lock file");

    let mut results: Vec<Vec<Measured>> = vec![Vec::new(); TOOLS.len()];
    for run in 0..runs {
        for (t, tool) in TOOLS.iter().enumerate() {
            let db = TestDb::new();
            let apply = |lock_file: Option<&Path>| {
                let _ = std::fs::remove_file(&lock);
                if let Some(l) = lock_file {
                    std::fs::copy(l, &lock).expect("sealed lock file");
                }
                let mut c = Command::new(cli);
                c.args(["migrate", "--dir"])
                    .arg(&dir)
                    .args(["--database-url", &db.url, "apply"]);
                measure(&mut c)
            };
            let m = match t {
                0 => {
                    let mut c = psql_single_transaction(&db.url, &file);
                    measure(&mut c)
                }
                1 => apply(None),
                2 => apply(Some(&sealed)),
                _ => {
                    let _ = std::fs::remove_file(&lock);
                    let mut c = Command::new(cli);
                    c.args(["migrate", "--dir"])
                        .arg(&dir)
                        .args(["lint", "--all"]);
                    measure(&mut c)
                }
            };
            if t < 3 {
                assert_eq!(
                    db.count("SELECT count(*) FROM big"),
                    n as i64,
                    "{tool} inserted every row"
                );
            }
            results[t].push(m);
        }
        eprintln!("run {} of {runs} done", run + 1);
    }

    let wall = |r: &[Measured]| median(r.iter().map(|m| m.wall).collect());
    let peak = |r: &[Measured]| median(r.iter().map(|m| m.peak_kb).collect());
    let floor = wall(&results[0]);
    let mb = size as f64 / 1e6;
    println!(
        "\nApply one migration of {} statements ({mb:.1} MB) (median of {runs} runs)\n",
        n + 1
    );
    println!(
        "| {:<40} | {:>10} | {:>8} | {:>9} | {:>12} |",
        "work", "median", "vs psql", "peak", "peak vs file"
    );
    println!(
        "|{:-<42}|{:->12}|{:->10}|{:->11}|{:->14}|",
        "", "", "", "", ""
    );
    for (tool, r) in TOOLS.iter().zip(&results) {
        let (w, p) = (wall(r), peak(r));
        println!(
            "| {:<40} | {:>8.1} s | {:>7.2}x | {:>6.0} MB | {:>11.1}x |",
            tool,
            w.as_secs_f64(),
            w.as_secs_f64() / floor.as_secs_f64(),
            p as f64 / 1024.0,
            p as f64 * 1024.0 / size as f64
        );
    }
}
