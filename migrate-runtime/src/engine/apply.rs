//! `apply`: verify everything first (`plan`), then run pending migrations in order, each
//! through the runner (a transactional one atomically with its history row, a no-transaction
//! one statement by statement with progress recorded, resumed after a failure).

use super::error::{Completed, Direction, EngineError, Stopped};
use super::execute::{cut_off, is_lock_timeout, session_settings};
use super::history::{self, Action, NewRow, RowState};
use super::plan::ApplyOptions;
use super::plan::{Planned, Step, planned};
use super::retry::{Retrier, Watch};
use super::runner::{Job, Runner, ms, rollback};
use super::session::Baseline;
use super::status::statement_checksum_values;
use super::{Engine, Event, advisory};
use crate::Version;
use crate::model::MigrationSet;
use postgres::Client;
use std::time::Instant;

/// What `apply` did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ApplyReport {
    /// The plan.
    pub plan: Vec<Planned>,
    /// What ran (empty in a dry run).
    pub applied: Vec<Completed>,
    /// It was a dry run.
    pub dry_run: bool,
    /// Ran in one transaction.
    pub single_transaction: bool,
}

impl Engine {
    /// Applies pending migrations. Takes the advisory lock (released on every path), creates
    /// the history table if needed, refuses before running anything when an applied migration
    /// was edited or is missing, one is partly reverted, or a pending one is out of order; then
    /// runs the plan. A failed transactional migration is retried (nothing of it remained); a
    /// failed no-transaction one resumes at its failed statement.
    pub fn apply(
        &self,
        client: &mut Client,
        set: &MigrationSet,
        options: &ApplyOptions,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<ApplyReport, EngineError> {
        if options.dry_run {
            let rows = self.history(client)?;
            let steps = self.plan(set, &rows, options)?;
            return Ok(ApplyReport {
                plan: steps.iter().map(|s| planned(s, true)).collect(),
                applied: Vec::new(),
                dry_run: true,
                single_transaction: options.single_transaction,
            });
        }
        let mut guard = self.lock(client, events)?;
        self.apply_locked(&mut guard, set, options, None, events)
    }

    pub(crate) fn lock<'c>(
        &self,
        client: &'c mut Client,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<advisory::Guard<'c>, EngineError> {
        let mut guard = advisory::acquire(
            client,
            &self.config.history,
            self.config.lock_wait,
            &mut |h| events(Event::WaitingForLock(h)),
        )
        .map_err(|e| match e {
            advisory::AcquireError::Busy { waited, holder } => {
                EngineError::LockBusy { waited, holder }
            }
            advisory::AcquireError::Db(e) => EngineError::db("cannot take the migration lock")(e),
        })?;
        // A table of that name that is not a history is an error, not something to add to.
        history::exists(&mut *guard, &self.config.history)
            .map_err(EngineError::history("cannot read the migration history"))?;
        history::ensure(&mut *guard, &self.config.history).map_err(EngineError::db(format!(
            "cannot create the history table {}",
            self.config.history
        )))?;
        Ok(guard)
    }

    /// Runs the plan with the lock held; `backup` (a [`history::BackupRecord`] as JSON text)
    /// is recorded in every row of the run.
    pub(crate) fn apply_locked(
        &self,
        client: &mut Client,
        set: &MigrationSet,
        options: &ApplyOptions,
        backup: Option<&str>,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<ApplyReport, EngineError> {
        let rows = self.history(client)?;
        let steps = self.plan(set, &rows, options)?;
        let plan = steps.iter().map(|s| planned(s, false)).collect();
        let applied = if options.single_transaction {
            self.run_single_transaction(client, &steps, backup, events)?
        } else {
            let mut runner = Runner::start(self, client)?;
            let mut applied = Vec::new();
            for (i, step) in steps.iter().enumerate() {
                // Group commit: every migration but the last commits without waiting for its
                // WAL flush; the last one's synchronous commit flushes them all, so a reported
                // success is durable, and a crash mid-run loses whole migrations together with
                // their history rows (the next run applies them again).
                let async_commit = self.config.group_commit && i + 1 < steps.len();
                match self.apply_step(&mut runner, step, async_commit, backup, events) {
                    Ok(a) => applied.push(a),
                    Err(e) => {
                        let job = job(step, async_commit, backup);
                        runner.finish();
                        return Err(e.into_engine(&job, applied));
                    }
                }
            }
            runner.finish();
            applied
        };
        Ok(ApplyReport {
            plan,
            applied,
            dry_run: false,
            single_transaction: options.single_transaction,
        })
    }

    fn apply_step(
        &self,
        runner: &mut Runner<'_>,
        step: &Step<'_>,
        async_commit: bool,
        backup: Option<&str>,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<Completed, super::runner::JobError> {
        let m = step.migration;
        if let Some(error) = step.retried {
            events(Event::RetryingFailed {
                version: m.version,
                name: &m.name,
                error,
            });
        }
        events(Event::Starting {
            version: m.version,
            name: &m.name,
            no_transaction: m.directives.no_transaction,
            direction: Direction::Up,
        });
        let started = Instant::now();
        let job = job(step, async_commit, backup);
        let (statements, backfill) = match m.up.backfill() {
            Ok(Some(b)) => {
                let from = step.backfill_from.as_ref();
                (None, Some(runner.backfill(&job, b, &m.up, from, events)?))
            }
            _ => (runner.run(&job, events)?, None),
        };
        let done = Completed {
            version: m.version,
            name: m.name.clone(),
            duration_ms: ms(started),
            statements,
            no_transaction: m.directives.no_transaction,
            resumed_at: (step.resume_from > 0).then_some(step.resume_from + 1),
            recorded_down: false,
            retried: step.retried.is_some(),
            backfill,
            backfill_resumed: step.backfill_from.clone().filter(|p| p.batches > 0),
        };
        events(Event::Applied(&done));
        Ok(done)
    }

    fn run_single_transaction(
        &self,
        client: &mut Client,
        steps: &[Step<'_>],
        backup: Option<&str>,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<Vec<Completed>, EngineError> {
        let started = Instant::now();
        let baseline = Baseline::capture(client)
            .map_err(EngineError::db("cannot read the session's settings"))?;
        let mut watch = Watch::new(self.sessions.clone(), baseline.pid);
        let first = steps
            .first()
            .map_or(Version::new_const(0), |s| s.migration.version);
        let mut retry = Retrier::new(self, &mut watch, first);
        'retry: loop {
            let begin = format!(
                "BEGIN; {}",
                session_settings(self.config.lock_timeout, true, false)
            );
            client
                .batch_execute(&begin)
                .map_err(EngineError::db("cannot begin a transaction"))?;
            let mut applied = Vec::new();
            // The history rows are written together after the last migration (one round trip,
            // in the same transaction, so they still commit with the SQL or not at all).
            let mut rows = Vec::with_capacity(steps.len());
            // Every migration starts from the session state the run began with, as in
            // separate transactions.
            let reset = format!(
                "{}{}",
                baseline.reset_sql(),
                session_settings(self.config.lock_timeout, true, false)
            );
            for step in steps {
                let m = step.migration;
                let t = Instant::now();
                events(Event::Starting {
                    version: m.version,
                    name: &m.name,
                    no_transaction: false,
                    direction: Direction::Up,
                });
                let attempt = retry.attempt(client, |c| step.script.run(c, &reset));
                let failed = match attempt {
                    Ok(()) => {
                        rows.push(NewRow {
                            execution_ms: Some(ms(t)),
                            ..job(step, false, backup).row
                        });
                        applied.push(Completed {
                            version: m.version,
                            name: m.name.clone(),
                            duration_ms: ms(t),
                            statements: step.script.len(),
                            no_transaction: false,
                            resumed_at: None,
                            recorded_down: false,
                            retried: step.retried.is_some(),
                            backfill: None,
                            backfill_resumed: None,
                        });
                        continue;
                    }
                    Err(failed) => failed,
                };
                rollback(client);
                if cut_off(&failed.error) {
                    return Err(stopped_single(
                        format!("the run was cut off while {} ran", m.folder()),
                        super::connection::error_text(&failed.error),
                        failed.error.code().map(|c| c.code().to_string()),
                        step,
                    ));
                }
                if is_lock_timeout(&failed.error) && retry.again(events) {
                    continue 'retry;
                }
                let mut failure = step
                    .script
                    .failure(m.version, &m.name, Direction::Up, &failed);
                if failure.is_lock_timeout() {
                    failure.blocked_by = retry.last.take();
                }
                let row = NewRow {
                    state: RowState::Failed,
                    execution_ms: Some(ms(started)),
                    error: Some(failure.error_text()),
                    error_statement: failure.statement.map(|s| s as i32),
                    ..job(step, false, backup).row
                };
                if let Err(e) = history::insert(client, &self.config.history, &row) {
                    failure.not_recorded = Some(e.to_string());
                }
                return Err(EngineError::Failed {
                    failure: Box::new(failure),
                    completed: Vec::new(),
                });
            }
            if let Some(last) = steps.last() {
                let mut record = baseline.identity_sql().to_string();
                for row in &rows {
                    history::push_insert_sql(&mut record, &self.config.history, row);
                    record.push_str(";\n");
                }
                if let Err(e) = client.batch_execute(&record) {
                    rollback(client);
                    let what = match steps {
                        [one] => one.migration.folder(),
                        _ => "the migrations".to_string(),
                    };
                    return Err(stopped_single(
                        format!(
                            "cannot record {what} in the history table {}",
                            self.config.history
                        ),
                        super::connection::error_text(&e),
                        e.code().map(|c| c.code().to_string()),
                        last,
                    ));
                }
            }
            if let Err(e) = client.batch_execute("COMMIT") {
                let outcome = if cut_off(&e) {
                    super::error::Outcome::Unknown
                } else {
                    super::error::Outcome::RolledBack
                };
                return Err(EngineError::Stopped(Box::new(Stopped {
                    context: "cannot commit the migrations (one transaction)".into(),
                    error: super::connection::error_text(&e),
                    code: e.code().map(|c| c.code().to_string()),
                    during: steps.last().map(|s| super::error::InFlight {
                        version: s.migration.version,
                        name: s.migration.name.clone(),
                        direction: Direction::Up,
                        outcome,
                    }),
                    completed: Vec::new(),
                    also: None,
                })));
            }
            let _ = client.batch_execute(baseline.reset_sql());
            for a in &applied {
                events(Event::Applied(a));
            }
            return Ok(applied);
        }
    }
}

/// A single-transaction run that stopped: everything was rolled back.
fn stopped_single(
    context: String,
    error: String,
    code: Option<String>,
    step: &Step<'_>,
) -> EngineError {
    EngineError::Stopped(Box::new(Stopped {
        context,
        error,
        code,
        during: Some(super::error::InFlight {
            version: step.migration.version,
            name: step.migration.name.clone(),
            direction: Direction::Up,
            outcome: super::error::Outcome::RolledBack,
        }),
        completed: Vec::new(),
        also: None,
    }))
}

/// The runner's job for a step: `migration.sql` with an `apply` row.
fn job<'a>(step: &'a Step<'a>, async_commit: bool, backup: Option<&'a str>) -> Job<'a> {
    let m = step.migration;
    Job {
        version: m.version,
        name: &m.name,
        direction: Direction::Up,
        script: &step.script,
        no_transaction: m.directives.no_transaction,
        resume_from: step.resume_from,
        replay: &step.replay,
        row: NewRow {
            version: m.version,
            name: &m.name,
            action: Action::Apply,
            state: RowState::Applied,
            checksum: m.up.checksum,
            down_checksum: m.down.as_ref().map(|d| d.checksum),
            sql: &m.up.sql,
            down_sql: m.down.as_ref().map(|d| d.sql.as_str()),
            no_transaction: m.directives.no_transaction,
            irreversible: m.directives.irreversible,
            statements_total: step.script.len().map(|n| n as i32),
            statements_applied: 0,
            statement_checksums: step
                .script
                .statements
                .map(|s| statement_checksum_values(&m.up.sql, s))
                .unwrap_or_default(),
            execution_ms: None,
            error: None,
            error_statement: None,
            note: step
                .retried
                .map(|_| "retried after an earlier failure (rolled back)".to_string()),
            in_progress: false,
            backup,
            backfill: None,
        },
        failed_state: RowState::Failed,
        async_commit,
    }
}
