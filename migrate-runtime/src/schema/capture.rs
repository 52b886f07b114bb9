//! Reading a snapshot: one transaction, settings that make PostgreSQL print names and constants
//! identically every time, then one catalog reader per kind of object.

use super::builder::{Builder, Roots};
use super::catalog::{self, Only, Scope};
use super::change_log::RECORDING;
use super::error::{Reading, SnapshotError};
use super::object::Snapshot;
use super::options::SnapshotOptions;
use super::queries::{Queries, StatementCache};
use postgres::GenericClient;

/// Output settings for the capture's transaction. The `pg_get_*` functions qualify a name
/// unless its schema is on the `search_path`, and print constants (defaults, partition
/// bounds) in the session's date style and time zone: fixing them makes the text independent
/// of the connection. JIT compilation is off: the catalog queries are small, but the
/// planner's estimates for the recursive one are not, and compiling costs seconds.
const SETTINGS: &str = "SET LOCAL search_path = '';
SET LOCAL DateStyle = 'ISO, YMD';
SET LOCAL IntervalStyle = 'postgres';
SET LOCAL TimeZone = 'UTC';
SET LOCAL extra_float_digits = 1;
SET LOCAL bytea_output = 'hex';
SET LOCAL quote_all_identifiers = off;
SET LOCAL standard_conforming_strings = on;
SET LOCAL jit = off;
SET LOCAL plan_cache_mode = force_generic_plan;";

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
        let (mut tx, _) = begin(client, Reads::Everything)?;
        let mut cache = StatementCache::default();
        let (snapshot, _, _) = read(&mut tx, &mut cache, options, None)?;
        tx.rollback().reading("ending the transaction")?;
        Ok(snapshot)
    }
}

/// The settings of a refresh, which reads a few objects by OID, as `(name, value)`:
/// - `work_mem`: little memory per sort and hash table. The planner's estimates for the change
///   query's recursive parts run to millions of rows, and each execution would allocate hash
///   tables that large (up to `work_mem`, 4 MB by default), which costs more than the query
///   itself.
/// - No sequential scans, hash joins or merge joins: each object is looked up by index, from
///   the few OIDs asked for. The plans are generic ([`SETTINGS`]), made at a statement's first
///   run in the session, often on a nearly empty database, and kept until something makes
///   PostgreSQL plan again (an `ANALYZE` of a catalog, a reset of the session's caches). Left
///   free, the planner picks a scan of a whole catalog, cheap at that size, and every later
///   refresh ran it however large the catalogs had grown: replaying 1,500 migrations, such
///   plans read every constraint, index and trigger at each refresh, and verify slowed down
///   migration by migration, to 5x the time of an apply. (Each reader's list filter is also on
///   the catalog it reads, such as `conrelid` rather than the joined `pg_class.oid`, so an
///   index lookup is there to choose.)
///
/// A full read inside a refresh goes back to the server's defaults for them ([`read_in_full`]).
const NARROW: [(&str, &str); 4] = [
    ("work_mem", "'64kB'"),
    ("enable_seqscan", "off"),
    ("enable_hashjoin", "off"),
    ("enable_mergejoin", "off"),
];

/// One command per setting of [`NARROW`], written by `command` from its name and value.
fn each_narrow(command: fn(&str, &str) -> String) -> String {
    (NARROW.iter())
        .map(|(name, value)| command(name, value))
        .collect::<Vec<_>>()
        .join(" ")
}

/// [`NARROW`] as `SET LOCAL` commands.
static SMALL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| each_narrow(|name, value| format!("SET LOCAL {name} = {value};")));

/// Undoes [`NARROW`], for a full read inside a refresh's transaction: the server's defaults,
/// until the transaction ends (`SET LOCAL`, so a caller's own session settings come back).
static WIDE: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| each_narrow(|name, _| format!("SET LOCAL {name} = DEFAULT;")));

/// [`read`] of the whole schema inside a transaction that has a refresh's settings: back to
/// the defaults first ([`WIDE`]), since a full read wants whole catalogs.
pub(super) fn read_in_full(
    tx: &mut impl GenericClient,
    cache: &mut StatementCache,
    options: &SnapshotOptions,
) -> Result<(Snapshot, Roots, Scope), SnapshotError> {
    tx.batch_execute(&WIDE)
        .reading("setting the output settings")?;
    read(tx, cache, options, None)
}

/// The output settings of a refresh ([`SETTINGS`] and [`NARROW`]), for a caller that sends
/// them ahead in a round trip of its own ([`TrackedSnapshot::refresh_in_transaction`]).
///
/// [`TrackedSnapshot::refresh_in_transaction`]: super::TrackedSnapshot
pub(crate) static REFRESH_SETTINGS: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("{SETTINGS}\n{}", *SMALL));

/// What a transaction started by [`begin`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reads {
    /// The whole schema.
    Everything,
    /// What changed since a snapshot (see [`NARROW`]).
    Changes,
}

/// Starts the capture's transaction (a savepoint in a transaction) with the output settings,
/// and says whether the session records its schema changes ([`record_changes`]), in one round
/// trip.
///
/// [`record_changes`]: super::record_changes
pub(super) fn begin(
    client: &mut impl GenericClient,
    reads: Reads,
) -> Result<(postgres::Transaction<'_>, bool), SnapshotError> {
    let mut tx = client.transaction().reading("starting a transaction")?;
    let recording = settings(&mut tx, reads)?;
    Ok((tx, recording))
}

/// Sets the output settings (`SET LOCAL`: until the end of the transaction `client` is in, or
/// a `RESET`) and says whether the session records its schema changes, in one round trip.
pub(super) fn settings(
    client: &mut impl GenericClient,
    reads: Reads,
) -> Result<bool, SnapshotError> {
    let sql = match reads {
        Reads::Everything => format!("{SETTINGS}\n{RECORDING}"),
        Reads::Changes => format!("{}\n{RECORDING}", *REFRESH_SETTINGS),
    };
    let messages = client
        .simple_query(&sql)
        .reading("setting the output settings")?;
    Ok(messages.iter().any(|m| match m {
        postgres::SimpleQueryMessage::Row(row) => row.get(0) == Some("t"),
        _ => false,
    }))
}

/// Reads the whole schema, in a transaction started by [`begin`]; also returns what was read
/// with it (server version, schemas, table left out), for refreshes.
pub(super) fn read(
    tx: &mut impl GenericClient,
    cache: &mut StatementCache,
    options: &SnapshotOptions,
    only: Option<Only>,
) -> Result<(Snapshot, Roots, Scope), SnapshotError> {
    let mut q = Queries::new(tx, cache);
    let version: i32 = q
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .and_then(|row| row.try_get(0))
        .reading("the server version")?;
    if version < OLDEST {
        return Err(SnapshotError::UnsupportedServer { version });
    }
    let mut out = Builder::default();
    let mut scope = Scope::read(&mut q, options, version, &mut out)?;
    scope.only = only;
    catalog::read_all(&mut q, &scope, &mut out)?;
    let (snapshot, roots) = out.finish();
    scope.only = None;
    Ok((snapshot, roots, scope))
}

/// Reads the objects of the roots in `scope.only` (a refresh: the schemas, server version and
/// table left out are known), every reader's query in one round trip.
pub(super) fn read_again(
    tx: &mut impl GenericClient,
    cache: &mut StatementCache,
    scope: &Scope,
) -> Result<(Snapshot, Roots), SnapshotError> {
    Queries::narrow(tx, cache).batch(|q| {
        let mut out = Builder::default();
        catalog::read_all(q, scope, &mut out)?;
        Ok(out.finish())
    })
}
