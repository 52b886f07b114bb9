//! What an operation can fail with: one typed error for every command. Each variant carries the
//! typed problems found (reading errors, lock-file findings, lint findings, the engine's
//! refusals and failures) and what was left undone, so a front end renders them without
//! deciding anything again.

use crate::Finding;
use crate::devdb::DevDbError;
use crate::engine::EngineError;
use crate::engine::connection::{ConnectError, ParseError};
use crate::lint::LintFinding;
use crate::model::{CreateError, ReadErrors};
use crate::{SealRefused, Version};
use std::path::PathBuf;

/// What was left undone when an operation stopped, for the closing note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untouched {
    /// "nothing was run"
    NothingRun,
    /// "nothing was changed"
    NothingChanged,
    /// "nothing was written"
    NothingWritten,
    /// "nothing was created"
    NothingCreated,
}

impl Untouched {
    /// The note, e.g. `nothing was run`.
    pub fn as_str(self) -> &'static str {
        match self {
            Untouched::NothingRun => "nothing was run",
            Untouched::NothingChanged => "nothing was changed",
            Untouched::NothingWritten => "nothing was written",
            Untouched::NothingCreated => "nothing was created",
        }
    }
}

/// What changed in an edited sealed `migration.sql`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum EditedDiff {
    /// A unified diff from the SQL the database recorded to the file.
    Diff {
        /// The migration.
        version: Version,
        /// The diff.
        diff: String,
    },
    /// No reachable database recorded it: `git diff` shows the change.
    NotRecorded {
        /// The migration.
        version: Version,
        /// The edited file.
        path: std::path::PathBuf,
    },
}

/// Why an operation did not complete.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpError {
    /// The project could not be located, or its settings read.
    Project(String),
    /// The migrations directory has problems.
    Read {
        /// Every problem.
        errors: ReadErrors,
        /// What was left undone.
        untouched: Option<Untouched>,
    },
    /// A file could not be read or written.
    Io {
        /// What failed.
        message: String,
        /// What to do.
        help: Option<String>,
        /// What was left undone.
        untouched: Option<Untouched>,
    },
    /// The directory does not match `migrations.lock` (or, with `--locked`, has drafts).
    Lock {
        /// One line.
        message: String,
        /// What was found.
        findings: Vec<Finding>,
        /// `--locked` asked for sealed migrations only.
        locked: bool,
        /// For edited `migration.sql` files: diffs against the SQL the database recorded, or
        /// how to see the change.
        diffs: Vec<EditedDiff>,
    },
    /// `seal` refused; the lock file was not changed.
    SealRefused {
        /// The lock file.
        lock_path: PathBuf,
        /// Why.
        refused: SealRefused,
        /// Versions `--force` named that exist in the directory (intact).
        intact: Vec<Version>,
    },
    /// The lint gate of `apply` found error-level findings in the drafts.
    Lint {
        /// Every finding (warnings too).
        findings: Vec<LintFinding>,
        /// How many are errors.
        errors: usize,
    },
    /// The lint configuration is invalid.
    LintConfig(String),
    /// A setting is invalid.
    Setting {
        /// The flag or key it came from, e.g. `--lock-timeout`.
        source: String,
        /// Why.
        message: String,
    },
    /// The connection string does not parse (none of its text is kept).
    Url {
        /// Where it came from, e.g. `--database-url`.
        source: String,
        /// Why.
        error: ParseError,
    },
    /// Connecting failed.
    Connect(ConnectError),
    /// The dev database could not be created, started or stopped.
    DevDb(DevDbError),
    /// The engine refused or failed.
    Engine {
        /// The engine's error.
        error: EngineError,
        /// What was being done, for the message: `apply`, `revert`, `resolve`, `reset`.
        what: &'static str,
        /// The connection (redacted), when known.
        database: Option<String>,
        /// Drafts sealed anyway (they committed before the failure).
        sealed: Vec<String>,
    },
    /// `reset` (or `seed`) refused a database that is not on this machine.
    NotLocal {
        /// What was refused: `reset`, `seed`.
        what: &'static str,
        /// `user@host:port/db`.
        label: String,
        /// The address the driver would connect to.
        address: String,
        /// The database name `--confirm` must repeat.
        dbname: String,
    },
    /// `reset --force` (or `seed --force`) without the right `--confirm`.
    Unconfirmed {
        /// What was refused: `reset`, `seed`.
        what: &'static str,
        /// `user@host:port/db`.
        label: String,
        /// The database name.
        dbname: String,
    },
    /// `new` could not create the migration.
    Create(CreateError),
    /// `import` refused or failed (nothing was written).
    Import {
        /// Why.
        error: Box<crate::import::ImportError>,
        /// The connection, redacted, when there was one.
        database: Option<String>,
    },
    /// `verify` (or drift detection) could not be completed on the shadow database.
    Shadow(Box<crate::shadow::VerifyError>),
    /// `seal --verify`: a migration to seal did not verify; nothing was sealed.
    Unverified(Box<super::VerifyOutcome>),
    /// A backup (or a restore) could not be made.
    Backup {
        /// Why.
        error: crate::backup::BackupError,
        /// What else the user can do (e.g. `--no-backup`).
        help: Option<String>,
        /// What was left undone.
        untouched: Untouched,
    },
    /// A seed file failed; the seed transaction was rolled back (its `version` and `name` mean
    /// nothing).
    Seed(Box<crate::engine::Failure>),
    /// The fleet file cannot be used (nothing was run).
    Fleet(super::fleet::FleetFileError),
    /// The request does not make sense.
    Invalid {
        /// What is wrong.
        message: String,
        /// What to do.
        help: Option<String>,
    },
}

impl OpError {
    pub(crate) fn io(message: impl Into<String>) -> OpError {
        OpError::Io {
            message: message.into(),
            help: None,
            untouched: None,
        }
    }

    pub(crate) fn engine(
        what: &'static str,
        database: Option<String>,
    ) -> impl FnOnce(EngineError) -> OpError {
        move |error| OpError::Engine {
            error,
            what,
            database,
            sealed: Vec::new(),
        }
    }
}

impl From<DevDbError> for OpError {
    fn from(e: DevDbError) -> OpError {
        OpError::DevDb(e)
    }
}

impl From<crate::shadow::VerifyError> for OpError {
    fn from(e: crate::shadow::VerifyError) -> OpError {
        OpError::Shadow(Box::new(e))
    }
}

impl From<crate::shadow::ShadowError> for OpError {
    fn from(e: crate::shadow::ShadowError) -> OpError {
        OpError::Shadow(Box::new(e.into()))
    }
}

impl From<ConnectError> for OpError {
    fn from(e: ConnectError) -> OpError {
        OpError::Connect(e)
    }
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpError::Project(m) => write!(f, "{m}"),
            OpError::Read { errors, .. } => write!(f, "{errors}"),
            OpError::Io { message, .. } => write!(f, "{message}"),
            OpError::Lock {
                message, findings, ..
            } => {
                write!(f, "{message}")?;
                for finding in findings {
                    write!(f, "\n  {finding}")?;
                }
                Ok(())
            }
            OpError::SealRefused { refused, .. } => {
                write!(f, "nothing was sealed")?;
                for finding in &refused.findings {
                    write!(f, "\n  {finding}")?;
                }
                Ok(())
            }
            OpError::Lint { errors, .. } => write!(
                f,
                "refusing to apply: lint found {errors} error(s) in the draft migrations"
            ),
            OpError::LintConfig(m) => write!(f, "{m}"),
            OpError::Setting { source, message } => write!(f, "invalid {source}: {message}"),
            OpError::Url { source, error } => {
                write!(f, "invalid database URL (from {source}): {error}")
            }
            OpError::Connect(e) => write!(f, "{e}"),
            OpError::DevDb(e) => write!(f, "{e}"),
            OpError::Engine { error, .. } => write!(f, "{error}"),
            OpError::NotLocal {
                what,
                label,
                address,
                ..
            } => write!(
                f,
                "refusing to {what} {label}: it connects to {address}, which is not on this machine"
            ),
            OpError::Unconfirmed {
                what,
                label,
                dbname,
            } => write!(
                f,
                "--confirm must repeat the database name `{dbname}` to {what} {label}"
            ),
            OpError::Create(e) => write!(f, "{e}"),
            OpError::Import { error, .. } => write!(f, "{error}"),
            OpError::Shadow(e) => write!(f, "{e}"),
            OpError::Unverified(o) => write!(
                f,
                "{} of the migrations to seal did not verify; nothing was sealed",
                o.migrations.iter().filter(|c| !c.verdict.passes()).count()
            ),
            OpError::Invalid { message, .. } => write!(f, "{message}"),
            OpError::Backup { error, .. } => write!(f, "{error}"),
            OpError::Fleet(e) => write!(f, "{e}"),
            OpError::Seed(failure) => write!(
                f,
                "seed file failed at {}: {}",
                failure.location(),
                failure.error_text()
            ),
        }
    }
}

impl std::error::Error for OpError {}
