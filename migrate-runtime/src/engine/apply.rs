//! `apply`: verify everything first, then run pending migrations in order, each transactional
//! one atomically with its history row, no-transaction ones statement by statement with
//! progress recorded (and resumed after a failure).

use super::error::{Applied, EngineError, Failure, Refusal};
use super::execute::{RunError, Script, set_lock_timeout, transaction_prefix};
use super::history::{self, Action, NewRow, Row, RowState};
use super::status::{self, State, statement_checksums};
use super::{Engine, Event, advisory};
use crate::Version;
use crate::model::{
    Migration, MigrationSet, NO_TRANSACTION_HELP, concurrent_index, line_column,
    needs_no_transaction,
};
use postgres::Client;
use std::time::Instant;

/// Options of `apply`.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Stop after this version.
    pub to: Option<Version>,
    /// Print the plan, change nothing.
    pub dry_run: bool,
    /// All pending migrations in one transaction.
    pub single_transaction: bool,
    /// Apply pending migrations older than an applied one.
    pub allow_out_of_order: bool,
}

/// One statement of the plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlannedStatement {
    /// 1-based index.
    pub index: usize,
    /// 1-based line in migration.sql.
    pub line: usize,
    /// Its SQL.
    pub sql: String,
}

/// One migration the plan will run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Planned {
    /// Its version.
    pub version: Version,
    /// Its name.
    pub name: String,
    /// `transaction` or `no-transaction`.
    pub no_transaction: bool,
    /// For a resumed no-transaction migration: the 1-based statement it resumes at.
    pub resume_at: Option<usize>,
    /// Its statements (empty when the file is run as one batch).
    pub statements: Vec<PlannedStatement>,
}

/// What `apply` did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ApplyReport {
    /// The plan.
    pub plan: Vec<Planned>,
    /// What ran (empty in a dry run).
    pub applied: Vec<Applied>,
    /// It was a dry run.
    pub dry_run: bool,
    /// Ran in one transaction.
    pub single_transaction: bool,
}

struct Step<'a> {
    migration: &'a Migration,
    script: Script<'a>,
    resume_from: usize,
}

impl Engine {
    /// Applies pending migrations. Takes the advisory lock (released on every path), creates
    /// the history table if needed, refuses before running anything when an applied migration
    /// was edited or is missing, one failed (unless it is a no-transaction migration that can
    /// resume), or a pending one is out of order; then runs the plan.
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
                plan: steps.iter().map(planned).collect(),
                applied: Vec::new(),
                dry_run: true,
                single_transaction: options.single_transaction,
            });
        }
        let mut guard = self.lock(client, events)?;
        self.apply_locked(&mut guard, set, options, events)
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
        history::ensure(&mut *guard, &self.config.history).map_err(EngineError::db(format!(
            "cannot create the history table {}",
            self.config.history
        )))?;
        Ok(guard)
    }

    pub(crate) fn apply_locked(
        &self,
        client: &mut Client,
        set: &MigrationSet,
        options: &ApplyOptions,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<ApplyReport, EngineError> {
        let rows = self.history(client)?;
        let steps = self.plan(set, &rows, options)?;
        let plan = steps.iter().map(planned).collect();
        let applied = if options.single_transaction {
            self.run_single_transaction(client, &steps, events)?
        } else {
            let mut applied = Vec::new();
            for (i, step) in steps.iter().enumerate() {
                // Group commit: every migration but the last commits without waiting for its
                // WAL flush; the last one's synchronous commit flushes them all, so a reported
                // success is durable, and a crash mid-run loses whole migrations together with
                // their history rows (the next run applies them again).
                let async_commit = self.config.group_commit && i + 1 < steps.len();
                events(Event::Starting {
                    version: step.migration.version,
                    name: &step.migration.name,
                    no_transaction: step.migration.directives.no_transaction,
                });
                let result = if step.migration.directives.no_transaction {
                    self.run_no_transaction(client, step, events)
                } else {
                    self.run_transactional(client, step, async_commit, events)
                };
                match result {
                    Ok(a) => {
                        events(Event::Applied(&a));
                        applied.push(a);
                    }
                    Err(Fail::Migration(failure)) => {
                        return Err(EngineError::Failed { failure, applied });
                    }
                    Err(Fail::Other(e)) => return Err(e),
                }
            }
            applied
        };
        Ok(ApplyReport {
            plan,
            applied,
            dry_run: false,
            single_transaction: options.single_transaction,
        })
    }

    /// Every check, then the ordered steps. Pure apart from splitting SQL.
    fn plan<'a>(
        &self,
        set: &'a MigrationSet,
        rows: &'a [Row],
        options: &ApplyOptions,
    ) -> Result<Vec<Step<'a>>, EngineError> {
        if let Some(to) = options.to
            && set.get(to).is_none()
        {
            return Err(EngineError::invalid(
                format!(
                    "--to {to}: there is no migration {to} in {}",
                    set.dir.display()
                ),
                None,
            ));
        }
        let mut refusals = Vec::new();
        let mut steps = Vec::new();
        for entry in status::compute(set, rows) {
            let folder = entry.folder(set);
            let version = entry.version;
            let in_range = options.to.is_none_or(|to| version <= to);
            match (entry.state, entry.migration, entry.row) {
                (State::Applied, _, _) => {}
                (State::Edited, Some(m), Some(row)) => refusals.push(Refusal {
                    version: Some(version),
                    message: format!("{}: applied, but edited since (diff below)", m.up.path.display()),
                    help: format!(
                        "an applied migration must not change: restore the SQL recorded in the \
                         database (the `-` lines) and put the change in a new migration; if it was \
                         never shared, revert it first with `cargo migrate down --to {}`, then \
                         apply the edited version",
                        previous(rows, version)
                    ),
                    diff: Some(super::unified_diff(&row.sql, &m.up.sql, &m.up.path)),
                }),
                (State::Missing, _, _) => refusals.push(Refusal {
                    version: Some(version),
                    message: format!("{}: applied, but its folder is missing", folder.display()),
                    help: "restore the folder from git (every applied migration must stay in the \
                           directory); the SQL recorded in the history is shown by `cargo migrate status --format json`"
                        .into(),
                    diff: None,
                }),
                (State::Failed, Some(m), Some(row)) if row.no_transaction && m.directives.no_transaction => {
                    if !in_range {
                        continue;
                    }
                    match resumable(m, row) {
                        Ok(step) => steps.push(step),
                        Err(r) => refusals.push(r),
                    }
                }
                (State::Failed, _, row) => refusals.push(Refusal {
                    version: Some(version),
                    message: format!(
                        "{}: failed{}",
                        folder.display(),
                        row.and_then(|r| r.error.as_deref()).map(|e| format!(": {e}")).unwrap_or_default()
                    ),
                    help: format!(
                        "its transaction was rolled back, so nothing of it is in the database: fix it, \
                         then mark it rolled back with `cargo migrate resolve --rolled-back {version}` \
                         and apply again (or, if you applied it by hand, `cargo migrate resolve --applied {version}`)"
                    ),
                    diff: None,
                }),
                (State::OutOfOrder, Some(m), _) if options.allow_out_of_order && in_range => {
                    steps.push(step(m)?);
                }
                (State::OutOfOrder, Some(_), _) if options.allow_out_of_order => {}
                (State::OutOfOrder, Some(m), _) => refusals.push(Refusal {
                    version: Some(version),
                    message: format!(
                        "{}: pending, but older than the applied migration {}",
                        m.dir.display(),
                        newest_applied(rows)
                    ),
                    help: "it probably comes from a merged branch: check that it does not depend on \
                           newer migrations, then apply with --allow-out-of-order (or give it a newer \
                           timestamp if it was never applied anywhere)"
                        .into(),
                    diff: None,
                }),
                (State::Pending, Some(m), _) if in_range => steps.push(step(m)?),
                _ => {}
            }
        }
        // Statements PostgreSQL refuses inside a transaction block would fail half-way: refuse
        // them before anything runs.
        for step in steps
            .iter()
            .filter(|s| !s.migration.directives.no_transaction)
        {
            let m = step.migration;
            for f in needs_no_transaction(&m.up.sql) {
                let (line, column) = line_column(&m.up.sql, f.start);
                refusals.push(Refusal {
                    version: Some(m.version),
                    message: format!(
                        "{}:{line}:{column}: `{}` cannot run inside a transaction, and this migration runs in one",
                        m.up.path.display(),
                        f.what
                    ),
                    help: NO_TRANSACTION_HELP.into(),
                    diff: None,
                });
            }
        }
        if !refusals.is_empty() {
            return Err(EngineError::Refused(refusals));
        }
        if options.single_transaction
            && let Some(s) = steps.iter().find(|s| s.migration.directives.no_transaction)
        {
            return Err(EngineError::invalid(
                format!(
                    "--single-transaction: {} is a no-transaction migration",
                    s.migration.folder()
                ),
                Some("apply without --single-transaction, or --to the version before it".into()),
            ));
        }
        Ok(steps)
    }

    fn run_transactional(
        &self,
        client: &mut Client,
        step: &Step<'_>,
        async_commit: bool,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<Applied, Fail> {
        let m = step.migration;
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            // Round trips: `BEGIN; SET LOCAL ...;` travels with the first statement, the
            // history row with the COMMIT.
            let prefix = transaction_prefix(self.config.lock_timeout, async_commit);
            let failed = match step.script.run(client, 0, &prefix, &mut |_, _| Ok(())) {
                Ok(()) => {
                    let ms = started.elapsed().as_secs_f64() * 1000.0;
                    let insert = history::insert_sql(
                        &self.config.history,
                        &row(m, &step.script, Action::Apply, RowState::Applied, Some(ms)),
                    );
                    match client.batch_execute(&format!("{insert}; COMMIT")) {
                        Ok(()) => {
                            return Ok(Applied {
                                version: m.version,
                                name: m.name.clone(),
                                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                                statements: step.script.len(),
                                no_transaction: false,
                                resumed_at: None,
                            });
                        }
                        Err(error) => {
                            rollback(client);
                            if !fails_at_commit(&error) {
                                return Err(db("cannot record the migration in the history")(
                                    error,
                                ));
                            }
                            RunError {
                                index: None,
                                error,
                                prefix_chars: 0,
                            }
                        }
                    }
                }
                Err(failed) => {
                    rollback(client);
                    failed
                }
            };
            if self.retry_lock_timeout(&failed.error, &mut attempt, m.version, events) {
                continue;
            }
            let failure = step.script.failure(m.version, &m.name, &failed);
            self.record_failure(client, m, &step.script, &failure, started)?;
            return Err(Fail::Migration(Box::new(failure)));
        }
    }

    fn run_single_transaction(
        &self,
        client: &mut Client,
        steps: &[Step<'_>],
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<Vec<Applied>, EngineError> {
        let started = Instant::now();
        let mut attempt = 0;
        'retry: loop {
            let mut tx = client
                .transaction()
                .map_err(EngineError::db("cannot begin a transaction"))?;
            set_lock_timeout(&mut tx, self.config.lock_timeout, true)?;
            let mut applied = Vec::new();
            for step in steps {
                let m = step.migration;
                let t = Instant::now();
                events(Event::Starting {
                    version: m.version,
                    name: &m.name,
                    no_transaction: false,
                });
                if let Err(failed) = step.script.run(&mut tx, 0, "", &mut |_, _| Ok(())) {
                    drop(tx);
                    if self.retry_lock_timeout(&failed.error, &mut attempt, m.version, events) {
                        continue 'retry;
                    }
                    let failure = step.script.failure(m.version, &m.name, &failed);
                    self.record_failure(client, m, &step.script, &failure, started)
                        .map_err(Fail::into_engine)?;
                    return Err(EngineError::Failed {
                        failure: Box::new(failure),
                        applied: Vec::new(),
                    });
                }
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                history::insert(
                    &mut tx,
                    &self.config.history,
                    &row(m, &step.script, Action::Apply, RowState::Applied, Some(ms)),
                )
                .map_err(EngineError::db(
                    "cannot record the migration in the history",
                ))?;
                applied.push(Applied {
                    version: m.version,
                    name: m.name.clone(),
                    duration_ms: ms,
                    statements: step.script.len(),
                    no_transaction: false,
                    resumed_at: None,
                });
            }
            tx.commit()
                .map_err(EngineError::db("cannot commit the migrations"))?;
            for a in &applied {
                events(Event::Applied(a));
            }
            return Ok(applied);
        }
    }

    fn run_no_transaction(
        &self,
        client: &mut Client,
        step: &Step<'_>,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<Applied, Fail> {
        let m = step.migration;
        let started = Instant::now();
        let total = step.script.len().unwrap_or(0);
        if step.resume_from > 0 {
            events(Event::Resuming {
                version: m.version,
                at: step.resume_from + 1,
                total,
            });
        }
        let mut new = row(m, &step.script, Action::Apply, RowState::Failed, None);
        new.statements_applied = step.resume_from as i32;
        let note = (step.resume_from > 0)
            .then(|| format!("resumed at statement {}", step.resume_from + 1));
        new.note = note.as_deref();
        let table = &self.config.history;
        let id = history::insert(client, table, &new)
            .map_err(db("cannot record the migration in the history"))?;
        set_lock_timeout(client, self.config.lock_timeout, false).map_err(Fail::Other)?;
        drop_invalid_indexes(client, step, events)?;
        let mut done = step.resume_from;
        let mut attempt = 0;
        let result = loop {
            let result = step.script.run(client, done, "", &mut |c: &mut Client, n| {
                done = n;
                history::progress(c, table, id, n as i32)
            });
            match result {
                Err(failed)
                    if failed.index.is_some()
                        && self.retry_lock_timeout(
                            &failed.error,
                            &mut attempt,
                            m.version,
                            events,
                        ) => {}
                other => break other,
            }
        };
        if !self.config.lock_timeout.is_zero() {
            let _ = client.batch_execute("RESET lock_timeout");
        }
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        match result {
            Ok(()) => {
                history::finish(client, table, id, RowState::Applied, ms, None, None)
                    .map_err(db("cannot record the migration in the history"))?;
                Ok(Applied {
                    version: m.version,
                    name: m.name.clone(),
                    duration_ms: ms,
                    statements: Some(total - step.resume_from),
                    no_transaction: true,
                    resumed_at: (step.resume_from > 0).then_some(step.resume_from + 1),
                })
            }
            Err(failed) => {
                let mut failure = step.script.failure(m.version, &m.name, &failed);
                failure.transactional = false;
                failure.statements_applied = done;
                history::finish(
                    client,
                    table,
                    id,
                    RowState::Failed,
                    ms,
                    Some(&failure.error_text()),
                    failure.statement.map(|s| s as i32),
                )
                .map_err(db("cannot record the failure in the history"))?;
                Err(Fail::Migration(Box::new(failure)))
            }
        }
    }

    /// Records a failed transactional attempt in its own transaction.
    fn record_failure(
        &self,
        client: &mut Client,
        m: &Migration,
        script: &Script<'_>,
        failure: &Failure,
        started: Instant,
    ) -> Result<(), Fail> {
        let mut r = row(
            m,
            script,
            Action::Apply,
            RowState::Failed,
            Some(started.elapsed().as_secs_f64() * 1000.0),
        );
        r.error = Some(failure.error_text());
        r.error_statement = failure.statement.map(|s| s as i32);
        history::insert(client, &self.config.history, &r)
            .map_err(db("cannot record the failure in the history"))?;
        Ok(())
    }
}

/// Ends a transaction the engine began by hand (`BEGIN` sent with the first statement).
/// Drops the INVALID indexes that the `CREATE INDEX CONCURRENTLY` statements still to run
/// would build: a failed or interrupted concurrent build leaves one behind, which `IF NOT
/// EXISTS` would silently keep (and without it the statement would fail).
fn drop_invalid_indexes(
    client: &mut Client,
    step: &Step<'_>,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<(), Fail> {
    let Some(statements) = step.script.statements else {
        return Ok(());
    };
    let sql = "SELECT NOT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass($1)";
    for s in statements.iter().skip(step.resume_from) {
        let Some(index) = concurrent_index(s.text(step.script.sql)) else {
            continue;
        };
        let invalid = client
            .query_opt(sql, &[&index])
            .map_err(db("cannot check for an invalid index"))?
            .is_some_and(|r| r.get::<_, bool>(0));
        if invalid {
            client
                .batch_execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {index}"))
                .map_err(db("cannot drop the invalid index left by an earlier run"))?;
            events(Event::DroppedInvalidIndex {
                version: step.migration.version,
                index: &index,
            });
        }
    }
    Ok(())
}

fn rollback(client: &mut Client) {
    let _ = client.batch_execute("ROLLBACK");
}

/// Whether an error of `INSERT ...; COMMIT` belongs to the migration (a deferred constraint or
/// a serialization failure at commit) rather than to the history table.
fn fails_at_commit(e: &postgres::Error) -> bool {
    e.code()
        .is_some_and(|c| c.code().starts_with("23") || c.code().starts_with("40"))
}

enum Fail {
    Migration(Box<Failure>),
    Other(EngineError),
}

impl Fail {
    fn into_engine(self) -> EngineError {
        match self {
            Fail::Migration(failure) => EngineError::Failed {
                failure,
                applied: Vec::new(),
            },
            Fail::Other(e) => e,
        }
    }
}

fn db(context: &'static str) -> impl FnOnce(postgres::Error) -> Fail {
    move |e| Fail::Other(EngineError::db(context)(e))
}

fn step(m: &Migration) -> Result<Step<'_>, EngineError> {
    let script = Script::new(m.version, &m.up, m.directives.no_transaction)
        .map_err(|r| EngineError::Refused(vec![r]))?;
    Ok(Step {
        migration: m,
        script,
        resume_from: 0,
    })
}

/// A failed no-transaction migration resumes at its failed statement, provided the statements
/// that already ran are unchanged.
fn resumable<'a>(m: &'a Migration, row: &Row) -> Result<Step<'a>, Refusal> {
    let script = Script::new(m.version, &m.up, true)?;
    let statements = script.statements.unwrap_or_default();
    let current = statement_checksums(&m.up.sql, statements);
    let done = row.statements_applied.max(0) as usize;
    for i in 0..done {
        if current.get(i) != row.statement_checksums.get(i) {
            let line = statements
                .get(i)
                .map_or(String::new(), |s| format!(":{}", s.line));
            return Err(Refusal {
                version: Some(m.version),
                message: format!(
                    "{}{line}: statement {} already ran before the failure, but has changed since",
                    m.up.path.display(),
                    i + 1
                ),
                help: format!(
                    "restore statements 1 to {done} as they were (only the failed statement and the \
                     ones after it may change), or, if the database was fixed by hand, `cargo migrate \
                     resolve --applied {}`",
                    m.version
                ),
                diff: Some(super::unified_diff(&row.sql, &m.up.sql, &m.up.path)),
            });
        }
    }
    Ok(Step {
        migration: m,
        script,
        resume_from: done,
    })
}

fn row<'a>(
    m: &'a Migration,
    script: &Script<'_>,
    action: Action,
    state: RowState,
    ms: Option<f64>,
) -> NewRow<'a> {
    NewRow {
        version: m.version,
        name: &m.name,
        action,
        state,
        checksum: m.up.checksum,
        down_checksum: m.down.as_ref().map(|d| d.checksum),
        sql: &m.up.sql,
        down_sql: m.down.as_ref().map(|d| d.sql.as_str()),
        no_transaction: m.directives.no_transaction,
        irreversible: m.directives.irreversible,
        statements_total: script.len().map(|n| n as i32),
        statements_applied: 0,
        statement_checksums: script
            .statements
            .map(|s| statement_checksums(&m.up.sql, s))
            .unwrap_or_default(),
        execution_ms: ms,
        error: None,
        error_statement: None,
        note: None,
    }
}

fn planned(step: &Step<'_>) -> Planned {
    let m = step.migration;
    Planned {
        version: m.version,
        name: m.name.clone(),
        no_transaction: m.directives.no_transaction,
        resume_at: (step.resume_from > 0).then_some(step.resume_from + 1),
        statements: step
            .script
            .statements
            .unwrap_or_default()
            .iter()
            .enumerate()
            .skip(step.resume_from)
            .map(|(i, s)| PlannedStatement {
                index: i + 1,
                line: s.line,
                sql: s.text(&m.up.sql).to_string(),
            })
            .collect(),
    }
}

fn newest_applied(rows: &[Row]) -> String {
    rows.iter()
        .filter(|r| r.state == RowState::Applied)
        .map(|r| r.version)
        .max()
        .map_or_else(String::new, |v| v.to_string())
}

fn previous(rows: &[Row], version: Version) -> String {
    rows.iter()
        .filter(|r| r.state == RowState::Applied && r.version < version)
        .map(|r| r.version)
        .max()
        .unwrap_or(Version::new(0).expect("zero is a version"))
        .to_string()
}
