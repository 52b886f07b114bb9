//! Compile-time cost of embedding 1000 generated migrations, side by side: a crate using
//! `migrate_macros::embed_migrations!` (which also verifies the lock file and hashes every file
//! at compile time), the same crate using refinery's `embed_migrations!`, and using sqlx's
//! `sqlx::migrate!` (SHA-384 of every file at compile time). Dependencies are built once first;
//! each timed run touches the crate's source and rebuilds it alone. Each crate can apply its
//! migrations to PostgreSQL, as an application does: ours with `migrate-runtime`'s default
//! features (the `postgres` crate, and TLS), refinery with its `postgres` feature (the
//! `postgres` crate, no TLS), sqlx with its PostgreSQL driver. Medians of `BENCH_RUNS`
//! (default 5) runs; `BENCH_MIGRATIONS` (default 1000) migrations.
//!
//! Run: `cargo bench -p migrate-tests --bench compile`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

fn sql(i: usize) -> String {
    format!("CREATE TABLE t_{i} (id bigint PRIMARY KEY, note text);\n")
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn cargo_build(dir: &Path, target: &Path) -> Duration {
    let t = Instant::now();
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("cargo build");
    let elapsed = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

fn main() {
    let n: usize = std::env::var("BENCH_MIGRATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let work = tempfile::tempdir().expect("temp dir");
    let target = root().join("target").join("bench-compile");
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).expect("Cargo.lock");

    let ours = work.path().join("ours");
    write(
        &ours.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"bench-ours\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n\
             migrate-runtime = {{ path = \"{0}/migrate-runtime\" }}\nmigrate-macros = {{ path = \"{0}/migrate-macros\" }}\n\n[workspace]\n",
            root().display()
        ),
    );
    write(
        &ours.join("src/main.rs"),
        "mod migrations {\n    migrate_macros::embed_migrations!(\"migrations\");\n}\nfn main() {\n    println!(\"{}\", migrations::MIGRATOR.migrations().len());\n}\n",
    );
    let theirs = work.path().join("refinery");
    write(
        &theirs.join("Cargo.toml"),
        "[package]\nname = \"bench-refinery\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n\
         refinery = { version = \"0.10\", default-features = false, features = [\"postgres\"] }\n\n[workspace]\n",
    );
    write(
        &theirs.join("src/main.rs"),
        "mod embedded {\n    refinery::embed_migrations!(\"migrations\");\n}\nfn main() {\n    println!(\"{}\", embedded::migrations::runner().get_migrations().len());\n}\n",
    );
    // sqlx 0.9.0 is the newest that builds with rustc 1.95; `migrate!` needs `macros` and
    // `migrate`, the Migrator a runtime.
    let sqlx = work.path().join("sqlx");
    write(
        &sqlx.join("Cargo.toml"),
        "[package]\nname = \"bench-sqlx\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n\
         sqlx = { version = \"=0.9.0\", default-features = false, features = [\"macros\", \"migrate\", \"postgres\", \"runtime-tokio\"] }\n\n[workspace]\n",
    );
    write(
        &sqlx.join("src/main.rs"),
        "static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!(\"./migrations\");\nfn main() {\n    println!(\"{}\", MIGRATOR.iter().count());\n}\n",
    );
    for i in 0..n {
        write(
            &sqlx.join(format!(
                "migrations/{}_m{i}.sql",
                20260101000000u64 + i as u64
            )),
            &sql(i),
        );
        write(
            &ours.join(format!(
                "migrations/{}_m{i}/migration.sql",
                20260101000000u64 + i as u64
            )),
            &sql(i),
        );
        write(
            &theirs.join(format!("migrations/V{}__m{i}.sql", i + 1)),
            &sql(i),
        );
    }
    // Ours and refinery resolve exactly as the workspace does; sqlx, not in the workspace's
    // lock file, resolves for this rustc (resolver 3 via `rust-version`).
    for dir in [&ours, &theirs] {
        write(&dir.join("Cargo.lock"), &lock);
    }
    // Seal ours (the macro refuses nothing in debug builds, but a sealed set is the real case).
    let set = migrate_runtime::MigrationSet::read(&ours.join("migrations")).expect("read");
    let sealed = migrate_runtime::seal(
        &set,
        &migrate_runtime::LockState::Absent,
        &Default::default(),
    )
    .expect("seal");
    migrate_runtime::lockfile::write(&ours.join("migrations"), &sealed.lock).expect("write lock");

    eprintln!("building dependencies once...");
    cargo_build(&ours, &target);
    cargo_build(&theirs, &target);
    cargo_build(&sqlx, &target);
    let mut times: Vec<(&str, &Path, Vec<Duration>)> = vec![
        ("cargo-migrate embed_migrations!", &ours, Vec::new()),
        ("refinery 0.10 embed_migrations!", &theirs, Vec::new()),
        ("sqlx 0.9 migrate!", &sqlx, Vec::new()),
    ];
    for run in 0..runs {
        for (_, dir, samples) in times.iter_mut() {
            let main = dir.join("src/main.rs");
            let text = std::fs::read_to_string(&main).expect("main.rs");
            std::fs::write(&main, format!("{text}// run {run}\n")).expect("touch");
            samples.push(cargo_build(dir, &target));
        }
    }
    let median = |v: &[Duration]| {
        let mut v = v.to_vec();
        v.sort();
        v[v.len() / 2]
    };
    let theirs_median = median(&times[1].2);
    println!(
        "\nRebuild of a crate embedding {n} migrations (median of {runs} runs; dependencies prebuilt)\n"
    );
    let sqlx_median = median(&times[2].2);
    println!(
        "| {:<34} | {:>10} | {:>11} | {:>8} |",
        "macro", "median", "vs refinery", "vs sqlx"
    );
    println!("|{:-<36}|{:->12}|{:->13}|{:->10}|", "", "", "", "");
    for (name, _, samples) in &times {
        let m = median(samples);
        println!(
            "| {:<34} | {:>7.0} ms | {:>10.2}x | {:>7.2}x |",
            name,
            m.as_secs_f64() * 1000.0,
            m.as_secs_f64() / theirs_median.as_secs_f64(),
            m.as_secs_f64() / sqlx_median.as_secs_f64()
        );
    }
}
