//! Applying 1000 tiny generated migrations to a fresh database, side by side:
//! cargo-migrate (library and CLI), refinery (sync `postgres` backend), and the floor: one
//! `psql` session running the same files with one transaction per file. Medians of several
//! runs (`BENCH_RUNS`, default 5; `BENCH_MIGRATIONS`, default 1000).
//!
//! Run: `cargo bench -p migrate-tests --bench apply`

use migrate_tests::{Project, TestDb, binary};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sql(i: usize) -> String {
    format!("CREATE TABLE t_{i} (id bigint PRIMARY KEY, note text);\n")
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let n = env_usize("BENCH_MIGRATIONS", 1000);
    let runs = env_usize("BENCH_RUNS", 5);

    // The same SQL in each tool's layout.
    let ours = Project::new();
    let refinery_dir = tempfile::tempdir().expect("temp dir");
    let psql_dir = tempfile::tempdir().expect("temp dir");
    let mut psql_script = String::from("\\set ON_ERROR_STOP 1\n");
    for i in 0..n {
        // With down.sql, as the apply gate's lint requires of drafts.
        ours.migration(
            &format!("{}_m{i}", 20260101000000u64 + i as u64),
            &sql(i),
            Some(&format!("DROP TABLE t_{i};")),
        );
        std::fs::write(
            refinery_dir.path().join(format!("V{}__m{i}.sql", i + 1)),
            sql(i),
        )
        .expect("write");
        let file = psql_dir.path().join(format!("{i}.sql"));
        std::fs::write(&file, sql(i)).expect("write");
        psql_script.push_str(&format!("BEGIN;\n\\i {}\nCOMMIT;\n", file.display()));
    }
    let script = psql_dir.path().join("all.sql");
    std::fs::write(&script, psql_script).expect("write");
    let migrations_dir = ours.path().join("migrations");
    let set = migrate_runtime::MigrationSet::read(&migrations_dir).expect("read migrations");
    let refinery_migrations =
        refinery::load_sql_migrations(refinery_dir.path()).expect("refinery migrations");
    let cli = binary();

    let mut results: Vec<(&str, Vec<Duration>)> = vec![
        ("psql, one session, 1 tx per file", Vec::new()),
        ("cargo-migrate (library)", Vec::new()),
        ("cargo-migrate (CLI: read, verify, apply, seal)", Vec::new()),
        ("refinery 0.10 (sync postgres)", Vec::new()),
    ];
    for run in 0..runs {
        for (tool, times) in results.iter_mut() {
            let db = TestDb::new();
            let elapsed = match *tool {
                t if t.starts_with("psql") => time_psql(&db, &script),
                "cargo-migrate (library)" => {
                    let mut client = db.client();
                    let engine = migrate_runtime::engine::Engine::default();
                    let t = Instant::now();
                    let report = engine
                        .apply(&mut client, &set, &Default::default(), &mut |_| {})
                        .expect("apply");
                    assert_eq!(report.applied.len(), n);
                    t.elapsed()
                }
                t if t.starts_with("cargo-migrate (CLI") => {
                    let _ = std::fs::remove_file(migrations_dir.join("migrations.lock"));
                    let t = Instant::now();
                    let out = Command::new(cli)
                        .args(["migrate", "--dir"])
                        .arg(&migrations_dir)
                        .args(["--database-url", &db.url, "apply"])
                        .output()
                        .expect("run cargo-migrate");
                    let elapsed = t.elapsed();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    elapsed
                }
                _ => {
                    let mut client = db.client();
                    let t = Instant::now();
                    refinery::Runner::new(&refinery_migrations)
                        .run(&mut client)
                        .expect("refinery");
                    t.elapsed()
                }
            };
            assert_eq!(
                db.count("SELECT count(*) FROM pg_tables WHERE tablename LIKE 't\\_%'"),
                n as i64,
                "{tool} created every table"
            );
            times.push(elapsed);
        }
        eprintln!("run {} of {runs} done", run + 1);
    }

    let floor = median(results[0].1.clone());
    println!("\nApply {n} tiny migrations to a fresh database (median of {runs} runs)\n");
    println!(
        "| {:<48} | {:>10} | {:>9} | {:>12} |",
        "tool", "median", "per file", "vs psql floor"
    );
    println!("|{:-<50}|{:->12}|{:->11}|{:->14}|", "", "", "", "");
    for (tool, times) in &results {
        let m = median(times.clone());
        println!(
            "| {:<48} | {:>7.0} ms | {:>6.2} ms | {:>13.2}x |",
            tool,
            m.as_secs_f64() * 1000.0,
            m.as_secs_f64() * 1000.0 / n as f64,
            m.as_secs_f64() / floor.as_secs_f64()
        );
    }
}

fn time_psql(db: &TestDb, script: &Path) -> Duration {
    let t = Instant::now();
    let out = Command::new("psql")
        .args(["-q", "-X", "-d", &db.url, "-f"])
        .arg(script)
        .output()
        .expect("run psql");
    let elapsed = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}
