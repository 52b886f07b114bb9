//! Reading a snapshot: one transaction, settings that make PostgreSQL print names and constants
//! identically every time, then one catalog reader per kind of object.

use super::builder::Builder;
use super::catalog::{self, Scope};
use super::error::{Reading, SnapshotError};
use super::object::Snapshot;
use super::options::SnapshotOptions;
use postgres::GenericClient;

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
