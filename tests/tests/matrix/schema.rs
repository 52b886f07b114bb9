//! Schema snapshots on each major: two replays of the same schema snapshot identically, the
//! same schema snapshots the same on every major (PostgreSQL prints most of it, and its
//! catalogs change between versions), and PostgreSQL 18's NOT NULL constraints (recorded in
//! `pg_constraint`, contype `n`, with names, `NOT VALID` and `NO INHERIT`) and virtual
//! generated columns; and refreshed snapshots equal full captures on each major.

use migrate_runtime::model::split_statements;
use migrate_runtime::schema::{
    Change, ObjectKind, Snapshot, SnapshotOptions, StatementCache, TrackedSnapshot, diff,
    record_changes,
};
use migrate_tests::TestDb;
use migrate_tests::matrix::{MAJORS, Server};

const APP: &str = include_str!("../../fixtures/schema/app.sql");

fn capture(db: &TestDb) -> Snapshot {
    Snapshot::capture(&mut db.client(), &SnapshotOptions::default())
        .unwrap_or_else(|e| panic!("capture failed: {e}"))
}

fn run(db: &TestDb, sql: &str) {
    db.client()
        .batch_execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn built(pg: &Server, sql: &str) -> (TestDb, Snapshot) {
    let db = pg.db();
    run(&db, sql);
    let snapshot = capture(&db);
    (db, snapshot)
}

fn table<'a>(s: &'a Snapshot, name: &str) -> &'a str {
    match s.get(ObjectKind::Table, name) {
        Some(o) => &o.text,
        None => panic!("no table {name} in:\n{}", s.to_text()),
    }
}

/// The one object `change` changes, and its diff.
fn only_change(db: &TestDb, change: &str) -> (String, String) {
    let before = capture(db);
    run(db, change);
    let d = diff(&before, &capture(db));
    assert_eq!(
        d.changes.len(),
        1,
        "`{change}` should change one object:\n{d}"
    );
    let c = &d.changes[0];
    match &c.change {
        Change::Changed { diff } => (c.name.clone(), diff.clone()),
        other => panic!("`{change}`: expected a change, got {other:?}"),
    }
}

fn two_replays_snapshot_identically(pg: &Server) {
    let (_a, first) = built(pg, APP);
    let (_b, second) = built(pg, APP);
    assert!(first.len() > 20, "{}", first.to_text());
    assert_eq!(first.to_text(), second.to_text(), "PostgreSQL {}", pg.major);
    assert!(diff(&first, &second).is_empty());
}

/// On each major, a refresh after every statement of the application schema (each kind of
/// object, created, altered, commented) equals a full capture: the change query and the
/// narrowed readers, with the plans a refresh makes, read each major's catalogs right. Both
/// ways of finding the changes: the session's record of them, and scanning the catalogs.
fn a_refresh_after_each_statement_equals_a_full_capture(pg: &Server) {
    for recording in [true, false] {
        let db = pg.db();
        let mut client = db.client();
        if recording {
            assert!(record_changes(&mut client).expect("record changes"));
        }
        let mut cache = StatementCache::default();
        let options = SnapshotOptions::default();
        let mut tracked =
            TrackedSnapshot::capture_cached(&mut client, &mut cache, &options).expect("capture");
        for statement in split_statements(APP).expect("the fixture splits") {
            let sql = statement.text(APP);
            client
                .batch_execute(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            tracked = (tracked.refresh_cached(&mut client, &mut cache))
                .unwrap_or_else(|e| panic!("refresh after `{sql}`: {e}"));
            let full = Snapshot::capture(&mut client, &options).expect("capture");
            let d = diff(&full, tracked.snapshot());
            assert!(
                d.is_empty() && full.to_text() == tracked.snapshot().to_text(),
                "PostgreSQL {}, recording {recording}: after `{sql}` the refresh differs:\n{d}",
                pg.major
            );
        }
    }
}

migrate_tests::each_major!(
    two_replays_snapshot_identically,
    a_refresh_after_each_statement_equals_a_full_capture
);

/// The same schema on every major snapshots the same, but for what PostgreSQL itself makes or
/// prints differently: snapshots compare databases on the same major.
#[test]
fn the_same_schema_snapshots_the_same_on_every_major_but_for_what_postgres_prints_differently() {
    let snapshots: Vec<(u32, Snapshot)> = MAJORS
        .iter()
        .map(|&major| (major, built(Server::get(major), APP).1))
        .collect();
    let (_, oldest) = &snapshots[0];
    for (major, snapshot) in &snapshots[1..] {
        let d = diff(oldest, snapshot);
        let mut changed: Vec<String> = d
            .changes
            .iter()
            .map(|c| format!("{} {}", c.kind, c.name))
            .collect();
        changed.sort();
        let mut expected = Vec::new();
        if *major >= 18 {
            // citext's default version: 1.6 up to 17, 1.8 from 18 on.
            expected.push("extension citext");
        }
        if *major >= 16 {
            // From 16 on, a view over one table prints its columns unqualified
            // (`SELECT customer_id` where 14 and 15 print `SELECT orders.customer_id`).
            expected.push("materialized view app.order_counts");
        }
        // initdb of 14 lets everyone create in `public`; from 15 on, only its owner.
        expected.push("schema public");
        assert_eq!(changed, expected, "PostgreSQL 14 -> {major}:\n{d}");
    }
    let public = |major: usize| {
        snapshots[major]
            .1
            .get(ObjectKind::Schema, "public")
            .map(|o| o.text.clone())
    };
    assert_eq!(
        public(0).as_deref(),
        Some(
            "CREATE SCHEMA public;\nCOMMENT ON SCHEMA public IS 'standard public schema';\nGRANT CREATE, USAGE ON SCHEMA public TO PUBLIC;"
        )
    );
    assert_eq!(
        public(1).as_deref(),
        Some(
            "CREATE SCHEMA public;\nCOMMENT ON SCHEMA public IS 'standard public schema';\nGRANT USAGE ON SCHEMA public TO PUBLIC;"
        )
    );
}

#[test]
fn pg18_not_null_constraints_are_part_of_their_column() {
    let pg = Server::get(18);
    let (db, s) = built(
        pg,
        "CREATE TABLE t (id int PRIMARY KEY, a int NOT NULL, b int CONSTRAINT b_required NOT NULL,
                         c int, d int NOT NULL NO INHERIT);",
    );
    // Default names (`t_a_not_null`) are left out, as PostgreSQL would pick them again.
    assert_eq!(
        table(&s, "public.t"),
        "CREATE TABLE public.t (
    id integer NOT NULL,
    a integer NOT NULL,
    b integer CONSTRAINT b_required NOT NULL,
    c integer,
    d integer NOT NULL NO INHERIT
);"
    );
    // New in 18: added NOT VALID (no scan), validated later.
    let (name, d) = only_change(
        &db,
        "ALTER TABLE t ADD CONSTRAINT c_present NOT NULL c NOT VALID;",
    );
    assert_eq!(name, "public.t");
    assert!(
        d.contains("-    c integer,\n+    c integer CONSTRAINT c_present NOT NULL NOT VALID,\n"),
        "{d}"
    );
    let (_, d) = only_change(&db, "ALTER TABLE t VALIDATE CONSTRAINT c_present;");
    assert!(
        d.contains(
            "-    c integer CONSTRAINT c_present NOT NULL NOT VALID,\n+    c integer CONSTRAINT c_present NOT NULL,\n"
        ),
        "{d}"
    );
    let (_, d) = only_change(
        &db,
        "ALTER TABLE t RENAME CONSTRAINT t_a_not_null TO a_present;",
    );
    assert!(
        d.contains("-    a integer NOT NULL,\n+    a integer CONSTRAINT a_present NOT NULL,\n"),
        "{d}"
    );
    let (_, d) = only_change(
        &db,
        "COMMENT ON CONSTRAINT b_required ON t IS 'always known';",
    );
    assert!(
        d.contains("+COMMENT ON CONSTRAINT b_required ON public.t IS 'always known';\n"),
        "{d}"
    );
    let (_, d) = only_change(&db, "ALTER TABLE t ALTER COLUMN d DROP NOT NULL;");
    assert!(
        d.contains("-    d integer NOT NULL NO INHERIT\n+    d integer\n"),
        "{d}"
    );
}

#[test]
fn pg18_partitions_and_children_carry_their_parents_not_null_constraints() {
    // A partition's NOT NULL constraints are its parent's (named after it when made with
    // PARTITION OF, keeping their own names when attached): implied by the parent, they print
    // as plain NOT NULL, as on PostgreSQL 17, and both ways of making a partition agree.
    let pg = Server::get(18);
    let parent = "CREATE TABLE p (id int NOT NULL, a int CONSTRAINT a_required NOT NULL, b int)
                  PARTITION BY RANGE (id);";
    let (_a, made) = built(
        pg,
        &format!("{parent} CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);"),
    );
    let (_b, attached) = built(
        pg,
        &format!(
            "{parent} CREATE TABLE p1 (id int NOT NULL, a int NOT NULL, b int);
             ALTER TABLE p ATTACH PARTITION p1 FOR VALUES FROM (0) TO (10);"
        ),
    );
    assert_eq!(
        table(&made, "public.p1"),
        "CREATE TABLE public.p1 (
    id integer NOT NULL,
    a integer NOT NULL,
    b integer
)
PARTITION OF public.p FOR VALUES FROM (0) TO (10);"
    );
    assert_eq!(made.to_text(), attached.to_text());
    let (_c, inheriting) = built(
        pg,
        "CREATE TABLE par (x int CONSTRAINT x_required NOT NULL);
         CREATE TABLE chi (y int) INHERITS (par);",
    );
    assert_eq!(
        table(&inheriting, "public.chi"),
        "CREATE TABLE public.chi (
    x integer NOT NULL,
    y integer
)
INHERITS (public.par);"
    );
}

#[test]
fn pg18_virtual_generated_columns() {
    let pg = Server::get(18);
    let (db, s) = built(
        pg,
        "CREATE TABLE items (price numeric, qty int,
            total numeric GENERATED ALWAYS AS (price * qty) VIRTUAL,
            stored numeric GENERATED ALWAYS AS (price * 2) STORED);",
    );
    assert_eq!(
        table(&s, "public.items"),
        "CREATE TABLE public.items (
    price numeric,
    qty integer,
    total numeric GENERATED ALWAYS AS ((price * (qty)::numeric)) VIRTUAL,
    stored numeric GENERATED ALWAYS AS ((price * (2)::numeric)) STORED
)"
        .to_string()
            + ";"
    );
    let (_, d) = only_change(
        &db,
        "ALTER TABLE items ALTER COLUMN total SET EXPRESSION AS (price * qty * 2);",
    );
    assert!(
        d.contains("+    total numeric GENERATED ALWAYS AS (((price * (qty)::numeric) * (2)::numeric)) VIRTUAL,\n"),
        "{d}"
    );
    let (_, d) = only_change(
        &db,
        "ALTER TABLE items ADD COLUMN half numeric GENERATED ALWAYS AS (price / 2);",
    );
    assert!(
        d.contains("+    half numeric GENERATED ALWAYS AS ((price / (2)::numeric)) VIRTUAL\n"),
        "{d}"
    );
    // Replays of all of it agree.
    let sql = "CREATE TABLE v (a int, b int GENERATED ALWAYS AS (a + 1) VIRTUAL,
                               c int CONSTRAINT c_set NOT NULL, d int NOT NULL);
               ALTER TABLE v ADD CONSTRAINT b_set NOT NULL a NOT VALID;";
    let (_x, first) = built(pg, sql);
    let (_y, second) = built(pg, sql);
    assert_eq!(first.to_text(), second.to_text());
}
