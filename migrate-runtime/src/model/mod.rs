//! The model of a migrations directory: what a migration is, how a directory is read, and how a
//! new migration folder is created. The CLI, the macro and the engine all go through here, so
//! they can never disagree about what a migration is.

mod backfill;
pub(crate) mod chunks;
#[cfg(feature = "write")]
mod create;
mod directives;
mod error;
mod name;
mod nice;
mod read;
// Read through by every read, but kept (loaded and saved) only by `read_checksums_cached`, which
// needs `write`: without it, the cache is never made.
#[cfg_attr(not(feature = "write"), allow(dead_code))]
mod stat_cache;
mod statements;
mod transaction;

pub use backfill::{
    BACKFILL_OPTIONS, BACKFILL_USAGE, BATCH_END, BATCH_START, Backfill, BackfillProblem,
    DEFAULT_BATCH, DEFAULT_PAUSE, MAX_BATCH, bind_placeholders, null_placeholders,
};
#[cfg(feature = "postgres")]
pub(crate) use create::next_version;
#[cfg(feature = "write")]
pub use create::{CreateError, NewMigration, create_migration};
pub use directives::{Directives, KNOWN_DIRECTIVES};
pub use error::{Problem, ReadError, ReadErrors};
#[cfg(feature = "postgres")]
pub(crate) use name::snake_words;
pub use name::{constant_names, is_folder_name_part, parse_folder_name, validate_new_name};
pub use nice::{DEFAULT_NICE, MAX_NICE, NiceRatio};
pub use read::{DOWN_FILE, LOCK_FILE, PRISMA_LOCK_FILE, UP_FILE, down_no_transaction};
#[cfg(feature = "lint")]
pub(crate) use statements::located as located_statement;
pub use statements::{LineIndex, SplitError, Statement, line_column, split_statements};
pub use transaction::{
    NO_TRANSACTION_HELP, NeedsNoTransaction, concurrent_index, needs_no_transaction,
    needs_no_transaction_in,
};

use crate::{Checksum, Version};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// One SQL file of a migration, read and hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its text, exactly as on disk (CRLF kept; a BOM kept).
    pub sql: String,
    /// SHA-256 with CRLF normalised to LF.
    pub checksum: Checksum,
    /// Its statements: split on first use, or given. Boxed: a set of ten thousand files read
    /// for their checksums (`status`) never splits one, and should not carry the room twice
    /// each (up and down).
    statements: OnceLock<Box<Split>>,
    /// Its backfill (`-- migrate:backfill`), parsed when the file is made, or why it is not
    /// right; `None` without one. Boxed: few files have one.
    backfill: Option<Box<Result<Backfill, (usize, Problem)>>>,
}

/// A file's statements, or why it could not be split.
type Split = Result<Vec<Statement>, SplitError>;

impl SqlFile {
    /// A file's text with its checksum; statements are split on first use.
    ///
    /// ```
    /// use migrate_runtime::{Checksum, SqlFile};
    /// let f = SqlFile::new("m.sql".into(), "SELECT 1; SELECT 2;".into());
    /// assert_eq!(f.checksum, Checksum::of_sql(b"SELECT 1; SELECT 2;"));
    /// assert_eq!(f.statements().unwrap().len(), 2);
    /// ```
    pub fn new(path: PathBuf, sql: String) -> SqlFile {
        let checksum = Checksum::of_sql(sql.as_bytes());
        SqlFile {
            path,
            backfill: parse_backfill(&sql),
            sql,
            checksum,
            statements: OnceLock::new(),
        }
    }

    /// A file whose checksum (and possibly statements) were computed before: an embedded
    /// migration's checksum comes from compile time.
    ///
    /// ```
    /// use migrate_runtime::{Checksum, SqlFile};
    /// use migrate_runtime::model::split_statements;
    /// let sql = "SELECT 1;";
    /// let f = SqlFile::precomputed("m.sql".into(), sql.into(), Checksum::of_sql(sql.as_bytes()), split_statements(sql).ok());
    /// assert_eq!(f.statements().unwrap()[0].text(&f.sql), "SELECT 1;");
    /// ```
    pub fn precomputed(
        path: PathBuf,
        sql: String,
        checksum: Checksum,
        statements: Option<Vec<Statement>>,
    ) -> SqlFile {
        let cell = OnceLock::new();
        if let Some(statements) = statements {
            let _ = cell.set(Box::new(Ok(statements)));
        }
        SqlFile {
            path,
            backfill: parse_backfill(&sql),
            sql,
            checksum,
            statements: cell,
        }
    }

    /// Its backfill, when its header says `-- migrate:backfill` (parsed once, when the file
    /// was made); an error with its 1-based line when the backfill is not right.
    ///
    /// ```
    /// # use migrate_runtime::SqlFile;
    /// let f = SqlFile::new("m.sql".into(), "-- migrate:backfill table=t key=id\nDELETE FROM t WHERE id BETWEEN :batch_start AND :batch_end;".into());
    /// assert_eq!(f.backfill().unwrap().unwrap().batch, 1000);
    /// ```
    pub fn backfill(&self) -> Result<Option<&Backfill>, (usize, &Problem)> {
        match self.backfill.as_deref() {
            None => Ok(None),
            Some(Ok(b)) => Ok(Some(b)),
            Some(Err((line, problem))) => Err((*line, problem)),
        }
    }

    /// Whether it is a Rust backfill (`-- migrate:backfill ... rust`): no statement, its
    /// batches run code registered for its migration.
    ///
    /// ```
    /// # use migrate_runtime::SqlFile;
    /// assert!(SqlFile::new("m.sql".into(), "-- migrate:backfill table=t key=id rust\n".into()).is_rust_backfill());
    /// assert!(!SqlFile::new("m.sql".into(), "SELECT 1;".into()).is_rust_backfill());
    /// ```
    pub fn is_rust_backfill(&self) -> bool {
        matches!(self.backfill.as_deref(), Some(Ok(b)) if b.rust)
    }

    /// Splits its statements from `parse` (a parse of its whole text made for something else,
    /// e.g. the linter's) unless they are known already: the file is then parsed once.
    #[cfg(feature = "lint")]
    pub(crate) fn split_from(&self, parse: &squawk_syntax::Parse<squawk_syntax::SourceFile>) {
        let _ = self
            .statements
            .get_or_init(|| Box::new(statements::statements_of(&self.sql, parse)));
    }

    /// Records its statements, found by someone who parsed it anyway (the linter, a chunk at
    /// a time), unless they are known already.
    #[cfg(feature = "lint")]
    pub(crate) fn found_statements(&self, statements: Vec<Statement>) {
        let _ = self.statements.set(Box::new(Ok(statements)));
    }

    /// Its statements, split with squawk's PostgreSQL parser (once).
    ///
    /// ```
    /// # use migrate_runtime::SqlFile;
    /// assert!(SqlFile::new("m.sql".into(), "CREATE TABL t ();".into()).statements().is_err());
    /// ```
    pub fn statements(&self) -> Result<&[Statement], &SplitError> {
        self.statements
            .get_or_init(|| Box::new(split_statements(&self.sql)))
            .as_ref()
            .as_ref()
            .map(Vec::as_slice)
    }
}

fn parse_backfill(sql: &str) -> Option<Box<Result<Backfill, (usize, Problem)>>> {
    Backfill::parse(sql).transpose().map(Box::new)
}

/// A migration's folder name, `<version>_<name>`: the one place it is spelled.
///
/// ```
/// use migrate_runtime::model::folder_name;
/// assert_eq!(folder_name("20261121093000".parse().unwrap(), "create_users"), "20261121093000_create_users");
/// ```
pub fn folder_name(version: Version, name: &str) -> String {
    format!("{version}_{name}")
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
    /// Whether `down.sql` runs outside a transaction: as `migration.sql` does, unless
    /// `down.sql` says otherwise in its own header (see [`down_no_transaction`]).
    pub down_no_transaction: bool,
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
        folder_name(self.version, &self.name)
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
        read::read_set(dir, read::Texts::Keep, None, read::Listing::Every)
    }

    /// Reads and checks a migrations directory as [`MigrationSet::read`] does, for the
    /// compile-time check: the folders of the migrations `sealed` names (by version and name)
    /// are not listed, their `migration.sql` and `down.sql` are opened by name, so a stray file
    /// in such a folder is not reported (`seal` refused it when the migration was sealed;
    /// `status` and `apply` still report it). A listing is most of what reading a folder
    /// costs (five system calls of ten), and the macro reads every folder on every build.
    ///
    /// ```
    /// use migrate_runtime::MigrationSet;
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::create_dir(dir.path().join("20261121093000_create_users")).unwrap();
    /// std::fs::write(dir.path().join("20261121093000_create_users/migration.sql"), "SELECT 1;").unwrap();
    /// std::fs::write(dir.path().join("20261121093000_create_users/notes.txt"), "").unwrap();
    /// assert!(MigrationSet::read(dir.path()).is_err());
    /// let set = MigrationSet::read_for_build(dir.path(), &|_, name| name == "create_users").unwrap();
    /// assert_eq!(set.migrations[0].up.sql, "SELECT 1;");
    /// assert!(MigrationSet::read_for_build(dir.path(), &|_, _| false).is_err());
    /// ```
    pub fn read_for_build(
        dir: &Path,
        sealed: &dyn Fn(Version, &str) -> bool,
    ) -> Result<MigrationSet, ReadErrors> {
        read::read_set(
            dir,
            read::Texts::Keep,
            None,
            read::Listing::SkipSealed(sealed),
        )
    }

    /// Reads and checks a migrations directory as [`MigrationSet::read`] does (the same
    /// errors), but keeps no SQL text: each file is read, checked and hashed, and its text
    /// (and the backfill parsed from it) dropped, so every `sql` is empty. For reports over
    /// many migrations that need only the checksums and directives (`status`); a text that is
    /// shown is read again.
    ///
    /// ```
    /// use migrate_runtime::{Checksum, MigrationSet};
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::create_dir(dir.path().join("20261121093000_create_users")).unwrap();
    /// std::fs::write(dir.path().join("20261121093000_create_users/migration.sql"), "SELECT 1;").unwrap();
    /// let set = MigrationSet::read_checksums(dir.path()).unwrap();
    /// assert_eq!(set.migrations[0].up.checksum, Checksum::of_sql(b"SELECT 1;"));
    /// assert!(set.migrations[0].up.sql.is_empty());
    /// ```
    pub fn read_checksums(dir: &Path) -> Result<MigrationSet, ReadErrors> {
        read::read_set(dir, read::Texts::Drop, None, read::Listing::Every)
    }

    /// [`MigrationSet::read_checksums`] through a stat cache kept in `cache_file`: a migration
    /// whose folder and files have the device, inode, size and modification and change times
    /// they had when the cache last saw them is taken from the cache without being opened; the
    /// others are read and hashed, and the cache is written back (atomically) when anything
    /// changed. The result is the same as without the cache. A cache file that is missing,
    /// corrupt, of another format or of another directory is rebuilt; one that cannot be
    /// written is not an error. For `status` only: whatever runs or seals migrations reads
    /// them.
    ///
    /// ```
    /// use migrate_runtime::MigrationSet;
    /// let dir = tempfile::tempdir().unwrap();
    /// let migrations = dir.path().join("migrations");
    /// std::fs::create_dir_all(migrations.join("20261121093000_create_users")).unwrap();
    /// std::fs::write(migrations.join("20261121093000_create_users/migration.sql"), "SELECT 1;").unwrap();
    /// std::fs::create_dir(dir.path().join("target")).unwrap(); // never created by the cache
    /// let cache = dir.path().join("target/migrate-cache/status");
    /// let set = MigrationSet::read_checksums_cached(&migrations, &cache).unwrap();
    /// assert_eq!(set, MigrationSet::read_checksums(&migrations).unwrap());
    /// assert!(cache.is_file());
    /// ```
    #[cfg(feature = "write")]
    pub fn read_checksums_cached(
        dir: &Path,
        cache_file: &Path,
    ) -> Result<MigrationSet, ReadErrors> {
        let mut cache = stat_cache::StatCache::open(cache_file, dir);
        let set = read::read_set(
            dir,
            read::Texts::Drop,
            Some(&mut cache),
            read::Listing::Every,
        )?;
        // A cache that cannot be written only costs the next run its speed.
        let _ = cache.save();
        Ok(set)
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
