//! `down`: revert the newest applied migrations with their down.sql.

use super::database::{self, DbOptions};
use super::error::{OpError, Untouched};
use super::event::OpEvent;
use super::workspace::Workspace;
use crate::engine::{DownReport, DownTarget, Event};

/// What `down` was asked.
#[derive(Debug, Clone)]
pub struct DownRequest {
    /// How far.
    pub target: DownTarget,
    /// Show what would be reverted, change nothing.
    pub dry_run: bool,
    /// Database options.
    pub db: DbOptions,
    /// Set (by a Ctrl-C handler) to stop a backfill down.sql after its current batch.
    pub stop: Option<crate::engine::Stop>,
}

/// What `down` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DownOutcome {
    /// The engine's report.
    pub report: DownReport,
    /// The connection, redacted.
    pub database: Option<String>,
}

/// Reverts migrations.
pub fn down(
    ws: &Workspace,
    request: &DownRequest,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<DownOutcome, OpError> {
    let set = ws.read_set(Untouched::NothingRun)?;
    let settings = database::db_settings(ws, &request.db, events)?;
    let mut db = database::connect(ws, &settings, events)?;
    let mut engine = database::watching(ws, &settings)?;
    engine.stop = request.stop.clone();
    // The header comes with the first migration that starts, after any refusal.
    let history = engine.config.history.to_string();
    let mut started = false;
    let report = engine
        .down(
            &mut db.client,
            &set,
            request.target,
            request.dry_run,
            &mut |e| {
                if !started && matches!(e, Event::Starting { .. }) {
                    started = true;
                    events(OpEvent::Reverting {
                        label: &db.label,
                        history: &history,
                    });
                }
                events(OpEvent::Engine(e))
            },
        )
        .map_err(OpError::engine("revert", ws.redacted()))?;
    Ok(DownOutcome {
        report,
        database: ws.redacted(),
    })
}
