//! `reset`: drop the schemas and apply every migration again, for development databases only:
//! a database that is not on this machine is refused (decided from every host and hostaddr
//! the driver would connect to, before connecting) unless forced and confirmed.

use super::database::{self, DbOptions};
use super::error::OpError;
use super::event::OpEvent;
use super::preflight::{check_drafts, preflight, seal_applied};
use super::workspace::Workspace;
use crate::engine::ApplyReport;

/// What `reset` was asked.
#[derive(Debug, Clone, Default)]
pub struct ResetRequest {
    /// Allow a database that is not on this machine.
    pub force: bool,
    /// The database name, typed back.
    pub confirm: Option<String>,
    /// Database options.
    pub db: DbOptions,
}

/// What `reset` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ResetOutcome {
    /// The engine's report of the re-application.
    pub report: ApplyReport,
    /// Drafts sealed.
    pub sealed: Vec<String>,
    /// The connection, redacted.
    pub database: Option<String>,
}

/// Resets the database.
pub fn reset(
    ws: &Workspace,
    request: &ResetRequest,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<ResetOutcome, OpError> {
    let (set, state) = preflight(ws, &request.db)?;
    check_drafts(&set, &state, false, false)?;
    let settings = database::db_settings(ws, &request.db, events)?;
    let info = database::conninfo(ws, events)?;
    let (label, dbname) = (info.label(), info.dbname().to_string());
    if !info.is_local() {
        if !request.force {
            return Err(OpError::NotLocal {
                label,
                address: info
                    .first_remote()
                    .map_or_else(|| "no host".to_string(), |t| t.address()),
                dbname,
            });
        }
        if request.confirm.as_deref() != Some(dbname.as_str()) {
            return Err(OpError::Unconfirmed { label, dbname });
        }
    }
    let mut db = database::connect(ws, &settings, events)?;
    let engine = database::watching(ws, &settings)?;
    events(OpEvent::Resetting {
        label: &db.label,
        schemas: &engine.config.schemas,
    });
    let report = engine
        .reset(&mut db.client, &set, &mut |e| events(OpEvent::Engine(e)))
        .map_err(OpError::engine("reset", None))?;
    let versions: Vec<_> = report.applied.iter().map(|a| a.version).collect();
    let (_, sealed) = seal_applied(ws, &set, &state, &versions)?;
    Ok(ResetOutcome {
        report,
        sealed,
        database: ws.redacted(),
    })
}
