//! `backup` (one now, on demand), `restore` (into a new database), and the backup `apply`
//! takes before its first pending migration: which one (`--backup-command` over the `backup`
//! setting), taking it, and refusing the run when it fails.

use super::database::{self, DbOptions};
use super::error::{OpError, Untouched};
use super::event::OpEvent;
use super::workspace::Workspace;
use crate::Version;
use crate::backup::{self, BackupRecord, BackupSpec, Restored, Source};
use crate::engine::status::newest_applied;
use postgres::Client;
use std::path::PathBuf;

/// What `backup` was asked.
#[derive(Debug, Clone, Default)]
pub struct BackupRequest {
    /// `--backup-command`: a shell command instead of the `backup` setting.
    pub command: Option<String>,
    /// Database options.
    pub db: DbOptions,
}

/// The backup made.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupOutcome {
    /// What identifies it, its size, how long it took.
    pub backup: BackupRecord,
    /// The database backed up, redacted.
    pub database: Option<String>,
    /// Its version (newest applied migration) when backed up.
    pub version: Option<Version>,
}

/// What `restore` was asked.
#[derive(Debug, Clone, Default)]
pub struct RestoreRequest {
    /// The `pg_dump --format=custom` archive.
    pub file: PathBuf,
    /// The new database's name [default: `<database>_restore_<time>`].
    pub into: Option<String>,
    /// Database options.
    pub db: DbOptions,
}

/// The restored backup.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RestoreOutcome {
    /// The archive.
    pub file: PathBuf,
    /// The new database (its URL redacted).
    pub restored: Restored,
}

/// The backup to take: `--backup-command`, else the `backup` setting; `None` when neither.
pub(crate) fn spec(ws: &Workspace, command: Option<&str>) -> Result<Option<BackupSpec>, OpError> {
    if let Some(command) = command {
        if command.trim().is_empty() {
            return Err(OpError::Setting {
                source: "--backup-command".into(),
                message: "it is empty".into(),
            });
        }
        return Ok(Some(BackupSpec::Command(command.to_string())));
    }
    ws.settings
        .backup
        .as_deref()
        .map(|text| {
            BackupSpec::parse(text, &ws.root).map_err(|message| OpError::Setting {
                source: "`backup` in [package.metadata.migrate]".into(),
                message,
            })
        })
        .transpose()
}

/// Takes a backup of the connected database at `version`.
pub(crate) fn take(
    ws: &Workspace,
    spec: &BackupSpec,
    client: &mut Client,
    version: Option<Version>,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<BackupRecord, backup::BackupError> {
    let info =
        database::conninfo(ws, &mut |_| {}).map_err(|e| backup::BackupError::new(e.to_string()))?;
    let server_version_num: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .map_err(|e| {
            backup::BackupError::new(format!(
                "the backup failed: cannot read the server's version: {}",
                crate::engine::connection::error_text(&e)
            ))
        })?
        .get(0);
    events(OpEvent::BackingUp);
    let record = backup::take(
        spec,
        &Source {
            info,
            server_version_num,
            version,
            root: &ws.root,
        },
    )?;
    events(OpEvent::BackedUp(&record));
    Ok(record)
}

/// Makes a backup now (`cargo migrate backup`), with `--backup-command` or the `backup`
/// setting.
///
/// ```no_run
/// use migrate_runtime::ops::{self, BackupRequest, Workspace, WorkspaceOptions};
/// let ws = Workspace::locate(&WorkspaceOptions::default(), &std::env::current_dir()?)?;
/// let made = ops::backup(&ws, &BackupRequest::default(), &mut |_| {})?;
/// println!("{}", made.backup.id);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn backup(
    ws: &Workspace,
    request: &BackupRequest,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<BackupOutcome, OpError> {
    let spec = spec(ws, request.command.as_deref())?.ok_or_else(|| OpError::Invalid {
        message: "no backup is configured".into(),
        help: Some(
            "set `backup = \"pg_dump:<directory>\"` (or `\"command:<shell command>\"`) in \
             [package.metadata.migrate], or pass --backup-command"
                .into(),
        ),
    })?;
    let settings = database::db_settings(ws, &request.db, events)?;
    let mut db = database::connect(ws, &settings, events)?;
    let rows = settings
        .engine
        .history(&mut db.client)
        .map_err(OpError::engine("back up", ws.redacted()))?;
    let version = newest_applied(&rows);
    let record =
        take(ws, &spec, &mut db.client, version, events).map_err(|error| OpError::Backup {
            error,
            help: None,
            untouched: Untouched::NothingChanged,
        })?;
    Ok(BackupOutcome {
        backup: record,
        database: ws.redacted(),
        version,
    })
}

/// Restores a backup into a new database on the project's database's server
/// (`cargo migrate restore <file>`); the project's database is never written.
///
/// ```no_run
/// use migrate_runtime::ops::{self, RestoreRequest, Workspace, WorkspaceOptions};
/// let ws = Workspace::locate(&WorkspaceOptions::default(), &std::env::current_dir()?)?;
/// let request = RestoreRequest { file: "backups/app-none-20261122T050000Z.dump".into(), ..Default::default() };
/// println!("{}", ops::restore(&ws, &request, &mut |_| {})?.restored.url);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn restore(
    ws: &Workspace,
    request: &RestoreRequest,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<RestoreOutcome, OpError> {
    let settings = database::db_settings(ws, &request.db, events)?;
    let mut db = database::connect(ws, &settings, events)?;
    let info = database::conninfo(ws, events)?;
    let restored = backup::restore(&request.file, info, &mut db.client, request.into.as_deref())
        .map_err(|error| OpError::Backup {
            error,
            help: None,
            untouched: Untouched::NothingChanged,
        })?;
    Ok(RestoreOutcome {
        file: request.file.clone(),
        restored,
    })
}
