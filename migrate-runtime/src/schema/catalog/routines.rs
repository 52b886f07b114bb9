//! Functions, procedures and aggregates. Functions and procedures are printed by
//! `pg_get_functiondef` (signature, language, volatility, strictness, security, cost, settings,
//! body), the body's insignificant whitespace normalised; aggregates by their main options.
//! Routines PostgreSQL makes for a type (a range's constructors) are left out with it.

use super::Scope;
use crate::schema::builder::{Builder, catalogs};
use crate::schema::error::{Reading, SnapshotError};
use crate::schema::object::ObjectKind;
use crate::schema::queries::Queries;
use crate::schema::render::routine_definition;
use postgres::GenericClient;

const SQL: &str = "
SELECT p.oid,
       p.prokind::text,
       p.oid::regprocedure::text,
       CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END,
       CASE WHEN p.prosqlbody IS NULL THEN p.prosrc END,
       l.lanname::text,
       a.aggtransfn::oid::regprocedure::text,
       format_type(a.aggtranstype, NULL),
       NULLIF(a.aggfinalfn::oid, 0)::regprocedure::text,
       NULLIF(a.aggcombinefn::oid, 0)::regprocedure::text,
       quote_literal(a.agginitval),
       NULLIF(a.aggsortop, 0)::regoperator::text,
       a.aggkind::text,
       p.proparallel::text,
       format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
LEFT JOIN pg_aggregate a ON a.aggfnoid = p.oid
WHERE p.pronamespace = ANY ($1::oid[])
  AND ($2::oid[] IS NULL OR p.oid = ANY ($2::oid[]))
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                    AND d.deptype IN ('e', 'i'))";

/// Adds each routine, named with its argument types: `public.add(integer,integer)`.
pub(super) fn read(
    client: &mut Queries<'_, impl GenericClient>,
    scope: &Scope,
    out: &mut Builder,
) -> Result<(), SnapshotError> {
    for row in client
        .query(SQL, &[&scope.schemas, &scope.routines()])
        .reading("routines")?
    {
        let get =
            |i| -> Result<Option<String>, SnapshotError> { row.try_get(i).reading("routines") };
        let oid: u32 = row.try_get(0).reading("routines")?;
        let prokind: String = row.try_get(1).reading("routines")?;
        let name: String = row.try_get(2).reading("routines")?;
        let (kind, words) = match prokind.as_str() {
            "p" => (ObjectKind::Procedure, "PROCEDURE"),
            "a" => (ObjectKind::Aggregate, "AGGREGATE"),
            _ => (ObjectKind::Function, "FUNCTION"),
        };
        let text = if kind == ObjectKind::Aggregate {
            let mut options = vec![
                format!("SFUNC = {}", get(6)?.unwrap_or_default()),
                format!("STYPE = {}", get(7)?.unwrap_or_default()),
            ];
            let optional = [
                ("FINALFUNC", get(8)?),
                ("COMBINEFUNC", get(9)?),
                ("INITCOND", get(10)?),
                ("SORTOP", get(11)?),
            ];
            for (option, value) in optional {
                if let Some(value) = value {
                    options.push(format!("{option} = {value}"));
                }
            }
            match get(13)?.as_deref() {
                Some("s") => options.push("PARALLEL = SAFE".into()),
                Some("r") => options.push("PARALLEL = RESTRICTED".into()),
                _ => {}
            }
            if get(12)?.as_deref() == Some("h") {
                options.push("HYPOTHETICAL".into());
            }
            // The identity arguments say `ORDER BY` for an ordered-set aggregate.
            format!(
                "CREATE AGGREGATE {} (\n    {}\n);",
                get(14)?.unwrap_or_default(),
                options.join(",\n    ")
            )
        } else {
            let definition = get(3)?.unwrap_or_default();
            let language = get(5)?.unwrap_or_default();
            format!(
                "{};",
                routine_definition(&definition, get(4)?.as_deref(), &language)
            )
        };
        let added = out.add(kind, name.clone(), text);
        out.root(added, catalogs::PG_PROC, oid);
        let grant_on = if kind == ObjectKind::Procedure {
            format!("PROCEDURE {name}")
        } else {
            format!("FUNCTION {name}")
        };
        out.target(
            catalogs::PG_PROC,
            oid,
            added,
            format!("{words} {name}"),
            Some(grant_on),
            &name,
        );
    }
    Ok(())
}
