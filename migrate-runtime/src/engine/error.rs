//! Engine errors. Each carries enough to print a rustc-style diagnostic (file, line, the SQL
//! line, the PostgreSQL error with code, detail and hint) and to say what to do.

use super::advisory::LockHolder;
use crate::Version;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Where and why a migration's SQL failed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    /// The migration.
    pub version: Version,
    /// Its name.
    pub name: String,
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
    /// For no-transaction migrations: statements that did succeed (and remain applied).
    pub statements_applied: usize,
}

impl Failure {
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
}

/// A migration that ran.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Applied {
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
    /// For a resumed no-transaction migration: the 1-based statement it resumed at.
    pub resumed_at: Option<usize>,
}

/// Everything the engine can fail with.
#[derive(Debug)]
#[non_exhaustive]
pub enum EngineError {
    /// The database failed outside a migration's own SQL.
    Db {
        /// What we were doing.
        context: String,
        /// The error.
        source: postgres::Error,
    },
    /// Another runner holds the migration lock.
    LockBusy {
        /// How long we waited.
        waited: Duration,
        /// Who holds it.
        holder: Option<Box<LockHolder>>,
    },
    /// Checks failed before anything ran.
    Refused(Vec<Refusal>),
    /// A migration failed; `applied` lists those that succeeded before it.
    Failed {
        /// The failure.
        failure: Box<Failure>,
        /// Migrations applied (and committed) before it.
        applied: Vec<Applied>,
    },
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
                write!(
                    f,
                    "migration {}_{} failed at {}: {}",
                    failure.version,
                    failure.name,
                    failure.location(),
                    failure.error_text()
                )
            }
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
