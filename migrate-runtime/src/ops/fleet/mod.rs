//! Fleets: the same sealed migrations applied to many databases (one per tenant or region),
//! and the status of every one in one report.
//!
//! - `file`: the fleet file (one connection string or `env:VAR` per line), parsed before
//!   anything connects;
//! - `pool`: bounded parallelism, the canary databases first, fail-fast.
//!
//! Each database is one ordinary `apply` (or `status`) on a [`Workspace`] of its own
//! ([`Workspace::for_database`]) sharing the migrations read once, so every check, the
//! advisory lock, the retries and the reports are those of a single database; a rerun applies
//! only what is pending where it is pending. Everything that would refuse every database (a
//! bad fleet line, the lock file, drafts, a bad setting) refuses before any connection.
//!
//! ```no_run
//! use migrate_runtime::ops::{self, Workspace, WorkspaceOptions};
//! use migrate_runtime::ops::fleet::{FleetRequest, apply_fleet};
//! let ws = Workspace::locate(&WorkspaceOptions::default(), &std::env::current_dir()?)?;
//! let request = FleetRequest { file: Some("fleet.txt".into()), ..FleetRequest::default() };
//! let report = apply_fleet(&ws, &request, &mut ops::quiet())?;
//! println!("{} failed", report.count(|o| o.failed()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod file;
mod pool;

pub use file::{FleetFileError, LineProblem, Member, parse, read};
pub use pool::Schedule;

use super::database::{self, DbOptions};
use super::error::{OpError, Untouched};
use super::event::OpEvent;
use super::preflight::{check_drafts, preflight};
use super::workspace::Workspace;
use super::{ApplyOutcome, ApplyRequest, StatusReport};
use crate::Version;
use crate::engine::status::newest_applied;
use crate::engine::{Completed, Event};
use pool::Step;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// The default number of databases worked on at once.
pub const DEFAULT_JOBS: usize = 4;

/// What `apply --fleet` was asked.
#[derive(Debug, Clone)]
pub struct FleetRequest {
    /// The fleet file (`None`: the `fleet` setting).
    pub file: Option<PathBuf>,
    /// Databases worked on at once.
    pub jobs: usize,
    /// Start no new database after a failure.
    pub fail_fast: bool,
    /// Apply to the first N databases first, and to the rest only when none of them failed.
    pub canary: Option<usize>,
    /// What each database is asked (`locked` is implied: a fleet gets sealed migrations only).
    pub apply: ApplyRequest,
}

impl Default for FleetRequest {
    fn default() -> FleetRequest {
        FleetRequest {
            file: None,
            jobs: DEFAULT_JOBS,
            fail_fast: false,
            canary: None,
            apply: ApplyRequest::default(),
        }
    }
}

/// One database of the fleet, as shown (never with its password).
#[derive(Debug, Clone, serde::Serialize)]
pub struct FleetMember {
    /// Its line in the fleet file.
    pub line: usize,
    /// `user@host:port/db`.
    pub label: String,
    /// The connection, redacted.
    pub database: String,
}

/// Why a database was not worked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Skipped {
    /// `--fail-fast`: another database failed first.
    FailFast,
    /// A canary database failed.
    Canary,
}

/// What became of one database.
#[derive(Debug)]
pub enum FleetOutcome {
    /// `apply` succeeded (it may have had nothing to apply).
    Applied(Box<ApplyOutcome>),
    /// `apply` refused or failed there.
    Failed {
        /// Why, exactly as `apply` on that database alone says it.
        error: Box<OpError>,
        /// The newest applied version afterwards, when the database could be read.
        version: Option<Version>,
    },
    /// Not worked on.
    Skipped(Skipped),
}

impl FleetOutcome {
    /// Whether it failed.
    pub fn failed(&self) -> bool {
        matches!(self, FleetOutcome::Failed { .. })
    }

    /// Whether it was skipped.
    pub fn skipped(&self) -> bool {
        matches!(self, FleetOutcome::Skipped(_))
    }

    /// Whether it succeeded with something applied.
    pub fn applied_any(&self) -> bool {
        matches!(self, FleetOutcome::Applied(o) if !o.report.applied.is_empty())
    }

    /// The newest applied version afterwards, when known.
    pub fn version(&self) -> Option<Version> {
        match self {
            FleetOutcome::Applied(o) => o.version,
            FleetOutcome::Failed { version, .. } => *version,
            FleetOutcome::Skipped(_) => None,
        }
    }

    /// The migrations applied (also those that committed before a failure).
    pub fn applied(&self) -> &[Completed] {
        match self {
            FleetOutcome::Applied(o) => &o.report.applied,
            FleetOutcome::Failed { error, .. } => match error.as_ref() {
                OpError::Engine { error, .. } => error.completed(),
                _ => &[],
            },
            FleetOutcome::Skipped(_) => &[],
        }
    }
}

/// One database's line of the fleet report.
#[derive(Debug)]
pub struct FleetEntry {
    /// The database.
    pub member: FleetMember,
    /// What became of it.
    pub outcome: FleetOutcome,
    /// Wall time spent on it (0 when skipped).
    pub duration_ms: f64,
}

/// What `apply --fleet` did, database by database in the fleet file's order.
#[derive(Debug)]
pub struct FleetReport {
    /// The fleet file.
    pub file: PathBuf,
    /// How it ran.
    pub schedule: Schedule,
    /// Every database.
    pub entries: Vec<FleetEntry>,
    /// Wall time of the whole run.
    pub duration_ms: f64,
}

impl FleetReport {
    /// How many databases match.
    pub fn count(&self, pick: impl Fn(&FleetOutcome) -> bool) -> usize {
        self.entries.iter().filter(|e| pick(&e.outcome)).count()
    }

    /// Whether every database succeeded.
    pub fn ok(&self) -> bool {
        self.entries
            .iter()
            .all(|e| matches!(e.outcome, FleetOutcome::Applied(_)))
    }
}

/// Progress of a fleet run, for the front end.
#[derive(Debug)]
#[non_exhaustive]
pub enum FleetEvent<'a> {
    /// The run starts.
    Started {
        /// The fleet file.
        file: &'a Path,
        /// How many databases.
        databases: usize,
        /// How it runs.
        schedule: Schedule,
    },
    /// Work on a database starts.
    DatabaseStarted(&'a FleetMember),
    /// A migration was applied to a database.
    Applied {
        /// The database.
        member: &'a FleetMember,
        /// The migration.
        migration: &'a Completed,
    },
    /// A database waits (for another runner's lock, or a lock a migration needs).
    Waiting {
        /// The database.
        member: &'a FleetMember,
        /// What it waits for.
        message: &'a str,
    },
    /// A database is done.
    DatabaseDone(&'a FleetEntry),
    /// A canary database failed: the rest are not touched.
    CanaryFailed {
        /// How many canary databases failed.
        failed: usize,
    },
    /// `--fail-fast`: a database failed; no new one starts.
    Stopping(&'a FleetMember),
}

/// Progress a worker sends to the calling thread.
enum Progress {
    Applied(Completed),
    Waiting(String),
}

/// The fleet file to use: the one given, else the `fleet` setting.
fn fleet_file(ws: &Workspace, file: Option<&Path>) -> Result<PathBuf, OpError> {
    file.map(Path::to_path_buf)
        .or_else(|| ws.settings.fleet.clone())
        .ok_or(OpError::Fleet(FleetFileError::NotGiven))
}

fn members(path: &Path) -> Result<Vec<(FleetMember, Member)>, OpError> {
    Ok(read(path)
        .map_err(OpError::Fleet)?
        .into_iter()
        .map(|m| {
            let shown = FleetMember {
                line: m.line,
                label: m.info.label(),
                database: m.info.redacted(),
            };
            (shown, m)
        })
        .collect())
}

/// Applies the sealed migrations to every database of the fleet (see the module docs).
/// Refuses before any connection what would refuse every database: a bad fleet line, a lock
/// file problem, unsealed migrations, a bad setting.
pub fn apply_fleet(
    ws: &Workspace,
    request: &FleetRequest,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<FleetReport, OpError> {
    let started = Instant::now();
    let path = fleet_file(ws, request.file.as_deref())?;
    let members = members(&path)?;
    let (set, state) = preflight(ws, &request.apply.db)?;
    check_drafts(&set, &state, true, request.apply.options.allow_out_of_order).map_err(
        |e| match e {
            OpError::Lock {
                findings, diffs, ..
            } => OpError::Lock {
                message: "--fleet applies sealed migrations only: there are unsealed migrations"
                    .into(),
                findings,
                locked: true,
                diffs,
            },
            other => other,
        },
    )?;
    database::db_settings(ws, &request.apply.db, &mut |_| {})?;
    let schedule = Schedule {
        jobs: request.jobs.max(1),
        fail_fast: request.fail_fast,
        canary: request.canary,
    };
    events(OpEvent::Fleet(FleetEvent::Started {
        file: &path,
        databases: members.len(),
        schedule,
    }));
    let read = Arc::new((set, state));
    let apply = ApplyRequest {
        locked: true,
        ..request.apply.clone()
    };
    let work = |i: usize, progress: &dyn Fn(Progress)| -> (FleetOutcome, f64) {
        let begun = Instant::now();
        let member = ws.for_database(members[i].1.info.clone(), read.clone());
        let outcome = match super::apply(&member, &apply, &mut |e| forward(e, progress)) {
            Ok(o) => FleetOutcome::Applied(Box::new(o)),
            Err(error) => FleetOutcome::Failed {
                version: version_now(&member, &apply.db, &error),
                error: Box::new(error),
            },
        };
        (outcome, begun.elapsed().as_secs_f64() * 1000.0)
    };
    let mut entries: Vec<Option<FleetEntry>> = (0..members.len()).map(|_| None).collect();
    let canaries = request.canary.unwrap_or(0).min(members.len());
    let (mut canaries_done, mut canaries_failed, mut stopping) = (0, 0, false);
    pool::run(
        members.len(),
        schedule,
        &work,
        &|(o, _)| o.failed(),
        &mut |step| match step {
            Step::Started(i) => events(OpEvent::Fleet(FleetEvent::DatabaseStarted(&members[i].0))),
            Step::Progress(i, Progress::Applied(migration)) => {
                events(OpEvent::Fleet(FleetEvent::Applied {
                    member: &members[i].0,
                    migration: &migration,
                }))
            }
            Step::Progress(i, Progress::Waiting(message)) => {
                events(OpEvent::Fleet(FleetEvent::Waiting {
                    member: &members[i].0,
                    message: &message,
                }))
            }
            Step::Done(i, (outcome, duration_ms)) => {
                let failed = outcome.failed();
                let entry = entries[i].insert(FleetEntry {
                    member: members[i].0.clone(),
                    outcome,
                    duration_ms,
                });
                events(OpEvent::Fleet(FleetEvent::DatabaseDone(entry)));
                if failed && request.fail_fast && !stopping {
                    stopping = true;
                    events(OpEvent::Fleet(FleetEvent::Stopping(&members[i].0)));
                }
                if i < canaries {
                    canaries_done += 1;
                    canaries_failed += usize::from(failed);
                    if canaries_done == canaries && canaries_failed > 0 && canaries < members.len()
                    {
                        events(OpEvent::Fleet(FleetEvent::CanaryFailed {
                            failed: canaries_failed,
                        }));
                    }
                }
            }
        },
    );
    let why = if canaries_failed > 0 {
        Skipped::Canary
    } else {
        Skipped::FailFast
    };
    let entries = entries
        .into_iter()
        .zip(&members)
        .map(|(entry, (member, _))| {
            entry.unwrap_or_else(|| FleetEntry {
                member: member.clone(),
                outcome: FleetOutcome::Skipped(why),
                duration_ms: 0.0,
            })
        })
        .collect();
    Ok(FleetReport {
        file: path,
        schedule,
        entries,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

/// A database's own `apply` events, as the fleet's progress.
fn forward(event: OpEvent<'_>, progress: &dyn Fn(Progress)) {
    match event {
        OpEvent::Engine(Event::Applied(c)) => progress(Progress::Applied(c.clone())),
        OpEvent::Engine(Event::WaitingForLock(holder)) => {
            progress(Progress::Waiting(match holder {
                Some(h) => format!("waiting for the migration lock, held by {h}"),
                None => "waiting for the migration lock".into(),
            }))
        }
        OpEvent::Engine(Event::LockTimeout {
            version,
            attempt,
            blocked_by,
            ..
        }) => progress(Progress::Waiting(format!(
            "lock timeout in {version} (retry {attempt}){}",
            blocked_by.map_or_else(String::new, |b| format!(": {b}"))
        ))),
        _ => {}
    }
}

/// The newest applied version of a database after a failure (not after a connection failure:
/// it would only fail again).
fn version_now(ws: &Workspace, options: &DbOptions, error: &OpError) -> Option<Version> {
    if matches!(error, OpError::Connect(_)) {
        return None;
    }
    let settings = database::db_settings(ws, options, &mut |_| {}).ok()?;
    let info = ws.conninfo.get()?;
    let mut client = info.connect(settings.connect_timeout).ok()?;
    let rows = settings.engine.history(&mut client).ok()?;
    newest_applied(&rows)
}

/// What `status --fleet` was asked.
#[derive(Debug, Clone)]
pub struct FleetStatusRequest {
    /// The fleet file (`None`: the `fleet` setting).
    pub file: Option<PathBuf>,
    /// Databases read at once.
    pub jobs: usize,
    /// Database options.
    pub db: DbOptions,
}

impl Default for FleetStatusRequest {
    fn default() -> FleetStatusRequest {
        FleetStatusRequest {
            file: None,
            jobs: DEFAULT_JOBS,
            db: DbOptions::default(),
        }
    }
}

/// One database's status.
#[derive(Debug)]
pub struct FleetStatusEntry {
    /// The database.
    pub member: FleetMember,
    /// Its status, or why it could not be read.
    pub result: Result<StatusReport, OpError>,
}

/// What `status --fleet` found, database by database in the fleet file's order.
#[derive(Debug)]
pub struct FleetStatusReport {
    /// The fleet file.
    pub file: PathBuf,
    /// Every database.
    pub entries: Vec<FleetStatusEntry>,
}

/// The status of every database of the fleet (read in parallel, no lock taken, nothing
/// created).
pub fn status_fleet(
    ws: &Workspace,
    request: &FleetStatusRequest,
    _events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<FleetStatusReport, OpError> {
    let path = fleet_file(ws, request.file.as_deref())?;
    let members = members(&path)?;
    let read = Arc::new(ws.read(Untouched::NothingChanged)?);
    database::db_settings(ws, &request.db, &mut |_| {})?;
    let schedule = Schedule {
        jobs: request.jobs.max(1),
        fail_fast: false,
        canary: None,
    };
    let work = |i: usize, _: &dyn Fn(())| {
        let member = ws.for_database(members[i].1.info.clone(), read.clone());
        let status = super::StatusRequest {
            db: request.db.clone(),
            ..super::StatusRequest::default()
        };
        super::status(&member, &status, &mut |_| {})
    };
    let mut results: Vec<Option<Result<StatusReport, OpError>>> =
        (0..members.len()).map(|_| None).collect();
    pool::run(members.len(), schedule, &work, &|_| false, &mut |step| {
        if let Step::Done(i, result) = step {
            results[i] = Some(result);
        }
    });
    let entries = results
        .into_iter()
        .zip(members)
        .filter_map(|(result, (member, _))| {
            Some(FleetStatusEntry {
                member,
                result: result?,
            })
        })
        .collect();
    Ok(FleetStatusReport {
        file: path,
        entries,
    })
}
