//! `cargo migrate check`, the CI gate: lock file, lint and verify of the new migrations (the
//! drafts, and what is pending on the configured database), the database's status; every step
//! reported; exit 0 / 3 / 1; JSON; GitHub annotations on the files at fault.

use migrate_tests::{Project, TestDb, admin_url, with_dbname};

const USERS_UP: &str = "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n";
const INDEX_DOWN: &str =
    "-- migrate:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS users_email;\n";
const USERS_DOWN: &str = "DROP TABLE users;\n";
const INDEX_UP: &str = "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS users_email ON users (email);\n";

fn shadow() -> String {
    with_dbname(&admin_url(), "postgres")
}

/// Lines without their timings (`(12 ms)`).
fn untimed(text: &str) -> String {
    text.lines()
        .map(|l| match l.rfind(" (") {
            Some(i) if l.ends_with(" ms)") || l.ends_with(" s)") => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A project without a database: one sealed migration, one draft whose down.sql forgets its
/// index.
fn project_with_a_bad_draft() -> Project {
    let p = Project::new();
    p.migration("20260101000000_create_users", USERS_UP, Some(USERS_DOWN));
    let seal = p.run(&["seal"]);
    assert_eq!(seal.code, 0, "{seal:?}");
    p.migration("20260101000100_index_email", INDEX_UP, Some("SELECT 1;\n"));
    p
}

#[test]
fn a_draft_that_is_unsealed_and_not_reversible_fails_the_gate_with_every_step_reported() {
    let p = project_with_a_bad_draft();
    let run = p.run(&["check", "--shadow-url", &shadow()]);
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(
        untimed(&run.stdout),
        "Checked 1 new migration: 20260101000100_index_email\n\
         \x20 failed   lock file  1 problem\n\
         \x20     migrations/20260101000100_index_email: draft, not sealed yet\n\
         \x20       help: a draft: run `cargo migrate seal` once it is ready (apply seals it too)\n\
         \x20 passed   lint       no problems in 1 migration\n\
         \x20 failed   verify     1 not_restored\n\
         \x20     not_restored   20260101000100_index_email\n\
         \x20       down.sql did not restore the schema: 1 object differs from before the migration (added: left by down.sql; removed: not restored by it)\n\
         \x20       index public.users_email on public.users: added\n\
         \x20         + CREATE INDEX users_email ON public.users USING btree (email);\n\
         \x20 skipped  status     no database configured (DATABASE_URL or `database_url`)\n\
         2 of 3 checks failed"
    );

    // Fixed and sealed: nothing new, every step that applies passes.
    p.file("migrations/20260101000100_index_email/down.sql", INDEX_DOWN);
    let run = p.run(&["check", "--shadow-url", &shadow()]);
    assert_eq!(run.code, 3, "still a draft: {run:?}");
    assert!(
        run.stdout.contains("  passed   verify     1 ok\n"),
        "{}",
        run.stdout
    );
    assert_eq!(p.run(&["seal"]).code, 0);
    let run = p.run(&["check", "--shadow-url", &shadow()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "Checked no new migrations\n\
         \x20 passed   lock file  2 migrations sealed and intact\n\
         \x20 skipped  lint       no new migrations\n\
         \x20 skipped  verify     no new migrations\n\
         \x20 skipped  status     no database configured (DATABASE_URL or `database_url`)\n\
         All 1 check passed\n"
    );
    // --all lints and verifies the whole history.
    let run = p.run(&["check", "--all", "--shadow-url", &shadow()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.starts_with("Checked all 2 migrations\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("  passed   verify     2 ok\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn pending_migrations_on_the_configured_database_are_the_new_ones() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration("20260101000000_create_users", USERS_UP, Some(USERS_DOWN));
    assert_eq!(p.run(&["apply"]).code, 0);
    p.migration("20260101000100_index_email", INDEX_UP, Some(INDEX_DOWN));
    assert_eq!(p.run(&["seal"]).code, 0);
    let run = p.run(&["check"]);
    assert_eq!(run.code, 0, "{run:?}");
    let label = format!("postgres@127.0.0.1:5432/{}", db.name);
    assert_eq!(
        untimed(&run.stdout),
        format!(
            "Checked 1 new migration: 20260101000100_index_email\n\
             \x20 passed   lock file  2 migrations sealed and intact\n\
             \x20 passed   lint       no problems in 1 migration\n\
             \x20 passed   verify     1 ok\n\
             \x20 passed   status     {label}: 1 pending migration to apply\n\
             All 4 checks passed"
        )
    );
    // The gate changed nothing: the pending migration is still pending.
    assert!(db.has_table("users"));
    assert_eq!(
        db.count("SELECT count(*) FROM pg_indexes WHERE indexname = 'users_email'"),
        0
    );
    assert_eq!(db.history().len(), 1);

    // A problem on the database (an applied migration edited) fails the status step.
    p.file(
        "migrations/20260101000000_create_users/migration.sql",
        "CREATE TABLE users (id bigint PRIMARY KEY);\n",
    );
    let run = p.run(&["check", "--format", "json"]);
    assert_eq!(run.code, 3, "{run:?}");
    let json = run.json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["exit_code"], 3);
    assert_eq!(json["steps"]["lock_file"]["result"], "failed");
    assert_eq!(
        json["steps"]["lock_file"]["report"]["findings"][0]["kind"],
        "edited"
    );
    assert_eq!(json["steps"]["status"]["result"], "failed");
    assert_eq!(
        json["steps"]["verify"]["result"], "skipped",
        "verify does not run over a broken lock file"
    );
    assert_eq!(
        json["steps"]["verify"]["reason"],
        "the lock file has problems (see above)"
    );
}

#[test]
fn github_annotations_point_at_the_file_and_line() {
    let p = Project::new();
    p.migration("20260101000000_create_users", USERS_UP, Some(USERS_DOWN));
    assert_eq!(p.run(&["seal"]).code, 0);
    p.migration(
        "20260101000100_require_name",
        "ALTER TABLE users ADD COLUMN name text NOT NULL;\n",
        Some("ALTER TABLE users DROP COLUMN name;\n"),
    );
    let run = p.run(&["check", "--format", "github", "--shadow-url", &shadow()]);
    assert_eq!(run.code, 3, "{run:?}");
    let annotations: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(
        annotations,
        [
            "::error file=migrations/20260101000100_require_name,title=migrations.lock%3A unsealed::migrations/20260101000100_require_name: draft, not sealed yet%0Ahelp: a draft: run `cargo migrate seal` once it is ready (apply seals it too)",
            "::error file=migrations/20260101000100_require_name/migration.sql,line=1,col=19,endLine=1,endColumn=48,title=adding-required-field::Adding a new column that is `NOT NULL` and has no default value to an existing table effectively makes it required.%0Ahelp: add the column nullable (or with a constant default), backfill in batches, then add `CHECK (col IS NOT NULL) NOT VALID`, `VALIDATE CONSTRAINT` it, and `SET NOT NULL`, each in its own migration",
        ]
    );
    assert!(
        run.stdout
            .contains("  failed   lint       1 error, 0 warnings in 1 migration\n"),
        "{}",
        run.stdout
    );
    // --format github is for lint and check only.
    let run = p.run(&["status", "--format", "github"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: --format github is for `cargo migrate lint` and `check` only; use text or json\n"
    );
}

#[test]
fn a_step_that_cannot_run_is_an_error_and_the_others_are_still_reported() {
    let mut p = project_with_a_bad_draft();
    p.env.push((
        "DATABASE_URL".into(),
        "postgres://postgres:hunter2@127.0.0.1:1/app?connect_timeout=2".into(),
    ));
    let run = p.run(&["check", "--shadow-url", &shadow(), "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let json = run.json();
    assert_eq!(json["exit_code"], 1);
    assert_eq!(json["steps"]["status"]["result"], "error");
    let error = json["steps"]["status"]["error"]["error"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(
        error,
        "cannot connect to postgres@127.0.0.1:1/app: error connecting to server: Connection refused (os error 111)"
    );
    assert_eq!(json["steps"]["lint"]["result"], "passed");
    assert_eq!(json["steps"]["verify"]["result"], "failed");
    assert!(!run.stdout.contains("hunter2") && !run.stderr.contains("hunter2"));
}
