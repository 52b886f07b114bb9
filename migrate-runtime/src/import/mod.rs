//! `cargo migrate import`: adopting a project from another tool in one command, its files and
//! its database history, so nothing is run twice.
//!
//! - one file per tool's layout and table: [`Tool::Prisma`] (`prisma`), diesel, sqlx,
//!   golang-migrate, refinery, Atlas;
//! - `version`: the tool's versions mapped to ours, deterministically, in the tool's order;
//! - `convert`: the SQL made to run under our engine (own `BEGIN`/`COMMIT`, directives), and
//!   the `-- imported from ...` header that keeps the mapping visible;
//! - `plan`, `write`: what an import of files writes, checked before anything is written, then
//!   written whole (folders, then the lock file sealing them) or not at all;
//! - `adopt`: the tool's history against the imported migrations (pure), and
//!   `Engine::import_history`, which records it in ours (action `import`);
//! - `report`: what an import did, for text and JSON.
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
mod source;
mod sqlx;
mod version;
mod write;

pub use report::{
    Adoption, AdoptionState, Conversion, FilesReport, HistoryReport, ImportReport, MappedMigration,
    Problem, Skipped,
};

pub(crate) use adopt::{Imported, Recorded, SourceRow, decide, imported};

use crate::model::ReadErrors;
use crate::{Finding, LockState, MigrationSet, lockfile, verify};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A tool whose projects can be imported.
///
/// ```
/// use migrate_runtime::import::Tool;
/// let tool: Tool = "golang-migrate".parse().unwrap();
/// assert_eq!(tool, Tool::GolangMigrate);
/// assert_eq!(tool.to_string(), "golang-migrate");
/// assert!("flyway".parse::<Tool>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    /// Prisma Migrate.
    Prisma,
    /// diesel (diesel_migrations, diesel CLI).
    Diesel,
    /// sqlx (sqlx-cli, `sqlx::migrate!`).
    Sqlx,
    /// golang-migrate.
    GolangMigrate,
    /// refinery.
    Refinery,
    /// Atlas (versioned migrations).
    Atlas,
}

impl Tool {
    /// Every tool, in the order `--help` lists them.
    pub const ALL: [Tool; 6] = [
        Tool::Prisma,
        Tool::Diesel,
        Tool::Sqlx,
        Tool::GolangMigrate,
        Tool::Refinery,
        Tool::Atlas,
    ];

    /// The names `--from` takes.
    pub const NAMES: [&'static str; 6] = [
        "prisma",
        "diesel",
        "sqlx",
        "golang-migrate",
        "refinery",
        "atlas",
    ];

    /// Its name, as `--from` takes it.
    ///
    /// ```
    /// assert_eq!(migrate_runtime::import::Tool::Sqlx.name(), "sqlx");
    /// ```
    pub fn name(self) -> &'static str {
        Tool::NAMES[Tool::ALL.iter().position(|t| *t == self).unwrap_or(0)]
    }

    /// The table the tool keeps its history in, as it creates it by default.
    ///
    /// ```
    /// use migrate_runtime::import::Tool;
    /// assert_eq!(Tool::Diesel.history_table(), "__diesel_schema_migrations");
    /// ```
    pub fn history_table(self) -> &'static str {
        match self {
            Tool::Prisma => prisma::TABLE,
            Tool::Diesel => diesel::TABLE,
            Tool::Sqlx => sqlx::TABLE,
            Tool::GolangMigrate => golang_migrate::TABLE,
            Tool::Refinery => refinery::TABLE,
            Tool::Atlas => atlas::TABLE,
        }
    }

    /// Whether the tool has down migrations (diesel, sqlx, golang-migrate); Prisma, refinery
    /// and Atlas have none, so a missing one is not worth a note per migration.
    fn keeps_downs(self) -> bool {
        matches!(self, Tool::Diesel | Tool::Sqlx | Tool::GolangMigrate)
    }

    /// What its migrations look like, for messages.
    fn layout(self) -> &'static str {
        match self {
            Tool::Prisma => "folders `<timestamp>_<name>/` holding migration.sql",
            Tool::Diesel => "folders `<version>_<name>/` holding up.sql (and down.sql)",
            Tool::Sqlx => "`<version>_<description>.sql` files (or `.up.sql` and `.down.sql`)",
            Tool::GolangMigrate => "`<version>_<name>.up.sql` and `.down.sql` files",
            Tool::Refinery => "`V<version>__<name>.sql` files",
            Tool::Atlas => "`<version>_<name>.sql` files with their atlas.sum",
        }
    }

    fn read(self, dir: &Path) -> Result<source::SourceSet, Vec<Problem>> {
        match self {
            Tool::Prisma => prisma::read(dir),
            Tool::Diesel => diesel::read(dir),
            Tool::Sqlx => sqlx::read(dir),
            Tool::GolangMigrate => golang_migrate::read(dir),
            Tool::Refinery => refinery::read(dir),
            Tool::Atlas => atlas::read(dir),
        }
    }

    /// What the tool's history records for one of its files (named as in an import header),
    /// and the name it records when it checks names.
    fn key_of(self, origin: &str) -> Option<(String, Option<String>)> {
        match self {
            Tool::Prisma => prisma::key_of(origin),
            Tool::Diesel => diesel::key_of(origin),
            Tool::Sqlx => sqlx::key_of(origin),
            Tool::GolangMigrate => golang_migrate::key_of(origin),
            Tool::Refinery => refinery::key_of(origin),
            Tool::Atlas => atlas::key_of(origin),
        }
    }

    /// The tool's name for the migration a file belongs to: the folder for the tools that
    /// keep one folder per migration (`2019-01-01-000000_create_users/up.sql` →
    /// `2019-01-01-000000_create_users`), else the file.
    fn migration_origin(self, file: &str) -> String {
        match self {
            Tool::Prisma | Tool::Diesel => file.split('/').next().unwrap_or(file).to_string(),
            _ => file.to_string(),
        }
    }

    /// The tables to look for when none is given: the default, then (Atlas) the name it uses
    /// in a connection bound to a schema. Unqualified names are looked up on the search path.
    pub(crate) fn table_candidates(self) -> Vec<crate::QualifiedName> {
        let mut names = vec![self.history_table()];
        if self == Tool::Atlas {
            names.push(atlas::TABLE_IN_SCHEMA);
        }
        names.into_iter().filter_map(|s| s.parse().ok()).collect()
    }

    /// The columns read from its table.
    pub(crate) fn columns(self) -> &'static [&'static str] {
        match self {
            Tool::Prisma => prisma::COLUMNS,
            Tool::Diesel => diesel::COLUMNS,
            Tool::Sqlx => sqlx::COLUMNS,
            Tool::GolangMigrate => golang_migrate::COLUMNS,
            Tool::Refinery => refinery::COLUMNS,
            Tool::Atlas => atlas::COLUMNS,
        }
    }

    /// Reads the tool's table (`table` quoted and qualified).
    pub(crate) fn history(
        self,
        client: &mut impl postgres::GenericClient,
        table: &str,
    ) -> Result<Vec<SourceRow>, postgres::Error> {
        match self {
            Tool::Prisma => prisma::history(client, table),
            Tool::Diesel => diesel::history(client, table),
            Tool::Sqlx => sqlx::history(client, table),
            Tool::GolangMigrate => golang_migrate::history(client, table),
            Tool::Refinery => refinery::history(client, table),
            Tool::Atlas => atlas::history(client, table),
        }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of [`Tool::NAMES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown tool `{0}`: expected one of prisma, diesel, sqlx, golang-migrate, refinery, atlas"
)]
pub struct UnknownTool(pub String);

impl FromStr for Tool {
    type Err = UnknownTool;

    fn from_str(s: &str) -> Result<Tool, UnknownTool> {
        Tool::NAMES
            .iter()
            .position(|n| *n == s)
            .map(|i| Tool::ALL[i])
            .ok_or_else(|| UnknownTool(s.to_string()))
    }
}

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

/// Why an import did not happen. Nothing was written (files written before a failure are
/// removed again).
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

/// Imports the files of another tool's project (`options.source`) into `options.dir`: every
/// migration converted, given a header naming where it came from, and sealed. With
/// `dry_run`, everything is checked and reported and nothing is written.
pub fn files(options: &ImportOptions) -> Result<ImportReport, ImportError> {
    let Some(source) = &options.source else {
        return Err(ImportError::Invalid {
            message: format!("no {} migrations directory to import", options.tool),
            problems: vec![Problem::general(
                "give the directory that holds the tool's migrations",
            )],
        });
    };
    let mut report = ImportReport::new(
        options.tool,
        Some(source.clone()),
        options.dir.clone(),
        options.dry_run,
    );
    let plan = plan::plan(options.tool, source, &options.dir)?;
    let mut files = plan.report.clone();
    if !options.dry_run {
        let (_, sealed) = write::write(&options.dir, &plan)?;
        files.sealed = sealed;
        files.written = true;
    }
    report.files = Some(files);
    Ok(report)
}

/// The database an import adopts the history of.
pub struct Database<'a> {
    /// The engine, with its settings (our history table, lock wait).
    pub engine: &'a crate::engine::Engine,
    /// The connection.
    pub client: &'a mut postgres::Client,
    /// Progress (waiting for the migration lock).
    pub events: &'a mut dyn FnMut(crate::engine::Event<'_>),
}

/// Imports files, history, or both: with a source directory its files are imported; with a
/// database, the tool's history of the imported migrations is adopted into ours. Both at once
/// check everything first, write the files, then record the history; if recording fails, the
/// files are removed again.
///
/// ```no_run
/// use migrate_runtime::engine::Engine;
/// use migrate_runtime::import::{self, Database, ImportOptions, Tool};
/// let mut client = postgres::Client::connect("postgres://postgres@localhost/app", postgres::NoTls)?;
/// let options = ImportOptions::new(Tool::Sqlx, Some("old/migrations".into()), "migrations".into());
/// let engine = Engine::default();
/// let report = import::run(&options, Some(Database { engine: &engine, client: &mut client, events: &mut |_| {} }))?;
/// println!("{} recorded", report.history.map_or(0, |h| h.recorded));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run(
    options: &ImportOptions,
    database: Option<Database<'_>>,
) -> Result<ImportReport, ImportError> {
    let Some(db) = database else {
        return files(options);
    };
    let tool = options.tool;
    let mut report = ImportReport::new(
        tool,
        options.source.clone(),
        options.dir.clone(),
        options.dry_run,
    );
    let adopt_options = |dry_run| HistoryOptions {
        tool,
        source_table: options.source_table.clone(),
        dry_run,
    };
    let with_files = |e: ImportError, files: &Option<FilesReport>| match e {
        ImportError::Refused(mut r) => {
            r.source = options.source.clone();
            r.dir = options.dir.clone();
            r.dry_run = options.dry_run;
            r.files = files.clone();
            ImportError::Refused(r)
        }
        e => e,
    };
    let Some(source) = &options.source else {
        // The history of migrations imported before.
        if !options.dir.exists() {
            return Err(ImportError::Invalid {
                message: format!(
                    "there is no migrations directory {} to adopt {tool}'s history for",
                    options.dir.display()
                ),
                problems: vec![Problem::general(format!(
                    "import the files first, or both in one run: `cargo migrate import --from \
                     {tool} <{tool}'s migrations directory> --history`"
                ))],
            });
        }
        let set = MigrationSet::read(&options.dir).map_err(ImportError::Read)?;
        let state = LockState::load(&options.dir).map_err(|e| ImportError::Write {
            message: format!(
                "cannot read {}: {e}",
                lockfile::path(&options.dir).display()
            ),
        })?;
        let blocking: Vec<Finding> = verify(&set, &state)
            .into_iter()
            .filter(|f| !matches!(f, Finding::Unsealed { .. } | Finding::OutOfOrder { .. }))
            .collect();
        if !blocking.is_empty() {
            return Err(ImportError::Lock(blocking));
        }
        let mut history = db.engine.import_history(
            db.client,
            &set,
            &adopt_options(options.dry_run),
            db.events,
        )?;
        if !options.dry_run {
            let versions: Vec<_> = history
                .migrations
                .iter()
                .filter(|a| {
                    matches!(
                        a.state,
                        AdoptionState::Import | AdoptionState::AlreadyRecorded
                    )
                })
                .filter_map(|a| a.version)
                .collect();
            if let Some((lock, sealed)) = lockfile::seal_drafts(&set, &state, &versions) {
                lockfile::write(&options.dir, &lock).map_err(|e| ImportError::Write {
                    message: format!(
                        "the history was recorded, but {} could not be written: {e} (run \
                         `cargo migrate seal`)",
                        lockfile::path(&options.dir).display()
                    ),
                })?;
                history.sealed = sealed;
            }
        }
        report.history = Some(history);
        return Ok(report);
    };
    let plan = plan::plan(tool, source, &options.dir)?;
    let mut files = Some(plan.report.clone());
    // Everything is checked before anything is written.
    let checked = db
        .engine
        .import_history(db.client, &plan.staged, &adopt_options(true), db.events)
        .map_err(|e| with_files(e, &files))?;
    if options.dry_run {
        report.files = files;
        report.history = Some(checked);
        return Ok(report);
    }
    let (written, sealed) = write::write(&options.dir, &plan)?;
    if let Some(f) = &mut files {
        f.sealed = sealed;
        f.written = true;
    }
    let set = match MigrationSet::read(&options.dir) {
        Ok(set) => set,
        Err(e) => {
            written.undo();
            return Err(ImportError::Read(e));
        }
    };
    match db
        .engine
        .import_history(db.client, &set, &adopt_options(false), db.events)
    {
        Ok(history) => {
            report.files = files;
            report.history = Some(history);
            Ok(report)
        }
        Err(e) => {
            written.undo();
            if let Some(f) = &mut files {
                f.sealed.clear();
                f.written = false;
            }
            Err(with_files(e, &files))
        }
    }
}
