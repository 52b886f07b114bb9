//! How the engine behaves: where the history lives, how it waits for locks, and the ranges
//! every setting must be in (checked before anything connects, so a bad setting is never
//! blamed on a migration).

use crate::{Ident, IdentError, QualifiedName, format_duration};
use std::fmt;
use std::time::Duration;

/// The history table, `schema.table` (default `public._migrate_history`).
///
/// ```
/// use migrate_runtime::engine::HistoryTable;
/// let t: HistoryTable = "ops.migrations".parse().unwrap();
/// assert_eq!(t.qualified(), "\"ops\".\"migrations\"");
/// assert_eq!(HistoryTable::default().to_string(), "public._migrate_history");
/// assert!("x;drop".parse::<HistoryTable>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryTable {
    /// The schema (created if missing).
    pub schema: String,
    /// The table name.
    pub table: String,
}

impl Default for HistoryTable {
    fn default() -> Self {
        HistoryTable {
            schema: "public".into(),
            table: "_migrate_history".into(),
        }
    }
}

impl std::str::FromStr for HistoryTable {
    type Err = IdentError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let q: QualifiedName = s.parse()?;
        Ok(HistoryTable {
            schema: q
                .schema
                .map_or_else(|| "public".to_string(), |s| s.as_str().to_string()),
            table: q.name.as_str().to_string(),
        })
    }
}

impl fmt::Display for HistoryTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (
            Ident::from_name(&self.schema),
            Ident::from_name(&self.table),
        ) {
            (Ok(s), Ok(t)) => write!(f, "{s}.{t}"),
            _ => write!(f, "{}.{}", self.schema, self.table),
        }
    }
}

impl HistoryTable {
    /// `"schema"."table"`, quoted.
    pub fn qualified(&self) -> String {
        format!(
            "{}.{}",
            crate::quote_ident(&self.schema),
            crate::quote_ident(&self.table)
        )
    }
}

/// PostgreSQL's largest `lock_timeout` (its unit is milliseconds, stored in an `int`).
pub const MAX_LOCK_TIMEOUT: Duration = Duration::from_millis(i32::MAX as u64);

/// The longest wait any duration setting may ask for (a week): longer is a typo.
pub const MAX_WAIT: Duration = Duration::from_secs(7 * 24 * 3600);

/// Checks a `lock_timeout`: zero (leave the server's setting), or 1 ms up to PostgreSQL's
/// limit.
///
/// ```
/// use migrate_runtime::engine::check_lock_timeout;
/// use std::time::Duration;
/// assert!(check_lock_timeout(Duration::from_millis(200)).is_ok());
/// assert!(check_lock_timeout(Duration::from_secs(600 * 3600)).is_err());
/// ```
pub fn check_lock_timeout(d: Duration) -> Result<Duration, String> {
    check_timeout("lock_timeout", d)
}

/// Checks a `statement_timeout` (of each backfill batch): as a `lock_timeout`.
///
/// ```
/// use migrate_runtime::engine::check_statement_timeout;
/// use std::time::Duration;
/// assert!(check_statement_timeout(Duration::from_secs(30)).is_ok());
/// assert!(check_statement_timeout(Duration::from_micros(10)).is_err());
/// ```
pub fn check_statement_timeout(d: Duration) -> Result<Duration, String> {
    check_timeout("statement_timeout", d)
}

/// A PostgreSQL timeout setting (whole milliseconds in an `int`; 0: none).
fn check_timeout(setting: &str, d: Duration) -> Result<Duration, String> {
    if d > MAX_LOCK_TIMEOUT {
        return Err(format!(
            "{} is longer than PostgreSQL's limit for {setting} ({}ms, about 24.8 days)",
            format_duration(d),
            MAX_LOCK_TIMEOUT.as_millis()
        ));
    }
    if !d.is_zero() && d < Duration::from_millis(1) {
        return Err(format!(
            "{setting} counts whole milliseconds: use at least 1ms, or 0"
        ));
    }
    Ok(d)
}

/// Checks a waiting time (lock wait, retry budget, connect timeout): at most [`MAX_WAIT`].
///
/// ```
/// use migrate_runtime::engine::check_wait;
/// use std::time::Duration;
/// assert!(check_wait("lock_wait", Duration::from_secs(60)).is_ok());
/// assert!(check_wait("lock_wait", Duration::from_secs(30 * 24 * 3600)).is_err());
/// ```
pub fn check_wait(what: &str, d: Duration) -> Result<Duration, String> {
    if d > MAX_WAIT {
        return Err(format!(
            "{what} {} is longer than a week; that is surely a typo",
            format_duration(d)
        ));
    }
    Ok(d)
}

/// Engine settings. The defaults keep the application responsive while a migration waits for
/// a lock: a short `lock_timeout`, so no query of the application queues behind a migration's
/// lock request for longer than that, retried (after the blockers finish, or with growing,
/// jittered pauses) for up to three minutes.
///
/// ```
/// use migrate_runtime::engine::EngineConfig;
/// let config = EngineConfig::default();
/// assert_eq!(config.lock_timeout.as_millis(), 200);
/// assert_eq!(config.lock_retry_budget.as_secs(), 180);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Where the history lives.
    pub history: HistoryTable,
    /// `lock_timeout` for every migration statement; zero leaves the server's setting alone.
    pub lock_timeout: Duration,
    /// At most this many retries after a lock timeout (`None`: as many as the budget allows).
    pub lock_retries: Option<u32>,
    /// `statement_timeout` of each backfill batch (zero leaves the server's): a batch that
    /// runs longer is rolled back, so no batch holds its row locks for long.
    pub statement_timeout: Duration,
    /// How long a migration may keep retrying after lock timeouts before it gives up.
    pub lock_retry_budget: Duration,
    /// First pause after a lock timeout when the blockers cannot be watched; grows 1.5x per
    /// retry (with jitter) up to [`EngineConfig::retry_pause_max`].
    pub retry_pause: Duration,
    /// The longest pause between retries.
    pub retry_pause_max: Duration,
    /// How long to wait for another runner's advisory lock before giving up.
    pub lock_wait: Duration,
    /// Schemas `reset` drops and recreates.
    pub schemas: Vec<String>,
    /// Group commit: every migration of a run but the last commits with
    /// `synchronous_commit = off`; the last commit flushes them all, so a finished run is
    /// durable. A crash mid-run can lose only whole migrations with their history rows.
    pub group_commit: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            history: HistoryTable::default(),
            lock_timeout: Duration::from_millis(200),
            lock_retries: None,
            statement_timeout: Duration::from_secs(30),
            lock_retry_budget: Duration::from_secs(180),
            retry_pause: Duration::from_millis(100),
            retry_pause_max: Duration::from_secs(2),
            lock_wait: Duration::from_secs(60),
            schemas: vec!["public".into()],
            group_commit: true,
        }
    }
}
