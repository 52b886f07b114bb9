//! Indexes, as `pg_get_indexdef` prints them, and whether they are valid (a failed
//! `CREATE INDEX CONCURRENTLY` leaves an invalid one). Indexes that implement a primary key,
//! unique or exclusion constraint are printed by their constraint; the partitions of a
//! partitioned index are implied by it and left out.

use super::Scope;
use crate::schema::builder::{Builder, catalogs};
use crate::schema::error::{Reading, SnapshotError};
use crate::schema::object::ObjectKind;
use crate::schema::queries::Queries;
use postgres::GenericClient;

const SQL: &str = "
SELECT i.indexrelid,
       i.indrelid,
       format('%I.%I', n.nspname, ic.relname),
       format('%I.%I', tn.nspname, c.relname),
       pg_get_indexdef(i.indexrelid),
       i.indisvalid
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace tn ON tn.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm')
  AND NOT ic.relispartition
  AND c.relnamespace = ANY ($1::oid[])
  AND c.oid <> $2::oid
  AND ($3::oid[] IS NULL OR i.indrelid = ANY ($3::oid[]))
  AND NOT EXISTS (SELECT FROM pg_constraint co
                  WHERE co.conindid = i.indexrelid AND co.conrelid = i.indrelid
                    AND co.contype IN ('p', 'u', 'x'))
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid IN (c.oid, ic.oid)
                    AND d.deptype = 'e')";

/// Adds `CREATE INDEX ...;`, followed by `-- INVALID` for an invalid index.
pub(super) fn read(
    client: &mut Queries<'_, impl GenericClient>,
    scope: &Scope,
    out: &mut Builder,
) -> Result<(), SnapshotError> {
    for row in client
        .query(SQL, &[&scope.schemas, &scope.excluded, &scope.relations()])
        .reading("indexes")?
    {
        let oid: u32 = row.try_get(0).reading("indexes")?;
        let relation: u32 = row.try_get(1).reading("indexes")?;
        let name: String = row.try_get(2).reading("indexes")?;
        let table: String = row.try_get(3).reading("indexes")?;
        let definition: String = row.try_get(4).reading("indexes")?;
        let valid: bool = row.try_get(5).reading("indexes")?;
        let mut text = format!("{definition};");
        if !valid {
            text.push_str("\n-- INVALID: not used by queries; drop it and build it again");
        }
        let added = out.add_on(ObjectKind::Index, name.clone(), &table, text);
        out.root(added, catalogs::PG_CLASS, relation);
        out.target(
            catalogs::PG_CLASS,
            oid,
            added,
            format!("INDEX {name}"),
            None,
            &name,
        );
    }
    Ok(())
}
