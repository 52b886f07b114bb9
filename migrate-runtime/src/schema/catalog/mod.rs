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

mod changes;
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

pub(super) use changes::{
    Changes, Mark, Present, Seen, ahead, mark, prepare_ahead, read as read_changes,
};

use super::builder::Builder;
use super::error::{Reading, SnapshotError};
use super::options::SnapshotOptions;
use crate::schema::queries::Queries;
use postgres::GenericClient;

/// What one capture reads: the server version and the schemas, and the table left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    /// `server_version_num`, e.g. 150004.
    pub version: i32,
    /// OIDs of the captured schemas.
    pub schemas: Vec<u32>,
    /// OID of the excluded table; 0 (no table has it) when none.
    pub excluded: u32,
    /// Only the objects of these roots (a refresh); `None`: everything.
    pub only: Option<Only>,
}

/// The roots a refresh reads again: tables with what hangs on them, views (and materialized
/// views, with their indexes), sequences, types, routines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Only {
    /// Tables (plain, partitioned, foreign): `pg_class` OIDs.
    pub tables: Vec<u32>,
    /// Views and materialized views: `pg_class` OIDs.
    pub views: Vec<u32>,
    /// Sequences: `pg_class` OIDs.
    pub sequences: Vec<u32>,
    /// Tables and views (what indexes and triggers hang on).
    pub relations: Vec<u32>,
    /// `pg_type` OIDs.
    pub types: Vec<u32>,
    /// `pg_proc` OIDs.
    pub routines: Vec<u32>,
    /// The kinds of objects hanging on them that exist at all (the others are not looked for).
    pub present: Present,
}

impl Only {
    /// Nothing to read.
    pub fn is_empty(&self) -> bool {
        self.relations.is_empty()
            && self.sequences.is_empty()
            && self.types.is_empty()
            && self.routines.is_empty()
    }
}

impl Scope {
    /// The table filter as a query parameter (`NULL`: every table).
    pub fn tables(&self) -> Option<&Vec<u32>> {
        self.only.as_ref().map(|o| &o.tables)
    }

    /// The view filter as a query parameter (`NULL`: every view).
    pub fn views(&self) -> Option<&Vec<u32>> {
        self.only.as_ref().map(|o| &o.views)
    }

    /// The sequence filter as a query parameter (`NULL`: every sequence).
    pub fn sequences(&self) -> Option<&Vec<u32>> {
        self.only.as_ref().map(|o| &o.sequences)
    }

    /// The table-or-view filter as a query parameter (`NULL`: every relation).
    pub fn relations(&self) -> Option<&Vec<u32>> {
        self.only.as_ref().map(|o| &o.relations)
    }

    /// The type filter as a query parameter (`NULL`: every type).
    pub fn types(&self) -> Option<&Vec<u32>> {
        self.only.as_ref().map(|o| &o.types)
    }

    /// The routine filter as a query parameter (`NULL`: every routine).
    pub fn routines(&self) -> Option<&Vec<u32>> {
        self.only.as_ref().map(|o| &o.routines)
    }

    /// Reads the schemas (adding them to `out`) and finds the excluded table.
    pub fn read(
        client: &mut Queries<'_, impl GenericClient>,
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
            only: None,
        })
    }
}

/// Runs every reader but the schemas' (read with the [`Scope`]). Comments and grants come
/// last: they attach to objects read before. With [`Scope::only`], the readers of a kind of
/// root with nothing to read again are skipped, so are those of kinds of objects the database
/// has none of ([`Present`]), and extensions are not read.
pub(super) fn read_all(
    client: &mut Queries<'_, impl GenericClient>,
    scope: &Scope,
    out: &mut Builder,
) -> Result<(), SnapshotError> {
    let all = scope.only.is_none();
    let some = |v: Option<&Vec<u32>>| v.is_none_or(|v| !v.is_empty());
    if all {
        extensions::read(client, scope, out)?;
    }
    if some(scope.types()) {
        types::read(client, scope, out)?;
    }
    if some(scope.sequences()) {
        sequences::read(client, scope, out)?;
    }
    if some(scope.tables()) {
        tables::read(client, scope, out)?;
    }
    if some(scope.views()) {
        views::read(client, scope, out)?;
    }
    if some(scope.tables()) {
        constraints::read(client, scope, out)?;
    }
    let present = scope
        .only
        .as_ref()
        .map_or_else(Present::default, |o| o.present);
    if some(scope.relations()) {
        indexes::read(client, scope, out)?;
        if present.triggers {
            triggers::read(client, scope, out)?;
        }
    }
    if some(scope.tables()) && present.policies {
        policies::read(client, scope, out)?;
    }
    if some(scope.routines()) {
        routines::read(client, scope, out)?;
    }
    if all || scope.only.as_ref().is_some_and(|o| !o.is_empty()) {
        if present.comments {
            comments::read(client, scope, out)?;
        }
        if present.grants {
            grants::read(client, scope, out)?;
        }
    }
    Ok(())
}
