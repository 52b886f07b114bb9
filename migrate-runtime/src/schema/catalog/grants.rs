//! Privileges: what differs from the defaults PostgreSQL gives a new object (`acldefault`),
//! as `GRANT` and `REVOKE` lines on the object's text. The owner's own privileges are left out
//! (owners are not part of a schema), as are roles that no longer exist. Read after every
//! other object, in one query.

use super::Scope;
use crate::schema::builder::{Builder, Target};
use crate::schema::error::{Reading, SnapshotError};
use crate::schema::queries::Queries;
use postgres::GenericClient;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The objects with privileges, in the schemas `$1`.
const OBJECTS_ALL: &str = r#"
WITH objects (catalog, oid, column_number, acl, owner, kind) AS (
    SELECT 'pg_class'::regclass::oid, c.oid, 0, c.relacl, c.relowner,
           CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END
      FROM pg_class c
     WHERE c.relacl IS NOT NULL AND c.relnamespace = ANY ($1::oid[])
    UNION ALL
    SELECT 'pg_class'::regclass::oid, c.oid, a.attnum, a.attacl, c.relowner, 'c'
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
     WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped
       AND c.relnamespace = ANY ($1::oid[])
    UNION ALL
    SELECT 'pg_namespace'::regclass::oid, n.oid, 0, n.nspacl, n.nspowner, 'n'
      FROM pg_namespace n
     WHERE n.nspacl IS NOT NULL AND n.oid = ANY ($1::oid[])
    UNION ALL
    SELECT 'pg_proc'::regclass::oid, p.oid, 0, p.proacl, p.proowner, 'f'
      FROM pg_proc p
     WHERE p.proacl IS NOT NULL AND p.pronamespace = ANY ($1::oid[])
    UNION ALL
    SELECT 'pg_type'::regclass::oid, t.oid, 0, t.typacl, t.typowner, 'T'
      FROM pg_type t
     WHERE t.typacl IS NOT NULL AND t.typnamespace = ANY ($1::oid[])
"#;

/// The objects with privileges among the relations `$1`, types `$2` and routines `$3` (a
/// refresh; a changed schema means a full read).
const OBJECTS_ONLY: &str = r#"
WITH objects (catalog, oid, column_number, acl, owner, kind) AS (
    SELECT 'pg_class'::regclass::oid, c.oid, 0, c.relacl, c.relowner,
           CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END
      FROM pg_class c
     WHERE c.relacl IS NOT NULL AND c.oid = ANY ($1::oid[])
    UNION ALL
    SELECT 'pg_class'::regclass::oid, c.oid, a.attnum, a.attacl, c.relowner, 'c'
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
     WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attrelid = ANY ($1::oid[])
    UNION ALL
    SELECT 'pg_proc'::regclass::oid, p.oid, 0, p.proacl, p.proowner, 'f'
      FROM pg_proc p
     WHERE p.proacl IS NOT NULL AND p.oid = ANY ($3::oid[])
    UNION ALL
    SELECT 'pg_type'::regclass::oid, t.oid, 0, t.typacl, t.typowner, 'T'
      FROM pg_type t
     WHERE t.typacl IS NOT NULL AND t.oid = ANY ($2::oid[])"#;

/// The privileges that differ from the defaults, of the `objects`.
const CHANGES: &str = r#"),
changes AS (
    SELECT o.catalog, o.oid, o.column_number, o.owner,
           g.grantee, g.privilege_type, g.is_grantable, false AS revoked
      FROM objects o,
           LATERAL (SELECT grantee, privilege_type, is_grantable FROM aclexplode(o.acl)
                    EXCEPT
                    SELECT grantee, privilege_type, is_grantable
                      FROM aclexplode(acldefault(o.kind::"char", o.owner))) g
    UNION ALL
    SELECT o.catalog, o.oid, o.column_number, o.owner,
           g.grantee, g.privilege_type, false, true
      FROM objects o,
           LATERAL (SELECT grantee, privilege_type
                      FROM aclexplode(acldefault(o.kind::"char", o.owner))
                    EXCEPT
                    SELECT grantee, privilege_type FROM aclexplode(o.acl)) g
)
SELECT ch.catalog, ch.oid, quote_ident(a.attname),
       CASE WHEN ch.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END,
       ch.privilege_type, ch.is_grantable, ch.revoked
FROM changes ch
LEFT JOIN pg_roles r ON r.oid = ch.grantee
LEFT JOIN pg_attribute a ON ch.column_number > 0 AND a.attrelid = ch.oid
                        AND a.attnum = ch.column_number
WHERE ch.grantee <> ch.owner AND (ch.grantee = 0 OR r.oid IS NOT NULL)"#;

/// The query reading every object's privileges.
static SQL_ALL: LazyLock<String> = LazyLock::new(|| format!("{OBJECTS_ALL}{CHANGES}"));

/// The query reading only some objects' privileges.
static SQL_ONLY: LazyLock<String> = LazyLock::new(|| format!("{OBJECTS_ONLY}{CHANGES}"));

/// One `GRANT`/`REVOKE` line: object, column, grantee, with grant option, revoked.
type Line = ((u32, u32), Option<String>, String, bool, bool);

/// Adds `GRANT privileges ON object TO role [WITH GRANT OPTION];` and
/// `REVOKE privileges ON object FROM role;` lines, privileges sorted.
pub(super) fn read(
    client: &mut Queries<'_, impl GenericClient>,
    scope: &Scope,
    out: &mut Builder,
) -> Result<(), SnapshotError> {
    let mut lines: BTreeMap<Line, Vec<String>> = BTreeMap::new();
    let rows = match &scope.only {
        None => client.query(&SQL_ALL, &[&scope.schemas]),
        Some(only) => {
            let relations: Vec<u32> = only
                .relations
                .iter()
                .chain(&only.sequences)
                .copied()
                .collect();
            client.query(&SQL_ONLY, &[&relations, &only.types, &only.routines])
        }
    };
    for row in rows.reading("privileges")? {
        let object: (u32, u32) = (
            row.try_get(0).reading("privileges")?,
            row.try_get(1).reading("privileges")?,
        );
        let column: Option<String> = row.try_get(2).reading("privileges")?;
        let grantee: String = row.try_get(3).reading("privileges")?;
        let privilege: String = row.try_get(4).reading("privileges")?;
        let grantable: bool = row.try_get(5).reading("privileges")?;
        let revoked: bool = row.try_get(6).reading("privileges")?;
        lines
            .entry((object, column, grantee, grantable, revoked))
            .or_default()
            .push(privilege);
    }
    for ((object, column, grantee, grantable, revoked), mut privileges) in lines {
        let Some(target) = out.find(object.0, object.1).cloned() else {
            continue;
        };
        if let Some(line) = line(
            &target,
            column,
            &grantee,
            grantable,
            revoked,
            &mut privileges,
        ) {
            out.grant(&target, line);
        }
    }
    Ok(())
}

fn line(
    target: &Target,
    column: Option<String>,
    grantee: &str,
    grantable: bool,
    revoked: bool,
    privileges: &mut [String],
) -> Option<String> {
    let on = target.grant_on()?;
    privileges.sort_unstable();
    let privileges = match column {
        Some(column) => privileges
            .iter()
            .map(|p| format!("{p} ({column})"))
            .collect::<Vec<_>>()
            .join(", "),
        None => privileges.join(", "),
    };
    Some(if revoked {
        format!("REVOKE {privileges} ON {on} FROM {grantee};")
    } else {
        let option = if grantable { " WITH GRANT OPTION" } else { "" };
        format!("GRANT {privileges} ON {on} TO {grantee}{option};")
    })
}
