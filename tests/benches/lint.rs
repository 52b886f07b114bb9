//! Linting a 1 MB migration of mixed DDL: our whole linter (squawk's rules plus ours plus
//! suppressions) against squawk's parser and linter alone on the same text, and the CLI end to
//! end. Medians of `BENCH_RUNS` (default 5).
//!
//! Run: `cargo bench -p migrate-tests --bench lint`

use migrate_runtime::MigrationSet;
use migrate_runtime::lint::{LintConfig, lint};
use std::process::Command;
use std::time::{Duration, Instant};

fn mixed_ddl(target_bytes: usize) -> String {
    let mut sql = String::new();
    let mut i = 0;
    while sql.len() < target_bytes {
        sql.push_str(&format!(
            "CREATE TABLE t_{i} (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\n\
             ALTER TABLE t_{i} ADD COLUMN note text;\n\
             CREATE INDEX t_{i}_name ON t_{i} (name);\n\
             ALTER TABLE t_{i} ADD CONSTRAINT t_{i}_fk FOREIGN KEY (id) REFERENCES t_0 (id) NOT VALID;\n\
             ALTER TABLE t_{i} ALTER COLUMN note SET DEFAULT 'none';\n\
             -- migrate:allow(ban-drop-column) reason: benchmark\n\
             ALTER TABLE t_{i} DROP COLUMN note;\n\
             COMMENT ON TABLE t_{i} IS 'benchmark table {i}';\n\
             CREATE FUNCTION f_{i}() RETURNS int AS $$ SELECT {i}; $$ LANGUAGE sql;\n"
        ));
        i += 1;
    }
    sql
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let project = migrate_tests::Project::new();
    let sql = mixed_ddl(1 << 20);
    project.migration("20261121090000_big", &sql, Some("SELECT 1;\n"));
    let set = MigrationSet::read(&project.path().join("migrations")).expect("read");
    let versions = [set.migrations[0].version];
    let config = LintConfig::default();

    let mut ours = Vec::new();
    let mut squawk_only = Vec::new();
    let mut cli = Vec::new();
    let mut findings = 0;
    for _ in 0..runs {
        let t = Instant::now();
        findings = lint(&set, &versions, &[], &config).len();
        ours.push(t.elapsed());

        let t = Instant::now();
        let parse = squawk_syntax::SourceFile::parse(&sql);
        let mut linter = squawk_linter::Linter::with_default_rules();
        let n = linter.lint(&parse, &sql).len();
        squawk_only.push(t.elapsed());
        assert!(n > 0);

        let t = Instant::now();
        let out = Command::new(migrate_tests::binary())
            .args(["migrate", "--dir"])
            .arg(project.path().join("migrations"))
            .args(["lint", "--all", "--format", "json"])
            .output()
            .expect("run cargo-migrate");
        cli.push(t.elapsed());
        assert_eq!(out.status.code(), Some(3));
    }
    let squawk_median = median(squawk_only.clone());
    println!(
        "\nLint one {:.2} MB migration of mixed DDL ({} statements; median of {runs} runs)\n",
        sql.len() as f64 / (1 << 20) as f64,
        migrate_runtime::model::split_statements(&sql)
            .map(|s| s.len())
            .unwrap_or(0)
    );
    println!("| {:<52} | {:>9} | {:>9} |", "", "median", "vs squawk");
    println!("|{:-<54}|{:->11}|{:->11}|", "", "", "");
    for (name, times) in [
        ("squawk-linter alone (parse + default rules)", squawk_only),
        ("cargo-migrate lint (library: squawk + own rules)", ours),
        ("cargo-migrate lint --all (CLI, process end to end)", cli),
    ] {
        let m = median(times);
        println!(
            "| {:<52} | {:>6.0} ms | {:>8.2}x |",
            name,
            m.as_secs_f64() * 1000.0,
            m.as_secs_f64() / squawk_median.as_secs_f64()
        );
    }
    println!("\n{findings} findings");
}
