//! Errors found while reading a migrations directory. Each names the path, and the line where
//! there is one, and most say what to do.

use crate::Version;
use std::fmt;
use std::path::PathBuf;

/// What is wrong with one file or folder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The migrations directory does not exist.
    #[error("no migrations directory here")]
    MissingDirectory,
    /// A folder whose name is not `<14 digits>_<name>`.
    #[error("folder name `{name}` does not match `<14-digit UTC timestamp>_<snake_case_name>`")]
    MalformedName {
        /// The folder name as found (lossy if it was not UTF-8).
        name: String,
    },
    /// Two folders with the same version.
    #[error("duplicate version {version}: `{other}` has it too")]
    DuplicateVersion {
        /// The shared version.
        version: Version,
        /// The other folder's name.
        other: String,
    },
    /// A file that is not UTF-8.
    #[error("not valid UTF-8 (first bad byte at column {column})")]
    NotUtf8 {
        /// 1-based byte column of the first invalid byte on its line.
        column: usize,
    },
    /// `migration.sql` holds nothing but white space.
    #[error("migration.sql is empty")]
    EmptyMigration,
    /// A migration folder without `migration.sql`.
    #[error("missing migration.sql")]
    MissingMigrationSql,
    /// A file at the top of the migrations directory that is not ours.
    #[error("stray file in the migrations directory")]
    StrayFile,
    /// A file in a migration folder other than `migration.sql` and `down.sql`.
    #[error("stray file in a migration folder")]
    StrayFileInMigration,
    /// A `-- migrate:` comment we do not know.
    #[error("unknown directive `{directive}`")]
    UnknownDirective {
        /// The directive as written, e.g. `-- migrate:notransaction`.
        directive: String,
    },
    /// A known directive below the first SQL statement.
    #[error("directive `{directive}` comes after the first SQL statement")]
    DirectiveNotInHeader {
        /// The directive as written.
        directive: String,
    },
    /// A directive that does not belong in this file.
    #[error("directive `{directive}` does not belong in {file}")]
    DirectiveNotForFile {
        /// The directive as written.
        directive: String,
        /// `migration.sql` or `down.sql`.
        file: &'static str,
    },
    /// `-- migrate:transaction` and `-- migrate:no-transaction` in one file.
    #[error("both `-- migrate:transaction` and `-- migrate:no-transaction`")]
    ConflictingDirectives,
    /// `-- migrate:irreversible` and a `down.sql` both present.
    #[error("migration.sql says `-- migrate:irreversible` but down.sql exists")]
    IrreversibleWithDown,
    /// A backfill migration that is not right.
    #[error("{0}")]
    Backfill(super::BackfillProblem),
    /// The file system refused.
    #[error("{message}")]
    Io {
        /// The operating system's message.
        message: String,
    },
}

impl Problem {
    /// What to do about it, when there is something to say.
    ///
    /// ```
    /// use migrate_runtime::model::Problem;
    /// assert!(Problem::EmptyMigration.help().unwrap().contains("write the SQL"));
    /// ```
    pub fn help(&self) -> Option<String> {
        Some(match self {
            Problem::MissingDirectory => {
                "create the first migration with `cargo migrate new <name>`, or point --dir (or \
                 `[package.metadata.migrate] dir`) at your migrations"
                    .into()
            }
            Problem::MalformedName { .. } => {
                "name migration folders like `20261121093000_create_users`; \
                 `cargo migrate new <name>` creates them"
                    .into()
            }
            Problem::DuplicateVersion { .. } => {
                "every migration needs its own timestamp: give the one that was never applied \
                 anywhere a newer one (`cargo migrate new` picks one); never rename a migration \
                 that was applied, it would run again"
                    .into()
            }
            Problem::NotUtf8 { .. } => "save the file as UTF-8".into(),
            Problem::EmptyMigration => {
                "write the SQL of the migration, or delete the folder if it is not needed".into()
            }
            Problem::MissingMigrationSql => {
                "each migration folder holds `migration.sql` (and optionally `down.sql`)".into()
            }
            Problem::StrayFile => {
                "the migrations directory holds only migration folders and migrations.lock; move \
                 this file elsewhere (files starting with `.` are ignored)"
                    .into()
            }
            Problem::StrayFileInMigration => {
                "a migration folder holds only `migration.sql` and `down.sql`; a rollback script \
                 belongs in `down.sql`"
                    .into()
            }
            Problem::UnknownDirective { .. } => format!(
                "known directives: {}",
                super::KNOWN_DIRECTIVES
                    .iter()
                    .map(|d| match *d {
                        "transaction" => format!("`-- migrate:{d}` (in down.sql)"),
                        d if d.starts_with("backfill") => {
                            format!("`-- migrate:{d}` (see `cargo migrate new --backfill`)")
                        }
                        _ => format!("`-- migrate:{d}`"),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Problem::DirectiveNotForFile { file, .. } if *file == "down.sql" => {
                "down.sql takes `-- migrate:no-transaction` or `-- migrate:transaction` (it runs \
                 the way migration.sql does unless it says otherwise); `-- migrate:irreversible` \
                 belongs in migration.sql, with no down.sql"
                    .into()
            }
            Problem::DirectiveNotForFile { .. } => {
                "migration.sql runs in a transaction unless it says `-- migrate:no-transaction`; \
                 `-- migrate:transaction` is for a down.sql that must run in one although its \
                 migration does not"
                    .into()
            }
            Problem::ConflictingDirectives => "keep the one you mean".into(),
            Problem::DirectiveNotInHeader { .. } => {
                "move it to the top of migration.sql, before the first statement".into()
            }
            Problem::IrreversibleWithDown => {
                "delete down.sql, or remove `-- migrate:irreversible` if the migration can be \
                 reverted"
                    .into()
            }
            Problem::Backfill(p) => p.help(),
            Problem::Io { .. } => return None,
        })
    }
}

/// One problem, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// The file or folder.
    pub path: PathBuf,
    /// The 1-based line, where there is one.
    pub line: Option<usize>,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.problem)
    }
}

impl std::error::Error for ReadError {}

/// Every problem found while reading a directory (reading goes on past the first).
///
/// ```
/// use migrate_runtime::MigrationSet;
/// let err = MigrationSet::read("/no/such/dir".as_ref()).unwrap_err();
/// assert_eq!(err.to_string(), "/no/such/dir: no migrations directory here");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadErrors(pub Vec<ReadError>);

impl fmt::Display for ReadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ReadErrors {}
