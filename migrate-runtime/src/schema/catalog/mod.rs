//! The catalog readers, one per kind of object, each a single query (tables and types: two).
//!
//! Every query is restricted to the captured schemas (`$1`, their OIDs) and leaves out:
//! - objects an extension owns (`pg_depend.deptype = 'e'`), and what hangs on them;
//! - the excluded table (`$2`, the migration history) and what hangs on it;
//! - what PostgreSQL makes by itself: array and row types, constraint indexes, identity
//!   sequences (part of their column), foreign-key and partition-clone triggers.
//!
//! Names are printed by PostgreSQL (`format('%I.%I')`, `quote_ident`, `regprocedure`), so they
//! are quoted exactly as it would quote them.

mod comments;
mod constraints;
mod extensions;
mod grants;
mod indexes;
mod policies;
mod routines;
mod schemas;
mod sequences;
mod tables;
mod triggers;
mod types;
mod views;

use super::builder::Builder;
use super::error::{Reading, SnapshotError};
use super::options::SnapshotOptions;
use postgres::GenericClient;

/// What one capture reads: the server version and the schemas, and the table left out.
#[derive(Debug, Clone)]
pub(super) struct Scope {
    /// `server_version_num`, e.g. 150004.
    pub version: i32,
    /// OIDs of the captured schemas.
    pub schemas: Vec<u32>,
    /// OID of the excluded table; 0 (no table has it) when none.
    pub excluded: u32,
}

impl Scope {
    /// Reads the schemas (adding them to `out`) and finds the excluded table.
    pub fn read(
        client: &mut impl GenericClient,
        options: &SnapshotOptions,
        version: i32,
        out: &mut Builder,
    ) -> Result<Scope, SnapshotError> {
        let schemas = schemas::read(client, options.schemas.as_deref(), out)?;
        let excluded = match &options.exclude_table {
            Some(t) => client
                .query_opt(
                    "SELECT c.oid FROM pg_catalog.pg_class c
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = $1 AND c.relname = $2",
                    &[&t.schema, &t.table],
                )
                .and_then(|row| row.map(|r| r.try_get(0)).transpose())
                .reading("the excluded table")?
                .unwrap_or(0),
            None => 0,
        };
        Ok(Scope {
            version,
            schemas,
            excluded,
        })
    }
}

/// Runs every reader but the schemas' (read with the [`Scope`]). Comments and grants come
/// last: they attach to objects read before.
pub(super) fn read_all(
    client: &mut impl GenericClient,
    scope: &Scope,
    out: &mut Builder,
) -> Result<(), SnapshotError> {
    extensions::read(client, scope, out)?;
    types::read(client, scope, out)?;
    sequences::read(client, scope, out)?;
    tables::read(client, scope, out)?;
    views::read(client, scope, out)?;
    constraints::read(client, scope, out)?;
    indexes::read(client, scope, out)?;
    routines::read(client, scope, out)?;
    triggers::read(client, scope, out)?;
    policies::read(client, scope, out)?;
    comments::read(client, scope, out)?;
    grants::read(client, scope, out)?;
    Ok(())
}
