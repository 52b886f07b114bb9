//! `verify --all` over a generated history, against applying the same history once: the
//! issue's target is within 3x. Each migration creates a table with an index and a foreign key
//! to the previous one (so refreshes have dependents to follow), and its down.sql drops it.
//! Also a full capture after each step (what verify would cost without refreshes), for scale.
//! Medians of several runs (`BENCH_RUNS`, default 3; `BENCH_MIGRATIONS`, default 300;
//! `BENCH_CAPTURES=0` leaves the full captures out).
//!
//! Each timed phase starts with a `CHECKPOINT`: PostgreSQL's `DROP DATABASE` (verify drops
//! its shadow database at the end) forces an immediate checkpoint, which writes whatever the
//! whole cluster has dirty; without one before, verify would pay for writing out the pages of
//! the apply just measured. The drop is timed on its own as well.
//!
//! Both sides run over plain TCP (the shadow's connection asks for `sslmode=disable`, as the
//! apply side's client is plain).
//!
//! Run: `cargo bench -p migrate-tests --bench verify`

use migrate_runtime::engine::connection::ConnInfo;
use migrate_runtime::schema::{Snapshot, SnapshotOptions};
use migrate_runtime::shadow::{ShadowDb, VerifyRequest, verify};
use migrate_tests::{Project, TestDb, admin_url};
use std::time::{Duration, Instant};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn up(i: usize) -> String {
    let reference = if i == 0 {
        String::new()
    } else {
        format!(", parent bigint REFERENCES t_{} (id)", i - 1)
    };
    format!(
        "CREATE TABLE t_{i} (id bigint PRIMARY KEY, note text NOT NULL DEFAULT ''{reference});\n\
         CREATE INDEX t_{i}_note ON t_{i} (note);\n"
    )
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let n = env_usize("BENCH_MIGRATIONS", 300);
    let runs = env_usize("BENCH_RUNS", 3);
    let project = Project::new();
    for i in 0..n {
        project.migration(
            &format!("{}_m{i}", 20260101000000u64 + i as u64),
            &up(i),
            Some(&format!("DROP TABLE t_{i};\n")),
        );
    }
    let set = migrate_runtime::MigrationSet::read(&project.path().join("migrations"))
        .expect("read migrations");
    // Both sides over the same transport: the apply side's client (`TestDb::client`) is plain
    // TCP, and the shadow's session would otherwise negotiate TLS with a server that offers
    // it (`sslmode=prefer`), paying for encryption on every message the apply side does not.
    let url = admin_url();
    let plain = format!(
        "{url}{}sslmode=disable",
        if url.contains('?') { '&' } else { '?' }
    );
    let server = ConnInfo::parse(&plain).expect("admin url");

    let with_captures = env_usize("BENCH_CAPTURES", 1) != 0;
    let mut admin = postgres::Client::connect(&admin_url(), postgres::NoTls).expect("connect");
    let mut checkpoint = || admin.batch_execute("CHECKPOINT").expect("checkpoint");
    let (mut apply, mut verified, mut drops, mut captures) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        let db = TestDb::new();
        let mut client = db.client();
        checkpoint();
        let t = Instant::now();
        let report = migrate_runtime::engine::Engine::default()
            .apply(&mut client, &set, &Default::default(), &mut |_| {})
            .expect("apply");
        apply.push(t.elapsed());
        assert_eq!(report.applied.len(), n);

        checkpoint();
        let t = Instant::now();
        let mut shadow = ShadowDb::create(&server, None).expect("shadow database");
        let request = VerifyRequest {
            set: &set,
            check: set.migrations.iter().map(|m| m.version).collect(),
            snapshot: SnapshotOptions::default(),
        };
        let checked = verify(&mut shadow, &request, &mut |_| {}).expect("verify");
        let dropping = Instant::now();
        shadow.drop_now().expect("drop the shadow database");
        drops.push(dropping.elapsed());
        verified.push(t.elapsed());
        assert!(
            checked.iter().all(|c| c.verdict.passes()),
            "every migration verifies"
        );

        if !with_captures {
            eprintln!("run {} of {runs} done", run + 1);
            continue;
        }
        // What checking each step with full captures would read: S1, S0', S1' per migration.
        let scratch = TestDb::new();
        let mut c = scratch.client();
        let mut spent = Duration::ZERO;
        for i in 0..n {
            c.batch_execute(&up(i)).expect("up");
            let t = Instant::now();
            for _ in 0..3 {
                Snapshot::capture(&mut c, &SnapshotOptions::default()).expect("capture");
            }
            spent += t.elapsed();
        }
        captures.push(spent);
        eprintln!("run {} of {runs} done", run + 1);
    }
    let base = median(apply.clone()).as_secs_f64();
    println!("\nverify --all over {n} generated migrations (median of {runs} runs)\n");
    println!("| {:<52} | {:>10} | {:>10} |", "work", "median", "vs apply");
    println!("|{:-<54}|{:->12}|{:->12}|", "", "", "");
    for (what, times) in [
        ("apply them once (library)", &apply),
        (
            "verify --all (shadow, up/down/up, refreshed snapshots)",
            &verified,
        ),
        (
            "  of which dropping the shadow database (a checkpoint)",
            &drops,
        ),
        (
            "three full captures per migration alone (for scale)",
            &captures,
        ),
    ] {
        if times.is_empty() {
            continue;
        }
        let m = median(times.clone()).as_secs_f64();
        println!(
            "| {:<52} | {:>7.0} ms | {:>9.2}x |",
            what,
            m * 1000.0,
            m / base
        );
    }
}
