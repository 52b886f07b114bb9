//! What changed since a mark: the roots (relations, types, routines) to read again for a
//! refresh, found in one query.
//!
//! When the session records its schema changes ([`record_changes`]), the changed objects are
//! the ones the record names since its last entry seen, and dropped ones are gone: the query
//! costs what changed. Otherwise (and for a command the record cannot name the objects of,
//! such as `GRANT`) the catalogs are scanned, as follows.
//!
//! [`record_changes`]: crate::schema::record_changes
//!
//! Every catalog row a transaction writes carries its transaction id (`xmin`). A row written
//! at or after the mark belongs to an object that was created or changed, and that object's
//! root is read again. What a row's removal changes is found another way: a dropped root no
//! longer exists; a removed comment or sequence ownership (rows without an OID of their own)
//! is missing from the sets a refresh compares. Objects that print the name of a changed one
//! (a view of a renamed table, a foreign key to it, a column of a renamed type) depend on it
//! in `pg_depend`, and are read again with it. A changed schema or extension is read in full.
//!
//! Collations, text search configurations, operator classes and operators are no objects of
//! a snapshot, but columns, indexes, defaults and views print their names: a changed one is
//! scanned for too, and what depends on it read again.
//!
//! Only roots a snapshot can hold are read again: not a TOAST table (its index is touched by
//! `VACUUM FULL`), not an array type (renamed with its element type, which is).
//!
//! Objects a migration can create or change have OIDs from 16384 (`FirstNormalObjectId`) on,
//! so only those rows are read (by index), not the thousands of built-in ones; schemas and
//! extensions are the exception (`public` is made by initdb).
//!
//! VACUUM and ANALYZE update `pg_class` in place, without a new `xmin`, and freezing makes a
//! row older, never newer: neither marks anything as changed.

use super::super::builder::CatalogId;
use crate::engine::HistoryTable;
use crate::schema::error::{Reading, SnapshotError};
use crate::schema::queries::{CatalogRow, Param, Queries};
use postgres::{GenericClient, SimpleQueryRow};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

/// The queries, built once.
static SCANNING: LazyLock<String> = LazyLock::new(|| sql(Source::Scan));
static FROM_RECORD: LazyLock<String> = LazyLock::new(|| sql(Source::Record));

/// The root of a catalog object `({cat}, {oid})`: a relation (`pg_class`), a type (`pg_type`)
/// or a routine (`pg_proc`); schemas and extensions stand for themselves.
fn root_of(cat: &str, oid: &str) -> String {
    format!(
        "SELECT r.catalog, r.oid FROM (
    SELECT 1259::oid AS catalog,
           CASE WHEN c.relkind IN ('i', 'I') THEN ix.indrelid ELSE c.oid END AS oid
      FROM pg_class c LEFT JOIN pg_index ix ON ix.indexrelid = c.oid
     WHERE {cat} = 1259 AND c.oid = {oid} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'i', 'I')
    UNION ALL
    SELECT 1247, c.reltype FROM pg_class c
     WHERE {cat} = 1259 AND c.oid = {oid} AND c.relkind = 'c'
    UNION ALL
    -- An identity column's sequence: its options print on the column.
    SELECT 1259, d.refobjid FROM pg_depend d
     WHERE {cat} = 1259 AND d.classid = 1259 AND d.objid = {oid} AND d.refclassid = 1259
       AND d.deptype = 'i'
    UNION ALL
    SELECT CASE WHEN co.conrelid <> 0 THEN 1259 ELSE 1247 END::oid,
           CASE WHEN co.conrelid <> 0 THEN co.conrelid ELSE co.contypid END
      FROM pg_constraint co WHERE {cat} = 2606 AND co.oid = {oid}
    UNION ALL
    SELECT 1259, t.tgrelid FROM pg_trigger t WHERE {cat} = 2620 AND t.oid = {oid}
    UNION ALL
    SELECT 1259, p.polrelid FROM pg_policy p WHERE {cat} = 3256 AND p.oid = {oid}
    UNION ALL
    SELECT 1259, w.ev_class FROM pg_rewrite w WHERE {cat} = 2618 AND w.oid = {oid}
    UNION ALL
    SELECT 1259, d.adrelid FROM pg_attrdef d WHERE {cat} = 2604 AND d.oid = {oid}
    UNION ALL
    SELECT CASE WHEN t.typtype = 'c' AND rc.relkind <> 'c' THEN 1259 ELSE 1247 END::oid,
           CASE WHEN t.typtype = 'c' AND rc.relkind <> 'c' THEN t.typrelid ELSE t.oid END
      FROM pg_type t LEFT JOIN pg_class rc ON rc.oid = t.typrelid
     WHERE {cat} = 1247 AND t.oid = {oid}
    UNION ALL
    -- A multirange type's range type prints its name.
    SELECT 1247, rg.rngtypid FROM pg_range rg WHERE {cat} = 1247 AND rg.rngmultitypid = {oid}
    UNION ALL
    SELECT 1255, {oid} WHERE {cat} = 1255
    UNION ALL
    SELECT {cat}, {oid} WHERE {cat} IN (2615, 3079)
) r"
    )
}

/// What a refresh reads to find the changes: the catalogs (every user row, for a transaction
/// id at or after the mark), or the session's record of its schema changes
/// ([`record_changes`](crate::schema::record_changes)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Scan,
    Record,
}

/// The catalog rows written at or after the mark (`$1`, in the CTE `mark`), as
/// `(catalog, oid)` of the object they belong to.
const SCAN: &str = "SELECT 1259::oid, c.oid FROM pg_class c, mark
     WHERE c.oid >= 16384 AND age(c.xmin) <= mark.age
    UNION SELECT 1259, a.attrelid FROM pg_attribute a, mark
     WHERE a.attrelid >= 16384 AND age(a.xmin) <= mark.age
    UNION SELECT 2604, d.oid FROM pg_attrdef d, mark
     WHERE d.oid >= 16384 AND age(d.xmin) <= mark.age
    UNION SELECT 2606, co.oid FROM pg_constraint co, mark
     WHERE co.oid >= 16384 AND age(co.xmin) <= mark.age
    UNION SELECT 1259, i.indexrelid FROM pg_index i, mark
     WHERE i.indexrelid >= 16384 AND age(i.xmin) <= mark.age
    UNION SELECT 2620, t.oid FROM pg_trigger t, mark
     WHERE t.oid >= 16384 AND age(t.xmin) <= mark.age
    UNION SELECT 3256, p.oid FROM pg_policy p, mark
     WHERE p.oid >= 16384 AND age(p.xmin) <= mark.age
    UNION SELECT 2618, w.oid FROM pg_rewrite w, mark
     WHERE w.oid >= 16384 AND age(w.xmin) <= mark.age
    UNION SELECT 1259, s.seqrelid FROM pg_sequence s, mark
     WHERE s.seqrelid >= 16384 AND age(s.xmin) <= mark.age
    UNION SELECT 1259, i.inhrelid FROM pg_inherits i, mark WHERE age(i.xmin) <= mark.age
    UNION SELECT 1259, i.inhparent FROM pg_inherits i, mark WHERE age(i.xmin) <= mark.age
    UNION SELECT 1259, p.partrelid FROM pg_partitioned_table p, mark
     WHERE age(p.xmin) <= mark.age
    UNION SELECT 1247, t.oid FROM pg_type t, mark
     WHERE t.oid >= 16384 AND age(t.xmin) <= mark.age
    UNION SELECT 1247, e.enumtypid FROM pg_enum e, mark
     WHERE e.oid >= 16384 AND age(e.xmin) <= mark.age
    UNION SELECT 1247, r.rngtypid FROM pg_range r, mark
     WHERE r.rngtypid >= 16384 AND age(r.xmin) <= mark.age
    UNION SELECT 1255, p.oid FROM pg_proc p, mark
     WHERE p.oid >= 16384 AND age(p.xmin) <= mark.age
    UNION SELECT 1255, a.aggfnoid FROM pg_aggregate a, mark
     WHERE a.aggfnoid >= 16384 AND age(a.xmin) <= mark.age
    UNION SELECT 3456, c.oid FROM pg_collation c, mark
     WHERE c.oid >= 16384 AND age(c.xmin) <= mark.age
    UNION SELECT 3602, c.oid FROM pg_ts_config c, mark
     WHERE c.oid >= 16384 AND age(c.xmin) <= mark.age
    UNION SELECT 2616, c.oid FROM pg_opclass c, mark
     WHERE c.oid >= 16384 AND age(c.xmin) <= mark.age
    UNION SELECT 2617, o.oid FROM pg_operator o, mark
     WHERE o.oid >= 16384 AND age(o.xmin) <= mark.age
    UNION SELECT d.classoid, d.objoid FROM pg_description d, mark
     WHERE d.objoid >= 16384 AND age(d.xmin) <= mark.age
    UNION SELECT d.classoid, d.objoid
      FROM pg_namespace n JOIN pg_description d ON d.objoid = n.oid AND d.classoid = 2615, mark
     WHERE n.oid < 16384 AND age(d.xmin) <= mark.age
    UNION SELECT d.classid, d.objid FROM pg_depend d, mark
     WHERE d.classid = 1259 AND d.objid >= 16384 AND d.deptype = 'a'
       AND age(d.xmin) <= mark.age
    UNION SELECT 2615, n.oid FROM pg_namespace n, mark WHERE age(n.xmin) <= mark.age
    UNION SELECT 3079, e.oid FROM pg_extension e, mark WHERE age(e.xmin) <= mark.age";

/// The known objects that no longer exist, from the lists of the last snapshot.
const GONE_KNOWN: &str = "SELECT 1259::oid, o FROM unnest($2::oid[]) o
     WHERE NOT EXISTS (SELECT FROM pg_class WHERE oid = o)
    UNION ALL SELECT 1247, o FROM unnest($3::oid[]) o
     WHERE NOT EXISTS (SELECT FROM pg_type WHERE oid = o)
    UNION ALL SELECT 1255, o FROM unnest($4::oid[]) o
     WHERE NOT EXISTS (SELECT FROM pg_proc WHERE oid = o)
    UNION ALL SELECT 2606, o FROM unnest($5::oid[]) o
     WHERE NOT EXISTS (SELECT FROM pg_constraint WHERE oid = o)
    UNION ALL SELECT 2620, o FROM unnest($6::oid[]) o
     WHERE NOT EXISTS (SELECT FROM pg_trigger WHERE oid = o)
    UNION ALL SELECT 3256, o FROM unnest($7::oid[]) o
     WHERE NOT EXISTS (SELECT FROM pg_policy WHERE oid = o)
    UNION ALL SELECT 2615, o FROM unnest($8::oid[]) o
     WHERE NOT EXISTS (SELECT FROM pg_namespace WHERE oid = o)
    UNION ALL SELECT 3079, o FROM unnest($9::oid[]) o
     WHERE NOT EXISTS (SELECT FROM pg_extension WHERE oid = o)";

/// The query. Parameters: `$1` the mark (an xid, as text); scanning, then the OIDs the
/// snapshot being refreshed knows, by catalog: `$2` relations (tables, views, sequences,
/// indexes), `$3` types, `$4` routines, `$5` constraints, `$6` triggers, `$7` policies, `$8`
/// schemas, `$9` extensions, and `$10`, `$11` the schema and name of the table left out;
/// from the record, `$2`, `$3` the table left out and `$4` the last entry already seen.
///
/// Rows: `('mark', 0, 0, 0)` with the next mark as text in column 4 (and from the record,
/// `('logged', 0, 0, 0)` with its last entry); `('root', catalog, oid)` for each root to read
/// again, with its `relkind` for a relation; `('excluded', oid)` for the table left out, when it
/// exists; `('gone', catalog, oid)` for each known object that no longer exists; `('full',
/// ...)` when a schema or extension changed; `('roles', 0, 0, 0, list)`, every role of the
/// server as `oid:name` ([`Seen::roles`]); `('present', 0, 0, 0, kinds)`, the letters of
/// the kinds of objects the database has any of (`t` triggers, `p` policies, `c` comments on
/// user objects, `g` privileges; triggers and privileges only among the roots to read again,
/// looked up by index one root at a time (a scalar subquery the planner cannot turn into a
/// join: as a join, the generic plan scans every trigger and type, O(schema), where the
/// foreign keys' triggers alone are four per key)); scanning, `('comment', classoid, objoid,
/// objsubid)` and `('owned', sequence, table, column)` for every comment and sequence
/// ownership.
///
/// From the record, the changes are the objects its rows name: created or changed, and a
/// dropped part (a column) of an object; dropped objects are gone. A row that names no object
/// (a `GRANT`, a `DROP OWNED`) calls for a scan as well (`('rescan', 0, 0, 0)`; a `DROP`
/// command's own row names none, but its `sql_drop` rows do), and so does an `ALTER TABLE` of
/// a partitioned table: a partition it detached is named nowhere. The scan is the other query,
/// run only then ([`read`]): inside this one, its twenty-odd branches would be prepared at
/// every execution, run or not.
///
/// What is read again: each changed object's root; the parents of a changed relation (they
/// list their partitions); then, recursively, what depends on something read again (in
/// `pg_depend`, looked up one object at a time by index), the children of a relation read
/// again (a column added to a parent is added to them), and what depends on the row type of
/// a relation or the array type of a type read again (the record names only the relation or
/// the type, and those go with it, by an internal dependency).
fn sql(source: Source) -> String {
    let touched_root = root_of("x.catalog", "x.oid");
    let affected_root = root_of("a.catalog", "a.oid");
    let scan = source == Source::Scan;
    let excluded = if scan {
        "$10 AND c.relname = $11"
    } else {
        "$2 AND c.relname = $3"
    };
    let changes = if scan {
        format!(
            "touched (catalog, oid) AS ({SCAN}),
gone (catalog, oid) AS ({GONE_KNOWN}),"
        )
    } else {
        "logged AS MATERIALIZED (
    SELECT l.tag, l.classid, l.objid, l.objsubid, l.dropped
      FROM pg_temp.migrate_schema_changes l
     -- Both bounds: the generic plan then estimates a few rows and reads them by the
     -- primary key, where `id > $4` alone (a third of the table, by default) scans every
     -- entry ever recorded, at every refresh: quadratic over a long replay.
     WHERE l.id > $4 AND l.id <= $4 + 4611686018427387904
),
touched (catalog, oid) AS (
    SELECT classid, objid FROM logged
     WHERE classid IS NOT NULL AND (NOT dropped OR objsubid <> 0)
),
gone (catalog, oid) AS (
    SELECT classid, objid FROM logged WHERE dropped AND objsubid = 0
),"
        .to_string()
    };
    let seen = if scan {
        "
UNION ALL
SELECT 'comment', d.classoid, d.objoid, d.objsubid, NULL FROM pg_description d
 WHERE d.objoid >= 16384
UNION ALL
SELECT 'comment', d.classoid, d.objoid, d.objsubid, NULL
  FROM pg_namespace n JOIN pg_description d ON d.objoid = n.oid AND d.classoid = 2615
 WHERE n.oid < 16384
UNION ALL
SELECT 'owned', d.objid, d.refobjid, d.refobjsubid, NULL
  FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
 WHERE d.classid = 1259 AND d.objid >= 16384 AND d.refclassid = 1259 AND d.deptype = 'a'
   AND c.relkind = 'S'"
    } else {
        "
UNION ALL
SELECT 'logged', 0, 0, 0, (SELECT coalesce(max(id), 0) FROM pg_temp.migrate_schema_changes)::text
UNION ALL
SELECT 'rescan', 0, 0, 0, NULL
 WHERE EXISTS (SELECT FROM logged WHERE classid IS NULL AND NOT dropped
                                    AND (tag NOT LIKE 'DROP %' OR tag = 'DROP OWNED'))
    OR EXISTS (SELECT FROM logged l JOIN pg_class c ON c.oid = l.objid
                WHERE l.classid = 1259 AND l.tag = 'ALTER TABLE' AND c.relkind = 'p')"
    };
    format!(
        "WITH RECURSIVE
mark AS (SELECT age($1::text::xid) AS age),
{changes}
touched_roots (catalog, oid) AS (
    SELECT x.catalog, x.oid FROM touched x WHERE x.catalog NOT IN (2615, 3079)
    UNION
    SELECT r.catalog, r.oid FROM touched x, LATERAL ({touched_root}) r
     WHERE x.catalog NOT IN (2615, 3079)
),
affected (catalog, oid) AS (
    SELECT t.catalog, t.oid FROM touched_roots t
    UNION
    SELECT 1259, i.inhparent FROM touched_roots t JOIN pg_inherits i ON i.inhrelid = t.oid
     WHERE t.catalog = 1259
    UNION
    SELECT n.catalog, n.oid FROM affected a, LATERAL (
        SELECT d.classid, d.objid FROM pg_depend d
         WHERE d.refclassid = a.catalog AND d.refobjid = a.oid
           AND d.deptype IN ('n', 'a') AND d.classid NOT IN (2615, 3079)
        UNION ALL
        SELECT 1259, i.inhrelid FROM pg_inherits i
         WHERE a.catalog = 1259 AND i.inhparent = a.oid
        UNION ALL
        -- A relation's row type and a type's array type, renamed and moved with it: what
        -- prints them (a column of `t[]`, a function taking a `t`) depends on them, not on it.
        SELECT 1247, c.reltype FROM pg_class c
         WHERE a.catalog = 1259 AND c.oid = a.oid AND c.reltype <> 0
        UNION ALL
        SELECT 1247, t.typarray FROM pg_type t
         WHERE a.catalog = 1247 AND t.oid = a.oid AND t.typarray <> 0
        OFFSET 0
    ) n (catalog, oid)
),
roots (catalog, oid) AS (
    SELECT r.catalog, r.oid FROM affected a, LATERAL ({affected_root}) r
     WHERE r.catalog = 1255
        OR (r.catalog = 1259 AND EXISTS (SELECT FROM pg_class c WHERE c.oid = r.oid
                                           AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')))
        OR (r.catalog = 1247 AND EXISTS (SELECT FROM pg_type t WHERE t.oid = r.oid
                                           AND t.typtype IN ('c', 'd', 'e', 'r')))
)
SELECT 'mark', 0::oid, 0::oid, 0,
       least(pg_current_xact_id_if_assigned(), pg_snapshot_xmax(pg_current_snapshot()))::text
UNION ALL
SELECT 'full', 0, 0, 0, NULL
 WHERE EXISTS (SELECT FROM touched WHERE catalog IN (2615, 3079))
    OR EXISTS (SELECT FROM gone WHERE catalog IN (2615, 3079))
UNION ALL
SELECT 'root', r.catalog, r.oid, 0, (SELECT c.relkind::text FROM pg_class c WHERE c.oid = r.oid)
  FROM (SELECT DISTINCT catalog, oid FROM roots) r
UNION ALL
SELECT 'excluded', c.oid, 0, 0, NULL FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = {excluded}
UNION ALL
SELECT 'gone', catalog, oid, 0, NULL FROM gone WHERE catalog NOT IN (2615, 3079)
UNION ALL
SELECT 'roles', 0, 0, 0,
       (SELECT string_agg(r.oid::text || ':' || r.rolname, ',' ORDER BY r.oid)
          FROM pg_catalog.pg_roles r)
UNION ALL
SELECT 'present', 0, 0, 0,
       concat(CASE WHEN EXISTS (SELECT FROM roots r WHERE r.catalog = 1259 AND (
                                   SELECT true FROM pg_trigger t WHERE t.tgrelid = r.oid
                                      AND NOT t.tgisinternal AND t.tgparentid = 0 LIMIT 1))
                   THEN 't' END,
              CASE WHEN EXISTS (SELECT FROM pg_policy) THEN 'p' END,
              CASE WHEN EXISTS (SELECT FROM pg_description d WHERE d.objoid >= 16384)
                   THEN 'c' END,
              CASE WHEN EXISTS (SELECT FROM roots r WHERE r.catalog = 1259 AND (
                                   SELECT c.relacl IS NOT NULL FROM pg_class c
                                    WHERE c.oid = r.oid))
                     OR EXISTS (SELECT FROM roots r WHERE r.catalog = 1259 AND (
                                   SELECT true FROM pg_attribute a WHERE a.attrelid = r.oid
                                      AND a.attacl IS NOT NULL LIMIT 1))
                     OR EXISTS (SELECT FROM roots r WHERE r.catalog = 1247 AND (
                                   SELECT t.typacl IS NOT NULL FROM pg_type t
                                    WHERE t.oid = r.oid))
                     OR EXISTS (SELECT FROM roots r WHERE r.catalog = 1255 AND (
                                   SELECT p.proacl IS NOT NULL FROM pg_proc p
                                    WHERE p.oid = r.oid))
                   THEN 'g' END){seen}"
    )
}

/// A comment's or a sequence ownership's key: `(catalog or sequence, object, sub-object)`.
pub(crate) type Key = (u32, u32, i32);

/// What a snapshot saw of the rows that have no OID of their own: every comment and every
/// sequence ownership, so that a refresh notices one that was removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    /// `(classoid, objoid, objsubid)` of each comment on a user object.
    pub comments: BTreeSet<Key>,
    /// `(sequence, table, column)` of each sequence owned by a column.
    pub owned: BTreeSet<Key>,
    /// Every role of the server, `oid:name`, in OID order. Grants and policies print role
    /// names, and roles are the server's: renaming one changes no row of this database and
    /// fires no event trigger, so a change here means a full read.
    pub roles: Option<String>,
}

/// What changed since a mark.
#[derive(Debug, Clone, Default)]
pub(crate) struct Changes {
    /// Where to refresh from next time.
    pub mark: Mark,
    /// A schema or an extension changed: read everything.
    pub full: bool,
    /// The roots to read again, with the `relkind` of relations.
    pub roots: BTreeMap<CatalogId, Option<String>>,
    /// The OID of the table left out (0: none).
    pub excluded: u32,
    /// Known objects that no longer exist.
    pub gone: BTreeSet<CatalogId>,
    /// The comments and sequence ownerships now.
    pub seen: Seen,
    /// Which kinds of objects exist at all: a refresh skips the readers of the others.
    pub present: Present,
    /// The record names a change but not its object (a `GRANT`): scan as well.
    rescan: bool,
}

/// Kinds of objects that hang on relations and that many databases have none of: when none
/// exists, a refresh need not look for them (one query each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Present {
    /// Triggers of the user's own (not a foreign key's, not a partition's clone) on the
    /// relations the change query names (a refresh adds those of the last snapshot: see
    /// `TrackedSnapshot::only`).
    pub triggers: bool,
    /// Row level security policies.
    pub policies: bool,
    /// Comments on user objects (not on schemas: a changed schema means a full read).
    pub comments: bool,
    /// Privileges (an ACL, even the default one) on the roots the change query names (a
    /// refresh adds those of the last snapshot: see `TrackedSnapshot::only`).
    pub grants: bool,
}

impl Default for Present {
    /// All of them: nothing is skipped unless the database was asked.
    fn default() -> Self {
        Present {
            triggers: true,
            policies: true,
            comments: true,
            grants: true,
        }
    }
}

impl Present {
    /// Either's kinds.
    fn or(self, other: Present) -> Present {
        Present {
            triggers: self.triggers || other.triggers,
            policies: self.policies || other.policies,
            comments: self.comments || other.comments,
            grants: self.grants || other.grants,
        }
    }

    /// From the query's letters (`t`, `p`, `c`, `g`).
    fn from_letters(letters: &str) -> Present {
        Present {
            triggers: letters.contains('t'),
            policies: letters.contains('p'),
            comments: letters.contains('c'),
            grants: letters.contains('g'),
        }
    }
}

/// Where a refresh starts from: changes at or after it are not in the snapshot yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Mark {
    /// The next transaction id (as text: a 64-bit xid), or the session's own transaction's
    /// when it has written (its later writes carry that id).
    pub xid: String,
    /// With a record of the session's schema changes, its last entry already seen; `None`
    /// (no record): refreshes scan the catalogs.
    pub recorded: Option<i64>,
}

/// Reads what changed since `mark` in a database whose last snapshot knew these catalog
/// objects (the objects comments and grants can name, schemas and extensions). With a record
/// (`mark.recorded`), the record must still exist.
///
/// `sent`: the rows of the record's query ([`ahead`]) when the caller ran it already, in the
/// round trip of what it ran before.
pub(crate) fn read(
    client: &mut Queries<'_, impl GenericClient>,
    mark: &Mark,
    known: &[CatalogId],
    excluded: Option<&HistoryTable>,
    sent: Option<&[SimpleQueryRow]>,
) -> Result<Changes, SnapshotError> {
    let xid = xid32(&mark.xid);
    let (schema, table) = (excluded.map(|t| &t.schema), excluded.map(|t| &t.table));
    let Some(last) = mark.recorded else {
        return scan(client, &xid, known, (&schema, &table));
    };
    let mut changes = match sent.and_then(parse_text) {
        Some(changes) => changes,
        None => parse(client.query(&FROM_RECORD, &[&xid, &schema, &table, &last]))?,
    };
    if changes.rescan {
        // What the scan finds as well. Its comments and sequence ownerships are not kept: the
        // record names the object of a removed one, and the next refresh compares none.
        let scanned = scan(client, &xid, known, (&schema, &table))?;
        changes.full |= scanned.full;
        changes.roots.extend(scanned.roots);
        changes.gone.extend(scanned.gone);
        changes.present = changes.present.or(scanned.present);
    }
    Ok(changes)
}

/// The changes found by scanning the catalogs ([`SCANNING`]).
fn scan(
    client: &mut Queries<'_, impl GenericClient>,
    xid: &String,
    known: &[CatalogId],
    (schema, table): (&Option<&String>, &Option<&String>),
) -> Result<Changes, SnapshotError> {
    let of = |catalog: u32| -> Vec<u32> {
        known
            .iter()
            .filter(|(c, _)| *c == catalog)
            .map(|(_, o)| *o)
            .collect()
    };
    let lists: Vec<Vec<u32>> = [1259, 1247, 1255, 2606, 2620, 3256, 2615, 3079]
        .into_iter()
        .map(of)
        .collect();
    let mut params: Vec<&dyn Param> = vec![xid];
    params.extend(lists.iter().map(|l| l as &dyn Param));
    params.push(schema);
    params.push(table);
    parse(client.query(&SCANNING, &params))
}

/// The changes from the rows of either query.
fn parse(rows: Result<Vec<CatalogRow>, postgres::Error>) -> Result<Changes, SnapshotError> {
    let mut changes = Changes::default();
    for row in rows.reading("changes")? {
        let tag: String = row.try_get(0).reading("changes")?;
        let a: u32 = row.try_get(1).reading("changes")?;
        let b: u32 = row.try_get(2).reading("changes")?;
        let c: i32 = row.try_get(3).reading("changes")?;
        let text: Option<String> = row.try_get(4).reading("changes")?;
        changes.add(&tag, (a, b, c), text);
    }
    Ok(changes)
}

/// The changes from the record's query run as SQL ([`ahead`]): its rows as text. `None`
/// when they cannot be read (the caller runs the query itself).
fn parse_text(rows: &[SimpleQueryRow]) -> Option<Changes> {
    let mut changes = Changes::default();
    for row in rows {
        let oid = |i| row.get(i)?.parse::<u32>().ok();
        let (a, b) = (oid(1)?, oid(2)?);
        let c = row.get(3)?.parse::<i32>().ok()?;
        changes.add(row.get(0)?, (a, b, c), row.get(4).map(str::to_string));
    }
    // A result always has its marks.
    (changes.mark.recorded.is_some() && !changes.mark.xid.is_empty()).then_some(changes)
}

impl Changes {
    /// One row of the change query: its tag, the three numbers and the text.
    fn add(&mut self, tag: &str, (a, b, c): (u32, u32, i32), text: Option<String>) {
        match tag {
            "mark" => self.mark.xid = text.unwrap_or_default(),
            "logged" => self.mark.recorded = Some(text.and_then(|t| t.parse().ok()).unwrap_or(0)),
            "rescan" => self.rescan = true,
            "full" => self.full = true,
            "root" => {
                self.roots.insert((a, b), text);
            }
            "excluded" => self.excluded = a,
            "roles" => self.seen.roles = text,
            "present" => self.present = Present::from_letters(&text.unwrap_or_default()),
            "gone" => {
                self.gone.insert((a, b));
            }
            "comment" => {
                self.seen.comments.insert((a, b, c));
            }
            _ => {
                self.seen.owned.insert((a, b, c));
            }
        }
    }
}

/// Prepares the record's change query on the session as SQL (`PREPARE`), so that a caller can
/// run it (`EXECUTE`, [`ahead`]) in the round trip of what it runs before a refresh. Returns
/// its name. Prepared with a refresh's `search_path` (empty), which its executions run with:
/// a statement prepared with another is analysed again at every execution.
pub(crate) fn prepare_ahead(client: &mut impl GenericClient) -> Result<String, SnapshotError> {
    let name = crate::schema::queries::sql_statement_name("changes");
    client
        .batch_execute(&format!(
            "SET search_path = ''; PREPARE {name} AS {}; RESET search_path",
            *FROM_RECORD
        ))
        .reading("preparing the change query")?;
    Ok(name)
}

/// The record's change query since `mark` as SQL (an `EXECUTE` of what [`prepare_ahead`]
/// prepared as `name`), to run after a refresh's settings; its rows go to [`read`]. `None`
/// without a record.
pub(crate) fn ahead(name: &str, mark: &Mark, excluded: Option<&HistoryTable>) -> Option<String> {
    let last = mark.recorded?;
    let literal = |s: Option<&String>| s.literal().unwrap_or_default();
    Some(format!(
        "EXECUTE {name}('{}', {}, {}, {last})",
        xid32(&mark.xid),
        literal(excluded.map(|t| &t.schema)),
        literal(excluded.map(|t| &t.table)),
    ))
}

/// The mark of a capture, as text: the next transaction id to be assigned, or the session's
/// own transaction's when it has written (its later writes carry that id); with a record of
/// the session's schema changes, its last entry too. A transaction of another session already
/// running and committing later is not seen: refreshes are for a database this session alone
/// changes.
pub(crate) fn mark(
    client: &mut Queries<'_, impl GenericClient>,
    recording: bool,
) -> Result<Mark, SnapshotError> {
    let xid =
        "least(pg_current_xact_id_if_assigned(), pg_snapshot_xmax(pg_current_snapshot()))::text";
    if recording {
        let row = client
            .query_one(
                &format!(
                    "SELECT {xid}, (SELECT coalesce(max(id), 0) FROM pg_temp.migrate_schema_changes)"
                ),
                &[],
            )
            .reading("the transaction id")?;
        Ok(Mark {
            xid: row.try_get(0).reading("the transaction id")?,
            recorded: Some(row.try_get(1).reading("the transaction id")?),
        })
    } else {
        let row = client
            .query_one(&format!("SELECT {xid}"), &[])
            .reading("the transaction id")?;
        Ok(Mark {
            xid: row.try_get(0).reading("the transaction id")?,
            recorded: None,
        })
    }
}

/// A 64-bit transaction id (epoch and xid) as the 32-bit xid `age()` takes, as text.
fn xid32(mark: &str) -> String {
    mark.parse::<u64>()
        .map_or_else(|_| "3".to_string(), |x| (x % (1 << 32)).to_string())
}

#[cfg(test)]
mod tests {
    use super::{Mark, ahead};
    use crate::engine::HistoryTable;

    #[test]
    fn the_change_query_sent_ahead_quotes_the_table_left_out_whatever_the_string_setting() {
        let mark = Mark {
            xid: "4294967301".into(),
            recorded: Some(7),
        };
        let table = HistoryTable {
            schema: "it's".into(),
            table: r"back\slash".into(),
        };
        assert_eq!(
            ahead("q", &mark, Some(&table)).as_deref(),
            Some(r"EXECUTE q('5', E'it''s', E'back\\slash', 7)")
        );
        assert_eq!(
            ahead("q", &mark, None).as_deref(),
            Some("EXECUTE q('5', NULL, NULL, 7)")
        );
        let scanning = Mark {
            recorded: None,
            ..mark
        };
        assert_eq!(ahead("q", &scanning, None), None);
    }
}
