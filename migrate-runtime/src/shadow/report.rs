//! What `verify` found for each migration: a [`Verdict`], with the PostgreSQL error (and where
//! in the file) or the schema difference that decided it. Pure: no database here.

use crate::Version;
use crate::engine::Failure;
use crate::schema::SchemaDiff;
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// How one migration fared on the shadow database.
///
/// ```
/// use migrate_runtime::shadow::Verdict;
/// assert!(Verdict::ColumnOrder.passes());
/// assert!(!Verdict::NotRestored.passes());
/// assert_eq!(Verdict::DownFailed.to_string(), "down_failed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// `down.sql` restored the schema exactly, and `migration.sql` applied again to the same
    /// schema.
    Ok,
    /// As `ok`, but a table's columns came back in another order (a column dropped and added
    /// again lands last): only `SELECT *` and `INSERT` without a column list notice.
    ColumnOrder,
    /// Marked `-- migrate:irreversible`: applied, not reverted.
    Irreversible,
    /// No `down.sql` and not marked irreversible.
    NoDown,
    /// `down.sql` failed.
    DownFailed,
    /// `down.sql` ran, but the schema it left differs from the one before the migration.
    NotRestored,
    /// After `down.sql`, `migration.sql` failed, or built another schema than the first time.
    ReapplyFailed,
    /// `migration.sql` itself failed on the shadow database; nothing after it could be checked.
    UpFailed,
    /// Not checked: an earlier migration failed to apply.
    NotRun,
}

impl Verdict {
    /// Every verdict, in the order summaries list them.
    pub const ALL: [Verdict; 9] = [
        Verdict::Ok,
        Verdict::ColumnOrder,
        Verdict::Irreversible,
        Verdict::NoDown,
        Verdict::DownFailed,
        Verdict::NotRestored,
        Verdict::ReapplyFailed,
        Verdict::UpFailed,
        Verdict::NotRun,
    ];

    /// The migration can ship: `ok`, `column_order` (a warning) or `irreversible` (by choice).
    pub fn passes(self) -> bool {
        matches!(
            self,
            Verdict::Ok | Verdict::ColumnOrder | Verdict::Irreversible
        )
    }

    /// The name used in text and JSON, e.g. `not_restored`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::ColumnOrder => "column_order",
            Verdict::Irreversible => "irreversible",
            Verdict::NoDown => "no_down",
            Verdict::DownFailed => "down_failed",
            Verdict::NotRestored => "not_restored",
            Verdict::ReapplyFailed => "reapply_failed",
            Verdict::UpFailed => "up_failed",
            Verdict::NotRun => "not_run",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One migration's verdict and what decided it.
///
/// ```
/// use migrate_runtime::shadow::{Checked, Verdict};
/// let c = Checked::new("20261121090000".parse().unwrap(), "create_users", Verdict::Ok);
/// assert_eq!(c.folder(), "20261121090000_create_users");
/// assert!(c.verdict.passes() && c.diff.is_none());
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    /// The migration.
    pub version: Version,
    /// Its name.
    pub name: String,
    /// The verdict.
    pub verdict: Verdict,
    /// One line saying why, for anything but `ok`.
    pub detail: Option<String>,
    /// The schema difference (`not_restored`: before the migration → after `down.sql`;
    /// `reapply_failed`: after the migration → after applying it again; `column_order`).
    pub diff: Option<SchemaDiff>,
    /// The file that failed, and where.
    pub file: Option<PathBuf>,
    /// 1-based line.
    pub line: Option<usize>,
    /// 1-based column.
    pub column: Option<usize>,
    /// PostgreSQL's error, when a file failed.
    pub error: Option<Box<Failure>>,
    /// How long checking it took.
    pub duration_ms: f64,
}

impl Checked {
    /// A verdict with nothing attached yet.
    pub fn new(version: Version, name: &str, verdict: Verdict) -> Checked {
        Checked {
            version,
            name: name.to_string(),
            verdict,
            detail: None,
            diff: None,
            file: None,
            line: None,
            column: None,
            error: None,
            duration_ms: 0.0,
        }
    }

    /// A verdict decided by a file that failed; the detail names the file and its error.
    pub fn failed(verdict: Verdict, failure: Failure) -> Checked {
        let what = match verdict {
            Verdict::DownFailed => "down.sql failed",
            Verdict::ReapplyFailed => "migration.sql failed when applied again after down.sql",
            _ => "migration.sql failed",
        };
        let mut c = Checked::new(failure.version, &failure.name, verdict);
        c.detail = Some(format!("{what}: {}", failure.message));
        c.file = Some(failure.file.clone());
        c.line = failure.line;
        c.column = failure.column;
        c.error = Some(Box::new(failure));
        c
    }

    /// A verdict decided by a schema difference.
    pub fn differs(
        version: Version,
        name: &str,
        verdict: Verdict,
        diff: SchemaDiff,
        detail: String,
    ) -> Checked {
        let mut c = Checked::new(version, name, verdict);
        c.detail = Some(detail);
        c.diff = Some(diff);
        c
    }

    /// The folder name, `<version>_<name>`.
    pub fn folder(&self) -> String {
        crate::model::folder_name(self.version, &self.name)
    }
}

/// Progress of a verification, for a progress display or JSON events.
#[derive(Debug)]
#[non_exhaustive]
pub enum VerifyEvent<'a> {
    /// The shadow database is ready.
    Shadow {
        /// `user@host:port/db` of the shadow database.
        label: &'a str,
        /// How many migrations will be applied to it (checked or not).
        total: usize,
        /// How many of them are checked.
        checking: usize,
    },
    /// A migration starts: applied only (`checking` false: it comes before the ones to
    /// check), or checked.
    Starting {
        /// Its version.
        version: Version,
        /// Its name.
        name: &'a str,
        /// 0-based position among the `total`.
        index: usize,
        /// Checked (else only applied).
        checking: bool,
    },
    /// A migration was checked.
    Checked(&'a Checked),
    /// A down or a re-application outside a transaction left the shadow database in another
    /// state: it is built again from the first migration.
    Rebuilding {
        /// Up to this migration.
        through: Version,
    },
}

/// What [`drift`](super::drift()) is doing.
#[derive(Debug)]
#[non_exhaustive]
pub enum DriftEvent<'a> {
    /// The shadow database is ready; the history's migrations are replayed on it.
    Replaying {
        /// `user@host:port/db` of the shadow database.
        label: &'a str,
        /// How many migrations are replayed.
        total: usize,
    },
    /// A migration is replayed.
    Replayed {
        /// Its version.
        version: Version,
        /// Its name.
        name: &'a str,
        /// 0-based position among the `total`.
        index: usize,
    },
    /// Both schemas are being read and compared.
    Comparing,
}
