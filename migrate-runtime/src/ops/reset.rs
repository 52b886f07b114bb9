//! `reset`: drop the schemas and apply every migration again, for development databases only:
//! a database that is not on this machine is refused (decided from every host and hostaddr
//! the driver would connect to, before connecting) unless forced and confirmed.

use super::database::{self, DbOptions};
use super::error::OpError;
use super::event::OpEvent;
use super::preflight::{check_drafts, preflight, seal_applied};
use super::workspace::Workspace;
use crate::engine::ApplyReport;
use crate::engine::connection::ConnInfo;

/// What `reset` was asked.
#[derive(Debug, Clone, Default)]
pub struct ResetRequest {
    /// Allow a database that is not on this machine.
    pub force: bool,
    /// The database name, typed back.
    pub confirm: Option<String>,
    /// Seed afterwards (`reset --seed`), in the same run: the seed files are read first.
    pub seed: bool,
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
    /// The seed files run afterwards (`--seed`).
    pub seeded: Vec<std::path::PathBuf>,
    /// The connection, redacted.
    pub database: Option<String>,
}

/// The guard of the commands that destroy or overwrite data (`reset`, `seed`): a database
/// that is not on this machine (decided from every host and hostaddr the driver would connect
/// to, before connecting) is refused unless `force` and `confirm` repeats its name.
pub(crate) fn local_only(
    info: &ConnInfo,
    what: &'static str,
    force: bool,
    confirm: Option<&str>,
) -> Result<(), OpError> {
    if info.is_local() {
        return Ok(());
    }
    let (label, dbname) = (info.label(), info.dbname().to_string());
    if !force {
        return Err(OpError::NotLocal {
            what,
            label,
            address: info
                .first_remote()
                .map_or_else(|| "no host".to_string(), |t| t.address()),
            dbname,
        });
    }
    if confirm != Some(dbname.as_str()) {
        return Err(OpError::Unconfirmed {
            what,
            label,
            dbname,
        });
    }
    Ok(())
}

/// Resets the database.
pub fn reset(
    ws: &Workspace,
    request: &ResetRequest,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<ResetOutcome, OpError> {
    let (set, state) = preflight(ws, &request.db)?;
    check_drafts(&set, &state, false, false)?;
    let seeds = if request.seed {
        super::seed::seed_files(ws, None)?
    } else {
        Vec::new()
    };
    let settings = database::db_settings(ws, &request.db, events)?;
    local_only(
        database::conninfo(ws, events)?,
        "reset",
        request.force,
        request.confirm.as_deref(),
    )?;
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
    if !seeds.is_empty() {
        super::seed::run_seeds(&mut db.client, &seeds)?;
    }
    Ok(ResetOutcome {
        report,
        sealed,
        seeded: seeds.into_iter().map(|f| f.path).collect(),
        database: ws.redacted(),
    })
}
