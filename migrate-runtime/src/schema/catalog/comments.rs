//! Comments (`COMMENT ON`), on captured objects and their columns, added to the text of the
//! object they describe. Read after every other object, in one query.

use super::Scope;
use crate::schema::builder::Builder;
use crate::schema::error::{Reading, SnapshotError};
use crate::schema::queries::Queries;
use postgres::GenericClient;
use std::sync::LazyLock;

/// A comment: its object, its column if any, its text.
const SELECT: &str = "
SELECT d.classoid, d.objoid, quote_ident(a.attname), quote_literal(d.description)
FROM pg_description d
LEFT JOIN pg_attribute a
       ON d.objsubid > 0 AND d.classoid = 'pg_class'::regclass
      AND a.attrelid = d.objoid AND a.attnum = d.objsubid";

/// Every comment a capture may show. User objects have OIDs from `FirstNormalObjectId`
/// (16384) on, so the thousands of comments on built-in objects are not even read; schemas are
/// the exception, `public` is made by `initdb` (and commented, from PostgreSQL 15 on). Whether
/// a comment's object is captured is decided by the builder, which knows every captured
/// object's OID.
static SQL: LazyLock<String> = LazyLock::new(|| {
    format!("{SELECT}\nWHERE d.objoid >= 16384 OR d.classoid = 'pg_namespace'::regclass")
});

/// A refresh's: schemas are not read again (a changed schema means a full read), so only
/// user objects' comments, found by index.
static SQL_REFRESH: LazyLock<String> =
    LazyLock::new(|| format!("{SELECT}\nWHERE d.objoid >= 16384"));

/// Adds `COMMENT ON ... IS '...';` lines to the objects read before.
pub(super) fn read(
    client: &mut Queries<'_, impl GenericClient>,
    scope: &Scope,
    out: &mut Builder,
) -> Result<(), SnapshotError> {
    let sql = match scope.only {
        None => &SQL,
        Some(_) => &SQL_REFRESH,
    };
    for row in client.query(sql, &[]).reading("comments")? {
        let catalog: u32 = row.try_get(0).reading("comments")?;
        let oid: u32 = row.try_get(1).reading("comments")?;
        let column: Option<String> = row.try_get(2).reading("comments")?;
        let literal: String = row.try_get(3).reading("comments")?;
        if let Some(target) = out.find(catalog, oid).cloned() {
            out.comment(&target, column.as_deref(), &literal);
        }
    }
    Ok(())
}
