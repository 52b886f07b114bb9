//! The engine: applies migrations to PostgreSQL through the `postgres` crate, exactly once,
//! atomically, one runner at a time, and says precisely what state the database is in.
//!
//! - [`history`]: the history table (the only SQL about bookkeeping);
//! - `advisory`: the runner lock;
//! - [`status`]: the state of every migration, a pure function of files and history;
//! - `execute`: running SQL statement by statement, errors mapped to file:line:column;
//! - `apply`, `down`, `resolve`, `reset`: the operations;
//! - [`connection`]: connection strings parsed once (display, redaction, locality), connecting;
//! - `plan`, `refusal`: what `apply` will run, and why it refuses;
//! - `runner`, `session`, `retry`: running one file with its history row, a clean session for
//!   every migration, and lock-timeout retries that do not stall the application.
//!
//! ```no_run
//! use migrate_runtime::MigrationSet;
//! use migrate_runtime::engine::{ApplyOptions, Engine};
//! let set = MigrationSet::read("migrations".as_ref())?;
//! let mut client = postgres::Client::connect("postgres://postgres@localhost/app", postgres::NoTls)?;
//! let report = Engine::default().apply(&mut client, &set, &ApplyOptions::default(), &mut |_| {})?;
//! println!("{} applied", report.applied.len());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod advisory;
mod apply;
mod backfill;
mod config;
pub mod connection;
mod diff;
mod down;
mod error;
pub(crate) mod execute;
pub mod history;
mod import;
mod plan;
mod record;
mod refusal;
mod reset;
mod resolve;
mod retry;
mod runner;
mod rust_backfill;
mod session;
pub mod status;
mod stop;
pub mod tls;

pub use advisory::{LockHolder, key as lock_key, lock_holder, one_line};
pub use apply::ApplyReport;
pub use config::{
    EngineConfig, HistoryTable, MAX_LOCK_TIMEOUT, MAX_WAIT, check_lock_timeout,
    check_statement_timeout, check_wait,
};
pub use diff::unified_diff;
pub use down::{DownPlanned, DownReport, DownTarget};
pub use error::{
    Applied, Completed, Direction, EngineError, Failure, InFlight, Interrupted, Outcome, Refusal,
    Reverted, Stopped,
};
pub use history::HistoryError;
pub use plan::{ApplyOptions, Planned, PlannedStatement};
pub use resolve::Resolution;
pub use retry::{Blockage, Blocker, NextAttempt, SessionOpener};
pub use rust_backfill::{Batch, BatchError, RustBackfill, RustBackfills};
pub use status::State;
pub use stop::{Cancelled, Canceller, Stop};

use crate::Version;
use std::time::Duration;

/// Progress the engine reports while it works (the CLI prints these, or emits them as JSON).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Another runner holds the lock; we wait.
    WaitingForLock(Option<&'a LockHolder>),
    /// A migration starts (its migration.sql, or its down.sql).
    Starting {
        /// Its version.
        version: Version,
        /// Its name.
        name: &'a str,
        /// Runs outside a transaction.
        no_transaction: bool,
        /// Which file.
        direction: Direction,
    },
    /// A migration that failed before (and was rolled back) is tried again.
    RetryingFailed {
        /// Its version.
        version: Version,
        /// Its name.
        name: &'a str,
        /// The error it failed with.
        error: &'a str,
    },
    /// A no-transaction file resumes after an earlier failure.
    Resuming {
        /// Its version.
        version: Version,
        /// Which file.
        direction: Direction,
        /// 1-based statement it resumes at.
        at: usize,
        /// Its statement count.
        total: usize,
    },
    /// A statement hit `lock_timeout`; it is retried (once per attempt).
    LockTimeout {
        /// The migration.
        version: Version,
        /// Retry number (1-based).
        attempt: u32,
        /// Time spent on this migration's retries so far.
        elapsed: Duration,
        /// Who held the lock, when the attempt was watched.
        blocked_by: Option<&'a Blockage>,
        /// When the next attempt starts.
        next: NextAttempt,
    },
    /// A migration was applied.
    Applied(&'a Completed),
    /// `down` uses the down.sql recorded in the history (the file is gone).
    UsingRecordedDown {
        /// Its version.
        version: Version,
        /// Its name.
        name: &'a str,
    },
    /// A migration was reverted.
    RolledBack(&'a Completed),
    /// Before (re)building an index concurrently, an INVALID index of that name (left by an
    /// interrupted or failed `CREATE INDEX CONCURRENTLY`) was dropped, so the build runs again
    /// instead of being skipped by `IF NOT EXISTS`.
    DroppedInvalidIndex {
        /// The migration.
        version: Version,
        /// The index, as the statement names it.
        index: &'a str,
    },
    /// A backfill starts (resumes) or committed a batch: its progress.
    BackfillProgress {
        /// The migration.
        version: Version,
        /// Which file.
        direction: Direction,
        /// Keys, rows and batches done (over every run), the last key.
        progress: &'a history::BackfillProgress,
        /// The table's estimated rows (`pg_class.reltuples`), when analyzed.
        estimated_rows: Option<u64>,
        /// Keys walked per second in this run (after the first batch).
        keys_per_s: Option<f64>,
        /// How long the batch just committed took: its transaction (the walk, the body, the
        /// checkpoint, the commit), without the pause after it. `None` before the first batch.
        batch_time: Option<Duration>,
    },
    /// A backfill waits before its next batch: a replica lags more than `max_replica_lag`.
    WaitingForReplicas {
        /// The migration.
        version: Version,
        /// The largest `replay_lag` of `pg_stat_replication`.
        lag: Duration,
        /// The ceiling.
        max: Duration,
    },
    /// `reset` dropped and recreated these schemas.
    Dropped {
        /// The schemas.
        schemas: &'a [String],
    },
}

/// The engine, with its settings.
///
/// ```
/// use migrate_runtime::engine::{Engine, EngineConfig};
/// let engine = Engine::new(EngineConfig { lock_retries: Some(5), ..EngineConfig::default() });
/// assert_eq!(engine.config.lock_retries, Some(5));
/// ```
#[derive(Clone, Default)]
pub struct Engine {
    /// Settings.
    pub config: EngineConfig,
    /// Opens a second session, used to see who blocks a migration that waits for a lock (and
    /// to retry as soon as they finish). Without one, retries pause instead.
    pub sessions: Option<SessionOpener>,
    /// Set (e.g. by a Ctrl-C handler) to stop a backfill cleanly after its current batch, or
    /// to cancel that batch on the server ([`Stop::cancel_running`]).
    pub stop: Option<Stop>,
    /// Sends the cancel requests of [`Stop::cancel_running`], connecting the way the client
    /// did. Without one, they use TLS as the session's `sslmode` says, the server's
    /// certificate not checked.
    pub canceller: Option<Canceller>,
    /// The code of the Rust backfills (`-- migrate:backfill ... rust`), by version. A run that
    /// reaches one without its code refuses before anything runs.
    pub backfills: RustBackfills,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .field("sessions", &self.sessions.is_some())
            .field("canceller", &self.canceller.is_some())
            .field("backfills", &self.backfills)
            .finish()
    }
}

impl Engine {
    /// An engine with these settings.
    pub fn new(config: EngineConfig) -> Engine {
        Engine {
            config,
            sessions: None,
            stop: None,
            canceller: None,
            backfills: RustBackfills::default(),
        }
    }

    /// The same engine, with `code` as the batches of the Rust backfill `version` (a migration
    /// whose directive says `-- migrate:backfill ... rust`).
    ///
    /// ```no_run
    /// use migrate_runtime::{MigrationSet, Version};
    /// use migrate_runtime::engine::{ApplyOptions, Batch, BatchError, Engine, RustBackfill};
    /// struct Lowercase;
    /// impl RustBackfill for Lowercase {
    ///     fn up(&self, tx: &mut postgres::Transaction<'_>, b: &Batch<'_>) -> Result<u64, BatchError> {
    ///         Ok(tx.execute("UPDATE users SET email = lower(email) WHERE id BETWEEN $1 AND $2", &[b.start(), b.end()])?)
    ///     }
    /// }
    /// let engine = Engine::default().with_backfill(Version::new_const(20261121093000), Lowercase);
    /// let set = MigrationSet::read("migrations".as_ref())?;
    /// let mut client = postgres::Client::connect("postgres://postgres@localhost/app", postgres::NoTls)?;
    /// engine.apply(&mut client, &set, &ApplyOptions::default(), &mut |_| {})?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_backfill(mut self, version: Version, code: impl RustBackfill + 'static) -> Engine {
        self.backfills = self.backfills.with(version, code);
        self
    }

    /// The same engine, able to open a second session to watch lock waits.
    ///
    /// ```no_run
    /// use migrate_runtime::engine::Engine;
    /// use migrate_runtime::engine::connection::ConnInfo;
    /// let info = ConnInfo::parse("postgres://postgres@localhost/app")?;
    /// let engine = Engine::default().with_sessions(std::sync::Arc::new(move || {
    ///     info.connect(None).map_err(|e| e.to_string())
    /// }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_sessions(mut self, opener: SessionOpener) -> Engine {
        self.sessions = Some(opener);
        self
    }

    /// The same engine, sending the cancel requests of [`Stop::cancel_running`] with
    /// `canceller` (a connection's TLS options).
    ///
    /// ```no_run
    /// use migrate_runtime::engine::Engine;
    /// use migrate_runtime::engine::connection::ConnInfo;
    /// let info = ConnInfo::parse("postgres://postgres@localhost/app?sslmode=verify-full")?;
    /// let engine = Engine::default().with_canceller(std::sync::Arc::new(move |token| info.cancel(token)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_canceller(mut self, canceller: Canceller) -> Engine {
        self.canceller = Some(canceller);
        self
    }

    /// The newest history row of every version as `status` shows it, without the recorded
    /// SQL (see [`history::latest_for_status`]; no lock taken, nothing created). Combine with
    /// [`status::compute`] for the state of every migration.
    ///
    /// ```no_run
    /// use migrate_runtime::engine::{Engine, status::newest_applied};
    /// let mut client = postgres::Client::connect("postgres://postgres@localhost/app", postgres::NoTls)?;
    /// let rows = Engine::default().status_history(&mut client)?;
    /// println!("at {:?}", newest_applied(&rows));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn status_history(
        &self,
        client: &mut postgres::Client,
    ) -> Result<Vec<history::StatusRow>, EngineError> {
        history::latest_for_status(client, &self.config.history)
            .map_err(EngineError::history("cannot read the migration history"))
    }

    /// Reads the recorded SQL of the rows `wanted` picks (see [`history::recorded_sql_for`]).
    pub fn recorded_sql_for(
        &self,
        client: &mut postgres::Client,
        rows: &mut [history::StatusRow],
        wanted: impl Fn(&history::StatusRow) -> bool,
    ) -> Result<(), EngineError> {
        history::recorded_sql_for(client, &self.config.history, rows, wanted)
            .map_err(EngineError::history("cannot read the migration history"))
    }

    /// The newest history row of every version (no lock taken, nothing created). Combine with
    /// [`status::compute`] for the state of every migration.
    pub fn history(&self, client: &mut postgres::Client) -> Result<Vec<history::Row>, EngineError> {
        history::latest(client, &self.config.history)
            .map_err(EngineError::history("cannot read the migration history"))
    }
}
