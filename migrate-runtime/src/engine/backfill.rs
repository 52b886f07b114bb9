//! Running a backfill migration (`-- migrate:backfill`): the table's key is walked by keyset
//! pagination (never `OFFSET`), each batch the next `batch` keys after the last one done, and
//! the statement runs with the batch's first and last key bound as `$1` and `$2`. Each batch
//! is its own short transaction (`lock_timeout`, `statement_timeout`), and writes its
//! checkpoint (last key, keys, rows, batches) into the migration's history row in that same
//! transaction: a crash or `kill -9` loses at most the batch that was running, and the next
//! run resumes right after the last committed one, so no batch runs twice.
//!
//! Between batches: the pause (`pause`, plus `nice` times the batch's own duration), a wait
//! while a replica lags more than `max_replica_lag`, and the stop flag (Ctrl-C), checked so a
//! run stops cleanly after the batch that is running (and during the pause).
//!
//! What a batch does is its [`Body`]: the file's statement, or the code of a Rust backfill
//! (`rust_backfill`); everything around it is shared.

use super::error::{Direction, Failure, Interrupted, Outcome};
use super::execute::{cut_off, is_lock_timeout};
use super::history::{self, BackfillProgress, Finish};
use super::retry::Retrier;
use super::runner::{Job, JobError, Runner, ms};
use super::rust_backfill::{self, RustBackfill};
use super::stop::Finishing;
use super::{EngineError, Event};
use crate::model::{Backfill, line_column};
use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, Statement};
use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The key types a backfill walks: their text form (`key::text`) is bound back as the type.
const KEY_TYPES: &[&str] = &["int2", "int4", "int8", "text", "varchar", "bpchar", "uuid"];

/// A key, as text, bound as the type PostgreSQL expects where it is used (the walk's
/// `key > $1`, the statement's `$1` and `$2`).
#[derive(Debug)]
pub(crate) struct Key<'a>(pub(crate) &'a str);

impl ToSql for Key<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match *ty {
            Type::INT2 => self.0.parse::<i16>()?.to_sql(ty, out),
            Type::INT4 => self.0.parse::<i32>()?.to_sql(ty, out),
            Type::INT8 => self.0.parse::<i64>()?.to_sql(ty, out),
            Type::UUID => {
                out.extend_from_slice(&uuid_bytes(self.0)?);
                Ok(IsNull::No)
            }
            _ => self.0.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::INT2
                | Type::INT4
                | Type::INT8
                | Type::UUID
                | Type::TEXT
                | Type::VARCHAR
                | Type::BPCHAR
                | Type::NAME
        )
    }

    to_sql_checked!();
}

/// A UUID's 16 bytes from its text form (as PostgreSQL prints it).
fn uuid_bytes(text: &str) -> Result<[u8; 16], String> {
    let hex: Vec<u8> = text.bytes().filter(|b| *b != b'-').collect();
    let mut out = [0u8; 16];
    if hex.len() != 32 {
        return Err(format!("`{text}` is not a UUID"));
    }
    for (i, pair) in hex.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).map_err(|e| e.to_string())?;
        out[i] = u8::from_str_radix(s, 16).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// What the catalog says about the table and its key.
struct KeyInfo {
    /// `pg_class.reltuples` (negative or zero: never analyzed).
    estimate: Option<u64>,
    /// The key's type (`pg_type.typname`, one of [`KEY_TYPES`]).
    typname: String,
}

/// Whether a placeholder PostgreSQL typed `param` can take every key of type `key` (the
/// key's text form bound as that type): an integer as wide or wider for an integer key, a
/// string type for a string key, a UUID or a string for a UUID key.
fn param_fits(key: &str, param: &Type) -> bool {
    let strings = [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME];
    match key {
        "int2" => [Type::INT2, Type::INT4, Type::INT8].contains(param),
        "int4" => [Type::INT4, Type::INT8].contains(param),
        "int8" => *param == Type::INT8,
        "uuid" => *param == Type::UUID || strings.contains(param),
        _ => strings.contains(param),
    }
}

/// How a key type is called in SQL.
fn sql_type_name(typname: &str) -> &str {
    match typname {
        "int2" => "smallint",
        "int4" => "integer",
        "int8" => "bigint",
        "bpchar" => "char",
        other => other,
    }
}

fn table_sql(b: &Backfill) -> String {
    match &b.table.schema {
        Some(s) => format!("{}.{}", s.quoted(), b.table.name.quoted()),
        None => b.table.name.quoted(),
    }
}

/// Checks the table and its key: the table exists, the key is a column of a supported type
/// with a unique index of its own (so keys are unique and the walk is an index scan).
fn check_key(client: &mut Client, b: &Backfill) -> Result<KeyInfo, String> {
    let table = table_sql(b);
    let row = client
        .query_one(
            "SELECT c.oid IS NOT NULL, a.attnum IS NOT NULL, t.typname::text,
                    EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                            WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid
                              AND i.indnkeyatts = 1 AND i.indkey[0] = a.attnum
                              AND i.indpred IS NULL AND i.indexprs IS NULL),
                    c.reltuples::float8
             FROM (SELECT to_regclass($1) AS oid) r
             LEFT JOIN pg_catalog.pg_class c ON c.oid = r.oid
             LEFT JOIN pg_catalog.pg_attribute a
                    ON a.attrelid = c.oid AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped
             LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid",
            &[&table, &b.key.as_str()],
        )
        .map_err(|e| super::connection::error_text(&e))?;
    let (exists, has_key): (bool, bool) = (row.get(0), row.get(1));
    if !exists {
        return Err(format!("table {} does not exist", b.table));
    }
    if !has_key {
        return Err(format!("table {} has no column {}", b.table, b.key));
    }
    let typname: String = row.get(2);
    if !KEY_TYPES.contains(&typname.as_str()) {
        return Err(format!(
            "key {}.{} is of type {typname}; a backfill walks keys of type smallint, integer, \
             bigint, text, varchar, char or uuid",
            b.table, b.key
        ));
    }
    if !row.get::<_, bool>(3) {
        return Err(format!(
            "key {}.{} has no unique index (or primary key) of its own: a backfill walks a \
             unique key, in index order",
            b.table, b.key
        ));
    }
    let estimate = row
        .get::<_, Option<f64>>(4)
        .filter(|n| *n > 0.0)
        .map(|n| n as u64);
    Ok(KeyInfo { estimate, typname })
}

/// With `max_replica_lag`, checks that the session's role can read the replicas' lag: PostgreSQL
/// shows `pg_stat_replication.replay_lag` only to superusers and members of
/// `pg_read_all_stats`, and NULL to others, which reads as no lag: the backfill would never
/// wait. (The rows cannot tell: a caught-up idle standby's `replay_lag` is NULL too.)
fn check_replica_lag_readable(client: &mut Client, b: &Backfill) -> Result<(), String> {
    if b.max_replica_lag.is_none() {
        return Ok(());
    }
    let row = client
        .query_one(
            "SELECT r.rolsuper OR pg_catalog.pg_has_role(current_user, 'pg_read_all_stats', 'USAGE'),
                    pg_catalog.quote_ident(current_user)
             FROM pg_catalog.pg_roles r WHERE r.rolname = current_user",
            &[],
        )
        .map_err(|e| super::connection::error_text(&e))?;
    if row.get::<_, bool>(0) {
        return Ok(());
    }
    let role: String = row.get(1);
    Err(format!(
        "role {role} cannot read the replicas' lag that `max_replica_lag` waits on: \
         pg_stat_replication shows replay_lag only to superusers and members of \
         pg_read_all_stats (to others it is NULL, read as no lag), so the backfill would never \
         wait; run `GRANT pg_read_all_stats TO {role}`, or remove `max_replica_lag`"
    ))
}

/// The two walk queries: the first batch, and the batch after `$1`. Each returns the batch's
/// first and last key (as text) and its size.
fn walk_sql(b: &Backfill) -> (String, String) {
    let (table, key, n) = (table_sql(b), b.key.quoted(), b.batch);
    let query = |filter: &str| {
        format!(
            "WITH b AS MATERIALIZED (SELECT {key} AS k FROM {table} {filter} ORDER BY {key} LIMIT {n})
             SELECT (SELECT b.k::text FROM b ORDER BY b.k LIMIT 1),
                    (SELECT b.k::text FROM b ORDER BY b.k DESC LIMIT 1),
                    (SELECT count(*) FROM b)"
        )
    };
    (
        query(&format!("WHERE {key} IS NOT NULL")),
        query(&format!("WHERE {key} > $1")),
    )
}

/// Where a stopped backfill is: what its committed batches did.
fn stopped_at(p: &BackfillProgress) -> Outcome {
    Outcome::Backfill {
        batches: p.batches,
        rows: p.rows,
    }
}

/// What a batch runs over its keys.
enum Body {
    /// The file's statement, prepared (`$1`, `$2`: the first and last key).
    Sql(Statement),
    /// A Rust backfill's code, up or down.
    Rust(Arc<dyn RustBackfill>, Direction),
}

/// The prepared statements of a walk, and its batch body.
struct Prepared {
    first: Statement,
    next: Statement,
    body: Body,
    checkpoint: Statement,
}

/// Why a batch did not commit.
enum BatchError {
    /// PostgreSQL's error (from the walk, a statement, the checkpoint or the commit; a Rust
    /// body's `postgres::Error` is one too, so a lock timeout there is retried).
    Db(postgres::Error),
    /// A Rust body's own error.
    Code(rust_backfill::BatchError),
}

impl From<postgres::Error> for BatchError {
    fn from(e: postgres::Error) -> BatchError {
        BatchError::Db(e)
    }
}

impl From<rust_backfill::BatchError> for BatchError {
    fn from(e: rust_backfill::BatchError) -> BatchError {
        match e.downcast::<postgres::Error>() {
            Ok(db) => BatchError::Db(*db),
            Err(other) => BatchError::Code(other),
        }
    }
}

/// How one batch went.
enum Batch {
    /// Committed.
    Done { keys: u64, rows: u64, last: String },
    /// No keys left.
    End,
}

impl Runner<'_> {
    /// Runs a backfill file (`from`: the progress of an interrupted run, to resume after).
    pub(crate) fn backfill(
        &mut self,
        job: &Job<'_>,
        b: &Backfill,
        file: &crate::SqlFile,
        from: Option<&BackfillProgress>,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<BackfillProgress, JobError> {
        let engine = self.engine;
        let finishing = Finishing::new(engine, self.client, job);
        let table = &engine.config.history;
        let started = Instant::now();
        let mut progress = from.cloned().unwrap_or_default();
        let before = |message: String, position: Option<usize>| {
            let offset = position.map_or(file.sql.len().min(line_start(&file.sql, b.line)), |p| {
                b.statement_start + char_offset(&b.statement, p)
            });
            let (line, column) = line_column(&file.sql, offset);
            (message, line, column)
        };
        let info = check_key(self.client, b)
            .and_then(|info| check_replica_lag_readable(self.client, b).map(|()| info))
            .map_err(|message| {
                let (message, line, _) = before(message, None);
                self.refused(job, file, message, line, None, None)
            })?;
        let prepared = self.prepare(b, job).map_err(|e| {
            let db = e.as_db_error();
            let position = db.and_then(|d| match d.position() {
                Some(postgres::error::ErrorPosition::Original(p)) => Some(*p as usize),
                _ => None,
            });
            let (message, line, column) = before(
                db.map_or_else(|| e.to_string(), |d| d.message().to_string()),
                position,
            );
            let code = e.code().map(|c| c.code().to_string());
            self.refused(job, file, message, line, position.map(|_| column), code)
        })?;
        // Each placeholder is bound as the type PostgreSQL gave it: one no key fits would fail
        // at the first batch, so it is refused now, before anything runs.
        if let Body::Sql(statement) = &prepared.body
            && let Some((i, param)) = statement
                .params()
                .iter()
                .enumerate()
                .find(|(_, p)| !param_fits(&info.typname, p))
        {
            let placeholder = if i == 0 { ":batch_start" } else { ":batch_end" };
            let key = sql_type_name(&info.typname);
            let (message, line, _) = before(
                format!(
                    "the backfill statement uses `{placeholder}` as {param}, but it holds keys \
                     of {}.{} ({key}): compare it with the key, or cast it \
                     (`{placeholder}::{key}`)",
                    b.table, b.key
                ),
                Some(1),
            );
            return Err(self.refused(job, file, message, line, None, None));
        }
        // The session every migration starts from (each batch sets its own timeouts).
        self.client
            .batch_execute(self.baseline.reset_sql())
            .map_err(|e| JobError::stopped("cannot set up the session", &e, Outcome::RolledBack))?;
        let mut row = job.row.clone();
        row.state = job.failed_state;
        row.in_progress = true;
        row.no_transaction = true;
        row.backfill = Some(progress.to_json());
        if progress.batches > 0 {
            row.note = Some(format!(
                "resumed after {}, key {}",
                crate::counted(progress.batches, "batch", "batches"),
                progress.last_key.as_deref().unwrap_or("-")
            ));
        }
        let id = history::insert(self.client, table, &row).map_err(|e| JobError::Stopped {
            context: format!(
                "cannot record {} in the history table {table}",
                job.folder()
            ),
            error: e.to_string(),
            code: None,
            outcome: stopped_at(&progress),
        })?;
        let walk_started = Instant::now();
        let keys_at_start = progress.keys;
        events(Event::BackfillProgress {
            version: job.version,
            direction: job.direction,
            progress: &progress,
            estimated_rows: info.estimate,
            keys_per_s: None,
            batch_time: None,
        });
        let interrupted = |progress: BackfillProgress| {
            JobError::Interrupted(Box::new(Interrupted {
                version: job.version,
                name: job.name.to_string(),
                direction: job.direction,
                progress,
                completed: Vec::new(),
            }))
        };
        loop {
            if engine.stopping() {
                return Err(interrupted(progress));
            }
            if let Some(max) = b.max_replica_lag {
                self.wait_for_replicas(job, max, events).map_err(|e| {
                    JobError::stopped("cannot read pg_stat_replication", &e, stopped_at(&progress))
                })?;
            }
            let mut retry = Retrier::new(engine, &mut self.watch, job.version);
            let (batch, took) = loop {
                let last = progress.last_key.clone();
                let attempt = retry.attempt(self.client, |c| {
                    let began = Instant::now();
                    finishing
                        .batch(|| run_batch(c, engine, &prepared, last.as_deref(), &progress, id))
                        .map(|batch| (batch, began.elapsed()))
                });
                match attempt {
                    Ok(done) => break done,
                    Err(BatchError::Db(e)) if session_lost(&e) => {
                        return Err(JobError::stopped(
                            format!(
                                "the run was cut off during batch {} of {}",
                                progress.batches + 1,
                                job.folder()
                            ),
                            &e,
                            stopped_at(&progress),
                        ));
                    }
                    // Asked to stop while the batch waited for a lock (or while waiting to
                    // retry it): it was rolled back, so the run stops at the last checkpoint.
                    Err(BatchError::Db(e)) if is_lock_timeout(&e) && engine.stopping() => {
                        return Err(interrupted(progress));
                    }
                    // Its batch was cancelled on request (`Stop::cancel_running`): rolled back,
                    // so the run stops at the last checkpoint.
                    Err(BatchError::Db(e)) if engine.cancelled() && is_cancelled(&e) => {
                        return Err(interrupted(progress));
                    }
                    Err(BatchError::Db(e)) if is_lock_timeout(&e) && retry.again(events) => {
                        if engine.stopping() {
                            return Err(interrupted(progress));
                        }
                        continue;
                    }
                    Err(failed) => {
                        return Err(
                            self.batch_failed(job, file, b, &progress, started, id, &failed)
                        );
                    }
                }
            };
            match batch {
                Batch::End => break,
                Batch::Done { keys, rows, last } => {
                    progress.keys += keys;
                    progress.rows += rows;
                    progress.batches += 1;
                    progress.last_key = Some(last);
                }
            }
            let secs = walk_started.elapsed().as_secs_f64();
            events(Event::BackfillProgress {
                version: job.version,
                direction: job.direction,
                progress: &progress,
                estimated_rows: info.estimate,
                keys_per_s: (secs > 0.0).then(|| (progress.keys - keys_at_start) as f64 / secs),
                batch_time: Some(took),
            });
            // The attempt that committed, not its lock waits: how long the server took for it.
            self.engine.sleep_unless_stopped(b.pause_after(took));
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
                        "every batch of {} ran, but the history could not record its end",
                        job.folder()
                    ),
                    &e,
                    stopped_at(&progress),
                )
            },
        )?;
        Ok(progress)
    }

    /// A batch failed (and was rolled back): the history row keeps its last checkpoint, so the
    /// next run resumes at this batch.
    #[allow(clippy::too_many_arguments)]
    fn batch_failed(
        &mut self,
        job: &Job<'_>,
        file: &crate::SqlFile,
        b: &Backfill,
        progress: &BackfillProgress,
        started: Instant,
        id: i64,
        failed: &BatchError,
    ) -> JobError {
        let (error, db) = match failed {
            BatchError::Db(e) => (super::connection::error_text(e), Some(e)),
            BatchError::Code(e) => (e.to_string(), None),
        };
        let end = Finish {
            state: job.failed_state,
            execution_ms: ms(started),
            error: Some(&error),
            error_statement: Some(1),
        };
        // Best effort: the row stays `failed` (in progress) with its checkpoint either way,
        // and the next run resumes from it.
        let _ = history::finish(
            self.client,
            &self.engine.config.history,
            id,
            &end,
            self.baseline.identity_sql(),
        );
        let place = statement_place(file, b, db);
        let code = match (&b.rust, self.engine.backfills.get(job.version)) {
            (true, Some(code)) => format!(" (in {})", code.name()),
            _ => String::new(),
        };
        JobError::Stopped {
            context: format!(
                "{place}: batch {} of backfill {} failed{code}",
                progress.batches + 1,
                job.folder()
            ),
            error,
            code: db.and_then(|e| e.code()).map(|c| c.code().to_string()),
            outcome: stopped_at(progress),
        }
    }

    /// A failure before any batch of this run: nothing of this run happened.
    fn refused(
        &self,
        job: &Job<'_>,
        file: &crate::SqlFile,
        message: String,
        line: usize,
        column: Option<usize>,
        code: Option<String>,
    ) -> JobError {
        let source_line = file
            .sql
            .lines()
            .nth(line.saturating_sub(1))
            .map(str::to_string);
        JobError::Failed(Box::new(Failure {
            version: job.version,
            name: job.name.to_string(),
            direction: job.direction,
            file: file.path.clone(),
            statement: None,
            statements_total: None,
            line: Some(line),
            column,
            source_line,
            code,
            message,
            detail: None,
            hint: None,
            transactional: true,
            statements_applied: 0,
            blocked_by: None,
            not_recorded: None,
        }))
    }

    /// The walk's statements and the batch body. A Rust backfill's code was checked to be
    /// registered when the run was planned.
    fn prepare(&mut self, b: &Backfill, job: &Job<'_>) -> Result<Prepared, postgres::Error> {
        let (first, next) = walk_sql(b);
        let checkpoint = format!(
            "UPDATE {} SET backfill = $1, statements_applied = 0 WHERE id = $2",
            self.engine.config.history.qualified()
        );
        let body = match self.engine.backfills.get(job.version) {
            Some(code) if b.rust => Body::Rust(code.clone(), job.direction),
            _ => Body::Sql(self.client.prepare(&b.statement)?),
        };
        Ok(Prepared {
            first: self.client.prepare(&first)?,
            next: self.client.prepare(&next)?,
            body,
            checkpoint: self.client.prepare(&checkpoint)?,
        })
    }

    /// Waits while a replica's `replay_lag` exceeds `max` (no replicas: no wait), or until
    /// asked to stop.
    fn wait_for_replicas(
        &mut self,
        job: &Job<'_>,
        max: Duration,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), postgres::Error> {
        loop {
            let lag: Option<f64> = self
                .client
                .query_one(
                    "SELECT extract(epoch FROM max(replay_lag))::float8 FROM pg_catalog.pg_stat_replication",
                    &[],
                )?
                .get(0);
            let lag = Duration::from_secs_f64(lag.unwrap_or(0.0).max(0.0));
            if lag <= max || self.engine.stopping() {
                return Ok(());
            }
            events(Event::WaitingForReplicas {
                version: job.version,
                lag,
                max,
            });
            self.engine.sleep_unless_stopped(Duration::from_millis(500));
        }
    }
}

/// One batch in its own transaction: the next keys, the statement over them, the checkpoint.
fn run_batch(
    client: &mut Client,
    engine: &super::Engine,
    p: &Prepared,
    last: Option<&str>,
    progress: &BackfillProgress,
    id: i64,
) -> Result<Batch, BatchError> {
    let mut tx = client.transaction()?;
    // Each batch's commit need not wait for its WAL flush: a batch and its checkpoint are
    // lost together or not at all, and the history row's end is written synchronously.
    let mut settings = String::from("SET LOCAL synchronous_commit = off; ");
    let config = &engine.config;
    if !config.lock_timeout.is_zero() {
        settings.push_str(&format!(
            "SET LOCAL lock_timeout = '{}ms'; ",
            config.lock_timeout.as_millis().max(1)
        ));
    }
    if !config.statement_timeout.is_zero() {
        settings.push_str(&format!(
            "SET LOCAL statement_timeout = '{}ms'; ",
            config.statement_timeout.as_millis().max(1)
        ));
    }
    tx.batch_execute(&settings)?;
    let row = match last {
        None => tx.query_one(&p.first, &[])?,
        Some(k) => tx.query_one(&p.next, &[&Key(k)])?,
    };
    let (Some(first), Some(last_key)) = (
        row.get::<_, Option<String>>(0),
        row.get::<_, Option<String>>(1),
    ) else {
        tx.rollback()?;
        return Ok(Batch::End);
    };
    let keys = row.get::<_, i64>(2) as u64;
    let rows = match &p.body {
        Body::Sql(statement) => tx.execute(statement, &[&Key(&first), &Key(&last_key)])?,
        Body::Rust(code, direction) => {
            let batch = rust_backfill::Batch {
                start: Key(&first),
                end: Key(&last_key),
                keys,
                number: progress.batches + 1,
            };
            // A panic in the application's code fails the batch as its error would: rolled
            // back, recorded with the checkpoint before it, resumed by the next run.
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match direction {
                Direction::Up => code.up(&mut tx, &batch),
                Direction::Down => code.down(&mut tx, &batch),
            }));
            match ran {
                Ok(rows) => rows?,
                Err(payload) => return Err(BatchError::Code(panicked(payload.as_ref()).into())),
            }
        }
    };
    let next = BackfillProgress {
        last_key: Some(last_key.clone()),
        keys: progress.keys + keys,
        rows: progress.rows + rows,
        batches: progress.batches + 1,
    };
    tx.execute(&p.checkpoint, &[&next.to_json(), &id])?;
    tx.commit()?;
    Ok(Batch::Done {
        keys,
        rows,
        last: last_key,
    })
}

/// Whether a batch's error means its session is gone (PostgreSQL's codes for that, a closed
/// connection, an I/O error), rather than a mistake of the batch itself, such as a value the
/// code binds that does not convert (which has no SQLSTATE either).
fn session_lost(e: &postgres::Error) -> bool {
    if e.code().is_some() {
        return cut_off(e);
    }
    e.is_closed() || e.source().is_some_and(|s| s.is::<std::io::Error>())
}

/// Whether a batch's statement was cancelled (a cancel request, or `statement_timeout`).
fn is_cancelled(e: &postgres::Error) -> bool {
    e.code() == Some(&postgres::error::SqlState::QUERY_CANCELED)
}

/// What a panic in a Rust backfill's code said.
fn panicked(payload: &(dyn std::any::Any + Send)) -> String {
    let message = (payload.downcast_ref::<&str>().copied())
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
    match message {
        Some(m) => format!("the backfill's code panicked: {m}"),
        None => "the backfill's code panicked".to_string(),
    }
}

/// `path:line:column` of a failing statement (PostgreSQL's position mapped into the file); a
/// Rust backfill's directive.
fn statement_place(file: &crate::SqlFile, b: &Backfill, e: Option<&postgres::Error>) -> String {
    let offset = match e.and_then(|e| e.as_db_error()).and_then(|d| d.position()) {
        _ if b.rust => line_start(&file.sql, b.line),
        Some(postgres::error::ErrorPosition::Original(p)) => {
            b.statement_start + char_offset(&b.statement, *p as usize)
        }
        _ => b.statement_start,
    };
    let (line, column) = line_column(&file.sql, offset);
    format!("{}:{line}:{column}", file.path.display())
}

/// The byte offset of PostgreSQL's 1-based character position in `text`.
fn char_offset(text: &str, position: usize) -> usize {
    text.char_indices()
        .nth(position.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i)
}

/// The byte offset where 1-based line `line` starts.
fn line_start(text: &str, line: usize) -> usize {
    if line <= 1 {
        return 0;
    }
    text.match_indices('\n')
        .nth(line - 2)
        .map_or(text.len(), |(i, _)| i + 1)
}

/// The error a backfill's interruption becomes, with the migrations completed before it.
pub(crate) fn interrupted(
    mut i: Box<Interrupted>,
    completed: Vec<super::Completed>,
) -> EngineError {
    i.completed = completed;
    EngineError::Interrupted(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_bind_as_their_column_type() {
        let mut out = BytesMut::new();
        Key("42").to_sql(&Type::INT8, &mut out).unwrap();
        assert_eq!(&out[..], &42i64.to_be_bytes());
        let mut out = BytesMut::new();
        Key("0b0a2c3e-0000-4000-8000-00000000000f")
            .to_sql(&Type::UUID, &mut out)
            .unwrap();
        assert_eq!(out[0], 0x0b);
        assert_eq!(out[15], 0x0f);
        assert!(Key("x").to_sql(&Type::INT4, &mut BytesMut::new()).is_err());
        assert!(!<Key<'_> as ToSql>::accepts(&Type::NUMERIC));
    }

    #[test]
    fn positions_map_to_bytes() {
        assert_eq!(char_offset("é = $1", 3), 3);
        assert_eq!(line_start("a\nb\nc", 3), 4);
    }
}
