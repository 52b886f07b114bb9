//! Types: enums (labels in `enumsortorder` order), composites (attributes in position order),
//! ranges, and domains with their constraints. Array, row, multirange and base types are
//! PostgreSQL's or an extension's doing and left out.

use super::Scope;
use crate::schema::builder::{Builder, catalogs};
use crate::schema::error::{Reading, SnapshotError};
use crate::schema::object::ObjectKind;
use crate::schema::queries::Queries;
use postgres::GenericClient;
use std::collections::HashMap;

const TYPES: &str = "
SELECT t.oid,
       t.typtype::text,
       format('%I.%I', n.nspname, t.typname),
       (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
          FROM pg_enum e WHERE e.enumtypid = t.oid),
       CASE WHEN t.typtype = 'c' THEN t.typrelid END,
       (SELECT string_agg(format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod))
                          || CASE WHEN a.attcollation <> at.typcollation
                                  THEN ' COLLATE ' || a.attcollation::regcollation::text
                                  ELSE '' END,
                          E',\\n    ' ORDER BY a.attnum)
          FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid
         WHERE t.typtype = 'c' AND a.attrelid = t.typrelid
           AND a.attnum > 0 AND NOT a.attisdropped),
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
       t.typnotnull,
       pg_get_expr(t.typdefaultbin, 0),
       CASE WHEN t.typtype = 'd' AND t.typcollation <> bt.typcollation
            THEN t.typcollation::regcollation::text END,
       format_type(r.rngsubtype, NULL),
       CASE WHEN NOT oc.opcdefault THEN format('%I.%I', ocn.nspname, oc.opcname) END,
       CASE WHEN r.rngcollation <> st.typcollation THEN r.rngcollation::regcollation::text END,
       NULLIF(r.rngcanonical::oid, 0)::regprocedure::text,
       NULLIF(r.rngsubdiff::oid, 0)::regprocedure::text,
       format_type(r.rngmultitypid, NULL)
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_class rc ON rc.oid = t.typrelid
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
LEFT JOIN pg_range r ON r.rngtypid = t.oid
LEFT JOIN pg_type st ON st.oid = r.rngsubtype
LEFT JOIN pg_opclass oc ON oc.oid = r.rngsubopc
LEFT JOIN pg_namespace ocn ON ocn.oid = oc.opcnamespace
WHERE t.typnamespace = ANY ($1::oid[])
  AND ($2::oid[] IS NULL OR t.oid = ANY ($2::oid[]))
  AND t.typtype IN ('c', 'd', 'e', 'r')
  AND (t.typtype <> 'c' OR rc.relkind = 'c')
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                    AND d.deptype IN ('e', 'i'))";

/// Domain constraints (PostgreSQL 17 also records a domain's NOT NULL here, contype `n`; it
/// is read from `typnotnull` instead, as on older versions).
const DOMAIN_CONSTRAINTS: &str = "
SELECT co.oid, co.contypid, quote_ident(co.conname), pg_get_constraintdef(co.oid)
FROM pg_constraint co
JOIN pg_type t ON t.oid = co.contypid
WHERE co.contype <> 'n'
  AND t.typnamespace = ANY ($1::oid[])
  AND ($2::oid[] IS NULL OR co.contypid = ANY ($2::oid[]))";

/// A domain constraint: OID, quoted name, definition.
type DomainConstraint = (u32, String, String);

/// Adds enums, composites and ranges (`CREATE TYPE`) and domains (`CREATE DOMAIN`).
pub(super) fn read(
    client: &mut Queries<'_, impl GenericClient>,
    scope: &Scope,
    out: &mut Builder,
) -> Result<(), SnapshotError> {
    let mut constraints: HashMap<u32, Vec<DomainConstraint>> = HashMap::new();
    for row in client
        .query(DOMAIN_CONSTRAINTS, &[&scope.schemas, &scope.types()])
        .reading("domain constraints")?
    {
        let domain: u32 = row.try_get(1).reading("domain constraints")?;
        constraints.entry(domain).or_default().push((
            row.try_get(0).reading("domain constraints")?,
            row.try_get(2).reading("domain constraints")?,
            row.try_get(3).reading("domain constraints")?,
        ));
    }
    for row in client
        .query(TYPES, &[&scope.schemas, &scope.types()])
        .reading("types")?
    {
        let get = |i| -> Result<Option<String>, SnapshotError> { row.try_get(i).reading("types") };
        let oid: u32 = row.try_get(0).reading("types")?;
        let typtype = get(1)?.unwrap_or_default();
        let name = get(2)?.unwrap_or_default();
        // Comments on a domain's constraints go to the domain.
        let mut constraint_targets = Vec::new();
        let (kind, words, text) = match typtype.as_str() {
            "e" => (
                ObjectKind::Type,
                "TYPE",
                format!(
                    "CREATE TYPE {name} AS ENUM ({});",
                    get(3)?.unwrap_or_default()
                ),
            ),
            "c" => (
                ObjectKind::Type,
                "TYPE",
                match get(5)? {
                    Some(attributes) => format!("CREATE TYPE {name} AS (\n    {attributes}\n);"),
                    None => format!("CREATE TYPE {name} AS ();"),
                },
            ),
            "d" => {
                let mut text = format!("CREATE DOMAIN {name} AS {}", get(6)?.unwrap_or_default());
                if let Some(collation) = get(9)? {
                    text.push_str(&format!("\n    COLLATE {collation}"));
                }
                if let Some(default) = get(8)? {
                    text.push_str(&format!("\n    DEFAULT {default}"));
                }
                if row.try_get::<bool>(7).reading("types")? {
                    text.push_str("\n    NOT NULL");
                }
                let mut own = constraints.remove(&oid).unwrap_or_default();
                own.sort_by(|a, b| a.1.cmp(&b.1));
                for (constraint, cname, definition) in own {
                    text.push_str(&format!("\n    CONSTRAINT {cname} {definition}"));
                    constraint_targets
                        .push((constraint, format!("CONSTRAINT {cname} ON DOMAIN {name}")));
                }
                text.push(';');
                (ObjectKind::Domain, "DOMAIN", text)
            }
            _ => {
                let mut options = vec![format!("SUBTYPE = {}", get(10)?.unwrap_or_default())];
                let optional = [
                    ("SUBTYPE_OPCLASS", get(11)?),
                    ("COLLATION", get(12)?),
                    ("CANONICAL", get(13)?),
                    ("SUBTYPE_DIFF", get(14)?),
                    ("MULTIRANGE_TYPE_NAME", get(15)?),
                ];
                for (option, value) in optional {
                    if let Some(value) = value {
                        options.push(format!("{option} = {value}"));
                    }
                }
                let text = format!(
                    "CREATE TYPE {name} AS RANGE (\n    {}\n);",
                    options.join(",\n    ")
                );
                (ObjectKind::Type, "TYPE", text)
            }
        };
        let added = out.add(kind, name.clone(), text);
        out.root(added, catalogs::PG_TYPE, oid);
        let on = format!("{words} {name}");
        out.target(
            catalogs::PG_TYPE,
            oid,
            added,
            on.clone(),
            Some(on.clone()),
            &name,
        );
        for (constraint, comment_on) in constraint_targets {
            out.target(
                catalogs::PG_CONSTRAINT,
                constraint,
                added,
                comment_on,
                None,
                &name,
            );
        }
        if let Some(relation) = row.try_get::<Option<u32>>(4).reading("types")? {
            out.target(catalogs::PG_CLASS, relation, added, on, None, &name);
        }
    }
    Ok(())
}
