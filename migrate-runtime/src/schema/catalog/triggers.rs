//! Triggers, as `pg_get_triggerdef` prints them, and whether they are disabled. Internal
//! triggers (foreign keys) and the clones a partitioned table's trigger puts on its
//! partitions are left out.

use super::Scope;
use crate::schema::builder::{Builder, catalogs};
use crate::schema::error::{Reading, SnapshotError};
use crate::schema::object::ObjectKind;
use crate::schema::queries::Queries;
use postgres::GenericClient;

const SQL: &str = "
SELECT t.oid,
       t.tgrelid,
       format('%I.%I', n.nspname, c.relname),
       quote_ident(t.tgname),
       pg_get_triggerdef(t.oid),
       t.tgenabled::text
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal
  AND t.tgparentid = 0
  AND c.relnamespace = ANY ($1::oid[])
  AND c.oid <> $2::oid
  AND ($3::oid[] IS NULL OR t.tgrelid = ANY ($3::oid[]))
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                    AND d.deptype = 'e')";

/// Adds `CREATE TRIGGER ...;`, named `table.trigger`, with its `ALTER TABLE ... DISABLE
/// TRIGGER` (or `ENABLE REPLICA`/`ALWAYS`) when not enabled the default way.
pub(super) fn read(
    client: &mut Queries<'_, impl GenericClient>,
    scope: &Scope,
    out: &mut Builder,
) -> Result<(), SnapshotError> {
    for row in client
        .query(SQL, &[&scope.schemas, &scope.excluded, &scope.relations()])
        .reading("triggers")?
    {
        let oid: u32 = row.try_get(0).reading("triggers")?;
        let relation: u32 = row.try_get(1).reading("triggers")?;
        let table: String = row.try_get(2).reading("triggers")?;
        let name: String = row.try_get(3).reading("triggers")?;
        let definition: String = row.try_get(4).reading("triggers")?;
        let enabled: String = row.try_get(5).reading("triggers")?;
        let mut text = format!("{definition};");
        let state = match enabled.as_str() {
            "D" => Some("DISABLE"),
            "R" => Some("ENABLE REPLICA"),
            "A" => Some("ENABLE ALWAYS"),
            _ => None,
        };
        if let Some(state) = state {
            text.push_str(&format!("\nALTER TABLE {table} {state} TRIGGER {name};"));
        }
        let added = out.add_on(ObjectKind::Trigger, format!("{table}.{name}"), &table, text);
        out.root(added, catalogs::PG_CLASS, relation);
        out.target(
            catalogs::PG_TRIGGER,
            oid,
            added,
            format!("TRIGGER {name} ON {table}"),
            None,
            &table,
        );
    }
    Ok(())
}
