//! Drift: the schema a database's history says it has, rebuilt on a shadow database by
//! replaying the migrations as they were recorded, compared with the schema it really has.
//! The live database is only read (a read-only transaction).

use super::database::ShadowDb;
use super::files::run_sql_committed;
use super::rehearse::VerifyError;
use super::report::DriftEvent;
use crate::engine::Direction;
use crate::schema::{SchemaDiff, Snapshot, SnapshotOptions, diff};
use crate::{SqlFile, Version};
use postgres::{Client, IsolationLevel};

/// One migration a history says is applied, with the SQL to replay: the file on disk when it
/// is the one that ran, else the text the history recorded.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Its version.
    pub version: Version,
    /// Its name.
    pub name: String,
    /// What to run.
    pub sql: SqlFile,
    /// It ran outside a transaction.
    pub no_transaction: bool,
}

/// What to compare.
#[derive(Debug, Clone)]
pub struct DriftRequest<'a> {
    /// The applied migrations, in the order they were applied.
    pub migrations: &'a [Recorded],
    /// What the snapshots capture (the history table left out).
    pub snapshot: SnapshotOptions,
}

/// Replays `request.migrations` on the empty `shadow` database, then compares its schema
/// (expected) with `live`'s (actual): an object `added` exists only in the live database
/// (made outside migrations), `removed` only in the replay (dropped outside migrations),
/// `changed` in both with other definitions. Empty: no drift.
///
/// A migration that fails to replay is [`VerifyError::Replay`]: the history cannot rebuild
/// the schema, so no comparison is made.
///
/// ```no_run
/// use migrate_runtime::engine::connection::ConnInfo;
/// use migrate_runtime::shadow::{DriftRequest, ShadowDb, drift};
/// let server = ConnInfo::parse("postgres://postgres@localhost/app")?;
/// let mut live = server.connect(None)?;
/// let mut shadow = ShadowDb::create(&server, None)?;
/// let request = DriftRequest { migrations: &[], snapshot: Default::default() };
/// let found = drift(&mut shadow, &mut live, &request, &mut |_| {})?;
/// println!("{found}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn drift(
    shadow: &mut ShadowDb,
    live: &mut Client,
    request: &DriftRequest<'_>,
    events: &mut dyn FnMut(DriftEvent<'_>),
) -> Result<SchemaDiff, VerifyError> {
    events(DriftEvent::Replaying {
        label: &shadow.label(),
        total: request.migrations.len(),
    });
    for (index, m) in request.migrations.iter().enumerate() {
        events(DriftEvent::Replayed {
            version: m.version,
            name: &m.name,
            index,
        });
        run_sql_committed(
            shadow.client(),
            (m.version, &m.name),
            &m.sql,
            Direction::Up,
            m.no_transaction,
        )
        .map_err(|failure| VerifyError::Replay { failure })?;
    }
    events(DriftEvent::Comparing);
    let expected = Snapshot::capture(shadow.client(), &request.snapshot)?;
    let label = shadow.label();
    let mut tx = live
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(|e| VerifyError::Session {
            label: label.clone(),
            message: format!("starting a read-only transaction on the database: {e}"),
        })?;
    let actual = Snapshot::capture(&mut tx, &request.snapshot)?;
    drop(tx);
    Ok(diff(&expected, &actual))
}
