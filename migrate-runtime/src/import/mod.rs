//! `cargo migrate import`: adopting a project from another tool in one command, its files and
//! its database history, so nothing is run twice.
//!
//! - `tool`: the tools ([`Tool`]), and one file per tool's layout and table: `prisma`,
//!   `diesel`, `sqlx`, `golang_migrate`, `refinery`, `atlas`;
//! - `version`: the tool's versions mapped to ours, deterministically, in the tool's order;
//! - `convert`: the SQL made to run under our engine (own `BEGIN`/`COMMIT`, directives), and
//!   the `-- imported from ...` header that keeps the mapping visible;
//! - `plan`, `write`: what an import of files writes, checked before anything is written, then
//!   written whole (folders, then the lock file sealing them) or not at all;
//! - `adopt`: the tool's history against the imported migrations (pure), and
//!   `Engine::import_history`, which records it in ours (action `import`);
//! - `run`: the operations ([`files`], [`run`]), in an order that leaves nothing half done;
//! - `report`: what an import did, for text and JSON, and why it did not ([`ImportError`]).
//!
//! ```
//! use migrate_runtime::import::{self, ImportOptions, Tool};
//! let diesel = tempfile::tempdir().unwrap();
//! std::fs::create_dir(diesel.path().join("2019-01-01-000000_create_users")).unwrap();
//! std::fs::write(
//!     diesel.path().join("2019-01-01-000000_create_users/up.sql"),
//!     "CREATE TABLE users (id bigint PRIMARY KEY);\n",
//! ).unwrap();
//! let ours = tempfile::tempdir().unwrap();
//! let options = ImportOptions::new(Tool::Diesel, Some(diesel.path().into()), ours.path().join("migrations"));
//! let report = import::files(&options).unwrap();
//! let files = report.files.unwrap();
//! assert_eq!(files.migrations[0].folder, "20190101000000_create_users");
//! assert_eq!(files.sealed.len(), 1);
//! ```

// The command line is its only user, and the history adoption needs the engine.
#![cfg(feature = "postgres")]

mod adopt;
mod atlas;
mod convert;
mod diesel;
mod golang_migrate;
mod plan;
mod prisma;
mod refinery;
mod report;
mod run;
mod source;
mod sqlx;
mod tool;
mod version;
mod write;

pub use report::{
    Adoption, AdoptionState, Conversion, FilesReport, HistoryReport, ImportError, ImportReport,
    MappedMigration, Problem, Skipped,
};
pub use run::{Database, files, run};
pub use tool::{Tool, UnknownTool};

pub(crate) use adopt::{Imported, Recorded, SourceRow, decide, imported};

use std::path::PathBuf;

/// What to import.
///
/// ```
/// use migrate_runtime::import::{ImportOptions, Tool};
/// let o = ImportOptions::new(Tool::Sqlx, None, "migrations".into());
/// assert!(!o.dry_run && o.source_table.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// The tool the project comes from.
    pub tool: Tool,
    /// Its migrations directory: convert its files. `None`: adopt the history only, for
    /// migrations imported before.
    pub source: Option<PathBuf>,
    /// Our migrations directory.
    pub dir: PathBuf,
    /// Check everything and report, write nothing.
    pub dry_run: bool,
    /// The tool's history table (`schema.table`), when it is not where the tool puts it.
    pub source_table: Option<String>,
}

impl ImportOptions {
    /// Options with the defaults: not a dry run, the tool's own table.
    pub fn new(tool: Tool, source: Option<PathBuf>, dir: PathBuf) -> ImportOptions {
        ImportOptions {
            tool,
            source,
            dir,
            dry_run: false,
            source_table: None,
        }
    }
}

/// What `Engine::import_history` adopts.
///
/// ```
/// use migrate_runtime::import::{HistoryOptions, Tool};
/// let o = HistoryOptions { tool: Tool::Diesel, source_table: None, dry_run: true };
/// assert_eq!(o.tool.history_table(), "__diesel_schema_migrations");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryOptions {
    /// The tool whose history it is.
    pub tool: Tool,
    /// Its table (`schema.table`), when it is not where the tool puts it.
    pub source_table: Option<String>,
    /// Decide and report, record nothing (no lock is taken, nothing is created).
    pub dry_run: bool,
}
