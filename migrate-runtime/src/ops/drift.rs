//! `diff` (and `status --drift`): the schema the database's history says it has, rebuilt on a
//! shadow database from the migrations as they ran, compared with the schema it has. Objects
//! made, dropped or changed outside migrations are drift. The database is only read.

use super::database::{self, DbOptions};
use super::error::{OpError, Untouched};
use super::event::OpEvent;
use super::verify::{shadow_server, snapshot_options};
use super::workspace::Workspace;
use crate::engine::history::Recorded as _;
use crate::engine::history::Row;
use crate::engine::status::{Entry, compute};
use crate::engine::{HistoryTable, State};
use crate::model::Directives;
use crate::schema::{Change, ObjectKind, SchemaDiff};
use crate::shadow::{self, DriftRequest as Replay, Recorded};
use crate::{MigrationSet, SqlFile, Version};
use postgres::Client;
use std::time::Instant;

/// What `diff` was asked.
#[derive(Debug, Clone, Default)]
pub struct DriftRequest {
    /// `--shadow-url`: the server to make the shadow database on.
    pub shadow_url: Option<String>,
    /// Database options (the connect timeout).
    pub db: DbOptions,
}

/// A migration the history mentions that was not replayed, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NotReplayed {
    /// Its version.
    pub version: Version,
    /// Its name.
    pub name: String,
    /// Its state (`failed`, `down_failed`): what it left in the database is unknown.
    pub state: State,
}

/// What `diff` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DriftOutcome {
    /// `user@host:port/db` of the database compared.
    pub database: String,
    /// `user@host:port/db` of the server the shadow database was made on.
    pub shadow: String,
    /// How many applied migrations were replayed.
    pub replayed: usize,
    /// Of those, how many were replayed from the text the history recorded (their file was
    /// edited since, or is gone).
    pub from_history: usize,
    /// Migrations in a failed state, not replayed: drift may be what they left behind.
    pub not_replayed: Vec<NotReplayed>,
    /// From the replayed schema (expected) to the database's (actual): `added` exists only in
    /// the database, `removed` only in the replay, `changed` differs.
    pub diff: SchemaDiff,
    /// There is drift.
    pub drifted: bool,
    /// Wall time.
    pub duration_ms: f64,
}

/// Compares the database's schema with the one its applied migrations make.
///
/// ```no_run
/// use migrate_runtime::ops::{self, DriftRequest, Workspace, WorkspaceOptions};
/// let ws = Workspace::locate(&WorkspaceOptions::default(), &std::env::current_dir()?)?;
/// let found = ops::drift(&ws, &DriftRequest::default(), &mut |_| {})?;
/// if found.drifted {
///     print!("{}", found.diff);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn drift(
    ws: &Workspace,
    request: &DriftRequest,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<DriftOutcome, OpError> {
    let (set, _) = ws.read(Untouched::NothingChanged)?;
    let settings = database::db_settings(ws, &request.db, events)?;
    let mut db = database::connect(ws, &settings, events)?;
    let rows = settings
        .engine
        .history(&mut db.client)
        .map_err(OpError::engine("read the history", None))?;
    let server = shadow_server(ws, request.shadow_url.as_deref(), events)?;
    let history = &settings.engine.config.history;
    let mut outcome = compare(
        &set,
        &rows,
        &mut db.client,
        &server,
        settings.connect_timeout,
        history,
        events,
    )?;
    outcome.database = db.label;
    Ok(outcome)
}

/// Replays and compares (the part `status --drift` shares).
pub(crate) fn compare(
    set: &MigrationSet,
    rows: &[Row],
    live: &mut Client,
    server: &crate::engine::connection::ConnInfo,
    timeout: Option<std::time::Duration>,
    history: &HistoryTable,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<DriftOutcome, OpError> {
    let started = Instant::now();
    let entries = compute(set, rows);
    let (migrations, from_history) = recorded(&entries, history);
    let not_replayed = entries
        .iter()
        .filter(|e| matches!(e.state, State::Failed | State::DownFailed))
        .map(|e| NotReplayed {
            version: e.version,
            name: e.name.clone(),
            state: e.state,
        })
        .collect();
    let mut shadow = super::verify::shadow_db(server, timeout, events)?;
    let replay = Replay {
        migrations: &migrations,
        snapshot: snapshot_options(history),
    };
    let mut diff = shadow::drift(&mut shadow, live, &replay, &mut |e| {
        events(OpEvent::Drift(e))
    })?;
    shadow.drop_now()?;
    // The history table's own schema is made by cargo-migrate, not by a migration.
    diff.changes.retain(|c| {
        !(c.kind == ObjectKind::Schema
            && c.name == history.schema
            && matches!(c.change, Change::Added { .. }))
    });
    Ok(DriftOutcome {
        database: String::new(),
        shadow: server.label(),
        replayed: migrations.len(),
        from_history,
        not_replayed,
        drifted: !diff.is_empty(),
        diff,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

/// The applied migrations in the order they were applied, each with the SQL that ran: the
/// file when its checksum is the recorded one, else the recorded text; and how many came
/// from the history.
fn recorded(entries: &[Entry<'_>], history: &HistoryTable) -> (Vec<Recorded>, usize) {
    let mut applied: Vec<(&Entry<'_>, &Row)> = entries
        .iter()
        .filter(|e| matches!(e.state, State::Applied | State::Edited | State::Missing))
        .filter_map(|e| e.row.map(|r| (e, r)))
        .collect();
    applied.sort_by_key(|(_, r)| r.id);
    let mut from_history = 0;
    let migrations = applied
        .into_iter()
        .map(|(e, row)| {
            let (sql, no_transaction) = match e.migration {
                Some(m) if m.up.checksum == row.checksum => {
                    (m.up.clone(), m.directives.no_transaction)
                }
                _ => {
                    from_history += 1;
                    let path = format!(
                        "{history} ({}_{}/migration.sql as recorded)",
                        e.version, e.name
                    );
                    let no_transaction = Directives::parse(&row.sql)
                        .map_or(row.no_transaction && !row.is_failed_down(), |d| {
                            d.no_transaction
                        });
                    (SqlFile::new(path.into(), row.sql.clone()), no_transaction)
                }
            };
            Recorded {
                version: e.version,
                name: e.name.clone(),
                sql,
                no_transaction,
            }
        })
        .collect();
    (migrations, from_history)
}
