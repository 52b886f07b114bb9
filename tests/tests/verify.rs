//! `verify` against a real PostgreSQL, through the runtime: each verdict from crafted
//! migrations (a down that forgets an index, errors, re-adds a column at the end, runs outside
//! a transaction; an irreversible migration; one without down.sql; a down that leaves data
//! the re-application trips on; a migration that does not apply), a history using extensions,
//! enums, views and triggers, and the shadow database gone afterwards.

use migrate_runtime::MigrationSet;
use migrate_runtime::engine::connection::ConnInfo;
use migrate_runtime::schema::{Change, ObjectKind};
use migrate_runtime::shadow::{Checked, ShadowDb, Verdict, VerifyEvent, VerifyRequest, verify};
use migrate_tests::{TestDb, admin_url};

/// A migrations directory: `(folder, migration.sql, down.sql)`.
fn set(migrations: &[(&str, &str, Option<&str>)]) -> (tempfile::TempDir, MigrationSet) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (folder, up, down) in migrations {
        let path = dir.path().join(folder);
        std::fs::create_dir(&path).expect("mkdir");
        std::fs::write(path.join("migration.sql"), up).expect("write");
        if let Some(down) = down {
            std::fs::write(path.join("down.sql"), down).expect("write");
        }
    }
    let set = MigrationSet::read(dir.path()).expect("read the set");
    (dir, set)
}

fn server() -> ConnInfo {
    ConnInfo::parse(&admin_url()).expect("admin url")
}

/// Verifies every migration of the set.
fn verify_all(set: &MigrationSet) -> Vec<Checked> {
    let mut shadow = ShadowDb::create(&server(), None).expect("shadow");
    let request = VerifyRequest {
        set,
        check: set.migrations.iter().map(|m| m.version).collect(),
        snapshot: Default::default(),
    };
    verify(&mut shadow, &request, &mut |_| {}).expect("verify")
}

fn verdicts(checked: &[Checked]) -> Vec<(String, Verdict)> {
    checked.iter().map(|c| (c.folder(), c.verdict)).collect()
}

const USERS: (&str, &str, Option<&str>) = (
    "20260101000000_create_users",
    "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, name text);\n",
    Some("DROP TABLE users;\n"),
);

/// A reversible migration after [`USERS`], the one most histories here end with.
const ADD_CITY: (&str, &str, Option<&str>) = (
    "20260101000200_add_city",
    "ALTER TABLE users ADD COLUMN city text;\n",
    Some("ALTER TABLE users DROP COLUMN city;\n"),
);

#[test]
fn a_reversible_history_is_ok_throughout() {
    let (_dir, set) = set(&[
        USERS,
        (
            "20260101000100_index_email",
            "CREATE INDEX users_email ON users (email);\n",
            Some("DROP INDEX users_email;\n"),
        ),
        (
            "20260101000200_add_nickname",
            "ALTER TABLE users ADD COLUMN nickname text DEFAULT '';\n",
            Some("ALTER TABLE users DROP COLUMN nickname;\n"),
        ),
    ]);
    assert_eq!(
        verdicts(&verify_all(&set)),
        [
            ("20260101000000_create_users".into(), Verdict::Ok),
            ("20260101000100_index_email".into(), Verdict::Ok),
            ("20260101000200_add_nickname".into(), Verdict::Ok),
        ]
    );
}

#[test]
fn a_down_that_forgets_an_index_is_not_restored_with_the_index_named() {
    let (_dir, set) = set(&[
        USERS,
        (
            "20260101000100_email_unique",
            "ALTER TABLE users ADD COLUMN login text;\nCREATE UNIQUE INDEX users_login ON users (login);\n",
            Some(
                "ALTER TABLE users DROP COLUMN login CASCADE;\nCREATE INDEX users_name ON users (name);\n",
            ),
        ),
    ]);
    let checked = verify_all(&set);
    let c = &checked[1];
    assert_eq!(c.verdict, Verdict::NotRestored);
    assert_eq!(
        c.detail.as_deref(),
        Some(
            "down.sql did not restore the schema: 1 object differs from before the migration \
             (added: left by down.sql; removed: not restored by it)"
        )
    );
    let diff = c.diff.as_ref().unwrap();
    assert_eq!(diff.changes.len(), 1);
    assert_eq!(
        (diff.changes[0].kind, diff.changes[0].name.as_str()),
        (ObjectKind::Index, "public.users_name")
    );
    assert!(matches!(diff.changes[0].change, Change::Added { .. }));
    assert_eq!(
        diff.to_string(),
        "index public.users_name on public.users: added\n  + CREATE INDEX users_name ON public.users USING btree (name);\n"
    );
}

#[test]
fn a_failing_down_names_its_file_line_and_column_and_the_replay_goes_on() {
    let (dir, set) = set(&[
        USERS,
        (
            "20260101000100_add_age",
            "ALTER TABLE users ADD COLUMN age integer;\n",
            Some("-- undo\nALTER TABLE users\n  DROP COLUMN agee;\n"),
        ),
        ADD_CITY,
    ]);
    let checked = verify_all(&set);
    assert_eq!(
        verdicts(&checked),
        [
            ("20260101000000_create_users".into(), Verdict::Ok),
            ("20260101000100_add_age".into(), Verdict::DownFailed),
            ("20260101000200_add_city".into(), Verdict::Ok),
        ]
    );
    let c = &checked[1];
    assert_eq!(
        c.file.as_deref(),
        Some(dir.path().join("20260101000100_add_age/down.sql").as_path())
    );
    // PostgreSQL gives no position for this error: the statement's start.
    assert_eq!((c.line, c.column), (Some(2), Some(1)));
    assert_eq!(
        c.detail.as_deref(),
        Some("down.sql failed: column \"agee\" of relation \"users\" does not exist")
    );
    assert_eq!(c.error.as_ref().unwrap().code.as_deref(), Some("42703"));
}

#[test]
fn a_column_dropped_and_added_back_last_is_column_order_which_passes() {
    let (_dir, set) = set(&[
        USERS,
        (
            "20260101000100_drop_email",
            "ALTER TABLE users DROP COLUMN email;\n",
            Some("ALTER TABLE users ADD COLUMN email text NOT NULL;\n"),
        ),
    ]);
    let checked = verify_all(&set);
    let c = &checked[1];
    assert_eq!(c.verdict, Verdict::ColumnOrder);
    assert!(c.verdict.passes());
    assert_eq!(
        c.diff.as_ref().unwrap().to_string(),
        "table public.users: column order differs\n  before: id, email, name\n  after:  id, name, email\n"
    );
}

#[test]
fn no_transaction_migrations_are_reverted_for_real_and_a_partial_down_rebuilds_the_shadow() {
    let (_dir, set) = set(&[
        USERS,
        (
            "20260101000100_index_name",
            "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY users_name ON users (name);\n",
            Some("DROP INDEX CONCURRENTLY users_name;\n"),
        ),
        (
            "20260101000200_two_indexes",
            "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY users_email ON users (email);\nCREATE INDEX CONCURRENTLY users_id_name ON users (id, name);\n",
            // The first statement works, the second fails: half reverted, for real.
            Some("DROP INDEX CONCURRENTLY users_id_name;\nDROP INDEX CONCURRENTLY users_nope;\n"),
        ),
        (
            "20260101000300_add_city",
            "ALTER TABLE users ADD COLUMN city text;\n",
            Some("ALTER TABLE users DROP COLUMN city;\n"),
        ),
    ]);
    let mut shadow = ShadowDb::create(&server(), None).unwrap();
    let first = shadow.name().to_string();
    let request = VerifyRequest {
        set: &set,
        check: set.migrations.iter().map(|m| m.version).collect(),
        snapshot: Default::default(),
    };
    let mut rebuilt = Vec::new();
    let checked = verify(&mut shadow, &request, &mut |e| {
        if let VerifyEvent::Rebuilding { through } = e {
            rebuilt.push(through.to_string());
        }
    })
    .unwrap();
    assert_eq!(
        verdicts(&checked),
        [
            ("20260101000000_create_users".into(), Verdict::Ok),
            ("20260101000100_index_name".into(), Verdict::Ok),
            ("20260101000200_two_indexes".into(), Verdict::DownFailed),
            ("20260101000300_add_city".into(), Verdict::Ok),
        ]
    );
    assert_eq!(checked[2].line, Some(2));
    assert_eq!(checked[2].error.as_ref().unwrap().statements_applied, 1);
    assert_eq!(rebuilt, ["20260101000200"]);
    assert_ne!(shadow.name(), first, "a rebuild makes a new database");
    // After the rebuild, the shadow holds the whole history, both indexes included.
    let indexes: i64 = shadow
        .client()
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'users'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(indexes, 4);
}

#[test]
fn irreversible_and_missing_downs_are_their_own_verdicts() {
    let (_dir, set) = set(&[
        USERS,
        (
            "20260101000100_drop_name",
            "-- migrate:irreversible\nALTER TABLE users DROP COLUMN name;\n",
            None,
        ),
        (
            "20260101000200_add_city",
            "ALTER TABLE users ADD COLUMN city text;\n",
            None,
        ),
    ]);
    let checked = verify_all(&set);
    assert_eq!(
        verdicts(&checked),
        [
            ("20260101000000_create_users".into(), Verdict::Ok),
            ("20260101000100_drop_name".into(), Verdict::Irreversible),
            ("20260101000200_add_city".into(), Verdict::NoDown),
        ]
    );
    assert!(checked[1].verdict.passes() && !checked[2].verdict.passes());
}

#[test]
fn a_down_that_leaves_data_behind_makes_the_reapplication_fail() {
    let (dir, set) = set(&[
        USERS,
        (
            "20260101000100_roles",
            "CREATE TABLE IF NOT EXISTS roles (name text PRIMARY KEY);\nINSERT INTO roles VALUES ('admin');\n",
            // Forgets the table: the schema differs, and the INSERT runs into the old row.
            Some("SELECT 1;\n"),
        ),
        (
            "20260101000200_seed",
            "CREATE TABLE plans (name text PRIMARY KEY);\nINSERT INTO plans VALUES ('free');\n",
            Some("DELETE FROM plans;\nDROP TABLE plans;\n"),
        ),
        (
            "20260101000300_more_plans",
            "INSERT INTO plans VALUES ('pro');\n",
            // Leaves the row: the schema is the same, but applying again fails.
            Some("SELECT 1;\n"),
        ),
    ]);
    let checked = verify_all(&set);
    assert_eq!(
        verdicts(&checked),
        [
            ("20260101000000_create_users".into(), Verdict::Ok),
            ("20260101000100_roles".into(), Verdict::NotRestored),
            ("20260101000200_seed".into(), Verdict::Ok),
            ("20260101000300_more_plans".into(), Verdict::ReapplyFailed),
        ]
    );
    let c = &checked[3];
    assert_eq!(
        c.file.as_deref(),
        Some(
            dir.path()
                .join("20260101000300_more_plans/migration.sql")
                .as_path()
        )
    );
    assert_eq!(c.line, Some(1));
    assert_eq!(
        c.detail.as_deref(),
        Some(
            "migration.sql failed when applied again after down.sql: duplicate key value \
             violates unique constraint \"plans_pkey\""
        )
    );
}

#[test]
fn a_migration_that_does_not_apply_ends_the_replay() {
    let (_dir, set) = set(&[
        USERS,
        (
            "20260101000100_broken",
            "ALTER TABLE nobody ADD COLUMN x integer;\n",
            Some("SELECT 1;\n"),
        ),
        ADD_CITY,
    ]);
    let checked = verify_all(&set);
    assert_eq!(
        verdicts(&checked),
        [
            ("20260101000000_create_users".into(), Verdict::Ok),
            ("20260101000100_broken".into(), Verdict::UpFailed),
            ("20260101000200_add_city".into(), Verdict::NotRun),
        ]
    );
    assert_eq!((checked[1].line, checked[1].column), (Some(1), Some(1)));
}

#[test]
fn only_the_migrations_asked_for_are_checked_the_others_are_applied() {
    let (_dir, set) = set(&[
        USERS,
        (
            "20260101000100_forgetful",
            "ALTER TABLE users ADD COLUMN age integer;\n",
            Some("SELECT 1;\n"),
        ),
        ADD_CITY,
        (
            "20260101000300_later",
            "ALTER TABLE users ADD COLUMN zip text;\n",
            Some("SELECT 1;\n"),
        ),
    ]);
    let mut shadow = ShadowDb::create(&server(), None).unwrap();
    let request = VerifyRequest {
        set: &set,
        check: ["20260101000200".parse().unwrap()].into(),
        snapshot: Default::default(),
    };
    let checked = verify(&mut shadow, &request, &mut |_| {}).unwrap();
    assert_eq!(
        verdicts(&checked),
        [("20260101000200_add_city".into(), Verdict::Ok)]
    );
    // Applied up to the one checked, not past it.
    let columns: i64 = shadow
        .client()
        .query_one(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(columns, 5);
}

#[test]
fn extensions_enums_views_functions_and_triggers_verify() {
    let (_dir, set) = set(&[
        (
            "20260101000000_extension",
            "CREATE EXTENSION IF NOT EXISTS pgcrypto;\n",
            Some("DROP EXTENSION pgcrypto;\n"),
        ),
        (
            "20260101000100_mood",
            "CREATE TYPE mood AS ENUM ('sad', 'ok');\nCREATE TABLE people (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), mood mood);\n",
            Some("DROP TABLE people;\nDROP TYPE mood;\n"),
        ),
        (
            "20260101000200_view",
            "CREATE VIEW happy AS SELECT id FROM people WHERE mood = 'ok';\n",
            Some("DROP VIEW happy;\n"),
        ),
        (
            "20260101000300_trigger",
            "CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;\n\
             CREATE TRIGGER people_stamp BEFORE INSERT ON people FOR EACH ROW EXECUTE FUNCTION stamp();\n\
             COMMENT ON TRIGGER people_stamp ON people IS 'stamps';\n",
            Some("DROP TRIGGER people_stamp ON people;\nDROP FUNCTION stamp();\n"),
        ),
        (
            "20260101000400_rename",
            "ALTER TABLE people RENAME TO persons;\nALTER TYPE mood RENAME TO feeling;\n",
            // Renames the table back but forgets the type: the view and the column print it.
            Some("ALTER TABLE persons RENAME TO people;\n"),
        ),
        (
            "20260101000500_comment",
            "COMMENT ON TABLE persons IS 'who';\n",
            Some("COMMENT ON TABLE persons IS NULL;\n"),
        ),
    ]);
    let checked = verify_all(&set);
    assert_eq!(
        verdicts(&checked),
        [
            ("20260101000000_extension".into(), Verdict::Ok),
            ("20260101000100_mood".into(), Verdict::Ok),
            ("20260101000200_view".into(), Verdict::Ok),
            ("20260101000300_trigger".into(), Verdict::Ok),
            ("20260101000400_rename".into(), Verdict::NotRestored),
            ("20260101000500_comment".into(), Verdict::Ok),
        ]
    );
    let names: Vec<String> = checked[4]
        .diff
        .as_ref()
        .unwrap()
        .changes
        .iter()
        .map(|c| format!("{} {}", c.kind, c.name))
        .collect();
    assert_eq!(
        names,
        [
            "type public.feeling",
            "view public.happy",
            "type public.mood",
            "table public.people"
        ]
    );
}

#[test]
fn the_shadow_database_is_dropped_afterwards() {
    let (_dir, set) = set(&[USERS]);
    let mut shadow = ShadowDb::create(&server(), None).unwrap();
    let name = shadow.name().to_string();
    let request = VerifyRequest {
        set: &set,
        check: set.migrations.iter().map(|m| m.version).collect(),
        snapshot: Default::default(),
    };
    verify(&mut shadow, &request, &mut |_| {}).unwrap();
    drop(shadow);
    let db = TestDb::new();
    let left: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "{name} should be dropped");
}

/// Files of several statements run batched (a few round trips per file); a failure is
/// located by running the file again statement by statement, so it still names its statement,
/// line and column, in the first application, the revert and the re-application alike.
#[test]
fn a_failure_in_a_file_of_several_statements_names_its_statement_line_and_column() {
    let (dir, set) = set(&[
        USERS,
        (
            "20260101000100_down_fails",
            "ALTER TABLE users ADD COLUMN age integer;\nALTER TABLE users ADD COLUMN city text;\n",
            Some(
                "ALTER TABLE users DROP COLUMN city;\n\
                 -- the typo is on the third line\n\
                 SELECT agee FROM users;\n\
                 ALTER TABLE users DROP COLUMN age;\n",
            ),
        ),
        (
            "20260101000200_plans",
            "CREATE TABLE plans (name text PRIMARY KEY);\n",
            Some("DROP TABLE plans;\n"),
        ),
        (
            "20260101000250_reapply_fails",
            // Applied again after a down that leaves a row: the second statement fails.
            "INSERT INTO plans VALUES ('x');\nINSERT INTO plans VALUES ('free');\n",
            Some("DELETE FROM plans WHERE name = 'x';\n"),
        ),
        (
            "20260101000300_up_fails",
            "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\nSELECT nope FROM a;\n",
            Some("DROP TABLE b;\nDROP TABLE a;\n"),
        ),
    ]);
    let checked = verify_all(&set);
    assert_eq!(
        verdicts(&checked),
        [
            ("20260101000000_create_users".into(), Verdict::Ok),
            ("20260101000100_down_fails".into(), Verdict::DownFailed),
            ("20260101000200_plans".into(), Verdict::Ok),
            (
                "20260101000250_reapply_fails".into(),
                Verdict::ReapplyFailed
            ),
            ("20260101000300_up_fails".into(), Verdict::UpFailed),
        ]
    );
    let again = &checked[3];
    assert_eq!((again.line, again.column), (Some(2), Some(1)));
    assert_eq!(again.error.as_ref().unwrap().statement, Some(2));
    let down = &checked[1];
    assert_eq!(
        down.file.as_deref(),
        Some(
            dir.path()
                .join("20260101000100_down_fails/down.sql")
                .as_path()
        )
    );
    assert_eq!((down.line, down.column), (Some(3), Some(8)));
    assert_eq!(down.error.as_ref().unwrap().statement, Some(2));
    assert_eq!(
        down.detail.as_deref(),
        Some("down.sql failed: column \"agee\" does not exist")
    );
    let up = &checked[4];
    assert_eq!(
        up.file.as_deref(),
        Some(
            dir.path()
                .join("20260101000300_up_fails/migration.sql")
                .as_path()
        )
    );
    assert_eq!((up.line, up.column), (Some(3), Some(8)));
    assert_eq!(up.error.as_ref().unwrap().statement, Some(3));
}

/// A deferred constraint is checked where the file ends, as its commit would check it: in the
/// first application (below) as in the rehearsal's revert, which is rolled back, never
/// committed (here: a down that deletes a user and forgets the user's order).
#[test]
fn a_deferred_constraint_violated_by_a_down_fails_the_down() {
    let (dir, set) = set(&[
        USERS,
        (
            "20260101000100_orders",
            "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id) \
             DEFERRABLE INITIALLY DEFERRED);\n",
            Some("DROP TABLE orders;\n"),
        ),
        (
            "20260101000200_first_order",
            "INSERT INTO users VALUES (1, 'a@example.com', 'a');\nINSERT INTO orders VALUES (1, 1);\n",
            Some("DELETE FROM users WHERE id = 1;\n"),
        ),
    ]);
    let checked = verify_all(&set);
    assert_eq!(
        verdicts(&checked),
        [
            ("20260101000000_create_users".into(), Verdict::Ok),
            ("20260101000100_orders".into(), Verdict::Ok),
            ("20260101000200_first_order".into(), Verdict::DownFailed),
        ]
    );
    let c = &checked[2];
    assert_eq!(
        c.file.as_deref(),
        Some(
            dir.path()
                .join("20260101000200_first_order/down.sql")
                .as_path()
        )
    );
    assert_eq!(c.error.as_ref().unwrap().code.as_deref(), Some("23503"));
}

/// A file that wraps itself in `BEGIN; ... COMMIT;` runs in a transaction of its own (the
/// shadow's would end at its `COMMIT`), and the schema after it is read as after any file.
#[test]
fn a_file_with_its_own_begin_and_commit_verifies() {
    let (_dir, set) = set(&[
        USERS,
        (
            "20260101000100_orders",
            "BEGIN;\nCREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));\n\
             CREATE INDEX orders_user ON orders (user_id);\nCOMMIT;\n",
            Some("BEGIN;\nDROP TABLE orders;\nCOMMIT;\n"),
        ),
        ADD_CITY,
    ]);
    assert_eq!(
        verdicts(&verify_all(&set)),
        [
            ("20260101000000_create_users".into(), Verdict::Ok),
            ("20260101000100_orders".into(), Verdict::Ok),
            ("20260101000200_add_city".into(), Verdict::Ok),
        ]
    );
}

/// A down file PostgreSQL rejects as a whole (a syntax error the splitter lets through) after
/// comment lines: the error names the statement's line and column, not the file's first line.
#[test]
fn a_syntax_error_in_a_down_after_comments_names_its_line() {
    let (_dir, set) = set(&[
        USERS,
        (
            "20260101000100_add_age",
            "ALTER TABLE users ADD COLUMN age integer;\n",
            Some(
                "-- first comment line\n-- second comment line\n\nSELECT 1 FROM users LIMIT 1 LIMIT 2;\n",
            ),
        ),
    ]);
    let checked = verify_all(&set);
    assert_eq!(checked[1].verdict, Verdict::DownFailed);
    assert_eq!((checked[1].line, checked[1].column), (Some(4), Some(29)));
    assert_eq!(
        checked[1].error.as_ref().unwrap().source_line.as_deref(),
        Some("SELECT 1 FROM users LIMIT 1 LIMIT 2;")
    );
}

/// A deferred constraint violated by the first application of a file fails it.
#[test]
fn a_deferred_constraint_violated_by_a_file_fails_it() {
    let (_dir, set) = set(&[
        USERS,
        (
            "20260101000100_orders",
            "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id) \
             DEFERRABLE INITIALLY DEFERRED);\n",
            Some("DROP TABLE orders;\n"),
        ),
        (
            "20260101000200_orphan",
            "INSERT INTO orders VALUES (1, 42);\nSELECT 1;\n",
            Some("DELETE FROM orders;\n"),
        ),
    ]);
    let checked = verify_all(&set);
    assert_eq!(
        verdicts(&checked),
        [
            ("20260101000000_create_users".into(), Verdict::Ok),
            ("20260101000100_orders".into(), Verdict::Ok),
            ("20260101000200_orphan".into(), Verdict::UpFailed),
        ]
    );
    let c = &checked[2];
    assert_eq!(c.error.as_ref().unwrap().code.as_deref(), Some("23503"));
    assert!(
        c.detail
            .as_deref()
            .unwrap_or("")
            .contains("violates foreign key constraint"),
        "{:?}",
        c.detail
    );
}

/// A migration that drops the session's temporary objects (`DISCARD TEMP`) takes the record
/// of schema changes with them: the replay notices and goes on reading the catalogs.
#[test]
fn a_migration_that_discards_temporary_objects_verifies_like_the_others() {
    let (_dir, set) = set(&[
        USERS,
        (
            "20260101000100_discard",
            "DISCARD TEMP;\nCREATE TABLE audit (id bigint PRIMARY KEY);\n",
            Some("DROP TABLE audit;\n"),
        ),
        ADD_CITY,
        (
            "20260101000300_forgets_index",
            "CREATE INDEX users_city ON users (city);\n",
            Some("SELECT 1;\n"),
        ),
    ]);
    let checked = verify_all(&set);
    assert_eq!(
        verdicts(&checked),
        [
            ("20260101000000_create_users".into(), Verdict::Ok),
            ("20260101000100_discard".into(), Verdict::Ok),
            ("20260101000200_add_city".into(), Verdict::Ok),
            ("20260101000300_forgets_index".into(), Verdict::NotRestored),
        ]
    );
    // Outside a transaction, and in the down file only.
    let (_dir2, set2) = crate::set(&[
        USERS,
        (
            "20260101000100_discard",
            "-- migrate:no-transaction\nCREATE TABLE audit (id bigint PRIMARY KEY);\n",
            Some("-- migrate:no-transaction\nDISCARD TEMP;\nDROP TABLE audit;\n"),
        ),
        ADD_CITY,
    ]);
    assert_eq!(
        verdicts(&verify_all(&set2)),
        [
            ("20260101000000_create_users".into(), Verdict::Ok),
            ("20260101000100_discard".into(), Verdict::Ok),
            ("20260101000200_add_city".into(), Verdict::Ok),
        ]
    );
}

/// `DISCARD ALL` (outside a transaction: it cannot run in one) also deallocates every prepared
/// statement of the session, the shadow's catalog queries among them: the replay prepares
/// them again and goes on.
#[test]
fn a_migration_that_discards_everything_verifies_like_the_others() {
    let (_dir, set) = set(&[
        USERS,
        (
            "20260101000100_discard_all",
            "-- migrate:no-transaction\nDISCARD ALL;\nCREATE TABLE audit (id bigint PRIMARY KEY);\n",
            Some("-- migrate:no-transaction\nDISCARD ALL;\nDROP TABLE audit;\n"),
        ),
        ADD_CITY,
        (
            "20260101000300_forgets_index",
            "CREATE INDEX users_city ON users (city);\n",
            Some("SELECT 1;\n"),
        ),
    ]);
    assert_eq!(
        verdicts(&verify_all(&set)),
        [
            ("20260101000000_create_users".into(), Verdict::Ok),
            ("20260101000100_discard_all".into(), Verdict::Ok),
            ("20260101000200_add_city".into(), Verdict::Ok),
            ("20260101000300_forgets_index".into(), Verdict::NotRestored),
        ]
    );
    // `DEALLOCATE ALL` runs in a transaction too: in the up, in the down, and read again
    // in the same transaction.
    let (_dir2, set2) = crate::set(&[
        USERS,
        (
            "20260101000100_deallocate",
            "DEALLOCATE ALL;\nCREATE TABLE audit (id bigint PRIMARY KEY);\n",
            Some("DROP TABLE audit;\nDEALLOCATE ALL;\n"),
        ),
        ADD_CITY,
    ]);
    assert_eq!(
        verdicts(&verify_all(&set2)),
        [
            ("20260101000000_create_users".into(), Verdict::Ok),
            ("20260101000100_deallocate".into(), Verdict::Ok),
            ("20260101000200_add_city".into(), Verdict::Ok),
        ]
    );
}

/// A down that fails leaves the rehearsal's transaction aborted until the next migration's
/// round trip ends it; a migration whose text mentions `DEALLOCATE` (here in a comment) made
/// the next one prepare the change query again, in that aborted transaction, which ended
/// the whole verify. The replay goes on past both.
#[test]
fn a_failing_down_after_a_migration_that_mentions_deallocate_does_not_end_the_replay() {
    let (_dir, set) = set(&[
        USERS,
        (
            "20260101000100_audit",
            "-- no DEALLOCATE here, only its name\nCREATE TABLE audit (id bigint PRIMARY KEY);\n",
            Some("DROP TABLE no_such_table;\n"),
        ),
        ADD_CITY,
    ]);
    assert_eq!(
        verdicts(&verify_all(&set)),
        [
            ("20260101000000_create_users".into(), Verdict::Ok),
            ("20260101000100_audit".into(), Verdict::DownFailed),
            ("20260101000200_add_city".into(), Verdict::Ok),
        ]
    );
}

/// What verify sends after a migration in the same round trip (the next snapshot's change
/// query) is not the migration's: when it fails (here a function deallocates every prepared
/// statement, which no text check can see), the migration's verdict does not say it failed.
#[test]
fn a_failure_of_what_follows_a_migration_is_not_the_migrations() {
    let (_dir, set) = set(&[
        (
            "20260101000000_create_users",
            "CREATE TABLE users (id bigint PRIMARY KEY);\n\
             CREATE FUNCTION forget() RETURNS void LANGUAGE plpgsql \
             AS $$ BEGIN EXECUTE 'DEALL' || 'OCATE ALL'; END $$;\n",
            Some("DROP FUNCTION forget();\nDROP TABLE users;\n"),
        ),
        (
            "20260101000100_forget",
            "SELECT forget();\nCREATE TABLE audit (id bigint PRIMARY KEY);\n",
            Some("DROP TABLE audit;\n"),
        ),
    ]);
    let mut shadow = ShadowDb::create(&server(), None).expect("shadow");
    let request = VerifyRequest {
        set: &set,
        check: set.migrations.iter().map(|m| m.version).collect(),
        snapshot: Default::default(),
    };
    match verify(&mut shadow, &request, &mut |_| {}) {
        // The schema could not be read after it: verify's own failure, no verdict.
        Err(e) => assert!(e.to_string().contains("does not exist"), "{e}"),
        Ok(checked) => assert!(
            checked.iter().all(|c| c.verdict == Verdict::Ok),
            "{:?}",
            verdicts(&checked)
        ),
    }
}

/// `verify`'s conversation with the server, counted by a proxy: per migration, the up file
/// with the next snapshot's change query, its readers, the commit, the down file with its
/// change query, the up file again with its change query, its readers (six round trips; the
/// rehearsal's rollback goes with the next migration's first batch). Should the change query
/// or the readers fall back to round trips of their own, nothing else would tell: each
/// migration would cost three to nine more. Measured as the difference between histories of
/// 10 and 20 migrations, so what verify does once (the shadow database, the first and last
/// full reads) cancels out.
#[test]
fn verify_talks_to_the_server_six_times_per_migration() {
    let proxy = migrate_tests::CountingProxy::start();
    let through = ConnInfo::parse(&proxy.url("postgres")).expect("the proxy's URL");
    let round_trips = |n: usize| {
        let folders: Vec<(String, String, String)> = (0..n)
            .map(|i| {
                let parent = match i {
                    0 => String::new(),
                    _ => format!(", parent bigint REFERENCES t_{} (id)", i - 1),
                };
                (
                    format!("{}_t{i}", 20260101000000u64 + i as u64),
                    format!(
                        "CREATE TABLE t_{i} (id bigint PRIMARY KEY, note text NOT NULL \
                         DEFAULT ''{parent});\nCREATE INDEX t_{i}_note ON t_{i} (note);\n"
                    ),
                    format!("DROP TABLE t_{i};\n"),
                )
            })
            .collect();
        let borrowed: Vec<(&str, &str, Option<&str>)> = (folders.iter())
            .map(|(f, up, down)| (f.as_str(), up.as_str(), Some(down.as_str())))
            .collect();
        let (_dir, set) = set(&borrowed);
        let before = proxy.round_trips();
        let mut shadow = ShadowDb::create(&through, None).expect("shadow");
        let request = VerifyRequest {
            set: &set,
            check: set.migrations.iter().map(|m| m.version).collect(),
            snapshot: Default::default(),
        };
        let checked = verify(&mut shadow, &request, &mut |_| {}).expect("verify");
        assert!(checked.iter().all(|c| c.verdict == Verdict::Ok));
        shadow.drop_now().expect("drop the shadow database");
        proxy.round_trips() - before
    };
    let (ten, twenty) = (round_trips(10), round_trips(20));
    assert_eq!(
        (twenty - ten) as f64 / 10.0,
        6.0,
        "{ten} round trips for 10 migrations, {twenty} for 20"
    );
}
