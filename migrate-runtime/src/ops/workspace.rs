//! What every operation starts from: the migrations directory (`--dir`, else the package's
//! `[package.metadata.migrate] dir`, else `<package root>/migrations`), the package's settings,
//! the database it was given (if any), and its dev database.

use super::error::{OpError, Untouched};
use crate::devdb::DevDb;
use crate::engine::connection::ConnInfo;
use crate::lockfile;
use crate::project::{Project, Settings, TargetDir};
use crate::{LockState, MigrationSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::OnceLock;

/// How a front end was invoked: the global options.
#[derive(Debug, Clone, Default)]
pub struct WorkspaceOptions {
    /// `--dir`.
    pub dir: Option<PathBuf>,
    /// `--manifest-path`.
    pub manifest_path: Option<PathBuf>,
    /// `--database-url` or `DATABASE_URL`.
    pub database_url: Option<String>,
    /// Where `database_url` came from, for messages (`--database-url`, `DATABASE_URL`,
    /// `DATABASE_URL in /app/.env`).
    pub database_url_source: String,
}

/// The project an operation works on.
///
/// ```
/// use migrate_runtime::ops::{Workspace, WorkspaceOptions};
/// let dir = tempfile::tempdir().unwrap();
/// let ws = Workspace::locate(&WorkspaceOptions::default(), dir.path()).unwrap();
/// assert_eq!(ws.dir, std::path::Path::new("migrations"));
/// ```
#[derive(Debug)]
pub struct Workspace {
    /// Where the migrations are (relative to the current directory when under it, so messages
    /// show short paths).
    pub dir: PathBuf,
    /// `[package.metadata.migrate]`.
    pub settings: Settings,
    /// The database URL given (`--database-url`, `DATABASE_URL`, `.env`).
    pub database_url: Option<String>,
    /// Where it came from.
    pub database_url_source: String,
    /// The package name (names the dev database's database).
    pub package: Option<String>,
    /// Cargo's target directory (holds the dev database), asked of cargo only when needed:
    /// see [`Workspace::target_dir`].
    target_dir: TargetDir,
    /// The target directory once asked.
    target_dir_asked: OnceLock<PathBuf>,
    /// The package root (or the current directory outside a package).
    pub root: PathBuf,
    /// Problems that did not stop anything, for the front end to show.
    pub warnings: Vec<String>,
    /// The connection in use, once resolved.
    pub(crate) conninfo: OnceLock<ConnInfo>,
    /// The directory and lock file as read once for a whole fleet, so every database gets
    /// the same migrations (see [`Workspace::for_database`]).
    fixed: Option<Arc<(MigrationSet, LockState)>>,
}

impl Workspace {
    /// Resolves the options against `cwd`.
    pub fn locate(options: &WorkspaceOptions, cwd: &Path) -> Result<Workspace, OpError> {
        let mut warnings = Vec::new();
        let project = match Project::locate(options.manifest_path.as_deref(), cwd) {
            Ok(project) => project,
            // With an explicit --dir the manifest only supplies settings: say what is wrong
            // with it and go on with the defaults.
            Err(e) if options.dir.is_some() && options.manifest_path.is_none() => {
                warnings.push(format!("ignoring the package settings: {e}"));
                Project::outside_cargo(cwd)
            }
            Err(e) => return Err(OpError::Project(e.to_string())),
        };
        let dir = match &options.dir {
            Some(dir) => cwd.join(dir),
            None => project.migrations_dir(),
        };
        let mut settings = project.settings;
        if let Some(fleet) = settings.fleet.take() {
            settings.fleet = Some(shorten(&project.root.join(fleet), cwd));
        }
        if let Some(seeds) = settings.seeds_dir.take() {
            settings.seeds_dir = Some(shorten(&project.root.join(seeds), cwd));
        }
        Ok(Workspace {
            dir: shorten(&dir, cwd),
            settings,
            database_url: options.database_url.clone().filter(|u| !u.is_empty()),
            database_url_source: options.database_url_source.clone(),
            package: project.name,
            target_dir: project.target_dir,
            target_dir_asked: OnceLock::new(),
            root: project.root,
            warnings,
            conninfo: OnceLock::new(),
            fixed: None,
        })
    }

    /// The same project on another database, with the migrations already read (one member of
    /// a fleet: every database gets the same migrations, read once).
    ///
    /// ```
    /// use migrate_runtime::ops::{Workspace, WorkspaceOptions};
    /// use migrate_runtime::{LockState, MigrationSet};
    /// let dir = tempfile::tempdir().unwrap();
    /// let ws = Workspace::locate(&WorkspaceOptions::default(), dir.path()).unwrap();
    /// let info = "postgres://app:pw@db1/shop".parse().unwrap();
    /// let set = MigrationSet { dir: dir.path().into(), migrations: vec![] };
    /// let member = ws.for_database(info, std::sync::Arc::new((set, LockState::Absent)));
    /// assert_eq!(member.redacted().as_deref(), Some("postgres://app:***@db1:5432/shop"));
    /// ```
    pub fn for_database(&self, info: ConnInfo, read: Arc<(MigrationSet, LockState)>) -> Workspace {
        Workspace {
            dir: self.dir.clone(),
            root: self.root.clone(),
            settings: self.settings.clone(),
            database_url: None,
            database_url_source: "the fleet".into(),
            package: self.package.clone(),
            target_dir: self.target_dir.clone(),
            target_dir_asked: self.target_dir_asked.clone(),
            warnings: Vec::new(),
            conninfo: OnceLock::from(info),
            fixed: Some(read),
        }
    }

    /// Reads the migrations directory and its lock file.
    pub fn read(&self, untouched: Untouched) -> Result<(MigrationSet, LockState), OpError> {
        self.read_with(MigrationSet::read, untouched)
    }

    /// Reads the migrations directory without the SQL texts, through the stat cache of
    /// [`Workspace::status_cache_file`] (see [`MigrationSet::read_checksums_cached`]), and its
    /// lock file: for `status`, which needs only checksums. A fleet's members get the set read
    /// once, texts included.
    pub fn read_checksums(
        &self,
        untouched: Untouched,
    ) -> Result<(MigrationSet, LockState), OpError> {
        match self.status_cache_file() {
            Some(cache) => self.read_with(
                |dir| MigrationSet::read_checksums_cached(dir, &cache),
                untouched,
            ),
            None => self.read_with(MigrationSet::read_checksums, untouched),
        }
    }

    /// Where `status` keeps the stat cache of this migrations directory:
    /// `<target dir>/migrate-cache/status-<hash of the directory's absolute path>`, the target
    /// directory found without running cargo (see [`TargetDir::without_cargo`]). `None` (no
    /// cache: every file is read) when that target directory does not exist (`status` never
    /// creates it, e.g. on a server that only runs migrations) or belongs to another user
    /// (`sudo cargo migrate status` must not leave files the owner cannot remove, nor trust
    /// files someone else could have written).
    ///
    /// ```
    /// use migrate_runtime::ops::{Workspace, WorkspaceOptions};
    /// let dir = tempfile::tempdir().unwrap();
    /// let ws = Workspace::locate(&WorkspaceOptions::default(), dir.path()).unwrap();
    /// assert_eq!(ws.status_cache_file(), None, "no target directory yet");
    /// std::fs::create_dir(dir.path().join("target")).unwrap();
    /// let file = ws.status_cache_file().unwrap();
    /// assert!(file.starts_with(dir.path().join("target/migrate-cache")));
    /// ```
    pub fn status_cache_file(&self) -> Option<PathBuf> {
        let target = self.target_dir.without_cargo();
        if !owned_by_us(&target) {
            return None;
        }
        let dir = std::path::absolute(&self.dir).unwrap_or_else(|_| self.dir.clone());
        let key = crate::Checksum::of_bytes(dir.as_os_str().as_encoded_bytes()).short();
        Some(target.join("migrate-cache").join(format!("status-{key}")))
    }

    fn read_with(
        &self,
        read: impl FnOnce(&Path) -> Result<MigrationSet, crate::model::ReadErrors>,
        untouched: Untouched,
    ) -> Result<(MigrationSet, LockState), OpError> {
        if let Some(fixed) = &self.fixed {
            return Ok((fixed.0.clone(), fixed.1.clone()));
        }
        let set = read(&self.dir).map_err(|errors| OpError::Read {
            errors,
            untouched: Some(untouched),
        })?;
        let state = LockState::load(&self.dir).map_err(|e| OpError::Io {
            message: format!("cannot read {}: {e}", lockfile::path(&self.dir).display()),
            help: None,
            untouched: Some(untouched),
        })?;
        Ok((set, state))
    }

    /// Reads the migrations directory (without the lock file).
    pub fn read_set(&self, untouched: Untouched) -> Result<MigrationSet, OpError> {
        if let Some(fixed) = &self.fixed {
            return Ok(fixed.0.clone());
        }
        MigrationSet::read(&self.dir).map_err(|errors| OpError::Read {
            errors,
            untouched: Some(untouched),
        })
    }

    /// The project's dev database: one cluster per target directory, one database per package
    /// (outside a package, named after the folder holding the migrations directory:
    /// `examples/quickstart/migrations` → `quickstart`).
    pub fn dev_db(&self) -> Result<DevDb, OpError> {
        let name = self.package.clone().or_else(|| {
            std::path::absolute(&self.dir).ok().and_then(|d| {
                d.parent()?
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            })
        });
        Ok(DevDb::new(
            &self.target_dir()?,
            name.as_deref().unwrap_or("dev"),
        ))
    }

    /// Cargo's target directory (holds the dev database): asked of cargo (`cargo metadata`)
    /// the first time, as only the dev database needs it.
    ///
    /// ```
    /// use migrate_runtime::ops::{Workspace, WorkspaceOptions};
    /// let dir = tempfile::tempdir().unwrap();
    /// let ws = Workspace::locate(&WorkspaceOptions::default(), dir.path()).unwrap();
    /// assert_eq!(ws.target_dir().unwrap(), dir.path().join("target"));
    /// ```
    pub fn target_dir(&self) -> Result<PathBuf, OpError> {
        if let Some(dir) = self.target_dir_asked.get() {
            return Ok(dir.clone());
        }
        let dir = self
            .target_dir
            .resolve()
            .map_err(|e| OpError::Project(e.to_string()))?;
        Ok(self.target_dir_asked.get_or_init(|| dir).clone())
    }

    /// The connection (redacted), once resolved.
    pub fn redacted(&self) -> Option<String> {
        self.conninfo.get().map(ConnInfo::redacted)
    }
}

fn shorten(path: &Path, cwd: &Path) -> PathBuf {
    match path.strip_prefix(cwd) {
        Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Ok(rel) => rel.to_path_buf(),
        Err(_) => path.to_path_buf(),
    }
}

/// Whether `dir` is a directory owned by the user this process runs as.
#[cfg(unix)]
fn owned_by_us(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(dir).is_ok_and(|m| m.is_dir() && m.uid() == nix::unistd::geteuid().as_raw())
}

/// Whether `dir` is a directory (ownership is not checked off Unix).
#[cfg(not(unix))]
fn owned_by_us(dir: &Path) -> bool {
    dir.is_dir()
}
