//! The verification: one replay of the history on the shadow database. Migrations before the
//! first one to check are applied; then each one to check is applied (schema S1, from S0),
//! reverted (S0', which must equal S0) and applied again (S1', which must equal S1).
//!
//! When both files are transactional, the revert and the re-application run in one
//! transaction that is rolled back: the shadow database is back at S1 whatever happened, and
//! the replay goes on. A no-transaction file cannot be rolled back: when a revert or
//! re-application outside a transaction fails or leaves another schema, the shadow database is
//! built again up to this migration before the replay goes on.
//!
//! Each snapshot after the first is a refresh that reads only what the migration touched, so
//! the replay stays linear in the number of migrations. The session records its schema changes
//! when the role may (a superuser: `record_changes`), so a refresh need not scan the catalogs
//! to find them. At the end, a full capture is compared
//! with the refreshed snapshot, as a check of the refreshes themselves.

use super::database::{ShadowDb, ShadowError};
use super::files::{controls_transaction, run_committed, run_committed_then, run_in};
use super::report::{Checked, Verdict, VerifyEvent};
use crate::engine::Direction;
use crate::engine::connection::error_text;
use crate::schema::{
    REFRESH_SETTINGS, SchemaDiff, Snapshot, SnapshotError, SnapshotOptions, StatementCache,
    TrackedSnapshot, diff, record_changes,
};
use crate::{Migration, MigrationSet, SqlFile, Version};
use postgres::SimpleQueryRow;
use std::collections::BTreeSet;
use std::time::Instant;

/// Why a verification could not be completed (a migration failing is a verdict, not this).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The shadow database could not be made, reached or dropped.
    #[error(transparent)]
    Shadow(#[from] ShadowError),
    /// A snapshot could not be read.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// The session on the shadow database failed outside a migration's SQL.
    #[error("the shadow database {label}: {message}")]
    Session {
        /// The shadow database.
        label: String,
        /// What failed.
        message: String,
    },
    /// A migration the history says is applied fails when replayed on an empty database: the
    /// history cannot rebuild the schema (`diff`, `status --drift`).
    #[error(
        "migration {} as recorded fails on an empty database, so the schema it should give \
         cannot be rebuilt: {}",
        failure.folder(),
        failure.message
    )]
    Replay {
        /// The failure, at file:line:column.
        failure: Box<crate::engine::Failure>,
    },
    /// The refreshed snapshot and a full capture of the shadow database disagree: a defect of
    /// cargo-migrate, not of the migrations.
    #[error(
        "the schema read step by step differs from a full read at the end (a defect of \
         cargo-migrate; please report it with the migrations):\n{diff}"
    )]
    Inconsistent {
        /// Full capture → refreshed snapshot.
        diff: SchemaDiff,
    },
}

/// What to verify.
#[derive(Debug, Clone)]
pub struct VerifyRequest<'a> {
    /// Every migration.
    pub set: &'a MigrationSet,
    /// The versions to check; the others up to the last of these are only applied.
    pub check: BTreeSet<Version>,
    /// What the snapshots capture.
    pub snapshot: SnapshotOptions,
}

/// Replays the history on `shadow` up to the last migration to check, checking each one asked
/// for, and returns their verdicts in version order. A migration that fails to apply ends the
/// replay: it is `up_failed` (checked or not), the remaining ones to check are `not_run`.
///
/// ```no_run
/// use migrate_runtime::MigrationSet;
/// use migrate_runtime::engine::connection::ConnInfo;
/// use migrate_runtime::shadow::{ShadowDb, VerifyRequest, verify};
/// let set = MigrationSet::read("migrations".as_ref())?;
/// let mut shadow = ShadowDb::create(&ConnInfo::parse("postgres://postgres@localhost/app")?, None)?;
/// let request = VerifyRequest {
///     set: &set,
///     check: set.migrations.iter().map(|m| m.version).collect(),
///     snapshot: Default::default(),
/// };
/// for checked in verify(&mut shadow, &request, &mut |_| {})? {
///     println!("{} {}", checked.folder(), checked.verdict);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify(
    shadow: &mut ShadowDb,
    request: &VerifyRequest<'_>,
    events: &mut dyn FnMut(VerifyEvent<'_>),
) -> Result<Vec<Checked>, VerifyError> {
    let Some(&last) = request.check.iter().next_back() else {
        return Ok(Vec::new());
    };
    let migrations: Vec<&Migration> = (request.set.migrations.iter())
        .filter(|m| m.version <= last)
        .collect();
    events(VerifyEvent::Shadow {
        label: &shadow.label(),
        total: migrations.len(),
        checking: request.check.len(),
    });
    let recording = record_changes(shadow.client())?;
    let mut replay = Replay {
        shadow,
        request,
        migrations: &migrations,
        base: None,
        results: Vec::new(),
        cache: StatementCache::default(),
        recording,
        may_discard: false,
        deallocates: false,
        open: false,
    };
    let ran = replay.run(events);
    let settled = replay.settle();
    ran?;
    settled?;
    replay.self_check()?;
    Ok(replay.results)
}

struct Replay<'a, 'r> {
    shadow: &'a mut ShadowDb,
    request: &'a VerifyRequest<'r>,
    migrations: &'a [&'r Migration],
    /// The schema before the next migration (none until the first one to check).
    base: Option<TrackedSnapshot>,
    results: Vec<Checked>,
    /// The catalog queries, prepared on the shadow database's session.
    cache: StatementCache,
    /// Whether the session records its schema changes ([`record_changes`]).
    recording: bool,
    /// A file ran that may have dropped that record (`DISCARD TEMP`).
    may_discard: bool,
    /// The migration being replayed may deallocate the session's prepared statements
    /// (`DISCARD ALL`, `DEALLOCATE`): every snapshot after one of its files prepares the
    /// catalog queries again.
    deallocates: bool,
    /// The last rehearsal's transaction is still open, to be rolled back: in the next file's
    /// round trip, or on its own before anything else ([`Replay::settle`]).
    open: bool,
}

impl Replay<'_, '_> {
    fn run(&mut self, events: &mut dyn FnMut(VerifyEvent<'_>)) -> Result<(), VerifyError> {
        for (index, m) in self.migrations.iter().enumerate() {
            let checking = self.request.check.contains(&m.version);
            events(VerifyEvent::Starting {
                version: m.version,
                name: &m.name,
                index,
                checking,
            });
            let started = Instant::now();
            if checking && self.base.is_none() {
                self.base = Some(self.capture()?);
            }
            // `DISCARD TEMP` (or `ALL`) drops the session's record of changes; from the first
            // file that may run it on, every refresh asks whether the record is still there.
            self.may_discard |= either_mentions(m, b"discard");
            self.deallocates = either_mentions(m, b"discard") || either_mentions(m, b"deallocate");
            let before = self.base.take();
            let applied = match &before {
                None => {
                    self.settle()?;
                    run_committed(self.shadow.client(), m, Direction::Up).map(|_| None)
                }
                Some(before) => self.apply_and_refresh(m, before)?.map(Some),
            };
            let after = match applied {
                Ok(after) => after,
                Err(failure) => {
                    let mut c = Checked::failed(Verdict::UpFailed, *failure);
                    c.duration_ms = ms(started);
                    events(VerifyEvent::Checked(&c));
                    self.results.push(c);
                    self.not_run(index + 1, events);
                    return Ok(());
                }
            };
            let (Some(before), Some(after)) = (before, after) else {
                continue;
            };
            if !checking {
                self.base = Some(after);
                continue;
            }
            let (mut c, next) = self.check(index, m, &before, after, events)?;
            c.duration_ms = ms(started);
            events(VerifyEvent::Checked(&c));
            self.results.push(c);
            self.base = Some(next);
        }
        Ok(())
    }

    /// Applies `m` and reads the schema after it: a transactional file's snapshot is read in
    /// its own transaction before the commit (three round trips fewer).
    fn apply_and_refresh(
        &mut self,
        m: &Migration,
        before: &TrackedSnapshot,
    ) -> Result<Result<TrackedSnapshot, Box<crate::engine::Failure>>, VerifyError> {
        if m.directives.no_transaction || controls_transaction(&m.up) {
            self.settle()?;
            return match run_committed(self.shadow.client(), m, Direction::Up) {
                Ok(_) => Ok(Ok(self.refresh(before)?)),
                Err(failure) => Ok(Err(failure)),
            };
        }
        let ahead = self.ahead(before)?;
        let then = (ahead.after(None), ahead.query());
        // The last rehearsal's rollback goes first in the file's round trip: every way out of
        // the file's run ends that transaction (a batch rejected as a whole is followed by a
        // `ROLLBACK` of the runner's).
        let opening = match std::mem::take(&mut self.open) {
            true => "ROLLBACK; ",
            false => "",
        };
        let (cache, deallocates) = (&mut self.cache, self.deallocates);
        let refresh = |client: &mut postgres::Client, rows: Option<Vec<SimpleQueryRow>>| {
            let cache = prepared(cache, deallocates);
            let changes = ahead.changes(rows.as_deref());
            (before.refresh_in_transaction(client, cache, ahead.sent, changes))
                .map_err(VerifyError::from)
        };
        let client = self.shadow.client();
        run_committed_then(
            client,
            m,
            Direction::Up,
            opening,
            ((&then.0, then.1), refresh),
        )
    }

    /// Rolls back the last rehearsal's transaction if it is still open.
    fn settle(&mut self) -> Result<(), VerifyError> {
        if std::mem::take(&mut self.open) {
            (self.shadow.client().batch_execute("ROLLBACK")).map_err(|e| VerifyError::Session {
                label: self.shadow.label(),
                message: error_text(&e),
            })?;
        }
        Ok(())
    }

    /// What to send in the round trip of a file before refreshing `from`
    /// ([`TrackedSnapshot::refresh_in_transaction`]): the refresh's settings and its change
    /// query. Nothing once a file may have dropped the session's record of changes (the
    /// refresh asks), and no change query when the session does not record its changes or the
    /// migration may deallocate the statement.
    fn ahead(&mut self, from: &TrackedSnapshot) -> Result<Ahead, VerifyError> {
        if self.may_discard {
            return Ok(Ahead::default());
        }
        let changes = match self.recording && !self.deallocates {
            true => {
                // Preparing the query is a round trip of its own: never in a rehearsal's
                // transaction, which a failed file may have left aborted.
                if !self.cache.prepared_ahead() {
                    self.settle()?;
                }
                from.changes_ahead(self.shadow.client(), &mut self.cache)?
            }
            false => None,
        };
        Ok(Ahead {
            settings: REFRESH_SETTINGS.as_str(),
            changes,
            sent: Some(self.recording),
        })
    }

    /// Checks a migration just applied (`before` → `after`); returns its verdict and the
    /// schema to go on from.
    fn check(
        &mut self,
        index: usize,
        m: &Migration,
        before: &TrackedSnapshot,
        after: TrackedSnapshot,
        events: &mut dyn FnMut(VerifyEvent<'_>),
    ) -> Result<(Checked, TrackedSnapshot), VerifyError> {
        if m.directives.irreversible {
            let mut c = Checked::new(m.version, &m.name, Verdict::Irreversible);
            c.detail = Some("marked -- migrate:irreversible: not reverted".into());
            return Ok((c, after));
        }
        if m.down.is_none() {
            let mut c = Checked::new(m.version, &m.name, Verdict::NoDown);
            c.detail =
                Some("no down.sql: add one, or mark the migration -- migrate:irreversible".into());
            return Ok((c, after));
        }
        let own_transactions =
            controls_transaction(&m.up) || m.down.as_ref().is_some_and(controls_transaction);
        if !m.directives.no_transaction && !m.down_no_transaction && !own_transactions {
            let c = self.rehearse_in_transaction(m, before, &after)?;
            return Ok((c, after));
        }
        self.rehearse_committed(index, m, before, after, events)
    }

    /// Revert and re-apply in one transaction, rolled back: the shadow stays at `after`. The
    /// rollback waits for the next round trip ([`Replay::settle`]) unless the rehearsal itself
    /// failed.
    fn rehearse_in_transaction(
        &mut self,
        m: &Migration,
        before: &TrackedSnapshot,
        after: &TrackedSnapshot,
    ) -> Result<Checked, VerifyError> {
        // Both refreshes read the changes since `after`: the same query.
        let ahead = self.ahead(after)?;
        let (cache, deallocates) = (&mut self.cache, self.deallocates);
        let tx = self.shadow.client();
        let outcome = (|| -> Result<Checked, VerifyError> {
            // The transaction begins in the down file's round trip, and the savepoint the
            // re-application goes back to on a failure is made in it, once the down ran.
            let after_down = ahead.after(Some("SAVEPOINT shadow_up"));
            let down = ("BEGIN; ", "ROLLBACK", (after_down.as_str(), ahead.query()));
            let rows = match run_in(tx, m, Direction::Down, down) {
                Ok(rows) => rows,
                Err(failure) => return Ok(Checked::failed(Verdict::DownFailed, *failure)),
            };
            let cache = prepared(cache, deallocates);
            let changes = ahead.changes(rows.as_deref());
            let reverted = after.refresh_in_transaction(tx, cache, ahead.sent, changes)?;
            let down_diff = diff(before.snapshot(), reverted.snapshot());
            let reapplied = match run_in(
                tx,
                m,
                Direction::Up,
                (
                    "",
                    "ROLLBACK TO SAVEPOINT shadow_up",
                    (&ahead.after(None), ahead.query()),
                ),
            ) {
                Ok(rows) => {
                    let cache = prepared(cache, deallocates);
                    let changes = ahead.changes(rows.as_deref());
                    Ok(after.refresh_in_transaction(tx, cache, ahead.sent, changes)?)
                }
                Err(failure) => Err(failure),
            };
            Ok(judge(
                m,
                down_diff,
                reapplied.map(|r| diff(after.snapshot(), r.snapshot())),
            ))
        })();
        // Left open for the next round trip, unless the rehearsal itself failed.
        self.open = true;
        if outcome.is_err() {
            self.settle()?;
        }
        outcome
    }

    /// Revert and re-apply for real (a file runs outside a transaction); when that leaves
    /// another schema than `after`, build the shadow again up to this migration.
    fn rehearse_committed(
        &mut self,
        index: usize,
        m: &Migration,
        before: &TrackedSnapshot,
        after: TrackedSnapshot,
        events: &mut dyn FnMut(VerifyEvent<'_>),
    ) -> Result<(Checked, TrackedSnapshot), VerifyError> {
        if let Err(failure) = run_committed(self.shadow.client(), m, Direction::Down) {
            let partly = !failure.transactional;
            let c = Checked::failed(Verdict::DownFailed, *failure);
            let next = if partly {
                self.rebuild(index, events)?
            } else {
                after
            };
            return Ok((c, next));
        }
        let reverted = self.refresh(&after)?;
        let down_diff = diff(before.snapshot(), reverted.snapshot());
        let reapplied = match run_committed(self.shadow.client(), m, Direction::Up) {
            Ok(_) => Ok(self.refresh(&after)?),
            Err(failure) => Err(failure),
        };
        let (up_diff, next) = match reapplied {
            Ok(again) => {
                let d = diff(after.snapshot(), again.snapshot());
                let next = if d.is_empty() {
                    again
                } else {
                    self.rebuild(index, events)?
                };
                (Ok(d), next)
            }
            Err(failure) => (Err(failure), self.rebuild(index, events)?),
        };
        Ok((judge(m, down_diff, up_diff), next))
    }

    /// A new shadow database with every migration up to `index` applied.
    fn rebuild(
        &mut self,
        index: usize,
        events: &mut dyn FnMut(VerifyEvent<'_>),
    ) -> Result<TrackedSnapshot, VerifyError> {
        events(VerifyEvent::Rebuilding {
            through: self.migrations[index].version,
        });
        self.shadow.recreate()?;
        self.open = false;
        // A new session: its statements are prepared again, its changes recorded again.
        self.cache = StatementCache::default();
        self.recording = record_changes(self.shadow.client())?;
        for m in &self.migrations[..=index] {
            if let Err(failure) = run_committed(self.shadow.client(), m, Direction::Up) {
                return Err(VerifyError::Session {
                    label: self.shadow.label(),
                    message: format!(
                        "{} failed when the shadow database was built again: {}",
                        failure.location(),
                        failure.message
                    ),
                });
            }
        }
        self.capture()
    }

    fn not_run(&mut self, from: usize, events: &mut dyn FnMut(VerifyEvent<'_>)) {
        for m in &self.migrations[from..] {
            if self.request.check.contains(&m.version) {
                let mut c = Checked::new(m.version, &m.name, Verdict::NotRun);
                c.detail = Some("not checked: an earlier migration failed to apply".into());
                events(VerifyEvent::Checked(&c));
                self.results.push(c);
            }
        }
    }

    fn capture(&mut self) -> Result<TrackedSnapshot, VerifyError> {
        self.settle()?;
        Ok(TrackedSnapshot::capture_cached(
            self.shadow.client(),
            &mut self.cache,
            &self.request.snapshot,
        )?)
    }

    fn refresh(&mut self, from: &TrackedSnapshot) -> Result<TrackedSnapshot, VerifyError> {
        let cache = prepared(&mut self.cache, self.deallocates);
        Ok(from.refresh_cached(self.shadow.client(), cache)?)
    }

    /// The refreshed snapshot must be what a full capture reads.
    fn self_check(&mut self) -> Result<(), VerifyError> {
        let Some(base) = self.base.take() else {
            return Ok(());
        };
        let full = Snapshot::capture(self.shadow.client(), &self.request.snapshot)?;
        let d = diff(&full, base.snapshot());
        if d.is_empty() {
            Ok(())
        } else {
            Err(VerifyError::Inconsistent { diff: d })
        }
    }
}

/// What goes in the round trip of a file ahead of the refresh after it ([`Replay::ahead`]).
#[derive(Debug, Default)]
struct Ahead {
    /// The refresh's output settings (empty: the refresh sets them).
    settings: &'static str,
    /// Its change query, as SQL (`None`: the refresh runs it).
    changes: Option<String>,
    /// What the refresh then knows ([`TrackedSnapshot::refresh_in_transaction`]).
    sent: Option<bool>,
}

impl Ahead {
    /// What follows the file: the settings, then `between` (SQL).
    fn after(&self, between: Option<&str>) -> String {
        let mut sql = self.settings.to_string();
        if let Some(part) = between {
            if !sql.is_empty() && !sql.ends_with(';') {
                sql.push(';');
            }
            if !sql.is_empty() {
                sql.push('\n');
            }
            sql.push_str(part);
        }
        sql
    }

    /// The change query, sent after [`after`](Ahead::after) in the file's round trip while
    /// it runs batched (empty: none); never when the file runs again statement by statement,
    /// so that its failure is not the file's.
    fn query(&self) -> &str {
        self.changes.as_deref().unwrap_or("")
    }

    /// The change query's rows, when it ran in the file's round trip (`None`: the refresh
    /// runs it).
    fn changes<'a>(&self, rows: Option<&'a [SimpleQueryRow]>) -> Option<&'a [SimpleQueryRow]> {
        self.changes.as_ref().and(rows)
    }
}

/// The verdict from the schema after `down.sql` (compared with before the migration) and the
/// re-application (compared with after the migration, or its failure).
fn judge(
    m: &Migration,
    down: SchemaDiff,
    reapplied: Result<SchemaDiff, Box<crate::engine::Failure>>,
) -> Checked {
    if !down.is_empty() && !down.only_column_order() {
        let n = down.changes.len();
        let detail = format!(
            "down.sql did not restore the schema: {n} object{} differ{} from before the \
             migration (added: left by down.sql; removed: not restored by it)",
            if n == 1 { "" } else { "s" },
            if n == 1 { "s" } else { "" }
        );
        return Checked::differs(m.version, &m.name, Verdict::NotRestored, down, detail);
    }
    let up = match reapplied {
        Err(failure) => {
            return Checked::failed(Verdict::ReapplyFailed, *failure);
        }
        Ok(up) => up,
    };
    if !up.is_empty() && !up.only_column_order() {
        let n = up.changes.len();
        let detail = format!(
            "applied again after down.sql, migration.sql built another schema: {n} object{} \
             differ{} from its first application (added: only the second time; removed: only \
             the first)",
            if n == 1 { "" } else { "s" },
            if n == 1 { "s" } else { "" }
        );
        return Checked::differs(m.version, &m.name, Verdict::ReapplyFailed, up, detail);
    }
    if !down.is_empty() {
        let detail = "down.sql restored every column, but not in their order (a column \
                      dropped and added again comes last)"
            .to_string();
        return Checked::differs(m.version, &m.name, Verdict::ColumnOrder, down, detail);
    }
    Checked::new(m.version, &m.name, Verdict::Ok)
}

/// Whether either file of `m` names `word` (lowercase) anywhere, even in a comment: what may
/// run `DISCARD` or `DEALLOCATE`.
fn either_mentions(m: &Migration, word: &[u8]) -> bool {
    let mentions = |file: &SqlFile| {
        (file.sql.as_bytes().windows(word.len())).any(|w| w.eq_ignore_ascii_case(word))
    };
    mentions(&m.up) || m.down.as_ref().is_some_and(mentions)
}

/// The statement cache to read a snapshot with: emptied first when a file that ran may have
/// deallocated what it holds (the server would answer that the statements do not exist).
fn prepared(cache: &mut StatementCache, deallocates: bool) -> &mut StatementCache {
    if deallocates {
        *cache = StatementCache::default();
    }
    cache
}

fn ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}
