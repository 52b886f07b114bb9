//! `cargo migrate import`: dry runs and JSON, what `--dir` may already hold (an import never
//! overwrites), files that cannot be converted, and the exit codes.

use migrate_tests::{Project, TestDb, copy_dir};
use std::path::{Path, PathBuf};

fn fixture(tool: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/import")
        .join(tool)
}

fn src(tool: &str) -> String {
    fixture(tool).display().to_string()
}

#[test]
fn dry_run_prints_the_mapping_and_writes_nothing() {
    let p = Project::new();
    let dry = p.run(&[
        "import",
        "--from",
        "golang-migrate",
        &src("golang-migrate"),
        "--dry-run",
    ]);
    assert_eq!(dry.code, 0, "{dry:?}");
    assert!(
        dry.stdout.starts_with(
            "1_create_users.up.sql       ->  00000000000001_create_users\n\
             2_add_orders.up.sql         ->  00000000000002_add_orders\n"
        ),
        "{}",
        dry.stdout
    );
    assert_eq!(
        dry.stderr,
        format!(
            "Dry run: 5 golang-migrate migrations would be imported from {} into migrations; \
             nothing was written.\n",
            src("golang-migrate")
        )
    );
    assert!(!p.path().join("migrations").exists());

    let json = p
        .run(&[
            "import",
            "--from",
            "golang-migrate",
            &src("golang-migrate"),
            "--dry-run",
            "--format",
            "json",
        ])
        .json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["tool"], "golang-migrate");
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["history"], serde_json::Value::Null);
    let files = &json["files"];
    assert_eq!(files["written"], false);
    assert_eq!(files["sealed"], serde_json::json!([]));
    let index = &files["migrations"][2];
    assert_eq!(index["source"], "3_index_users_email.up.sql");
    assert_eq!(index["source_version"], "3");
    assert_eq!(index["version"], "00000000000003");
    assert_eq!(index["folder"], "00000000000003_index_users_email");
    assert_eq!(index["no_transaction"], true);
    assert_eq!(index["down"], true);
    assert_eq!(index["conversions"][1]["file"], "down.sql");
    assert_eq!(
        files["skipped"][0],
        serde_json::json!({"path": "README.md", "reason": "not a migration (documentation); migrations are `<version>_<name>.up.sql` and `.down.sql` files"})
    );
    assert!(!p.path().join("migrations").exists());
}

#[test]
fn an_import_only_adds_newer_migrations_and_never_overwrites() {
    let p = Project::new();
    let source = tempfile::tempdir().unwrap();
    copy_dir(&fixture("sqlx"), source.path());
    let s = source.path().display().to_string();
    assert_eq!(p.run(&["import", "--from", "sqlx", &s]).code, 0);

    // Again: everything is there already, nothing changes.
    let lock = p.read("migrations/migrations.lock");
    let again = p.run(&["import", "--from", "sqlx", &s]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(
        again.stdout.starts_with(
            "20240101120000_create_users.up.sql       ->  20240101120000_create_users  (already imported)\n"
        ),
        "{}",
        again.stdout
    );
    assert_eq!(
        again.stderr,
        format!(
            "Nothing new to import: all 4 sqlx migrations from {s} are in migrations already.\n"
        )
    );
    assert_eq!(p.read("migrations/migrations.lock"), lock);

    // The tool got a newer migration: only it is added, and sealed.
    std::fs::write(
        source.path().join("20240105120000_add_users_name.up.sql"),
        "ALTER TABLE users ADD COLUMN name text;\n",
    )
    .unwrap();
    let newer = p.run(&["import", "--from", "sqlx", &s]);
    assert_eq!(newer.code, 0, "{newer:?}");
    assert_eq!(
        newer.stderr,
        format!(
            "Imported 1 sqlx migration from {s} into migrations (4 already there); sealed 1 in \
             migrations/migrations.lock.\n"
        )
    );
    assert_eq!(p.run(&["seal", "--check"]).code, 0);

    // A migration of ours, newer than the tool's next one: refused, nothing written.
    assert_eq!(p.run(&["new", "add_phone"]).code, 0);
    std::fs::write(
        p.path().join(format!(
            "migrations/{}/migration.sql",
            p.migration_folders()[5]
        )),
        "ALTER TABLE users ADD COLUMN phone text;\n",
    )
    .unwrap();
    std::fs::remove_file(
        p.path()
            .join(format!("migrations/{}/down.sql", p.migration_folders()[5])),
    )
    .unwrap();
    std::fs::write(
        source.path().join("20240106120000_add_users_age.up.sql"),
        "ALTER TABLE users ADD COLUMN age int;\n",
    )
    .unwrap();
    let draft = p.run(&["import", "--from", "sqlx", &s]);
    assert_eq!(draft.code, 1, "{draft:?}");
    let ours = p.migration_folders()[5].clone();
    assert_eq!(
        draft.stderr,
        format!(
            "error: the migrations do not match migrations.lock (1 problem)\n  \
             --> migrations/{ours}: draft, not sealed yet\n  \
             help: a draft: run `cargo migrate seal` once it is ready (apply seals it too)\n  \
             note: nothing was written\n"
        )
    );
    assert_eq!(p.run(&["seal", "-q"]).code, 0);
    let older = p.run(&["import", "--from", "sqlx", &s]);
    assert_eq!(older.code, 1, "{older:?}");
    assert_eq!(
        older.stderr,
        format!(
            "error: cannot import into migrations\n  \
             --> migrations/20240106120000_add_users_age: would be added before {ours}, which \
             --dir already holds: an import only adds migrations newer than the ones there\n  \
             help: import into an empty directory\n  \
             note: nothing was written\n"
        )
    );
    assert!(
        !p.path()
            .join("migrations/20240106120000_add_users_age")
            .exists()
    );
}

#[test]
fn a_migration_with_other_content_is_never_overwritten() {
    let p = Project::new();
    p.migration(
        "20240101120000_create_users",
        "CREATE TABLE users (id int);\n",
        None,
    );
    assert_eq!(p.run(&["seal", "-q"]).code, 0);
    let lock = p.read("migrations/migrations.lock");
    let run = p.run(&["import", "--from", "sqlx", &src("sqlx")]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: cannot import into migrations\n  \
         --> migrations/20240101120000_create_users: already exists, with other content\n  \
         help: an import never overwrites: import into an empty directory\n  \
         note: nothing was written\n"
    );
    assert_eq!(
        p.read("migrations/20240101120000_create_users/migration.sql"),
        "CREATE TABLE users (id int);\n"
    );
    assert_eq!(p.read("migrations/migrations.lock"), lock);
    assert_eq!(p.migration_folders().len(), 1);
}

#[test]
fn files_that_cannot_be_converted_are_all_reported_and_nothing_is_written() {
    let p = Project::new();
    let source = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &[u8]| std::fs::write(source.path().join(name), text).unwrap();
    write(
        "1_a.up.sql",
        b"BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\nCREATE TABLE b (id int);\n",
    );
    write("2_c.up.sql", b"CREATE TABLE c (id int);\n");
    write("2_c_again.up.sql", b"SELECT 1;\n");
    write("3_bin.up.sql", b"SELECT 1;\n\xff\xfe\n");
    write("4_x.down.sql", b"SELECT 1;\n");
    let run = p.run(&[
        "import",
        "--from",
        "golang-migrate",
        &source.path().display().to_string(),
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "");
    let d = source.path().display();
    assert_eq!(
        run.stderr,
        format!(
            "\
error: cannot import {d}: 4 problems
  --> {d}/2_c_again.up.sql: a second file for version 2
  help: golang-migrate keeps one up and one down file per version: rename one of them
  --> {d}/3_bin.up.sql:2: not valid UTF-8
  help: save the file as UTF-8 (cargo-migrate, like PostgreSQL, reads SQL as UTF-8)
  --> {d}/4_x.down.sql: a down file without an up file for version 4
  help: add its `.up.sql`, or remove it
  --> {d}/1_a.up.sql:3: `COMMIT;` comes before the end of the file: the file controls its transactions in a way one migration cannot keep
  help: cargo-migrate runs a migration in one transaction (or, with `-- migrate:no-transaction`, statement by statement outside one); split the file into migrations that each fit one of those, or wrap all of it in a single BEGIN ... COMMIT, then import again
  note: nothing was written
"
        )
    );
    assert!(!p.path().join("migrations").exists());
    let json = p
        .run(&[
            "import",
            "--from",
            "golang-migrate",
            &source.path().display().to_string(),
            "--format",
            "json",
        ])
        .json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["problems"][3]["path"], "1_a.up.sql");
    assert_eq!(json["problems"][3]["line"], 3);
}

#[test]
fn an_empty_or_missing_source_is_an_error() {
    let p = Project::new();
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("README.md"), "nothing yet\n").unwrap();
    let e = empty.path().display();
    let run = p.run(&["import", "--from", "refinery", &e.to_string()]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        format!(
            "error: there is no refinery migration in {e}\n  help: refinery's migrations are \
             `V<version>__<name>.sql` files\n  note: nothing was written\n"
        )
    );
    let missing = p.run(&["import", "--from", "diesel", "no/such/dir"]);
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr,
        "error: no/such/dir is not a directory\n  help: give the directory that holds diesel's \
         migrations\n  note: nothing was written\n"
    );
}

#[test]
fn arguments_and_exit_codes() {
    let p = Project::new();
    let unknown = p.run(&["import", "--from", "flyway", "x"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.starts_with(
            "error: invalid value 'flyway' for '--from <TOOL>'\n  [possible values: prisma, \
             diesel, sqlx, golang-migrate, refinery, atlas]\n"
        ),
        "{}",
        unknown.stderr
    );
    assert_eq!(p.run(&["import", "x"]).code, 2, "--from is required");

    // No source directory: the history of migrations imported before, so a database is
    // needed, and migrations imported from that tool.
    let db = TestDb::new();
    let q = Project::with_db(&db);
    let run = q.run(&["import", "--from", "diesel"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: there is no migrations directory migrations to adopt diesel's history for\n  \
         help: import the files first, or both in one run: `cargo migrate import --from diesel \
         <diesel's migrations directory> --history`\n  note: nothing was written\n"
    );
    assert_eq!(q.run(&["import", "--from", "sqlx", &src("sqlx")]).code, 0);
    let other = q.run(&["import", "--from", "diesel"]);
    assert_eq!(other.code, 1);
    assert_eq!(
        other.stderr,
        "error: no migration in migrations was imported from diesel\n  help: import the files \
         first, or both in one run: `cargo migrate import --from diesel <diesel's migrations \
         directory> --history`\n  note: nothing was written\n"
    );
    let bad_table = q.run(&["import", "--from", "sqlx", "--source-table", "a.b.c"]);
    assert_eq!(bad_table.code, 1);
    assert!(
        bad_table
            .stderr
            .starts_with("error: invalid --source-table: "),
        "{}",
        bad_table.stderr
    );
    assert!(!db.has_table("_migrate_history"));
}

#[test]
fn an_imported_migration_edited_after_sealing_stops_the_history_import() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    assert_eq!(p.run(&["import", "--from", "sqlx", &src("sqlx")]).code, 0);
    let file = "migrations/20240103120000_create_roles/migration.sql";
    p.file(file, p.read(file) + "-- edited\n");
    let run = p.run(&["import", "--from", "sqlx"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with(
            "error: the migrations do not match migrations.lock (1 problem)\n  --> \
             migrations/20240103120000_create_roles/migration.sql: edited after it was sealed"
        ),
        "{}",
        run.stderr
    );
    assert!(!db.has_table("_migrate_history"));
}

#[test]
fn the_source_is_never_the_target() {
    let p = Project::new();
    copy_dir(&fixture("prisma"), &p.path().join("migrations"));
    let run = p.run(&["import", "--from", "prisma", "migrations"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: migrations is both the source and the target (--dir): an import never changes \
         the source's files\n  help: cargo-migrate reads a Prisma directory as it is: leave it \
         where it is and adopt the history with `cargo migrate import --from prisma` (no source \
         directory)\n  note: nothing was written\n"
    );
    assert_eq!(
        p.read("migrations/20240101000000_init/migration.sql"),
        std::fs::read_to_string(fixture("prisma").join("20240101000000_init/migration.sql"))
            .unwrap()
    );
}
