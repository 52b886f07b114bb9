//! Migrations embedded in the binary by `migrate_macros::embed_migrations!` (or by the
//! build-script generator, [`crate::build`]): SQL, checksums and directives are computed at
//! compile time, so nothing is read or hashed at run time. A file is split into statements
//! when the engine first needs them (the parser takes microseconds per file at run time, and
//! doing it in the unoptimized proc-macro dominated the build). The engine that applies them is
//! the same one the CLI uses, so edited or missing applied migrations are detected at run time
//! exactly like `cargo migrate apply` does.

use crate::model::{Directives, Migration, MigrationSet, SqlFile};
use crate::{Checksum, Version};
use std::path::PathBuf;

/// One migration as the macro embeds it.
#[derive(Debug)]
pub struct EmbeddedMigration {
    /// Its version.
    pub version: Version,
    /// Its name.
    pub name: &'static str,
    /// Its folder as written in the source (for messages).
    pub path: &'static str,
    /// `migration.sql`.
    pub up: &'static str,
    /// SHA-256 of `migration.sql` (CRLF normalised).
    pub up_checksum: [u8; 32],
    /// `down.sql`.
    pub down: Option<&'static str>,
    /// SHA-256 of `down.sql`.
    pub down_checksum: Option<[u8; 32]>,
    /// `-- migrate:no-transaction`.
    pub no_transaction: bool,
    /// `-- migrate:irreversible`.
    pub irreversible: bool,
    /// `down.sql` runs outside a transaction.
    pub down_no_transaction: bool,
}

/// [`EmbeddedMigration::new`]'s flag for `-- migrate:no-transaction`.
pub const NO_TRANSACTION: u8 = 1;
/// [`EmbeddedMigration::new`]'s flag for `-- migrate:irreversible`.
pub const IRREVERSIBLE: u8 = 2;
/// [`EmbeddedMigration::new`]'s flag for a `down.sql` that runs outside a transaction.
pub const DOWN_NO_TRANSACTION: u8 = 4;

impl EmbeddedMigration {
    /// An embedded migration from positional arguments: its version (the generated code
    /// passes the migration's constant, so each constant is used and its number written
    /// once), `down.sql` with its checksum, and the directives as [`NO_TRANSACTION`],
    /// [`IRREVERSIBLE`] and [`DOWN_NO_TRANSACTION`] or-ed together. What the macro generates:
    /// one short call per migration is less for the compiler to take in than a struct
    /// literal.
    ///
    /// ```
    /// use migrate_runtime::Version;
    /// use migrate_runtime::embedded::{EmbeddedMigration, IRREVERSIBLE};
    /// const CREATE_USERS: Version = Version::new_const(20261121093000);
    /// const M: EmbeddedMigration = EmbeddedMigration::new(
    ///     CREATE_USERS, "create_users", "migrations/20261121093000_create_users",
    ///     "CREATE TABLE users ();", [0; 32], None, IRREVERSIBLE,
    /// );
    /// assert!(M.irreversible && !M.no_transaction && M.down.is_none());
    /// assert_eq!(M.version.get(), 20261121093000);
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        version: Version,
        name: &'static str,
        path: &'static str,
        up: &'static str,
        up_checksum: [u8; 32],
        down: Option<(&'static str, [u8; 32])>,
        flags: u8,
    ) -> EmbeddedMigration {
        let (down, down_checksum) = match down {
            Some((sql, checksum)) => (Some(sql), Some(checksum)),
            None => (None, None),
        };
        EmbeddedMigration {
            version,
            name,
            path,
            up,
            up_checksum,
            down,
            down_checksum,
            no_transaction: flags & NO_TRANSACTION != 0,
            irreversible: flags & IRREVERSIBLE != 0,
            down_no_transaction: flags & DOWN_NO_TRANSACTION != 0,
        }
    }

    /// The folder name, `<version>_<name>`.
    pub fn folder(&self) -> String {
        crate::model::folder_name(self.version, self.name)
    }

    fn to_model(&self) -> Migration {
        let dir = PathBuf::from(self.path);
        let file = |name: &str, sql: &str, sum: [u8; 32]| {
            SqlFile::precomputed(dir.join(name), sql.to_string(), Checksum(sum), None)
        };
        let up = file("migration.sql", self.up, self.up_checksum);
        Migration {
            version: self.version,
            name: self.name.to_string(),
            dir: dir.clone(),
            directives: Directives {
                no_transaction: self.no_transaction,
                irreversible: self.irreversible,
                transaction: false,
                // Read from the text (checked at compile time), not a field of the generated
                // code.
                backfill: matches!(up.backfill(), Ok(Some(_))),
            },
            up,
            down: self
                .down
                .map(|d| file("down.sql", d, self.down_checksum.unwrap_or_default())),
            down_no_transaction: self.down_no_transaction,
        }
    }
}

/// Every migration of a directory, embedded at compile time. The macro generates one as
/// `pub static MIGRATOR`.
///
/// ```
/// use migrate_runtime::embedded::Migrator;
/// static EMPTY: Migrator = Migrator::new("migrations", &[]);
/// assert_eq!(EMPTY.latest(), None);
/// assert!(EMPTY.migrations().is_empty());
/// ```
#[derive(Debug)]
pub struct Migrator {
    dir: &'static str,
    migrations: &'static [EmbeddedMigration],
}

impl Migrator {
    /// A migrator over embedded migrations (oldest first). Used by generated code.
    pub const fn new(dir: &'static str, migrations: &'static [EmbeddedMigration]) -> Migrator {
        Migrator { dir, migrations }
    }

    /// The embedded migrations, oldest first.
    // Inline: a crate that only lists its migrations then links nothing of this crate; a
    // call into it would pull in the objects around it (the engine and its dependencies),
    // which dominated rebuilding such a crate (mostly their debug info, at link time).
    #[inline]
    pub fn migrations(&self) -> &'static [EmbeddedMigration] {
        self.migrations
    }

    /// The newest embedded version.
    #[inline]
    pub fn latest(&self) -> Option<Version> {
        self.migrations.last().map(|m| m.version)
    }

    /// The migrations as the model the engine works on.
    pub fn set(&self) -> MigrationSet {
        MigrationSet {
            dir: PathBuf::from(self.dir),
            migrations: self
                .migrations
                .iter()
                .map(EmbeddedMigration::to_model)
                .collect(),
        }
    }
}

#[cfg(feature = "postgres")]
pub use with_engine::{MigrationStatus, RequireError, WithBackfills};

#[cfg(feature = "postgres")]
mod with_engine {
    use super::Migrator;
    use crate::Version;
    use crate::engine::status::compute;
    use crate::engine::{ApplyOptions, ApplyReport, Engine, EngineError, RustBackfill, State};
    use postgres::Client;
    use std::fmt;

    /// The state of one embedded migration in a database.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct MigrationStatus {
        /// Its version.
        pub version: Version,
        /// Its name.
        pub name: String,
        /// Its state (`Applied`, `Pending`, `Edited`, `Missing`, `Failed`, `OutOfOrder`).
        pub state: State,
    }

    /// Why [`Migrator::require`] refused.
    #[derive(Debug)]
    pub enum RequireError {
        /// The database is older than this code needs.
        Behind {
            /// The version this code needs.
            needed: Version,
            /// The migrations up to it that are not applied (`<version>_<name>`).
            missing: Vec<String>,
            /// The newest applied version, if any.
            database_at: Option<Version>,
        },
        /// The version is not one of the embedded migrations.
        UnknownVersion(Version),
        /// The history could not be read.
        Engine(EngineError),
    }

    impl fmt::Display for RequireError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RequireError::Behind {
                    needed,
                    missing,
                    database_at,
                } => {
                    let at = database_at.map_or("no migration applied".to_string(), |v| {
                        format!("the database is at {v}")
                    });
                    write!(
                        f,
                        "the database schema is older than this code needs ({needed}); {at}; not applied: {}. \
                         Apply the migrations first (`cargo migrate apply`, or MIGRATOR.apply)",
                        missing.join(", ")
                    )
                }
                RequireError::UnknownVersion(v) => {
                    write!(f, "{v} is not one of the embedded migrations")
                }
                RequireError::Engine(e) => write!(f, "cannot check the database schema: {e}"),
            }
        }
    }

    impl std::error::Error for RequireError {}

    /// The embedded migrations with the code of their Rust backfills (`-- migrate:backfill
    /// ... rust`), made by [`Migrator::with_backfill`].
    ///
    /// ```no_run
    /// # use migrate_runtime::{Version, embedded::Migrator};
    /// use migrate_runtime::engine::{Batch, BatchError, RustBackfill};
    /// # static MIGRATOR: Migrator = Migrator::new("migrations", &[]);
    /// # const FILL_A: Version = Version::new_const(20261121093000);
    /// # const FILL_B: Version = Version::new_const(20261121093100);
    /// struct Noop;
    /// impl RustBackfill for Noop {
    ///     fn up(&self, _: &mut postgres::Transaction<'_>, _: &Batch<'_>) -> Result<u64, BatchError> { Ok(0) }
    /// }
    /// # let mut client = postgres::Client::connect("postgres://postgres@localhost/app", postgres::NoTls)?;
    /// let migrations = MIGRATOR.with_backfill(FILL_A, Noop).with_backfill(FILL_B, Noop);
    /// migrations.apply_to(&mut client, FILL_A)?;
    /// migrations.apply(&mut client)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[derive(Debug)]
    pub struct WithBackfills<'m> {
        migrator: &'m Migrator,
        engine: Engine,
    }

    impl WithBackfills<'_> {
        /// Registers the code of one more Rust backfill.
        pub fn with_backfill(
            mut self,
            version: Version,
            code: impl RustBackfill + 'static,
        ) -> Self {
            self.engine = self.engine.with_backfill(version, code);
            self
        }

        /// Applies every pending migration, the Rust backfills with their code (see
        /// [`Migrator::apply`]).
        pub fn apply(&self, client: &mut Client) -> Result<ApplyReport, EngineError> {
            self.apply_with(client, &Engine::default(), &ApplyOptions::default())
        }

        /// Applies pending migrations up to and including `to`.
        pub fn apply_to(
            &self,
            client: &mut Client,
            to: Version,
        ) -> Result<ApplyReport, EngineError> {
            let options = ApplyOptions {
                to: Some(to),
                ..ApplyOptions::default()
            };
            self.apply_with(client, &Engine::default(), &options)
        }

        /// Applies with explicit engine settings and options; the Rust backfills run the code
        /// registered here (any registered on `engine` itself are not used).
        pub fn apply_with(
            &self,
            client: &mut Client,
            engine: &Engine,
            options: &ApplyOptions,
        ) -> Result<ApplyReport, EngineError> {
            let engine = Engine {
                backfills: self.engine.backfills.clone(),
                ..engine.clone()
            };
            engine.apply(client, &self.migrator.set(), options, &mut |_| {})
        }
    }

    impl Migrator {
        /// The migrations with `code` as the batches of the Rust backfill `version` (its
        /// migration.sql says `-- migrate:backfill table=<table> key=<column> ... rust`). An
        /// apply that reaches a Rust backfill without its code refuses before anything runs.
        ///
        /// ```no_run
        /// # use migrate_runtime::{Version, embedded::Migrator};
        /// use migrate_runtime::engine::{Batch, BatchError, RustBackfill};
        /// # static MIGRATOR: Migrator = Migrator::new("migrations", &[]);
        /// # const FILL_DISPLAY_NAME: Version = Version::new_const(20261121093000);
        /// struct DisplayName;
        /// impl RustBackfill for DisplayName {
        ///     fn up(&self, tx: &mut postgres::Transaction<'_>, b: &Batch<'_>) -> Result<u64, BatchError> {
        ///         Ok(tx.execute("UPDATE users SET display_name = split_part(email, '@', 1) \
        ///                        WHERE id BETWEEN $1 AND $2", &[b.start(), b.end()])?)
        ///     }
        /// }
        /// let mut client = postgres::Client::connect("postgres://postgres@localhost/app", postgres::NoTls)?;
        /// MIGRATOR.with_backfill(FILL_DISPLAY_NAME, DisplayName).apply(&mut client)?;
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        pub fn with_backfill(
            &self,
            version: Version,
            code: impl RustBackfill + 'static,
        ) -> WithBackfills<'_> {
            WithBackfills {
                migrator: self,
                engine: Engine::default().with_backfill(version, code),
            }
        }

        /// Applies every pending migration, exactly like `cargo migrate apply` (advisory lock,
        /// verification of what is applied, `lock_timeout` with retries, resume).
        ///
        /// ```no_run
        /// # use migrate_runtime::embedded::Migrator;
        /// # static MIGRATOR: Migrator = Migrator::new("migrations", &[]);
        /// let mut client = postgres::Client::connect("postgres://postgres@localhost/app", postgres::NoTls)?;
        /// let report = MIGRATOR.apply(&mut client)?;
        /// println!("{} migrations applied", report.applied.len());
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        pub fn apply(&self, client: &mut Client) -> Result<ApplyReport, EngineError> {
            self.without_backfills().apply(client)
        }

        /// Applies pending migrations up to and including `to`.
        ///
        /// ```no_run
        /// # use migrate_runtime::{Version, embedded::Migrator};
        /// # static MIGRATOR: Migrator = Migrator::new("migrations", &[]);
        /// # const CREATE_USERS: Version = Version::new_const(20261121093000);
        /// # let mut client = postgres::Client::connect("postgres://postgres@localhost/app", postgres::NoTls)?;
        /// MIGRATOR.apply_to(&mut client, CREATE_USERS)?;
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        pub fn apply_to(
            &self,
            client: &mut Client,
            to: Version,
        ) -> Result<ApplyReport, EngineError> {
            self.without_backfills().apply_to(client, to)
        }

        /// The migrations with no Rust backfill code registered.
        fn without_backfills(&self) -> WithBackfills<'_> {
            WithBackfills {
                migrator: self,
                engine: Engine::default(),
            }
        }

        /// Applies with explicit engine settings and options.
        ///
        /// ```no_run
        /// # use migrate_runtime::embedded::Migrator;
        /// use migrate_runtime::engine::{ApplyOptions, Engine, EngineConfig};
        /// # static MIGRATOR: Migrator = Migrator::new("migrations", &[]);
        /// # let mut client = postgres::Client::connect("postgres://postgres@localhost/app", postgres::NoTls)?;
        /// let engine = Engine::new(EngineConfig { lock_retries: Some(5), ..EngineConfig::default() });
        /// MIGRATOR.apply_with(&mut client, &engine, &ApplyOptions::default())?;
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        pub fn apply_with(
            &self,
            client: &mut Client,
            engine: &Engine,
            options: &ApplyOptions,
        ) -> Result<ApplyReport, EngineError> {
            engine.apply(client, &self.set(), options, &mut |_| {})
        }

        /// The state of every embedded migration (and of applied ones the binary does not
        /// know). Takes no lock and creates nothing.
        ///
        /// ```no_run
        /// # use migrate_runtime::embedded::Migrator;
        /// use migrate_runtime::engine::State;
        /// # static MIGRATOR: Migrator = Migrator::new("migrations", &[]);
        /// # let mut client = postgres::Client::connect("postgres://postgres@localhost/app", postgres::NoTls)?;
        /// let pending = MIGRATOR.status(&mut client)?.iter().filter(|m| m.state == State::Pending).count();
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        pub fn status(&self, client: &mut Client) -> Result<Vec<MigrationStatus>, EngineError> {
            let rows = Engine::default().history(client)?;
            let set = self.set();
            Ok(compute(&set, &rows)
                .into_iter()
                .map(|e| MigrationStatus {
                    version: e.version,
                    name: e.name,
                    state: e.state,
                })
                .collect())
        }

        /// The startup guard of expand/contract: refuses to run against a database older than
        /// the schema this code needs (`needed` and every embedded migration before it must be
        /// applied).
        ///
        /// ```no_run
        /// # use migrate_runtime::{Version, embedded::Migrator};
        /// # static MIGRATOR: Migrator = Migrator::new("migrations", &[]);
        /// # const ADD_PHONE: Version = Version::new_const(20261121093000);
        /// # let mut client = postgres::Client::connect("postgres://postgres@localhost/app", postgres::NoTls)?;
        /// MIGRATOR.require(&mut client, ADD_PHONE)?; // before serving traffic
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        pub fn require(&self, client: &mut Client, needed: Version) -> Result<(), RequireError> {
            if !self.migrations.iter().any(|m| m.version == needed) {
                return Err(RequireError::UnknownVersion(needed));
            }
            let rows = Engine::default()
                .history(client)
                .map_err(RequireError::Engine)?;
            let set = self.set();
            let entries = compute(&set, &rows);
            let database_at = entries
                .iter()
                .filter(|e| matches!(e.state, State::Applied | State::Edited | State::Missing))
                .map(|e| e.version)
                .max();
            let missing: Vec<String> = entries
                .iter()
                .filter(|e| e.version <= needed && e.migration.is_some())
                .filter(|e| !matches!(e.state, State::Applied | State::Edited))
                .map(|e| crate::model::folder_name(e.version, &e.name))
                .collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(RequireError::Behind {
                    needed,
                    missing,
                    database_at,
                })
            }
        }
    }
}
