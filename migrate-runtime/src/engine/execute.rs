//! Running SQL: statement by statement (so a failure names its statement), PostgreSQL error
//! positions mapped back to the file's line and column, and telling a failure of the SQL from
//! a run that was cut off (connection lost, session ended by an administrator).

use super::error::{Direction, Failure, Refusal};
use crate::Version;
use crate::model::{SqlFile, Statement, line_column};
use postgres::error::{ErrorPosition, SqlState};
use postgres::{GenericClient, SimpleQueryMessage, SimpleQueryRow};
use std::path::Path;
use std::time::Duration;

/// A SQL file ready to run: split into statements, or (for a transactional file the parser
/// could not split) run as one batch, where PostgreSQL's own error still has a position.
pub struct Script<'a> {
    /// Its path, for messages.
    pub path: &'a Path,
    /// Its text.
    pub sql: &'a str,
    /// Its statements; `None`: run the whole text as one batch.
    pub statements: Option<&'a [Statement]>,
}

impl<'a> Script<'a> {
    /// Splits a file. A no-transaction file must split (it runs statement by statement).
    pub fn new(
        version: Version,
        file: &'a SqlFile,
        no_transaction: bool,
    ) -> Result<Script<'a>, Refusal> {
        let (path, sql) = (file.path.as_path(), file.sql.as_str());
        match file.statements() {
            Ok(statements) => Ok(Script {
                path,
                sql,
                statements: Some(statements),
            }),
            Err(_) if !no_transaction => Ok(Script {
                path,
                sql,
                statements: None,
            }),
            Err(e) => Err(Refusal {
                version: Some(version),
                message: format!(
                    "{}:{}:{}: cannot split this no-transaction file into statements: {}",
                    path.display(),
                    e.line,
                    e.column,
                    e.message
                ),
                help: "fix the syntax error; a no-transaction file runs statement by statement, \
                       so it must parse (if it is valid PostgreSQL the parser does not know yet, \
                       move that statement into a migration of its own)"
                    .into(),
                diff: None,
                in_files: true,
            }),
        }
    }

    /// Number of statements, when split.
    pub fn len(&self) -> Option<usize> {
        self.statements.map(<[Statement]>::len)
    }

    /// The text of statement `i` (0-based).
    pub fn statement(&self, i: usize) -> &'a str {
        match self.statements {
            Some(s) => s[i].text(self.sql),
            None => self.sql,
        }
    }

    /// Runs every statement (the whole text for an unsplit script). `prefix` (e.g.
    /// `BEGIN; SET LOCAL ...;`) is sent in the same round trip as the first statement.
    pub fn run<C: GenericClient>(&self, client: &mut C, prefix: &str) -> Result<(), RunError> {
        let fail = |index, error, prefix: &str| RunError {
            index,
            error,
            prefix_chars: prefix.chars().count(),
        };
        let Some(statements) = self.statements else {
            return client
                .batch_execute(&format!("{prefix}{}", self.sql))
                .map_err(|e| fail(None, e, prefix));
        };
        if statements.is_empty() && !prefix.is_empty() {
            return client.batch_execute(prefix).map_err(|e| fail(None, e, ""));
        }
        for i in 0..statements.len() {
            let p = if i == 0 { prefix } else { "" };
            self.run_one(client, i, p)?;
        }
        Ok(())
    }

    /// Runs every statement like [`Script::run`], but several per round trip: consecutive
    /// statements are sent as one multi-statement query of up to [`BATCH_BYTES`] (the file's
    /// own text between them, so nothing is copied but the prefix), and `suffix` (e.g.
    /// `SET CONSTRAINTS ALL IMMEDIATE`; may be empty) in the last batch's round trip after the
    /// file's last statement. A failed batch of several statements (or carrying the suffix)
    /// does not say which of them failed, so its error has no index: the caller, which owns
    /// the transaction, rolls back and runs the file again with [`Script::run`] to locate it
    /// (only on failure; a file of one statement per batch is the same as `run`).
    /// [`Script::run_located`] does both.
    ///
    /// Only for a transactional file: statements of one batch run in one implicit transaction
    /// when no `BEGIN` precedes them.
    ///
    /// `ahead` (may be empty) follows `suffix` in that round trip; it returns the rows of
    /// `ahead`'s last statement ([`last_rows`]) when there is one (`None` without), what the
    /// caller reads in the file's round trip (see [`Script::run_located`]). Without it, the
    /// rows the statements return are not kept.
    pub fn run_batched<C: GenericClient>(
        &self,
        client: &mut C,
        prefix: &str,
        (suffix, ahead): (&str, &str),
    ) -> Result<Option<Vec<SimpleQueryRow>>, RunError> {
        let joined;
        let suffix = match (suffix, ahead) {
            (_, "") => suffix,
            ("", _) => ahead,
            _ => {
                joined = format!("{suffix};\n{ahead}");
                &joined
            }
        };
        let Some(statements) = self.statements.filter(|s| !s.is_empty()) else {
            // Not split (one batch already), or no statement: the suffix after it.
            return self
                .run(client, prefix)
                .and_then(|()| run_suffix(client, suffix, !ahead.is_empty()));
        };
        let mut first = 0;
        while first < statements.len() {
            let start = statements[first].start;
            let mut last = first;
            while last + 1 < statements.len() && statements[last + 1].end - start <= BATCH_BYTES {
                last += 1;
            }
            let text = &self.sql[start..statements[last].end];
            let p = if first == 0 { prefix } else { "" };
            // After the last statement: a new line ends a trailing `--` comment, `;` the
            // statement.
            let s = if last + 1 == statements.len() && !suffix.is_empty() {
                Some(suffix)
            } else {
                None
            };
            let sent = match (p.is_empty(), s) {
                (true, None) => std::borrow::Cow::Borrowed(text),
                (_, None) => format!("{p}{text}").into(),
                (_, Some(s)) => format!("{p}{text}\n;{s}").into(),
            };
            // Rows are read (and kept) only when the caller's query ends the round trip.
            let result = match s.is_some() && !ahead.is_empty() {
                true => client.simple_query(&sent).map(|m| Some(last_rows(m))),
                false => client.batch_execute(&sent).map(|()| None),
            };
            let rows = result.map_err(|error| RunError {
                index: (first == last && s.is_none()).then_some(first),
                error,
                prefix_chars: p.chars().count(),
            })?;
            first = last + 1;
            if first == statements.len() {
                return Ok(rows);
            }
        }
        Ok(None)
    }

    /// Runs the file batched ([`Script::run_batched`]); when a batch fails without saying
    /// which statement failed, sends `restart` (e.g. `ROLLBACK`, back to where `prefix` starts
    /// from) and runs the file again statement by statement, then `suffix` on its own, so the
    /// error names its statement (and a failure that does not recur is no failure). A run cut
    /// off (connection lost) is not run again.
    ///
    /// `ahead` (SQL, may be empty) is not the file's: a query of the caller's sent after
    /// `suffix` in the last batch's round trip, to save one of its own. It is not sent again
    /// when the file runs again statement by statement, so its failure is never taken for the
    /// file's. Returns its last statement's rows when it ran (`None`: it did not, or it is
    /// empty; the caller runs it itself).
    pub fn run_located<C: GenericClient>(
        &self,
        client: &mut C,
        (prefix, suffix, ahead): (&str, &str, &str),
        restart: &str,
    ) -> Result<Option<Vec<SimpleQueryRow>>, RunError> {
        match self.run_batched(client, prefix, (suffix, ahead)) {
            Ok(rows) => Ok(rows),
            Err(failed) if failed.index.is_some() || cut_off(&failed.error) => Err(failed),
            Err(failed) => {
                // The restart's own failure is the connection's: the run is cut off.
                client.batch_execute(restart).map_err(|_| failed)?;
                self.run(client, prefix)
                    .and_then(|()| run_suffix(client, suffix, false))
            }
        }
    }

    /// Runs statement `i` (0-based), with `prefix` in the same round trip.
    pub fn run_one<C: GenericClient>(
        &self,
        client: &mut C,
        i: usize,
        prefix: &str,
    ) -> Result<(), RunError> {
        let text = self.statement(i);
        let sql = if prefix.is_empty() {
            text.to_string()
        } else {
            format!("{prefix}{text}")
        };
        client.batch_execute(&sql).map_err(|error| RunError {
            index: Some(i),
            error,
            prefix_chars: prefix.chars().count(),
        })
    }

    /// Describes a failure with the file's line and column.
    pub fn failure(
        &self,
        version: Version,
        name: &str,
        direction: Direction,
        run: &RunError,
    ) -> Failure {
        let (index, error) = (run.index, &run.error);
        let db = error.as_db_error();
        // Byte offset in the file of what was sent (after the prefix), and of the error in it.
        let (sent_start, sent) = match (index, self.statements) {
            (Some(i), Some(s)) => (s[i].start, s[i].text(self.sql)),
            _ => (0, self.sql),
        };
        let position = match db.and_then(|d| d.position()) {
            Some(ErrorPosition::Original(pos)) => (*pos as usize).checked_sub(1 + run.prefix_chars),
            _ => None,
        };
        let offset = match position {
            Some(chars) => Some(
                sent_start
                    + sent
                        .char_indices()
                        .nth(chars)
                        .map_or(sent.len(), |(b, _)| b),
            ),
            None => index.and_then(|i| self.statements.map(|s| s[i].start)),
        };
        let (line, column) = match offset {
            Some(o) => {
                let (l, c) = line_column(self.sql, o);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        let statement = match (index, offset, self.statements) {
            (Some(i), _, _) => Some(i + 1),
            (None, Some(o), Some(s)) => s.iter().position(|s| o < s.end).map(|i| i + 1),
            _ => None,
        };
        Failure {
            version,
            name: name.to_string(),
            direction,
            file: self.path.to_path_buf(),
            statement,
            statements_total: self.len(),
            line,
            column,
            source_line: line
                .and_then(|l| self.sql.lines().nth(l - 1))
                .map(str::to_string),
            code: error.code().map(|c| c.code().to_string()),
            message: db.map_or_else(
                || super::connection::error_text(error),
                |d| d.message().to_string(),
            ),
            detail: db.and_then(|d| d.detail()).map(str::to_string),
            hint: db.and_then(|d| d.hint()).map(str::to_string),
            transactional: true,
            statements_applied: 0,
            blocked_by: None,
            not_recorded: None,
        }
    }
}

/// Sends what follows a file (`suffix`, may be empty) on its own; its failure is no
/// statement's. With `rows`, returns the rows of its last statement.
fn run_suffix<C: GenericClient>(
    client: &mut C,
    suffix: &str,
    rows: bool,
) -> Result<Option<Vec<SimpleQueryRow>>, RunError> {
    let sent = match (suffix, rows) {
        ("", _) => Ok(rows.then(Vec::new)),
        (_, true) => client.simple_query(suffix).map(|m| Some(last_rows(m))),
        (_, false) => client.batch_execute(suffix).map(|()| None),
    };
    sent.map_err(RunError::unlocated)
}

/// The rows of the last statement of a multi-statement query: those after the one but last
/// statement's completion.
fn last_rows(messages: Vec<SimpleQueryMessage>) -> Vec<SimpleQueryRow> {
    let completed = |m: &SimpleQueryMessage| matches!(m, SimpleQueryMessage::CommandComplete(_));
    let end = messages
        .iter()
        .rposition(completed)
        .unwrap_or(messages.len());
    let start = messages[..end]
        .iter()
        .rposition(completed)
        .map_or(0, |i| i + 1);
    (messages.into_iter().take(end).skip(start))
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        })
        .collect()
}

/// The most SQL text [`Script::run_batched`] sends in one round trip (a single longer
/// statement is sent alone): large enough that a file of many small statements costs a few
/// round trips per thousand statements, small enough that the server parses each batch at once
/// without noticeable memory.
pub const BATCH_BYTES: usize = 64 * 1024;

/// A statement that failed: its index (when known), the error, and how many characters of
/// prefix were sent before it (to map PostgreSQL's position back to the file).
#[derive(Debug)]
pub struct RunError {
    /// 0-based index of the failing statement, when known.
    pub index: Option<usize>,
    /// The error.
    pub error: postgres::Error,
    /// Characters sent before the statement in the same query.
    pub prefix_chars: usize,
}

impl RunError {
    /// An error that belongs to no statement of the file (a commit, a check sent after it).
    pub fn unlocated(error: postgres::Error) -> RunError {
        RunError {
            index: None,
            error,
            prefix_chars: 0,
        }
    }
}

/// `SET [LOCAL] lock_timeout` (nothing when zero: the server's setting stands) and, in a
/// transaction, `SET LOCAL synchronous_commit`: `off` for group commit, else `on`, so the
/// commit a run reports as done is durable whatever the server's default.
pub(crate) fn session_settings(timeout: Duration, local: bool, async_commit: bool) -> String {
    let scope = if local { "LOCAL " } else { "" };
    let mut sql = String::new();
    if !timeout.is_zero() {
        sql.push_str(&format!(
            "SET {scope}lock_timeout = '{}ms'; ",
            timeout.as_millis().max(1)
        ));
    }
    if local {
        let mode = if async_commit { "off" } else { "on" };
        sql.push_str(&format!("SET LOCAL synchronous_commit = {mode}; "));
    }
    sql
}

/// Whether the error is a `lock_timeout` (SQLSTATE 55P03), which is retried.
pub fn is_lock_timeout(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE)
}

/// Whether the error cut the run off rather than coming from the SQL: the connection broke,
/// or the server ended the session (an administrator's `pg_terminate_backend`, a shutdown).
pub fn cut_off(e: &postgres::Error) -> bool {
    match e.code() {
        None => true,
        Some(code) => {
            let code = code.code();
            code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
        }
    }
}

/// Whether an error of `INSERT ...; COMMIT` belongs to the migration (a deferred constraint or
/// a serialization failure at commit) rather than to the history table.
pub(crate) fn fails_at_commit(e: &postgres::Error) -> bool {
    e.code()
        .is_some_and(|c| c.code().starts_with("23") || c.code().starts_with("40"))
}
