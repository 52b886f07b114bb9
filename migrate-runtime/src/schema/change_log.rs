//! A session's record of its own schema changes, kept by event triggers, so that a
//! [`TrackedSnapshot`](super::TrackedSnapshot) refresh reads the record (O(changes)) instead of
//! scanning the catalogs for newer transaction ids (O(schema)).
//!
//! Everything lives in the session's temporary schema: the table `pg_temp.migrate_schema_changes` and the
//! function the triggers run. The two event triggers (`ddl_command_end`, `sql_drop`) depend on
//! that function, so they go with the session (PostgreSQL drops temporary objects, and what
//! depends on them, when the session ends). Another session on the same database runs the
//! function too, finds no table of its own, and records nothing.
//!
//! What the record holds, per row: the command's tag and the object it created, changed or
//! dropped (`classid`, `objid`, `objsubid`). A command that names no object (`GRANT`,
//! `REVOKE`, `ALTER DEFAULT PRIVILEGES`, `DROP OWNED`) leaves a row without one: a refresh
//! then scans the catalogs as it does without a record. Event triggers need a superuser; on
//! another role nothing is installed and refreshes scan.

use super::error::{Reading, SnapshotError};
use postgres::GenericClient;

/// The table, the function, and the two triggers, named after the session (`{pid}`) so that
/// sessions never clash. Runs in one transaction.
const INSTALL: &str = "
CREATE TEMPORARY TABLE migrate_schema_changes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tag text NOT NULL,
    classid oid,
    objid oid,
    objsubid integer,
    dropped boolean NOT NULL
);
CREATE FUNCTION pg_temp.migrate_record_schema_change() RETURNS event_trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_catalog.to_regclass('pg_temp.migrate_schema_changes') IS NULL THEN
        RETURN;
    END IF;
    IF TG_EVENT = 'sql_drop' THEN
        INSERT INTO pg_temp.migrate_schema_changes (tag, classid, objid, objsubid, dropped)
        SELECT TG_TAG, d.classid, d.objid, d.objsubid, true
          FROM pg_catalog.pg_event_trigger_dropped_objects() d;
    ELSE
        INSERT INTO pg_temp.migrate_schema_changes (tag, classid, objid, objsubid, dropped)
        SELECT TG_TAG, c.classid, c.objid, c.objsubid, false
          FROM pg_catalog.pg_event_trigger_ddl_commands() c;
        IF NOT FOUND THEN
            INSERT INTO pg_temp.migrate_schema_changes (tag, dropped) VALUES (TG_TAG, false);
        END IF;
    END IF;
END
$$;
DO $$
BEGIN
    EXECUTE format('CREATE EVENT TRIGGER %I ON ddl_command_end
                    EXECUTE FUNCTION pg_temp.migrate_record_schema_change()',
                   'migrate_schema_changes_' || pg_backend_pid());
    EXECUTE format('CREATE EVENT TRIGGER %I ON sql_drop
                    EXECUTE FUNCTION pg_temp.migrate_record_schema_change()',
                   'migrate_schema_changes_drop_' || pg_backend_pid());
END
$$;";

/// Makes this session record its schema changes, so that [`TrackedSnapshot`] refreshes on it
/// read the record instead of scanning the catalogs: a refresh then costs what the changes
/// cost, however large the schema. Returns whether the session records them (`false`: the
/// role may not create event triggers, only a superuser may; refreshes scan, as before).
/// Changes nothing else; calling it again is harmless.
///
/// For a database this session alone changes, such as a shadow database: changes made by
/// other sessions are not recorded.
///
/// [`TrackedSnapshot`]: super::TrackedSnapshot
///
/// ```no_run
/// use migrate_runtime::schema::{SnapshotOptions, TrackedSnapshot, record_changes};
/// let mut client = postgres::Client::connect("postgres://postgres@localhost/shadow", postgres::NoTls)?;
/// let recording = record_changes(&mut client)?;
/// let before = TrackedSnapshot::capture(&mut client, &SnapshotOptions::default())?;
/// client.batch_execute("CREATE TABLE t (id bigint PRIMARY KEY)")?;
/// let after = before.refresh(&mut client)?;
/// assert_eq!(after.read_again(), Some(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn record_changes(client: &mut impl GenericClient) -> Result<bool, SnapshotError> {
    if recording(client)? {
        return Ok(true);
    }
    let mut tx = client.transaction().reading("starting a transaction")?;
    match tx.batch_execute(INSTALL) {
        Ok(()) => {
            tx.commit().reading("recording schema changes")?;
            Ok(true)
        }
        Err(e) if e.code() == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) => {
            tx.rollback().reading("ending the transaction")?;
            Ok(false)
        }
        Err(e) => Err(e).reading("recording schema changes"),
    }
}

/// Whether this session records its schema changes (the record can also be gone: a
/// `DISCARD TEMP` drops it): `true` or `false` as text, the one row of [`RECORDING`].
pub(crate) const RECORDING: &str =
    "SELECT pg_catalog.to_regclass('pg_temp.migrate_schema_changes') IS NOT NULL";

fn recording(client: &mut impl GenericClient) -> Result<bool, SnapshotError> {
    client
        .query_one(RECORDING, &[])
        .and_then(|row| row.try_get(0))
        .reading("the record of schema changes")
}
