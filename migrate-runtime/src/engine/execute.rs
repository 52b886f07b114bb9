//! Running SQL: statement by statement (so a failure names its statement), PostgreSQL error
//! positions mapped back to the file's line and column, and lock-timeout detection.

use super::error::{EngineError, Failure, Refusal};
use crate::Version;
use crate::model::{SqlFile, Statement, line_column};
use postgres::GenericClient;
use postgres::error::{ErrorPosition, SqlState};
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
                    "{}:{}:{}: cannot split this no-transaction migration into statements: {}",
                    path.display(),
                    e.line,
                    e.column,
                    e.message
                ),
                help: "fix the syntax error; a no-transaction migration runs statement by \
                       statement, so it must parse (if it is valid PostgreSQL the parser does \
                       not know yet, move that statement into a migration of its own)"
                    .into(),
                diff: None,
            }),
        }
    }

    /// Number of statements, when split.
    pub fn len(&self) -> Option<usize> {
        self.statements.map(<[Statement]>::len)
    }

    /// Runs statements `from..` (all of them for an unsplit script), calling `after` with the
    /// count done after each. `prefix` (e.g. `BEGIN; SET LOCAL ...;`) is sent in the same round
    /// trip as the first statement; alone if there is none.
    pub fn run<C: GenericClient>(
        &self,
        client: &mut C,
        from: usize,
        prefix: &str,
        after: &mut dyn FnMut(&mut C, usize) -> Result<(), postgres::Error>,
    ) -> Result<(), RunError> {
        let fail = |index, error, prefix: &str| RunError {
            index,
            error,
            prefix_chars: prefix.chars().count(),
        };
        let statements = match self.statements {
            None => {
                let sql = format!("{prefix}{}", self.sql);
                return client
                    .batch_execute(&sql)
                    .map_err(|e| fail(None, e, prefix));
            }
            Some(statements) => statements,
        };
        if from >= statements.len() {
            if !prefix.is_empty() {
                client
                    .batch_execute(prefix)
                    .map_err(|e| fail(None, e, ""))?;
            }
            return Ok(());
        }
        for (i, s) in statements.iter().enumerate().skip(from) {
            let p = if i == from { prefix } else { "" };
            let sql = if p.is_empty() {
                s.text(self.sql).to_string()
            } else {
                format!("{p}{}", s.text(self.sql))
            };
            client
                .batch_execute(&sql)
                .map_err(|e| fail(Some(i), e, p))?;
            after(client, i + 1).map_err(|e| fail(Some(i), e, ""))?;
        }
        Ok(())
    }

    /// Describes a failure with the file's line and column.
    pub fn failure(&self, version: Version, name: &str, run: &RunError) -> Failure {
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
            file: self.path.to_path_buf(),
            statement,
            statements_total: self.len(),
            line,
            column,
            source_line: line
                .and_then(|l| self.sql.lines().nth(l - 1))
                .map(str::to_string),
            code: error.code().map(|c| c.code().to_string()),
            message: db.map_or_else(|| error.to_string(), |d| d.message().to_string()),
            detail: db.and_then(|d| d.detail()).map(str::to_string),
            hint: db.and_then(|d| d.hint()).map(str::to_string),
            transactional: true,
            statements_applied: 0,
        }
    }
}

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

/// The `SET LOCAL` prefix of a migration transaction: `lock_timeout` (unless zero) and, for
/// group commit, `synchronous_commit = off`.
pub fn transaction_prefix(timeout: Duration, async_commit: bool) -> String {
    let mut prefix = String::from("BEGIN; ");
    if !timeout.is_zero() {
        prefix.push_str(&format!(
            "SET LOCAL lock_timeout = '{}ms'; ",
            timeout.as_millis().max(1)
        ));
    }
    if async_commit {
        prefix.push_str("SET LOCAL synchronous_commit = off; ");
    }
    prefix
}

/// Whether the error is a `lock_timeout` (SQLSTATE 55P03), which is retried.
pub fn is_lock_timeout(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE)
}

/// `SET [LOCAL] lock_timeout`, or nothing when it is zero (the server's setting stands).
pub fn set_lock_timeout(
    client: &mut impl GenericClient,
    timeout: Duration,
    local: bool,
) -> Result<(), EngineError> {
    if timeout.is_zero() {
        return Ok(());
    }
    let scope = if local { "LOCAL " } else { "" };
    client
        .batch_execute(&format!(
            "SET {scope}lock_timeout = '{}ms'",
            timeout.as_millis().max(1)
        ))
        .map_err(EngineError::db("cannot set lock_timeout"))
}

/// The wait before retry `attempt` (0-based): `base * 2^attempt`, ±25 % jitter so that several
/// runners do not retry in step.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let jitter = 0.75 + (nanos % 1000) as f64 / 2000.0;
    base.mul_f64(2f64.powi(attempt.min(16) as i32) * jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        for attempt in 0..4 {
            let d = backoff(Duration::from_secs(1), attempt).as_secs_f64();
            let nominal = 2f64.powi(attempt as i32);
            assert!(d >= nominal * 0.75 && d <= nominal * 1.25, "{attempt}: {d}");
        }
    }
}
