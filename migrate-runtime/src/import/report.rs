//! What an import did (or, in a dry run, would do), and why it refused: plain data, serialisable,
//! so the command line prints text and JSON from the same values.

use super::Tool;
use crate::model::ReadErrors;
use crate::{Finding, Version};
use std::fmt;
use std::path::PathBuf;

/// The result of `cargo migrate import`: the files converted, the history adopted, or both.
///
/// ```
/// use migrate_runtime::import::{ImportReport, Tool};
/// let report = ImportReport::new(Tool::Diesel, None, "migrations".into(), true);
/// assert!(report.files.is_none() && report.history.is_none());
/// assert_eq!(serde_json::to_value(&report).unwrap()["tool"], "diesel");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// The tool the project comes from.
    pub tool: Tool,
    /// Its migrations directory, when files were imported.
    pub source: Option<PathBuf>,
    /// Our migrations directory.
    pub dir: PathBuf,
    /// Nothing was written.
    pub dry_run: bool,
    /// The files, when a source directory was given.
    pub files: Option<FilesReport>,
    /// The history, when a database was given.
    pub history: Option<HistoryReport>,
}

impl ImportReport {
    /// An empty report.
    pub fn new(tool: Tool, source: Option<PathBuf>, dir: PathBuf, dry_run: bool) -> ImportReport {
        ImportReport {
            tool,
            source,
            dir,
            dry_run,
            files: None,
            history: None,
        }
    }
}

/// The files: the mapping from the tool's migrations to ours, what was skipped and sealed.
///
/// ```
/// # use migrate_runtime::import::FilesReport;
/// let files = FilesReport::default();
/// assert!(!files.written && files.sealed.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FilesReport {
    /// Every migration, in the tool's order (which is ours too).
    pub migrations: Vec<MappedMigration>,
    /// Files and folders that are not migrations, and why.
    pub skipped: Vec<Skipped>,
    /// Remarks about the whole import.
    pub notes: Vec<String>,
    /// What makes the imported migrations incomplete (a refinery migration written in Rust).
    pub warnings: Vec<String>,
    /// Migrations sealed into `migrations.lock` (none in a dry run).
    pub sealed: Vec<Version>,
    /// Whether anything was written.
    pub written: bool,
}

/// One migration of the source tool and the migration it becomes.
///
/// ```
/// use migrate_runtime::import::{self, ImportOptions, Tool};
/// let golang = tempfile::tempdir().unwrap();
/// std::fs::write(golang.path().join("7_Add Index.up.sql"), "BEGIN;\nSELECT 1;\nCOMMIT;\n").unwrap();
/// std::fs::write(golang.path().join("README.md"), "docs\n").unwrap();
/// let ours = tempfile::tempdir().unwrap();
/// let mut options = ImportOptions::new(Tool::GolangMigrate, Some(golang.path().into()), ours.path().into());
/// options.dry_run = true;
/// let files = import::files(&options).unwrap().files.unwrap();
/// let m = &files.migrations[0];
/// assert_eq!((m.source.as_str(), m.folder.as_str()), ("7_Add Index.up.sql", "00000000000007_add_index"));
/// assert_eq!(m.conversions[0].line, Some(1)); // its own BEGIN and COMMIT were removed
/// assert_eq!(files.skipped[0].path, "README.md");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MappedMigration {
    /// The tool's folder or file, relative to its directory (`2019-01-01-000000_create_users`,
    /// `7_add_index.up.sql`).
    pub source: String,
    /// What the tool's history records for it (diesel's version text, a number, Prisma's folder).
    pub source_version: String,
    /// Our version.
    pub version: Version,
    /// Our name (snake_case).
    pub name: String,
    /// Our folder, `<version>_<name>`.
    pub folder: String,
    /// Why the version is not the tool's version as written (clash, more than 14 digits, ...).
    pub mapping: Option<String>,
    /// Runs outside a transaction (`-- migrate:no-transaction`).
    pub no_transaction: bool,
    /// It has a `down.sql`.
    pub down: bool,
    /// What was changed in the SQL so that it runs under cargo-migrate, and why.
    pub conversions: Vec<Conversion>,
    /// Remarks (a down file with another name, no down migration, ...).
    pub notes: Vec<String>,
    /// `--dir` already holds exactly this migration (an earlier import): it is kept as it is.
    pub already_imported: bool,
}

/// One change made to a file on import (see [`MappedMigration`] for an example).
///
/// ```
/// # use migrate_runtime::import::Conversion;
/// let c = Conversion { file: "migration.sql".into(), line: Some(1), message: "removed its own `BEGIN;`".into() };
/// // Its JSON (in `import --format json`):
/// assert_eq!(
///     serde_json::to_value(&c).unwrap(),
///     serde_json::json!({"file": "migration.sql", "line": 1, "message": "removed its own `BEGIN;`"})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Conversion {
    /// `migration.sql` or `down.sql`.
    pub file: String,
    /// The 1-based line in the tool's file, where there is one.
    pub line: Option<usize>,
    /// What changed and why.
    pub message: String,
}

/// A file or folder of the source directory that is not imported (see [`MappedMigration`]).
///
/// ```
/// # use migrate_runtime::import::Skipped;
/// let s = Skipped { path: "README.md".into(), reason: "not a migration".into() };
/// // Its JSON (in `import --format json`):
/// assert_eq!(
///     serde_json::to_value(&s).unwrap(),
///     serde_json::json!({"path": "README.md", "reason": "not a migration"})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// Relative to the source directory.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// The history: what the tool's table says of each imported migration, and what is recorded.
///
/// ```
/// # use migrate_runtime::import::HistoryReport;
/// let h = HistoryReport { table: "public.schema_migrations".into(), ..HistoryReport::default() };
/// assert_eq!(h.recorded, 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct HistoryReport {
    /// The tool's table, e.g. `public.__diesel_schema_migrations` (only read, never changed).
    pub table: String,
    /// Our history table.
    pub history_table: String,
    /// Every imported migration, and every row of the tool that has no migration, in order.
    pub migrations: Vec<Adoption>,
    /// How many rows were added to our history (none in a dry run or on refusal).
    pub recorded: usize,
    /// Drafts sealed because they are now recorded as applied.
    pub sealed: Vec<Version>,
}

impl HistoryReport {
    /// The migrations that stop the import.
    ///
    /// ```
    /// # use migrate_runtime::import::HistoryReport;
    /// assert_eq!(HistoryReport::default().refusals().count(), 0);
    /// ```
    pub fn refusals(&self) -> impl Iterator<Item = &Adoption> {
        self.migrations.iter().filter(|a| a.state.is_refusal())
    }
}

/// One migration as the tool's history has it, and what the import makes of it.
///
/// ```
/// use migrate_runtime::import::{Adoption, AdoptionState};
/// let a = Adoption {
///     version: None,
///     migration: "diesel 20190105000000".into(),
///     source: None,
///     state: AdoptionState::NoFile,
///     applied_at: None,
///     message: Some("diesel applied 20190105000000, but no imported migration has it".into()),
///     help: None,
/// };
/// assert!(a.state.is_refusal());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Adoption {
    /// Our version (none for a row of the tool without an imported migration).
    pub version: Option<Version>,
    /// Our folder, or the tool's version when there is none.
    pub migration: String,
    /// The tool's file or folder, when known.
    pub source: Option<String>,
    /// What happens to it.
    pub state: AdoptionState,
    /// When the tool applied it, as its table says.
    pub applied_at: Option<String>,
    /// Why it refuses.
    pub message: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
}

/// What the import makes of one migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdoptionState {
    /// The tool applied it: it is recorded as applied (action `import`).
    Import,
    /// Our history already records it as applied, with the same SQL.
    AlreadyRecorded,
    /// The tool has not applied it, nor anything after it: `cargo migrate apply` will run it.
    Pending,
    /// Refused: the tool recorded another checksum (the file changed after it ran).
    ChecksumMismatch,
    /// Refused: the tool recorded it under another name.
    NameMismatch,
    /// Refused: its last run failed or did not finish (dirty, partly applied).
    Failed,
    /// Refused: the tool applied it, but no imported migration has it.
    NoFile,
    /// Refused: the tool did not apply it, though it applied later ones.
    NotApplied,
    /// Refused: our history records it in another state, or with other SQL.
    Conflict,
}

impl AdoptionState {
    /// Whether this state stops the import.
    ///
    /// ```
    /// use migrate_runtime::import::AdoptionState;
    /// assert!(AdoptionState::Failed.is_refusal());
    /// assert!(!AdoptionState::Pending.is_refusal());
    /// ```
    pub fn is_refusal(self) -> bool {
        !matches!(
            self,
            AdoptionState::Import | AdoptionState::AlreadyRecorded | AdoptionState::Pending
        )
    }

    /// The name used in text and JSON.
    ///
    /// ```
    /// assert_eq!(migrate_runtime::import::AdoptionState::NoFile.as_str(), "no_file");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            AdoptionState::Import => "import",
            AdoptionState::AlreadyRecorded => "already_recorded",
            AdoptionState::Pending => "pending",
            AdoptionState::ChecksumMismatch => "checksum_mismatch",
            AdoptionState::NameMismatch => "name_mismatch",
            AdoptionState::Failed => "failed",
            AdoptionState::NoFile => "no_file",
            AdoptionState::NotApplied => "not_applied",
            AdoptionState::Conflict => "conflict",
        }
    }
}

/// One problem with a file, a folder or a setting, with what to do about it.
///
/// ```
/// use migrate_runtime::import::Problem;
/// let p = Problem::at("7_add_index.up.sql", Some(3), "COMMIT in the middle of the file");
/// assert_eq!(p.to_string(), "7_add_index.up.sql:3: COMMIT in the middle of the file");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The file or folder (relative to the directory it is in), when there is one.
    pub path: Option<String>,
    /// The 1-based line, when there is one.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: Option<String>,
}

impl Problem {
    /// A problem at a path (and line).
    pub fn at(path: impl Into<String>, line: Option<usize>, message: impl Into<String>) -> Problem {
        Problem {
            path: Some(path.into()),
            line,
            message: message.into(),
            help: None,
        }
    }

    /// A problem that concerns no one file.
    pub fn general(message: impl Into<String>) -> Problem {
        Problem {
            path: None,
            line: None,
            message: message.into(),
            help: None,
        }
    }

    /// The same problem with what to do about it.
    pub fn help(mut self, help: impl Into<String>) -> Problem {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, self.line) {
            (Some(path), Some(line)) => write!(f, "{path}:{line}: {}", self.message),
            (Some(path), None) => write!(f, "{path}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// Why an import did not happen. Nothing was written (files written before a failure are
/// removed again).
///
/// ```
/// use migrate_runtime::import::{self, ImportError, ImportOptions, Tool};
/// let options = ImportOptions::new(Tool::Diesel, Some("no/such/dir".into()), "migrations".into());
/// let e = import::files(&options).unwrap_err();
/// assert!(matches!(e, ImportError::Invalid { .. }));
/// assert_eq!(e.to_string(), "no/such/dir is not a directory");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ImportError {
    /// The request cannot be carried out as asked.
    Invalid {
        /// What is wrong.
        message: String,
        /// Details and what to do.
        problems: Vec<Problem>,
    },
    /// The tool's directory cannot be imported: every problem found.
    Source {
        /// The tool's directory.
        dir: PathBuf,
        /// The problems, relative to it.
        problems: Vec<Problem>,
    },
    /// `--dir` cannot take the import.
    Target {
        /// Our directory.
        dir: PathBuf,
        /// Why.
        problems: Vec<Problem>,
    },
    /// Our migrations directory has reading errors.
    Read(ReadErrors),
    /// Our migrations do not match `migrations.lock` (unsealed, edited, missing, ...).
    Lock(Vec<Finding>),
    /// The tool's history cannot be adopted: the report says why, migration by migration.
    Refused(Box<ImportReport>),
    /// The tool's table is missing, or is not the tool's.
    SourceTable {
        /// What is wrong.
        message: String,
        /// What to do.
        help: String,
    },
    /// Writing failed; what was written was removed.
    Write {
        /// What failed.
        message: String,
    },
    /// The database or the engine failed (connection, lock, our history table).
    Engine(crate::engine::EngineError),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Invalid { message, .. } => f.write_str(message),
            ImportError::Source { dir, problems } => write!(
                f,
                "cannot import {}: {} problem{}",
                dir.display(),
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            ),
            ImportError::Target { dir, .. } => {
                write!(f, "cannot import into {}", dir.display())
            }
            ImportError::Read(errors) => write!(f, "{errors}"),
            ImportError::Lock(findings) => write!(
                f,
                "the migrations do not match migrations.lock ({} problem{})",
                findings.len(),
                if findings.len() == 1 { "" } else { "s" }
            ),
            ImportError::Refused(report) => {
                let n = report.history.as_ref().map_or(0, |h| h.refusals().count());
                let table = report.history.as_ref().map_or("", |h| h.table.as_str());
                write!(
                    f,
                    "refusing to import the history: {n} problem{} in {}'s history ({table})",
                    if n == 1 { "" } else { "s" },
                    report.tool
                )
            }
            ImportError::SourceTable { message, .. } => f.write_str(message),
            ImportError::Write { message } => f.write_str(message),
            ImportError::Engine(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ImportError {}
