//! `status`: every migration known to the directory or the database with its state and the
//! details of the run that put it there, plus lock-file problems. Takes no lock, creates
//! nothing.

use super::database::{self, DbOptions};
use super::database::{Connected, DbSettings};
use super::drift::{DriftOutcome, compare};
use super::error::{OpError, Untouched};
use super::event::OpEvent;
use super::verify::shadow_server;
use super::workspace::Workspace;
use crate::engine::history::Recorded as _;
use crate::engine::history::{RareColumns, StatusRow};
use crate::engine::status::{absent_folder, each_state};
use crate::engine::unified_diff;
use crate::engine::{EngineConfig, EngineError, LockHolder, State, lock_holder};
use crate::{Finding, MigrationSet, Version, verify};
use std::mem::take;
use std::path::PathBuf;
use time::OffsetDateTime;

/// One migration's line of `status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatusEntry {
    /// Its version.
    pub version: Version,
    /// Its name.
    pub name: String,
    /// Its state.
    pub state: State,
    /// Sealed in the lock file.
    pub sealed: bool,
    /// In the directory but not sealed.
    pub draft: bool,
    /// Its folder (present or not).
    pub path: PathBuf,
    /// Runs outside a transaction (from the file, else the history).
    pub no_transaction: Option<bool>,
    /// When the run that put it in this state finished (or started, if it did not finish);
    /// `None` for pending migrations.
    #[serde(with = "time::serde::rfc3339::option")]
    pub at: Option<OffsetDateTime>,
    /// When it was applied (applied, edited and missing migrations).
    #[serde(with = "time::serde::rfc3339::option")]
    pub applied_at: Option<OffsetDateTime>,
    /// How long that run took.
    pub duration_ms: Option<f64>,
    /// The database user that ran it.
    pub applied_by: Option<String>,
    /// The error (failed migrations, failed downs part-way).
    pub error: Option<String>,
    /// The error of its last `down`, which failed and was rolled back (it is still applied).
    pub down_error: Option<String>,
    /// Statements done (no-transaction files, and a down that failed part-way).
    pub statements_applied: Option<i32>,
    /// Statements in the file that ran.
    pub statements_total: Option<i32>,
    /// The SQL the database recorded (edited and missing migrations).
    pub recorded_sql: Option<String>,
    /// For an edited migration: the diff from the recorded SQL to the file.
    pub diff: Option<String>,
    /// The backup the run that put it in this state took before its first migration (boxed,
    /// as are the backfill's progress: few of ten thousand entries have one).
    pub backup: Option<Box<crate::backup::BackupRecord>>,
    /// A backfill that did not finish (interrupted, failed, or running now): its last
    /// checkpoint.
    pub backfill: Option<Box<crate::engine::history::BackfillProgress>>,
    /// A run that never ended (its history row has no end: a backfill or a file outside a
    /// transaction): going on now, or cut off. `None` for every other entry.
    pub unfinished: Option<Unfinished>,
}

/// A run whose history row has no end: whether it is going on, told by the migration lock
/// (read from `pg_locks`; `status` does not take it).
///
/// ```
/// use migrate_runtime::ops::Unfinished;
/// assert_eq!(Unfinished::Interrupted.as_str(), "interrupted");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unfinished {
    /// The session that holds the migration lock began before the run: the run is going on.
    Running(Box<LockHolder>),
    /// No session holds it, or one that began after the run (another command): the run was
    /// cut off (killed, its connection lost, stopped by Ctrl-C); the next run of the same
    /// command resumes it.
    Interrupted,
}

impl Unfinished {
    /// The name used in JSON: `running` or `interrupted`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Unfinished::Running(_) => "running",
            Unfinished::Interrupted => "interrupted",
        }
    }
}

/// How `status` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusVerdict {
    /// Every migration is applied.
    UpToDate,
    /// Some are pending, nothing is wrong.
    Pending,
    /// Something needs attention: edited, missing, failed, out of order, partly reverted,
    /// lock-file problems, or (with `--drift`) drift.
    Problems,
}

/// What `status` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatusReport {
    /// `user@host:port/db`.
    pub label: String,
    /// The connection, redacted.
    pub database: Option<String>,
    /// The history table.
    pub history_table: String,
    /// Every migration, in version order.
    pub entries: Vec<StatusEntry>,
    /// Lock-file problems (drafts are not problems).
    pub lock_findings: Vec<Finding>,
    /// How many migrations are in each state, in [`State::ALL`] order.
    pub summary: Vec<(State, usize)>,
    /// With `--drift`: how the schema differs from the one the applied migrations make
    /// (drift is a problem).
    pub drift: Option<DriftOutcome>,
    /// The verdict.
    pub verdict: StatusVerdict,
}

/// What `status` was asked.
#[derive(Debug, Clone, Default)]
pub struct StatusRequest {
    /// Database options (the connect timeout).
    pub db: DbOptions,
    /// `--drift`: also compare the schema with the one the applied migrations make (see
    /// [`drift`](super::drift())).
    pub drift: bool,
    /// `--shadow-url`: the server for the shadow database of `--drift`.
    pub shadow_url: Option<String>,
}

/// An edited migration's text as the diff shows it: kept when the set was read with texts,
/// else read again (it was read and hashed a moment ago).
fn up_text(m: &crate::Migration) -> std::borrow::Cow<'_, str> {
    if m.up.sql.is_empty() {
        std::fs::read_to_string(&m.up.path)
            .unwrap_or_default()
            .into()
    } else {
        m.up.sql.as_str().into()
    }
}

/// The state of every migration (and, asked, the schema's drift).
///
/// ```no_run
/// use migrate_runtime::ops::{self, StatusRequest, Workspace, WorkspaceOptions};
/// let ws = Workspace::locate(&WorkspaceOptions::default(), &std::env::current_dir()?)?;
/// let report = ops::status(&ws, &StatusRequest::default(), &mut |_| {})?;
/// println!("{} migrations, {:?}", report.entries.len(), report.verdict);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn status(
    ws: &Workspace,
    request: &StatusRequest,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<StatusReport, OpError> {
    // Checksums suffice, except for `--drift`, which replays the files. An edited
    // migration's text is read again below, to show its diff.
    let read = || {
        if request.drift {
            ws.read(Untouched::NothingChanged)
        } else {
            ws.read_checksums(Untouched::NothingChanged)
        }
    };
    // The database is connected to and its history read on a thread of its own while the
    // directory is read here: the two take about as long. (This way round the directory's
    // big, short-lived allocations, the lock file's text among them, are made where the
    // report is built later, which reuses their memory.) When the read fails, its error is
    // reported at once: the thread is not waited for (a server that does not answer would
    // hold the error back until the connect timeout), and nothing the connection would print
    // (with `--verbose`) is printed. With no database configured the dev database is used,
    // and it is started only once the directory was read (a directory that cannot be read
    // must not create or start it): one after the other.
    let (read, opened) = if database::connects_quietly(ws) {
        let mut held = HeldBack::default();
        // Settings and connection string resolved here: with a string given, no I/O.
        let resolved =
            database::db_settings(ws, &request.db, &mut |e| held.record(e)).and_then(|settings| {
                let info = database::conninfo(ws, &mut |_| {})?.clone();
                Ok((settings, info))
            });
        let pending = resolved.map(|(settings, info)| {
            let (engine, timeout) = (settings.engine.clone(), settings.connect_timeout);
            let opening = move || -> Result<_, OpError> {
                let (mut db, server) = database::connect_to(&info, timeout)?;
                let rows = engine
                    .status_history(&mut db.client)
                    .map_err(OpError::engine("read the status", None));
                Ok((db, server, rows))
            };
            // The thread may outlive this call when the read fails: until the connection is
            // made or times out. Without a thread, one after the other.
            let opening = std::thread::Builder::new()
                .name("status-connect".into())
                .spawn(opening.clone())
                .map_err(|_| opening);
            (settings, opening)
        });
        // A failed read returns here, leaving the thread to end on its own.
        let read = read()?;
        held.replay(events);
        let (settings, opening) = pending?;
        let opened = match opening {
            Ok(thread) => match thread.join() {
                Ok(opened) => opened,
                Err(panic) => std::panic::resume_unwind(panic),
            },
            Err(opening) => opening(),
        };
        // The server is reported once connected, whether its history could be read or not.
        let (db, server, rows) = opened?;
        if let Some(server) = &server {
            server.report(&db.label, events);
        }
        let rows = rows?;
        (read, Opened { settings, db, rows })
    } else {
        let read = read()?;
        (read, open(ws, &request.db, events)?)
    };
    let (set, state) = read;
    let Opened {
        settings,
        mut db,
        mut rows,
    } = opened;
    let lock_findings: Vec<Finding> = verify(&set, &state)
        .into_iter()
        .filter(|f| !matches!(f, Finding::Unsealed { .. }))
        .collect();
    // The entries need only which versions are sealed: the lock file (ten thousand entries
    // of a hundred bytes) is dropped before they are built.
    let sealed: Vec<Version> = state.sealed().map_or_else(Vec::new, |l| {
        l.entries().iter().map(|e| e.version).collect()
    });
    drop(state);
    let is_sealed = |v: Version| sealed.binary_search(&v).is_ok();
    // The recorded SQL only where it is shown (edited and missing migrations).
    settings
        .engine
        .recorded_sql_for(&mut db.client, &mut rows, |r| {
            set.get(r.version)
                .is_none_or(|m| m.up.checksum != r.checksum)
        })
        .map_err(OpError::engine("read the status", None))?;
    let drift = if request.drift {
        // The replay needs the whole history, texts included.
        let rows = settings
            .engine
            .history(&mut db.client)
            .map_err(OpError::engine("read the status", None))?;
        let server = shadow_server(ws, request.shadow_url.as_deref(), events)?;
        let history = &settings.engine.config.history;
        let timeout = settings.connect_timeout;
        let mut found = compare(
            &set,
            &rows,
            &mut db.client,
            &server,
            timeout,
            history,
            events,
        )?;
        found.database.clone_from(&db.label);
        Some(found)
    } else {
        None
    };
    // The set is given up before the entries are made: each entry's name and folder are
    // moved out of it (ten thousand of each, not copied) next to its state, and the files
    // (ten thousand migrations of a few hundred bytes) are gone before the entries' room is
    // taken.
    let (dir, known, diffs) = known(set, &rows);
    let mut diffs = diffs.into_iter().peekable();
    let mut entries: Vec<StatusEntry> = known
        .into_iter()
        .map(|k| {
            let (name, path) = if k.file.is_some() {
                (k.name, k.path)
            } else {
                let name = k.row.map_or("", |i| rows[i].name.as_str()).to_string();
                let path = absent_folder(&dir, k.version, &name);
                (name, path)
            };
            let no_transaction = k
                .no_transaction
                .or_else(|| k.row.map(|i| rows[i].no_transaction));
            let diff = diffs.next_if(|(v, _)| *v == k.version).map(|(_, d)| d);
            // History details describe the state only when it came from a run.
            let run = k
                .row
                .map(|i| &mut rows[i])
                .filter(|_| !matches!(k.state, State::Pending | State::OutOfOrder));
            let mut entry = StatusEntry {
                version: k.version,
                name,
                state: k.state,
                sealed: is_sealed(k.version),
                draft: k.file.is_some() && !is_sealed(k.version),
                path,
                no_transaction,
                at: None,
                applied_at: None,
                duration_ms: None,
                applied_by: None,
                error: None,
                down_error: None,
                statements_applied: None,
                statements_total: None,
                recorded_sql: None,
                diff,
                backup: None,
                backfill: None,
                unfinished: None,
            };
            if let Some(r) = run {
                fill_from_run(&mut entry, r);
            }
            entry
        })
        .collect();
    drop(rows);
    tell_running(
        &mut entries,
        &mut db.client,
        &settings.engine.config.history,
    )?;
    let drifted = drift.as_ref().is_some_and(|d| d.drifted);
    let count = |s: State| entries.iter().filter(|e| e.state == s).count();
    let verdict =
        if entries.iter().any(|e| e.state.is_problem()) || !lock_findings.is_empty() || drifted {
            StatusVerdict::Problems
        } else if count(State::Pending) > 0 {
            StatusVerdict::Pending
        } else {
            StatusVerdict::UpToDate
        };
    Ok(StatusReport {
        label: db.label,
        database: ws.redacted(),
        history_table: settings.engine.config.history.to_string(),
        summary: State::ALL.iter().map(|s| (*s, count(*s))).collect(),
        entries,
        lock_findings,
        drift,
        verdict,
    })
}

/// One migration's state, with what its entry takes from its file moved out of the set: ten
/// thousand of these are held while the entries are made.
struct Known {
    version: Version,
    state: State,
    /// The index of its file in the set, when present: `name`, `path` and `no_transaction`
    /// are the file's.
    file: Option<usize>,
    no_transaction: Option<bool>,
    name: String,
    path: PathBuf,
    /// The index of its newest history row.
    row: Option<usize>,
}

/// The set consumed: its directory, the state of every migration with what its entry takes
/// from its file (names and folders moved out of the set), and the diffs of the edited files
/// (in version order), made while their texts (or paths) are at hand. The set's room is given
/// back here, before the entries take theirs.
fn known(
    mut set: MigrationSet,
    rows: &[StatusRow],
) -> (PathBuf, Vec<Known>, Vec<(Version, String)>) {
    let mut known = Vec::with_capacity(set.migrations.len().max(rows.len()));
    let mut diffs = Vec::new();
    each_state(&set, rows, |e| {
        known.push(Known {
            version: e.version,
            state: e.state,
            file: e.migration,
            no_transaction: None,
            name: String::new(),
            path: PathBuf::new(),
            row: e.row,
        })
    });
    for k in &mut known {
        let Some(m) = k.file.map(|i| &mut set.migrations[i]) else {
            continue;
        };
        if let (State::Edited, Some(r)) = (k.state, k.row.map(|i| &rows[i])) {
            let diff = unified_diff(r.sql().unwrap_or_default(), &up_text(m), &m.up.path);
            diffs.push((k.version, diff));
        }
        k.no_transaction = Some(m.directives.no_transaction);
        k.name = take(&mut m.name);
        k.path = take(&mut m.dir);
    }
    (set.dir, known, diffs)
}

/// The details of the run that put an entry in its state, moved out of its history row.
fn fill_from_run(entry: &mut StatusEntry, r: &mut StatusRow) {
    let state = entry.state;
    entry.at = Some(r.finished_at.unwrap_or(r.started_at));
    entry.applied_at = r
        .finished_at
        .filter(|_| matches!(state, State::Applied | State::Edited | State::Missing));
    entry.duration_ms = r.execution_ms;
    let failed_down = r.is_failed_down();
    let RareColumns {
        error,
        backup,
        backfill,
        sql,
    } = r.rare.take().map(|rare| *rare).unwrap_or_default();
    entry.statements_applied = Some(r.statements_applied)
        .filter(|_| backfill.is_none())
        .filter(|_| r.no_transaction || state == State::DownFailed);
    entry.statements_total = r.statements_total;
    if matches!(state, State::Edited | State::Missing) {
        entry.recorded_sql = Some(sql.unwrap_or_default());
    }
    if state == State::Applied && failed_down {
        entry.down_error = error;
    } else if matches!(state, State::Failed | State::DownFailed) {
        entry.error = error;
        entry.backfill = backfill;
        // Until [`tell_running`] asks the lock.
        entry.unfinished = r.finished_at.is_none().then_some(Unfinished::Interrupted);
    }
    entry.backup = backup;
    entry.applied_by = Some(r.applied_by.to_string());
}

/// The runs that never ended, told apart: running when the session that holds the migration
/// lock began before the run did (asked once, only when there is such a run), else
/// interrupted.
fn tell_running(
    entries: &mut [StatusEntry],
    client: &mut postgres::Client,
    history: &crate::engine::HistoryTable,
) -> Result<(), OpError> {
    if entries.iter().all(|e| e.unfinished.is_none()) {
        return Ok(());
    }
    let read = |e| {
        OpError::engine("read the status", None)(EngineError::db(
            "cannot read who holds the migration lock",
        )(e))
    };
    let Some(holder) = lock_holder(client, history).map_err(read)? else {
        return Ok(());
    };
    // The run that wrote a row began after its session did; a session that began later (a
    // `resolve`, `reset`, or the next `apply` before it writes its own row) runs something
    // else.
    let began: Option<OffsetDateTime> = client
        .query_opt(
            "SELECT backend_start FROM pg_catalog.pg_stat_activity WHERE pid = $1",
            &[&holder.pid],
        )
        .map_err(read)?
        .and_then(|r| r.get(0));
    let Some(began) = began else {
        return Ok(());
    };
    for e in entries.iter_mut() {
        if let (Some(u), Some(started)) = (e.unfinished.as_mut(), e.at)
            && began <= started
        {
            *u = Unfinished::Running(Box::new(holder.clone()));
        }
    }
    Ok(())
}

/// The database, connected, with its history as `status` shows it.
struct Opened {
    settings: DbSettings,
    db: Connected,
    rows: Vec<StatusRow>,
}

/// The settings checked, the connection made, the history read.
fn open(
    ws: &Workspace,
    options: &DbOptions,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<Opened, OpError> {
    let settings = database::db_settings(ws, options, events)?;
    let mut db = database::connect(ws, &settings, events)?;
    let rows = settings
        .engine
        .status_history(&mut db.client)
        .map_err(OpError::engine("read the status", None))?;
    Ok(Opened { settings, db, rows })
}

/// The settings' event of opening the database while the directory is read, held back until
/// the read succeeded (with a URL configured, the settings are all it reports before the
/// connection).
#[derive(Default)]
struct HeldBack {
    settings: Option<EngineConfig>,
}

impl HeldBack {
    fn record(&mut self, event: OpEvent<'_>) {
        if let OpEvent::Settings(config) = event {
            self.settings = Some(config.clone());
        }
    }

    /// Reports what was held back.
    fn replay(self, events: &mut dyn FnMut(OpEvent<'_>)) {
        if let Some(config) = &self.settings {
            events(OpEvent::Settings(config));
        }
    }
}
