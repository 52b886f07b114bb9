//! Backups: the one `apply` takes before its first pending migration (pg_dump or a command),
//! recorded in the run's history rows and shown by `status --verbose`; refusals when it fails;
//! `--no-backup`; `backup` and `restore` proving a backup restores into a new database.

use migrate_tests::{Project, TestDb, admin_url, with_dbname};
use postgres::{Client, NoTls};

const A: &str = "20261121090000_create_items";
const B: &str = "20261121090100_add_price";

/// A project on `db` whose `[package.metadata.migrate]` has `backup = "<spec>"`.
fn project_with_backup(db: &TestDb, spec: &str) -> Project {
    let p = Project::with_db(db);
    p.file(
        "Cargo.toml",
        format!(
            "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
             [package.metadata.migrate]\nbackup = \"{spec}\"\n\n\
             [package.metadata.migrate.lint]\nallow = [\"missing-down-migration\"]\n\n[workspace]\n"
        ),
    );
    p
}

fn items(p: &Project) {
    p.migration(
        A,
        "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);\n\
         INSERT INTO items VALUES (1, 'one'), (2, 'two');\n",
        None,
    );
}

/// The `backup` column of every history row, oldest first.
fn backup_column(db: &TestDb) -> Vec<Option<serde_json::Value>> {
    db.client()
        .query(
            "SELECT backup FROM public._migrate_history ORDER BY id",
            &[],
        )
        .expect("read the backup column")
        .iter()
        .map(|r| {
            r.get::<_, Option<String>>(0)
                .map(|t| serde_json::from_str(&t).expect("the backup column holds JSON"))
        })
        .collect()
}

/// The `.dump` files in `<project>/backups`, sorted.
fn dumps(p: &Project) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(p.path().join("backups"))
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// A database `restore` created, dropped when this is dropped.
struct Restored(String);

impl Restored {
    /// From the URL `restore` printed: its last path segment.
    fn from_url(url: &str) -> Restored {
        let name = url
            .trim()
            .rsplit('/')
            .next()
            .and_then(|s| s.split('?').next())
            .expect("a database name in the URL");
        Restored(name.to_string())
    }

    fn client(&self) -> Client {
        Client::connect(&with_dbname(&admin_url(), &self.0), NoTls)
            .expect("connect to the restored database")
    }
}

impl Drop for Restored {
    fn drop(&mut self) {
        if let Ok(mut c) = Client::connect(&admin_url(), NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.0
            ));
        }
    }
}

#[test]
fn apply_takes_a_pg_dump_first_and_records_it_in_the_runs_history_rows() {
    let db = TestDb::new();
    let p = project_with_backup(&db, "pg_dump:backups");
    items(&p);
    p.migration(B, "ALTER TABLE items ADD COLUMN price int;\n", None);
    let dry = p.run(&["apply", "--dry-run"]);
    let backups = p.path().join("backups");
    assert!(
        dry.stdout.contains(&format!(
            "\nA backup would be taken first: pg_dump into {}.\n",
            backups.display()
        )),
        "{}",
        dry.stdout
    );
    let dry = p.run(&["--format", "json", "apply", "--dry-run"]).json();
    assert_eq!(dry["backup"], format!("pg_dump into {}", backups.display()));
    assert!(dumps(&p).is_empty(), "a dry run takes none");
    let run = p.run(&["--format", "json", "apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    let files = dumps(&p);
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .expect("file name");
    let prefix = format!("{}-none-", db.name);
    assert!(
        name.starts_with(&prefix) && name.ends_with("Z.dump"),
        "{name}"
    );
    let bytes = std::fs::metadata(file).expect("dump").len();
    assert!(bytes > 0);
    // The same backup in both rows of the run, and in apply's report.
    let recorded = backup_column(&db);
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0], recorded[1]);
    let b = recorded[0].clone().expect("a backup recorded");
    assert_eq!(b["id"], file.display().to_string());
    assert_eq!(b["bytes"], bytes);
    assert!(b["duration_ms"].as_f64().expect("duration") > 0.0);
    assert_eq!(run.json()["backup"], b);
    assert!(
        run.stderr.contains("\"event\":\"backed_up\""),
        "{}",
        run.stderr
    );
    // status --verbose shows it, text and JSON.
    let status = p.run(&["status", "--verbose"]);
    assert_eq!(status.code, 0, "{status:?}");
    let line = format!("      Backup {} (", file.display());
    assert_eq!(status.stdout.matches(&line).count(), 2, "{}", status.stdout);
    let json = p.run(&["--format", "json", "status"]).json();
    assert_eq!(json["migrations"][0]["backup"], b);
    assert_eq!(json["migrations"][1]["backup"], b);
    // Nothing pending: no backup.
    let again = p.run(&["apply"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(dumps(&p).len(), 1);
    assert!(!again.stderr.contains("Backup"), "{}", again.stderr);
}

#[test]
fn backup_then_restore_brings_back_schema_and_data_in_a_new_database() {
    let db = TestDb::new();
    let p = project_with_backup(&db, "pg_dump:backups");
    items(&p);
    assert_eq!(p.run(&["apply", "--no-backup"]).code, 0);
    let backup = p.run(&["backup"]);
    assert_eq!(backup.code, 0, "{backup:?}");
    let path = backup.stdout.trim().to_string();
    assert_eq!(
        backup.stdout,
        format!("{path}\n"),
        "only the path on stdout"
    );
    let name = std::path::Path::new(&path)
        .file_name()
        .and_then(|n| n.to_str())
        .expect("file name")
        .to_string();
    assert!(
        name.starts_with(&format!("{}-{}-", db.name, &A[..14])),
        "{name}"
    );
    // Changed after the backup: the restore must not see it.
    db.client()
        .batch_execute("INSERT INTO items VALUES (3, 'three'); CREATE TABLE later (x int)")
        .expect("change the live database");
    let restore = p.run(&["restore", &path]);
    assert_eq!(restore.code, 0, "{restore:?}");
    let url = restore.stdout.trim();
    assert_eq!(restore.stdout, format!("{url}\n"), "only the URL on stdout");
    let restored = Restored::from_url(url);
    assert!(
        restored.0.starts_with(&format!("{}_restore_", db.name)),
        "{url}"
    );
    assert_eq!(
        url,
        format!("postgres://postgres@127.0.0.1:5432/{}", restored.0)
    );
    let mut c = restored.client();
    let rows: Vec<(i32, String)> = c
        .query("SELECT id, name FROM items ORDER BY id", &[])
        .expect("items restored")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(rows, [(1, "one".to_string()), (2, "two".to_string())]);
    let schema: Vec<(String, String, bool)> = c
        .query(
            "SELECT column_name::text, data_type::text, is_nullable = 'YES' FROM information_schema.columns \
             WHERE table_name = 'items' ORDER BY ordinal_position",
            &[],
        )
        .expect("columns")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        schema,
        [
            ("id".to_string(), "integer".to_string(), false),
            ("name".to_string(), "text".to_string(), false)
        ]
    );
    let pk: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'items'::regclass AND contype = 'p'",
            &[],
        )
        .expect("constraints")
        .get(0);
    assert_eq!(pk, 1);
    let later: bool = c
        .query_one("SELECT to_regclass('public.later') IS NULL", &[])
        .expect("later")
        .get(0);
    assert!(later, "the table made after the backup is not in it");
    let history: i64 = c
        .query_one("SELECT count(*) FROM public._migrate_history", &[])
        .expect("the history came back too")
        .get(0);
    assert_eq!(history, 1);
    // The live database is untouched, and restore never writes over an existing database.
    assert_eq!(db.count("SELECT count(*) FROM items"), 3);
    let over = p.run(&["restore", &path, "--into", &db.name]);
    assert_eq!(over.code, 1, "{over:?}");
    assert_eq!(
        over.stderr,
        format!(
            "error: refusing to restore into `{}`: that database exists (restore never writes \
             over a database)\n  help: name a new one with --into <name>, or drop that one first\n  \
             note: nothing was changed\n",
            db.name
        )
    );
    assert_eq!(db.count("SELECT count(*) FROM items"), 3);
}

#[test]
fn a_failing_backup_command_refuses_the_run_and_changes_nothing() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    items(&p);
    assert_eq!(p.run(&["apply"]).code, 0);
    p.migration(B, "ALTER TABLE items ADD COLUMN price int;\n", None);
    let run = p.run(&["apply", "--backup-command", "echo 'disk full' >&2; exit 3"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.ends_with(
            "error: the backup failed: the backup command ended with code 3\n  \
             help: fix it, or pass --no-backup to apply without a backup\n  | disk full\n  \
             note: nothing was run\n"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(db.history().len(), 1, "B was not applied");
    assert_eq!(
        db.count("SELECT count(*) FROM information_schema.columns WHERE column_name = 'price'"),
        0
    );
    let json = p.run(&[
        "--format",
        "json",
        "apply",
        "--backup-command",
        "echo 'disk full' >&2; exit 3",
    ]);
    assert_eq!(json.code, 1);
    let v = json.json();
    assert_eq!(
        v["error"],
        "the backup failed: the backup command ended with code 3"
    );
    assert_eq!(v["detail"], serde_json::json!(["disk full"]));
    assert_eq!(v["note"], "nothing was run");
}

#[test]
fn locked_requires_the_configured_backup_unless_no_backup_is_explicit() {
    let db = TestDb::new();
    let p = project_with_backup(&db, "command:exit 4");
    items(&p);
    assert_eq!(p.run(&["seal"]).code, 0);
    let refused = p.run(&["apply", "--locked"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.ends_with(
            "error: the backup failed: the backup command ended with code 4\n  \
             help: --locked requires the configured backup: fix it, or pass --no-backup \
             explicitly to apply without one\n  note: nothing was run\n"
        ),
        "{}",
        refused.stderr
    );
    assert!(!db.has_table("items"));
    let skipped = p.run(&["apply", "--locked", "--no-backup"]);
    assert_eq!(skipped.code, 0, "{skipped:?}");
    assert!(
        skipped.stderr.contains("  No backup taken (--no-backup)\n"),
        "{}",
        skipped.stderr
    );
    assert_eq!(backup_column(&db), [None]);
    let conflict = p.run(&["apply", "--no-backup", "--backup-command", "true"]);
    assert_eq!(conflict.code, 2, "{conflict:?}");
}

#[test]
fn a_backup_command_connects_through_pg_variables_and_sees_only_the_redacted_url() {
    let db = TestDb::new();
    let mut p = Project::with_db(&db);
    // Trust authentication ignores the password; it must reach the command only as PGPASSWORD.
    let url = format!("postgres://postgres:s3cret@127.0.0.1:5432/{}", db.name);
    p.env.retain(|(k, _)| k != "DATABASE_URL");
    p.env.push(("DATABASE_URL".into(), url));
    items(&p);
    let command = "printf '%s\\n' \"$MIGRATE_DATABASE_URL\" \"$PGHOST\" \"$PGPORT\" \"$PGUSER\" \
                   \"$PGPASSWORD\" \"$PGDATABASE\" > env.txt; \
                   pg_dump --format=custom --file=\"$MIGRATE_BACKUP_NAME.dump\" && \
                   echo \"$MIGRATE_BACKUP_NAME.dump\"";
    let run = p.run(&["--format", "json", "apply", "--backup-command", command]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        p.read("env.txt"),
        format!(
            "postgres://postgres:***@127.0.0.1:5432/{0}\n127.0.0.1\n5432\npostgres\ns3cret\n{0}\n",
            db.name
        )
    );
    let b = &run.json()["backup"];
    let id = b["id"].as_str().expect("id");
    assert!(
        id.starts_with(&format!("{}-none-", db.name)) && id.ends_with(".dump"),
        "{id}"
    );
    let bytes = std::fs::metadata(p.path().join(id))
        .expect("the command's dump")
        .len();
    assert_eq!(b["bytes"], bytes);
    assert!(!run.stdout.contains("s3cret") && !run.stderr.contains("s3cret"));
}

#[test]
fn an_older_pg_dump_is_refused_with_what_to_install() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDb::new();
    let mut p = project_with_backup(&db, "pg_dump:backups");
    items(&p);
    p.file(
        "bin/pg_dump",
        "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n",
    );
    let fake = p.path().join("bin/pg_dump");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let bindir = p.path().join("bin").display().to_string();
    p.env.push(("MIGRATE_PG_BINDIR".into(), bindir));
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    let major = db.count("SELECT (current_setting('server_version_num')::int / 10000)::bigint");
    assert!(
        run.stderr.ends_with(&format!(
            "error: pg_dump 9.6 ({}) is older than the server (PostgreSQL {major}): it cannot \
             dump it\n  help: install PostgreSQL {major}'s client programs (Debian/Ubuntu: `sudo apt \
             install postgresql-client-{major}`; macOS: `brew install postgresql@{major}`), or set \
             MIGRATE_PG_BINDIR to their bin directory\n  help: fix it, or pass --no-backup to \
             apply without a backup\n  note: nothing was run\n",
            fake.display()
        )),
        "{}",
        run.stderr
    );
    assert!(!db.has_table("items"));
    assert!(dumps(&p).is_empty());
}

#[test]
fn a_history_table_from_before_the_backup_column_is_read_and_upgraded() {
    let db = TestDb::new();
    let p = project_with_backup(&db, "pg_dump:backups");
    items(&p);
    assert_eq!(p.run(&["apply", "--no-backup"]).code, 0);
    db.client()
        .batch_execute("ALTER TABLE public._migrate_history DROP COLUMN backup")
        .expect("make the table as an older version did");
    let status = p.run(&["--format", "json", "status"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert_eq!(
        status.json()["migrations"][0]["backup"],
        serde_json::Value::Null
    );
    p.migration(B, "ALTER TABLE items ADD COLUMN price int;\n", None);
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    let recorded = backup_column(&db);
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0], None);
    assert!(recorded[1].is_some());
}

#[test]
fn backup_without_a_configured_backup_says_how_to_configure_one() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    let run = p.run(&["backup"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: no backup is configured\n  help: set `backup = \"pg_dump:<directory>\"` (or \
         `\"command:<shell command>\"`) in [package.metadata.migrate], or pass --backup-command\n"
    );
    let bad = project_with_backup(&db, "backups");
    items(&bad);
    let run = bad.run(&["apply"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: invalid `backup` in [package.metadata.migrate]: expected `pg_dump:<directory>` \
         or `command:<shell command>`\n  note: nothing was changed\n"
    );
}

#[test]
fn a_restore_that_fails_drops_the_database_it_made() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.file("not-a-dump.dump", "this is not a pg_dump archive\n");
    let into = format!("{}_r", db.name);
    let _cleanup = Restored(into.clone());
    let run = p.run(&["restore", "not-a-dump.dump", "--into", &into]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.starts_with("error: the restore failed: ")
            && run.stderr.contains(" ended with code 1\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with(&format!(
            "  help: the database `{into}` it was restoring into was dropped again\n  | \
             pg_restore: error: input file does not appear to be a valid archive (too short?)\n  \
             note: nothing was changed\n"
        )),
        "{}",
        run.stderr
    );
    let left = db.count(&format!(
        "SELECT count(*) FROM pg_database WHERE datname = '{into}'"
    ));
    assert_eq!(left, 0);
    let missing = p.run(&["restore", "nope.dump"]);
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr,
        "error: cannot restore nope.dump: no such file\n  note: nothing was changed\n"
    );
}
