//! Backfills in Rust (`-- migrate:backfill ... rust`), through the example crate
//! (`examples/rust-backfill`): its code fills every row once, in bounded batches; a batch that
//! fails stops the run with its checkpoint, and the rerun resumes at that batch (no batch
//! twice); `status` shows the progress; a run that reaches a Rust backfill without its code,
//! the CLI's included, refuses before anything runs.

use migrate_runtime::engine::{Batch, BatchError, EngineError, RustBackfill, State};
use migrate_tests::{Project, TestDb};
use postgres::{Client, Transaction};
use rust_backfill::migrations::{CREATE_USERS, FILL_DISPLAY_NAME, MIGRATOR};
use rust_backfill::{DisplayName, display_name};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/rust-backfill");
const FILL: &str = "20261201090100_fill_display_name";

/// The example's tables, with `n` users (ids 1..=n).
fn users(client: &mut Client, n: i64) {
    MIGRATOR
        .apply_to(client, CREATE_USERS)
        .expect("create users");
    client
        .execute(
            "INSERT INTO users (email) SELECT format('first%s.last_%s+tag@example.com', i, i) \
             FROM generate_series(1, $1::bigint) i",
            &[&n],
        )
        .expect("users");
}

/// Users whose display name is not what the example's code derives.
fn wrong_names(client: &mut Client) -> usize {
    client
        .query("SELECT email, display_name FROM users ORDER BY id", &[])
        .expect("users")
        .iter()
        .filter(|r| r.get::<_, Option<String>>(1) != Some(display_name(r.get(0))))
        .count()
}

#[test]
fn the_example_fills_every_row_in_batches_and_a_second_run_changes_nothing() {
    let db = TestDb::new();
    let mut client = db.client();
    users(&mut client, 1234);
    let report = rust_backfill::migrate(&mut client).expect("migrate");
    let done = &report.applied[0];
    assert_eq!(done.version, FILL_DISPLAY_NAME);
    let progress = done.backfill.as_ref().expect("a backfill");
    assert_eq!((progress.rows, progress.batches), (1234, 3), "batch=500");
    assert_eq!(wrong_names(&mut client), 0);
    let name: String = client
        .query_one("SELECT display_name FROM users WHERE id = 7", &[])
        .expect("user 7")
        .get(0);
    assert_eq!(name, "First7 Last 7");
    assert!(
        MIGRATOR
            .status(&mut client)
            .expect("status")
            .iter()
            .all(|m| m.state == State::Applied)
    );
    assert!(
        rust_backfill::migrate(&mut client)
            .expect("again")
            .applied
            .is_empty()
    );
}

#[test]
fn without_its_code_the_run_refuses_before_anything_runs() {
    let db = TestDb::new();
    let mut client = db.client();
    let Err(EngineError::Refused(refusals)) = MIGRATOR.apply(&mut client) else {
        panic!("an unregistered Rust backfill must refuse");
    };
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert!(
        refusals[0].message.contains(&format!(
            "{FILL} is a Rust backfill (`rust`), and no code is registered for it"
        )),
        "{refusals:?}"
    );
    assert!(
        refusals[0].help.contains(
            "`MIGRATOR.with_backfill(migrations::FILL_DISPLAY_NAME, <your RustBackfill>).apply(&mut client)`"
        ),
        "{refusals:?}"
    );
    assert!(
        !db.has_table("users"),
        "nothing ran, not even the migration before it"
    );

    // Code registered under a version that is not a Rust backfill is a mistake, not ignored.
    let Err(EngineError::Refused(refusals)) = MIGRATOR
        .with_backfill(CREATE_USERS, DisplayName)
        .apply(&mut client)
    else {
        panic!("code for a migration that is not a Rust backfill must refuse");
    };
    let messages: Vec<&str> = refusals.iter().map(|r| r.message.as_str()).collect();
    assert!(
        messages.iter().any(|m| m.contains(
            "Rust backfill code is registered for 20261201090000, but \
             20261201090000_create_users is not a Rust backfill"
        )),
        "{messages:?}"
    );
    assert!(!db.has_table("users"));
}

/// The example's code, logging each batch it commits, and failing batch `fail_at` (if any).
struct Logged {
    fail_at: Option<u64>,
}

impl RustBackfill for Logged {
    fn up(&self, tx: &mut Transaction<'_>, batch: &Batch<'_>) -> Result<u64, BatchError> {
        tx.execute(
            "INSERT INTO batch_log (number, first, last) VALUES ($1, $2, $3)",
            &[
                &(batch.number() as i64),
                &batch.start_text().parse::<i64>()?,
                batch.end(),
            ],
        )?;
        let rows = DisplayName.up(tx, batch)?;
        if self.fail_at == Some(batch.number()) {
            return Err(format!("no display name for batch {}", batch.number()).into());
        }
        Ok(rows)
    }
}

#[test]
fn a_failed_batch_stops_the_run_and_the_rerun_resumes_at_it() {
    let db = TestDb::new();
    let mut client = db.client();
    users(&mut client, 1234);
    client
        .batch_execute("CREATE TABLE batch_log (number bigint, first bigint, last bigint)")
        .expect("log");
    let failing = MIGRATOR.with_backfill(FILL_DISPLAY_NAME, Logged { fail_at: Some(3) });
    let Err(EngineError::Stopped(stopped)) = failing.apply(&mut client) else {
        panic!("batch 3 fails");
    };
    assert!(
        stopped.context.contains(&format!(
            "migration.sql:4:1: batch 3 of backfill {FILL} failed (in rust_backfill::Logged)"
        )),
        "{stopped:?}"
    );
    assert_eq!(stopped.error, "no display name for batch 3");
    assert_eq!(
        db.count("SELECT count(*) FROM users WHERE display_name IS NULL"),
        234,
        "batch 3 (keys 1001..1234) was rolled back"
    );

    // `status` shows the interrupted Rust backfill with its progress, as SQL ones.
    let p = Project::with_db(&db);
    migrate_tests::copy_dir(
        &std::path::Path::new(EXAMPLE).join("migrations"),
        &p.path().join("migrations"),
    );
    let status = p.run(&["status"]);
    assert_eq!(status.code, 3, "{status:?}");
    let line = status
        .stdout
        .lines()
        .find(|l| l.contains(FILL))
        .expect("a line for the backfill");
    assert!(
        line.contains("backfill stopped after 2 batches (1000 keys, 1000 rows, last key 1000)"),
        "{line}"
    );

    let report = MIGRATOR
        .with_backfill(FILL_DISPLAY_NAME, Logged { fail_at: None })
        .apply(&mut client)
        .expect("resumed");
    let progress = report.applied[0].backfill.as_ref().expect("a backfill");
    assert_eq!((progress.rows, progress.batches), (1234, 3));
    let log: Vec<(i64, i64, i64)> = client
        .query(
            "SELECT number, first, last FROM batch_log ORDER BY number",
            &[],
        )
        .expect("log")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        log,
        [(1, 1, 500), (2, 501, 1000), (3, 1001, 1234)],
        "each batch committed once; the failed one rolled back with its log row"
    );
    assert_eq!(wrong_names(&mut client), 0);
}

#[test]
fn the_cli_refuses_a_pending_rust_backfill_and_applies_up_to_it_with_to() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    migrate_tests::copy_dir(
        &std::path::Path::new(EXAMPLE).join("migrations"),
        &p.path().join("migrations"),
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    for expected in [
        "refusing to apply: 1 problem in the migration files",
        &format!("{FILL} is a Rust backfill (`rust`), and no code is registered for it"),
        "the `cargo migrate` command cannot run",
        "cargo migrate apply --to 20261201090000",
        "nothing was run",
    ] {
        assert!(run.stderr.contains(expected), "{expected}\n{run:?}");
    }
    assert!(!db.has_table("users"), "nothing ran");
    let run = p.run(&["apply", "--to", "20261201090000"]);
    assert_eq!(run.code, 0, "{run:?}");
    // `check` says who applies the pending backfill.
    let check = p.run(&["check"]);
    assert!(
        check.stdout.contains(&format!(
            "{FILL} is a Rust backfill: the application applies it with its registered code \
             (`cargo migrate apply` refuses to run it; `--to` applies the migrations before it)"
        )),
        "{check:?}"
    );
    let check = p.run(&["check", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&check.stdout).expect("json");
    assert_eq!(
        json["rust_backfills"],
        serde_json::json!([FILL]),
        "{check:?}"
    );
    // The program that registers the code applies the rest.
    let mut client = db.client();
    rust_backfill::migrate(&mut client).expect("migrate");
    let status = p.run(&["status"]);
    assert_eq!(status.code, 0, "{status:?}");
    // Applied, the CLI's apply has nothing to do (and does not refuse).
    assert_eq!(p.run(&["apply"]).code, 0);
    // Reverting it needs its code too: the CLI refuses, and says what it can revert.
    let run = p.run(&["down"]);
    assert_eq!(run.code, 1, "{run:?}");
    for expected in [
        "no code is registered for it",
        "`cargo migrate down --to 20261201090100`",
        "nothing was run",
    ] {
        assert!(run.stderr.contains(expected), "{expected}\n{run:?}");
    }
    assert_eq!(
        db.count("SELECT count(*) FROM users WHERE display_name IS NULL"),
        0
    );
}

#[test]
fn down_runs_the_codes_down_batch_by_batch() {
    let db = TestDb::new();
    let mut client = db.client();
    users(&mut client, 600);
    rust_backfill::migrate(&mut client).expect("migrate");
    let engine =
        migrate_runtime::engine::Engine::default().with_backfill(FILL_DISPLAY_NAME, DisplayName);
    let report = engine
        .down(
            &mut client,
            &MIGRATOR.set(),
            migrate_runtime::engine::DownTarget::Steps(1),
            false,
            &mut |_| {},
        )
        .expect("down");
    let progress = report.reverted[0].backfill.as_ref().expect("a backfill");
    assert_eq!((progress.rows, progress.batches), (600, 2));
    assert_eq!(
        db.count("SELECT count(*) FROM users WHERE display_name IS NULL"),
        600
    );
}

/// The example's code, panicking in batch `panic_at`, or asking the run to stop (as Ctrl-C
/// does) while batch `stop_at` runs.
struct Unruly {
    panic_at: Option<u64>,
    stop_at: Option<(u64, migrate_runtime::engine::Stop)>,
}

impl RustBackfill for Unruly {
    fn up(&self, tx: &mut Transaction<'_>, batch: &Batch<'_>) -> Result<u64, BatchError> {
        let rows = DisplayName.up(tx, batch)?;
        if self.panic_at == Some(batch.number()) {
            panic!("no display name in batch {}", batch.number());
        }
        if let Some((at, stop)) = &self.stop_at
            && *at == batch.number()
        {
            stop.requested
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(rows)
    }
}

/// The example's migrations, read as the engine reads them.
fn example_set() -> migrate_runtime::MigrationSet {
    migrate_runtime::MigrationSet::read(&std::path::Path::new(EXAMPLE).join("migrations"))
        .expect("read")
}

#[test]
fn a_panic_in_the_code_fails_its_batch_which_the_rerun_resumes() {
    let db = TestDb::new();
    let mut client = db.client();
    users(&mut client, 1234);
    let engine = migrate_runtime::engine::Engine::default().with_backfill(
        FILL_DISPLAY_NAME,
        Unruly {
            panic_at: Some(2),
            stop_at: None,
        },
    );
    let Err(EngineError::Stopped(stopped)) = engine.apply(
        &mut client,
        &example_set(),
        &Default::default(),
        &mut |_| {},
    ) else {
        panic!("batch 2 panics");
    };
    assert_eq!(
        stopped.error,
        "the backfill's code panicked: no display name in batch 2"
    );
    assert!(
        stopped
            .context
            .contains(&format!("batch 2 of backfill {FILL} failed")),
        "{stopped:?}"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM users WHERE display_name IS NULL"),
        734,
        "batch 1 committed, batch 2 rolled back"
    );
    let (state, progress): (String, String) = {
        let row = client
            .query_one(
                "SELECT state::text, (backfill::jsonb) ->> 'last_key' FROM _migrate_history \
                 WHERE version = $1 ORDER BY id DESC LIMIT 1",
                &[&FILL_DISPLAY_NAME.get()],
            )
            .expect("history");
        (row.get(0), row.get(1))
    };
    assert_eq!(state, "failed");
    assert_eq!(progress, "500", "the checkpoint of batch 1");

    // The same client goes on: the rerun resumes at batch 2.
    let report = MIGRATOR
        .with_backfill(FILL_DISPLAY_NAME, DisplayName)
        .apply(&mut client);
    let report = report.expect("resumed");
    let progress = report.applied[0].backfill.as_ref().expect("a backfill");
    assert_eq!((progress.rows, progress.batches), (1234, 3));
    assert_eq!(wrong_names(&mut client), 0);
}

#[test]
fn a_stop_request_ends_the_run_after_the_current_batch_of_the_code() {
    let db = TestDb::new();
    let mut client = db.client();
    users(&mut client, 1234);
    let stop = migrate_runtime::engine::Stop::default();
    let engine = migrate_runtime::engine::Engine {
        stop: Some(stop.clone()),
        ..Default::default()
    }
    .with_backfill(
        FILL_DISPLAY_NAME,
        Unruly {
            panic_at: None,
            stop_at: Some((2, stop)),
        },
    );
    let Err(EngineError::Interrupted(interrupted)) = engine.apply(
        &mut client,
        &example_set(),
        &Default::default(),
        &mut |_| {},
    ) else {
        panic!("stopped after batch 2");
    };
    assert_eq!(
        interrupted.to_string(),
        format!("backfill {FILL} interrupted after 2 batches (1000 rows, last key 1000)")
    );
    assert_eq!(
        db.count("SELECT count(*) FROM users WHERE display_name IS NULL"),
        234,
        "the batch that was running when the stop came was finished and committed"
    );
    let report = MIGRATOR
        .with_backfill(FILL_DISPLAY_NAME, DisplayName)
        .apply(&mut client)
        .expect("resumed");
    let progress = report.applied[0].backfill.as_ref().expect("a backfill");
    assert_eq!((progress.rows, progress.batches), (1234, 3));
    assert_eq!(wrong_names(&mut client), 0);
}

/// Code that binds a batch's key as a type it does not convert to.
struct Mistyped;

impl RustBackfill for Mistyped {
    fn up(&self, tx: &mut Transaction<'_>, batch: &Batch<'_>) -> Result<u64, BatchError> {
        tx.query("SELECT $1::uuid", &[batch.start()])?;
        Ok(0)
    }
}

/// A `postgres::Error` of the code that is no lost session (a value that does not convert)
/// fails its batch, named with the code's type, rather than reading as a cut-off run.
#[test]
fn a_conversion_error_in_the_code_is_the_batchs_error_not_a_lost_session() {
    let db = TestDb::new();
    let mut client = db.client();
    users(&mut client, 10);
    let engine =
        migrate_runtime::engine::Engine::default().with_backfill(FILL_DISPLAY_NAME, Mistyped);
    let Err(EngineError::Stopped(stopped)) = engine.apply(
        &mut client,
        &example_set(),
        &Default::default(),
        &mut |_| {},
    ) else {
        panic!("batch 1 fails");
    };
    assert!(
        stopped
            .context
            .contains(&format!("batch 1 of backfill {FILL} failed (in ")),
        "{stopped:?}"
    );
    assert!(!stopped.context.contains("cut off"), "{stopped:?}");
}
