//! `apply`: the lock-file checks and the lint gate before anything connects, then (with the
//! history read) sealing what an interrupted run applied and the drafts checks, then the
//! engine; drafts that applied are sealed, also when a later one failed.

use super::database::{self, DbOptions};
use super::error::OpError;
use super::event::OpEvent;
use super::preflight::{check_drafts, preflight, require_verified, seal_applied, seal_recorded};
use super::workspace::Workspace;
use crate::Version;
use crate::engine::status::newest_applied;
use crate::engine::{ApplyOptions, ApplyReport};
use std::time::Instant;

/// What `apply` was asked.
#[derive(Debug, Clone, Default)]
pub struct ApplyRequest {
    /// The engine's options (`--to`, `--dry-run`, `--single-transaction`,
    /// `--allow-out-of-order`).
    pub options: ApplyOptions,
    /// `--locked`: production mode, sealed migrations only.
    pub locked: bool,
    /// `--allow-unsafe`: apply drafts despite error-level lint findings.
    pub allow_unsafe: bool,
    /// Database options.
    pub db: DbOptions,
}

/// What `apply` did (or, in a dry run, would do).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApplyOutcome {
    /// The engine's report: the plan and what ran.
    pub report: ApplyReport,
    /// `user@host:port/db`.
    pub label: String,
    /// The connection, redacted.
    pub database: Option<String>,
    /// The history table.
    pub history_table: String,
    /// Drafts sealed: first those an interrupted run had applied, then this run's.
    pub sealed: Vec<String>,
    /// Of `sealed`, those an interrupted run had applied.
    pub recovered: Vec<String>,
    /// Wall time of the engine's run.
    pub duration_ms: f64,
    /// The newest applied version afterwards.
    pub version: Option<Version>,
}

/// Applies pending migrations.
pub fn apply(
    ws: &Workspace,
    request: &ApplyRequest,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<ApplyOutcome, OpError> {
    let (set, state) = preflight(ws, &request.db)?;
    super::lint::gate(
        ws,
        &set,
        &state,
        request.options.to,
        request.allow_unsafe,
        events,
    )?;
    let settings = database::db_settings(ws, &request.db, events)?;
    let mut db = database::connect(ws, &settings, events)?;
    let engine = database::watching(ws, &settings)?;
    let fail = |ws: &Workspace| OpError::engine("apply", ws.redacted());
    // Drafts an interrupted run applied are sealed first, so they are not refused as drafts.
    let rows = engine.history(&mut db.client).map_err(fail(ws))?;
    let (state, recovered) = seal_recorded(ws, &set, &state, &rows)?;
    if !recovered.is_empty() {
        events(OpEvent::SealedRecovered(&recovered));
    }
    check_drafts(
        &set,
        &state,
        request.locked,
        request.options.allow_out_of_order,
    )?;
    if request.locked && ws.settings.require_verified == Some(true) {
        require_verified(&set, &state, &rows, request.options.to)?;
    }
    let history_table = engine.config.history.to_string();
    if !request.options.dry_run {
        events(OpEvent::Applying {
            dir: &ws.dir,
            label: &db.label,
            history: &history_table,
        });
    }
    let started = Instant::now();
    let result = engine.apply(&mut db.client, &set, &request.options, &mut |e| {
        events(OpEvent::Engine(e))
    });
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            // What committed before the failure is sealed and reported.
            let versions: Vec<Version> = error.completed().iter().map(|a| a.version).collect();
            let (_, sealed) = seal_applied(ws, &set, &state, &versions)?;
            return Err(OpError::Engine {
                error,
                what: "apply",
                database: ws.redacted(),
                sealed: recovered.into_iter().chain(sealed).collect(),
            });
        }
    };
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let sealed = if report.dry_run {
        Vec::new()
    } else {
        let versions: Vec<Version> = report.applied.iter().map(|a| a.version).collect();
        seal_applied(ws, &set, &state, &versions)?.1
    };
    let version = engine
        .history(&mut db.client)
        .ok()
        .and_then(|rows| newest_applied(&rows));
    Ok(ApplyOutcome {
        report,
        label: db.label,
        database: ws.redacted(),
        history_table,
        sealed: recovered.iter().cloned().chain(sealed).collect(),
        recovered,
        duration_ms,
        version,
    })
}
