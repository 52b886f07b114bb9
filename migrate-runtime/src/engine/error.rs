//! Engine errors. Each carries enough to print a rustc-style diagnostic (file, line, the SQL
//! line, the PostgreSQL error with code, detail and hint), to say exactly what is in the
//! database afterwards, and what to do: the remedies live here, one per kind of failure.

use super::advisory::LockHolder;
use super::history::HistoryError;
use super::retry::Blockage;
use crate::Version;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Which way a migration ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// `migration.sql` (`apply`).
    Up,
    /// `down.sql` (`down`).
    Down,
}

/// Where and why a migration's SQL failed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Failure {
    /// The migration.
    pub version: Version,
    /// Its name.
    pub name: String,
    /// Which file ran.
    pub direction: Direction,
    /// The file that failed (migration.sql or down.sql).
    pub file: PathBuf,
    /// 1-based index of the failing statement, when known.
    pub statement: Option<usize>,
    /// How many statements the file has, when it could be split.
    pub statements_total: Option<usize>,
    /// 1-based line in the file.
    pub line: Option<usize>,
    /// 1-based column (characters).
    pub column: Option<usize>,
    /// The SQL line at `line`.
    pub source_line: Option<String>,
    /// SQLSTATE.
    pub code: Option<String>,
    /// PostgreSQL's message.
    pub message: String,
    /// PostgreSQL's detail.
    pub detail: Option<String>,
    /// PostgreSQL's hint.
    pub hint: Option<String>,
    /// Ran in a transaction (so nothing of it remains).
    pub transactional: bool,
    /// For no-transaction files: statements that did succeed (and remain done).
    pub statements_applied: usize,
    /// When every retry hit `lock_timeout`: who held the lock it needed.
    pub blocked_by: Option<Blockage>,
    /// Why the failure could not be recorded in the history (the connection was lost, ...).
    pub not_recorded: Option<String>,
}

impl Failure {
    /// The migration's folder name.
    pub fn folder(&self) -> String {
        crate::model::folder_name(self.version, &self.name)
    }

    /// `path:line:column`, as far as known.
    pub fn location(&self) -> String {
        let mut s = self.file.display().to_string();
        if let Some(line) = self.line {
            s.push_str(&format!(":{line}"));
            if let Some(col) = self.column {
                s.push_str(&format!(":{col}"));
            }
        }
        s
    }

    /// The error line: `SQLSTATE: message`.
    pub fn error_text(&self) -> String {
        match &self.code {
            Some(code) => format!("{code}: {}", self.message),
            None => self.message.clone(),
        }
    }

    /// Whether every attempt hit `lock_timeout`: the SQL itself did not fail.
    pub fn is_lock_timeout(&self) -> bool {
        self.code.as_deref() == Some("55P03")
    }

    /// What is in the database now, and what to do: the one place these remedies are written.
    ///
    /// ```
    /// # use migrate_runtime::engine::{Direction, Failure};
    /// # let f = Failure { version: "20261121090000".parse().unwrap(), name: "a".into(), direction: Direction::Down,
    /// #   file: "m/down.sql".into(), statement: Some(2), statements_total: Some(3), line: None, column: None,
    /// #   source_line: None, code: Some("42P01".into()), message: "x".into(), detail: None, hint: None,
    /// #   transactional: false, statements_applied: 1, blocked_by: None, not_recorded: None };
    /// assert!(f.remedy().contains("`cargo migrate down` resumes it at statement 2"));
    /// ```
    pub fn remedy(&self) -> String {
        let v = self.version;
        let next = self.statement.unwrap_or(self.statements_applied + 1);
        let stay = match self.direction {
            Direction::Up => "applied",
            Direction::Down => "done (reverted)",
        };
        let done = match self.statements_applied {
            0 => "none of its statements took effect".to_string(),
            1 => format!("statement 1 stays {stay}"),
            n => format!("statements 1 to {n} stay {stay}"),
        };
        let lock = self
            .blocked_by
            .as_ref()
            .map_or_else(String::new, |b| format!(" It was {b}."));
        match (self.direction, self.transactional, self.is_lock_timeout()) {
            (Direction::Up, true, true) => format!(
                "it never got the lock it needs, so nothing of it ran.{lock} Run \
                 `cargo migrate apply` again once that session is done (or raise \
                 --lock-retry-budget); no `resolve` is needed"
            ),
            (Direction::Up, true, false) => format!(
                "its transaction was rolled back: nothing of it is in the database. Fix it and \
                 run `cargo migrate apply`, which retries it (a draft can be edited freely; if {v} \
                 is sealed, fix what it depends on instead)"
            ),
            (Direction::Up, false, _) => format!(
                "it ran outside a transaction: {done}.{lock} Fix the cause, then `cargo migrate \
                 apply` resumes at statement {next} (the statements before it must not change); \
                 if you finished it by hand, `cargo migrate resolve --applied {v}`"
            ),
            (Direction::Down, true, true) => format!(
                "its down.sql never got the lock it needs, so nothing of it ran and {v} is still \
                 applied.{lock} Run the same `cargo migrate down` again once that session is done"
            ),
            (Direction::Down, true, false) => format!(
                "its down.sql was rolled back: {v} is still applied, unchanged. Fix down.sql \
                 (it is recorded with the migration; a sealed one needs `cargo migrate seal \
                 --force {v}` if it was never shared) and run the same `cargo migrate down` again"
            ),
            (Direction::Down, false, _) => format!(
                "its down.sql ran outside a transaction: {done}, so {v} is partly reverted.{lock} \
                 Fix the cause, then `cargo migrate down` resumes it at statement {next}; if you \
                 finished reverting it by hand, `cargo migrate resolve --rolled-back {v}`; if you \
                 restored it by hand, `cargo migrate resolve --applied {v}`"
            ),
        }
    }
}

/// One reason the engine refuses to run anything.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    /// The migration concerned, if one.
    pub version: Option<Version>,
    /// `path: what is wrong`.
    pub message: String,
    /// What to do.
    pub help: String,
    /// A unified diff (recorded vs. current) for edited migrations.
    pub diff: Option<String>,
    /// Whether the cause is in the files (a statement that cannot run in a transaction, a
    /// file that cannot be split) rather than in the database's history.
    pub in_files: bool,
}

/// A migration that ran (up or down).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Completed {
    /// Its version.
    pub version: Version,
    /// Its name.
    pub name: String,
    /// Wall time, including lock-timeout retries.
    pub duration_ms: f64,
    /// Statements run (this time).
    pub statements: Option<usize>,
    /// Ran outside a transaction.
    pub no_transaction: bool,
    /// For a resumed no-transaction file: the 1-based statement it resumed at.
    pub resumed_at: Option<usize>,
    /// `down` used the down.sql recorded in the history (the folder is gone).
    pub recorded_down: bool,
    /// It failed in an earlier run and was retried (its transaction had been rolled back).
    pub retried: bool,
    /// A backfill: its progress at the end (over every run of it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfill: Option<super::history::BackfillProgress>,
    /// A backfill resumed after an earlier run stopped: that run's checkpoint (in JSON only
    /// when set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfill_resumed: Option<super::history::BackfillProgress>,
}

impl Completed {
    /// The migration's folder name.
    pub fn folder(&self) -> String {
        crate::model::folder_name(self.version, &self.name)
    }
}

impl InFlight {
    /// The migration's folder name.
    pub fn folder(&self) -> String {
        crate::model::folder_name(self.version, &self.name)
    }
}

/// A migration that was applied.
pub type Applied = Completed;
/// A migration that was reverted.
pub type Reverted = Completed;

/// What became of the migration that was running when a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// Its transaction was rolled back: nothing of it remains.
    RolledBack,
    /// The connection broke while its commit was under way: it may or may not have committed.
    Unknown,
    /// A no-transaction file: these statements are done, the rest not.
    Partial {
        /// Statements done.
        statements_applied: usize,
        /// Statements in the file.
        statements_total: usize,
    },
    /// A backfill: these batches are committed (with their checkpoint), the rest not.
    Backfill {
        /// Batches committed.
        batches: u64,
        /// Rows changed by them.
        rows: u64,
    },
}

/// The migration that was running when a run stopped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InFlight {
    /// Its version.
    pub version: Version,
    /// Its name.
    pub name: String,
    /// Which file ran.
    pub direction: Direction,
    /// What became of it.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// A run that stopped for a reason outside a migration's SQL (the connection was lost, an
/// administrator ended the session, the history could not be written), after it may have
/// changed something.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Stopped {
    /// What the engine was doing.
    pub context: String,
    /// The original error.
    pub error: String,
    /// Its SQLSTATE, when the server sent one.
    pub code: Option<String>,
    /// The migration that was running, if one.
    pub during: Option<InFlight>,
    /// Migrations that completed (and committed) before.
    pub completed: Vec<Completed>,
    /// A second problem met while handling the first (e.g. recording the failure).
    pub also: Option<String>,
}

impl Stopped {
    /// What is in the database now, and what to do.
    pub fn remedy(&self) -> String {
        let next = "check with `cargo migrate status`, then run the same command again";
        match &self.during {
            None => format!("{next}."),
            Some(f) => {
                let m = f.folder();
                match f.outcome {
                    Outcome::RolledBack => {
                        format!("{m} was rolled back: nothing of it remains; {next}")
                    }
                    Outcome::Unknown => format!(
                        "{m} may or may not have committed (the connection broke during its \
                         commit); `cargo migrate status` shows which: if it is pending, run the \
                         command again"
                    ),
                    Outcome::Partial {
                        statements_applied,
                        statements_total,
                    } => format!(
                        "{m} ran outside a transaction and stopped after {statements_applied} of \
                         {statements_total} statements (the one running may have been cut short, \
                         e.g. leaving an INVALID index, which the next run rebuilds); run the \
                         same command again to resume it"
                    ),
                    Outcome::Backfill { batches, rows } => format!(
                        "{m} is a backfill: {} ({}) {} committed with \
                         their checkpoint, the batch that was running was rolled back; fix the \
                         cause if there is one, then run the same command again to resume after \
                         the last committed batch",
                        crate::counted(batches, "batch", "batches"),
                        crate::counted(rows, "row", "rows"),
                        if batches == 1 { "is" } else { "are" }
                    ),
                }
            }
        }
    }
}

/// A backfill stopped on request (Ctrl-C) after a committed batch.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Interrupted {
    /// The backfill.
    pub version: Version,
    /// Its name.
    pub name: String,
    /// Which file ran.
    pub direction: Direction,
    /// Its progress, as checkpointed.
    pub progress: super::history::BackfillProgress,
    /// Migrations that completed (and committed) before it.
    pub completed: Vec<Completed>,
}

impl Interrupted {
    /// The migration's folder name.
    pub fn folder(&self) -> String {
        crate::model::folder_name(self.version, &self.name)
    }

    /// How to go on.
    pub fn remedy(&self) -> String {
        let cmd = match self.direction {
            Direction::Up => "apply",
            Direction::Down => "down",
        };
        format!("run `cargo migrate {cmd}` again to resume after the last committed batch")
    }
}

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.progress;
        write!(
            f,
            "backfill {} interrupted after {} ({}",
            self.folder(),
            crate::counted(p.batches, "batch", "batches"),
            crate::counted(p.rows, "row", "rows")
        )?;
        if let Some(key) = &p.last_key {
            write!(f, ", last key {key}")?;
        }
        write!(f, ")")
    }
}

/// Everything the engine can fail with.
#[derive(Debug)]
#[non_exhaustive]
pub enum EngineError {
    /// The database failed before anything ran.
    Db {
        /// What we were doing.
        context: String,
        /// The error.
        source: postgres::Error,
    },
    /// The history table, or a row in it, is not what this tool writes; nothing ran.
    History(HistoryError),
    /// Another runner holds the migration lock.
    LockBusy {
        /// How long we waited.
        waited: Duration,
        /// Who holds it.
        holder: Option<Box<LockHolder>>,
    },
    /// Checks failed before anything ran.
    Refused(Vec<Refusal>),
    /// A migration's SQL failed; `completed` lists those that succeeded before it.
    Failed {
        /// The failure.
        failure: Box<Failure>,
        /// Migrations completed (and committed) before it.
        completed: Vec<Completed>,
    },
    /// The run stopped for a reason outside a migration's SQL.
    Stopped(Box<Stopped>),
    /// A backfill stopped between two batches because it was asked to (Ctrl-C): what
    /// committed stays, the next run resumes.
    Interrupted(Box<Interrupted>),
    /// The request does not make sense in this state.
    Invalid {
        /// What is wrong.
        message: String,
        /// What to do.
        help: Option<String>,
    },
}

impl EngineError {
    pub(crate) fn db(context: impl Into<String>) -> impl FnOnce(postgres::Error) -> EngineError {
        let context = context.into();
        move |source| EngineError::Db { context, source }
    }

    pub(crate) fn invalid(message: impl Into<String>, help: Option<String>) -> EngineError {
        EngineError::Invalid {
            message: message.into(),
            help,
        }
    }

    /// Reading the history failed: a database error, or a history that is not one.
    pub(crate) fn history(context: &str) -> impl FnOnce(super::history::ReadError) -> EngineError {
        let context = context.to_string();
        move |e| match e {
            super::history::ReadError::Db(source) => EngineError::Db { context, source },
            super::history::ReadError::Bad(e) => EngineError::History(e),
        }
    }

    /// The migrations that completed before the error (empty when nothing ran).
    pub fn completed(&self) -> &[Completed] {
        match self {
            EngineError::Failed { completed, .. } => completed,
            EngineError::Stopped(s) => &s.completed,
            EngineError::Interrupted(i) => &i.completed,
            _ => &[],
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Db { context, source } => {
                write!(f, "{context}: {}", super::connection::error_text(source))?;
                if let Some(detail) = source.as_db_error().and_then(|db| db.detail()) {
                    write!(f, " ({detail})")?;
                }
                Ok(())
            }
            EngineError::History(e) => write!(f, "cannot use the history table {e}"),
            EngineError::LockBusy { waited, holder } => {
                write!(
                    f,
                    "another migration runner holds the migration lock (waited {:.0?})",
                    waited
                )?;
                if let Some(h) = holder {
                    write!(f, ": {h}")?;
                }
                Ok(())
            }
            EngineError::Refused(refusals) => {
                write!(f, "refusing to run anything:")?;
                for r in refusals {
                    write!(f, "\n  {}\n    help: {}", r.message, r.help)?;
                }
                Ok(())
            }
            EngineError::Failed { failure, .. } => {
                let what = match failure.direction {
                    Direction::Up => "migration",
                    Direction::Down => "reverting migration",
                };
                write!(
                    f,
                    "{what} {} failed at {}: {}",
                    failure.folder(),
                    failure.location(),
                    failure.error_text()
                )
            }
            EngineError::Stopped(s) => write!(f, "{}: {}", s.context, s.error),
            EngineError::Interrupted(i) => write!(f, "{i}"),
            EngineError::Invalid { message, help } => {
                write!(f, "{message}")?;
                if let Some(help) = help {
                    write!(f, " ({help})")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for EngineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EngineError::Db { source, .. } => Some(source),
            _ => None,
        }
    }
}
