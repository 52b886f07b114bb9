//! `cargo migrate import --from <tool>` with a database: each tool's history table, created the
//! way the tool creates it and filled the way the tool fills it (by the tool itself for
//! refinery), adopted into ours: a clean history is recorded so that `status` is clean and
//! `apply` runs nothing the tool ran; failed or dirty entries, checksum mismatches and
//! migrations on one side only are refused migration by migration, with nothing written; the
//! tool's table is never changed.

use migrate_tests::{Project, Run, TestDb};
use postgres::Client;
use std::path::{Path, PathBuf};

fn fixture(tool: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/import")
        .join(tool)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A project whose migrations were imported (files only) from the tool's fixture.
fn imported(db: &TestDb, tool: &str) -> Project {
    let p = Project::with_db(db);
    let run = p.run(&[
        "import",
        "--from",
        tool,
        &fixture(tool).display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    p
}

/// Every row of a table, as JSON text, in a stable order.
fn rows(c: &mut Client, table: &str) -> Vec<String> {
    c.query(
        &format!("SELECT to_jsonb(t)::text FROM {table} t ORDER BY 1"),
        &[],
    )
    .expect("test setup")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// After a clean adoption: `status` is up to date, `apply` runs nothing, and the history holds
/// one `import` row per migration.
fn adopted_cleanly(db: &TestDb, p: &Project, count: usize) {
    let status = p.run(&["status"]);
    assert_eq!(status.code, 0, "{status:?}");
    let apply = p.run(&["apply"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply
            .stderr
            .contains("Nothing to apply; the database is at "),
        "{}",
        apply.stderr
    );
    let history = db.history();
    assert_eq!(history.len(), count);
    assert!(
        history
            .iter()
            .all(|(_, action, state)| action == "import" && state == "applied"),
        "{history:?}"
    );
}

/// The history table was never created: nothing was written.
fn nothing_recorded(db: &TestDb) {
    assert!(!db.has_table("_migrate_history"), "nothing is written");
}

// ---------------------------------------------------------------------------------- diesel

const DIESEL_TABLE: &str = "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
       version VARCHAR(50) PRIMARY KEY NOT NULL,
       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);";

/// Runs these diesel migrations as diesel does (each in a transaction with its row, the one
/// with `run_in_transaction = false` outside one) and records them in diesel's table.
fn diesel_applies(c: &mut Client, folders: &[&str]) {
    c.batch_execute(DIESEL_TABLE).expect("test setup");
    for folder in folders {
        let sql = read(&fixture("diesel").join(folder).join("up.sql"));
        let version = folder
            .split('_')
            .next()
            .expect("test setup")
            .replace('-', "");
        let insert = format!(
            "INSERT INTO __diesel_schema_migrations (version, run_on) \
             VALUES ('{version}', '2024-05-01 10:00:00')"
        );
        if sql.contains("CONCURRENTLY") {
            c.batch_execute(&sql).expect("test setup");
            c.batch_execute(&insert).expect("test setup");
        } else {
            c.batch_execute(&format!("BEGIN;\n{sql}\n{insert};\nCOMMIT;"))
                .expect("test setup");
        }
    }
}

const DIESEL_ALL: [&str; 7] = [
    "00000000000000_diesel_initial_setup",
    "2019-01-01-000000_create_users",
    "20190101120000_create_posts",
    "2019-01-02-000000_add_posts_title",
    "2019-01-02-000000-0000_add_users_name",
    "2019-01-03-000000_index_posts_title",
    "20190104000000_AddTags",
];

#[test]
fn diesel_history_is_adopted_and_apply_runs_nothing() {
    let db = TestDb::new();
    let p = imported(&db, "diesel");
    let mut c = db.client();
    diesel_applies(&mut c, &DIESEL_ALL);
    let before = rows(&mut c, "__diesel_schema_migrations");
    let run = p.run(&["import", "--from", "diesel"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "\
import           00000000000000_diesel_initial_setup  applied by diesel 2024-05-01 10:00:00
import           20190101000000_create_users          applied by diesel 2024-05-01 10:00:00
import           20190101120000_create_posts          applied by diesel 2024-05-01 10:00:00
import           20190102000000_add_posts_title       applied by diesel 2024-05-01 10:00:00
import           20190102000001_add_users_name        applied by diesel 2024-05-01 10:00:00
import           20190103000000_index_posts_title     applied by diesel 2024-05-01 10:00:00
import           20190104000000_add_tags              applied by diesel 2024-05-01 10:00:00
"
    );
    assert_eq!(
        run.stderr,
        "Recorded 7 migrations as applied in public._migrate_history (action import); diesel's \
         table public.__diesel_schema_migrations was only read.\n"
    );
    adopted_cleanly(&db, &p, 7);
    let note: String = c
        .query_one(
            "SELECT note FROM _migrate_history WHERE version = 20190102000001",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        note,
        "imported from diesel 2019-01-02-000000-0000_add_users_name (applied 2024-05-01 10:00:00)"
    );
    assert_eq!(rows(&mut c, "__diesel_schema_migrations"), before);
    // Adopting again changes nothing.
    let again = p.run(&["import", "--from", "diesel"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(
        again.stdout.starts_with(
            "already_recorded 00000000000000_diesel_initial_setup  already in cargo-migrate's history\n"
        ),
        "{}",
        again.stdout
    );
    assert_eq!(db.history().len(), 7);
}

#[test]
fn diesel_migrations_on_one_side_only_are_refused() {
    let db = TestDb::new();
    let p = imported(&db, "diesel");
    let mut c = db.client();
    // diesel skipped create_posts (it was added by a merge later), and applied a migration
    // whose folder is not in the files.
    diesel_applies(
        &mut c,
        &[
            "00000000000000_diesel_initial_setup",
            "2019-01-01-000000_create_users",
        ],
    );
    c.batch_execute(
        "CREATE TABLE posts (id SERIAL PRIMARY KEY, user_id INTEGER NOT NULL, title VARCHAR NOT NULL DEFAULT '');
         INSERT INTO __diesel_schema_migrations (version, run_on) VALUES
             ('20190102000000', '2024-05-01 10:00:00'),
             ('20190105000000', '2024-05-02 10:00:00');",
    )
    .unwrap();
    let before = rows(&mut c, "__diesel_schema_migrations");
    let run = p.run(&["import", "--from", "diesel"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "\
error: refusing to import the history: 2 problems in diesel's history (public.__diesel_schema_migrations)
  --> 20190101120000_create_posts: diesel did not apply it, though it applied a later migration
  help: apply it with diesel first (or remove it, if it is not wanted), then import the history again
  --> diesel 20190105000000: diesel applied 20190105000000, but no imported migration has it
  help: import the files this database was migrated with (a diesel migration that cannot be imported, such as one written in Rust, shows here too); cargo-migrate cannot adopt a migration it has no file for
  note: nothing was written
  note: diesel's table public.__diesel_schema_migrations was only read
"
    );
    // The JSON report has every migration's verdict.
    let json = p
        .run(&["import", "--from", "diesel", "--format", "json"])
        .json();
    assert_eq!(json["ok"], false);
    let states: Vec<(String, String)> = json["history"]["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["migration"].as_str().unwrap().to_string(),
                m["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("00000000000000_diesel_initial_setup", "import"),
        ("20190101000000_create_users", "import"),
        ("20190101120000_create_posts", "not_applied"),
        ("20190102000000_add_posts_title", "import"),
        ("20190102000001_add_users_name", "pending"),
        ("20190103000000_index_posts_title", "pending"),
        ("20190104000000_add_tags", "pending"),
        ("diesel 20190105000000", "no_file"),
    ];
    assert_eq!(
        states,
        expected.map(|(m, s)| (m.to_string(), s.to_string()))
    );
    nothing_recorded(&db);
    assert_eq!(rows(&mut c, "__diesel_schema_migrations"), before);
}

#[test]
fn files_and_history_in_one_run_or_neither() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    let mut c = db.client();
    diesel_applies(&mut c, &DIESEL_ALL[..4]);
    let source = fixture("diesel").display().to_string();
    // A refusal writes no file either.
    c.batch_execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('20200101000000')")
        .unwrap();
    let refused = p.run(&["import", "--from", "diesel", &source, "--history"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.starts_with(
            "error: refusing to import the history: 1 problem in diesel's history \
             (public.__diesel_schema_migrations)\n"
        ),
        "{}",
        refused.stderr
    );
    assert!(!p.path().join("migrations").exists(), "no file was written");
    nothing_recorded(&db);

    c.batch_execute("DELETE FROM __diesel_schema_migrations WHERE version = '20200101000000'")
        .unwrap();
    let run = p.run(&["import", "--from", "diesel", &source, "--history"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(
            "import           20190102000000_add_posts_title       applied by diesel 2024-05-01 10:00:00\n\
             pending          20190102000001_add_users_name        not applied by diesel: `cargo migrate apply` runs it\n"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.ends_with(
            "Recorded 4 migrations as applied in public._migrate_history (action import); \
             diesel's table public.__diesel_schema_migrations was only read. 3 pending \
             migrations not applied by diesel (`cargo migrate apply` runs them).\n"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(p.run(&["status"]).code, 4, "pending migrations only");
    let apply = p.run(&["apply"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply
            .stderr
            .contains("  Applied 20190102000001_add_users_name (")
            && !apply.stderr.contains("Applied 20190101000000_create_users"),
        "{}",
        apply.stderr
    );
    assert!(
        apply.stderr.contains("Applied 3 migrations in "),
        "{}",
        apply.stderr
    );
    assert_eq!(p.run(&["status"]).code, 0);
}

// ------------------------------------------------------------------------------------ sqlx

const SQLX_TABLE: &str = "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
);";

/// Runs sqlx migrations (their up files) and records them as sqlx does, the checksum being
/// the SHA-384 of the file; `tamper` replaces the recorded text of one of them.
fn sqlx_applies(c: &mut Client, files: &[&str], success: bool) {
    c.batch_execute(SQLX_TABLE).expect("test setup");
    for file in files {
        let sql = read(&fixture("sqlx").join(file));
        let (version, rest) = file.split_once('_').expect("test setup");
        let description = rest
            .trim_end_matches(".sql")
            .trim_end_matches(".up")
            .replace('_', " ");
        c.batch_execute(&sql).expect("test setup");
        c.execute(
            "INSERT INTO _sqlx_migrations
                 (version, description, installed_on, success, checksum, execution_time)
             VALUES ($1, $2, '2024-05-01 10:00:00+00', $3, sha384($4), 1834000)",
            &[
                &version.parse::<i64>().expect("test setup"),
                &description,
                &success,
                &sql.as_bytes(),
            ],
        )
        .expect("test setup");
    }
}

#[test]
fn sqlx_checksums_are_verified_and_adopted() {
    let db = TestDb::new();
    let p = imported(&db, "sqlx");
    let mut c = db.client();
    sqlx_applies(
        &mut c,
        &[
            "20240101120000_create_users.up.sql",
            "20240102120000_index_users_email.up.sql",
            "20240103120000_create_roles.sql",
            "20240104120000_lowercase_emails.up.sql",
        ],
        true,
    );
    let before = rows(&mut c, "_sqlx_migrations");
    let run = p.run(&["import", "--from", "sqlx"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "\
import           20240101120000_create_users       applied by sqlx 2024-05-01 10:00:00 UTC
import           20240102120000_index_users_email  applied by sqlx 2024-05-01 10:00:00 UTC
import           20240103120000_create_roles       applied by sqlx 2024-05-01 10:00:00 UTC
import           20240104120000_lowercase_emails   applied by sqlx 2024-05-01 10:00:00 UTC
"
    );
    adopted_cleanly(&db, &p, 4);
    assert_eq!(rows(&mut c, "_sqlx_migrations"), before);
}

#[test]
fn sqlx_checksum_mismatch_and_unfinished_migration_are_refused() {
    let db = TestDb::new();
    let p = imported(&db, "sqlx");
    let mut c = db.client();
    sqlx_applies(&mut c, &["20240101120000_create_users.up.sql"], true);
    // The file was edited after sqlx applied it: sqlx recorded the checksum of other text.
    c.batch_execute(
        "UPDATE _sqlx_migrations SET checksum = sha384('CREATE TABLE users (id bigint);'::bytea)",
    )
    .unwrap();
    // A no-transaction migration that failed part-way: sqlx leaves success = false.
    sqlx_applies(&mut c, &["20240102120000_index_users_email.up.sql"], false);
    let before = rows(&mut c, "_sqlx_migrations");
    let run = p.run(&["import", "--from", "sqlx"]);
    assert_eq!(run.code, 1, "{run:?}");
    let recorded: String = c
        .query_one(
            "SELECT left(encode(sha384('CREATE TABLE users (id bigint);'::bytea), 'hex'), 12)",
            &[],
        )
        .unwrap()
        .get(0);
    let ours = p.read("migrations/20240101120000_create_users/migration.sql");
    let expected = &ours.lines().nth(1).unwrap()["-- sqlx checksum: ".len()..][..12];
    assert_eq!(
        run.stderr,
        format!(
            "\
error: refusing to import the history: 2 problems in sqlx's history (public._sqlx_migrations)
  --> 20240101120000_create_users: sqlx recorded checksum {recorded}…, but the imported 20240101120000_create_users.up.sql has {expected}…
  help: 20240101120000_create_users.up.sql changed after sqlx applied it: import the version that was applied (from version control), or apply the change with sqlx first; then import again
  --> 20240102120000_index_users_email: sqlx records it as not finished (success = false): it failed part-way outside a transaction
  help: repair the database by hand, then set `success = true` on its row (or delete the row and run `sqlx migrate run`); then import the history again (the tool's table is never changed by cargo-migrate)
  note: nothing was written
  note: sqlx's table public._sqlx_migrations was only read
"
        )
    );
    nothing_recorded(&db);
    assert_eq!(rows(&mut c, "_sqlx_migrations"), before);
    // A dry run reports the same and creates nothing.
    let dry = p.run(&["import", "--from", "sqlx", "--dry-run"]);
    assert_eq!((dry.code, dry.stderr.as_str()), (1, run.stderr.as_str()));
    nothing_recorded(&db);
}

// -------------------------------------------------------------------------- golang-migrate

const GOLANG_TABLE: &str = "CREATE TABLE IF NOT EXISTS \"schema_migrations\" \
                            (version bigint not null primary key, dirty boolean not null)";

/// Runs golang-migrate's up files of the fixture up to `to` as golang-migrate does (each file
/// as one script), and leaves its single row.
fn golang_applies(c: &mut Client, to: u64, dirty: bool) {
    c.batch_execute(GOLANG_TABLE).expect("test setup");
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(fixture("golang-migrate"))
        .expect("test setup")
        .map(|e| e.expect("test setup").path())
        .filter(|p| p.to_string_lossy().ends_with(".up.sql"))
        .map(|p| {
            let n = p.file_name().expect("test setup").to_string_lossy();
            (
                n.split('_')
                    .next()
                    .expect("test setup")
                    .parse()
                    .expect("test setup"),
                p,
            )
        })
        .collect();
    files.sort();
    for (n, file) in files.into_iter().filter(|(n, _)| *n <= to) {
        c.batch_execute(&format!(
            "TRUNCATE \"schema_migrations\"; INSERT INTO \"schema_migrations\" VALUES ({n}, true)"
        ))
        .expect("test setup");
        if dirty && n == to {
            return;
        }
        c.batch_execute(&read(&file)).expect("test setup");
        c.batch_execute(&format!(
            "TRUNCATE \"schema_migrations\"; INSERT INTO \"schema_migrations\" VALUES ({n}, false)"
        ))
        .expect("test setup");
    }
}

#[test]
fn golang_migrate_version_row_covers_every_earlier_migration() {
    let db = TestDb::new();
    let p = imported(&db, "golang-migrate");
    let mut c = db.client();
    golang_applies(&mut c, 10, false);
    let before = rows(&mut c, "schema_migrations");
    let run = p.run(&["import", "--from", "golang-migrate"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "\
import           00000000000001_create_users       applied by golang-migrate
import           00000000000002_add_orders         applied by golang-migrate
import           00000000000003_index_users_email  applied by golang-migrate
import           00000000000010_add_order_total    applied by golang-migrate
pending          00000000000011_order_status       not applied by golang-migrate: `cargo migrate apply` runs it
"
    );
    assert_eq!(rows(&mut c, "schema_migrations"), before);
    let apply = p.run(&["apply"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply.stderr.contains("Applied 1 migration in ")
            && apply
                .stderr
                .contains("  Applied 00000000000011_order_status ("),
        "{}",
        apply.stderr
    );
    assert_eq!(p.run(&["status"]).code, 0);
}

#[test]
fn golang_migrate_dirty_database_and_unknown_version_are_refused() {
    let db = TestDb::new();
    let p = imported(&db, "golang-migrate");
    let mut c = db.client();
    golang_applies(&mut c, 3, true);
    let run = p.run(&["import", "--from", "golang-migrate"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "\
error: refusing to import the history: 1 problem in golang-migrate's history (public.schema_migrations)
  --> 00000000000003_index_users_email: golang-migrate marks the database dirty at version 3: this migration failed part-way
  help: repair the database by hand, then `migrate force <version>` (the last version that is fully applied); then import the history again (the tool's table is never changed by cargo-migrate)
  note: nothing was written
  note: golang-migrate's table public.schema_migrations was only read
"
    );
    nothing_recorded(&db);
    c.batch_execute("TRUNCATE schema_migrations; INSERT INTO schema_migrations VALUES (12, false)")
        .unwrap();
    let run = p.run(&["import", "--from", "golang-migrate"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(
            "  --> golang-migrate 12: golang-migrate applied 12, but no imported migration has it\n"
        ),
        "{}",
        run.stderr
    );
    nothing_recorded(&db);
    assert_eq!(
        rows(&mut c, "schema_migrations"),
        [r#"{"dirty": false, "version": 12}"#]
    );
}

// ---------------------------------------------------------------------------------- Prisma

const PRISMA_TABLE: &str = "CREATE TABLE \"_prisma_migrations\" (
    \"id\"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    \"checksum\"              VARCHAR(64) NOT NULL,
    \"finished_at\"           TIMESTAMPTZ,
    \"migration_name\"        VARCHAR(255) NOT NULL,
    \"logs\"                  TEXT,
    \"rolled_back_at\"        TIMESTAMPTZ,
    \"started_at\"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    \"applied_steps_count\"   INTEGER NOT NULL DEFAULT 0
);";

/// One attempt of `prisma migrate deploy` at a folder: runs it (unless it failed) and records
/// it with the checksum of its migration.sql.
fn prisma_attempt(c: &mut Client, folder: &str, outcome: &str) {
    let sql = read(&fixture("prisma").join(folder).join("migration.sql"));
    if outcome == "finished" {
        c.batch_execute(&sql).expect("test setup");
    }
    let (finished, rolled_back, logs) = match outcome {
        "finished" => ("'2024-05-01 10:00:01+00'", "NULL", "NULL"),
        "failed" => (
            "NULL",
            "NULL",
            "E'Database error code: 42P07\\nrelation \"Post\" already exists'",
        ),
        _ => (
            "NULL",
            "'2024-05-01 11:00:00+00'",
            "'failed, then resolved'",
        ),
    };
    c.execute(
        &format!(
            "INSERT INTO \"_prisma_migrations\" (id, checksum, finished_at, migration_name, logs,
                 rolled_back_at, started_at, applied_steps_count)
             VALUES (gen_random_uuid()::text, encode(sha256($1), 'hex'), {finished}, $2,
                 {logs}, {rolled_back}, '2024-05-01 10:00:00+00', 1)"
        ),
        &[&sql.as_bytes(), &folder],
    )
    .expect("test setup");
}

const PRISMA_ALL: [&str; 4] = [
    "20240101000000_init",
    "20240102000000_add_posts",
    "20240102000000_add_posts_author",
    "20240103000000_concurrent_index",
];

#[test]
fn prisma_finished_attempts_are_adopted_and_rolled_back_ones_ignored() {
    let db = TestDb::new();
    let p = imported(&db, "prisma");
    let mut c = db.client();
    c.batch_execute(PRISMA_TABLE).unwrap();
    prisma_attempt(&mut c, PRISMA_ALL[0], "finished");
    // A failed attempt, marked rolled back with `prisma migrate resolve`, then a good one.
    prisma_attempt(&mut c, PRISMA_ALL[1], "rolled_back");
    for folder in &PRISMA_ALL[1..] {
        prisma_attempt(&mut c, folder, "finished");
    }
    let before = rows(&mut c, "\"_prisma_migrations\"");
    let run = p.run(&["import", "--from", "prisma"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "\
import           20240101000000_init              applied by prisma 2024-05-01 10:00:01 UTC
import           20240102000000_add_posts         applied by prisma 2024-05-01 10:00:01 UTC
import           20240102000001_add_posts_author  applied by prisma 2024-05-01 10:00:01 UTC
import           20240103000000_concurrent_index  applied by prisma 2024-05-01 10:00:01 UTC
"
    );
    adopted_cleanly(&db, &p, 4);
    assert_eq!(rows(&mut c, "\"_prisma_migrations\""), before);
}

#[test]
fn prisma_unfinished_migration_and_checksum_mismatch_are_refused() {
    let db = TestDb::new();
    let p = imported(&db, "prisma");
    let mut c = db.client();
    c.batch_execute(PRISMA_TABLE).unwrap();
    prisma_attempt(&mut c, PRISMA_ALL[0], "finished");
    c.batch_execute(
        "UPDATE \"_prisma_migrations\" SET checksum = repeat('ab', 32) \
         WHERE migration_name = '20240101000000_init'",
    )
    .unwrap();
    prisma_attempt(&mut c, PRISMA_ALL[1], "failed");
    let run = p.run(&["import", "--from", "prisma"]);
    assert_eq!(run.code, 1, "{run:?}");
    let ours = p.read("migrations/20240101000000_init/migration.sql");
    let expected = &ours.lines().nth(1).unwrap()["-- prisma checksum: ".len()..][..12];
    assert_eq!(
        run.stderr,
        format!(
            "\
error: refusing to import the history: 2 problems in prisma's history (public._prisma_migrations)
  --> 20240101000000_init: prisma recorded checksum abababababab…, but the imported 20240101000000_init has {expected}…
  help: 20240101000000_init changed after prisma applied it: import the version that was applied (from version control), or apply the change with prisma first; then import again
  --> 20240102000000_add_posts: Prisma's last attempt did not finish (finished_at and rolled_back_at are empty): Database error code: 42P07
  help: finish it by hand and run `prisma migrate resolve --applied <name>`, or undo it and run `prisma migrate resolve --rolled-back <name>`; then import the history again (the tool's table is never changed by cargo-migrate)
  note: nothing was written
  note: prisma's table public._prisma_migrations was only read
"
        )
    );
    nothing_recorded(&db);
}

#[test]
fn a_prisma_directory_used_as_it_is_adopts_its_history() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    // No conversion: cargo-migrate reads Prisma's folders as they are.
    for folder in &PRISMA_ALL[..2] {
        migrate_tests::copy_dir(
            &fixture("prisma").join(folder),
            &p.path().join("migrations").join(folder),
        );
    }
    let mut c = db.client();
    c.batch_execute(PRISMA_TABLE).unwrap();
    for folder in &PRISMA_ALL[..2] {
        prisma_attempt(&mut c, folder, "finished");
    }
    let run = p.run(&["import", "--from", "prisma"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .ends_with("Sealed 2 migrations now recorded as applied.\n"),
        "{}",
        run.stderr
    );
    adopted_cleanly(&db, &p, 2);
}

// -------------------------------------------------------------------------------- refinery

/// Applies the fixture's SQL migrations with refinery itself, as `embed_migrations!` would
/// (it leaves Rust migrations aside here), optionally with one file's text replaced.
fn refinery_applies(db: &TestDb, replace: Option<(&str, &str)>, up_to: i32) {
    let dir = fixture("refinery");
    let mut migrations = Vec::new();
    for (path, name) in [
        ("V1__initial.sql", "V1__initial"),
        (
            "V2__add_cars_and_motos_table.sql",
            "V2__add_cars_and_motos_table",
        ),
        (
            "U3__add_brand_to_cars_table.sql",
            "U3__add_brand_to_cars_table",
        ),
        ("more/V5__add_persons_email.sql", "V5__add_persons_email"),
    ] {
        let mut sql = read(&dir.join(path));
        if let Some((which, text)) = replace
            && which == name
        {
            sql = text.to_string();
        }
        migrations.push(refinery::Migration::unapplied(name, &sql).expect("test setup"));
    }
    let mut client = db.client();
    refinery::Runner::new(&migrations)
        .set_target(refinery::Target::Version(up_to))
        .run(&mut client)
        .expect("test setup");
}

#[test]
fn refinery_history_written_by_refinery_is_adopted() {
    let db = TestDb::new();
    let p = imported(&db, "refinery");
    refinery_applies(&db, None, 5);
    let mut c = db.client();
    let before = rows(&mut c, "refinery_schema_history");
    assert_eq!(before.len(), 4);
    let run = p.run(&["import", "--from", "refinery"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.starts_with(
            "import           00000000000001_initial                   applied by refinery 20"
        ),
        "{}",
        run.stdout
    );
    adopted_cleanly(&db, &p, 4);
    assert_eq!(rows(&mut c, "refinery_schema_history"), before);
}

#[test]
fn refinery_checksum_mismatch_is_refused() {
    let db = TestDb::new();
    let p = imported(&db, "refinery");
    refinery_applies(
        &db,
        Some((
            "V1__initial",
            "CREATE TABLE persons (id int, name varchar(255), city varchar(255));\n",
        )),
        2,
    );
    let run = p.run(&["import", "--from", "refinery"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.starts_with(
            "error: refusing to import the history: 1 problem in refinery's history \
             (public.refinery_schema_history)\n  --> 00000000000001_initial: refinery recorded \
             checksum "
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(", but the imported V1__initial.sql has "),
        "{}",
        run.stderr
    );
    nothing_recorded(&db);
}

// ----------------------------------------------------------------------------------- Atlas

const ATLAS_TABLE: &str = "CREATE SCHEMA \"atlas_schema_revisions\";
CREATE TABLE \"atlas_schema_revisions\".\"atlas_schema_revisions\" (\"version\" character varying NOT NULL, \"description\" character varying NOT NULL, \"type\" bigint NOT NULL DEFAULT 2, \"applied\" bigint NOT NULL DEFAULT 0, \"total\" bigint NOT NULL DEFAULT 0, \"executed_at\" timestamptz NOT NULL, \"execution_time\" bigint NOT NULL, \"error\" text NULL, \"error_stmt\" text NULL, \"hash\" character varying NOT NULL, \"partial_hashes\" jsonb NULL, \"operator_version\" character varying NOT NULL, PRIMARY KEY (\"version\"));";

/// Applies Atlas files as Atlas does and records each revision with its atlas.sum hash;
/// `(applied, total, error)` for a partial one.
fn atlas_applies(c: &mut Client, file: &str, kind: i64, partial: Option<(i64, i64, &str)>) {
    let dir = fixture("atlas");
    let sum = read(&dir.join("atlas.sum"));
    let hash = sum
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{file} h1:")))
        .expect("test setup");
    let sql = read(&dir.join(file));
    let (applied, total, error) = partial.unwrap_or((1, 1, ""));
    if partial.is_none() {
        c.batch_execute(&sql).expect("test setup");
    }
    let (version, description) = file
        .trim_end_matches(".sql")
        .split_once('_')
        .expect("test setup");
    c.execute(
        "INSERT INTO atlas_schema_revisions.atlas_schema_revisions (version, description, type,
             applied, total, executed_at, execution_time, error, error_stmt, hash,
             partial_hashes, operator_version)
         VALUES ($1, $2, $3, $4, $5, '2024-05-01 10:00:00+00', 21324400, $6, '', $7, NULL,
             'Atlas CLI v0.21.1')",
        &[
            &version,
            &description,
            &kind,
            &applied,
            &total,
            &error,
            &hash,
        ],
    )
    .expect("test setup");
}

#[test]
fn atlas_revisions_are_adopted_with_their_hashes() {
    let db = TestDb::new();
    let p = imported(&db, "atlas");
    let mut c = db.client();
    c.batch_execute(ATLAS_TABLE).unwrap();
    for file in [
        "20220318104614_initial.sql",
        "20220318104615_add_orders.sql",
        "20220320000000_index_orders_user.sql",
    ] {
        atlas_applies(&mut c, file, 2, None);
    }
    let before = rows(&mut c, "atlas_schema_revisions.atlas_schema_revisions");
    let run = p.run(&["import", "--from", "atlas"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.starts_with(
            "Recorded 3 migrations as applied in public._migrate_history (action import); \
             atlas's table atlas_schema_revisions.atlas_schema_revisions was only read.\n"
        ),
        "{}",
        run.stderr
    );
    adopted_cleanly(&db, &p, 3);
    assert_eq!(
        rows(&mut c, "atlas_schema_revisions.atlas_schema_revisions"),
        before
    );
}

#[test]
fn atlas_partly_applied_revision_is_refused_and_a_baseline_covers_earlier_files() {
    let db = TestDb::new();
    let p = imported(&db, "atlas");
    let mut c = db.client();
    c.batch_execute(ATLAS_TABLE).unwrap();
    // A baseline at the second file: the schema was there before Atlas.
    c.batch_execute(&read(&fixture("atlas").join("20220318104614_initial.sql")))
        .unwrap();
    atlas_applies(&mut c, "20220318104615_add_orders.sql", 1, None);
    atlas_applies(
        &mut c,
        "20220320000000_index_orders_user.sql",
        2,
        Some((0, 1, "pq: relation \"orders_user_idx\" already exists")),
    );
    let run = p.run(&["import", "--from", "atlas"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "\
error: refusing to import the history: 1 problem in atlas's history (atlas_schema_revisions.atlas_schema_revisions)
  --> 20220320000000_index_orders_user: Atlas ran 0 of its 1 statement: pq: relation \"orders_user_idx\" already exists
  help: finish it with `atlas migrate apply`, or mark it with `atlas migrate set`; then import the history again (the tool's table is never changed by cargo-migrate)
  note: nothing was written
  note: atlas's table atlas_schema_revisions.atlas_schema_revisions was only read
"
    );
    nothing_recorded(&db);
    // Once fixed and marked (`atlas migrate set` adds the resolved bit), it is adopted; the
    // baseline stands for the first file.
    c.batch_execute(&read(
        &fixture("atlas").join("20220320000000_index_orders_user.sql"),
    ))
    .unwrap();
    c.batch_execute(
        "UPDATE atlas_schema_revisions.atlas_schema_revisions SET type = 6 \
         WHERE version = '20220320000000'",
    )
    .unwrap();
    let run = p.run(&["import", "--from", "atlas"]);
    assert_eq!(run.code, 0, "{run:?}");
    adopted_cleanly(&db, &p, 3);
}

#[test]
fn a_database_the_tool_never_migrated_is_refused() {
    let db = TestDb::new();
    let p = imported(&db, "sqlx");
    let run: Run = p.run(&["import", "--from", "sqlx"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: this database has no table `_sqlx_migrations`, where sqlx keeps its history\n  \
         help: check the database URL: this one was never migrated by sqlx; if sqlx was told to \
         use another table, give it with --source-table <schema.table>\n  note: nothing was \
         written\n"
    );
    nothing_recorded(&db);
    // --source-table finds it elsewhere.
    let mut c = db.client();
    c.batch_execute("CREATE SCHEMA ops;").unwrap();
    c.batch_execute(&SQLX_TABLE.replace("_sqlx_migrations", "ops.sqlx_history"))
        .unwrap();
    let run = p.run(&[
        "import",
        "--from",
        "sqlx",
        "--source-table",
        "ops.sqlx_history",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .starts_with("pending          20240101120000_create_users       not applied by sqlx"),
        "{}",
        run.stdout
    );
    assert_eq!(p.run(&["apply"]).code, 0);
}
