//! The model of a migrations directory: what a migration is, how a directory is read, and how a
//! new migration folder is created. The CLI, the macro and the engine all go through here, so
//! they can never disagree about what a migration is.

mod create;
mod directives;
mod error;
mod name;
mod read;
mod statements;

pub use create::{CreateError, NewMigration, create_migration};
pub use directives::{Directives, KNOWN_DIRECTIVES};
pub use error::{Problem, ReadError, ReadErrors};
pub use name::{parse_folder_name, validate_new_name};
pub use read::{DOWN_FILE, LOCK_FILE, PRISMA_LOCK_FILE, UP_FILE};
pub use statements::{SplitError, Statement, line_column, split_statements};

use crate::{Checksum, Version};
use std::path::{Path, PathBuf};

/// One SQL file of a migration, read and hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its text, exactly as on disk (CRLF kept; a BOM kept).
    pub sql: String,
    /// SHA-256 with CRLF normalised to LF.
    pub checksum: Checksum,
}

/// One migration folder: `<version>_<name>/migration.sql` and optionally `down.sql`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The folder's timestamp.
    pub version: Version,
    /// The folder's name part, e.g. `create_users`.
    pub name: String,
    /// The folder.
    pub dir: PathBuf,
    /// `migration.sql`.
    pub up: SqlFile,
    /// `down.sql`, when there is one.
    pub down: Option<SqlFile>,
    /// The header directives of `migration.sql`.
    pub directives: Directives,
}

impl Migration {
    /// The folder name, `<version>_<name>`.
    ///
    /// ```
    /// # use migrate_runtime::MigrationSet;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::fs::create_dir(dir.path().join("20261121093000_create_users")).unwrap();
    /// # std::fs::write(dir.path().join("20261121093000_create_users/migration.sql"), "CREATE TABLE users ();").unwrap();
    /// let set = MigrationSet::read(dir.path()).unwrap();
    /// assert_eq!(set.migrations[0].folder(), "20261121093000_create_users");
    /// ```
    pub fn folder(&self) -> String {
        format!("{}_{}", self.version, self.name)
    }
}

/// Every migration of a directory, ordered by version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationSet {
    /// The migrations directory.
    pub dir: PathBuf,
    /// The migrations, oldest first.
    pub migrations: Vec<Migration>,
}

impl MigrationSet {
    /// Reads and checks a migrations directory. Every problem is reported, not just the first.
    ///
    /// ```
    /// use migrate_runtime::MigrationSet;
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::create_dir(dir.path().join("20261121093000_create_users")).unwrap();
    /// std::fs::write(
    ///     dir.path().join("20261121093000_create_users/migration.sql"),
    ///     "CREATE TABLE users (id bigint PRIMARY KEY);\n",
    /// ).unwrap();
    /// let set = MigrationSet::read(dir.path()).unwrap();
    /// assert_eq!(set.migrations.len(), 1);
    /// assert_eq!(set.migrations[0].name, "create_users");
    /// ```
    pub fn read(dir: &Path) -> Result<MigrationSet, ReadErrors> {
        read::read_set(dir)
    }

    /// The migration with this version.
    ///
    /// ```
    /// # use migrate_runtime::{MigrationSet, Version};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let set = MigrationSet { dir: dir.path().into(), migrations: vec![] };
    /// assert!(set.get(Version::new(1).unwrap()).is_none());
    /// ```
    pub fn get(&self, version: Version) -> Option<&Migration> {
        self.migrations
            .binary_search_by_key(&version, |m| m.version)
            .ok()
            .map(|i| &self.migrations[i])
    }
}

#[cfg(test)]
mod tests;
