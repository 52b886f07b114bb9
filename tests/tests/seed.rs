//! `cargo migrate seed` and `reset --seed`: seed SQL in one transaction on a database at the
//! latest version, local databases only unless forced.

use migrate_tests::{Project, TestDb};

const USERS: &str = "20261121090000_create_users";
const ORDERS: &str = "20261121090100_create_orders";

fn project(db: &TestDb) -> Project {
    let p = Project::with_db(db);
    p.migration(
        USERS,
        "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n",
        Some("DROP TABLE users;\n"),
    );
    p
}

#[test]
fn seeds_run_in_name_order_in_one_transaction_only_at_the_latest_version() {
    let db = TestDb::new();
    let p = project(&db);
    p.file(
        "seeds/01_users.sql",
        "INSERT INTO users VALUES (1, 'a@example.com') ON CONFLICT DO NOTHING;\n",
    );
    p.file(
        "seeds/02_orders.sql",
        "INSERT INTO orders VALUES (1, 1) ON CONFLICT DO NOTHING;\n",
    );
    // Nothing applied yet: refused, nothing written.
    let pending = p.run(&["seed"]);
    assert_eq!(pending.code, 1, "{pending:?}");
    assert!(
        pending.stderr.starts_with(&format!(
            "error: refusing to seed: the database is not at the latest version: {} (pending)\n  help: run `cargo migrate apply` first",
            USERS
        )),
        "{}",
        pending.stderr
    );
    assert!(!db.has_table("users"));
    assert_eq!(p.run(&["apply"]).code, 0);

    // The second file fails (no orders table yet): the first file's rows are rolled back too.
    let failed = p.run(&["seed"]);
    assert_eq!(failed.code, 1, "{failed:?}");
    assert_eq!(
        failed.stderr,
        "error: seed file seeds/02_orders.sql failed: 42P01: relation \"orders\" does not exist\n\
         \x20 --> seeds/02_orders.sql:1:13\n\
         \x20   |\n\
         \x20 1 | INSERT INTO orders VALUES (1, 1) ON CONFLICT DO NOTHING;\n\
         \x20   |             ^\n\
         \x20 note: the seed transaction was rolled back: nothing of any seed file was written\n"
    );
    assert_eq!(db.count("SELECT count(*) FROM users"), 0);

    p.migration(
        ORDERS,
        "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users);\n",
        Some("DROP TABLE orders;\n"),
    );
    // A migration pending again: refused.
    assert_eq!(p.run(&["seed"]).code, 1);
    assert_eq!(p.run(&["apply"]).code, 0);
    let seeded = p.run(&["seed"]);
    assert_eq!(seeded.code, 0, "{seeded:?}");
    assert!(
        seeded.stderr.starts_with(
            "  Seeded seeds/01_users.sql\n  Seeded seeds/02_orders.sql\nSeeded postgres@127.0.0.1:5432/"
        ),
        "{}",
        seeded.stderr
    );
    // Idempotent seeds run twice harmlessly.
    assert_eq!(p.run(&["seed"]).code, 0);
    assert_eq!(db.count("SELECT count(*) FROM orders"), 1);
    // One file, given on the command line; JSON.
    p.file(
        "extra.sql",
        "INSERT INTO users VALUES (2, 'b@example.com');\n",
    );
    let one = p.run(&["--format", "json", "seed", "extra.sql"]);
    assert_eq!(one.code, 0, "{one:?}");
    assert_eq!(one.json()["files"], serde_json::json!(["extra.sql"]));
    assert_eq!(db.count("SELECT count(*) FROM users"), 2);
}

#[test]
fn seeds_dir_setting_missing_seeds_and_reset_seed() {
    let db = TestDb::new();
    let p = project(&db);
    assert_eq!(p.run(&["apply"]).code, 0);
    let missing = p.run(&["seed"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .starts_with("error: cannot read the seeds at seeds: "),
        "{}",
        missing.stderr
    );
    p.file(
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [package.metadata.migrate]\nseeds_dir = \"db/seed-data\"\n\n\
         [package.metadata.migrate.lint]\nallow = [\"missing-down-migration\"]\n\n[workspace]\n",
    );
    p.file(
        "db/seed-data/users.sql",
        "INSERT INTO users VALUES (7, 'dev@example.com') ON CONFLICT DO NOTHING;\n",
    );
    db.client()
        .batch_execute("INSERT INTO users VALUES (100, 'old@example.com')")
        .expect("old row");
    let reset = p.run(&["reset", "--seed"]);
    assert_eq!(reset.code, 0, "{reset:?}");
    assert!(
        reset
            .stderr
            .ends_with("Reset done: 1 migration(s) applied.\n  Seeded db/seed-data/users.sql\n"),
        "{}",
        reset.stderr
    );
    let ids: Vec<i64> = db
        .client()
        .query("SELECT id FROM users ORDER BY id", &[])
        .expect("users")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, vec![7]);
}

#[test]
fn a_database_on_another_machine_is_refused_like_reset() {
    let db = TestDb::new();
    let p = project(&db);
    p.file(
        "seeds/users.sql",
        "INSERT INTO users VALUES (1, 'x') ON CONFLICT DO NOTHING;\n",
    );
    let remote = p.run(&[
        "--database-url",
        "postgres://app:s3cret@192.0.2.7:5432/shop",
        "seed",
    ]);
    assert_eq!(remote.code, 1);
    assert_eq!(
        remote.stderr,
        "error: refusing to seed app@192.0.2.7:5432/shop: it connects to 192.0.2.7, which is not \
         on this machine, and seed writes data into it\n  help: if you really mean it: --force \
         --confirm shop\n  note: nothing was changed\n"
    );
    let unconfirmed = p.run(&[
        "--database-url",
        "postgres://app:s3cret@192.0.2.7:5432/shop",
        "seed",
        "--force",
        "--confirm",
        "other",
    ]);
    assert_eq!(unconfirmed.code, 1);
    assert_eq!(
        unconfirmed.stderr,
        "error: --confirm must repeat the database name `shop` to seed app@192.0.2.7:5432/shop\n  note: nothing was changed\n"
    );
}

#[test]
fn lint_and_seed_warn_about_a_plain_insert_in_a_seed_file() {
    let db = TestDb::new();
    let p = project(&db);
    assert_eq!(p.run(&["apply"]).code, 0);
    p.file(
        "seeds/users.sql",
        "INSERT INTO users VALUES (1, 'a') ON CONFLICT DO NOTHING;\nINSERT INTO users VALUES (2, 'b');\n",
    );
    let lint = p.run(&["lint"]);
    assert_eq!(lint.code, 0, "warnings do not fail: {lint:?}");
    let warning = "warning[seed-insert-without-on-conflict]: INSERT without ON CONFLICT in a seed \
                   file: seeding twice fails or duplicates rows\n  --> seeds/users.sql:2:1\n";
    assert!(lint.stderr.contains(warning), "{}", lint.stderr);
    assert!(
        lint.stderr
            .ends_with("0 errors, 1 warning in 0 draft migrations and 1 seed file.\n"),
        "{}",
        lint.stderr
    );
    let json = p.run(&["--format", "json", "lint"]).json();
    assert_eq!(json["seeds"], serde_json::json!(["seeds/users.sql"]));
    assert_eq!(json["findings"][0]["line"], 2);
    // Naming migrations lints only them.
    let named = p.run(&["lint", USERS]);
    assert!(!named.stderr.contains("seed-insert"), "{}", named.stderr);

    let seeded = p.run(&["seed"]);
    assert_eq!(seeded.code, 0, "{seeded:?}");
    assert!(seeded.stderr.starts_with(warning), "{}", seeded.stderr);
    // Seeding twice: the plain INSERT fails on its duplicate key, nothing is written.
    let again = p.run(&["seed"]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains(
            "error: seed file seeds/users.sql failed: 23505: duplicate key value violates unique constraint \"users_pkey\"\n  --> seeds/users.sql:2:1\n"
        ),
        "{}",
        again.stderr
    );
    assert_eq!(db.count("SELECT count(*) FROM users"), 2);
    // Suppressed with a reason, as in migrations.
    p.file(
        "seeds/users.sql",
        "-- migrate:allow(seed-insert-without-on-conflict) reason: the table is emptied first\nINSERT INTO users SELECT 3, 'c' WHERE false;\n",
    );
    let quiet = p.run(&["lint"]);
    assert!(!quiet.stderr.contains("warning["), "{}", quiet.stderr);
}

#[test]
fn a_seed_file_that_ends_the_transaction_is_refused_before_anything_runs() {
    let db = TestDb::new();
    let p = project(&db);
    assert_eq!(p.run(&["apply"]).code, 0);
    // The COMMIT would commit the first row, and the second file's failure would then leave
    // it behind: one transaction for all the seeds would be broken.
    p.file(
        "seeds/01_users.sql",
        "INSERT INTO users VALUES (1, 'a@example.com') ON CONFLICT DO NOTHING;\n\
         COMMIT;\n\
         INSERT INTO users VALUES (2, 'b@example.com') ON CONFLICT DO NOTHING;\n",
    );
    p.file(
        "seeds/02_fails.sql",
        "INSERT INTO users VALUES (3, NULL) ON CONFLICT DO NOTHING;\n",
    );
    let refused = p.run(&["seed"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_eq!(
        refused.stderr,
        "error: seeds/01_users.sql:2:1: `COMMIT` in a seed file: the seeds run in one \
         transaction, which it would end halfway (what ran before it would stay when a later \
         statement fails)\n\
         \x20 help: remove it: `seed` commits every seed file together, or none of them; \
         nothing was run\n"
    );
    assert_eq!(db.count("SELECT count(*) FROM users"), 0);
    // `reset --seed` reads the seeds before it drops anything: refused the same way.
    let reset = p.run(&["reset", "--seed"]);
    assert_eq!(reset.code, 1, "{reset:?}");
    assert!(
        reset
            .stderr
            .starts_with("error: seeds/01_users.sql:2:1: `COMMIT` in a seed file"),
        "{}",
        reset.stderr
    );
    assert!(db.has_table("users"));
    // END and ROLLBACK are refused too; a ROLLBACK TO SAVEPOINT stays inside and runs.
    p.file("seeds/02_fails.sql", "SELECT 1;\nend;\n");
    p.file(
        "seeds/01_users.sql",
        "SAVEPOINT s;\nINSERT INTO users VALUES (1, 'a@example.com');\nROLLBACK TO SAVEPOINT s;\n",
    );
    let end = p.run(&["seed"]);
    assert!(
        end.stderr
            .starts_with("error: seeds/02_fails.sql:2:1: `END` in a seed file"),
        "{}",
        end.stderr
    );
    p.file("seeds/02_fails.sql", "SELECT 1;\n");
    let fine = p.run(&["seed"]);
    assert_eq!(fine.code, 0, "{fine:?}");
    assert_eq!(db.count("SELECT count(*) FROM users"), 0);
}
