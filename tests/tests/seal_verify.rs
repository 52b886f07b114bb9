//! `seal --verify` records in migrations.lock that a migration was proved reversible (format 2,
//! only when something is verified), refuses to seal one that fails with nothing written, and
//! `require_verified` makes `apply --locked` refuse pending migrations sealed without it.

use migrate_tests::{Project, TestDb, admin_url, with_dbname};

const USERS_UP: &str = "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n";
const USERS_DOWN: &str = "DROP TABLE users;\n";

fn shadow() -> String {
    with_dbname(&admin_url(), "postgres")
}

/// The entry lines of the lock file (no comments, no header).
fn entries(p: &Project) -> Vec<String> {
    p.read("migrations/migrations.lock")
        .lines()
        .filter(|l| l.starts_with("2026"))
        .map(|l| {
            l.split(' ')
                .filter(|w| w.len() != 64)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn seal_verify_records_verified_entries_in_format_2_and_keeps_them() {
    let p = Project::new();
    p.migration("20260101000000_create_users", USERS_UP, Some(USERS_DOWN));
    let run = p.run(&["seal", "--verify", "--shadow-url", &shadow()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("Recorded 1 migration as verified in "),
        "{}",
        run.stderr
    );
    let lock = p.read("migrations/migrations.lock");
    assert!(lock.contains("\nformat 2\n"), "{lock}");
    assert!(
        lock.contains(
            "# columns: version name sha256(migration.sql) sha256(down.sql)|- verified|- chain\n"
        ),
        "{lock}"
    );
    assert_eq!(entries(&p), ["20260101000000 create_users verified"]);

    // A draft sealed without --verify is recorded as not verified; the first keeps its flag.
    p.migration(
        "20260101000100_add_name",
        "ALTER TABLE users ADD COLUMN name text;\n",
        Some("ALTER TABLE users DROP COLUMN name;\n"),
    );
    let run = p.run(&["seal", "--format", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["verified"], serde_json::json!([]));
    assert_eq!(
        entries(&p),
        [
            "20260101000000 create_users verified",
            "20260101000100 add_name -"
        ]
    );
    assert_eq!(p.run(&["seal", "--check"]).code, 0);

    // Hand-marking an entry verified breaks the chain: the lock file is corrupt.
    let lock = p.read("migrations/migrations.lock");
    p.file(
        "migrations/migrations.lock",
        lock.replacen(" - ", " verified ", 1),
    );
    let run = p.run(&["seal", "--check"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("chain hash does not match"),
        "{}",
        run.stderr
    );
}

#[test]
fn seal_verify_refuses_a_draft_that_does_not_verify_and_writes_nothing() {
    let p = Project::new();
    p.migration("20260101000000_create_users", USERS_UP, Some(USERS_DOWN));
    assert_eq!(p.run(&["seal"]).code, 0);
    let before = p.read("migrations/migrations.lock");
    p.migration(
        "20260101000100_add_name",
        "ALTER TABLE users ADD COLUMN name text;\n",
        Some("SELECT 1;\n"),
    );
    let run = p.run(&["seal", "--verify", "--shadow-url", &shadow()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(
            "error: not sealed: 1 migration did not verify: 20260101000100_add_name (not_restored)\n\
             \x20 help: fix them (`cargo migrate verify` shows why), then seal again\n\
             \x20 note: nothing was sealed: migrations.lock is unchanged\n"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains("not_restored   20260101000100_add_name"),
        "{}",
        run.stdout
    );
    assert_eq!(p.read("migrations/migrations.lock"), before);

    let run = p.run(&[
        "seal",
        "--verify",
        "--shadow-url",
        &shadow(),
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    let json = run.json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["verify"]["migrations"][0]["verdict"], "not_restored");
    assert_eq!(p.read("migrations/migrations.lock"), before);
}

#[test]
fn require_verified_refuses_unverified_pending_migrations_under_locked() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.file(
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [package.metadata.migrate]\nrequire_verified = true\n\n[workspace]\n",
    );
    p.migration("20260101000000_create_users", USERS_UP, Some(USERS_DOWN));
    assert_eq!(p.run(&["seal", "--verify"]).code, 0);
    p.migration(
        "20260101000100_add_name",
        "ALTER TABLE users ADD COLUMN name text;\n",
        Some("ALTER TABLE users DROP COLUMN name;\n"),
    );
    assert_eq!(p.run(&["seal"]).code, 0);

    let run = p.run(&["apply", "--locked"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.starts_with(
            "error: --locked with `require_verified`: 1 pending migration was not verified when sealed: 20260101000100_add_name; nothing was applied\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!db.has_table("users"));
    // Up to the verified one, it applies; without --locked the setting does not apply.
    let run = p.run(&["apply", "--locked", "--to", "20260101000000"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(db.has_table("users"));
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(db.history().len(), 2);
}
