//! The engine: applies migrations to PostgreSQL through the `postgres` crate, exactly once,
//! atomically, one runner at a time, and says precisely what state the database is in.
//!
//! - [`history`]: the history table (the only SQL about bookkeeping);
//! - `advisory`: the runner lock;
//! - [`status`]: the state of every migration, a pure function of files and history;
//! - `execute`: running SQL statement by statement, errors mapped to file:line:column;
//! - `apply`, `down`, `resolve`, `reset`: the operations;
//! - [`connection`]: connecting, redacting credentials, telling local hosts.
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
mod config;
pub mod connection;
mod diff;
mod down;
mod error;
mod execute;
pub mod history;
mod reset;
mod resolve;
pub mod status;
pub mod tls;

pub use advisory::LockHolder;
pub use apply::{ApplyOptions, ApplyReport, Planned, PlannedStatement};
pub use config::{EngineConfig, HistoryTable, parse_duration, quote_ident};
pub use diff::unified_diff;
pub use down::{DownReport, DownTarget, Reverted};
pub use error::{Applied, EngineError, Failure, Refusal};
pub use resolve::Resolution;
pub use status::State;

use crate::Version;
use std::time::Duration;

/// Progress the engine reports while it works (the CLI prints these).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Another runner holds the lock; we wait.
    WaitingForLock(Option<&'a LockHolder>),
    /// A migration starts.
    Starting {
        /// Its version.
        version: Version,
        /// Its name.
        name: &'a str,
        /// Runs outside a transaction.
        no_transaction: bool,
    },
    /// A no-transaction migration resumes after an earlier failure.
    Resuming {
        /// Its version.
        version: Version,
        /// 1-based statement it resumes at.
        at: usize,
        /// Its statement count.
        total: usize,
    },
    /// A statement hit `lock_timeout`; the migration is retried after `delay`.
    Retrying {
        /// Its version.
        version: Version,
        /// Retry number (1-based).
        attempt: u32,
        /// Wait before the retry.
        delay: Duration,
        /// The lock timeout error.
        error: String,
    },
    /// A migration was applied.
    Applied(&'a Applied),
    /// `down` uses the down.sql recorded in the history (the file is gone).
    UsingRecordedDown {
        /// Its version.
        version: Version,
        /// Its name.
        name: &'a str,
    },
    /// A migration was reverted.
    RolledBack(&'a Reverted),
    /// Before (re)building an index concurrently, an INVALID index of that name (left by an
    /// interrupted or failed `CREATE INDEX CONCURRENTLY`) was dropped, so the build runs again
    /// instead of being skipped by `IF NOT EXISTS`.
    DroppedInvalidIndex {
        /// The migration.
        version: Version,
        /// The index, as the statement names it.
        index: &'a str,
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
/// let engine = Engine::new(EngineConfig { lock_retries: 5, ..EngineConfig::default() });
/// assert_eq!(engine.config.lock_retries, 5);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Engine {
    /// Settings.
    pub config: EngineConfig,
}

impl Engine {
    /// An engine with these settings.
    pub fn new(config: EngineConfig) -> Engine {
        Engine { config }
    }

    /// After a `lock_timeout` error: waits (exponential backoff with jitter), reports the retry
    /// and returns `true` while retries remain; `false` for any other error or when they ran out.
    pub(crate) fn retry_lock_timeout(
        &self,
        error: &postgres::Error,
        attempt: &mut u32,
        version: Version,
        events: &mut dyn FnMut(Event<'_>),
    ) -> bool {
        if !execute::is_lock_timeout(error) || *attempt >= self.config.lock_retries {
            return false;
        }
        let delay = execute::backoff(self.config.retry_backoff, *attempt);
        *attempt += 1;
        events(Event::Retrying {
            version,
            attempt: *attempt,
            delay,
            error: error.to_string(),
        });
        std::thread::sleep(delay);
        true
    }

    /// The newest history row of every version (no lock taken, nothing created). Combine with
    /// [`status::compute`] for the state of every migration.
    pub fn history(&self, client: &mut postgres::Client) -> Result<Vec<history::Row>, EngineError> {
        history::latest(client, &self.config.history)
            .map_err(EngineError::db("cannot read the migration history"))
    }
}
