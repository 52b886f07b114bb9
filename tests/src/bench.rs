//! What the benchmarks share: their settings from the environment, medians, and timing a
//! child process with its peak memory (`/usr/bin/time -f %M`, so the child's own maximum
//! resident set, not the benchmark's).
//!
//! ```no_run
//! use migrate_tests::bench::{env_usize, median, measure};
//! use std::process::Command;
//! let runs = env_usize("BENCH_RUNS", 3);
//! let mut psql = Command::new("psql");
//! psql.args(["-X", "-c", "SELECT 1"]);
//! let m = measure(&mut psql);
//! println!("{} runs; {:?}, {} KB peak", runs, median(vec![m.wall]), m.peak_kb);
//! ```

use std::process::Command;
use std::time::{Duration, Instant};

/// A numeric setting from the environment, or its default.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The median (the upper one of an even count).
pub fn median<T: Ord + Copy>(mut values: Vec<T>) -> T {
    values.sort();
    values[values.len() / 2]
}

/// One timed run of a child process.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Wall time.
    pub wall: Duration,
    /// The child's peak resident memory, in KiB.
    pub peak_kb: u64,
}

/// Runs `command` under `/usr/bin/time` and returns its wall time and peak memory; panics
/// (with its stderr) when it fails.
pub fn measure(command: &mut Command) -> Measured {
    let out_file = tempfile::NamedTempFile::new().expect("temp file");
    let mut timed = Command::new("/usr/bin/time");
    timed
        .args(["-f", "%M", "-o"])
        .arg(out_file.path())
        .arg(command.get_program())
        .args(command.get_args());
    for (k, v) in command.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        timed.current_dir(dir);
    }
    let started = Instant::now();
    let out = timed.output().expect("run /usr/bin/time");
    let wall = started.elapsed();
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        command,
        String::from_utf8_lossy(&out.stderr)
    );
    let peak_kb = std::fs::read_to_string(out_file.path())
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0);
    Measured { wall, peak_kb }
}

/// `psql` running one SQL file in one transaction, stopping at the first error: the floor the
/// apply benchmarks compare with.
pub fn psql_single_transaction(url: &str, file: &std::path::Path) -> Command {
    let mut c = Command::new("psql");
    c.args(["-q", "-X", "-1", "-v", "ON_ERROR_STOP=1", "-d", url, "-f"])
        .arg(file);
    c
}
