//! What a snapshot captures.

use crate::engine::HistoryTable;

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
