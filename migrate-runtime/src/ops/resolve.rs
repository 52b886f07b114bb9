//! `resolve`: record a migration as applied or rolled back without running it, or baseline an
//! existing database (`--applied-through`); drafts marked applied are sealed.

use super::database::{self, DbOptions};
use super::error::OpError;
use super::event::OpEvent;
use super::preflight::{preflight, seal_applied};
use super::workspace::Workspace;
use crate::Version;
use crate::engine::Resolution;

/// What `resolve` was asked.
#[derive(Debug, Clone)]
pub enum ResolveRequest {
    /// `--applied` / `--rolled-back` of one migration.
    One(Version, Resolution),
    /// `--applied-through`: every migration up to this one.
    Through {
        /// The newest migration to mark.
        version: Version,
        /// List, change nothing.
        dry_run: bool,
    },
}

/// What `resolve` recorded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ResolveOutcome {
    /// The migrations marked (for `--applied-through`, in a dry run: those that would be).
    pub versions: Vec<Version>,
    /// Their folders.
    pub folders: Vec<String>,
    /// `applied` or `rolled_back`.
    pub resolution: &'static str,
    /// It was a dry run.
    pub dry_run: bool,
    /// Drafts sealed.
    pub sealed: Vec<String>,
    /// The connection, redacted.
    pub database: Option<String>,
}

/// Records a resolution.
pub fn resolve(
    ws: &Workspace,
    request: &ResolveRequest,
    db_options: &DbOptions,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<ResolveOutcome, OpError> {
    let (set, state) = preflight(ws, db_options)?;
    let settings = database::db_settings(ws, db_options, events)?;
    let mut db = database::connect(ws, &settings, events)?;
    let engine = settings.engine;
    let fail = OpError::engine("resolve", None);
    let (versions, resolution, dry_run) = match *request {
        ResolveRequest::One(version, resolution) => {
            engine
                .resolve(&mut db.client, &set, version, resolution, &mut |e| {
                    events(OpEvent::Engine(e))
                })
                .map_err(fail)?;
            (vec![version], resolution, false)
        }
        ResolveRequest::Through { version, dry_run } => {
            let versions = engine
                .resolve_through(&mut db.client, &set, version, dry_run, &mut |e| {
                    events(OpEvent::Engine(e))
                })
                .map_err(fail)?;
            (versions, Resolution::Applied, dry_run)
        }
    };
    let sealed = match resolution {
        Resolution::Applied if !dry_run => seal_applied(ws, &set, &state, &versions)?.1,
        _ => Vec::new(),
    };
    Ok(ResolveOutcome {
        folders: versions
            .iter()
            .filter_map(|v| set.get(*v))
            .map(|m| m.folder())
            .collect(),
        versions,
        resolution: match resolution {
            Resolution::Applied => "applied",
            Resolution::RolledBack => "rolled_back",
        },
        dry_run,
        sealed,
        database: ws.redacted(),
    })
}
