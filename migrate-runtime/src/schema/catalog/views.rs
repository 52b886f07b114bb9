//! Views and materialized views, with the definition PostgreSQL prints (`pg_get_viewdef`).

use super::Scope;
use crate::schema::builder::{Builder, catalogs};
use crate::schema::error::{Reading, SnapshotError};
use crate::schema::object::ObjectKind;
use crate::schema::queries::Queries;
use postgres::GenericClient;

const SQL: &str = "
SELECT c.oid,
       format('%I.%I', n.nspname, c.relname),
       c.relkind = 'm',
       (SELECT string_agg(o, ', ' ORDER BY o) FROM unnest(c.reloptions) o),
       pg_get_viewdef(c.oid)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm')
  AND c.relnamespace = ANY ($1::oid[])
  AND ($2::oid[] IS NULL OR c.oid = ANY ($2::oid[]))
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                    AND d.deptype = 'e')";

/// Adds `CREATE [MATERIALIZED] VIEW name [WITH (options)] AS <definition>`.
pub(super) fn read(
    client: &mut Queries<'_, impl GenericClient>,
    scope: &Scope,
    out: &mut Builder,
) -> Result<(), SnapshotError> {
    for row in client
        .query(SQL, &[&scope.schemas, &scope.views()])
        .reading("views")?
    {
        let oid: u32 = row.try_get(0).reading("views")?;
        let name: String = row.try_get(1).reading("views")?;
        let materialized: bool = row.try_get(2).reading("views")?;
        let options: Option<String> = row.try_get(3).reading("views")?;
        let definition: String = row.try_get(4).reading("views")?;
        let (kind, words) = if materialized {
            (ObjectKind::MaterializedView, "MATERIALIZED VIEW")
        } else {
            (ObjectKind::View, "VIEW")
        };
        let with = options.map_or(String::new(), |o| format!(" WITH ({o})"));
        let text = format!("CREATE {words} {name}{with} AS\n{}", definition.trim_end());
        let added = out.add(kind, name.clone(), text);
        out.root(added, catalogs::PG_CLASS, oid);
        out.target(
            catalogs::PG_CLASS,
            oid,
            added,
            format!("{words} {name}"),
            Some(format!("TABLE {name}")),
            &name,
        );
    }
    Ok(())
}
