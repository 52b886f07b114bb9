//! Schemas: `CREATE SCHEMA`. System schemas and schemas an extension owns are left out.

use crate::schema::builder::{Builder, catalogs};
use crate::schema::error::{Reading, SnapshotError};
use crate::schema::object::ObjectKind;
use crate::schema::queries::Queries;
use postgres::GenericClient;

const SQL: &str = "
SELECT n.oid, quote_ident(n.nspname)
FROM pg_namespace n
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%'
  AND n.nspname NOT LIKE 'pg\\_temp\\_%'
  AND ($1::text[] IS NULL OR n.nspname = ANY ($1::text[]))
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid
                    AND d.deptype = 'e')";

/// Adds the schemas (all but the system ones, or those named) and returns their OIDs.
pub(super) fn read(
    client: &mut Queries<'_, impl GenericClient>,
    only: Option<&[String]>,
    out: &mut Builder,
) -> Result<Vec<u32>, SnapshotError> {
    let only: Option<Vec<&str>> = only.map(|s| s.iter().map(String::as_str).collect());
    let mut oids = Vec::new();
    for row in client.query(SQL, &[&only]).reading("schemas")? {
        let oid: u32 = row.try_get(0).reading("schemas")?;
        let name: String = row.try_get(1).reading("schemas")?;
        let added = out.add(
            ObjectKind::Schema,
            name.clone(),
            format!("CREATE SCHEMA {name};"),
        );
        out.container(catalogs::PG_NAMESPACE, oid);
        let on = format!("SCHEMA {name}");
        out.target(
            catalogs::PG_NAMESPACE,
            oid,
            added,
            on.clone(),
            Some(on),
            &name,
        );
        oids.push(oid);
    }
    Ok(oids)
}
