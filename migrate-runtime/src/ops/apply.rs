//! `apply`: the lock-file checks and the lint gate before anything connects, then (with the
//! history read) sealing what an interrupted run applied and the drafts checks, then the
//! engine; drafts that applied are sealed, also when a later one failed.

use super::backup;
use super::database::{self, DbOptions};
use super::error::{OpError, Untouched};
use super::event::OpEvent;
use super::preflight::{check_drafts, preflight, require_verified, seal_applied, seal_recorded};
use super::workspace::Workspace;
use crate::MigrationSet;
use crate::Version;
use crate::backup::{BackupRecord, BackupSpec};
use crate::engine::status::newest_applied;
use crate::engine::{ApplyOptions, ApplyReport, Engine, EngineError};
use postgres::Client;
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
    /// `--backup-command`: the backup to take before the first pending migration, instead of
    /// the `backup` setting.
    pub backup_command: Option<String>,
    /// `--no-backup`: take none (and say so).
    pub no_backup: bool,
    /// Set (by a Ctrl-C handler) to stop a running backfill after its current batch.
    pub stop: Option<crate::engine::Stop>,
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
    /// The backup taken before the first migration (recorded in the run's history rows).
    pub backup: Option<BackupRecord>,
    /// A dry run's impact plan: each pending statement's lock, table and effect, each
    /// migration's risk (empty when not a dry run).
    pub impact: Vec<super::impact::MigrationImpact>,
    /// A dry run's backup: what a real run would take before its first migration.
    pub planned_backup: Option<String>,
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
    let backup_spec = backup::spec(ws, request.backup_command.as_deref())?;
    let settings = database::db_settings(ws, &request.db, events)?;
    let mut db = database::connect(ws, &settings, events)?;
    let mut engine = database::watching(ws, &settings)?;
    engine.stop = request.stop.clone();
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
    let result = if request.options.dry_run || (backup_spec.is_none() && !request.no_backup) {
        engine
            .apply(&mut db.client, &set, &request.options, &mut |e| {
                events(OpEvent::Engine(e))
            })
            .map(|report| (report, None))
    } else {
        let spec = backup_spec.as_ref().filter(|_| !request.no_backup);
        let run = BackedUp {
            ws,
            engine: &engine,
            set: &set,
            options: &request.options,
            locked: request.locked,
        };
        run.apply(&mut db.client, spec, events)?
    };
    let (report, backup) = match result {
        Ok(done) => done,
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
    let planned_backup = backup_spec
        .filter(|_| report.dry_run && !request.no_backup && !report.plan.is_empty())
        .map(|s| s.describe());
    let impact = if report.dry_run {
        super::impact::plan_impact(ws, &set, &state, &report.plan, &mut db.client)?
    } else {
        Vec::new()
    };
    let sealed = if report.dry_run {
        Vec::new()
    } else {
        let versions: Vec<Version> = report.applied.iter().map(|a| a.version).collect();
        seal_applied(ws, &set, &state, &versions)?.1
    };
    // Versions and states only: not the texts just recorded (a huge migration's among them).
    let version = engine
        .status_history(&mut db.client)
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
        backup,
        impact,
        planned_backup,
    })
}

/// An apply run with a backup before its first pending migration (or, with `--no-backup`,
/// saying that none is taken).
struct BackedUp<'a> {
    ws: &'a Workspace,
    engine: &'a Engine,
    set: &'a MigrationSet,
    options: &'a ApplyOptions,
    locked: bool,
}

type Ran = Result<(ApplyReport, Option<BackupRecord>), EngineError>;

impl BackedUp<'_> {
    /// With the runner lock held: the plan; when something is pending, the backup (`None`:
    /// skipped), then the run, whose history rows record it. A failed backup refuses the run
    /// before anything ran (the outer error); the engine's result is the inner one.
    fn apply(
        &self,
        client: &mut Client,
        spec: Option<&BackupSpec>,
        events: &mut dyn FnMut(OpEvent<'_>),
    ) -> Result<Ran, OpError> {
        let engine = self.engine;
        let mut guard = match engine.lock(client, &mut |e| events(OpEvent::Engine(e))) {
            Ok(guard) => guard,
            Err(e) => return Ok(Err(e)),
        };
        let rows = match engine.history(&mut guard) {
            Ok(rows) => rows,
            Err(e) => return Ok(Err(e)),
        };
        let pending = match engine.plan(self.set, &rows, self.options) {
            Ok(steps) => !steps.is_empty(),
            Err(e) => return Ok(Err(e)),
        };
        let record = match (pending, spec) {
            (false, _) => None,
            (true, None) => {
                events(OpEvent::NoBackup);
                None
            }
            (true, Some(spec)) => Some(
                backup::take(self.ws, spec, &mut guard, newest_applied(&rows), events).map_err(
                    |error| OpError::Backup {
                        error,
                        help: Some(if self.locked {
                            "--locked requires the configured backup: fix it, or pass \
                             --no-backup explicitly to apply without one"
                                .into()
                        } else {
                            "fix it, or pass --no-backup to apply without a backup".into()
                        }),
                        untouched: Untouched::NothingRun,
                    },
                )?,
            ),
        };
        let json = record.as_ref().map(BackupRecord::to_json);
        Ok(engine
            .apply_locked(
                &mut guard,
                self.set,
                self.options,
                json.as_deref(),
                &mut |e| events(OpEvent::Engine(e)),
            )
            .map(|report| (report, record)))
    }
}
