//! Refreshed snapshots against a real PostgreSQL: after every step of a long script of schema
//! changes (every kind of object created, altered, renamed, commented, granted, dropped), a
//! refresh that reads only what changed gives exactly the snapshot a full capture gives, in
//! autocommit, inside an open transaction, and after a rollback; each test twice: finding the
//! changes by scanning the catalogs, and from the session's record of them (event triggers).

use migrate_runtime::schema::{
    Snapshot, SnapshotOptions, StatementCache, TrackedSnapshot, diff, record_changes,
};
use migrate_tests::TestDb;
use postgres::GenericClient;

#[path = "support/refresh.rs"]
mod support;
use support::{Finding, role};

/// One step per entry; each changes the schema in a way a refresh must notice.
const STEPS: &[&str] = &[
    "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL)",
    "CREATE INDEX users_email ON users (email)",
    "ALTER TABLE users ADD COLUMN name text DEFAULT 'x'",
    "ALTER TABLE users ALTER COLUMN name DROP DEFAULT",
    "ALTER TABLE users ALTER COLUMN name SET DEFAULT 'y'",
    "COMMENT ON TABLE users IS 'people'",
    "COMMENT ON COLUMN users.email IS 'where to write'",
    "COMMENT ON TABLE users IS NULL",
    "COMMENT ON COLUMN users.email IS NULL",
    "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id bigint)",
    "ALTER TABLE orders ADD CONSTRAINT orders_user FOREIGN KEY (user_id) REFERENCES users (id)",
    "ALTER TABLE users RENAME TO people",
    "ALTER TABLE people RENAME COLUMN email TO mail",
    "CREATE VIEW people_mail AS SELECT id, mail FROM people",
    "ALTER TABLE people RENAME COLUMN mail TO email",
    "CREATE MATERIALIZED VIEW people_count AS SELECT count(*) AS n FROM people",
    "CREATE INDEX people_count_n ON people_count (n)",
    "ALTER TABLE people RENAME TO users",
    "CREATE SEQUENCE ticket START 100",
    "ALTER TABLE orders ADD COLUMN ticket bigint DEFAULT nextval('ticket')",
    "ALTER SEQUENCE ticket OWNED BY orders.ticket",
    "ALTER SEQUENCE ticket RENAME TO ticket_no",
    "ALTER SEQUENCE ticket_no OWNED BY NONE",
    "CREATE TYPE mood AS ENUM ('sad', 'ok')",
    "ALTER TYPE mood ADD VALUE 'happy'",
    "ALTER TABLE users ADD COLUMN mood mood",
    "ALTER TYPE mood RENAME TO feeling",
    "CREATE DOMAIN positive AS integer CHECK (VALUE > 0)",
    "ALTER DOMAIN positive ADD CONSTRAINT below_ten CHECK (VALUE < 10) NOT VALID",
    "ALTER TABLE orders ADD COLUMN amount positive",
    "ALTER DOMAIN positive RENAME TO small",
    "CREATE TYPE pair AS (a integer, b text)",
    "ALTER TYPE pair ADD ATTRIBUTE c feeling",
    "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
    "CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch()",
    "ALTER TABLE users DISABLE TRIGGER users_touch",
    "ALTER FUNCTION touch() RENAME TO touched",
    "CREATE TRIGGER users_audit AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION touched()",
    "CREATE FUNCTION double(x integer) RETURNS integer LANGUAGE sql IMMUTABLE RETURN x * 2",
    "CREATE INDEX orders_double ON orders (double(amount))",
    "ALTER FUNCTION double(integer) RENAME TO twice",
    "ALTER TABLE users ENABLE ROW LEVEL SECURITY",
    "CREATE POLICY own ON users USING (id > 0)",
    "ALTER POLICY own ON users RENAME TO mine",
    "GRANT SELECT ON users TO refresh_reader",
    "GRANT UPDATE (name) ON users TO refresh_reader",
    "REVOKE SELECT ON users FROM refresh_reader",
    "REVOKE UPDATE (name) ON users FROM refresh_reader",
    "GRANT INSERT ON users TO refresh_reader",
    "ALTER TABLE orders ADD CONSTRAINT positive_id CHECK (id > 0) NOT VALID",
    "ALTER TABLE orders VALIDATE CONSTRAINT positive_id",
    "ALTER TABLE orders RENAME CONSTRAINT positive_id TO id_positive",
    "COMMENT ON CONSTRAINT id_positive ON orders IS 'checked'",
    "COMMENT ON CONSTRAINT id_positive ON orders IS NULL",
    "CREATE TABLE events (at timestamptz NOT NULL, kind text) PARTITION BY RANGE (at)",
    "CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
    "CREATE TABLE events_2027 (at timestamptz NOT NULL, kind text)",
    "ALTER TABLE events ATTACH PARTITION events_2027 FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')",
    "ALTER TABLE events DETACH PARTITION events_2027",
    "CREATE INDEX events_kind ON events (kind)",
    "ALTER TABLE events ADD COLUMN source text",
    "CREATE TABLE parent (a integer)",
    "CREATE TABLE child (b integer) INHERITS (parent)",
    "CREATE TABLE grandchild () INHERITS (child)",
    "ALTER TABLE parent ADD COLUMN c integer",
    "ALTER TABLE parent ADD CONSTRAINT c_positive CHECK (c > 0)",
    "ALTER TABLE parent RENAME COLUMN c TO d",
    "DROP TABLE grandchild",
    "ALTER TABLE child NO INHERIT parent",
    "ALTER TABLE events RENAME TO happenings",
    "CREATE SCHEMA app",
    "ALTER TABLE orders SET SCHEMA app",
    "CREATE TABLE app.items (id integer)",
    "ALTER SCHEMA app RENAME TO shop",
    "CREATE EXTENSION IF NOT EXISTS pgcrypto",
    "ALTER TABLE users ALTER COLUMN name TYPE varchar(40)",
    "ALTER TABLE users DROP COLUMN name",
    "ALTER TABLE users ADD COLUMN name text",
    "ALTER TABLE users ALTER COLUMN email SET STATISTICS 500",
    "ALTER TABLE users SET (fillfactor = 70)",
    "ALTER TABLE users REPLICA IDENTITY FULL",
    "CREATE UNIQUE INDEX users_mail ON users (email)",
    "ALTER TABLE users REPLICA IDENTITY USING INDEX users_mail",
    "DROP VIEW people_mail",
    "DROP MATERIALIZED VIEW people_count",
    "DROP TRIGGER users_touch ON users",
    "DROP TRIGGER users_audit ON users",
    "DROP INDEX users_email",
    "DROP POLICY mine ON users",
    "DROP INDEX shop.orders_double",
    "DROP FUNCTION twice(integer)",
    "DROP TABLE happenings",
    "DROP TYPE pair",
    "DROP TABLE shop.orders",
    "DROP DOMAIN small",
    "DROP EXTENSION pgcrypto",
    "DROP SCHEMA shop CASCADE",
    "DROP TABLE users",
    "DROP TYPE feeling",
];

/// A session on the test's database, recording its schema changes or not.
fn session(db: &TestDb, finding: Finding) -> postgres::Client {
    let mut client = db.client();
    role(&mut client);
    if finding == Finding::Record {
        assert!(
            record_changes(&mut client).expect("record changes"),
            "the test role is a superuser"
        );
        // Again: harmless.
        assert!(record_changes(&mut client).expect("record changes again"));
    }
    client
}

/// Two tests for one body: `$name` scanning, `$name` + `_from_the_record` from the record.
macro_rules! both {
    ($scan:ident, $record:ident, $body:ident) => {
        #[test]
        fn $scan() {
            $body(Finding::Scan)
        }
        #[test]
        fn $record() {
            $body(Finding::Record)
        }
    };
}

fn capture(client: &mut impl GenericClient) -> Snapshot {
    Snapshot::capture(client, &SnapshotOptions::default()).expect("capture")
}

fn assert_same(step: &str, refreshed: &TrackedSnapshot, full: &Snapshot) {
    let d = diff(full, refreshed.snapshot());
    assert!(
        d.is_empty(),
        "after `{step}`, the refreshed snapshot differs from a full capture:\n{d}"
    );
    assert_eq!(
        refreshed.snapshot().to_text(),
        full.to_text(),
        "after `{step}`"
    );
}

both!(
    a_refresh_after_each_committed_change_equals_a_full_capture,
    a_refresh_after_each_committed_change_equals_a_full_capture_from_the_record,
    a_refresh_after_each_committed_change_equals_a_full_capture_with
);

fn a_refresh_after_each_committed_change_equals_a_full_capture_with(finding: Finding) {
    let db = TestDb::new();
    let mut client = session(&db, finding);
    let mut tracked = TrackedSnapshot::capture(&mut client, &SnapshotOptions::default())
        .expect("the step succeeds");
    for step in STEPS {
        client
            .batch_execute(step)
            .unwrap_or_else(|e| panic!("{step}: {e}"));
        tracked = tracked.refresh(&mut client).expect("the step succeeds");
        assert_same(step, &tracked, &capture(&mut client));
    }
    assert!(
        tracked
            .snapshot()
            .objects()
            .iter()
            .all(|o| o.name != "public.users")
    );
}

both!(
    a_refresh_sees_several_committed_changes_at_once,
    a_refresh_sees_several_committed_changes_at_once_from_the_record,
    a_refresh_sees_several_committed_changes_at_once_with
);

fn a_refresh_sees_several_committed_changes_at_once_with(finding: Finding) {
    let db = TestDb::new();
    let mut client = session(&db, finding);
    let mut tracked = TrackedSnapshot::capture(&mut client, &SnapshotOptions::default())
        .expect("the step succeeds");
    for chunk in STEPS.chunks(7) {
        for step in chunk {
            client.batch_execute(step).expect("the step succeeds");
        }
        tracked = tracked.refresh(&mut client).expect("the step succeeds");
        assert_same(
            chunk.last().expect("a chunk has steps"),
            &tracked,
            &capture(&mut client),
        );
    }
}

both!(inside_a_transaction_a_refresh_sees_its_changes_and_after_a_rollback_the_snapshot_stands, inside_a_transaction_a_refresh_sees_its_changes_and_after_a_rollback_the_snapshot_stands_from_the_record, inside_a_transaction_a_refresh_sees_its_changes_and_after_a_rollback_the_snapshot_stands_with);

fn inside_a_transaction_a_refresh_sees_its_changes_and_after_a_rollback_the_snapshot_stands_with(
    finding: Finding,
) {
    let db = TestDb::new();
    let mut client = session(&db, finding);
    let setup = STEPS.len() / 2;
    for step in &STEPS[..setup] {
        client.batch_execute(step).expect("the step succeeds");
    }
    let base = TrackedSnapshot::capture(&mut client, &SnapshotOptions::default())
        .expect("the step succeeds");
    let mut tx = client.transaction().expect("the step succeeds");
    let mut tracked = base.clone();
    for step in &STEPS[setup..] {
        tx.batch_execute(step).expect("the step succeeds");
        // From the snapshot taken before the transaction, and from the last refresh.
        let from_base = base.refresh(&mut tx).expect("the step succeeds");
        tracked = tracked.refresh(&mut tx).expect("the step succeeds");
        let full = capture(&mut tx);
        assert_same(step, &from_base, &full);
        assert_same(step, &tracked, &full);
    }
    tx.rollback().expect("the step succeeds");
    let after = base.refresh(&mut client).expect("the step succeeds");
    assert_same("ROLLBACK", &after, &capture(&mut client));
    assert_eq!(after.snapshot(), base.snapshot());
}

both!(
    a_refresh_with_nothing_changed_is_the_same_snapshot,
    a_refresh_with_nothing_changed_is_the_same_snapshot_from_the_record,
    a_refresh_with_nothing_changed_is_the_same_snapshot_with
);

fn a_refresh_with_nothing_changed_is_the_same_snapshot_with(finding: Finding) {
    let db = TestDb::new();
    let mut client = session(&db, finding);
    client.batch_execute(STEPS[0]).expect("the step succeeds");
    let tracked = TrackedSnapshot::capture(&mut client, &SnapshotOptions::default())
        .expect("the step succeeds");
    client
        .batch_execute("INSERT INTO users VALUES (1, 'a')")
        .expect("the step succeeds");
    client
        .batch_execute("VACUUM FULL ANALYZE users")
        .expect("the step succeeds");
    client
        .batch_execute("VACUUM FREEZE pg_class")
        .expect("the step succeeds");
    let again = tracked.refresh(&mut client).expect("the step succeeds");
    assert_eq!(again.snapshot(), tracked.snapshot());
    // VACUUM FULL gives the table a new file: its pg_class row changes, and a scan reads it
    // again; it is no schema change, and the record holds none.
    let expected = match finding {
        Finding::Scan => 1,
        Finding::Record => 0,
    };
    assert_eq!(again.read_again(), Some(expected));
    let third = again.refresh(&mut client).expect("the step succeeds");
    assert_eq!(
        (third.read_again(), third.snapshot()),
        (Some(0), tracked.snapshot())
    );
}

both!(
    a_refresh_reads_again_only_what_a_change_touched_and_what_names_it,
    a_refresh_reads_again_only_what_a_change_touched_and_what_names_it_from_the_record,
    a_refresh_reads_again_only_what_a_change_touched_and_what_names_it_with
);

fn a_refresh_reads_again_only_what_a_change_touched_and_what_names_it_with(finding: Finding) {
    let db = TestDb::new();
    let mut client = session(&db, finding);
    client
        .batch_execute(
            "CREATE TABLE a (id bigint PRIMARY KEY);
             CREATE TABLE b (id bigint PRIMARY KEY, a_id bigint REFERENCES a);
             CREATE TABLE c (id bigint PRIMARY KEY);
             CREATE VIEW a_ids AS SELECT id FROM a;
             CREATE FUNCTION f() RETURNS integer LANGUAGE sql RETURN 1;",
        )
        .expect("the step succeeds");
    let base = TrackedSnapshot::capture(&mut client, &SnapshotOptions::default())
        .expect("the step succeeds");
    let read_again = |client: &mut postgres::Client, sql: &str| {
        client.batch_execute(sql).expect("the step succeeds");
        let refreshed = base.refresh(client).expect("the step succeeds");
        assert_same(sql, &refreshed, &capture(client));
        refreshed.read_again()
    };
    // A new table: itself.
    assert_eq!(
        read_again(&mut client, "CREATE TABLE d (id integer)"),
        Some(1)
    );
    // A column of c: c.
    assert_eq!(
        read_again(&mut client, "ALTER TABLE c ADD COLUMN x text"),
        Some(2)
    );
    // Renaming a: a, b (its foreign key names a), the view: and d, c from before.
    assert_eq!(
        read_again(&mut client, "ALTER TABLE a RENAME TO aa"),
        Some(5)
    );
    // A schema: everything.
    assert_eq!(read_again(&mut client, "CREATE SCHEMA s"), None);
    // What a refresh of its own prepared as SQL (its readers' batch) went with it: a session
    // refreshing again and again does not keep more and more statements.
    let kept: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_prepared_statements WHERE from_sql",
            &[],
        )
        .expect("the step succeeds")
        .get(0);
    assert_eq!(kept, 0);
}

/// With a cache kept for the connection, a refresh's readers run in one round trip: their
/// queries are prepared as SQL (`migrate_read_...`) and run together by `EXECUTE` (should
/// they fall back to one round trip each, nothing else would tell).
#[test]
fn a_cached_refresh_reads_its_objects_in_one_batch() {
    let db = TestDb::new();
    let mut client = session(&db, Finding::Record);
    let mut cache = StatementCache::default();
    let base =
        TrackedSnapshot::capture_cached(&mut client, &mut cache, &SnapshotOptions::default())
            .expect("capture");
    client
        .batch_execute(
            "CREATE TABLE a (id bigint PRIMARY KEY, note text NOT NULL DEFAULT '');
             CREATE INDEX a_note ON a (note);",
        )
        .expect("the step succeeds");
    let refreshed = base
        .refresh_cached(&mut client, &mut cache)
        .expect("refresh");
    assert_same("CREATE TABLE a", &refreshed, &capture(&mut client));
    assert_eq!(refreshed.read_again(), Some(1));
    let batched: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_prepared_statements \
             WHERE from_sql AND name LIKE 'migrate\\_read\\_%'",
            &[],
        )
        .expect("the step succeeds")
        .get(0);
    assert!(batched > 1, "{batched} readers prepared for a batch");
}

#[test]
fn when_the_record_is_discarded_a_refresh_reads_everything_and_goes_on_scanning() {
    let db = TestDb::new();
    let mut client = session(&db, Finding::Record);
    client.batch_execute(STEPS[0]).expect("the step succeeds");
    let tracked = TrackedSnapshot::capture(&mut client, &SnapshotOptions::default())
        .expect("the step succeeds");
    client
        .batch_execute("DISCARD TEMP; ALTER TABLE users ADD COLUMN note text")
        .expect("the step succeeds");
    let refreshed = tracked.refresh(&mut client).expect("the step succeeds");
    assert_same("DISCARD TEMP", &refreshed, &capture(&mut client));
    assert_eq!(refreshed.read_again(), None, "read in full");
    client.batch_execute(STEPS[1]).expect("the step succeeds");
    let next = refreshed.refresh(&mut client).expect("the step succeeds");
    assert_same(STEPS[1], &next, &capture(&mut client));
    assert_eq!(next.read_again(), Some(1), "scanning: the table");
}

#[test]
fn a_grant_the_record_cannot_name_is_found_by_a_scan() {
    let db = TestDb::new();
    let mut client = session(&db, Finding::Record);
    client
        .batch_execute("CREATE TABLE a (id integer); CREATE TABLE b (id integer)")
        .expect("the step succeeds");
    let tracked = TrackedSnapshot::capture(&mut client, &SnapshotOptions::default())
        .expect("the step succeeds");
    client
        .batch_execute("GRANT SELECT ON b TO refresh_reader")
        .expect("the step succeeds");
    let refreshed = tracked.refresh(&mut client).expect("the step succeeds");
    assert_same("GRANT", &refreshed, &capture(&mut client));
    assert_eq!(refreshed.read_again(), Some(1), "b, found by the scan");
    assert_ne!(refreshed.snapshot(), tracked.snapshot());
}

#[test]
fn another_session_on_a_recording_database_records_nothing_and_is_not_hindered() {
    let db = TestDb::new();
    let mut client = session(&db, Finding::Record);
    let mut other = db.client();
    other
        .batch_execute("CREATE TABLE elsewhere (id integer); DROP TABLE elsewhere")
        .expect("the step succeeds");
    let recorded: i64 = client
        .query_one("SELECT count(*) FROM pg_temp.migrate_schema_changes", &[])
        .expect("the step succeeds")
        .get(0);
    assert_eq!(recorded, 0);
}

/// Whether a relation read again has triggers is looked up among the relations the change
/// query names, so one that enters the captured schemas with its triggers brings them along
/// (the snapshot had no trigger before).
#[test]
fn a_table_moved_into_the_captured_schemas_brings_its_triggers() {
    for finding in [Finding::Scan, Finding::Record] {
        let db = TestDb::new();
        let mut client = session(&db, finding);
        client
            .batch_execute(
                "CREATE SCHEMA side;
                 CREATE TABLE side.t (id integer);
                 CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
                 CREATE TRIGGER t_touch BEFORE INSERT ON side.t FOR EACH ROW EXECUTE FUNCTION touch()",
            )
            .expect("the step succeeds");
        let options = SnapshotOptions {
            schemas: Some(vec!["public".into()]),
            ..SnapshotOptions::default()
        };
        let tracked = TrackedSnapshot::capture(&mut client, &options).expect("the step succeeds");
        client
            .batch_execute("ALTER TABLE side.t SET SCHEMA public")
            .expect("the step succeeds");
        let refreshed = tracked.refresh(&mut client).expect("the step succeeds");
        let full = Snapshot::capture(&mut client, &options).expect("capture");
        assert_same("SET SCHEMA", &refreshed, &full);
        assert_eq!(refreshed.read_again(), Some(1), "{finding:?}: only t");
        assert!(
            full.to_text().contains("CREATE TRIGGER t_touch"),
            "{finding:?}: {}",
            full.to_text()
        );
    }
}

/// A query of the catalog rows this transaction has read so far, from the catalogs a refresh
/// reads: the rows their sequential scans returned, the rows bitmap scans fetched (counted on
/// the table) and the rows plain index scans fetched (counted on each index). The OIDs are
/// written into the query, so that running it reads no catalog itself.
fn catalog_rows_read_query(client: &mut impl GenericClient) -> String {
    let terms: Vec<String> = client
        .query(
            "SELECT c.oid::bigint, array_agg(i.indexrelid::bigint) FROM pg_class c \
             JOIN pg_index i ON i.indrelid = c.oid \
             WHERE c.oid = ANY ('{pg_class,pg_attribute,pg_attrdef,pg_constraint,pg_index,\
                                  pg_trigger,pg_depend,pg_type,pg_proc,pg_inherits,\
                                  pg_namespace,pg_description,pg_policy,pg_rewrite,\
                                  pg_sequence}'::regclass[]) \
             GROUP BY c.oid",
            &[],
        )
        .expect("the step succeeds")
        .iter()
        .flat_map(|row| {
            let (table, indexes): (i64, Vec<i64>) = (row.get(0), row.get(1));
            let own = format!(
                "pg_stat_get_xact_tuples_returned({table}) + pg_stat_get_xact_tuples_fetched({table})"
            );
            let through = (indexes.into_iter())
                .map(|index| format!("pg_stat_get_xact_tuples_fetched({index})"));
            std::iter::once(own).chain(through).collect::<Vec<_>>()
        })
        .collect();
    format!("SELECT ({})::bigint", terms.join(" + "))
}

/// A refresh's queries are planned once per session, at its first refresh, when the catalogs
/// may be nearly empty, and kept until something makes PostgreSQL plan them again (an
/// `ANALYZE` of a catalog, by autovacuum or by hand, or a reset of the session's caches);
/// those plans must look objects up by index from the few asked for, not read a catalog that
/// was small then. After three hundred more tables, refreshing one new table, or one new type,
/// reads as many catalog rows as on the small schema, and only a few hundred. (Left free, the
/// planner chose scans that read every constraint, index and trigger at each refresh, and
/// the domain constraints' reader walked every constraint whenever a type was read again:
/// verify's replay of a long history slowed down migration by migration.)
#[test]
fn a_refresh_reads_as_few_catalog_rows_on_a_large_schema_as_on_a_small_one() {
    let db = TestDb::new();
    let mut client = session(&db, Finding::Record);
    let mut cache = StatementCache::default();
    let counting = catalog_rows_read_query(&mut client);
    let catalog_rows_read = |tx: &mut postgres::Transaction<'_>| -> i64 {
        tx.query_one(&counting, &[])
            .expect("the step succeeds")
            .get(0)
    };
    let table = |i: usize| {
        format!(
            "CREATE TABLE t_{i} (id bigint PRIMARY KEY, note text NOT NULL DEFAULT '', \
             parent bigint REFERENCES t_0 (id)); CREATE INDEX t_{i}_note ON t_{i} (note);"
        )
    };
    let enumeration = |i: usize| format!("CREATE TYPE e_{i} AS ENUM ('a', 'b')");
    client
        .batch_execute("CREATE TABLE t_0 (id bigint PRIMARY KEY)")
        .expect("the step succeeds");
    let mut tracked =
        TrackedSnapshot::capture_cached(&mut client, &mut cache, &SnapshotOptions::default())
            .expect("capture");
    // Each refresh in a transaction of the test's, whose statistics count what it read.
    let mut refresh_after = |client: &mut postgres::Client, sql: &str| {
        let mut tx = client.transaction().expect("the step succeeds");
        tx.batch_execute(sql).expect("the step succeeds");
        let before = catalog_rows_read(&mut tx);
        tracked = tracked
            .refresh_cached(&mut tx, &mut cache)
            .expect("refresh");
        let read = catalog_rows_read(&mut tx) - before;
        tx.commit().expect("the step succeeds");
        (read, tracked.read_again())
    };
    // What refreshing one new table, then one new type, reads.
    type Refresh<'a> = dyn FnMut(&mut postgres::Client, &str) -> (i64, Option<usize>) + 'a;
    let measure = |refresh: &mut Refresh<'_>, client: &mut postgres::Client, i: usize| {
        let (table, again) = refresh(client, &table(i));
        assert_eq!(again, Some(1));
        let (typed, again) = refresh(client, &enumeration(i));
        assert_eq!(again, Some(1));
        [table, typed]
    };
    // The plans are made in the first refreshes, on a small schema, and the session's caches
    // fill; the eleventh is measured.
    for i in 1..11 {
        measure(&mut refresh_after, &mut client, i);
    }
    let small = measure(&mut refresh_after, &mut client, 11);
    // Three hundred tables, five at a time, each step refreshed, as verify refreshes after
    // each migration. (In one batch, so many changes at once can make the session reset its
    // caches, and with them its plans, which would hide the defect.)
    for step in 0..60 {
        let five: String = (12 + step * 5..17 + step * 5).map(table).collect();
        assert_eq!(refresh_after(&mut client, &five).1, Some(5));
    }
    let large = measure(&mut refresh_after, &mut client, 312);
    assert_same("the last type", &tracked, &capture(&mut client));
    for (what, small, large) in [("table", small[0], large[0]), ("type", small[1], large[1])] {
        assert!(
            small <= 400 && large <= small + 50,
            "refreshing a new {what} read {small} catalog rows with 12 tables, {large} with 313"
        );
    }
}
