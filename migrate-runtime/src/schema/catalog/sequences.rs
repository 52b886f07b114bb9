//! Sequences: type, non-default options, and the column that owns it (`serial`,
//! `OWNED BY`). Identity sequences are part of their column; sequences owned by the excluded
//! table are left out with it.

use super::Scope;
use crate::schema::builder::{Builder, catalogs};
use crate::schema::error::{Reading, SnapshotError};
use crate::schema::object::ObjectKind;
use crate::schema::queries::Queries;
use crate::schema::render::SequenceOptions;
use postgres::GenericClient;

const SQL: &str = "
SELECT c.oid,
       format('%I.%I', n.nspname, c.relname),
       c.relpersistence = 'u',
       format_type(s.seqtypid, NULL),
       s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
       (SELECT format('%I.%I.%I', tn.nspname, t.relname, a.attname)
          FROM pg_depend d
          JOIN pg_class t ON t.oid = d.refobjid
          JOIN pg_namespace tn ON tn.oid = t.relnamespace
          JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
           AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a')
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relnamespace = ANY ($1::oid[])
  AND ($3::oid[] IS NULL OR c.oid = ANY ($3::oid[]))
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                    AND (d.deptype IN ('e', 'i')
                         OR (d.refclassid = 'pg_class'::regclass AND d.refobjid = $2::oid)))";

/// Adds `CREATE SEQUENCE name AS type [options];` and its `OWNED BY`.
pub(super) fn read(
    client: &mut Queries<'_, impl GenericClient>,
    scope: &Scope,
    out: &mut Builder,
) -> Result<(), SnapshotError> {
    for row in client
        .query(SQL, &[&scope.schemas, &scope.excluded, &scope.sequences()])
        .reading("sequences")?
    {
        let oid: u32 = row.try_get(0).reading("sequences")?;
        let name: String = row.try_get(1).reading("sequences")?;
        let unlogged: bool = row.try_get(2).reading("sequences")?;
        let options = SequenceOptions {
            data_type: row.try_get(3).reading("sequences")?,
            start: row.try_get(4).reading("sequences")?,
            increment: row.try_get(5).reading("sequences")?,
            min: row.try_get(6).reading("sequences")?,
            max: row.try_get(7).reading("sequences")?,
            cache: row.try_get(8).reading("sequences")?,
            cycle: row.try_get(9).reading("sequences")?,
        };
        let owner: Option<String> = row.try_get(10).reading("sequences")?;
        let mut text = format!(
            "CREATE {}SEQUENCE {name} AS {}",
            if unlogged { "UNLOGGED " } else { "" },
            options.data_type
        );
        let non_default = options.non_default();
        if !non_default.is_empty() {
            text.push(' ');
            text.push_str(&non_default);
        }
        text.push(';');
        if let Some(owner) = owner {
            text.push_str(&format!("\nALTER SEQUENCE {name} OWNED BY {owner};"));
        }
        let added = out.add(ObjectKind::Sequence, name.clone(), text);
        out.root(added, catalogs::PG_CLASS, oid);
        let on = format!("SEQUENCE {name}");
        out.target(catalogs::PG_CLASS, oid, added, on.clone(), Some(on), &name);
    }
    Ok(())
}
