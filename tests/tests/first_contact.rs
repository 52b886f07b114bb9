//! What a new user meets: long lists summarised, edited migrations shown as diffs, baselining an
//! existing database in one command.

use migrate_tests::{Project, TestDb};

fn many_drafts(p: &Project, n: usize, sql: impl Fn(usize) -> String) {
    for i in 0..n {
        p.migration(
            &format!("2026112109{:04}_m{i}", i),
            &sql(i),
            Some("SELECT 1;\n"),
        );
    }
}

#[test]
fn allow_unsafe_summarises_many_findings_per_rule() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    many_drafts(&p, 14, |i| {
        format!("CREATE TABLE t{i} (id int);\nALTER TABLE t{i} ADD COLUMN c int NOT NULL;\n")
    });
    let run = p.run(&["apply", "--allow-unsafe"]);
    assert_eq!(run.code, 0, "{run:?}");
    let warning = run
        .stderr
        .lines()
        .skip_while(|l| !l.starts_with("warning: applying despite"))
        .take(3)
        .collect::<Vec<_>>();
    assert_eq!(
        warning,
        [
            "warning: applying despite 14 lint error(s) (--allow-unsafe):",
            "  adding-required-field (error): 14, at migrations/20261121090000_m0/migration.sql:2, \
             migrations/20261121090001_m1/migration.sql:2, migrations/20261121090002_m2/migration.sql:2 and 11 more",
            "  `cargo migrate lint` shows each one with its help",
        ],
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("error[adding-required-field]"),
        "not every finding in full: {}",
        run.stderr
    );
    assert!(
        run.stderr.lines().all(|l| l.len() < 300),
        "no endless line: {}",
        run.stderr
    );
    // Sealing many: the first ten and a count.
    assert!(
        run.stderr.contains(
            "  Sealed 20261121090009_m9\n  Sealed 4 more (`cargo migrate status` lists them)\n"
        ),
        "{}",
        run.stderr
    );
    let q = Project::new();
    many_drafts(&q, 12, |i| format!("CREATE TABLE t{i} (id int);\n"));
    let seal = q.run(&["seal"]);
    assert_eq!(seal.code, 0, "{seal:?}");
    assert_eq!(seal.stderr.lines().count(), 11, "{}", seal.stderr);
    assert!(
        seal.stderr
            .ends_with("Sealed 2 more (`cargo migrate status` lists them)\n"),
        "{}",
        seal.stderr
    );
}

#[test]
fn an_edited_sealed_migration_is_shown_as_a_diff() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(
        "20261121090000_users",
        "CREATE TABLE users (id bigint);\n",
        Some("DROP TABLE users;\n"),
    );
    assert_eq!(p.run(&["apply"]).code, 0);
    p.migration(
        "20261121090000_users",
        "CREATE TABLE users (id bigint, name text);\n",
        Some("DROP TABLE users;\n"),
    );
    // Refused by the lock file, with the diff against what the database recorded.
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(
            "    --- recorded in the database\n    +++ migrations/20261121090000_users/migration.sql\n    @@ -1 +1 @@\n    \
             -CREATE TABLE users (id bigint);\n    +CREATE TABLE users (id bigint, name text);\n"
        ),
        "{}",
        run.stderr
    );
    // Without a reachable database: how to see it.
    let offline = p.run(&[
        "--database-url",
        "postgres://u@127.0.0.1:1/x?connect_timeout=1",
        "apply",
    ]);
    assert_eq!(offline.code, 1);
    assert!(
        offline.stderr.contains(
            "  = note: 20261121090000 is not recorded in a reachable database; `git diff -- \
             migrations/20261121090000_users/migration.sql` shows what changed since the last commit"
        ),
        "{}",
        offline.stderr
    );
    // status --verbose shows the diff of an edited applied migration.
    assert_eq!(
        p.run(&["seal", "--force", "20261121090000"]).code,
        0,
        "re-sealed: now only the history objects"
    );
    let status = p.run(&["status", "--verbose"]);
    assert_eq!(status.code, 3);
    assert!(
        status.stdout.contains(
            "      -CREATE TABLE users (id bigint);\n      +CREATE TABLE users (id bigint, name text);\n"
        ),
        "{}",
        status.stdout
    );
    assert!(
        !p.run(&["status"]).stdout.contains("+CREATE"),
        "only with --verbose"
    );
}

#[test]
fn applied_through_baselines_an_existing_database_in_one_command() {
    let db = TestDb::new();
    // A database made by hand (or by another tool): the first two migrations' schema is there.
    db.client()
        .batch_execute("CREATE TABLE users (id bigint); CREATE TABLE orders (id bigint);")
        .unwrap();
    let p = Project::with_db(&db);
    p.migration(
        "20261121090000_users",
        "CREATE TABLE users (id bigint);\n",
        Some("DROP TABLE users;\n"),
    )
    .migration(
        "20261121090100_orders",
        "CREATE TABLE orders (id bigint);\n",
        Some("DROP TABLE orders;\n"),
    )
    .migration(
        "20261121090200_items",
        "CREATE TABLE items (id bigint);\n",
        Some("DROP TABLE items;\n"),
    );
    assert_eq!(p.run(&["seal"]).code, 0);
    p.migration(
        "20261121090100_orders",
        "CREATE TABLE orders (id bigint);\n",
        Some("DROP TABLE orders;\n"),
    );
    let dry = p.run(&[
        "resolve",
        "--applied-through",
        "20261121090100",
        "--dry-run",
    ]);
    assert_eq!(dry.code, 0, "{dry:?}");
    assert_eq!(
        dry.stderr,
        "Dry run: would mark 2 migrations up to 20261121090100 as applied (nothing was changed):\n  \
         20261121090000_users\n  20261121090100_orders\n"
    );
    assert!(
        !db.has_table("_migrate_history"),
        "a dry run creates nothing"
    );
    let run = p.run(&[
        "resolve",
        "--applied-through",
        "20261121090100",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json()["versions"],
        serde_json::json!(["20261121090000", "20261121090100"])
    );
    let apply = p.run(&["apply"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply.stderr.contains("Applied 1 migration in"),
        "only the third ran: {}",
        apply.stderr
    );
    let actions: Vec<String> = db
        .history()
        .into_iter()
        .map(|h| format!("{} {} {}", h.0, h.1, h.2))
        .collect();
    assert_eq!(
        actions,
        [
            "20261121090000 resolve applied",
            "20261121090100 resolve applied",
            "20261121090200 apply applied"
        ]
    );
    let again = p.run(&["resolve", "--applied-through", "20261121090100"]);
    assert_eq!(again.code, 0);
    assert_eq!(
        again.stderr,
        "Nothing to mark: every migration up to 20261121090100 is applied.\n"
    );
    let missing = p.run(&["resolve", "--applied-through", "20261121099999"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .starts_with("error: --applied-through 20261121099999: there is no migration 20261121099999 in migrations"),
        "{}",
        missing.stderr
    );
}
