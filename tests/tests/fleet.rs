//! `cargo migrate apply --fleet` and `status --fleet`: the same sealed migrations on many
//! databases, with a failure in one, `--fail-fast`, `--canary`, resumption, bad fleet lines,
//! and the JSON report and events.

use migrate_tests::{Project, Run, TestDb};
use serde_json::Value;

const MIGRATIONS: usize = 10;

/// The folder of migration `i` (1-based).
fn folder(i: usize) -> String {
    format!("202611210900{i:02}_create_t{i:02}")
}

fn version(i: usize) -> String {
    format!("202611210900{i:02}")
}

/// A project with ten sealed migrations, each creating table `t<i>`.
fn project() -> Project {
    let p = Project::new();
    for i in 1..=MIGRATIONS {
        p.migration(
            &folder(i),
            &format!("CREATE TABLE t{i:02} (id bigint PRIMARY KEY);\n"),
            Some(&format!("DROP TABLE t{i:02};\n")),
        );
    }
    let sealed = p.run(&["seal"]);
    assert_eq!(sealed.code, 0, "{sealed:?}");
    p
}

/// `n` fresh databases, created a few at a time.
fn databases(n: usize) -> Vec<TestDb> {
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                s.spawn(move || {
                    (0..n)
                        .filter(|i| i % 4 == w)
                        .map(|i| (i, TestDb::new()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, TestDb)> = workers
            .into_iter()
            .flat_map(|w| w.join().expect("creating databases"))
            .collect();
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, db)| db).collect()
    })
}

/// The fleet file: a header comment, then one URL per database.
fn fleet_file(p: &Project, dbs: &[TestDb]) {
    let mut text = String::from("# every tenant\n\n");
    for db in dbs {
        text.push_str(&db.url);
        text.push('\n');
    }
    p.file("fleet.txt", text);
}

/// The label the CLI shows for a test database.
fn label(db: &TestDb) -> String {
    format!("postgres@127.0.0.1:5432/{}", db.name)
}

/// How many migrations the history records as applied.
fn applied(db: &TestDb) -> usize {
    if !db.has_table("_migrate_history") {
        return 0;
    }
    db.history()
        .iter()
        .filter(|(_, action, state)| action == "apply" && state == "applied")
        .count()
}

/// The stdout row of a database in a fleet table.
fn row<'a>(run: &'a Run, db: &TestDb) -> &'a str {
    let label = label(db);
    run.stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(label.as_str()))
        .unwrap_or_else(|| panic!("no row for {label} in:\n{}", run.stdout))
}

/// The JSON events on stderr.
fn events(run: &Run) -> Vec<Value> {
    run.stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn event_count(events: &[Value], name: &str) -> usize {
    events.iter().filter(|e| e["event"] == name).count()
}

#[test]
fn fifty_databases_one_failing_the_others_applied_and_a_rerun_finishes_only_it() {
    let p = project();
    let dbs = databases(50);
    // Database 17 already has table t05: its migration 5 fails there.
    let bad = 16;
    dbs[bad]
        .client()
        .batch_execute("CREATE TABLE t05 (x int)")
        .expect("conflicting table");
    // Line 20 reads its URL from the environment, line 30 holds a password (trust ignores it).
    let mut p = p;
    p.env.push(("TENANT_18".into(), dbs[17].url.clone()));
    fleet_file(&p, &dbs);
    let text = p.read("fleet.txt");
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[19] = "env:TENANT_18".into();
    lines[30] = lines[30].replace("postgres@", "postgres:hunter2@");
    p.file("fleet.txt", lines.join("\n") + "\n");

    let run = p.run(&["apply", "--fleet", "fleet.txt", "--jobs", "4"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout.lines().count(), 52, "{}", run.stdout);
    let header: Vec<&str> = run
        .stdout
        .lines()
        .next()
        .expect("header")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        vec!["database", "result", "applied", "version", "time"]
    );
    assert!(
        run.stdout
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("50 databases: 49 applied, 1 failed in ")),
        "{}",
        run.stdout
    );
    let bad_row: Vec<&str> = row(&run, &dbs[bad]).split_whitespace().collect();
    assert_eq!(&bad_row[1..4], &["failed", "4", &version(4)]);
    let good_row: Vec<&str> = row(&run, &dbs[0]).split_whitespace().collect();
    assert_eq!(&good_row[1..4], &["applied", "10", &version(10)]);
    // The failure in full, as `apply` on that database alone says it, with its fleet line.
    let expected = format!(
        "error: fleet.txt:{} {}: migration {} failed: 42P07: relation \"t05\" already exists\n  --> migrations/{}/migration.sql:1:1\n",
        bad + 3,
        label(&dbs[bad]),
        folder(5),
        folder(5)
    );
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    for (i, db) in dbs.iter().enumerate() {
        let want = if i == bad { 4 } else { MIGRATIONS };
        assert_eq!(applied(db), want, "database {i}");
    }

    // status --fleet: every database's version and problems in one table.
    let status = p.run(&["status", "--fleet", "fleet.txt"]);
    assert_eq!(status.code, 3, "{status:?}");
    let cells: Vec<&str> = row(&status, &dbs[bad]).split_whitespace().collect();
    assert_eq!(&cells[1..], &[version(4).as_str(), "4", "5", "1", "failed"]);
    let cells: Vec<&str> = row(&status, &dbs[49]).split_whitespace().collect();
    assert_eq!(&cells[1..], &[version(10).as_str(), "10", "0", "-"]);
    assert!(
        status
            .stdout
            .ends_with("50 databases: 49 up to date, 1 with problems\n"),
        "{}",
        status.stdout
    );

    // Fixed, the same command applies only what is pending where it is pending.
    dbs[bad]
        .client()
        .batch_execute("DROP TABLE t05")
        .expect("fix");
    let rerun = p.run(&["--format", "json", "apply", "--fleet", "fleet.txt"]);
    assert_eq!(rerun.code, 0, "{rerun:?}");
    let report = rerun.json();
    assert_eq!(report["ok"], true);
    assert_eq!(report["jobs"], 4);
    assert_eq!(report["summary"]["applied"], 1);
    assert_eq!(report["summary"]["up_to_date"], 49);
    let entries = report["databases"].as_array().expect("databases");
    assert_eq!(entries.len(), 50);
    assert_eq!(entries[bad]["result"], "applied");
    assert_eq!(entries[bad]["line"], bad + 3);
    assert_eq!(entries[bad]["version"], version(10));
    let names: Vec<&str> = entries[bad]["applied"]
        .as_array()
        .expect("applied")
        .iter()
        .map(|m| m["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        vec![
            "create_t05",
            "create_t06",
            "create_t07",
            "create_t08",
            "create_t09",
            "create_t10"
        ]
    );
    assert_eq!(entries[0]["result"], "up_to_date");
    assert_eq!(
        entries[28]["database"],
        format!("postgres://postgres:***@127.0.0.1:5432/{}", dbs[28].name)
    );
    let ev = events(&rerun);
    assert_eq!(event_count(&ev, "fleet_started"), 1);
    assert_eq!(event_count(&ev, "database_started"), 50);
    assert_eq!(event_count(&ev, "database_done"), 50);
    assert_eq!(event_count(&ev, "applied"), 6);
    for db in &dbs {
        assert_eq!(applied(db), MIGRATIONS, "{}", db.name);
        // Nothing was applied twice: one apply row per migration (plus the failure's row).
        let rows = db.history();
        assert!(rows.len() <= MIGRATIONS + 1, "{rows:?}");
    }

    let status = p.run(&["--format", "json", "status", "--fleet", "fleet.txt"]);
    assert_eq!(status.code, 0, "{status:?}");
    let report = status.json();
    assert_eq!(report["exit_code"], 0);
    for entry in report["databases"].as_array().expect("databases") {
        assert_eq!(entry["verdict"], "up_to_date");
        assert_eq!(entry["version"], version(10));
    }
    for out in [&run, &rerun, &status] {
        assert!(!out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"));
    }
}

#[test]
fn fail_fast_starts_no_database_after_a_failure() {
    let p = project();
    let dbs = databases(6);
    dbs[1]
        .client()
        .batch_execute("CREATE TABLE t03 (x int)")
        .expect("conflict");
    fleet_file(&p, &dbs);
    let run = p.run(&[
        "apply",
        "--fleet",
        "fleet.txt",
        "--jobs",
        "1",
        "--fail-fast",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(applied(&dbs[0]), MIGRATIONS);
    assert_eq!(applied(&dbs[1]), 2);
    for db in &dbs[2..] {
        assert!(!db.has_table("_migrate_history"), "{} was touched", db.name);
        let cells: Vec<&str> = row(&run, db).split_whitespace().collect();
        assert_eq!(&cells[1..], &["skipped", "0", "-", "-"]);
    }
    assert!(
        run.stdout
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("6 databases: 1 applied, 1 failed, 4 skipped in ")),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains(&format!(
            "warning: --fail-fast: {} failed; no other database is started\n",
            label(&dbs[1])
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("Skipped databases were not touched (--fail-fast: a database failed)"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_failed_canary_leaves_the_rest_untouched_and_a_good_one_lets_them_run() {
    let p = project();
    let dbs = databases(6);
    dbs[1]
        .client()
        .batch_execute("CREATE TABLE t10 (x int)")
        .expect("conflict");
    fleet_file(&p, &dbs);
    let run = p.run(&[
        "--format",
        "json",
        "apply",
        "--fleet",
        "fleet.txt",
        "--canary",
        "2",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    let report = run.json();
    assert_eq!(report["canary"], 2);
    let results: Vec<(&str, &Value)> = report["databases"]
        .as_array()
        .expect("databases")
        .iter()
        .map(|d| (d["result"].as_str().expect("result"), &d["skipped"]))
        .collect();
    assert_eq!(results[0].0, "applied");
    assert_eq!(results[1].0, "failed");
    for (result, why) in &results[2..] {
        assert_eq!((*result, *why), ("skipped", &Value::from("canary")));
    }
    assert_eq!(event_count(&events(&run), "canary_failed"), 1);
    for db in &dbs[2..] {
        assert!(!db.has_table("_migrate_history"), "{} was touched", db.name);
    }

    dbs[1]
        .client()
        .batch_execute("DROP TABLE t10")
        .expect("fix");
    let run = p.run(&["apply", "--fleet", "fleet.txt", "--canary", "2"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("6 databases: 5 applied, 1 up to date in ")),
        "{}",
        run.stdout
    );
    for db in &dbs {
        assert_eq!(applied(db), MIGRATIONS, "{}", db.name);
    }
}

#[test]
fn a_bad_fleet_line_refuses_before_anything_runs_and_never_shows_the_line() {
    let p = project();
    let dbs = databases(1);
    let text = format!(
        "{}\n# a comment\npostgres://app:p@ss@db.internal/shop\nenv:NOT_SET_ANYWHERE\nhost=h PASSWORD=s3cret\n{}\n",
        dbs[0].url, dbs[0].url
    );
    p.file("fleet.txt", text);
    let run = p.run(&["apply", "--fleet", "fleet.txt"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        format!(
            "error: the fleet file fleet.txt has 4 bad lines\n\
             \x20 --> fleet.txt:3: not a connection string: the URL has more than one `@`, or one after its host: percent-encode `@` in a user name, password or option value as `%40`\n\
             \x20 --> fleet.txt:4: the environment variable `NOT_SET_ANYWHERE` is not set\n\
             \x20 --> fleet.txt:5: not a connection string: unknown option (did you mean `password`?)\n\
             \x20 --> fleet.txt:6: the same database as line 1 ({})\n\
             \x20 help: one database per line: a connection string (postgres://user:password@host/db or `host=... dbname=...`) or `env:VAR`; blank lines and lines starting with `#` are skipped. Lines are never shown: they may hold a password\n\
             \x20 note: nothing was run\n",
            label(&dbs[0])
        )
    );
    assert!(!dbs[0].has_table("_migrate_history"));
    let json = p.run(&["--format", "json", "status", "--fleet", "fleet.txt"]);
    assert_eq!(json.code, 1);
    let report = json.json();
    assert_eq!(report["problems"][1]["line"], 4);
    assert!(!json.stdout.contains("s3cret") && !json.stdout.contains("p@ss"));
}

#[test]
fn the_fleet_setting_is_used_by_fleet_without_a_file_and_drafts_are_refused() {
    let p = project();
    let dbs = databases(2);
    p.file(
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [package.metadata.migrate]\nfleet = \"deploy/tenants.txt\"\n\n[workspace]\n",
    );
    p.file(
        "deploy/tenants.txt",
        format!("{}\n{}\n", dbs[0].url, dbs[1].url),
    );
    p.migration(
        "20261121091100_draft",
        "CREATE TABLE d (id int);\n",
        Some("DROP TABLE d;\n"),
    );
    let refused = p.run(&["apply", "--fleet"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.starts_with(
            "error: --fleet applies sealed migrations only: there are unsealed migrations\n"
        ),
        "{}",
        refused.stderr
    );
    assert!(!dbs[0].has_table("_migrate_history"));
    std::fs::remove_dir_all(p.path().join("migrations/20261121091100_draft")).expect("rm");
    let run = p.run(&["apply", "--fleet"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .starts_with("Applying to 2 databases from deploy/tenants.txt (4 at a time)\n"),
        "{}",
        run.stderr
    );
    assert_eq!(applied(&dbs[1]), MIGRATIONS);
    let none = Project::new();
    let missing = none.run(&["status", "--fleet"]);
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr,
        "error: --fleet needs a file: give one (`--fleet fleet.txt`) or set `fleet` in [package.metadata.migrate]\n  note: nothing was run\n"
    );
}
