//! How the engine behaves: where the history lives and how it waits for locks.

use std::fmt;
use std::time::Duration;

/// The history table, `schema.table` (default `public._migrate_history`).
///
/// ```
/// use migrate_runtime::engine::HistoryTable;
/// let t: HistoryTable = "ops.migrations".parse().unwrap();
/// assert_eq!(t.qualified(), "\"ops\".\"migrations\"");
/// assert_eq!(HistoryTable::default().to_string(), "public._migrate_history");
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
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (schema, table) = s.split_once('.').unwrap_or(("public", s));
        if schema.is_empty() || table.is_empty() || table.contains('.') {
            return Err(format!(
                "`{s}` is not a table name: expected `table` or `schema.table`"
            ));
        }
        Ok(HistoryTable {
            schema: schema.into(),
            table: table.into(),
        })
    }
}

impl fmt::Display for HistoryTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.table)
    }
}

/// Quotes an SQL identifier.
///
/// ```
/// assert_eq!(migrate_runtime::engine::quote_ident("a\"b"), "\"a\"\"b\"");
/// ```
pub fn quote_ident(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

impl HistoryTable {
    /// `"schema"."table"`, quoted.
    pub fn qualified(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.table))
    }
}

/// Engine settings. The defaults suit production: a 5 s `lock_timeout` with 3 retries, and up
/// to 60 s of waiting for another runner.
///
/// ```
/// use migrate_runtime::engine::EngineConfig;
/// let config = EngineConfig::default();
/// assert_eq!(config.lock_timeout.as_secs(), 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Where the history lives.
    pub history: HistoryTable,
    /// `lock_timeout` for every migration statement; zero leaves the server's setting alone.
    pub lock_timeout: Duration,
    /// How often a migration that hit `lock_timeout` is retried (with backoff) before failing.
    pub lock_retries: u32,
    /// First backoff after a lock timeout; doubles on every retry (with jitter).
    pub retry_backoff: Duration,
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
            lock_timeout: Duration::from_secs(5),
            lock_retries: 3,
            retry_backoff: Duration::from_secs(1),
            lock_wait: Duration::from_secs(60),
            schemas: vec!["public".into()],
            group_commit: true,
        }
    }
}

/// Parses a duration such as `5s`, `250ms`, `2m` or `0`.
///
/// ```
/// use migrate_runtime::engine::parse_duration;
/// assert_eq!(parse_duration("250ms").unwrap().as_millis(), 250);
/// assert_eq!(parse_duration("2m").unwrap().as_secs(), 120);
/// assert!(parse_duration("soon").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (examples: 5s, 250ms, 2m, 0)"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" if value == 0.0 => 0.0,
        "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "`{s}` is not a duration (examples: 5s, 250ms, 2m, 0)"
            ));
        }
    };
    Ok(Duration::from_secs_f64(seconds))
}
