//! Reading a snapshot: one transaction, settings that make PostgreSQL print names and constants
//! identically every time, then one catalog reader per kind of object.

use super::builder::Builder;
use super::catalog::{self, Scope};
use super::object::Snapshot;
use crate::engine::HistoryTable;
use crate::engine::connection::error_text;
use postgres::GenericClient;
use std::fmt;

/// What to capture.
///
/// ```
/// use migrate_runtime::schema::SnapshotOptions;
/// let options = SnapshotOptions { schemas: Some(vec!["app".into()]), ..SnapshotOptions::default() };
/// assert_eq!(options.exclude_table.unwrap().to_string(), "public._migrate_history");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotOptions {
    /// A table left out with everything that hangs on it (its indexes, constraints, identity
    /// and owned sequences, triggers, policies, comments, grants): the migration history.
    /// Default: `public._migrate_history`.
    pub exclude_table: Option<HistoryTable>,
    /// Only these schemas (default: every schema but `pg_catalog`, `information_schema`,
    /// `pg_toast*` and `pg_temp*`, which are always left out). Extensions are listed with the
    /// schema they are installed in.
    pub schemas: Option<Vec<String>>,
}

impl Default for SnapshotOptions {
    fn default() -> Self {
        SnapshotOptions {
            exclude_table: Some(HistoryTable::default()),
            schemas: None,
        }
    }
}

/// Why a snapshot could not be taken.
///
/// ```
/// use migrate_runtime::schema::SnapshotError;
/// let e = SnapshotError::UnsupportedServer { version: 130012 };
/// assert_eq!(e.to_string(), "schema snapshots need PostgreSQL 14 or newer; this server is 13.12");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum SnapshotError {
    /// A catalog query failed.
    Catalog {
        /// What was being read.
        reading: &'static str,
        /// The error.
        source: postgres::Error,
    },
    /// The server is older than PostgreSQL 14.
    UnsupportedServer {
        /// Its `server_version_num`.
        version: i32,
    },
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::Catalog { reading, source } => {
                write!(
                    f,
                    "cannot read the schema ({reading}): {}",
                    error_text(source)
                )
            }
            SnapshotError::UnsupportedServer { version } => write!(
                f,
                "schema snapshots need PostgreSQL 14 or newer; this server is {}.{}",
                version / 10000,
                version % 10000
            ),
        }
    }
}

impl std::error::Error for SnapshotError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SnapshotError::Catalog { source, .. } => Some(source),
            SnapshotError::UnsupportedServer { .. } => None,
        }
    }
}

/// Attaches what was being read to a database error.
pub(super) trait Reading<T> {
    /// The error as a [`SnapshotError::Catalog`].
    fn reading(self, what: &'static str) -> Result<T, SnapshotError>;
}

impl<T> Reading<T> for Result<T, postgres::Error> {
    fn reading(self, what: &'static str) -> Result<T, SnapshotError> {
        self.map_err(|source| SnapshotError::Catalog {
            reading: what,
            source,
        })
    }
}

/// Output settings for the capture's transaction. The `pg_get_*` functions qualify a name
/// unless its schema is on the `search_path`, and print constants (defaults, partition
/// bounds) in the session's date style and time zone: fixing them makes the text independent
/// of the connection.
const SETTINGS: &str = "SET LOCAL search_path = '';
SET LOCAL DateStyle = 'ISO, YMD';
SET LOCAL IntervalStyle = 'postgres';
SET LOCAL TimeZone = 'UTC';
SET LOCAL extra_float_digits = 1;
SET LOCAL bytea_output = 'hex';
SET LOCAL quote_all_identifiers = off;
SET LOCAL standard_conforming_strings = on;";

/// PostgreSQL 14: multiranges, `attcompression`, `prosqlbody`.
const OLDEST: i32 = 140000;

impl Snapshot {
    /// Reads the schema of the connected database.
    ///
    /// Runs in a transaction of its own (a savepoint when `client` is already a transaction),
    /// rolled back at the end: nothing is changed. About twenty queries, whatever the number
    /// of objects.
    ///
    /// ```no_run
    /// use migrate_runtime::schema::{Snapshot, SnapshotOptions};
    /// let mut client = postgres::Client::connect("postgres://postgres@localhost/app", postgres::NoTls)?;
    /// let snapshot = Snapshot::capture(&mut client, &SnapshotOptions::default())?;
    /// print!("{}", snapshot.to_text());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn capture(
        client: &mut impl GenericClient,
        options: &SnapshotOptions,
    ) -> Result<Snapshot, SnapshotError> {
        let mut tx = client.transaction().reading("starting a transaction")?;
        tx.batch_execute(SETTINGS)
            .reading("setting the output settings")?;
        let version: i32 = tx
            .query_one("SELECT current_setting('server_version_num')::int", &[])
            .and_then(|row| row.try_get(0))
            .reading("the server version")?;
        if version < OLDEST {
            return Err(SnapshotError::UnsupportedServer { version });
        }
        let mut out = Builder::default();
        let scope = Scope::read(&mut tx, options, version, &mut out)?;
        catalog::read_all(&mut tx, &scope, &mut out)?;
        tx.rollback().reading("ending the transaction")?;
        Ok(out.finish())
    }
}
