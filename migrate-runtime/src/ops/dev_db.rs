//! `dev-db status|url|stop|destroy`: the project's dev database, the PostgreSQL cluster that
//! commands use when no database is configured.

use super::error::OpError;
use super::workspace::Workspace;
use crate::devdb::Running;
use std::path::PathBuf;

/// What `dev-db status` sees.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DevDbReport {
    /// `not created`, `stopped` or `running`.
    pub state: &'static str,
    /// Where its data lives.
    pub dir: PathBuf,
    /// Where the record of a cluster kept outside the project is.
    pub record: Option<PathBuf>,
    /// The project's database.
    pub database: String,
    /// The PostgreSQL major version that created it.
    pub postgres_version: Option<String>,
    /// Its port, when running.
    pub port: Option<u16>,
    /// Its URL, when running.
    pub url: Option<String>,
}

/// The dev database's state, changing nothing.
pub fn status(ws: &Workspace) -> Result<DevDbReport, OpError> {
    let db = ws.dev_db()?;
    let s = db.status()?;
    Ok(DevDbReport {
        state: match (s.created, s.port) {
            (false, _) => "not created",
            (true, None) => "stopped",
            (true, Some(_)) => "running",
        },
        dir: db.dir().to_path_buf(),
        record: db.record(),
        database: db.database().to_string(),
        postgres_version: s.major,
        port: s.port,
        url: s.url,
    })
}

/// Creates and starts it as needed; returns what is running and where.
pub fn url(ws: &Workspace) -> Result<(Running, PathBuf), OpError> {
    let db = ws.dev_db()?;
    Ok((db.ensure()?, db.dir().to_path_buf()))
}

/// Stops the server; whether it was running.
pub fn stop(ws: &Workspace) -> Result<bool, OpError> {
    Ok(ws.dev_db()?.stop()?)
}

/// Deletes the cluster with its data; whether it existed. Returns where it was.
pub fn destroy(ws: &Workspace) -> Result<(bool, PathBuf), OpError> {
    let db = ws.dev_db()?;
    Ok((db.destroy()?, db.dir().to_path_buf()))
}
