//! Tables (plain, partitioned, partitions, unlogged, inheriting, typed) and their columns.
//!
//! Columns are listed in position order (`attnum`), dropped ones (`attisdropped`) left out.
//! An identity column carries its sequence's non-default options; the sequence itself is not
//! an object of its own.

use super::Scope;
use crate::schema::builder::{Builder, catalogs};
use crate::schema::error::{Reading, SnapshotError};
use crate::schema::queries::{Param, Queries};
use crate::schema::render::{ColumnParts, NotNull, SequenceOptions, default_not_null_name};
use postgres::GenericClient;
use std::collections::HashMap;

const TABLES: &str = "
SELECT c.oid,
       format('%I.%I', n.nspname, c.relname),
       c.relpersistence = 'u',
       (SELECT format('%I.%I', pn.nspname, p.relname)
          FROM pg_inherits i
          JOIN pg_class p ON p.oid = i.inhparent
          JOIN pg_namespace pn ON pn.oid = p.relnamespace
         WHERE i.inhrelid = c.oid AND c.relispartition),
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
       (SELECT string_agg(format('%I.%I', pn.nspname, p.relname), ', ' ORDER BY i.inhseqno)
          FROM pg_inherits i
          JOIN pg_class p ON p.oid = i.inhparent
          JOIN pg_namespace pn ON pn.oid = p.relnamespace
         WHERE i.inhrelid = c.oid AND NOT c.relispartition),
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
       CASE WHEN c.reloftype <> 0 THEN format_type(c.reloftype, NULL) END,
       NULLIF(am.amname, 'heap')::text,
       (SELECT string_agg(o, ', ' ORDER BY o) FROM unnest(c.reloptions) o),
       c.relrowsecurity,
       c.relforcerowsecurity,
       c.relreplident::text,
       (SELECT quote_ident(ic.relname)
          FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
         WHERE i.indrelid = c.oid AND i.indisreplident)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r', 'p')
  AND c.relnamespace = ANY ($1::oid[])
  AND c.oid <> $2::oid
  AND ($3::oid[] IS NULL OR c.oid = ANY ($3::oid[]))
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                    AND d.deptype = 'e')";

const COLUMNS: &str = "
SELECT a.attrelid,
       a.attname::text,
       quote_ident(a.attname),
       format_type(a.atttypid, a.atttypmod),
       CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::regcollation::text END,
       CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage::text END,
       NULLIF(a.attcompression::text, ''),
       a.attidentity::text,
       a.attgenerated::text,
       pg_get_expr(ad.adbin, ad.adrelid),
       a.attnotnull,
       NULLIF(a.attstattarget, -1)::int,
       format_type(s.seqtypid, NULL),
       s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN (pg_depend dep JOIN pg_sequence s ON s.seqrelid = dep.objid)
       ON a.attidentity <> ''
      AND dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass
      AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum AND dep.deptype = 'i'
WHERE a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p')
  AND c.relnamespace = ANY ($1::oid[])
  AND c.oid <> $2::oid
  AND ($3::oid[] IS NULL OR c.oid = ANY ($3::oid[]))
ORDER BY a.attrelid, a.attnum";

/// PostgreSQL 18 records NOT NULL in `pg_constraint` (contype `n`), with a name, a validated
/// flag (`NOT VALID` is new in 18) and `NO INHERIT`.
///
/// A partition's or child's NOT NULL constraints that it only inherits (`conislocal` false)
/// are named after the parent's when made with `PARTITION OF` or `INHERITS`, and keep their
/// own names when attached: implied by the parent's, they print as plain NOT NULL, as they do
/// on older versions (table constraints a table only inherits are left out the same way).
const NOT_NULL_CONSTRAINTS: &str = "
SELECT co.conrelid, a.attname::text, c.relname::text, co.conname::text, quote_ident(co.conname),
       co.convalidated, co.connoinherit, co.conislocal, co.oid,
       format('%I.%I', n.nspname, c.relname)
FROM pg_constraint co
JOIN pg_class c ON c.oid = co.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = co.conkey[1]
WHERE co.contype = 'n'
  AND c.relnamespace = ANY ($1::oid[])
  AND c.oid <> $2::oid
  AND ($3::oid[] IS NULL OR c.oid = ANY ($3::oid[]))";

const PG18: i32 = 180000;

/// Adds the tables, then their columns.
pub(super) fn read(
    client: &mut Queries<'_, impl GenericClient>,
    scope: &Scope,
    out: &mut Builder,
) -> Result<(), SnapshotError> {
    let tables = scope.tables();
    let params: [&dyn Param; 3] = [&scope.schemas, &scope.excluded, &tables];
    for row in client.query(TABLES, &params).reading("tables")? {
        let get = |i| -> Result<Option<String>, SnapshotError> { row.try_get(i).reading("tables") };
        let oid: u32 = row.try_get(0).reading("tables")?;
        let name: String = row.try_get(1).reading("tables")?;
        let unlogged: bool = row.try_get(2).reading("tables")?;
        let mut head = format!(
            "CREATE {}TABLE {name}",
            if unlogged { "UNLOGGED " } else { "" }
        );
        if let Some(of) = get(7)? {
            head.push_str(&format!(" OF {of}"));
        }
        let mut clauses = Vec::new();
        if let (Some(parent), Some(bound)) = (get(3)?, get(4)?) {
            clauses.push(format!("PARTITION OF {parent} {bound}"));
        }
        if let Some(parents) = get(5)? {
            clauses.push(format!("INHERITS ({parents})"));
        }
        if let Some(key) = get(6)? {
            clauses.push(format!("PARTITION BY {key}"));
        }
        if let Some(method) = get(8)? {
            clauses.push(format!("USING {method}"));
        }
        if let Some(options) = get(9)? {
            clauses.push(format!("WITH ({options})"));
        }
        let mut tail: String = clauses.iter().map(|c| format!("\n{c}")).collect();
        tail.push(';');
        let rls: bool = row.try_get(10).reading("tables")?;
        let forced: bool = row.try_get(11).reading("tables")?;
        if rls {
            tail.push_str(&format!("\nALTER TABLE {name} ENABLE ROW LEVEL SECURITY;"));
        }
        if forced {
            tail.push_str(&format!("\nALTER TABLE {name} FORCE ROW LEVEL SECURITY;"));
        }
        let identity = match (get(12)?.as_deref(), get(13)?) {
            (Some("f"), _) => Some("FULL".to_string()),
            (Some("n"), _) => Some("NOTHING".to_string()),
            (Some("i"), Some(index)) => Some(format!("USING INDEX {index}")),
            _ => None,
        };
        if let Some(identity) = identity {
            tail.push_str(&format!(
                "\nALTER TABLE {name} REPLICA IDENTITY {identity};"
            ));
        }
        let added = out.add_table(oid, name.clone(), head, tail);
        out.root(added, catalogs::PG_CLASS, oid);
        out.target(
            catalogs::PG_CLASS,
            oid,
            added,
            format!("TABLE {name}"),
            Some(format!("TABLE {name}")),
            &name,
        );
    }
    let not_null = if scope.version >= PG18 {
        not_null_constraints(client, scope, out)?
    } else {
        HashMap::new()
    };
    for row in client.query(COLUMNS, &params).reading("columns")? {
        let r = |i| -> Result<Option<String>, SnapshotError> { row.try_get(i).reading("columns") };
        let table: u32 = row.try_get(0).reading("columns")?;
        let name: String = row.try_get(1).reading("columns")?;
        let identity_sequence = match r(12)? {
            Some(data_type) => Some(SequenceOptions {
                data_type,
                start: row.try_get(13).reading("columns")?,
                increment: row.try_get(14).reading("columns")?,
                min: row.try_get(15).reading("columns")?,
                max: row.try_get(16).reading("columns")?,
                cache: row.try_get(17).reading("columns")?,
                cycle: row.try_get(18).reading("columns")?,
            }),
            None => None,
        };
        let parts = ColumnParts {
            name: row.try_get(2).reading("columns")?,
            data_type: row.try_get(3).reading("columns")?,
            collation: r(4)?,
            storage: r(5)?,
            compression: r(6)?,
            identity: row.try_get(7).reading("columns")?,
            identity_sequence,
            generated: row.try_get(8).reading("columns")?,
            expression: r(9)?,
            not_null: row.try_get(10).reading("columns")?,
            not_null_constraint: not_null.get(&(table, name.clone())).cloned(),
            statistics: row.try_get(11).reading("columns")?,
        };
        out.column(table, name, parts.line());
    }
    Ok(())
}

/// PostgreSQL 18's NOT NULL constraints, by (table OID, column name). Each is registered for
/// the comments on it (`COMMENT ON CONSTRAINT name ON table`, in its table's text).
fn not_null_constraints(
    client: &mut Queries<'_, impl GenericClient>,
    scope: &Scope,
    out: &mut Builder,
) -> Result<HashMap<(u32, String), NotNull>, SnapshotError> {
    let mut found = HashMap::new();
    for row in client
        .query(
            NOT_NULL_CONSTRAINTS,
            &[&scope.schemas, &scope.excluded, &scope.tables()],
        )
        .reading("not-null constraints")?
    {
        let get =
            |i| -> Result<String, SnapshotError> { row.try_get(i).reading("not-null constraints") };
        let table: u32 = row.try_get(0).reading("not-null constraints")?;
        let column = get(1)?;
        let local: bool = row.try_get(7).reading("not-null constraints")?;
        let named = local && get(3)? != default_not_null_name(&get(2)?, &column);
        let constraint = NotNull {
            name: named.then(|| get(4)).transpose()?,
            validated: row.try_get(5).reading("not-null constraints")?,
            no_inherit: row.try_get(6).reading("not-null constraints")?,
        };
        if let Some(added) = out.table(table) {
            let oid: u32 = row.try_get(8).reading("not-null constraints")?;
            let qualified = get(9)?;
            out.target(
                catalogs::PG_CONSTRAINT,
                oid,
                added,
                format!("CONSTRAINT {} ON {qualified}", get(4)?),
                None,
                &qualified,
            );
        }
        found.insert((table, column), constraint);
    }
    Ok(found)
}
