//! `status` of a project whose 10,000 migrations are all applied, side by side with
//! `sqlx migrate info` (sqlx-cli, the real command, on the same SQL in sqlx's layout and a
//! database that `sqlx migrate run` brought up to date). Both read every file, hash it, read
//! the history and print one line per migration.
//!
//! The project and both databases are built once (that takes a minute or two: 10,000
//! migrations applied by each tool); then each timed run starts the command as a child of a
//! small measuring process (this benchmark re-executed), which reports the wall time and the
//! peak resident memory of the command and everything it started (`RUSAGE_CHILDREN`, as
//! `/usr/bin/time` reports it). Medians of `BENCH_RUNS` (default 7) runs;
//! `BENCH_MIGRATIONS` (default 10000) migrations.
//!
//! The project has a `target/` directory, as a project being worked on does, so `status`
//! keeps its stat cache there; each command runs once untimed first (building that cache,
//! and warming the page cache for both tools). `BENCH_BASELINE` names another `cargo-migrate`
//! binary (e.g. one built from an earlier commit) to time in the same runs, on the same
//! project and database.
//!
//! sqlx-cli is built once into `target/bench-tools` (`cargo install sqlx-cli --version
//! =0.9.0 --no-default-features --features postgres,rustls`, a few minutes); `SQLX` names
//! another `sqlx` binary to use instead.
//!
//! Run: `cargo bench -p migrate-tests --bench status`

use migrate_tests::{Project, TestDb, binary, target_dir};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The measuring child: runs the command given after `--measure`, then prints
/// `<exit code> <wall µs> <peak KiB>`.
const MEASURE: &str = "--measure";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A migration of realistic size: a header comment, a table and an index.
fn up(i: usize) -> String {
    format!(
        "-- Orders of tenant {i}: one table per tenant, with the index the order list needs.\n\
         CREATE TABLE t_{i} (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    \
         customer_id bigint NOT NULL,\n    note text,\n    created_at timestamptz NOT NULL DEFAULT now()\n);\n\
         CREATE INDEX t_{i}_customer_idx ON t_{i} (customer_id, created_at);\n"
    )
}

fn down(i: usize) -> String {
    format!("DROP TABLE t_{i};\n")
}

fn measure(args: &[String]) -> ! {
    let t = Instant::now();
    let status = Command::new(&args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .status()
        .expect("run the measured command");
    let wall = t.elapsed();
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage");
    println!(
        "{} {} {}",
        status.code().unwrap_or(-1),
        wall.as_micros(),
        usage.max_rss()
    );
    std::process::exit(0)
}

/// One timed run: wall time and peak RSS (MiB) of `command` run in `dir` with `env`.
fn run(dir: &Path, command: &[String], env: &[(&str, &str)], expect_code: i32) -> (Duration, f64) {
    let out = Command::new(std::env::current_exe().expect("this benchmark"))
        .arg(MEASURE)
        .args(command)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .envs(env.iter().copied())
        .output()
        .expect("measuring child");
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<u64> = text
        .split_whitespace()
        .map(|f| f.parse().expect("number"))
        .collect();
    assert_eq!(
        fields.first().copied(),
        Some(expect_code as u64),
        "{command:?} exited otherwise: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (Duration::from_micros(fields[1]), fields[2] as f64 / 1024.0)
}

/// The `sqlx` binary: `SQLX`, else sqlx-cli installed once under `target/bench-tools`.
fn sqlx() -> PathBuf {
    if let Some(path) = std::env::var_os("SQLX") {
        return path.into();
    }
    let root = target_dir().join("bench-tools");
    let bin = root.join("bin/sqlx");
    if !bin.is_file() {
        eprintln!("building sqlx-cli 0.9.0 into {} (once)...", root.display());
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "install",
                "sqlx-cli",
                "--version",
                "=0.9.0",
                "--no-default-features",
                "--features",
                "postgres,rustls",
                "--root",
            ])
            .arg(&root)
            .status()
            .expect("cargo install");
        assert!(status.success(), "cargo install sqlx-cli failed");
    }
    bin
}

fn median<T: Copy + PartialOrd>(mut v: Vec<T>) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(MEASURE) {
        measure(&args[2..]);
    }
    let n = env_usize("BENCH_MIGRATIONS", 10_000);
    let runs = env_usize("BENCH_RUNS", 7);
    let sqlx = sqlx();

    // The same SQL in each tool's layout.
    let ours = Project::new();
    let sqlx_dir = tempfile::tempdir().expect("temp dir");
    for i in 0..n {
        let version = 20260101000000u64 + i as u64;
        ours.migration(&format!("{version}_m{i}"), &up(i), Some(&down(i)));
        std::fs::write(
            sqlx_dir.path().join(format!("{version}_m{i}.up.sql")),
            up(i),
        )
        .expect("write");
        std::fs::write(
            sqlx_dir.path().join(format!("{version}_m{i}.down.sql")),
            down(i),
        )
        .expect("write");
    }
    std::fs::create_dir(ours.path().join("target")).expect("target dir");
    let migrations = ours.path().join("migrations");
    let set = migrate_runtime::MigrationSet::read(&migrations).expect("read");
    let sealed = migrate_runtime::seal(
        &set,
        &migrate_runtime::LockState::Absent,
        &Default::default(),
    )
    .expect("seal");
    migrate_runtime::lockfile::write(&migrations, &sealed.lock).expect("write lock");

    eprintln!("applying {n} migrations with each tool (once)...");
    let our_db = TestDb::new();
    let report = migrate_runtime::engine::Engine::default()
        .apply(&mut our_db.client(), &set, &Default::default(), &mut |_| {})
        .expect("apply");
    assert_eq!(report.applied.len(), n);
    let sqlx_db = TestDb::new();
    let out = Command::new(&sqlx)
        .args(["migrate", "run", "--source"])
        .arg(sqlx_dir.path())
        .args(["--database-url", &sqlx_db.url])
        .output()
        .expect("sqlx migrate run");
    assert!(
        out.status.success(),
        "sqlx migrate run: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let ours_cmd = vec![
        binary().display().to_string(),
        "migrate".into(),
        "status".into(),
    ];
    let sqlx_cmd = vec![
        sqlx.display().to_string(),
        "migrate".into(),
        "info".into(),
        "--source".into(),
        sqlx_dir.path().display().to_string(),
        "--database-url".into(),
        sqlx_db.url.clone(),
    ];
    let baseline_cmd = std::env::var("BENCH_BASELINE")
        .ok()
        .map(|bin| vec![bin, "migrate".into(), "status".into()]);
    let our_env = [("DATABASE_URL", our_db.url.as_str()), ("NO_COLOR", "1")];
    let mut samples: Vec<(&str, Vec<(Duration, f64)>)> = vec![
        ("cargo-migrate status (CLI)", Vec::new()),
        ("sqlx migrate info (sqlx-cli 0.9.0)", Vec::new()),
    ];
    if baseline_cmd.is_some() {
        samples.push(("cargo-migrate status (BENCH_BASELINE)", Vec::new()));
    }
    run(ours.path(), &ours_cmd, &our_env, 0);
    run(sqlx_dir.path(), &sqlx_cmd, &[], 0);
    for _ in 0..runs {
        samples[0].1.push(run(ours.path(), &ours_cmd, &our_env, 0));
        samples[1].1.push(run(sqlx_dir.path(), &sqlx_cmd, &[], 0));
        if let Some(cmd) = &baseline_cmd {
            samples[2].1.push(run(ours.path(), cmd, &our_env, 0));
        }
    }
    let medians: Vec<(&str, Duration, f64)> = samples
        .iter()
        .map(|(name, s)| {
            (
                *name,
                median(s.iter().map(|x| x.0).collect()),
                median(s.iter().map(|x| x.1).collect()),
            )
        })
        .collect();
    let (peer_time, peer_mem) = (medians[1].1, medians[1].2);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "\n`status` with {n} applied migrations (median of {runs} runs; load average at the end: {})\n",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "| {:<38} | {:>10} | {:>10} | {:>8} | {:>9} |",
        "command", "median", "peak RSS", "vs sqlx", "RSS ratio"
    );
    println!(
        "|{:-<40}|{:->12}|{:->12}|{:->10}|{:->11}|",
        "", "", "", "", ""
    );
    for (name, time, mem) in &medians {
        println!(
            "| {:<38} | {:>7.0} ms | {:>7.1} MB | {:>7.2}x | {:>8.2}x |",
            name,
            time.as_secs_f64() * 1000.0,
            mem,
            time.as_secs_f64() / peer_time.as_secs_f64(),
            mem / peer_mem
        );
    }
}
