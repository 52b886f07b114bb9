//! Runs that stop part-way say exactly what committed, the original error first; drafts an
//! interrupted run applied are sealed by the next apply, never refused or applied twice.

use migrate_runtime::engine::{ApplyOptions, Engine};
use migrate_runtime::{LockEntry, LockFile, MigrationSet, lockfile};
use migrate_tests::{Project, TestDb};

const A: &str = "20261121090000_a";
const B: &str = "20261121090100_b";
const C: &str = "20261121090200_c";

/// A migration that ends its own session (as an administrator's pg_terminate_backend would)
/// while the table `kill_switch` exists.
const SUICIDE: &str = "CREATE TABLE b (id int);\nDO $$ BEGIN IF to_regclass('kill_switch') IS NOT NULL THEN \
     PERFORM pg_terminate_backend(pg_backend_pid()); END IF; END $$;\n";

#[test]
fn a_session_ended_mid_run_reports_what_committed_and_what_did_not() {
    let db = TestDb::new();
    db.client()
        .batch_execute("CREATE TABLE kill_switch ()")
        .unwrap();
    let p = Project::with_db(&db);
    p.migration(A, "CREATE TABLE a (id int);\n", Some("DROP TABLE a;\n"))
        .migration(B, SUICIDE, Some("DROP TABLE b;\n"))
        .migration(C, "CREATE TABLE c (id int);\n", Some("DROP TABLE c;\n"));
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    let error = lines
        .iter()
        .find(|l| l.starts_with("error: "))
        .expect("an error line");
    assert!(
        error.starts_with(&format!("error: the run was cut off while {B} ran: ")),
        "the original error comes first: {}",
        run.stderr
    );
    // The server sends FATAL 57P01 as it ends the session; on a loaded machine the client can
    // see the socket close before it reads that message. Either way the session ended.
    assert!(
        error.contains("57P01") || error.ends_with(": connection closed"),
        "{error}"
    );
    assert!(
        run.stderr.contains(&format!(
            "help: {B} was rolled back: nothing of it remains; check with `cargo migrate status`, \
             then run the same command again"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with(&format!(
            "note: 1 migration(s) before it were applied: {A}\n"
        )),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("nothing was changed"),
        "{}",
        run.stderr
    );
    assert!(db.has_table("a") && !db.has_table("b") && !db.has_table("c"));
    assert!(
        p.read("migrations/migrations.lock").contains(" a "),
        "what committed is sealed"
    );
    // JSON: the same facts.
    let json = p.run(&["apply", "--format", "json"]).json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["stopped"]["during"]["version"], &B[..14]);
    assert_eq!(json["stopped"]["during"]["outcome"], "rolled_back");
    assert!(
        json["stopped"]["code"] == "57P01" || json["stopped"]["code"].is_null(),
        "{json}"
    );
    assert_eq!(json["applied"], serde_json::json!([]));
    // Nothing half-applied: remove the switch and the rest applies, each once.
    db.client().batch_execute("DROP TABLE kill_switch").unwrap();
    assert_eq!(p.run(&["apply"]).code, 0);
    assert!(db.has_table("b") && db.has_table("c"));
    assert_eq!(
        db.count("SELECT count(*) FROM _migrate_history WHERE state = 'applied'"),
        3
    );
}

#[test]
fn a_migration_that_breaks_the_history_is_rolled_back_and_said_so() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(A, "CREATE TABLE a (id int);\n", Some("DROP TABLE a;\n"))
        .migration(
            B,
            "-- migrate:allow(renaming-column) reason: the test breaks the history on purpose\nALTER TABLE _migrate_history RENAME COLUMN note TO remark;\n",
            Some("SELECT 1;\n"),
        );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "error: cannot record {B} in the history table public._migrate_history: column \"note\" of relation \"_migrate_history\" does not exist"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("help: {B} was rolled back: nothing of it remains")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with(&format!(
            "note: 1 migration(s) before it were applied: {A}\n"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        db.count("SELECT count(*) FROM information_schema.columns WHERE table_name = '_migrate_history' AND column_name = 'note'"),
        1,
        "the migration's change was rolled back with it"
    );
}

#[test]
fn drafts_an_interrupted_apply_ran_are_sealed_by_the_next_apply() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(A, "CREATE TABLE a (id int);\n", Some("DROP TABLE a;\n"))
        .migration(B, "CREATE TABLE b (id int);\n", Some("DROP TABLE b;\n"));
    // The run applied both, then died before writing migrations.lock.
    let set = MigrationSet::read(&p.path().join("migrations")).unwrap();
    Engine::default()
        .apply(
            &mut db.client(),
            &set,
            &ApplyOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    // Meanwhile a newer migration was sealed (what older versions did next): A and B are now
    // drafts older than a sealed migration.
    p.migration(C, "CREATE TABLE c (id int);\n", Some("DROP TABLE c;\n"));
    let set = MigrationSet::read(&p.path().join("migrations")).unwrap();
    let c = set.get(C[..14].parse().unwrap()).unwrap();
    lockfile::write(
        &p.path().join("migrations"),
        &LockFile::new(vec![LockEntry::of(c)]),
    )
    .unwrap();
    assert_eq!(p.run(&["seal", "--check"]).code, 3);
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    for m in [A, B] {
        assert!(
            run.stderr.contains(&format!(
                "  Sealed {m} (applied by an earlier run that was interrupted before sealing it)\n"
            )),
            "{}",
            run.stderr
        );
    }
    assert!(
        run.stderr.contains(&format!("  Applied {C} (")),
        "{}",
        run.stderr
    );
    assert_eq!(
        db.count("SELECT count(*) FROM _migrate_history"),
        3,
        "nothing applied twice"
    );
    assert_eq!(p.run(&["seal", "--check"]).code, 0, "all sealed");
    assert!(
        !run.stderr.contains("timestamp"),
        "no help suggests renaming: {}",
        run.stderr
    );
}

#[test]
fn status_says_a_cut_off_run_outside_a_transaction_is_interrupted_and_what_resumes_it() {
    let db = TestDb::new();
    db.client()
        .batch_execute("CREATE TABLE kill_switch ()")
        .unwrap();
    let p = Project::with_db(&db);
    p.migration(
        B,
        &format!(
            "-- migrate:no-transaction\n{}CREATE TABLE IF NOT EXISTS b2 (id int);\n",
            SUICIDE.replace("CREATE TABLE b", "CREATE TABLE IF NOT EXISTS b")
        ),
        Some("DROP TABLE IF EXISTS b2;\nDROP TABLE IF EXISTS b;\n"),
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    // Its session ended with the run: nobody holds the migration lock.
    let status = p.run(&["status"]);
    assert_eq!(status.code, 3, "{status:?}");
    let line = status
        .stdout
        .lines()
        .find(|l| l.contains(B))
        .expect("a line for the migration")
        .to_string();
    assert!(line.trim_start().starts_with("failed"), "{line}");
    assert!(
        line.ends_with(
            ", 1 of 3 statements applied: interrupted (the session that ran it has ended): \
             `cargo migrate apply` resumes it at the statement that did not finish (draft)"
        ),
        "{line}"
    );
    let json = p.run(&["status", "--format", "json"]).json();
    assert_eq!(json["migrations"][0]["unfinished"], "interrupted");
    // And it does: the rest runs once.
    db.client().batch_execute("DROP TABLE kill_switch").unwrap();
    assert_eq!(p.run(&["apply"]).code, 0);
    assert!(db.has_table("b") && db.has_table("b2"));
    assert_eq!(p.run(&["status"]).code, 0);
}
