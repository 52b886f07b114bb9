//! Waiting for locks without stalling the application. A statement that needs a strong lock
//! (`ALTER TABLE` wants ACCESS EXCLUSIVE) queues behind whoever holds a conflicting one, and
//! every later query of the application queues behind *it*. So each statement runs under a
//! short `lock_timeout`: no application query waits longer than that. After a timeout the
//! migration is retried within a time budget:
//!
//! - with a second session (the CLI gives the engine a way to open one; it is opened once a
//!   statement has run for 50 ms), the attempt is watched: `pg_locks`/`pg_blocking_pids` name
//!   the lock it waits for and who holds it, and the next attempt starts as soon as those
//!   transactions end (no blind pauses, no queueing while they last);
//! - without one (an application's own client), pauses grow 1.5x with jitter.
//!
//! Every retry is reported once, with who blocks when known.

use super::{Engine, Event};
use crate::Version;
use postgres::Client;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Opens another session to the same database (to watch who blocks a migration).
pub type SessionOpener = Arc<dyn Fn() -> Result<Client, String> + Send + Sync>;

/// How often a watched attempt samples `pg_locks`.
const SAMPLE: Duration = Duration::from_millis(20);

/// A session holding a lock a migration needs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Blocker {
    /// Backend process id.
    pub pid: i32,
    /// Database user.
    pub user: Option<String>,
    /// `application_name`.
    pub application: Option<String>,
    /// Client address.
    pub client: Option<String>,
    /// `active`, `idle in transaction`, ...
    pub state: Option<String>,
    /// Its current (or last) query.
    pub query: Option<String>,
    /// How long its transaction has been open, in seconds.
    pub transaction_seconds: Option<f64>,
    #[serde(skip)]
    xact_start: Option<OffsetDateTime>,
}

/// The lock a migration waited for and who held it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Blockage {
    /// The lock wanted, e.g. `public.t (ACCESS EXCLUSIVE lock)`.
    pub lock: String,
    /// Who held (or was ahead in the queue for) a conflicting lock.
    pub blockers: Vec<Blocker>,
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
        if let Some(s) = &self.state {
            write!(f, ", {s}")?;
        }
        if let Some(t) = self.transaction_seconds {
            write!(f, " (transaction open {t:.1} s)")?;
        }
        if let Some(q) = self.query.as_deref().filter(|q| !q.is_empty()) {
            write!(f, ", running `{}`", super::advisory::one_line(q, 80))?;
        }
        Ok(())
    }
}

impl fmt::Display for Blockage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who: Vec<String> = self.blockers.iter().map(ToString::to_string).collect();
        write!(f, "blocked on {} by {}", self.lock, who.join("; "))
    }
}

/// When the next attempt starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "when", content = "ms")]
pub enum NextAttempt {
    /// As soon as the blocking transactions end.
    WhenBlockersFinish,
    /// After a pause.
    After(u64),
}

/// The second session of a run: opened once a statement has waited [`OPEN_AFTER`] (a lock
/// wait is likely then), and kept for the run.
pub(crate) struct Watch {
    opener: Option<SessionOpener>,
    client: Option<Client>,
    tried: bool,
    /// The backend pid of the session that runs the migrations.
    pid: i32,
}

/// How long an attempt runs before it is watched (and the second session opened, the first
/// time): a lock wait is likely then.
const OPEN_AFTER: Duration = Duration::from_millis(50);

/// When an attempt is first looked at: after [`OPEN_AFTER`], or sooner when the lock timeout
/// is so short that the attempt would time out unwatched.
fn watch_after(lock_timeout: Duration) -> Duration {
    OPEN_AFTER.min(lock_timeout / 2)
}

impl Watch {
    pub(crate) fn new(opener: Option<SessionOpener>, pid: i32) -> Watch {
        Watch {
            opener,
            client: None,
            tried: false,
            pid,
        }
    }

    /// Whether an attempt can be watched: a session, or a way to open one that has not failed
    /// yet.
    fn can_watch(&self) -> bool {
        self.client.is_some() || (self.opener.is_some() && !self.tried)
    }
}

/// The retry state of one migration (or one file) in a run.
pub(crate) struct Retrier<'a> {
    engine: &'a Engine,
    watch: &'a mut Watch,
    version: Version,
    started: Instant,
    retries: u32,
    /// Who blocked the last attempt, when it was watched.
    pub(crate) last: Option<Blockage>,
}

impl<'a> Retrier<'a> {
    pub(crate) fn new(engine: &'a Engine, watch: &'a mut Watch, version: Version) -> Retrier<'a> {
        Retrier {
            engine,
            watch,
            version,
            started: Instant::now(),
            retries: 0,
            last: None,
        }
    }

    /// Runs one attempt. When it lasts longer than [`OPEN_AFTER`] (half the lock timeout when
    /// that is shorter), a second session (opened then, once per run) samples which lock it
    /// waits for and who holds it, so a timeout can say who blocked it and the retry can wait
    /// for exactly them.
    pub(crate) fn attempt<T>(
        &mut self,
        client: &mut Client,
        run: impl FnOnce(&mut Client) -> T,
    ) -> T {
        if self.engine.config.lock_timeout.is_zero() || !self.watch.can_watch() {
            return run(client);
        }
        let watch = &mut *self.watch;
        let stop = AtomicBool::new(false);
        let first_look = watch_after(self.engine.config.lock_timeout);
        let (result, seen) = std::thread::scope(|scope| {
            let stop = &stop;
            let watching = scope.spawn(move || {
                // Most attempts end long before any lock wait could matter: they cost the
                // watcher nothing but this pause, not a query.
                if pause(stop, first_look) {
                    return None;
                }
                if watch.client.is_none() {
                    watch.tried = true;
                    watch.client = watch.opener.as_ref().and_then(|open| open().ok());
                }
                let pid = watch.pid;
                watch
                    .client
                    .as_mut()
                    .and_then(|c| sample_until(c, pid, stop))
            });
            let result = run(client);
            stop.store(true, Ordering::Release);
            watching.thread().unpark();
            (result, watching.join().ok().flatten())
        });
        if seen.is_some() {
            self.last = seen;
        }
        result
    }

    /// After a lock timeout (the transaction rolled back): whether to try again. Reports the
    /// retry, then waits for the blockers to finish (or pauses) within the budget.
    pub(crate) fn again(&mut self, events: &mut dyn FnMut(Event<'_>)) -> bool {
        let config = &self.engine.config;
        let elapsed = self.started.elapsed();
        if config.lock_retries.is_some_and(|max| self.retries >= max)
            || elapsed >= config.lock_retry_budget
        {
            return false;
        }
        self.retries += 1;
        let blockers: Vec<Blocker> = self
            .last
            .as_ref()
            .map(|b| b.blockers.clone())
            .unwrap_or_default();
        let watchable = self.watch.client.is_some()
            && !blockers.is_empty()
            && blockers.iter().all(|b| b.xact_start.is_some());
        let remaining = config.lock_retry_budget.saturating_sub(elapsed);
        let pause =
            backoff(config.retry_pause, config.retry_pause_max, self.retries - 1).min(remaining);
        events(Event::LockTimeout {
            version: self.version,
            attempt: self.retries,
            elapsed,
            blocked_by: self.last.as_ref(),
            next: if watchable {
                NextAttempt::WhenBlockersFinish
            } else {
                NextAttempt::After(pause.as_millis() as u64)
            },
        });
        // A stop request (Ctrl-C during a backfill) ends the wait: the attempt was rolled back,
        // so there is no batch to finish.
        let engine = self.engine;
        let stopping = || engine.stopping();
        match (watchable, self.watch.client.as_mut()) {
            (true, Some(watcher)) => wait_for(watcher, &blockers, remaining, &stopping),
            _ => engine.sleep_unless_stopped(pause),
        }
        true
    }
}

/// Waits up to `d` or until `stop` (the watched attempt ended); true when stopped.
fn pause(stop: &AtomicBool, d: Duration) -> bool {
    let until = Instant::now() + d;
    loop {
        if stop.load(Ordering::Acquire) {
            return true;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        std::thread::park_timeout(left);
    }
}

/// Samples, until `stop`, the lock `pid` waits for and who blocks it; returns the last
/// non-empty sample.
fn sample_until(watcher: &mut Client, pid: i32, stop: &AtomicBool) -> Option<Blockage> {
    let mut seen = None;
    loop {
        if let Ok(Some(b)) = sample(watcher, pid) {
            seen = Some(b);
        }
        if pause(stop, SAMPLE) {
            return seen;
        }
    }
}

fn sample(watcher: &mut Client, pid: i32) -> Result<Option<Blockage>, postgres::Error> {
    let rows = watcher.query(
        "SELECT w.mode, coalesce(quote_ident(n.nspname) || '.' || quote_ident(c.relname), w.locktype),
                b.pid, b.usename::text, b.application_name,
                coalesce(b.client_hostname, host(b.client_addr), 'local socket'),
                b.state, b.query, extract(epoch FROM clock_timestamp() - b.xact_start)::float8,
                b.xact_start
         FROM pg_catalog.pg_locks w
         LEFT JOIN pg_catalog.pg_class c ON c.oid = w.relation
         LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         CROSS JOIN LATERAL unnest(pg_catalog.pg_blocking_pids($1)) AS bp(pid)
         JOIN pg_catalog.pg_stat_activity b ON b.pid = bp.pid
         WHERE w.pid = $1 AND NOT w.granted
         ORDER BY b.pid",
        &[&pid],
    )?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let mode: String = first.get(0);
    let on: String = first.get(1);
    Ok(Some(Blockage {
        lock: format!("{on} ({} lock)", lock_mode(&mode)),
        blockers: rows
            .iter()
            .map(|r| Blocker {
                pid: r.get(2),
                user: r.get(3),
                application: r.get(4),
                client: r.get(5),
                state: r.get(6),
                query: r.get(7),
                transaction_seconds: r.get(8),
                xact_start: r.get(9),
            })
            .collect(),
    }))
}

/// A lock mode as `pg_locks` names it, as SQL's `LOCK` names it.
fn lock_mode(mode: &str) -> &str {
    match mode {
        "AccessShareLock" => "ACCESS SHARE",
        "RowShareLock" => "ROW SHARE",
        "RowExclusiveLock" => "ROW EXCLUSIVE",
        "ShareUpdateExclusiveLock" => "SHARE UPDATE EXCLUSIVE",
        "ShareLock" => "SHARE",
        "ShareRowExclusiveLock" => "SHARE ROW EXCLUSIVE",
        "ExclusiveLock" => "EXCLUSIVE",
        "AccessExclusiveLock" => "ACCESS EXCLUSIVE",
        other => other,
    }
}

/// Waits until every blocker's transaction has ended (or `limit` passes, or `stopping`).
fn wait_for(
    watcher: &mut Client,
    blockers: &[Blocker],
    limit: Duration,
    stopping: &dyn Fn() -> bool,
) {
    let pids: Vec<i32> = blockers.iter().map(|b| b.pid).collect();
    let starts: Vec<OffsetDateTime> = blockers.iter().filter_map(|b| b.xact_start).collect();
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline && !stopping() {
        let still = watcher
            .query_one(
                "SELECT count(*) FROM pg_catalog.pg_stat_activity
                 WHERE pid = ANY($1) AND xact_start = ANY($2)",
                &[&pids, &starts],
            )
            .map(|r| r.get::<_, i64>(0) > 0);
        match still {
            Ok(true) => {
                std::thread::sleep(SAMPLE.min(deadline.saturating_duration_since(Instant::now())))
            }
            _ => return,
        }
    }
}

/// The pause before retry `n` (0-based): `first * 1.5^n`, capped at `max`, ±25 % jitter so
/// several runners do not retry in step.
pub(crate) fn backoff(first: Duration, max: Duration, n: u32) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let jitter = 0.75 + f64::from(nanos % 1000) / 2000.0;
    let grown = first.as_secs_f64() * 1.5f64.powi(n.min(40) as i32);
    Duration::from_secs_f64(grown.min(max.as_secs_f64()) * jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_watched_after_50_ms_or_half_a_short_lock_timeout() {
        assert_eq!(watch_after(Duration::from_millis(200)), OPEN_AFTER);
        assert_eq!(watch_after(Duration::from_secs(5)), OPEN_AFTER);
        assert_eq!(
            watch_after(Duration::from_millis(40)),
            Duration::from_millis(20)
        );
    }

    #[test]
    fn backoff_grows_to_its_cap_with_bounded_jitter() {
        let (first, max) = (Duration::from_millis(100), Duration::from_secs(2));
        for n in 0..12 {
            let d = backoff(first, max, n).as_secs_f64();
            let nominal = (0.1 * 1.5f64.powi(n as i32)).min(2.0);
            // A `Duration` holds whole nanoseconds: at the lowest jitter the product can round
            // to just under the bound (a 1 ns slack, not a wider range).
            let ns = 1e-9;
            assert!(
                d >= nominal * 0.75 - ns && d <= nominal * 1.25 + ns,
                "{n}: {d}"
            );
        }
    }
}
