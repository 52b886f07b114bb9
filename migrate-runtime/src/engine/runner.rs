//! Running one file (a `migration.sql` or a `down.sql`) with its history row, shared by `apply`
//! and `down`:
//!
//! - a transactional file runs in one transaction with its history row (the session reset and
//!   `BEGIN; SET LOCAL ...` travel with the first statement, the row with the `COMMIT`), its
//!   statements sent in batches of several per round trip; a failure rolls both back, the
//!   file runs again statement by statement to name the failing one, and the failure is
//!   recorded in a transaction of its own;
//! - a no-transaction file runs statement by statement, recording progress after each, so a
//!   failed or interrupted one resumes at the statement that did not finish;
//! - lock timeouts are retried (see `retry`); a run cut off from outside (connection lost,
//!   session ended) is told apart from a failure of the SQL, with what became of the file.

use super::error::{Completed, Direction, Failure, InFlight, Outcome, Stopped};
use super::execute::{
    RunError, Script, cut_off, fails_at_commit, is_lock_timeout, session_settings,
};
use super::history::{self, Finish, NewRow, RowState};
use super::record;
use super::retry::{Retrier, Watch};
use super::session::Baseline;
use super::{Engine, EngineError, Event};
use crate::Version;
use crate::model::concurrent_index;
use postgres::Client;
use std::time::Instant;

/// One file to run.
pub(crate) struct Job<'a> {
    pub(crate) version: Version,
    pub(crate) name: &'a str,
    pub(crate) direction: Direction,
    pub(crate) script: &'a Script<'a>,
    pub(crate) no_transaction: bool,
    /// Statements already done (a resumed no-transaction file).
    pub(crate) resume_from: usize,
    /// Session statements to run before resuming.
    pub(crate) replay: &'a [String],
    /// The history row, as the file's success records it (state and timing are filled in).
    pub(crate) row: NewRow<'a>,
    /// The state a failure leaves the migration in.
    pub(crate) failed_state: RowState,
    /// Group commit: commit without waiting for the WAL flush.
    pub(crate) async_commit: bool,
}

impl Job<'_> {
    pub(crate) fn folder(&self) -> String {
        crate::model::folder_name(self.version, self.name)
    }
}

/// How a file did not complete.
pub(crate) enum JobError {
    /// Its SQL failed.
    Failed(Box<Failure>),
    /// The run was cut off, or the history could not be written.
    Stopped {
        context: String,
        error: String,
        code: Option<String>,
        outcome: Outcome,
    },
    /// A backfill stopped on request between two batches.
    Interrupted(Box<super::error::Interrupted>),
}

impl JobError {
    pub(crate) fn stopped(
        context: impl Into<String>,
        e: &postgres::Error,
        outcome: Outcome,
    ) -> JobError {
        JobError::Stopped {
            context: context.into(),
            error: super::connection::error_text(e),
            code: e.code().map(|c| c.code().to_string()),
            outcome,
        }
    }

    /// As the engine's error, with the files completed before it.
    pub(crate) fn into_engine(self, job: &Job<'_>, completed: Vec<Completed>) -> EngineError {
        match self {
            JobError::Failed(failure) => EngineError::Failed { failure, completed },
            JobError::Interrupted(i) => super::backfill::interrupted(i, completed),
            JobError::Stopped {
                context,
                error,
                code,
                outcome,
            } => EngineError::Stopped(Box::new(Stopped {
                context,
                error,
                code,
                during: Some(InFlight {
                    version: job.version,
                    name: job.name.to_string(),
                    direction: job.direction,
                    outcome,
                }),
                completed,
                also: None,
            })),
        }
    }
}

/// A run over one locked session: the session state every file starts from, and the second
/// session that watches lock waits.
pub(crate) struct Runner<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) client: &'a mut Client,
    pub(crate) baseline: Baseline,
    pub(crate) watch: Watch,
}

impl<'a> Runner<'a> {
    /// Reads the session state every file of the run starts from.
    pub(crate) fn start(
        engine: &'a Engine,
        client: &'a mut Client,
    ) -> Result<Runner<'a>, EngineError> {
        let baseline = Baseline::capture(client)
            .map_err(EngineError::db("cannot read the session's settings"))?;
        let watch = Watch::new(engine.sessions.clone(), baseline.pid);
        Ok(Runner {
            engine,
            client,
            baseline,
            watch,
        })
    }

    /// Leaves the session as the run found it (best effort: the run's outcome stands).
    pub(crate) fn finish(self) {
        if !self.client.is_closed() {
            let _ = self.client.batch_execute(self.baseline.reset_sql());
        }
    }

    /// Runs a file; returns how many statements ran.
    pub(crate) fn run(
        &mut self,
        job: &Job<'_>,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<Option<usize>, JobError> {
        if job.no_transaction {
            self.no_transaction(job, events).map(Some)
        } else {
            self.transactional(job, events).map(|()| job.script.len())
        }
    }

    fn transactional(
        &mut self,
        job: &Job<'_>,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), JobError> {
        let config = &self.engine.config;
        let started = Instant::now();
        let prefix = format!(
            "{}BEGIN; {}",
            self.baseline.reset_sql(),
            session_settings(config.lock_timeout, true, job.async_commit)
        );
        let mut retry = Retrier::new(self.engine, &mut self.watch, job.version);
        loop {
            let attempt = retry.attempt(self.client, |c| {
                job.script.run_located(c, (&prefix, "", ""), "ROLLBACK")
            });
            let failed = match attempt {
                Ok(_) => {
                    let row = NewRow {
                        execution_ms: Some(ms(started)),
                        ..job.row.clone()
                    };
                    let identity = self.baseline.identity_sql();
                    let recorded = if record::streams(&row) {
                        // A large text streamed, not held in a query two or three times over.
                        self.client
                            .batch_execute(identity)
                            .and_then(|()| record::copy_row(self.client, &config.history, &row))
                            .and_then(|()| self.client.batch_execute("COMMIT"))
                    } else {
                        // The record and the commit in one round trip.
                        let mut sql = identity.to_string();
                        history::push_insert_sql(&mut sql, &config.history, &row);
                        sql.push_str("; COMMIT");
                        self.client.batch_execute(&sql)
                    };
                    match recorded {
                        Ok(()) => return Ok(()),
                        Err(e) if cut_off(&e) => {
                            return Err(JobError::stopped(
                                "the connection broke while committing",
                                &e,
                                Outcome::Unknown,
                            ));
                        }
                        Err(e) => {
                            rollback(self.client);
                            if !fails_at_commit(&e) {
                                return Err(JobError::stopped(
                                    format!(
                                        "cannot record {} in the history table {}",
                                        job.folder(),
                                        config.history
                                    ),
                                    &e,
                                    Outcome::RolledBack,
                                ));
                            }
                            RunError::unlocated(e)
                        }
                    }
                }
                Err(failed) if cut_off(&failed.error) => {
                    return Err(JobError::stopped(
                        format!("the run was cut off while {} ran", job.folder()),
                        &failed.error,
                        Outcome::RolledBack,
                    ));
                }
                Err(failed) => {
                    rollback(self.client);
                    failed
                }
            };
            if is_lock_timeout(&failed.error) && retry.again(events) {
                continue;
            }
            let mut failure = job
                .script
                .failure(job.version, job.name, job.direction, &failed);
            if failure.is_lock_timeout() {
                failure.blocked_by = retry.last.take();
            }
            let row = NewRow {
                state: job.failed_state,
                execution_ms: Some(ms(started)),
                error: Some(failure.error_text()),
                error_statement: failure.statement.map(|s| s as i32),
                ..job.row.clone()
            };
            if let Err(e) = history::insert(self.client, &config.history, &row) {
                failure.not_recorded = Some(e.to_string());
            }
            return Err(JobError::Failed(Box::new(failure)));
        }
    }

    fn no_transaction(
        &mut self,
        job: &Job<'_>,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<usize, JobError> {
        let config = &self.engine.config;
        let table = &config.history;
        let started = Instant::now();
        let total = job.script.len().unwrap_or(0);
        let partial = |done| Outcome::Partial {
            statements_applied: done,
            statements_total: total,
        };
        if job.resume_from > 0 {
            events(Event::Resuming {
                version: job.version,
                direction: job.direction,
                at: job.resume_from + 1,
                total,
            });
        }
        // The session every file starts from, then what the statements already done had set.
        let mut setup = format!(
            "{}{}",
            self.baseline.reset_sql(),
            session_settings(config.lock_timeout, false, false)
        );
        for s in job.replay {
            setup.push_str(s.trim_end().trim_end_matches(';'));
            setup.push_str("; ");
        }
        self.client.batch_execute(&setup).map_err(|e| {
            JobError::stopped(
                "cannot set up the session (replaying the settings of the statements that already ran)",
                &e,
                partial(job.resume_from),
            )
        })?;
        let mut row = job.row.clone();
        row.state = job.failed_state;
        row.in_progress = true;
        row.statements_applied = job.resume_from as i32;
        if job.resume_from > 0 {
            row.note = Some(format!("resumed at statement {}", job.resume_from + 1));
        }
        let id = history::insert(self.client, table, &row).map_err(|e| JobError::Stopped {
            context: format!(
                "cannot record {}_{} in the history table {table}",
                job.version, job.name
            ),
            error: e.to_string(),
            code: None,
            outcome: partial(job.resume_from),
        })?;
        let mut done = job.resume_from;
        for i in job.resume_from..total {
            if let Some(index) = concurrent_index(job.script.statement(i)) {
                drop_invalid_index(self.client, &index, job.version, events).map_err(|e| {
                    JobError::stopped(
                        format!("cannot check for an INVALID index {index} left by an earlier run"),
                        &e,
                        partial(done),
                    )
                })?;
            }
            let mut retry = Retrier::new(self.engine, &mut self.watch, job.version);
            loop {
                let failed = match retry.attempt(self.client, |c| job.script.run_one(c, i, "")) {
                    Ok(()) => break,
                    Err(f) if cut_off(&f.error) => {
                        return Err(JobError::stopped(
                            format!(
                                "the run was cut off at statement {} of {}_{}",
                                i + 1,
                                job.version,
                                job.name
                            ),
                            &f.error,
                            partial(done),
                        ));
                    }
                    Err(f) if is_lock_timeout(&f.error) && retry.again(events) => {
                        continue;
                    }
                    Err(f) => f,
                };
                let mut failure = job
                    .script
                    .failure(job.version, job.name, job.direction, &failed);
                failure.transactional = false;
                failure.statements_applied = done;
                if failure.is_lock_timeout() {
                    failure.blocked_by = retry.last.take();
                }
                let error = failure.error_text();
                let end = Finish {
                    state: job.failed_state,
                    execution_ms: ms(started),
                    error: Some(&error),
                    error_statement: failure.statement.map(|s| s as i32),
                };
                if let Err(e) =
                    history::finish(self.client, table, id, &end, self.baseline.identity_sql())
                {
                    failure.not_recorded = Some(super::connection::error_text(&e));
                }
                return Err(JobError::Failed(Box::new(failure)));
            }
            done = i + 1;
            history::progress(
                self.client,
                table,
                id,
                done as i32,
                self.baseline.identity_sql(),
            )
            .map_err(|e| {
                JobError::stopped(
                    format!(
                        "statement {done} of {} ran, but the history could not record it (a resumed run runs it again)",
                        job.folder()
                    ),
                    &e,
                    partial(done),
                )
            })?;
        }
        let end = Finish {
            state: job.row.state,
            execution_ms: ms(started),
            error: None,
            error_statement: None,
        };
        history::finish(self.client, table, id, &end, self.baseline.identity_sql()).map_err(
            |e| {
                JobError::stopped(
                    format!(
                        "every statement of {}_{} ran, but the history could not record its end",
                        job.version, job.name
                    ),
                    &e,
                    partial(done),
                )
            },
        )?;
        Ok(total - job.resume_from)
    }
}

/// Drops the INVALID index a `CREATE INDEX CONCURRENTLY` about to run would build: a failed or
/// interrupted concurrent build leaves one behind, which `IF NOT EXISTS` would silently keep
/// (and without it the statement would fail). Checked right before the statement, so under
/// the session settings (`search_path`) the statements before it made.
fn drop_invalid_index(
    client: &mut Client,
    index: &str,
    version: Version,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<(), postgres::Error> {
    let invalid = client
        .query_opt(
            "SELECT NOT i.indisvalid FROM pg_catalog.pg_index i WHERE i.indexrelid = to_regclass($1)",
            &[&index],
        )?
        .is_some_and(|r| r.get::<_, bool>(0));
    if invalid {
        client.batch_execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {index}"))?;
        events(Event::DroppedInvalidIndex { version, index });
    }
    Ok(())
}

/// Ends a transaction the engine began by hand (`BEGIN` sent with the first statement).
pub(crate) fn rollback(client: &mut Client) {
    let _ = client.batch_execute("ROLLBACK");
}

pub(crate) fn ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}
