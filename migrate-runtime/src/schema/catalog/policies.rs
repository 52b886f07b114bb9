//! Row level security policies (the table's `ENABLE`/`FORCE ROW LEVEL SECURITY` flags are part
//! of the table).

use super::Scope;
use crate::schema::builder::{Builder, catalogs};
use crate::schema::error::{Reading, SnapshotError};
use crate::schema::object::ObjectKind;
use crate::schema::queries::Queries;
use postgres::GenericClient;

const SQL: &str = "
SELECT p.oid,
       p.polrelid,
       format('%I.%I', n.nspname, c.relname),
       quote_ident(p.polname),
       p.polpermissive,
       p.polcmd::text,
       (SELECT string_agg(r.name, ', ' ORDER BY r.name)
          FROM (SELECT CASE WHEN role = 0 THEN 'PUBLIC' ELSE quote_ident(a.rolname) END AS name
                  FROM unnest(p.polroles) role
                  LEFT JOIN pg_roles a ON a.oid = role) r),
       pg_get_expr(p.polqual, p.polrelid),
       pg_get_expr(p.polwithcheck, p.polrelid)
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relnamespace = ANY ($1::oid[])
  AND c.oid <> $2::oid
  AND ($3::oid[] IS NULL OR p.polrelid = ANY ($3::oid[]))
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                    AND d.deptype = 'e')";

/// Adds `CREATE POLICY name ON table AS PERMISSIVE FOR ALL TO roles USING (...) WITH CHECK
/// (...);`, named `table.policy`, roles sorted.
pub(super) fn read(
    client: &mut Queries<'_, impl GenericClient>,
    scope: &Scope,
    out: &mut Builder,
) -> Result<(), SnapshotError> {
    for row in client
        .query(SQL, &[&scope.schemas, &scope.excluded, &scope.tables()])
        .reading("policies")?
    {
        let get =
            |i| -> Result<Option<String>, SnapshotError> { row.try_get(i).reading("policies") };
        let oid: u32 = row.try_get(0).reading("policies")?;
        let relation: u32 = row.try_get(1).reading("policies")?;
        let table: String = row.try_get(2).reading("policies")?;
        let name: String = row.try_get(3).reading("policies")?;
        let permissive: bool = row.try_get(4).reading("policies")?;
        let command = match get(5)?.as_deref() {
            Some("r") => "SELECT",
            Some("a") => "INSERT",
            Some("w") => "UPDATE",
            Some("d") => "DELETE",
            _ => "ALL",
        };
        let mut text = format!(
            "CREATE POLICY {name} ON {table} AS {} FOR {command} TO {}",
            if permissive {
                "PERMISSIVE"
            } else {
                "RESTRICTIVE"
            },
            get(6)?.unwrap_or_else(|| "PUBLIC".into())
        );
        if let Some(using) = get(7)? {
            text.push_str(&format!(" USING ({using})"));
        }
        if let Some(check) = get(8)? {
            text.push_str(&format!(" WITH CHECK ({check})"));
        }
        text.push(';');
        let added = out.add_on(ObjectKind::Policy, format!("{table}.{name}"), &table, text);
        out.root(added, catalogs::PG_CLASS, relation);
        out.target(
            catalogs::PG_POLICY,
            oid,
            added,
            format!("POLICY {name} ON {table}"),
            None,
            &table,
        );
    }
    Ok(())
}
