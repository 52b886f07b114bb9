//! Table constraints: primary key, unique, foreign key, check, exclusion, as
//! `pg_get_constraintdef` prints them (with `NOT VALID` when not validated, `DEFERRABLE`, ...).
//! NOT NULL is part of its column; constraint triggers are triggers. The copies a partitioned
//! table's constraint puts on its partitions (`conparentid`), and constraints a table only
//! inherits, are implied by the parent's and left out.

use super::Scope;
use crate::schema::builder::{Builder, catalogs};
use crate::schema::error::{Reading, SnapshotError};
use crate::schema::object::ObjectKind;
use crate::schema::queries::Queries;
use postgres::GenericClient;

const SQL: &str = "
SELECT co.oid,
       co.conrelid,
       format('%I.%I', n.nspname, c.relname),
       quote_ident(co.conname),
       pg_get_constraintdef(co.oid)
FROM pg_constraint co
JOIN pg_class c ON c.oid = co.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE co.contype IN ('c', 'f', 'p', 'u', 'x')
  AND co.conparentid = 0
  AND co.conislocal
  AND c.relkind IN ('r', 'p')
  AND c.relnamespace = ANY ($1::oid[])
  AND c.oid <> $2::oid
  AND ($3::oid[] IS NULL OR co.conrelid = ANY ($3::oid[]))
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                    AND d.deptype = 'e')";

/// Adds `ALTER TABLE table ADD CONSTRAINT name <definition>;`, named `table.name`.
pub(super) fn read(
    client: &mut Queries<'_, impl GenericClient>,
    scope: &Scope,
    out: &mut Builder,
) -> Result<(), SnapshotError> {
    for row in client
        .query(SQL, &[&scope.schemas, &scope.excluded, &scope.tables()])
        .reading("constraints")?
    {
        let oid: u32 = row.try_get(0).reading("constraints")?;
        let relation: u32 = row.try_get(1).reading("constraints")?;
        let table: String = row.try_get(2).reading("constraints")?;
        let name: String = row.try_get(3).reading("constraints")?;
        let definition: String = row.try_get(4).reading("constraints")?;
        let text = format!("ALTER TABLE {table} ADD CONSTRAINT {name} {definition};");
        let added = out.add_on(
            ObjectKind::Constraint,
            format!("{table}.{name}"),
            &table,
            text,
        );
        out.root(added, catalogs::PG_CLASS, relation);
        out.target(
            catalogs::PG_CONSTRAINT,
            oid,
            added,
            format!("CONSTRAINT {name} ON {table}"),
            None,
            &table,
        );
    }
    Ok(())
}
