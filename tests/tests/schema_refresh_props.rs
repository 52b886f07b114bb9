//! Refreshed snapshots against random schema changes: sequences of DDL drawn from a small
//! grammar over a few names (so that steps interact: a view over a table later renamed, a
//! foreign key to a table moved to another schema, a comment on a column then dropped...),
//! each step followed by a refresh that must give exactly the snapshot a full capture gives.
//! A step PostgreSQL refuses is part of the sequence too (the refresh after it must still
//! agree), and so is a step undone by a rollback. Finding the changes by scanning the catalogs
//! and from the session's record; in autocommit, and inside one open transaction (committed
//! or rolled back at the end).
//!
//! `PROPTEST_CASES` sets the cases per test (default [`CASES`]); a failure is shrunk (to eight
//! steps at least), printed with each step's outcome and the diff, and its seed kept in
//! `schema_refresh_props.proptest-regressions`, run first the next time. Below the
//! properties, the shortest examples of what they found, as plain tests.

use migrate_runtime::schema::{
    Snapshot, SnapshotOptions, StatementCache, TrackedSnapshot, diff, record_changes,
};
use migrate_tests::TestDb;
use postgres::GenericClient;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::Union;
use proptest::test_runner::TestCaseError;

#[path = "support/refresh.rs"]
mod support;
use support::{Finding, role};

/// Cases per test (four tests) unless `PROPTEST_CASES` says otherwise.
const CASES: u32 = 24;

/// What every case starts from, before the first snapshot: a few objects for the steps to
/// change (the steps also create them, and others).
const SEED: &str = "
CREATE TYPE public.mood AS ENUM ('sad', 'ok');
CREATE DOMAIN public.dom AS integer CHECK (VALUE > 0);
CREATE TYPE public.pair AS (x integer, y text);
CREATE FUNCTION public.f0(x integer) RETURNS integer LANGUAGE sql IMMUTABLE RETURN x + 1;
CREATE FUNCTION public.tf() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE SEQUENCE public.q0;
CREATE TABLE public.t0 (id integer PRIMARY KEY, a integer, b text);
CREATE TABLE public.t1 (id integer PRIMARY KEY, a integer REFERENCES public.t0, b text,
    tags public.mood[]);
CREATE TABLE public.t2 (id integer NOT NULL, a integer, b text) PARTITION BY RANGE (id);
CREATE VIEW public.v0 AS SELECT id, a FROM public.t0;
CREATE FUNCTION public.f2(r public.t0) RETURNS integer LANGUAGE sql AS 'SELECT $1.id';
CREATE INDEX i0 ON public.t1 (a);
CREATE SCHEMA s1;
CREATE TABLE s1.t0 (id integer PRIMARY KEY, a integer, b text);
CREATE TABLE s1.t2 PARTITION OF public.t2 FOR VALUES FROM (0) TO (100)";

/// Where objects go: `public` more often (`s1` may not exist).
const SCHEMAS: &[&str] = &["public", "public", "s1"];
const TABLES: &[&str] = &["t0", "t1", "t2"];
const COLUMNS: &[&str] = &["a", "b", "c"];
const VIEWS: &[&str] = &["v0", "v1"];
const INDEXES: &[&str] = &["i0", "i1"];
const CONSTRAINTS: &[&str] = &["k0", "k1"];
const SEQUENCES: &[&str] = &["q0", "q1"];
const TRIGGERS: &[&str] = &["g0", "g1"];
const POLICIES: &[&str] = &["p0", "p1"];
/// Column and attribute types, some of them the steps' own (`{s}`: a schema).
const TYPES: &[&str] = &[
    "integer",
    "bigint",
    "text",
    "varchar(10)",
    "integer[]",
    "{s}.mood",
    "{s}.dom",
    "{s}.pair",
    "{s}.span",
    "{s}.mood[]",
    "{s}.span_multirange",
    "{s}.pair[]",
    "public.t0",
    "public.t1[]",
    "text COLLATE {s}.coll",
    "tsvector",
];
const DEFAULTS: &[&str] = &[
    "1",
    "'x'",
    "nextval('{s}.q0')",
    "{s}.f0(1)",
    "'sad'::{s}.mood",
    "to_tsvector('{s}.cfg', 'x')",
];
const ON_DELETE: &[&str] = &[
    "",
    " ON DELETE CASCADE",
    " ON DELETE SET NULL",
    " ON DELETE RESTRICT",
];
const CASCADE: &[&str] = &["", " CASCADE"];

fn pick(names: &'static [&'static str]) -> impl Strategy<Value = &'static str> + Clone {
    select(names)
}

/// A schema-qualified name: `(schema, name)` printed `schema.name`.
fn qualified(names: &'static [&'static str]) -> impl Strategy<Value = String> + Clone {
    (pick(SCHEMAS), pick(names)).prop_map(|(s, n)| format!("{s}.{n}"))
}

/// A table to change: mostly one the seed made (the steps make and move others).
fn table() -> impl Strategy<Value = String> + Clone {
    pick(&[
        "public.t0",
        "public.t0",
        "public.t1",
        "public.t1",
        "public.t2",
        "s1.t0",
        "s1.t1",
        "s1.t2",
    ])
    .prop_map(str::to_string)
}

/// A type for a column or an attribute, its schema chosen.
fn column_type() -> impl Strategy<Value = String> + Clone {
    (pick(SCHEMAS), pick(TYPES)).prop_map(|(s, t)| t.replace("{s}", s))
}

/// A step's SQL, one of the arms, weighted.
type Arm = (u32, BoxedStrategy<String>);

fn arm<S: Strategy<Value = String> + 'static>(weight: u32, s: S) -> Arm {
    (weight, s.boxed())
}

/// Tables: created (plain, partitioned, partitions, children, identity and generated
/// columns, unlogged, LIKE), dropped, renamed (also to the table a snapshot leaves out), moved
/// between schemas, and what else `ALTER TABLE` does to them as a whole.
fn tables() -> Vec<Arm> {
    vec![
        arm(
            6,
            (pick(SCHEMAS), pick(TABLES), 0..8usize, table(), 0..3u32).prop_map(
                |(s, t, variant, other, lo)| {
                    let (lo, hi) = (lo * 100, lo * 100 + 100);
                    match variant {
                        0 => format!("CREATE TABLE {s}.{t} (id integer PRIMARY KEY, a integer, b text)"),
                        1 => format!(
                            "CREATE TABLE {s}.{t} (id integer NOT NULL, a integer, b text) PARTITION BY RANGE (id)"
                        ),
                        2 => format!(
                            "CREATE TABLE {s}.{t} PARTITION OF {other} FOR VALUES FROM ({lo}) TO ({hi})"
                        ),
                        3 => format!("CREATE TABLE {s}.{t} PARTITION OF {other} DEFAULT"),
                        4 => format!("CREATE TABLE {s}.{t} (c integer) INHERITS ({other})"),
                        5 => format!(
                            "CREATE TABLE {s}.{t} (id integer GENERATED ALWAYS AS IDENTITY, \
                             a integer DEFAULT 1 CHECK (a > 0), b text COLLATE \"C\", \
                             g integer GENERATED ALWAYS AS (a * 2) STORED)"
                        ),
                        6 => format!(
                            "CREATE UNLOGGED TABLE {s}.{t} (id integer, \
                             a integer REFERENCES {other} ON DELETE CASCADE, b text UNIQUE)"
                        ),
                        _ => format!("CREATE TABLE {s}.{t} (LIKE {other} INCLUDING ALL)"),
                    }
                },
            ),
        ),
        arm(
            1,
            table().prop_map(|t| {
                format!("CREATE TABLE public._migrate_history (id integer PRIMARY KEY, a integer REFERENCES {t})")
            }),
        ),
        arm(
            3,
            (table(), pick(CASCADE)).prop_map(|(t, c)| format!("DROP TABLE {t}{c}")),
        ),
        arm(
            3,
            (table(), pick(&["t0", "t1", "t2", "_migrate_history"]))
                .prop_map(|(t, to)| format!("ALTER TABLE {t} RENAME TO {to}")),
        ),
        arm(
            1,
            Just("ALTER TABLE public._migrate_history RENAME TO t2".to_string()),
        ),
        arm(
            2,
            (table(), pick(SCHEMAS)).prop_map(|(t, s)| format!("ALTER TABLE {t} SET SCHEMA {s}")),
        ),
        arm(
            2,
            (
                table(),
                pick(&[
                    "SET (fillfactor = 70)",
                    "RESET (fillfactor)",
                    "REPLICA IDENTITY FULL",
                    "SET UNLOGGED",
                    "SET LOGGED",
                    "OWNER TO refresh_reader",
                    "OWNER TO postgres",
                    "SET WITHOUT CLUSTER",
                ]),
            )
                .prop_map(|(t, what)| format!("ALTER TABLE {t} {what}")),
        ),
        // Partitions attached and detached, inheritance added and removed.
        arm(
            3,
            (table(), table(), 0..4u32, 0..4usize).prop_map(|(t, other, lo, variant)| {
                let (lo, hi) = (lo * 100, lo * 100 + 100);
                match variant {
                    0 => format!("ALTER TABLE {t} ATTACH PARTITION {other} FOR VALUES FROM ({lo}) TO ({hi})"),
                    1 => format!("ALTER TABLE {t} DETACH PARTITION {other}"),
                    2 => format!("ALTER TABLE {t} INHERIT {other}"),
                    _ => format!("ALTER TABLE {t} NO INHERIT {other}"),
                }
            }),
        ),
        // Rows, storage and statistics: no schema change, though catalog rows change.
        arm(
            1,
            (table(), 0..5usize).prop_map(|(t, variant)| match variant {
                0 => format!("INSERT INTO {t} (id, a) VALUES (1, 1)"),
                1 => format!("VACUUM FULL {t}"),
                2 => format!("TRUNCATE {t} CASCADE"),
                3 => format!("ANALYZE {t}"),
                _ => format!("REINDEX TABLE {t}"),
            }),
        ),
    ]
}

/// Columns: added (types, defaults, NOT NULL), dropped, renamed, retyped, and their defaults,
/// NOT NULL, identity, statistics and storage.
fn columns() -> Vec<Arm> {
    vec![
        arm(
            6,
            (
                table(),
                pick(COLUMNS),
                column_type(),
                (pick(SCHEMAS), prop::option::of(pick(DEFAULTS))),
                any::<bool>(),
            )
                .prop_map(|(t, c, ty, (s, default), not_null)| {
                    let default = default.map_or(String::new(), |d| {
                        format!(" DEFAULT {}", d.replace("{s}", s))
                    });
                    let not_null = if not_null { " NOT NULL" } else { "" };
                    format!("ALTER TABLE {t} ADD COLUMN {c} {ty}{default}{not_null}")
                }),
        ),
        arm(
            3,
            (table(), pick(COLUMNS), pick(CASCADE))
                .prop_map(|(t, c, cascade)| format!("ALTER TABLE {t} DROP COLUMN {c}{cascade}")),
        ),
        arm(
            3,
            (table(), pick(COLUMNS), pick(COLUMNS))
                .prop_map(|(t, c, to)| format!("ALTER TABLE {t} RENAME COLUMN {c} TO {to}")),
        ),
        arm(
            3,
            (table(), pick(COLUMNS), column_type(), any::<bool>()).prop_map(|(t, c, ty, using)| {
                let using = if using {
                    format!(" USING NULL::{ty}")
                } else {
                    String::new()
                };
                format!("ALTER TABLE {t} ALTER COLUMN {c} TYPE {ty}{using}")
            }),
        ),
        arm(
            5,
            (
                table(),
                pick(COLUMNS),
                pick(SCHEMAS),
                pick(DEFAULTS),
                0..11usize,
            )
                .prop_map(|(t, c, s, default, variant)| {
                    let what = match variant {
                        0 | 1 => format!("SET DEFAULT {}", default.replace("{s}", s)),
                        2 => "DROP DEFAULT".to_string(),
                        3 => "SET NOT NULL".to_string(),
                        4 => "DROP NOT NULL".to_string(),
                        5 => "ADD GENERATED BY DEFAULT AS IDENTITY".to_string(),
                        6 => "DROP IDENTITY IF EXISTS".to_string(),
                        7 => "SET STATISTICS 200".to_string(),
                        8 => "SET INCREMENT BY 2".to_string(),
                        9 => "RESTART WITH 9".to_string(),
                        _ => "SET STORAGE EXTERNAL".to_string(),
                    };
                    format!("ALTER TABLE {t} ALTER COLUMN {c} {what}")
                }),
        ),
    ]
}

/// Constraints: checks, unique, primary and foreign keys (to the same or another table, ON
/// DELETE actions, deferrable, NOT VALID), exclusion; dropped, renamed, validated, altered.
fn constraints() -> Vec<Arm> {
    vec![
        arm(
            6,
            (table(), pick(CONSTRAINTS), pick(COLUMNS), table(), pick(ON_DELETE), 0..9usize)
                .prop_map(|(t, k, c, other, on_delete, variant)| {
                    let def = match variant {
                        0 => format!("CHECK ({c} IS NOT NULL)"),
                        1 => "CHECK (id > 0) NOT VALID".to_string(),
                        2 => format!("UNIQUE ({c})"),
                        3 => format!("UNIQUE ({c}) DEFERRABLE INITIALLY DEFERRED"),
                        4 => "PRIMARY KEY (id)".to_string(),
                        5 => format!("FOREIGN KEY ({c}) REFERENCES {other} (id){on_delete}"),
                        6 => format!(
                            "FOREIGN KEY ({c}) REFERENCES {other}{on_delete} DEFERRABLE INITIALLY DEFERRED"
                        ),
                        7 => format!("FOREIGN KEY ({c}) REFERENCES {other} (id) NOT VALID"),
                        _ => "EXCLUDE USING btree (id WITH =)".to_string(),
                    };
                    format!("ALTER TABLE {t} ADD CONSTRAINT {k} {def}")
                }),
        ),
        arm(
            4,
            (table(), pick(CONSTRAINTS), pick(CONSTRAINTS), pick(CASCADE), 0..4usize).prop_map(
                |(t, k, to, cascade, variant)| match variant {
                    0 => format!("ALTER TABLE {t} DROP CONSTRAINT {k}{cascade}"),
                    1 => format!("ALTER TABLE {t} RENAME CONSTRAINT {k} TO {to}"),
                    2 => format!("ALTER TABLE {t} VALIDATE CONSTRAINT {k}"),
                    _ => format!("ALTER TABLE {t} ALTER CONSTRAINT {k} NOT DEFERRABLE"),
                },
            ),
        ),
    ]
}

/// Indexes: plain, unique, partial, expression (also calling a function of the steps'),
/// on a partitioned table only; dropped, renamed, attached, clustered on, used as replica
/// identity.
fn indexes() -> Vec<Arm> {
    vec![
        arm(
            5,
            (
                pick(INDEXES),
                table(),
                pick(COLUMNS),
                (any::<bool>(), any::<bool>()),
                pick(&[
                    "{c}",
                    "lower({c}::text)",
                    "({c} + 1)",
                    "{c} DESC NULLS LAST",
                    "{c}, id",
                    "{s}.f0({c})",
                    "id) INCLUDE ({c}",
                ]),
                pick(&["", " WHERE {c} IS NOT NULL", " WHERE id > 0"]),
                pick(SCHEMAS),
            )
                .prop_map(|(i, t, c, (unique, only), expr, predicate, s)| {
                    let unique = if unique { "UNIQUE " } else { "" };
                    let only = if only { "ONLY " } else { "" };
                    let expr = expr.replace("{c}", c).replace("{s}", s);
                    let predicate = predicate.replace("{c}", c);
                    format!("CREATE {unique}INDEX {i} ON {only}{t} ({expr}){predicate}")
                }),
        ),
        arm(
            3,
            (
                qualified(INDEXES),
                pick(INDEXES),
                table(),
                pick(CASCADE),
                0..6usize,
            )
                .prop_map(|(i, to, t, cascade, variant)| {
                    let name = i.split('.').nth(1).unwrap_or("i0");
                    match variant {
                        0 | 1 => format!("DROP INDEX {i}{cascade}"),
                        2 => format!("ALTER INDEX {i} RENAME TO {to}"),
                        3 => format!(
                            "ALTER INDEX {i} ATTACH PARTITION {}.{to}",
                            &i[..i.len() - name.len() - 1]
                        ),
                        4 => format!("ALTER TABLE {t} CLUSTER ON {name}"),
                        _ => format!("ALTER TABLE {t} REPLICA IDENTITY USING INDEX {name}"),
                    }
                }),
        ),
    ]
}

/// Views and materialized views over tables and over each other; replaced, dropped, renamed,
/// their columns renamed and given defaults, indexed, moved.
fn views() -> Vec<Arm> {
    vec![
        arm(
            5,
            (
                qualified(VIEWS),
                prop_oneof![table(), qualified(VIEWS)],
                pick(&["*", "id, a", "a AS x, count(*) OVER () AS n", "t.*, {s}.f0(id) AS f"]),
                pick(SCHEMAS),
                0..5usize,
            )
                .prop_map(|(v, from, columns, s, variant)| {
                    let columns = columns.replace("{s}", s);
                    match variant {
                        0 => format!("CREATE VIEW {v} AS SELECT {columns} FROM {from} t"),
                        1 => format!("CREATE OR REPLACE VIEW {v} AS SELECT {columns} FROM {from} t WHERE id > 0"),
                        2 => format!(
                            "CREATE VIEW {v} WITH (security_barrier) AS SELECT {columns} FROM {from} t"
                        ),
                        3 => format!("CREATE VIEW {v} AS SELECT id, a FROM {from} WITH CHECK OPTION"),
                        _ => format!("CREATE MATERIALIZED VIEW {}.m0 AS SELECT {columns} FROM {from} t", &v[..v.len() - 3]),
                    }
                }),
        ),
        arm(
            4,
            (qualified(VIEWS), pick(VIEWS), pick(SCHEMAS), pick(CASCADE), 0..9usize).prop_map(
                |(v, to, s, cascade, variant)| match variant {
                    0 => format!("DROP VIEW {v}{cascade}"),
                    1 => format!("DROP MATERIALIZED VIEW {s}.m0{cascade}"),
                    2 => format!("ALTER VIEW {v} RENAME TO {to}"),
                    3 => format!("ALTER MATERIALIZED VIEW {s}.m0 RENAME TO {to}"),
                    4 => format!("ALTER VIEW {v} RENAME COLUMN id TO ident"),
                    5 => format!("ALTER VIEW {v} ALTER COLUMN a SET DEFAULT 5"),
                    6 => format!("CREATE INDEX i1 ON {s}.m0 (id)"),
                    7 => format!("ALTER VIEW {v} SET SCHEMA {s}"),
                    _ => format!("REFRESH MATERIALIZED VIEW {s}.m0"),
                },
            ),
        ),
    ]
}

/// Sequences: created, owned by a column and not, renamed, altered, moved, dropped.
fn sequences() -> Vec<Arm> {
    vec![arm(
        4,
        (
            qualified(SEQUENCES),
            pick(SEQUENCES),
            table(),
            pick(COLUMNS),
            pick(SCHEMAS),
            0..8usize,
        )
            .prop_map(|(q, to, t, c, s, variant)| match variant {
                0 | 1 => format!("CREATE SEQUENCE {q}"),
                2 => format!("ALTER SEQUENCE {q} OWNED BY {t}.{c}"),
                3 => format!("ALTER SEQUENCE {q} OWNED BY NONE"),
                4 => format!("ALTER SEQUENCE {q} RENAME TO {to}"),
                5 => format!("ALTER SEQUENCE {q} AS integer INCREMENT BY 5 MINVALUE 0 RESTART"),
                6 => format!("ALTER SEQUENCE {q} SET SCHEMA {s}"),
                _ => format!("DROP SEQUENCE {q} CASCADE"),
            }),
    )]
}

/// Types: enums (created, values added and renamed), domains (constraints, defaults, NOT
/// NULL), composite types (attributes added, dropped, renamed, retyped), a range type;
/// renamed, moved, dropped.
fn types() -> Vec<Arm> {
    vec![
        arm(
            4,
            (pick(SCHEMAS), pick(&["sad", "ok", "happy"]), pick(&["sad", "ok", "glad"]), 0..6usize)
                .prop_map(|(s, value, to, variant)| match variant {
                    0 | 1 => format!("CREATE TYPE {s}.mood AS ENUM ('sad', 'ok')"),
                    2 => format!("ALTER TYPE {s}.mood ADD VALUE IF NOT EXISTS '{value}'"),
                    3 => format!("ALTER TYPE {s}.mood ADD VALUE '{to}' BEFORE '{value}'"),
                    4 => format!("ALTER TYPE {s}.mood RENAME VALUE '{value}' TO '{to}'"),
                    _ => format!("CREATE TYPE {s}.span AS RANGE (subtype = integer)"),
                }),
        ),
        arm(
            4,
            (pick(SCHEMAS), pick(&["dk0", "dk1"]), 0..11usize).prop_map(|(s, k, variant)| {
                match variant {
                    0 | 1 => format!("CREATE DOMAIN {s}.dom AS integer CHECK (VALUE > 0)"),
                    2 => format!("CREATE DOMAIN {s}.dom AS text DEFAULT 'x' NOT NULL"),
                    3 => format!("ALTER DOMAIN {s}.dom ADD CONSTRAINT {k} CHECK (VALUE IS NOT NULL) NOT VALID"),
                    4 => format!("ALTER DOMAIN {s}.dom DROP CONSTRAINT {k}"),
                    5 => format!("ALTER DOMAIN {s}.dom RENAME CONSTRAINT {k} TO dk1"),
                    6 => format!("ALTER DOMAIN {s}.dom VALIDATE CONSTRAINT {k}"),
                    7 => format!("ALTER DOMAIN {s}.dom SET DEFAULT 2"),
                    8 => format!("ALTER DOMAIN {s}.dom DROP DEFAULT"),
                    9 => format!("ALTER DOMAIN {s}.dom SET NOT NULL"),
                    _ => format!("ALTER DOMAIN {s}.dom DROP NOT NULL"),
                }
            }),
        ),
        arm(
            3,
            (pick(SCHEMAS), column_type(), pick(CASCADE), 0..6usize).prop_map(
                |(s, ty, cascade, variant)| match variant {
                    0 | 1 => format!("CREATE TYPE {s}.pair AS (x integer, y text)"),
                    2 => format!("ALTER TYPE {s}.pair ADD ATTRIBUTE z {ty}{cascade}"),
                    3 => format!("ALTER TYPE {s}.pair DROP ATTRIBUTE x{cascade}"),
                    4 => format!("ALTER TYPE {s}.pair RENAME ATTRIBUTE y TO x{cascade}"),
                    _ => format!("ALTER TYPE {s}.pair ALTER ATTRIBUTE x TYPE bigint{cascade}"),
                },
            ),
        ),
        arm(
            3,
            (
                pick(SCHEMAS),
                pick(&["TYPE {s}.mood", "TYPE {s}.pair", "TYPE {s}.span", "DOMAIN {s}.dom"]),
                pick(&["mood", "pair", "dom", "feeling"]),
                pick(SCHEMAS),
                pick(CASCADE),
                0..4usize,
            )
                .prop_map(|(s, what, to, other, cascade, variant)| {
                    let what = what.replace("{s}", s);
                    match variant {
                        0 | 1 => format!("DROP {what}{cascade}"),
                        2 => format!("ALTER {what} RENAME TO {to}"),
                        _ => format!("ALTER {what} SET SCHEMA {other}"),
                    }
                }),
        ),
    ]
}

/// Functions and procedures (SQL and plpgsql, bodies that name tables and types), an
/// aggregate; replaced, altered, renamed, moved, dropped.
fn routines() -> Vec<Arm> {
    vec![
        arm(
            4,
            (pick(SCHEMAS), table(), 1..4u32, pick(SCHEMAS), 0..8usize).prop_map(
                |(s, t, k, other, variant)| match variant {
                    0 | 1 => format!(
                        "CREATE OR REPLACE FUNCTION {s}.f0(x integer) RETURNS integer \
                         LANGUAGE sql IMMUTABLE RETURN x * {k}"
                    ),
                    2 => format!(
                        "CREATE OR REPLACE FUNCTION {s}.f1(x integer) RETURNS bigint LANGUAGE sql \
                         STABLE BEGIN ATOMIC SELECT count(*) FROM {t} WHERE id = x; END"
                    ),
                    3 => format!(
                        "CREATE OR REPLACE FUNCTION {s}.tf() RETURNS trigger LANGUAGE plpgsql \
                         AS $$BEGIN NEW.id = NEW.id + {k}; RETURN NEW; END$$"
                    ),
                    4 => format!(
                        "CREATE OR REPLACE PROCEDURE {s}.pr(x integer) LANGUAGE sql AS $$SELECT x$$"
                    ),
                    5 => format!(
                        "CREATE FUNCTION {s}.f0(x {other}.dom) RETURNS {other}.mood \
                         LANGUAGE sql RETURN NULL"
                    ),
                    6 => format!(
                        "CREATE AGGREGATE {s}.total(integer) (sfunc = int4pl, stype = integer)"
                    ),
                    _ => format!(
                        "CREATE OR REPLACE FUNCTION {s}.f2(r {t}) RETURNS integer \
                         LANGUAGE sql AS 'SELECT $1.id'"
                    ),
                },
            ),
        ),
        arm(
            3,
            (
                pick(SCHEMAS),
                pick(&[
                    "FUNCTION {s}.f0(integer)",
                    "FUNCTION {s}.f1(integer)",
                    "FUNCTION {s}.tf()",
                    "PROCEDURE {s}.pr(integer)",
                    "AGGREGATE {s}.total(integer)",
                ]),
                pick(&["f0", "f1", "tf", "pr", "total"]),
                pick(SCHEMAS),
                pick(CASCADE),
                0..6usize,
            )
                .prop_map(|(s, what, to, other, cascade, variant)| {
                    let what = what.replace("{s}", s);
                    match variant {
                        0 | 1 => format!("DROP {what}{cascade}"),
                        2 => format!("ALTER {what} RENAME TO {to}"),
                        3 => format!("ALTER {what} SET SCHEMA {other}"),
                        4 => format!("ALTER {what} SET search_path = public"),
                        _ => format!("ALTER {what} OWNER TO refresh_reader"),
                    }
                }),
        ),
    ]
}

/// Triggers (on tables, INSTEAD OF on views), dropped, renamed, disabled and enabled; row
/// level security and policies.
fn triggers_and_policies() -> Vec<Arm> {
    vec![
        arm(
            4,
            (pick(TRIGGERS), table(), qualified(VIEWS), pick(SCHEMAS), 0..5usize).prop_map(
                |(g, t, v, s, variant)| match variant {
                    0 => format!(
                        "CREATE TRIGGER {g} BEFORE INSERT ON {t} FOR EACH ROW EXECUTE FUNCTION {s}.tf()"
                    ),
                    1 => format!(
                        "CREATE TRIGGER {g} AFTER UPDATE OF a ON {t} FOR EACH ROW \
                         WHEN (NEW.a > 0) EXECUTE FUNCTION {s}.tf()"
                    ),
                    2 => format!(
                        "CREATE TRIGGER {g} AFTER DELETE ON {t} FOR EACH STATEMENT EXECUTE FUNCTION {s}.tf()"
                    ),
                    3 => format!(
                        "CREATE TRIGGER {g} INSTEAD OF INSERT ON {v} FOR EACH ROW EXECUTE FUNCTION {s}.tf()"
                    ),
                    _ => format!(
                        "CREATE CONSTRAINT TRIGGER {g} AFTER INSERT ON {t} DEFERRABLE \
                         FOR EACH ROW EXECUTE FUNCTION {s}.tf()"
                    ),
                },
            ),
        ),
        arm(
            3,
            (pick(TRIGGERS), pick(TRIGGERS), table(), 0..6usize).prop_map(|(g, to, t, variant)| {
                match variant {
                    0 | 1 => format!("DROP TRIGGER {g} ON {t}"),
                    2 => format!("ALTER TRIGGER {g} ON {t} RENAME TO {to}"),
                    3 => format!("ALTER TABLE {t} DISABLE TRIGGER {g}"),
                    4 => format!("ALTER TABLE {t} ENABLE ALWAYS TRIGGER {g}"),
                    _ => format!("ALTER TABLE {t} DISABLE TRIGGER ALL"),
                }
            }),
        ),
        arm(
            4,
            (pick(POLICIES), pick(POLICIES), table(), 0..9usize).prop_map(|(p, to, t, variant)| {
                match variant {
                    0 => format!("ALTER TABLE {t} ENABLE ROW LEVEL SECURITY"),
                    1 => format!("ALTER TABLE {t} DISABLE ROW LEVEL SECURITY"),
                    2 => format!("ALTER TABLE {t} FORCE ROW LEVEL SECURITY"),
                    3 => format!("CREATE POLICY {p} ON {t} USING (a > 0)"),
                    4 => format!(
                        "CREATE POLICY {p} ON {t} AS RESTRICTIVE FOR UPDATE TO refresh_reader \
                         USING (id > 0) WITH CHECK (a IS NOT NULL)"
                    ),
                    5 => format!("ALTER POLICY {p} ON {t} RENAME TO {to}"),
                    6 => format!("ALTER POLICY {p} ON {t} USING (id > 1)"),
                    _ => format!("DROP POLICY {p} ON {t}"),
                }
            }),
        ),
    ]
}

/// Comments on every kind of object, and on columns of tables, views and composite types;
/// set, changed and removed.
fn comments() -> Vec<Arm> {
    vec![arm(
        5,
        (
            pick(&[
                "TABLE {t}",
                "COLUMN {t}.{c}",
                "VIEW {s}.{v}",
                "COLUMN {s}.{v}.id",
                "MATERIALIZED VIEW {s}.m0",
                "INDEX {s}.{i}",
                "SEQUENCE {s}.{q}",
                "TYPE {s}.mood",
                "TYPE {s}.pair",
                "COLUMN {s}.pair.x",
                "DOMAIN {s}.dom",
                "CONSTRAINT dk0 ON DOMAIN {s}.dom",
                "FUNCTION {s}.f0(integer)",
                "PROCEDURE {s}.pr(integer)",
                "CONSTRAINT {k} ON {t}",
                "TRIGGER {g} ON {t}",
                "POLICY {p} ON {t}",
                "SCHEMA {s}",
            ]),
            (
                table(),
                pick(SCHEMAS),
                pick(COLUMNS),
                pick(VIEWS),
                pick(INDEXES),
            ),
            (
                pick(SEQUENCES),
                pick(CONSTRAINTS),
                pick(TRIGGERS),
                pick(POLICIES),
            ),
            pick(&["'x'", "'y'", "NULL", "NULL"]),
        )
            .prop_map(|(what, (t, s, c, v, i), (q, k, g, p), text)| {
                let what = what
                    .replace("{t}", &t)
                    .replace("{s}", s)
                    .replace("{c}", c)
                    .replace("{v}", v)
                    .replace("{i}", i)
                    .replace("{q}", q)
                    .replace("{k}", k)
                    .replace("{g}", g)
                    .replace("{p}", p);
                format!("COMMENT ON {what} IS {text}")
            }),
    )]
}

/// Privileges granted to and revoked from a role (and from PUBLIC), on tables, columns,
/// sequences, routines, types and schemas, one at a time or a whole schema's; default
/// privileges; what the role owns dropped.
fn grants() -> Vec<Arm> {
    vec![
        arm(
            5,
            (
                pick(&[
                    "SELECT ON {t}",
                    "INSERT, DELETE ON {t}",
                    "ALL ON {t}",
                    "UPDATE ({c}) ON {t}",
                    "SELECT ({c}), REFERENCES ({c}) ON {t}",
                    "USAGE ON SEQUENCE {s}.{q}",
                    "EXECUTE ON FUNCTION {s}.f0(integer)",
                    "EXECUTE ON PROCEDURE {s}.pr(integer)",
                    "USAGE ON TYPE {s}.mood",
                    "USAGE ON DOMAIN {s}.dom",
                    "USAGE, CREATE ON SCHEMA {s}",
                    "SELECT ON ALL TABLES IN SCHEMA {s}",
                    "SELECT ON {s}.{v}",
                ]),
                (table(), pick(SCHEMAS), pick(COLUMNS), pick(SEQUENCES), pick(VIEWS)),
                0..5usize,
            )
                .prop_map(|(what, (t, s, c, q, v), variant)| {
                    let what = what
                        .replace("{t}", &t)
                        .replace("{s}", s)
                        .replace("{c}", c)
                        .replace("{q}", q)
                        .replace("{v}", v);
                    match variant {
                        0 | 1 => format!("GRANT {what} TO refresh_reader"),
                        2 => format!("GRANT {what} TO refresh_reader WITH GRANT OPTION"),
                        3 => format!("REVOKE {what} FROM refresh_reader"),
                        _ => format!("REVOKE {what} FROM PUBLIC"),
                    }
                }),
        ),
        arm(
            1,
            (pick(SCHEMAS), 0..4usize).prop_map(|(s, variant)| match variant {
                0 => format!(
                    "ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT ON TABLES TO refresh_reader"
                ),
                1 => "ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC".to_string(),
                2 => "REASSIGN OWNED BY refresh_reader TO postgres".to_string(),
                _ => "DROP OWNED BY refresh_reader".to_string(),
            }),
        ),
    ]
}

/// What is renamed (in `{s}`) and to what.
const RENAMED: &[(&str, &str)] = &[
    ("TABLE {s}.t0", "t3"),
    ("TABLE {s}.t3", "t0"),
    ("TABLE {s}.t1", "t3"),
    ("TYPE {s}.mood", "feeling"),
    ("TYPE {s}.feeling", "mood"),
    ("TYPE {s}.pair", "couple"),
    ("TYPE {s}.couple", "pair"),
    ("DOMAIN {s}.dom", "small"),
    ("DOMAIN {s}.small", "dom"),
    ("FUNCTION {s}.f0(integer)", "g0"),
    ("FUNCTION {s}.g0(integer)", "f0"),
    ("FUNCTION {s}.tf()", "tg"),
    ("FUNCTION {s}.tg()", "tf"),
    ("SEQUENCE {s}.q0", "q1"),
    ("SEQUENCE {s}.q1", "q0"),
    ("VIEW {s}.v0", "v1"),
    ("VIEW {s}.v1", "v0"),
    ("TYPE {s}.span_multirange", "spans"),
    ("TYPE {s}.span", "range"),
    ("SEQUENCE {s}.t0_id_seq", "ids"),
    ("COLLATION {s}.coll", "coll2"),
    ("TEXT SEARCH CONFIGURATION {s}.cfg", "cfg2"),
];

/// Renames and moves of what other objects print the name of, there and back.
fn renames() -> Vec<Arm> {
    vec![arm(
        20,
        (
            select(RENAMED),
            pick(SCHEMAS),
            pick(SCHEMAS),
            prop::bool::weighted(0.3),
        )
            .prop_map(|((what, to), s, other, move_it)| {
                let what = what.replace("{s}", s);
                match move_it {
                    false => format!("ALTER {what} RENAME TO {to}"),
                    true => format!("ALTER {what} SET SCHEMA {other}"),
                }
            }),
    )]
}

/// Collations and text search configurations (a column's collation, a default's
/// configuration print their names): created, renamed, moved, dropped.
fn collations() -> Vec<Arm> {
    vec![arm(
        2,
        (
            pick(SCHEMAS),
            pick(&["COLLATION {s}.coll", "TEXT SEARCH CONFIGURATION {s}.cfg"]),
            pick(SCHEMAS),
            pick(CASCADE),
            0..6usize,
        )
            .prop_map(|(s, what, other, cascade, variant)| {
                let what = what.replace("{s}", s);
                match variant {
                    0 => format!("CREATE COLLATION {s}.coll FROM \"C\""),
                    1 => format!("CREATE TEXT SEARCH CONFIGURATION {s}.cfg (COPY = english)"),
                    2 => format!(
                        "ALTER {what} RENAME TO {}",
                        if what.contains("coll") {
                            "coll2"
                        } else {
                            "cfg2"
                        }
                    ),
                    3 => format!("ALTER {what} SET SCHEMA {other}"),
                    4 => format!("DROP {what}{cascade}"),
                    _ => format!("CREATE INDEX i0 ON public.t0 (b COLLATE {s}.coll)"),
                }
            }),
    )]
}

/// Schemas: created (also with objects in the same command), dropped with everything in them,
/// renamed; and the session's record of its changes dropped.
fn schemas() -> Vec<Arm> {
    vec![arm(
        2,
        (0..6usize).prop_map(|variant| {
            match variant {
                0 => "CREATE SCHEMA IF NOT EXISTS s1",
                1 => {
                    "CREATE SCHEMA s1 CREATE TABLE t0 (id integer PRIMARY KEY) \
                      CREATE VIEW v0 AS SELECT id FROM t0"
                }
                2 => "DROP SCHEMA s1 CASCADE",
                // From the record: it is gone, and refreshes scan from then on.
                3 => "DISCARD TEMP",
                4 => "ALTER SCHEMA s1 RENAME TO s2",
                _ => "ALTER SCHEMA s2 RENAME TO s1",
            }
            .to_string()
        }),
    )]
}

/// One step: its SQL, and whether it is undone (run in a transaction or savepoint rolled back).
#[derive(Clone, Debug)]
struct Step {
    sql: String,
    undone: bool,
}

fn step() -> impl Strategy<Value = Step> {
    let arms: Vec<Arm> = [
        tables(),
        columns(),
        constraints(),
        indexes(),
        views(),
        sequences(),
        types(),
        routines(),
        triggers_and_policies(),
        comments(),
        grants(),
        renames(),
        collations(),
        schemas(),
    ]
    .into_iter()
    .flatten()
    .collect();
    (Union::new_weighted(arms), prop::bool::weighted(0.1))
        .prop_map(|(sql, undone)| Step { sql, undone })
}

/// Where the steps run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Run {
    /// Each step a transaction of its own.
    Autocommit,
    /// All in one transaction, each step in a savepoint; at the end committed or rolled back.
    Transaction,
}

/// A case: the steps, how often a second snapshot is refreshed (every `lag` steps, catching
/// up on several at once), whether the snapshot is of `public` only, and whether an open
/// transaction commits at the end.
#[derive(Clone, Debug)]
struct Case {
    steps: Vec<Step>,
    lag: usize,
    public_only: bool,
    commit: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(step(), 8..=25),
        2..6usize,
        prop::bool::weighted(0.25),
        any::<bool>(),
    )
        .prop_map(|(steps, lag, public_only, commit)| Case {
            steps,
            lag,
            public_only,
            commit,
        })
}

fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = CASES;
    }
    // A case takes about a second: shrinking a failure need not try thousands.
    if std::env::var_os("PROPTEST_MAX_SHRINK_ITERS").is_none() {
        config.max_shrink_iters = 400;
    }
    config
}

/// What ran so far, with each step's outcome, for a failure's message.
#[derive(Default)]
struct Log(Vec<String>);

impl Log {
    fn push(&mut self, step: &Step, outcome: Result<(), postgres::Error>) {
        let undone = if step.undone { " (rolled back)" } else { "" };
        let outcome = match outcome {
            Ok(()) => "ok".to_string(),
            Err(e) => format!(
                "error: {}",
                e.as_db_error()
                    .map_or(e.to_string(), |d| d.message().to_string())
            ),
        };
        self.0.push(format!("{};{undone}  -- {outcome}", step.sql));
    }
}

impl std::fmt::Display for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for line in &self.0 {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

fn options(public_only: bool) -> SnapshotOptions {
    SnapshotOptions {
        schemas: public_only.then(|| vec!["public".to_string()]),
        ..SnapshotOptions::default()
    }
}

/// The refreshed snapshot is the full capture's; else a failure naming what ran.
fn same(
    what: &str,
    refreshed: Result<TrackedSnapshot, migrate_runtime::schema::SnapshotError>,
    full: &Snapshot,
    log: &Log,
) -> Result<TrackedSnapshot, TestCaseError> {
    let refreshed = refreshed.map_err(|e| {
        TestCaseError::fail(format!("{what}: the refresh failed: {e}\nsteps:\n{log}"))
    })?;
    let d = diff(full, refreshed.snapshot());
    if !d.is_empty() || refreshed.snapshot().to_text() != full.to_text() {
        return Err(TestCaseError::fail(format!(
            "{what}: the refreshed snapshot differs from a full capture\nsteps:\n{log}\
             diff (full -> refreshed):\n{d}\nfull:\n{}\nrefreshed:\n{}",
            full.to_text(),
            refreshed.snapshot().to_text()
        )));
    }
    Ok(refreshed)
}

fn capture(
    client: &mut impl GenericClient,
    options: &SnapshotOptions,
    log: &Log,
) -> Result<Snapshot, TestCaseError> {
    Snapshot::capture(client, options)
        .map_err(|e| TestCaseError::fail(format!("the capture failed: {e}\nsteps:\n{log}")))
}

/// Runs one step on `client`, in a savepoint or transaction of its own rolled back when the
/// step fails or is to be undone (so that an open transaction stays usable).
fn run_step(client: &mut impl GenericClient, step: &Step, run: Run) -> Result<(), postgres::Error> {
    let (begin, release, undo) = match run {
        Run::Autocommit if !step.undone => return client.batch_execute(&step.sql),
        Run::Autocommit => ("BEGIN", "ROLLBACK", "ROLLBACK"),
        Run::Transaction => (
            "SAVEPOINT step",
            "RELEASE SAVEPOINT step",
            "ROLLBACK TO SAVEPOINT step",
        ),
    };
    client.batch_execute(begin).expect("begin a step");
    let outcome = client.batch_execute(&step.sql);
    let end = if outcome.is_ok() && !step.undone {
        release
    } else {
        undo
    };
    client.batch_execute(end).expect("end a step");
    outcome
}

/// A case's snapshots and what ran so far.
struct Refreshing {
    options: SnapshotOptions,
    /// One for the session, as `verify` keeps.
    cache: StatementCache,
    /// Refreshed after every step.
    tracked: TrackedSnapshot,
    /// Refreshed every `lag` steps.
    lagging: TrackedSnapshot,
    log: Log,
}

impl Refreshing {
    /// Runs the step, then refreshes and compares.
    fn step(
        &mut self,
        client: &mut impl GenericClient,
        (i, step): (usize, &Step),
        case: &Case,
        run: Run,
    ) -> Result<(), TestCaseError> {
        let outcome = run_step(client, step, run);
        self.log.push(step, outcome);
        let full = capture(client, &self.options, &self.log)?;
        let refreshed = self.tracked.refresh_cached(client, &mut self.cache);
        self.tracked = same(
            &format!("after step {}", i + 1),
            refreshed,
            &full,
            &self.log,
        )?;
        if (i + 1) % case.lag == 0 {
            let what = format!("after step {}, catching up {} steps", i + 1, case.lag);
            self.lagging = same(&what, self.lagging.refresh(client), &full, &self.log)?;
        }
        Ok(())
    }
}

/// After each step, the snapshot refreshed after the previous one is refreshed; every `lag`
/// steps a second one catches up on several; each equals a full capture. At the end (after
/// the commit or rollback), both again, and the first snapshot, refreshed once for all.
fn check(case: &Case, finding: Finding, run: Run) -> Result<(), TestCaseError> {
    let db = TestDb::new();
    let mut client = db.client();
    role(&mut client);
    if finding == Finding::Record {
        assert!(record_changes(&mut client).expect("record changes"));
    }
    client.batch_execute(SEED).expect("the seed schema");
    let options = options(case.public_only);
    let mut cache = StatementCache::default();
    let base = TrackedSnapshot::capture_cached(&mut client, &mut cache, &options)
        .expect("the first snapshot");
    let mut r = Refreshing {
        options,
        cache,
        tracked: base.clone(),
        lagging: base.clone(),
        log: Log::default(),
    };
    match run {
        Run::Autocommit => {
            for step in case.steps.iter().enumerate() {
                r.step(&mut client, step, case, run)?;
            }
        }
        Run::Transaction => {
            let mut tx = client.transaction().expect("begin");
            for step in case.steps.iter().enumerate() {
                r.step(&mut tx, step, case, run)?;
            }
            if case.commit {
                tx.commit().expect("commit");
                r.log.0.push("COMMIT".into());
            } else {
                tx.rollback().expect("roll back");
                r.log.0.push("ROLLBACK".into());
            }
        }
    }
    let full = capture(&mut client, &r.options, &r.log)?;
    // A snapshot read inside a transaction that rolled back holds what the rollback undid:
    // nothing tells a refresh (a scan finds no newer row, the record lost its entries). Only
    // the first snapshot, taken before the transaction, is refreshed then.
    if run == Run::Autocommit || case.commit {
        let tracked = r.tracked.refresh_cached(&mut client, &mut r.cache);
        same("at the end", tracked, &full, &r.log)?;
        let lagging = r.lagging.refresh(&mut client);
        same("at the end, catching up", lagging, &full, &r.log)?;
    }
    same(
        "at the end, from the first snapshot",
        base.refresh(&mut client),
        &full,
        &r.log,
    )?;
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn refreshes_equal_full_captures_scanning(case in case()) {
        check(&case, Finding::Scan, Run::Autocommit)?;
    }

    #[test]
    fn refreshes_equal_full_captures_from_the_record(case in case()) {
        check(&case, Finding::Record, Run::Autocommit)?;
    }

    #[test]
    fn refreshes_in_a_transaction_equal_full_captures_scanning(case in case()) {
        check(&case, Finding::Scan, Run::Transaction)?;
    }

    #[test]
    fn refreshes_in_a_transaction_equal_full_captures_from_the_record(case in case()) {
        check(&case, Finding::Record, Run::Transaction)?;
    }
}

/// Examples: for each way of finding the changes, runs `setup`, takes a snapshot, then runs
/// each step and refreshes after it; panics with the diff at the first difference from a full
/// capture.
fn examples(setup: &str, steps: &[&str]) {
    for finding in [Finding::Scan, Finding::Record] {
        example(finding, setup, steps);
    }
}

fn example(finding: Finding, setup: &str, steps: &[&str]) {
    let db = TestDb::new();
    let mut client = db.client();
    role(&mut client);
    if finding == Finding::Record {
        assert!(record_changes(&mut client).expect("record changes"));
    }
    client.batch_execute(setup).expect("the setup");
    let options = SnapshotOptions::default();
    let mut tracked = TrackedSnapshot::capture(&mut client, &options).expect("capture");
    let mut log = Log::default();
    for sql in steps {
        let step = Step {
            sql: sql.to_string(),
            undone: false,
        };
        let outcome = client.batch_execute(sql);
        log.push(&step, outcome);
        let full = capture(&mut client, &options, &log).expect("capture");
        tracked = same(
            &format!("{finding:?}, after `{sql}`"),
            tracked.refresh(&mut client),
            &full,
            &log,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// A type's array type is renamed and moved with it: a column or an attribute of the array
/// type prints the new name. (From the record, which names only the type, its array type was
/// not followed: the table kept `public.mood[]`.)
#[test]
fn a_type_renamed_or_moved_is_read_again_where_its_array_type_is_named() {
    examples(
        "CREATE SCHEMA s;
         CREATE TYPE mood AS ENUM ('sad', 'ok');
         CREATE TABLE t (m mood[]);
         CREATE TYPE pair AS (x integer, moods mood[]);
         CREATE DOMAIN dom AS integer;
         CREATE TABLE u (d dom[])",
        &[
            "ALTER TYPE mood RENAME TO feeling",
            "ALTER TYPE feeling SET SCHEMA s",
            "ALTER DOMAIN dom RENAME TO small",
        ],
    );
}

/// A table's row type is renamed and moved with it: a column of the row type (or of its
/// array) and a function taking one print the new name. (From the record, which names only
/// the table, its row type was not followed.)
#[test]
fn a_table_renamed_or_moved_is_read_again_where_its_row_type_is_named() {
    examples(
        "CREATE SCHEMA s;
         CREATE TABLE t0 (id integer);
         CREATE TABLE t (r t0, rs t0[]);
         CREATE FUNCTION f(x t0) RETURNS integer LANGUAGE sql RETURN x.id",
        &["ALTER TABLE t0 RENAME TO t9", "ALTER TABLE t9 SET SCHEMA s"],
    );
}

/// A column's collation, a default's text search configuration, an index's operator class and
/// a view's operator print their names: renamed or moved, they are read again. (A scan did not
/// look at `pg_collation`, `pg_ts_config`, `pg_opclass` or `pg_operator`.)
#[test]
fn a_renamed_collation_configuration_operator_class_or_operator_is_read_again_where_named() {
    examples(
        "CREATE SCHEMA s;
         CREATE COLLATION c1 FROM \"C\";
         CREATE TEXT SEARCH CONFIGURATION cfg (COPY = english);
         CREATE OPERATOR CLASS my_ops FOR TYPE integer USING btree AS
             OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
             FUNCTION 1 btint4cmp(integer, integer);
         CREATE FUNCTION eq3(integer, integer) RETURNS boolean LANGUAGE sql IMMUTABLE
             RETURN $1 = $2;
         CREATE OPERATOR === (LEFTARG = integer, RIGHTARG = integer, FUNCTION = eq3);
         CREATE TABLE t (a integer, b text COLLATE c1,
                         v tsvector DEFAULT to_tsvector('cfg', 'x'));
         CREATE INDEX t_b ON t (b COLLATE c1 DESC);
         CREATE INDEX t_a ON t (a my_ops);
         CREATE VIEW w AS SELECT a === 1 AS x FROM t",
        &[
            "ALTER COLLATION c1 RENAME TO c2",
            "ALTER TEXT SEARCH CONFIGURATION cfg RENAME TO cfg2",
            "ALTER OPERATOR CLASS my_ops USING btree RENAME TO my_ops2",
            "ALTER OPERATOR CLASS my_ops2 USING btree SET SCHEMA s",
            "ALTER OPERATOR ===(integer, integer) SET SCHEMA s",
            "ALTER COLLATION c2 SET SCHEMA s",
        ],
    );
}

/// A role of this test's own, dropped at the end.
struct Role(String);

impl Drop for Role {
    fn drop(&mut self) {
        let db = TestDb::new();
        let _ = db.client().batch_execute(&format!(
            "DROP ROLE IF EXISTS {0}; DROP ROLE IF EXISTS {0}_renamed",
            self.0
        ));
    }
}

/// Grants print the grantee's name: a role renamed (in the shared catalogs: no row of the
/// database changes, and no event trigger fires) is printed with its new name by a full
/// capture, and a refresh must agree.
#[test]
fn a_renamed_role_is_read_again_where_it_is_granted() {
    let role = Role(format!("refresh_props_{}", std::process::id()));
    let name = &role.0;
    TestDb::new()
        .client()
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {name}_renamed; DROP ROLE IF EXISTS {name}; CREATE ROLE {name}"
        ))
        .expect("create the role");
    for finding in [Finding::Scan, Finding::Record] {
        example(
            finding,
            &format!("CREATE TABLE t (id integer); GRANT SELECT ON t TO {name}"),
            &[
                &format!("ALTER ROLE {name} RENAME TO {name}_renamed"),
                &format!("ALTER ROLE {name}_renamed RENAME TO {name}"),
            ],
        );
    }
}

/// A range type prints its multirange type's name: the multirange renamed or moved, the range
/// is read again. (A multirange was read again as itself, a root no snapshot holds.)
#[test]
fn a_renamed_multirange_type_is_read_again_in_its_range_type() {
    examples(
        "CREATE SCHEMA s;
         CREATE TYPE r AS RANGE (subtype = integer);
         CREATE TABLE u (x r_multirange, y r_multirange[])",
        &[
            "ALTER TYPE r_multirange RENAME TO m2",
            "ALTER TYPE m2 SET SCHEMA s",
            "ALTER TYPE r RENAME TO rr",
            "ALTER TYPE rr SET SCHEMA s",
        ],
    );
}

/// An identity column prints its sequence's options: changed (by `ALTER TABLE` or on the
/// sequence itself), the table is read again. (The sequence was read again as itself, a root
/// no snapshot holds: identity sequences belong to their column.)
#[test]
fn an_identity_sequence_changed_reads_its_table_again() {
    examples(
        "CREATE TABLE t (id integer GENERATED ALWAYS AS IDENTITY (START 5), b serial)",
        &[
            "ALTER TABLE t ALTER COLUMN id SET INCREMENT BY 3",
            "ALTER SEQUENCE t_id_seq MAXVALUE 1000",
            "ALTER SEQUENCE t_id_seq RENAME TO ids",
            "ALTER TABLE t ALTER COLUMN id RESTART WITH 7",
            "ALTER SEQUENCE t_b_seq INCREMENT BY 4",
        ],
    );
}
