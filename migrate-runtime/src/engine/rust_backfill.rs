//! Backfills in Rust: the batch body of a backfill migration whose directive says `rust`
//! (`-- migrate:backfill table=users key=id batch=1000 rust`), registered on the engine by
//! version. The walk, the per-batch transaction with its timeouts and checkpoint, resume,
//! throttling, Ctrl-C and the progress events are the SQL backfill's own (`backfill`): only
//! what runs inside a batch differs.

use super::backfill::Key;
use super::error::{Direction, Refusal};
use super::refusal;
use crate::Version;
use crate::model::{MigrationSet, SqlFile};
use postgres::Transaction;
use postgres::types::ToSql;
use std::collections::BTreeMap;
use std::error::Error;
use std::sync::Arc;

/// The error a batch body returns: anything; a `postgres::Error` inside it is recognised (a
/// lock timeout is retried, a lost connection is told apart from a failure).
pub type BatchError = Box<dyn Error + Send + Sync>;

/// One batch of a backfill: the first and last key of the next `batch` keys of the walk, bound
/// as the key column's type (`bigint`, `uuid`, `text`, ...) wherever they are used.
///
/// ```no_run
/// use migrate_runtime::engine::{Batch, BatchError, RustBackfill};
/// struct Touch;
/// impl RustBackfill for Touch {
///     fn up(&self, tx: &mut postgres::Transaction<'_>, batch: &Batch<'_>) -> Result<u64, BatchError> {
///         Ok(tx.execute("UPDATE t SET n = n + 1 WHERE id BETWEEN $1 AND $2", &[batch.start(), batch.end()])?)
///     }
/// }
/// ```
#[derive(Debug)]
pub struct Batch<'a> {
    pub(crate) start: Key<'a>,
    pub(crate) end: Key<'a>,
    pub(crate) keys: u64,
    pub(crate) number: u64,
}

impl Batch<'_> {
    /// The batch's first key, as a query parameter of the key column's type.
    pub fn start(&self) -> &(dyn ToSql + Sync) {
        &self.start
    }

    /// The batch's last key, as a query parameter of the key column's type.
    pub fn end(&self) -> &(dyn ToSql + Sync) {
        &self.end
    }

    /// The first key as PostgreSQL prints it (`key::text`).
    pub fn start_text(&self) -> &str {
        self.start.0
    }

    /// The last key as PostgreSQL prints it (`key::text`).
    pub fn end_text(&self) -> &str {
        self.end.0
    }

    /// How many keys the batch holds (at most the directive's `batch`).
    pub fn keys(&self) -> u64 {
        self.keys
    }

    /// Its 1-based number, counted over every run (a resumed backfill goes on counting).
    pub fn number(&self) -> u64 {
        self.number
    }
}

/// The code of a Rust backfill: what one batch does, in the batch's own transaction (which
/// also records the checkpoint; the engine commits it). Return the rows changed. An error rolls
/// the batch back and stops the backfill there; the next run resumes at that batch, so no
/// batch is applied twice.
///
/// ```no_run
/// use migrate_runtime::engine::{Batch, BatchError, RustBackfill};
/// /// Derives `display_name` from the email's local part.
/// struct DisplayName;
/// impl RustBackfill for DisplayName {
///     fn up(&self, tx: &mut postgres::Transaction<'_>, batch: &Batch<'_>) -> Result<u64, BatchError> {
///         let mut rows = 0;
///         for row in tx.query("SELECT id, email FROM users WHERE id BETWEEN $1 AND $2 AND display_name IS NULL",
///                             &[batch.start(), batch.end()])? {
///             let (id, email): (i64, String) = (row.get(0), row.get(1));
///             let name = email.split('@').next().unwrap_or_default();
///             rows += tx.execute("UPDATE users SET display_name = $1 WHERE id = $2", &[&name, &id])?;
///         }
///         Ok(rows)
///     }
/// }
/// ```
pub trait RustBackfill: Send + Sync {
    /// Runs one batch of the migration (`migration.sql`).
    fn up(&self, tx: &mut Transaction<'_>, batch: &Batch<'_>) -> Result<u64, BatchError>;

    /// Runs one batch of its revert (a `down.sql` that is a Rust backfill too). Without it,
    /// reverting fails at the first batch, which changes nothing.
    fn down(&self, tx: &mut Transaction<'_>, batch: &Batch<'_>) -> Result<u64, BatchError> {
        let _ = (tx, batch);
        Err(format!(
            "{} has no `down`: implement RustBackfill::down",
            self.name()
        )
        .into())
    }

    /// Its name, for messages (the type's name unless overridden).
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
    }
}

/// The Rust backfills of a run, by the version of their migration.
///
/// ```
/// use migrate_runtime::Version;
/// use migrate_runtime::engine::{Batch, BatchError, RustBackfill, RustBackfills};
/// struct Noop;
/// impl RustBackfill for Noop {
///     fn up(&self, _: &mut postgres::Transaction<'_>, _: &Batch<'_>) -> Result<u64, BatchError> { Ok(0) }
/// }
/// let v = Version::new_const(20261121093000);
/// let backfills = RustBackfills::default().with(v, Noop);
/// assert!(backfills.get(v).is_some());
/// assert_eq!(backfills.versions().collect::<Vec<_>>(), [v]);
/// ```
#[derive(Clone, Default)]
pub struct RustBackfills(BTreeMap<Version, Arc<dyn RustBackfill>>);

impl RustBackfills {
    /// The same registry with `code` as the batch body of migration `version` (replacing any
    /// code registered for it before).
    pub fn with(mut self, version: Version, code: impl RustBackfill + 'static) -> RustBackfills {
        self.0.insert(version, Arc::new(code));
        self
    }

    /// The code registered for `version`.
    pub fn get(&self, version: Version) -> Option<&Arc<dyn RustBackfill>> {
        self.0.get(&version)
    }

    /// The registered versions, oldest first.
    pub fn versions(&self) -> impl Iterator<Item = Version> + '_ {
        self.0.keys().copied()
    }
}

impl std::fmt::Debug for RustBackfills {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(v, b)| (v, b.name())))
            .finish()
    }
}

/// Refusals, before anything runs: a Rust backfill of the run (`files`: version, name and the
/// file about to run) without registered code, and registered code whose version is not a Rust
/// backfill of `set` (a wrong constant would otherwise be silently ignored).
pub(crate) fn check_registered<'f>(
    registered: &RustBackfills,
    set: &MigrationSet,
    direction: Direction,
    files: impl Iterator<Item = (Version, &'f str, &'f SqlFile)>,
) -> Vec<Refusal> {
    let rust = |f: &SqlFile| f.is_rust_backfill();
    let mut refusals: Vec<Refusal> = files
        .filter(|(v, _, f)| f.is_rust_backfill() && registered.get(*v).is_none())
        .map(|(v, name, f)| refusal::unregistered_backfill(set, v, name, f, direction))
        .collect();
    for v in registered.versions() {
        let m = set.get(v);
        if !m.is_some_and(|m| rust(&m.up) || m.down.as_ref().is_some_and(rust)) {
            refusals.push(refusal::not_a_rust_backfill(v, m));
        }
    }
    refusals
}
