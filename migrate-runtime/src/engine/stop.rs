//! Stopping a backfill from outside (Ctrl-C): a request to stop after the running batch, and
//! a cancel request for the running batch itself, sent to PostgreSQL so its statement ends
//! and its transaction rolls back at once (its row locks, and the session's migration lock
//! once the session ends, are released) instead of running on after the process has gone.

use super::runner::Job;
use super::tls::{self, TlsOptions};
use super::{Direction, Engine};
use crate::Version;
use postgres::{CancelToken, Client};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Sends PostgreSQL a cancel request for a session's running statement, connecting the way
/// the session did (its TLS): see [`ConnInfo::cancel`](super::connection::ConnInfo::cancel).
pub type Canceller = Arc<dyn Fn(&CancelToken) -> Result<(), String> + Send + Sync>;

/// How a front end asks a backfill to stop (Ctrl-C): `requested` is set by its signal
/// handler; `immediate` is true except while a backfill runs, so a handler can end the process
/// at once when there is no batch to finish (as Ctrl-C always did); [`Stop::cancel_running`]
/// ends the running batch on the server (a second Ctrl-C).
///
/// ```
/// use migrate_runtime::engine::Stop;
/// let stop = Stop::default();
/// assert!(stop.immediate.load(std::sync::atomic::Ordering::Acquire));
/// assert!(stop.cancel_running().is_empty(), "no backfill runs");
/// ```
#[derive(Debug, Clone)]
pub struct Stop {
    /// Set to stop after the current batch.
    pub requested: Arc<AtomicBool>,
    /// Whether nothing needs finishing (no backfill is running).
    pub immediate: Arc<AtomicBool>,
    /// The backfills running now (several in a fleet's parallel runs).
    running: Running,
    /// Whether [`Stop::cancel_running`] was called.
    cancelled: Arc<AtomicBool>,
}

impl Default for Stop {
    fn default() -> Stop {
        Stop {
            requested: Arc::new(AtomicBool::new(false)),
            immediate: Arc::new(AtomicBool::new(true)),
            running: Running::default(),
            cancelled: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// A backfill whose running batch [`Stop::cancel_running`] cancelled.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Cancelled {
    /// The migration.
    pub version: Version,
    /// Its name.
    pub name: String,
    /// Which file.
    pub direction: Direction,
    /// Why the cancel request could not be sent: the batch then runs on until it ends or
    /// reaches `statement_timeout`.
    pub error: Option<String>,
}

impl Cancelled {
    /// `<version>_<name>`.
    pub fn folder(&self) -> String {
        crate::model::folder_name(self.version, &self.name)
    }
}

impl Stop {
    /// Cancels the running batch of every backfill that runs now (and asks each run to stop):
    /// PostgreSQL ends the batch's statement and rolls its transaction back, checkpoint
    /// included, so the next run resumes after the last committed batch and no batch is
    /// applied twice. Each request connects the way the session did (the engine's
    /// `canceller`). What was cancelled; empty when no backfill runs.
    pub fn cancel_running(&self) -> Vec<Cancelled> {
        self.cancelled.store(true, Ordering::Release);
        self.requested.store(true, Ordering::Release);
        // Held while the requests go out: a batch that ends meanwhile waits for them before
        // its session runs anything else, so a request reaches only a batch (or an idle
        // session, which PostgreSQL ignores), never the statement after it.
        let running = self.running.lock();
        running
            .iter()
            .map(|s| Cancelled {
                error: if s.in_batch {
                    (s.canceller)(&s.token).err()
                } else {
                    None
                },
                version: s.version,
                name: s.name.clone(),
                direction: s.direction,
            })
            .collect()
    }
}

/// The sessions of the backfills running now.
#[derive(Clone, Default)]
struct Running(Arc<Mutex<Vec<Session>>>);

impl Running {
    /// The list; one a panicking thread left is still a list.
    fn lock(&self) -> MutexGuard<'_, Vec<Session>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} running", self.lock().len())
    }
}

/// A running backfill's session: what a cancel request needs.
#[derive(Clone)]
struct Session {
    id: u64,
    version: Version,
    name: String,
    direction: Direction,
    token: CancelToken,
    canceller: Canceller,
    /// A batch runs now (the only time a cancel request is sent).
    in_batch: bool,
}

/// While alive (a backfill runs): a stop request waits for the current batch (`immediate` is
/// false), and [`Stop::cancel_running`] can cancel the batch.
pub(crate) struct Finishing<'a> {
    stop: Option<&'a Stop>,
    id: u64,
}

impl<'a> Finishing<'a> {
    pub(crate) fn new(engine: &'a Engine, client: &Client, job: &Job<'_>) -> Finishing<'a> {
        static IDS: AtomicU64 = AtomicU64::new(0);
        let id = IDS.fetch_add(1, Ordering::Relaxed);
        if let Some(s) = &engine.stop {
            s.running.lock().push(Session {
                id,
                version: job.version,
                name: job.name.to_string(),
                direction: job.direction,
                token: client.cancel_token(),
                canceller: engine
                    .canceller
                    .clone()
                    .unwrap_or_else(|| Arc::new(cancel_without_options)),
                in_batch: false,
            });
            s.immediate.store(false, Ordering::Release);
        }
        Finishing {
            stop: engine.stop.as_ref(),
            id,
        }
    }
}

impl Finishing<'_> {
    /// Runs one batch, the only span [`Stop::cancel_running`] sends a cancel request in; its
    /// end waits for a request being sent (at most the connect timeout).
    pub(crate) fn batch<R>(&self, run: impl FnOnce() -> R) -> R {
        self.in_batch(true);
        let ran = run();
        self.in_batch(false);
        ran
    }

    fn in_batch(&self, on: bool) {
        if let Some(s) = self.stop
            && let Some(me) = s.running.lock().iter_mut().find(|r| r.id == self.id)
        {
            me.in_batch = on;
        }
    }
}

impl Drop for Finishing<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.stop {
            let mut running = s.running.lock();
            running.retain(|r| r.id != self.id);
            s.immediate.store(running.is_empty(), Ordering::Release);
        }
    }
}

/// A cancel request from an engine given no [`Canceller`] (a program that connected its
/// client itself): TLS as the session's `sslmode` says, the server's certificate not checked.
fn cancel_without_options(token: &CancelToken) -> Result<(), String> {
    let connector = tls::connector(&TlsOptions::default())?;
    token
        .cancel_query(connector)
        .map_err(|e| super::connection::error_text(&e))
}

impl Engine {
    /// Whether a stop was requested (Ctrl-C): a backfill stops after its current batch.
    pub(crate) fn stopping(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|s| s.requested.load(Ordering::Acquire))
    }

    /// Sleeps `d`, cut short (within 50 ms) by a stop request; a `d` too long to be a point
    /// in time (`pause=` accepts any number of hours) lasts until the stop. The one sleep of a
    /// backfill's pauses, its replica waits and its lock-retry waits.
    pub(crate) fn sleep_unless_stopped(&self, d: Duration) {
        const STEP: Duration = Duration::from_millis(50);
        let until = Instant::now().checked_add(d);
        while !self.stopping() {
            let left = until.map_or(STEP, |u| u.saturating_duration_since(Instant::now()));
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(STEP));
        }
    }

    /// Whether the running batch was cancelled on request ([`Stop::cancel_running`]), so a
    /// batch that fails as cancelled was stopped, not failed.
    pub(crate) fn cancelled(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|s| s.cancelled.load(Ordering::Acquire))
    }
}
