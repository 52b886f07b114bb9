//! The import operations: files, history, or both, in the order that lets nothing be half
//! done (everything checked, then the files written, then the history recorded, and the files
//! removed again if recording fails).

use super::report::{AdoptionState, FilesReport, ImportError, ImportReport, Problem};
use super::{HistoryOptions, ImportOptions, plan, write};
use crate::{Finding, LockState, MigrationSet, lockfile, verify};

/// Imports the files of another tool's project (`options.source`) into `options.dir`: every
/// migration converted, given a header naming where it came from, and sealed. With
/// `dry_run`, everything is checked and reported and nothing is written.
///
/// ```
/// use migrate_runtime::import::{self, ImportOptions, Tool};
/// use migrate_runtime::{LockState, MigrationSet};
/// let sqlx = tempfile::tempdir().unwrap();
/// std::fs::write(sqlx.path().join("1_create_users.sql"), "CREATE TABLE users (id bigint);\n").unwrap();
/// let ours = tempfile::tempdir().unwrap();
/// let options = ImportOptions::new(Tool::Sqlx, Some(sqlx.path().into()), ours.path().into());
/// let report = import::files(&options).unwrap();
/// assert_eq!(report.files.unwrap().sealed.len(), 1);
/// let set = MigrationSet::read(ours.path()).unwrap();
/// assert!(set.migrations[0].up.sql.starts_with("-- imported from sqlx 1_create_users.sql\n"));
/// assert!(matches!(LockState::load(ours.path()).unwrap(), LockState::Valid(_)));
/// ```
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

/// The database an import adopts the history of (see [`run`] for an example).
///
/// ```no_run
/// use migrate_runtime::engine::Engine;
/// use migrate_runtime::import::Database;
/// let mut client = postgres::Client::connect("postgres://postgres@localhost/app", postgres::NoTls)?;
/// let engine = Engine::default();
/// let db = Database { engine: &engine, client: &mut client, events: &mut |_| {} };
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
