//! `cargo migrate import --from <tool> <dir>`: each tool's layout, with the shapes that trip
//! importers up, converted into a directory our reader accepts, sealed, and applied to a fresh
//! database by our engine.

use migrate_runtime::MigrationSet;
use migrate_tests::{Project, Run, TestDb, copy_dir};
use std::path::{Path, PathBuf};

fn fixture(tool: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/import")
        .join(tool)
}

fn import(p: &Project, tool: &str, source: &Path) -> Run {
    p.run(&["import", "--from", tool, &source.display().to_string()])
}

/// The imported directory reads back, is sealed, applies to the fresh database and is then up
/// to date; returns what `apply` printed.
fn applies_cleanly(p: &Project, folders: usize) -> Run {
    let set = MigrationSet::read(&p.path().join("migrations"))
        .unwrap_or_else(|e| panic!("our reader refuses the import: {e}"));
    assert_eq!(set.migrations.len(), folders);
    let check = p.run(&["seal", "--check"]);
    assert_eq!(check.code, 0, "everything imported is sealed: {check:?}");
    let apply = p.run(&["apply"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply
            .stderr
            .contains(&format!("Applied {folders} migrations in ")),
        "{}",
        apply.stderr
    );
    let status = p.run(&["status"]);
    assert_eq!(status.code, 0, "{status:?}");
    apply
}

#[test]
fn diesel_mixed_version_formats_keep_diesels_order_and_apply() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    let source = fixture("diesel");
    let run = import(&p, "diesel", &source);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "\
00000000000000_diesel_initial_setup    ->  00000000000000_diesel_initial_setup
2019-01-01-000000_create_users         ->  20190101000000_create_users
20190101120000_create_posts            ->  20190101120000_create_posts
2019-01-02-000000_add_posts_title      ->  20190102000000_add_posts_title
2019-01-02-000000-0000_add_users_name  ->  20190102000001_add_users_name
    version: 20190102000000 (the timestamp in the first 14 digits of 201901020000000000) is the version of 2019-01-02-000000_add_posts_title too, so it becomes 20190102000001: diesel's order is kept
2019-01-03-000000_index_posts_title    ->  20190103000000_index_posts_title
20190104000000_AddTags                 ->  20190104000000_add_tags
    converted migration.sql: removed its own `BEGIN;` (line 1) and `COMMIT;` (line 4): cargo-migrate runs the migration in a transaction
skipped 20190104000000_AddTags/README.md: not part of a diesel migration (up.sql, down.sql, metadata.toml)
skipped README.md: not a migration (documentation); migrations are folders `<version>_<name>/` holding up.sql
"
    );
    assert_eq!(
        run.stderr,
        format!(
            "Imported 7 diesel migrations from {} into migrations; sealed 7 in \
             migrations/migrations.lock.\n",
            source.display()
        )
    );
    assert_eq!(
        p.read("migrations/20190103000000_index_posts_title/migration.sql"),
        "-- imported from diesel 2019-01-03-000000_index_posts_title/up.sql\n\
         -- migrate:no-transaction\n\
         CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_title_idx ON posts (title);\n",
        "run_in_transaction = false becomes our directive"
    );
    assert_eq!(
        p.read("migrations/20190103000000_index_posts_title/down.sql"),
        "-- imported from diesel 2019-01-03-000000_index_posts_title/down.sql\n\
         DROP INDEX CONCURRENTLY IF EXISTS posts_title_idx;\n",
        "down.sql runs as migration.sql does, as diesel's metadata has it"
    );
    assert_eq!(
        p.read("migrations/20190104000000_add_tags/migration.sql"),
        "-- imported from diesel 20190104000000_AddTags/up.sql\n\
         -- BEGIN; (removed on import: cargo-migrate runs the migration in a transaction)\n\
         CREATE TABLE tags (id SERIAL PRIMARY KEY, label VARCHAR NOT NULL);\n\
         CREATE TABLE post_tags (post_id INTEGER NOT NULL REFERENCES posts (id), tag_id INTEGER NOT NULL REFERENCES tags (id));\n\
         -- COMMIT; (removed on import: cargo-migrate runs the migration in a transaction)\n"
    );
    let set = MigrationSet::read(&p.path().join("migrations")).unwrap();
    let index = &set.migrations[5];
    assert!(index.directives.no_transaction && index.down_no_transaction);
    applies_cleanly(&p, 7);
    assert_eq!(
        db.count(
            "SELECT count(*) FROM pg_index WHERE indexrelid = 'posts_title_idx'::regclass \
             AND indisvalid"
        ),
        1
    );
    assert!(db.has_table("post_tags"));
    // diesel's helper from its initial setup migration works.
    assert_eq!(
        db.count("SELECT count(*) FROM pg_trigger WHERE tgname = 'set_updated_at'"),
        1
    );
}

#[test]
fn golang_migrate_unpadded_versions_sort_numerically_and_apply() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    let source = tempfile::tempdir().unwrap();
    copy_dir(&fixture("golang-migrate"), source.path());
    for n in 12..=120 {
        let file = |dir: &str| source.path().join(format!("{n}_table_{n}.{dir}.sql"));
        std::fs::write(file("up"), format!("CREATE TABLE t{n} (id int);\n")).unwrap();
        std::fs::write(file("down"), format!("DROP TABLE t{n};\n")).unwrap();
    }
    let run = import(&p, "golang-migrate", source.path());
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.starts_with(
            "\
1_create_users.up.sql       ->  00000000000001_create_users
2_add_orders.up.sql         ->  00000000000002_add_orders
    converted migration.sql: removed its own `BEGIN;` (line 1) and `COMMIT;` (line 9): cargo-migrate runs the migration in a transaction
    converted down.sql: removed its own `BEGIN;` (line 1) and `COMMIT;` (line 4): cargo-migrate runs the migration in a transaction
3_index_users_email.up.sql  ->  00000000000003_index_users_email
    converted migration.sql: `CREATE INDEX CONCURRENTLY` (line 1) cannot run inside a transaction: the migration runs statement by statement outside one (`-- migrate:no-transaction`)
    converted down.sql: `DROP INDEX CONCURRENTLY` (line 1) cannot run inside a transaction: the migration runs statement by statement outside one (`-- migrate:no-transaction`)
    note: its down file 3_drop_users_email_index.down.sql has another name; golang-migrate pairs files by version (3)
10_add_order_total.up.sql   ->  00000000000010_add_order_total
11_order_status.up.sql      ->  00000000000011_order_status
12_table_12.up.sql          ->  00000000000012_table_12
"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with(
            "120_table_120.up.sql        ->  00000000000120_table_120\n\
             skipped README.md: not a migration (documentation); migrations are \
             `<version>_<name>.up.sql` and `.down.sql` files\n"
        ),
        "{}",
        run.stdout
    );
    let folders = p.migration_folders();
    assert_eq!(folders.len(), 114);
    assert_eq!(folders[3], "00000000000010_add_order_total");
    assert_eq!(
        p.read("migrations/00000000000003_index_users_email/down.sql"),
        "-- imported from golang-migrate 3_drop_users_email_index.down.sql\n\
         DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;\n"
    );
    assert_eq!(
        p.read("migrations/00000000000002_add_orders/down.sql"),
        "-- imported from golang-migrate 2_add_orders.down.sql\n\
         -- BEGIN; (removed on import: cargo-migrate runs the migration in a transaction)\n\
         DROP TABLE orders;\n\
         ALTER TABLE users DROP COLUMN name;\n\
         -- COMMIT; (removed on import: cargo-migrate runs the migration in a transaction)\n"
    );
    applies_cleanly(&p, 114);
    assert!(db.has_table("t120") && db.has_table("orders"));
    // The down migrations run too: migration 3's outside a transaction, 2's inside ours.
    let down = p.run(&["down", "--to", "00000000000001"]);
    assert_eq!(down.code, 0, "{down:?}");
    assert!(!db.has_table("orders") && db.has_table("users"));
}

#[test]
fn sqlx_directives_reversible_and_simple_files() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    let source = fixture("sqlx");
    let run = import(&p, "sqlx", &source);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "\
20240101120000_create_users.up.sql       ->  20240101120000_create_users
20240102120000_index_users_email.up.sql  ->  20240102120000_index_users_email
    converted migration.sql: `-- no-transaction` (line 1), sqlx's directive, became `-- migrate:no-transaction`
    converted down.sql: `-- no-transaction` (line 1), sqlx's directive, became `-- migrate:no-transaction`
20240103120000_create_roles.sql          ->  20240103120000_create_roles
    note: it has no down migration: `cargo migrate down` refuses to revert it
20240104120000_lowercase_emails.up.sql   ->  20240104120000_lowercase_emails
    note: 20240104120000_lowercase_emails.up.sql: `-- no-transaction` on line 2 is not at the very start of the file, so sqlx ran it in a transaction; so does cargo-migrate
skipped README.md: not a migration (documentation); migrations are `<version>_<description>.sql` files (or `.up.sql` and `.down.sql`)
skipped data/: not a migration: sqlx reads the top of the directory only
"
    );
    let up = p.read("migrations/20240102120000_index_users_email/migration.sql");
    let lines: Vec<&str> = up.lines().collect();
    assert_eq!(
        lines[0],
        "-- imported from sqlx 20240102120000_index_users_email.up.sql"
    );
    let checksum = lines[1]
        .strip_prefix("-- sqlx checksum: ")
        .expect("sqlx keeps checksums: the header has the one sqlx recorded");
    assert_eq!(checksum.len(), 96, "SHA-384 in hex");
    assert_eq!(
        &lines[2..],
        [
            "-- migrate:no-transaction",
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);"
        ]
    );
    assert_eq!(
        p.read("migrations/20240102120000_index_users_email/down.sql"),
        "-- imported from sqlx 20240102120000_index_users_email.down.sql\n\
         DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;\n"
    );
    let set = MigrationSet::read(&p.path().join("migrations")).unwrap();
    let modes: Vec<(bool, bool)> = set
        .migrations
        .iter()
        .map(|m| (m.directives.no_transaction, m.down_no_transaction))
        .collect();
    assert_eq!(
        modes,
        [(false, false), (true, true), (false, false), (false, false)]
    );
    applies_cleanly(&p, 4);
    assert_eq!(db.count("SELECT count(*) FROM roles"), 1);
}

#[test]
fn prisma_repeated_timestamps_down_sql_and_a_concurrent_index() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    let source = fixture("prisma");
    let run = import(&p, "prisma", &source);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "\
20240101000000_init              ->  20240101000000_init
20240102000000_add_posts         ->  20240102000000_add_posts
20240102000000_add_posts_author  ->  20240102000001_add_posts_author
    version: 20240102000000 is the version of 20240102000000_add_posts too, so it becomes 20240102000001: prisma's order is kept
    note: its down.sql, which Prisma never runs, is `cargo migrate down`'s
20240103000000_concurrent_index  ->  20240103000000_concurrent_index
    converted migration.sql: `CREATE INDEX CONCURRENTLY` (line 1) cannot run inside a transaction: the migration runs statement by statement outside one (`-- migrate:no-transaction`)
skipped README.md: not a migration (documentation); migrations are folders `<timestamp>_<name>/` holding migration.sql
skipped migration_lock.toml: Prisma's lock file (not needed)
note: 3 of the 4 migrations have no down.sql (prisma keeps no down migrations): `cargo migrate down` refuses to revert them
"
    );
    assert!(
        p.read("migrations/20240101000000_init/migration.sql")
            .starts_with(
                "-- imported from prisma 20240101000000_init/migration.sql\n-- prisma checksum: "
            ),
    );
    applies_cleanly(&p, 4);
    assert_eq!(
        db.count("SELECT count(*) FROM pg_indexes WHERE indexname = 'Post_title_idx'"),
        1
    );
    let down = p.run(&["down"]);
    assert_eq!(down.code, 1, "the newest has no down.sql: {down:?}");
}

#[test]
fn refinery_sql_is_imported_and_rust_migrations_are_reported() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    let source = fixture("refinery");
    let run = import(&p, "refinery", &source);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "\
V1__initial.sql                   ->  00000000000001_initial
V2__add_cars_and_motos_table.sql  ->  00000000000002_add_cars_and_motos_table
    converted migration.sql: removed its own `BEGIN;` (line 1) and `COMMIT;` (line 4): cargo-migrate runs the migration in a transaction
U3__add_brand_to_cars_table.sql   ->  00000000000003_add_brand_to_cars_table
    note: refinery's `U` (unversioned) migration: imported at its version, in order with the others
more/V5__add_persons_email.sql    ->  00000000000005_add_persons_email
skipped README.md: not a migration (documentation); migrations are `V<version>__<name>.sql` (or `U...`) files
skipped V4__seed_persons.rs: not importable: a migration written in Rust (cargo-migrate imports SQL)
skipped more/mod.rs: not a migration: migrations are `V<version>__<name>.sql` (or `U...`) files
note: none of the 4 migrations has a down.sql (refinery keeps no down migrations): `cargo migrate down` refuses to revert them
"
    );
    assert!(
        run.stderr.starts_with(
            "warning: V4__seed_persons.rs is a refinery migration written in Rust, which cannot \
             be imported: the imported migrations lack what it does; write it as SQL in a new \
             migration (`cargo migrate new`), or run it from your application\n"
        ),
        "{}",
        run.stderr
    );
    let header = p.read("migrations/00000000000001_initial/migration.sql");
    // The checksum refinery itself computes for the file is among those the header keeps.
    let sql = std::fs::read_to_string(source.join("V1__initial.sql")).unwrap();
    let theirs = refinery::Migration::unapplied("V1__initial", &sql)
        .unwrap()
        .checksum();
    assert!(
        header
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with(&format!("-- refinery checksum: {theirs} "))),
        "{header}"
    );
    applies_cleanly(&p, 4);
    assert!(db.has_table("cars") && db.has_table("persons"));
}

#[test]
fn atlas_sum_is_checked_and_txmode_none_is_kept() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    let source = fixture("atlas");
    let run = import(&p, "atlas", &source);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "\
20220318104614_initial.sql            ->  20220318104614_initial
20220318104615_add_orders.sql         ->  20220318104615_add_orders
20220320000000_index_orders_user.sql  ->  20220320000000_index_orders_user
    converted migration.sql: `-- atlas:txmode none` (line 1), atlas's directive, became `-- migrate:no-transaction`
skipped README.md: not a migration (documentation); migrations are `<version>_<name>.sql` files
note: none of the 3 migrations has a down.sql (atlas keeps no down migrations): `cargo migrate down` refuses to revert them
"
    );
    // The header keeps the file's atlas.sum hash, the one Atlas records when it applies it.
    let sum = std::fs::read_to_string(source.join("atlas.sum")).unwrap();
    let listed = sum
        .lines()
        .find_map(|l| l.strip_prefix("20220318104615_add_orders.sql h1:"))
        .unwrap();
    assert_eq!(
        p.read("migrations/20220318104615_add_orders/migration.sql")
            .lines()
            .nth(1),
        Some(format!("-- atlas checksum: {listed}").as_str())
    );
    applies_cleanly(&p, 3);

    // A file edited after `atlas migrate hash` is refused, as Atlas refuses it.
    let edited = tempfile::tempdir().unwrap();
    copy_dir(&source, edited.path());
    std::fs::write(
        edited.path().join("20220318104614_initial.sql"),
        "CREATE TABLE users (id bigint);\n",
    )
    .unwrap();
    let q = Project::new();
    let refused = import(&q, "atlas", edited.path());
    assert_eq!(refused.code, 1);
    assert_eq!(refused.stdout, "");
    let e = edited.path().display();
    assert_eq!(
        refused.stderr,
        format!(
            "error: cannot import {e}: 3 problems
  --> {e}/20220318104614_initial.sql: does not match atlas.sum (changed after Atlas hashed it, or a file before it did)
  help: Atlas refuses a directory that does not match its atlas.sum: restore the file, or run `atlas migrate hash` if the change is intended, then import again
  --> {e}/20220318104615_add_orders.sql: does not match atlas.sum (changed after Atlas hashed it, or a file before it did)
  help: Atlas refuses a directory that does not match its atlas.sum: restore the file, or run `atlas migrate hash` if the change is intended, then import again
  --> {e}/20220320000000_index_orders_user.sql: does not match atlas.sum (changed after Atlas hashed it, or a file before it did)
  help: Atlas refuses a directory that does not match its atlas.sum: restore the file, or run `atlas migrate hash` if the change is intended, then import again
  note: nothing was written
"
        )
    );
    assert!(!q.path().join("migrations").exists());
}
