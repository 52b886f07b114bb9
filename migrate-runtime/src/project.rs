//! Finding the project: the Cargo package in (or above) the current directory, and its
//! `[package.metadata.migrate]` settings. The CLI and the macro both resolve paths here, so the
//! default migrations directory is the same for both.

use std::path::{Path, PathBuf};

/// Settings from `[package.metadata.migrate]` (or `[workspace.metadata.migrate]` for a virtual
/// workspace). Unknown keys are errors, so a typo is not silently ignored.
///
/// ```toml
/// [package.metadata.migrate]
/// dir = "db/migrations"                    # relative to the package root; default "migrations"
/// history_table = "public._migrate_history"
/// lock_timeout = "200ms"                   # per statement; "0" leaves the server's setting
/// statement_timeout = "30s"                # per backfill batch; "0" leaves the server's setting
/// lock_retry_budget = "3m"                 # how long to keep retrying after lock timeouts
/// lock_retries = 100                       # at most this many retries (default: the budget decides)
/// lock_wait = "60s"                        # waiting for another runner
/// connect_timeout = "10s"                  # the whole connection handshake
/// group_commit = true                      # one WAL flush per run instead of per migration
/// schemas = ["public"]                     # what `reset` drops and recreates
/// database_url = "postgres://localhost/app_dev" # else DATABASE_URL, else the dev database
/// fleet = "deploy/fleet.txt"               # the databases `--fleet` names when given no file
/// seeds_dir = "db/seeds"                   # what `seed` runs; default `seeds/` beside the migrations
/// shadow_url = "postgres://localhost/postgres" # where verify and diff make shadow databases
/// require_verified = true                  # apply --locked: only migrations sealed with seal --verify
/// backup = "pg_dump:backups"               # before apply: a dump into <root>/backups, or
///                                          # "command:<shell command>" (see the README)
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The migrations directory, relative to the package root.
    pub dir: Option<PathBuf>,
    /// The history table, `schema.table`.
    pub history_table: Option<String>,
    /// `lock_timeout` for migration statements, e.g. `"5s"`.
    pub lock_timeout: Option<String>,
    /// `statement_timeout` of each backfill batch, e.g. `"30s"`.
    pub statement_timeout: Option<String>,
    /// Retries after a lock timeout.
    pub lock_retries: Option<u32>,
    /// How long to keep retrying after lock timeouts, e.g. `"3m"`.
    pub lock_retry_budget: Option<String>,
    /// How long connecting may take, e.g. `"10s"`.
    pub connect_timeout: Option<String>,
    /// Group commit (default on).
    pub group_commit: Option<bool>,
    /// How long to wait for another runner.
    pub lock_wait: Option<String>,
    /// Schemas `reset` drops.
    pub schemas: Option<Vec<String>>,
    /// The database to use when neither `--database-url` nor `DATABASE_URL` is given (before
    /// falling back to the dev database). Keep passwords out of Cargo.toml.
    pub database_url: Option<String>,
    /// The fleet file `apply --fleet` and `status --fleet` use when given no file (one
    /// connection string or `env:VAR` per line), relative to the package root.
    pub fleet: Option<PathBuf>,
    /// The seed files `seed` runs (a directory of `.sql` files, or one file), relative to the
    /// package root; default `seeds/` beside the migrations directory.
    pub seeds_dir: Option<PathBuf>,
    /// The server `verify` and `diff` make their shadow databases on (default: the database's
    /// own server, or the dev database's).
    pub shadow_url: Option<String>,
    /// `apply --locked` refuses pending migrations that were not sealed with
    /// `seal --verify` (default false).
    pub require_verified: Option<bool>,
    /// The backup `apply` takes before its first pending migration: `pg_dump:<dir>` or
    /// `command:<shell command>`.
    pub backup: Option<String>,
    /// `[package.metadata.migrate.lint]`.
    pub lint: Option<LintSettings>,
}

/// `[package.metadata.migrate.lint]`: which lint rules run and how severe they are.
///
/// ```toml
/// [package.metadata.migrate.lint]
/// allow = ["ban-drop-column"]             # rules that never report
/// warn = ["prefer-text-field"]            # rules that report as warnings (opt-in rules too)
/// deny = ["require-statement-timeout"]    # rules that report as errors (opt-in rules too)
/// pg_version = "15"                       # the server version the rules assume
/// contract_after = 2                      # migrations between creating and dropping a thing
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LintSettings {
    /// Rules that never report.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Rules that report as warnings.
    #[serde(default)]
    pub warn: Vec<String>,
    /// Rules that report as errors.
    #[serde(default)]
    pub deny: Vec<String>,
    /// PostgreSQL version, e.g. `"15"` or `"14.2"`.
    pub pg_version: Option<String>,
    /// Minimum number of migrations between creating a table or column and dropping it.
    pub contract_after: Option<usize>,
}

/// The package that owns the migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The package root (directory of its `Cargo.toml`), or the current directory outside any
    /// Cargo package.
    pub root: PathBuf,
    /// The manifest, when there is one.
    pub manifest: Option<PathBuf>,
    /// The settings read from the manifest.
    pub settings: Settings,
    /// The package name (`None` outside a package, or at a virtual workspace's root).
    pub name: Option<String>,
    /// Cargo's target directory, or the manifest to ask cargo about (see
    /// [`Project::target_dir`]).
    pub target_dir: TargetDir,
}

/// Cargo's target directory as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetDir {
    /// It is this directory.
    Known(PathBuf),
    /// `cargo metadata` of this manifest says (asked when needed).
    Ask(PathBuf),
}

impl TargetDir {
    /// The directory, asking cargo if need be (feature `cargo`).
    ///
    /// ```
    /// use migrate_runtime::project::TargetDir;
    /// let known = TargetDir::Known("/app/target".into());
    /// assert_eq!(known.resolve().unwrap(), std::path::Path::new("/app/target"));
    /// ```
    #[cfg(feature = "cargo")]
    pub fn resolve(&self) -> Result<PathBuf, ProjectError> {
        match self {
            TargetDir::Known(dir) => Ok(dir.clone()),
            TargetDir::Ask(manifest) => target_dir_of(manifest),
        }
    }

    /// The directory as far as it is known without running cargo, for caches that are
    /// rebuilt when lost: `CARGO_TARGET_DIR`, else the nearest `target/` holding cargo's
    /// `CACHEDIR.TAG` at or above the package (a workspace member's is the workspace's), else
    /// `target/` beside the manifest. A `build.target-dir` of `.cargo/config.toml` is not
    /// looked at.
    ///
    /// ```
    /// use migrate_runtime::project::TargetDir;
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::create_dir_all(dir.path().join("target")).unwrap();
    /// std::fs::write(dir.path().join("target/CACHEDIR.TAG"), "").unwrap();
    /// std::fs::create_dir_all(dir.path().join("member")).unwrap();
    /// let member = TargetDir::Ask(dir.path().join("member/Cargo.toml"));
    /// # if std::env::var_os("CARGO_TARGET_DIR").is_none() {
    /// assert_eq!(member.without_cargo(), dir.path().join("target"));
    /// # }
    /// ```
    pub fn without_cargo(&self) -> PathBuf {
        let manifest = match self {
            TargetDir::Known(dir) => return dir.clone(),
            TargetDir::Ask(manifest) => manifest,
        };
        if let Some(dir) = target_dir_from_env() {
            return dir;
        }
        let root = manifest.parent().unwrap_or(Path::new("."));
        root.ancestors()
            .map(|d| d.join("target"))
            .find(|t| t.join("CACHEDIR.TAG").is_file())
            .unwrap_or_else(|| root.join("target"))
    }
}

/// A manifest as TOML.
fn read_manifest(manifest: &Path) -> Result<toml::Value, ProjectError> {
    let text = std::fs::read_to_string(manifest).map_err(|e| ProjectError::Metadata {
        manifest: manifest.to_path_buf(),
        message: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| ProjectError::Metadata {
        manifest: manifest.to_path_buf(),
        message: e.to_string(),
    })
}

/// The settings of a `migrate` table (absent: the defaults). Read through JSON, as
/// `cargo metadata` hands metadata over, so every message is the same whichever way the
/// manifest was read.
fn settings_from(manifest: &Path, table: Option<&toml::Value>) -> Result<Settings, ProjectError> {
    let invalid = |message: String| ProjectError::Settings {
        manifest: manifest.to_path_buf(),
        message,
    };
    match table {
        Some(t) => {
            let json = serde_json::to_value(t).map_err(|e| invalid(e.to_string()))?;
            serde_json::from_value(json).map_err(|e| invalid(e.to_string()))
        }
        None => Ok(Settings::default()),
    }
}

/// `CARGO_TARGET_DIR`, which overrides every other way cargo finds the target directory.
fn target_dir_from_env() -> Option<PathBuf> {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from)
}

/// `CARGO_TARGET_DIR`, else the target directory `cargo metadata` reports for `manifest`.
#[cfg(feature = "cargo")]
fn target_dir_of(manifest: &Path) -> Result<PathBuf, ProjectError> {
    if let Some(dir) = target_dir_from_env() {
        return Ok(dir);
    }
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(manifest)
        .no_deps()
        .exec()
        .map_err(|e| ProjectError::Metadata {
            manifest: manifest.to_path_buf(),
            message: e.to_string(),
        })?;
    Ok(metadata.target_directory.into_std_path_buf())
}

/// Why the project could not be located.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// `cargo metadata` failed.
    #[error("could not read {manifest}: {message}")]
    Metadata {
        /// The manifest.
        manifest: PathBuf,
        /// cargo's message.
        message: String,
    },
    /// `[package.metadata.migrate]` is malformed.
    #[error("{manifest}: invalid [package.metadata.migrate]: {message}")]
    Settings {
        /// The manifest.
        manifest: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Project {
    /// Locates the project: the given manifest, else the nearest `Cargo.toml` at or above
    /// `cwd`, else `cwd` itself with default settings (a project that is not a Cargo package).
    ///
    /// ```
    /// use migrate_runtime::project::Project;
    /// let dir = tempfile::tempdir().unwrap();
    /// let project = Project::locate(None, dir.path()).unwrap();
    /// assert_eq!(project.migrations_dir(), dir.path().join("migrations"));
    /// ```
    pub fn locate(manifest: Option<&Path>, cwd: &Path) -> Result<Project, ProjectError> {
        let manifest = match manifest {
            Some(m) => Some(if m.is_absolute() {
                m.to_path_buf()
            } else {
                cwd.join(m)
            }),
            None => cwd
                .ancestors()
                .map(|d| d.join("Cargo.toml"))
                .find(|m| m.is_file()),
        };
        let Some(manifest) = manifest else {
            return Ok(Project::outside_cargo(cwd));
        };
        // The manifest is read directly, not with `cargo metadata`: everything needed is in it
        // (a package's `[package.metadata.migrate]`, a virtual manifest's
        // `[workspace.metadata.migrate]`), and running cargo costs more than the rest of a
        // `status` of ten thousand migrations. Only the target directory needs cargo, and only
        // the dev database uses it: see [`Project::target_dir`].
        let value = read_manifest(&manifest)?;
        let root = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
        let package = value.get("package");
        let table = match package {
            Some(p) => p.get("metadata"),
            None => value.get("workspace").and_then(|w| w.get("metadata")),
        }
        .and_then(|m| m.get("migrate"));
        let settings = settings_from(&manifest, table)?;
        let name = package
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .map(String::from);
        Ok(Project {
            target_dir: TargetDir::Ask(manifest.clone()),
            root,
            manifest: Some(manifest),
            settings,
            name,
        })
    }

    /// The package whose root is `root` (its `Cargo.toml` read directly, for the macro and
    /// build scripts, where `CARGO_MANIFEST_DIR` names the package and running `cargo metadata`
    /// inside a build is not wanted). Reads `[package.metadata.migrate]` into the same
    /// [`Settings`] as [`Project::locate`].
    ///
    /// ```
    /// use migrate_runtime::project::Project;
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"a\"\n[package.metadata.migrate]\ndir = \"db\"\n").unwrap();
    /// let p = Project::for_package(dir.path()).unwrap();
    /// assert_eq!(p.migrations_dir(), dir.path().join("db"));
    /// ```
    pub fn for_package(root: &Path) -> Result<Project, ProjectError> {
        let manifest = root.join("Cargo.toml");
        let value = read_manifest(&manifest)?;
        let table = value
            .get("package")
            .and_then(|p| p.get("metadata"))
            .and_then(|m| m.get("migrate"));
        let settings = settings_from(&manifest, table)?;
        let name = value
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .map(String::from);
        Ok(Project {
            root: root.to_path_buf(),
            manifest: Some(manifest),
            settings,
            name,
            target_dir: TargetDir::Known(
                std::env::var_os("CARGO_TARGET_DIR")
                    .map_or_else(|| root.join("target"), PathBuf::from),
            ),
        })
    }

    /// A directory that is not in a Cargo package: default settings, `target/` below it.
    ///
    /// ```
    /// use migrate_runtime::project::Project;
    /// let p = Project::outside_cargo("/srv/app".as_ref());
    /// assert_eq!(p.target_dir().unwrap(), std::path::Path::new("/srv/app/target"));
    /// ```
    pub fn outside_cargo(dir: &Path) -> Project {
        Project {
            root: dir.to_path_buf(),
            manifest: None,
            settings: Settings::default(),
            name: None,
            target_dir: TargetDir::Known(dir.join("target")),
        }
    }

    /// Cargo's target directory (where the dev database lives): `CARGO_TARGET_DIR`, else what
    /// `cargo metadata` says for the manifest (a workspace member's is the workspace's, and
    /// `.cargo/config.toml` may move it), asked only now.
    /// (Feature `cargo`.)
    ///
    /// ```
    /// use migrate_runtime::project::Project;
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"a\"\n").unwrap();
    /// let p = Project::for_package(dir.path()).unwrap();
    /// # if std::env::var_os("CARGO_TARGET_DIR").is_none() {
    /// assert_eq!(p.target_dir().unwrap(), dir.path().join("target"));
    /// # }
    /// ```
    #[cfg(feature = "cargo")]
    pub fn target_dir(&self) -> Result<PathBuf, ProjectError> {
        self.target_dir.resolve()
    }

    /// The migrations directory: `dir` from the settings (relative to the package root), else
    /// `<package root>/migrations`.
    ///
    /// ```
    /// use migrate_runtime::project::{Project, Settings};
    /// let settings = Settings { dir: Some("db".into()), ..Settings::default() };
    /// let p = Project { settings, ..Project::outside_cargo("/app".as_ref()) };
    /// assert_eq!(p.migrations_dir(), std::path::Path::new("/app/db"));
    /// ```
    pub fn migrations_dir(&self) -> PathBuf {
        self.root.join(
            self.settings
                .dir
                .as_deref()
                .unwrap_or(Path::new("migrations")),
        )
    }
}
