//! What every command starts from: the migrations directory (from `--dir`, else the package's
//! `[package.metadata.migrate]`, else `<package root>/migrations`) and the output format.

use crate::cli::{FormatArg, Global};
use crate::report::Error;
use migrate_runtime::engine::connection::ConnInfo;
use migrate_runtime::project::{Project, Settings};
use migrate_runtime::{LockState, MigrationSet, lockfile};
use std::path::{Path, PathBuf};

/// How a command prints: text for people or one JSON document for machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// The resolved global options.
pub struct Context {
    /// Where the migrations are (relative to the current directory when under it, so messages
    /// show short paths).
    pub dir: PathBuf,
    /// Output format.
    pub format: Format,
    /// `--format github`: GitHub Actions annotations (lint only; other output as text).
    pub github: bool,
    /// `[package.metadata.migrate]`.
    pub settings: Settings,
    /// The database URL (`--database-url`, `DATABASE_URL`, `.env`).
    pub database_url: Option<String>,
    /// Where `database_url` came from, for messages.
    pub database_url_source: String,
    /// The package name (names the dev database's database).
    pub package: Option<String>,
    /// Cargo's target directory (holds the dev database).
    pub target_dir: PathBuf,
    /// The connection in use, once a command has resolved it (the dev database when nothing
    /// else is configured).
    pub conninfo: std::cell::OnceCell<ConnInfo>,
}

impl Context {
    /// Resolves the global options against the current directory.
    pub fn resolve(global: &Global) -> Result<Context, Error> {
        let cwd = std::env::current_dir()
            .map_err(|e| Error::new(format!("cannot read the current directory: {e}")))?;
        let project = match Project::locate(global.manifest_path.as_deref(), &cwd) {
            Ok(project) => project,
            // With an explicit --dir the manifest only supplies settings: say what is wrong
            // with it and go on with the defaults.
            Err(e) if global.dir.is_some() && global.manifest_path.is_none() => {
                crate::output::warning(&format!("ignoring the package settings: {e}"));
                Project::outside_cargo(&cwd)
            }
            Err(e) => return Err(Error::new(e.to_string())),
        };
        let dir = match &global.dir {
            Some(dir) => cwd.join(dir),
            None => project.migrations_dir(),
        };
        Ok(Context {
            dir: shorten(&dir, &cwd),
            format: if global.format == FormatArg::Json {
                Format::Json
            } else {
                Format::Text
            },
            github: global.format == FormatArg::Github,
            settings: project.settings,
            database_url: global.database_url.clone().filter(|u| !u.is_empty()),
            database_url_source: database_url_source(global),
            package: project.name,
            target_dir: project.target_dir,
            conninfo: std::cell::OnceCell::new(),
        })
    }
}

impl Context {
    /// Reads the migrations directory and its lock file. On error, `note` says what was left
    /// undone ("nothing was run").
    pub fn read(&self, note: Option<&str>) -> Result<(MigrationSet, LockState), Error> {
        let with_note = |e: Error| match note {
            Some(n) => e.note(n),
            None => e,
        };
        let set = MigrationSet::read(&self.dir).map_err(|e| with_note(Error::read(e)))?;
        let state = LockState::load(&self.dir).map_err(|e| {
            with_note(Error::new(format!(
                "cannot read {}: {e}",
                lockfile::path(&self.dir).display()
            )))
        })?;
        Ok((set, state))
    }
}

fn shorten(path: &Path, cwd: &Path) -> PathBuf {
    match path.strip_prefix(cwd) {
        Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Ok(rel) => rel.to_path_buf(),
        Err(_) => path.to_path_buf(),
    }
}

/// Where `--database-url` / `DATABASE_URL` came from: the flag, the environment, or a `.env`
/// file (recorded by `main` before it loads `.env`).
fn database_url_source(global: &Global) -> String {
    let from_env = std::env::var("DATABASE_URL").ok();
    match (&global.database_url, from_env) {
        (Some(flag), Some(env)) if *flag == env => match crate::DOTENV_FILE.get() {
            Some(Some(path)) => format!("DATABASE_URL in {}", path.display()),
            _ => "DATABASE_URL".into(),
        },
        _ => "--database-url".into(),
    }
}
