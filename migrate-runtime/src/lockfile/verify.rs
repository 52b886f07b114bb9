//! Verification: the migrations directory against the lock file. A pure function from the two to
//! a list of findings, every problem at once.

use super::{LockFile, LockState};
use crate::model::{DOWN_FILE, MigrationSet, UP_FILE};
use crate::{Checksum, Version};
use std::fmt;
use std::path::PathBuf;

/// Which file of a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SqlKind {
    /// `migration.sql`.
    #[serde(rename = "migration.sql")]
    Up,
    /// `down.sql`.
    #[serde(rename = "down.sql")]
    Down,
}

impl fmt::Display for SqlKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SqlKind::Up => UP_FILE,
            SqlKind::Down => DOWN_FILE,
        })
    }
}

/// One thing verification found. Everything but [`Finding::Unsealed`] is a problem; an unsealed
/// migration is a draft, which `seal --check` still reports because CI wants everything sealed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// A sealed migration's file changed.
    Edited {
        /// The migration.
        version: Version,
        /// Its name.
        name: String,
        /// Which file.
        file: SqlKind,
        /// The file's path.
        path: PathBuf,
        /// The checksum it was sealed with (`None`: it did not exist).
        sealed: Option<Checksum>,
        /// The checksum it has now (`None`: it was deleted).
        current: Option<Checksum>,
    },
    /// A sealed migration's folder is gone.
    Missing {
        /// The migration.
        version: Version,
        /// Its name.
        name: String,
        /// Where its folder was.
        path: PathBuf,
    },
    /// A sealed migration's folder has a new name (same version).
    Renamed {
        /// The migration.
        version: Version,
        /// The name it was sealed with.
        sealed_name: String,
        /// The name its folder has now.
        name: String,
        /// The folder.
        path: PathBuf,
    },
    /// A migration that is not sealed yet: a draft.
    Unsealed {
        /// The migration.
        version: Version,
        /// Its name.
        name: String,
        /// Its folder.
        path: PathBuf,
    },
    /// A draft older than the newest sealed migration, typically after a merge.
    OutOfOrder {
        /// The migration.
        version: Version,
        /// Its name.
        name: String,
        /// Its folder.
        path: PathBuf,
        /// The newest sealed version.
        newest_sealed: Version,
    },
    /// The lock file cannot be trusted.
    Corrupt {
        /// The lock file.
        path: PathBuf,
        /// The 1-based line, where there is one.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

impl Finding {
    /// The version this finding is about, if any.
    ///
    /// ```
    /// # use migrate_runtime::Finding;
    /// let f = Finding::Corrupt { path: "migrations.lock".into(), line: None, message: "x".into() };
    /// assert_eq!(f.version(), None);
    /// ```
    pub fn version(&self) -> Option<Version> {
        match self {
            Finding::Edited { version, .. }
            | Finding::Missing { version, .. }
            | Finding::Renamed { version, .. }
            | Finding::Unsealed { version, .. }
            | Finding::OutOfOrder { version, .. } => Some(*version),
            Finding::Corrupt { .. } => None,
        }
    }

    /// The version of a draft (an unsealed migration, in order or not); `None` for a problem.
    ///
    /// ```
    /// # use migrate_runtime::{Finding, Version};
    /// let v = Version::new(20261121093000).unwrap();
    /// let f = Finding::Unsealed { version: v, name: "a".into(), path: "a".into() };
    /// assert_eq!(f.draft(), Some(v));
    /// ```
    pub fn draft(&self) -> Option<Version> {
        match self {
            Finding::Unsealed { version, .. } | Finding::OutOfOrder { version, .. } => {
                Some(*version)
            }
            _ => None,
        }
    }

    /// The finding's kind as in JSON: `edited`, `missing`, `renamed`, `unsealed`,
    /// `out_of_order`, `corrupt`.
    ///
    /// ```
    /// # use migrate_runtime::Finding;
    /// let f = Finding::Corrupt { path: "migrations.lock".into(), line: None, message: "x".into() };
    /// assert_eq!(f.kind(), "corrupt");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Finding::Edited { .. } => "edited",
            Finding::Missing { .. } => "missing",
            Finding::Renamed { .. } => "renamed",
            Finding::Unsealed { .. } => "unsealed",
            Finding::OutOfOrder { .. } => "out_of_order",
            Finding::Corrupt { .. } => "corrupt",
        }
    }

    /// What to do about it.
    ///
    /// ```
    /// # use migrate_runtime::Finding;
    /// let f = Finding::Corrupt { path: "migrations.lock".into(), line: None, message: "x".into() };
    /// assert!(f.help().contains("cargo migrate seal"));
    /// ```
    pub fn help(&self) -> String {
        match self {
            Finding::Edited { version, .. } | Finding::Renamed { version, .. } => format!(
                "sealed migrations are immutable: restore it (`git checkout -- <path>`) and \
                 write a new migration for the change; if {version} was never shared (not \
                 pushed, not applied anywhere but your machine), `cargo migrate seal --force \
                 {version}` re-seals it"
            ),
            Finding::Missing { version, .. } => format!(
                "restore the folder from git; if {version} was never shared, `cargo migrate \
                 seal --force {version}` removes it from the lock file"
            ),
            Finding::Unsealed { .. } => {
                "a draft: run `cargo migrate seal` once it is ready (apply seals it too)".into()
            }
            Finding::OutOfOrder { newest_sealed, .. } => format!(
                "it is older than the sealed {newest_sealed}: it probably comes from another \
                 branch (check that it does not depend on newer migrations, then seal it where \
                 it is with `cargo migrate seal --allow-out-of-order`), or an interrupted \
                 `cargo migrate apply` applied it without sealing it (run `cargo migrate apply` \
                 again: it seals the drafts the database records as applied)"
            ),
            Finding::Corrupt { .. } => {
                "if git reported a conflict here, resolve the conflicts in the migration folders \
                 (not in this file), then run `cargo migrate seal`: it rewrites migrations.lock \
                 from the entries of both sides"
                    .into()
            }
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::Edited {
                path,
                sealed,
                current,
                ..
            } => {
                let hash = |c: &Option<Checksum>| c.map_or("none".to_string(), |c| c.short());
                let what = match (sealed, current) {
                    (None, _) => "added after its migration was sealed".to_string(),
                    (_, None) => "deleted after its migration was sealed".to_string(),
                    _ => "edited after it was sealed".to_string(),
                };
                write!(
                    f,
                    "{}: {what} (sealed {}, now {})",
                    path.display(),
                    hash(sealed),
                    hash(current)
                )
            }
            Finding::Missing { path, .. } => {
                write!(
                    f,
                    "{}: sealed migration is missing (its folder was deleted)",
                    path.display()
                )
            }
            Finding::Renamed {
                path, sealed_name, ..
            } => write!(
                f,
                "{}: sealed migration was renamed (it was sealed as `{sealed_name}`)",
                path.display()
            ),
            Finding::Unsealed { path, .. } => {
                write!(f, "{}: draft, not sealed yet", path.display())
            }
            Finding::OutOfOrder {
                path,
                newest_sealed,
                ..
            } => write!(
                f,
                "{}: draft is older than the newest sealed migration {newest_sealed}",
                path.display()
            ),
            Finding::Corrupt {
                path,
                line,
                message,
            } => {
                write!(f, "{}", path.display())?;
                if let Some(line) = line {
                    write!(f, ":{line}")?;
                }
                write!(f, ": lock file is corrupt: {message}")
            }
        }
    }
}

/// Compares a directory with its lock file and reports every finding, in version order (a
/// corrupt lock file first).
///
/// ```
/// use migrate_runtime::{Finding, LockState, MigrationSet, verify};
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::create_dir(dir.path().join("20261121093000_create_users")).unwrap();
/// std::fs::write(dir.path().join("20261121093000_create_users/migration.sql"), "SELECT 1;").unwrap();
/// let set = MigrationSet::read(dir.path()).unwrap();
/// let findings = verify(&set, &LockState::Absent);
/// assert!(matches!(findings.as_slice(), [Finding::Unsealed { .. }]));
/// ```
pub fn verify(set: &MigrationSet, state: &LockState) -> Vec<Finding> {
    let mut findings = Vec::new();
    let lock_path = super::path(&set.dir);
    if let LockState::Corrupt { error, salvaged } = state {
        findings.push(Finding::Corrupt {
            path: lock_path.clone(),
            line: error.line,
            message: error.message.clone(),
        });
        if let Err(e) = salvaged
            && e != error
        {
            findings.push(Finding::Corrupt {
                path: lock_path,
                line: e.line,
                message: e.message.clone(),
            });
        }
    }
    let empty = LockFile::default();
    let lock = state.sealed().unwrap_or(&empty);
    let newest_sealed = lock.newest();

    let mut versioned = Vec::new();
    for entry in lock.entries() {
        let Some(m) = set.get(entry.version) else {
            versioned.push(Finding::Missing {
                version: entry.version,
                name: entry.name.clone(),
                path: set
                    .dir
                    .join(crate::model::folder_name(entry.version, &entry.name)),
            });
            continue;
        };
        if m.name != entry.name {
            versioned.push(Finding::Renamed {
                version: m.version,
                sealed_name: entry.name.clone(),
                name: m.name.clone(),
                path: m.dir.clone(),
            });
        }
        let files = [
            (SqlKind::Up, Some(entry.up), Some(m.up.checksum)),
            (
                SqlKind::Down,
                entry.down,
                m.down.as_ref().map(|d| d.checksum),
            ),
        ];
        for (file, sealed, current) in files {
            if sealed != current {
                versioned.push(Finding::Edited {
                    version: m.version,
                    name: m.name.clone(),
                    file,
                    path: m.dir.join(file.to_string()),
                    sealed,
                    current,
                });
            }
        }
    }
    for m in &set.migrations {
        if lock.get(m.version).is_some() {
            continue;
        }
        let (version, name, path) = (m.version, m.name.clone(), m.dir.clone());
        versioned.push(match newest_sealed {
            Some(newest_sealed) if version < newest_sealed => Finding::OutOfOrder {
                version,
                name,
                path,
                newest_sealed,
            },
            _ => Finding::Unsealed {
                version,
                name,
                path,
            },
        });
    }
    versioned.sort_by_key(|f| f.version());
    findings.extend(versioned);
    findings
}
