//! Why a snapshot could not be taken, and attaching what was being read to a database error.

use crate::engine::connection::error_text;
use std::fmt;

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
    /// A value of a catalog query read as text is not what its column holds (a defect of
    /// cargo-migrate).
    Unreadable {
        /// What was being read.
        reading: &'static str,
        /// The column (0-based).
        column: usize,
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
            SnapshotError::Unreadable { reading, column } => write!(
                f,
                "cannot read the schema ({reading}): column {} of a row is not of its type",
                column + 1
            ),
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
            SnapshotError::Unreadable { .. } | SnapshotError::UnsupportedServer { .. } => None,
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

impl<T> Reading<T> for Result<T, super::queries::CellError> {
    fn reading(self, what: &'static str) -> Result<T, SnapshotError> {
        self.map_err(|e| match e {
            super::queries::CellError::Driver(source) => SnapshotError::Catalog {
                reading: what,
                source,
            },
            super::queries::CellError::Text { column } => SnapshotError::Unreadable {
                reading: what,
                column,
            },
        })
    }
}
