//! Which database, with which settings: the connection (`--database-url`, `DATABASE_URL`,
//! `.env`, `database_url` in the settings, else the dev database, started on demand), parsed
//! once; the engine settings (flags over `[package.metadata.migrate]` over defaults), each
//! parsed and range-checked before anything connects; connecting.

use super::error::OpError;
use super::event::OpEvent;
use super::workspace::Workspace;
use crate::engine::connection::ConnInfo;
use crate::engine::history::Row;
use crate::engine::{
    Engine, EngineConfig, check_lock_timeout, check_statement_timeout, check_wait,
};
use crate::{Ident, parse_duration};
use postgres::Client;
use std::sync::Arc;
use std::time::Duration;

/// The database options of a command (flag values, unparsed; `None`: the setting, else the
/// default).
#[derive(Debug, Clone, Default)]
pub struct DbOptions {
    /// `--history-table`.
    pub history_table: Option<String>,
    /// `--lock-timeout`.
    pub lock_timeout: Option<String>,
    /// `--statement-timeout`.
    pub statement_timeout: Option<String>,
    /// `--lock-retry-budget`.
    pub lock_retry_budget: Option<String>,
    /// `--lock-retries`.
    pub lock_retries: Option<u32>,
    /// `--lock-wait`.
    pub lock_wait: Option<String>,
    /// `--connect-timeout`.
    pub connect_timeout: Option<String>,
    /// `--no-group-commit`.
    pub no_group_commit: bool,
}

/// The settings of a command that talks to a database, checked before connecting.
#[derive(Debug, Clone)]
pub struct DbSettings {
    /// The engine (without its second session yet: see [`watching`]).
    pub engine: Engine,
    /// How long connecting may take (the connection string's `connect_timeout` wins).
    pub connect_timeout: Option<Duration>,
}

/// A value from the flag, else the setting, with where it came from.
fn pick<'a>(
    flag: Option<&'a str>,
    setting: Option<&'a str>,
    flag_name: &str,
    key: &str,
) -> Option<(&'a str, String)> {
    match (flag, setting) {
        (Some(v), _) => Some((v, flag_name.to_string())),
        (None, Some(v)) => Some((v, format!("`{key}` in [package.metadata.migrate]"))),
        (None, None) => None,
    }
}

fn invalid(source: &str, message: impl Into<String>) -> OpError {
    OpError::Setting {
        source: source.to_string(),
        message: message.into(),
    }
}

fn duration((text, source): (&str, String)) -> Result<(Duration, String), OpError> {
    parse_duration(text)
        .map(|d| (d, source.clone()))
        .map_err(|e| invalid(&source, e.to_string()))
}

/// The engine settings from the flags, then `[package.metadata.migrate]`, then defaults; every
/// value parsed and range-checked here, so a bad setting is never blamed on a migration.
///
/// ```
/// use migrate_runtime::ops::{DbOptions, Workspace, WorkspaceOptions, db_settings};
/// let dir = tempfile::tempdir().unwrap();
/// let ws = Workspace::locate(&WorkspaceOptions::default(), dir.path()).unwrap();
/// let options = DbOptions { lock_timeout: Some("600h".into()), ..DbOptions::default() };
/// assert!(db_settings(&ws, &options, &mut |_| {}).is_err());
/// ```
pub fn db_settings(
    ws: &Workspace,
    options: &DbOptions,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<DbSettings, OpError> {
    let s = &ws.settings;
    let mut config = EngineConfig::default();
    if let Some((t, source)) = pick(
        options.history_table.as_deref(),
        s.history_table.as_deref(),
        "--history-table",
        "history_table",
    ) {
        config.history = t.parse().map_err(|e| invalid(&source, format!("{e}")))?;
    }
    if let Some(v) = pick(
        options.lock_timeout.as_deref(),
        s.lock_timeout.as_deref(),
        "--lock-timeout",
        "lock_timeout",
    ) {
        let (d, source) = duration(v)?;
        config.lock_timeout = check_lock_timeout(d).map_err(|e| invalid(&source, e))?;
    }
    if let Some(v) = pick(
        options.statement_timeout.as_deref(),
        s.statement_timeout.as_deref(),
        "--statement-timeout",
        "statement_timeout",
    ) {
        let (d, source) = duration(v)?;
        config.statement_timeout = check_statement_timeout(d).map_err(|e| invalid(&source, e))?;
    }
    for (flag, setting, flag_name, key, target) in [
        (
            options.lock_wait.as_deref(),
            s.lock_wait.as_deref(),
            "--lock-wait",
            "lock_wait",
            &mut config.lock_wait,
        ),
        (
            options.lock_retry_budget.as_deref(),
            s.lock_retry_budget.as_deref(),
            "--lock-retry-budget",
            "lock_retry_budget",
            &mut config.lock_retry_budget,
        ),
    ] {
        if let Some(v) = pick(flag, setting, flag_name, key) {
            let (d, source) = duration(v)?;
            *target = check_wait(&source, d).map_err(|e| invalid(&source, e))?;
        }
    }
    let mut connect_timeout = None;
    if let Some(v) = pick(
        options.connect_timeout.as_deref(),
        s.connect_timeout.as_deref(),
        "--connect-timeout",
        "connect_timeout",
    ) {
        let (d, source) = duration(v)?;
        if d.is_zero() {
            return Err(invalid(&source, "it must be more than 0"));
        }
        connect_timeout = Some(check_wait(&source, d).map_err(|e| invalid(&source, e))?);
    }
    if let Some(n) = options.lock_retries.or(s.lock_retries) {
        config.lock_retries = Some(n);
    }
    if options.no_group_commit || s.group_commit == Some(false) {
        config.group_commit = false;
    }
    if let Some(schemas) = &s.schemas {
        config.schemas = schemas
            .iter()
            .map(|name| {
                name.parse::<Ident>()
                    .map(|i| i.as_str().to_string())
                    .map_err(|e| invalid("`schemas` in [package.metadata.migrate]", e.to_string()))
            })
            .collect::<Result<_, _>>()?;
    }
    events(OpEvent::Settings(&config));
    Ok(DbSettings {
        engine: Engine::new(config),
        connect_timeout,
    })
}

/// The connection, parsed once: `--database-url` or `DATABASE_URL` (environment or `.env`),
/// else `database_url` in the settings, else the project's dev database, created and started
/// on demand (reported as an event). A string that does not parse is refused without any of
/// its text (it may hold a password).
pub fn conninfo<'w>(
    ws: &'w Workspace,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<&'w ConnInfo, OpError> {
    if let Some(info) = ws.conninfo.get() {
        return Ok(info);
    }
    let (text, source) = match (&ws.database_url, &ws.settings.database_url) {
        (Some(url), _) => (url.clone(), ws.database_url_source.clone()),
        (None, Some(url)) => (
            url.clone(),
            "`database_url` in [package.metadata.migrate]".to_string(),
        ),
        (None, None) => (dev_db_url(ws, events)?, "the dev database".to_string()),
    };
    let info = ConnInfo::parse(&text).map_err(|error| OpError::Url { source, error })?;
    Ok(ws.conninfo.get_or_init(|| info))
}

/// Whether [`conninfo`] has nothing to start: a connection string is given (or the
/// connection already resolved), so resolving it only parses it. Without one, it is the dev
/// database's, created and started on demand.
pub(crate) fn connects_quietly(ws: &Workspace) -> bool {
    ws.conninfo.get().is_some() || ws.database_url.is_some() || ws.settings.database_url.is_some()
}

/// Creates and starts the dev database as needed and returns its URL.
fn dev_db_url(ws: &Workspace, events: &mut dyn FnMut(OpEvent<'_>)) -> Result<String, OpError> {
    let db = ws.dev_db()?;
    let running = db.ensure()?;
    let what = match (running.created, running.started) {
        (true, _) => format!("created with PostgreSQL {}", running.major),
        (false, true) => "started".into(),
        (false, false) => "running".into(),
    };
    events(OpEvent::UsingDevDb {
        url: &running.url,
        what: &what,
        dir: db.dir(),
        server_user: &running.server_user,
    });
    Ok(running.url)
}

/// A connected database.
pub struct Connected {
    /// The session.
    pub client: Client,
    /// `user@host:port/db`, never the password.
    pub label: String,
}

/// Connects to the workspace's database; reports the server (version, TLS) as an event.
pub fn connect(
    ws: &Workspace,
    settings: &DbSettings,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<Connected, OpError> {
    let info = conninfo(ws, events)?;
    let (connected, server) = connect_to(info, settings.connect_timeout)?;
    if let Some(server) = &server {
        server.report(&connected.label, events);
    }
    Ok(connected)
}

/// What the server said of itself once connected.
pub(crate) struct Server {
    /// `server_version`.
    pub version: String,
    /// Whether the session is encrypted.
    pub tls: bool,
}

impl Server {
    /// The [`OpEvent::Connected`] event.
    pub fn report(&self, label: &str, events: &mut dyn FnMut(OpEvent<'_>)) {
        events(OpEvent::Connected {
            label,
            server_version: &self.version,
            tls: self.tls,
        });
    }
}

/// Connects to `info` (no workspace needed: a thread of its own can do it); the server's
/// version and TLS, when it tells them.
pub(crate) fn connect_to(
    info: &ConnInfo,
    timeout: Option<Duration>,
) -> Result<(Connected, Option<Server>), OpError> {
    let mut client = info.connect(timeout)?;
    let label = info.label();
    let sql = "SELECT current_setting('server_version'), \
               coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)";
    let server = client.query_one(sql, &[]).ok().map(|row| Server {
        version: row.get(0),
        tls: row.get(1),
    });
    Ok((Connected { client, label }, server))
}

/// The engine with a second session to the same database, opened when a migration waits for a
/// lock (to say who blocks it, and to retry as soon as they finish).
/// Its cancel requests (a backfill's batch cancelled on a second Ctrl-C) connect the same way.
pub fn watching(ws: &Workspace, settings: &DbSettings) -> Result<Engine, OpError> {
    let info = conninfo(ws, &mut |_| {})?.clone();
    let cancel = info.clone();
    let timeout = settings.connect_timeout;
    Ok(settings
        .engine
        .clone()
        .with_sessions(Arc::new(move || {
            info.connect(timeout).map_err(|e| e.message)
        }))
        .with_canceller(Arc::new(move |token| cancel.cancel(token))))
}

/// The history of the configured database (or of the dev database when it already runs),
/// read without creating or starting anything; `None` when there is none or it cannot be
/// read.
pub(crate) fn recorded_history(ws: &Workspace, options: &DbOptions) -> Option<Vec<Row>> {
    let url = match (&ws.database_url, &ws.settings.database_url) {
        (Some(url), _) | (None, Some(url)) => url.clone(),
        (None, None) => ws.dev_db().ok()?.status().ok()?.url?,
    };
    let settings = db_settings(ws, options, &mut |_| {}).ok()?;
    let info = ConnInfo::parse(&url).ok()?;
    let mut client = info.connect(settings.connect_timeout).ok()?;
    settings.engine.history(&mut client).ok()
}
