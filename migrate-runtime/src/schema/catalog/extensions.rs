//! Extensions: name, schema and version. The objects an extension owns are left out by every
//! other reader.

use super::Scope;
use crate::schema::builder::{Builder, catalogs};
use crate::schema::error::{Reading, SnapshotError};
use crate::schema::object::ObjectKind;
use crate::schema::queries::Queries;
use postgres::GenericClient;

const SQL: &str = "
SELECT e.oid, quote_ident(e.extname), quote_ident(n.nspname), quote_literal(e.extversion)
FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extnamespace = ANY ($1::oid[])";

/// Adds `CREATE EXTENSION name WITH SCHEMA schema VERSION 'v';` for the extensions installed
/// in a captured schema.
pub(super) fn read(
    client: &mut Queries<'_, impl GenericClient>,
    scope: &Scope,
    out: &mut Builder,
) -> Result<(), SnapshotError> {
    for row in client.query(SQL, &[&scope.schemas]).reading("extensions")? {
        let oid: u32 = row.try_get(0).reading("extensions")?;
        let name: String = row.try_get(1).reading("extensions")?;
        let schema: String = row.try_get(2).reading("extensions")?;
        let version: String = row.try_get(3).reading("extensions")?;
        let text = format!("CREATE EXTENSION {name} WITH SCHEMA {schema} VERSION {version};");
        out.add(ObjectKind::Extension, name, text);
        out.container(catalogs::PG_EXTENSION, oid);
    }
    Ok(())
}
