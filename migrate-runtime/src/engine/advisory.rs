//! One runner at a time: a session-level PostgreSQL advisory lock, waited for with a timeout,
//! released on every path (the guard unlocks on drop, errors and panics included), so no lock
//! lingers on a pooled connection. A runner that cannot get it names who holds it.

use super::HistoryTable;
use crate::Checksum;
use postgres::Client;
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

/// Who holds the migration lock, from `pg_stat_activity`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LockHolder {
    /// Backend process id.
    pub pid: i32,
    /// Database user.
    pub user: Option<String>,
    /// `application_name` (cargo-migrate sets `cargo-migrate`).
    pub application: Option<String>,
    /// Client address.
    pub client: Option<String>,
    /// When its session started.
    pub since: Option<String>,
    /// What it is running now.
    pub query: Option<String>,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {}", self.pid)?;
        if let Some(u) = &self.user {
            write!(f, ", user {u}")?;
        }
        if let Some(a) = self.application.as_deref().filter(|a| !a.is_empty()) {
            write!(f, ", application {a}")?;
        }
        if let Some(c) = &self.client {
            write!(f, ", from {c}")?;
        }
        if let Some(s) = &self.since {
            write!(f, ", connected since {s}")?;
        }
        if let Some(q) = self.query.as_deref().filter(|q| !q.is_empty()) {
            write!(f, ", running `{}`", one_line(q, 80))?;
        }
        Ok(())
    }
}

/// A query on one line, white space folded, cut at `max` characters.
///
/// ```
/// # use migrate_runtime::engine::one_line;
/// assert_eq!(one_line("SELECT  1\nFROM t", 80), "SELECT 1 FROM t");
/// assert_eq!(one_line("SELECT 123", 6), "SELECT…");
/// ```
pub fn one_line(query: &str, max: usize) -> String {
    let q: String = query.split_whitespace().collect::<Vec<_>>().join(" ");
    if q.chars().count() > max {
        format!("{}…", q.chars().take(max).collect::<String>())
    } else {
        q
    }
}

/// The lock key: derived from the history table, so two histories in one database do not
/// exclude each other. The session lock `pg_advisory_lock(key)` is the migration lock.
///
/// ```
/// use migrate_runtime::engine::{HistoryTable, lock_key};
/// let other: HistoryTable = "ops._migrate_history".parse().unwrap();
/// assert_ne!(lock_key(&HistoryTable::default()), lock_key(&other));
/// ```
pub fn key(t: &HistoryTable) -> i64 {
    let hash = Checksum::of_bytes(format!("cargo-migrate:{t}").as_bytes());
    i64::from_be_bytes(hash.0[..8].try_into().expect("8 bytes"))
}

/// The held lock; derefs to the client.
pub struct Guard<'a> {
    client: &'a mut Client,
    key: i64,
}

impl Deref for Guard<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client
    }
}

impl DerefMut for Guard<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if !self.client.is_closed() {
            let _ = self
                .client
                .execute("SELECT pg_advisory_unlock($1)", &[&self.key]);
        }
    }
}

/// Why the lock was not taken.
#[derive(Debug)]
pub enum AcquireError {
    /// Someone else held it for the whole wait.
    Busy {
        /// How long we waited.
        waited: Duration,
        /// Who holds it, when it could be seen.
        holder: Option<Box<LockHolder>>,
    },
    /// The database failed.
    Db(postgres::Error),
}

/// Takes the lock, waiting up to `wait`; `on_wait` is called once with the holder when the lock
/// is busy at first.
pub fn acquire<'a>(
    client: &'a mut Client,
    t: &HistoryTable,
    wait: Duration,
    on_wait: &mut dyn FnMut(Option<&LockHolder>),
) -> Result<Guard<'a>, AcquireError> {
    let key = key(t);
    let start = Instant::now();
    let mut told = false;
    loop {
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .map_err(AcquireError::Db)?
            .get(0);
        if got {
            return Ok(Guard { client, key });
        }
        if !told {
            told = true;
            on_wait(holder(client, key).ok().flatten().as_ref());
        }
        if start.elapsed() >= wait {
            return Err(AcquireError::Busy {
                waited: start.elapsed(),
                holder: holder(client, key).ok().flatten().map(Box::new),
            });
        }
        std::thread::sleep(Duration::from_millis(100).min(wait.saturating_sub(start.elapsed())));
    }
}

/// Who holds the migration lock of history table `t` now (`None`: nobody), read from
/// `pg_locks` without taking it. `status` uses it to tell a run going on from one cut off.
///
/// ```no_run
/// # use migrate_runtime::engine::{HistoryTable, lock_holder};
/// let mut client = postgres::Client::connect("host=localhost user=postgres", postgres::NoTls)?;
/// match lock_holder(&mut client, &HistoryTable::default())? {
///     Some(runner) => println!("a run is going on: {runner}"),
///     None => println!("no run is going on"),
/// }
/// # Ok::<(), postgres::Error>(())
/// ```
pub fn lock_holder(
    client: &mut Client,
    t: &HistoryTable,
) -> Result<Option<LockHolder>, postgres::Error> {
    holder(client, key(t))
}

fn holder(client: &mut Client, key: i64) -> Result<Option<LockHolder>, postgres::Error> {
    let (hi, lo) = (
        ((key as u64) >> 32) as i64,
        (key as u64 & 0xffff_ffff) as i64,
    );
    let row = client.query_opt(
        "SELECT a.pid, a.usename::text, a.application_name,
                coalesce(a.client_hostname, host(a.client_addr), 'local socket'),
                to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"'), a.query
         FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND l.classid::bigint = $1 AND l.objid::bigint = $2 AND l.objsubid = 1
         LIMIT 1",
        &[&hi, &lo],
    )?;
    Ok(row.map(|r| LockHolder {
        pid: r.get(0),
        user: r.get(1),
        application: r.get(2),
        client: r.get(3),
        since: r.get(4),
        query: r.get(5),
    }))
}
