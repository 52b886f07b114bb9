//! The history table: the only module that knows its SQL, with its columns declared once.
//! Append-only: every apply, down and resolve adds a row, so nothing that happened is erased;
//! the newest row of a version is its state. A no-transaction migration (or down) updates its
//! own row as its statements succeed.
//!
//! Reading never guesses: a row this tool did not write (an unknown state or action, a
//! malformed version or checksum), or a table that is not a history table, is an error naming
//! the table and the row.

use super::HistoryTable;
use crate::{Checksum, Version};
use postgres::GenericClient;
use std::fmt;
use std::sync::Arc;
use time::OffsetDateTime;

/// What a history row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowState {
    /// The migration is in the database.
    Applied,
    /// It failed (or was interrupted); a no-transaction one may be partly applied. With the
    /// `down` action: its down.sql failed part-way, outside a transaction.
    Failed,
    /// It was reverted (`down`) or marked so (`resolve --rolled-back`).
    RolledBack,
}

impl RowState {
    /// The text stored in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Applied => "applied",
            RowState::Failed => "failed",
            RowState::RolledBack => "rolled_back",
        }
    }

    fn parse(s: &str) -> Option<RowState> {
        Some(match s {
            "applied" => RowState::Applied,
            "failed" => RowState::Failed,
            "rolled_back" => RowState::RolledBack,
            _ => return None,
        })
    }
}

/// What added a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `apply`.
    Apply,
    /// `down`.
    Down,
    /// `resolve`.
    Resolve,
    /// `import`: adopted from another tool's history (the migration ran under that tool).
    Import,
}

impl Action {
    /// The text stored in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Apply => "apply",
            Action::Down => "down",
            Action::Resolve => "resolve",
            Action::Import => "import",
        }
    }

    fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "apply" => Action::Apply,
            "down" => Action::Down,
            "resolve" => Action::Resolve,
            "import" => Action::Import,
            _ => return None,
        })
    }
}

/// One row of the history.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Row id (increasing).
    pub id: i64,
    /// The migration's version.
    pub version: Version,
    /// Its name.
    pub name: String,
    /// What added the row.
    pub action: Action,
    /// The state this row leaves the migration in.
    pub state: RowState,
    /// Checksum of migration.sql when recorded.
    pub checksum: Checksum,
    /// Checksum of down.sql when recorded.
    pub down_checksum: Option<Checksum>,
    /// The SQL of migration.sql.
    pub sql: String,
    /// The SQL of down.sql.
    pub down_sql: Option<String>,
    /// Run outside a transaction (for a `down` row: the down.sql was).
    pub no_transaction: bool,
    /// Marked irreversible.
    pub irreversible: bool,
    /// Statement count (of the file this row ran).
    pub statements_total: Option<i32>,
    /// Statements that succeeded (no-transaction files).
    pub statements_applied: i32,
    /// Checksums of the statements as run (for safe resume).
    pub statement_checksums: Vec<String>,
    /// When it started.
    pub started_at: OffsetDateTime,
    /// When it finished.
    pub finished_at: Option<OffsetDateTime>,
    /// How long it took.
    pub execution_ms: Option<f64>,
    /// The error, when it failed.
    pub error: Option<String>,
    /// 1-based index of the failing statement.
    pub error_statement: Option<i32>,
    /// A remark (`resumed at statement 3`, `resolve --applied`, ...).
    pub note: Option<String>,
    /// Database user.
    pub applied_by: String,
    /// Client host name.
    pub client_host: Option<String>,
    /// cargo-migrate version.
    pub tool_version: String,
    /// The backup taken before the run that added this row (`apply` with a `backup`
    /// setting); `None` when none was taken, or the row predates the column.
    pub backup: Option<BackupRecord>,
    /// A backfill's progress (checkpointed with each batch); `None` for other migrations.
    pub backfill: Option<BackfillProgress>,
}

/// How far a backfill got: written (as JSON text, in the `backfill` column) in the same
/// transaction as each batch, so a resumed run starts right after the last committed batch.
///
/// ```
/// use migrate_runtime::engine::history::BackfillProgress;
/// let p = BackfillProgress { last_key: Some("1000".into()), keys: 1000, rows: 998, batches: 1 };
/// assert_eq!(p.to_json(), r#"{"last_key":"1000","keys":1000,"rows":998,"batches":1}"#);
/// assert_eq!(BackfillProgress::from_json(&p.to_json()), Some(p));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackfillProgress {
    /// The last key of the last committed batch, as text (`None`: no batch yet).
    pub last_key: Option<String>,
    /// Keys walked so far (the batches' sizes).
    pub keys: u64,
    /// Rows the statement changed so far.
    pub rows: u64,
    /// Batches committed so far.
    pub batches: u64,
}

impl BackfillProgress {
    /// The JSON text stored in the history.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the stored JSON text.
    pub fn from_json(text: &str) -> Option<BackfillProgress> {
        serde_json::from_str(text).ok()
    }
}

/// The backup an `apply` run took before its first migration, recorded (as JSON text) in the
/// `backup` column of every row of that run.
///
/// ```
/// use migrate_runtime::engine::history::BackupRecord;
/// let r = BackupRecord { id: "backups/app-none-20261122T050000Z.dump".into(), bytes: Some(4096), duration_ms: 12.5 };
/// assert_eq!(r.to_json(), r#"{"id":"backups/app-none-20261122T050000Z.dump","bytes":4096,"duration_ms":12.5}"#);
/// assert_eq!(BackupRecord::from_json(&r.to_json()), Some(r));
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BackupRecord {
    /// What identifies it: the dump file's path, or the last line a backup command printed.
    pub id: String,
    /// Its size in bytes, when it is a file.
    pub bytes: Option<u64>,
    /// How long taking it took.
    pub duration_ms: f64,
}

impl BackupRecord {
    /// The JSON text stored in the history.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the stored JSON text.
    pub fn from_json(text: &str) -> Option<BackupRecord> {
        serde_json::from_str(text).ok()
    }
}

impl Row {
    /// The migration's folder name.
    pub fn folder(&self) -> String {
        crate::model::folder_name(self.version, &self.name)
    }
}

/// What a history row says about its migration's state: the part [`status::compute`]
/// reads, the same for a whole [`Row`] and for the compact [`StatusRow`].
///
/// [`status::compute`]: super::status::compute
pub trait Recorded {
    /// The migration's version.
    fn version(&self) -> Version;
    /// Its name.
    fn name(&self) -> &str;
    /// What added the row.
    fn action(&self) -> Action;
    /// The state the row leaves the migration in.
    fn state(&self) -> RowState;
    /// Checksum of migration.sql when recorded.
    fn checksum(&self) -> Checksum;
    /// Whether the row keeps an error.
    fn has_error(&self) -> bool;
    /// A `down` whose down.sql failed and was rolled back: the migration stays applied, and
    /// the row keeps the error.
    fn is_failed_down(&self) -> bool {
        self.action() == Action::Down && self.has_error()
    }
}

/// Both kinds of rows keep these columns in fields of the same names (the error aside: a
/// [`StatusRow`] keeps it with the other rare columns).
macro_rules! recorded_fields {
    ($($row:ty: $has_error:expr),*) => {$(
        impl Recorded for $row {
            fn version(&self) -> Version {
                self.version
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn action(&self) -> Action {
                self.action
            }
            fn state(&self) -> RowState {
                self.state
            }
            fn checksum(&self) -> Checksum {
                self.checksum
            }
            fn has_error(&self) -> bool {
                $has_error(self)
            }
        }
    )*};
}

recorded_fields!(
    Row: |r: &Row| r.error.is_some(),
    StatusRow: |r: &StatusRow| r.error().is_some()
);

/// A history row as `status` shows it: the columns it reports and nothing else (no texts, no
/// statement checksums, no client details), a third of a [`Row`]'s size, so a history of
/// 100,000 migrations stays small. The recorded SQL is read only for the rows that show it
/// ([`recorded_sql_for`]).
///
/// ```
/// use migrate_runtime::engine::history::{Recorded, StatusRow};
/// fn shown(row: &StatusRow) -> String {
///     format!("{} {} by {}", row.version(), row.state().as_str(), row.applied_by)
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StatusRow {
    /// Row id (increasing).
    pub id: i64,
    /// The migration's version.
    pub version: Version,
    /// Its name.
    pub name: String,
    /// What added the row.
    pub action: Action,
    /// The state this row leaves the migration in.
    pub state: RowState,
    /// Run outside a transaction (for a `down` row: the down.sql was).
    pub no_transaction: bool,
    /// Checksum of migration.sql when recorded.
    pub checksum: Checksum,
    /// Statement count (of the file this row ran).
    pub statements_total: Option<i32>,
    /// Statements that succeeded (no-transaction files).
    pub statements_applied: i32,
    /// When it started.
    pub started_at: OffsetDateTime,
    /// When it finished.
    pub finished_at: Option<OffsetDateTime>,
    /// How long it took.
    pub execution_ms: Option<f64>,
    /// Database user: shared by the rows that have the same (a history's rows are mostly
    /// one user's, or a few users').
    pub applied_by: Arc<str>,
    /// The columns few rows have, boxed together (`None` when the row has none of them):
    /// most rows of a long history have no error, no backup, no backfill, and no recorded
    /// SQL read.
    pub rare: Option<Box<RareColumns>>,
}

/// The columns of a [`StatusRow`] that few rows have.
///
/// ```
/// use migrate_runtime::engine::history::RareColumns;
/// assert!(RareColumns::default().error.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RareColumns {
    /// The error, when it failed.
    pub error: Option<String>,
    /// The backup taken before the run that added this row.
    pub backup: Option<Box<BackupRecord>>,
    /// A backfill's progress.
    pub backfill: Option<Box<BackfillProgress>>,
    /// The SQL of migration.sql, when read ([`recorded_sql_for`]).
    pub sql: Option<String>,
}

impl RareColumns {
    /// The columns, boxed, when the row has any of them.
    fn boxed(self) -> Option<Box<RareColumns>> {
        (self != RareColumns::default()).then(|| Box::new(self))
    }
}

impl StatusRow {
    /// The error, when it failed.
    ///
    /// ```
    /// # use migrate_runtime::engine::history::StatusRow;
    /// fn failed(row: &StatusRow) -> bool {
    ///     row.error().is_some()
    /// }
    /// ```
    pub fn error(&self) -> Option<&str> {
        self.rare.as_ref()?.error.as_deref()
    }

    /// The recorded SQL of migration.sql, when read ([`recorded_sql_for`]).
    ///
    /// ```
    /// # use migrate_runtime::engine::history::StatusRow;
    /// fn recorded(row: &StatusRow) -> &str {
    ///     row.sql().unwrap_or_default()
    /// }
    /// ```
    pub fn sql(&self) -> Option<&str> {
        self.rare.as_ref()?.sql.as_deref()
    }

    /// The rare columns, to take from or to set (made empty when the row had none).
    ///
    /// ```
    /// # use migrate_runtime::engine::history::StatusRow;
    /// fn forget_sql(row: &mut StatusRow) {
    ///     row.rare_mut().sql = None;
    /// }
    /// ```
    pub fn rare_mut(&mut self) -> &mut RareColumns {
        self.rare.get_or_insert_default()
    }
}

/// A row to insert.
#[derive(Debug, Clone)]
pub(crate) struct NewRow<'a> {
    pub(crate) version: Version,
    pub(crate) name: &'a str,
    pub(crate) action: Action,
    pub(crate) state: RowState,
    pub(crate) checksum: Checksum,
    pub(crate) down_checksum: Option<Checksum>,
    pub(crate) sql: &'a str,
    pub(crate) down_sql: Option<&'a str>,
    pub(crate) no_transaction: bool,
    pub(crate) irreversible: bool,
    pub(crate) statements_total: Option<i32>,
    pub(crate) statements_applied: i32,
    /// Shared: a row is cloned to be finished, and a file can have hundreds of thousands.
    pub(crate) statement_checksums: std::sync::Arc<[Checksum]>,
    pub(crate) execution_ms: Option<f64>,
    pub(crate) error: Option<String>,
    pub(crate) error_statement: Option<i32>,
    pub(crate) note: Option<String>,
    /// Still running (a no-transaction file): `finished_at` stays empty until it ends.
    pub(crate) in_progress: bool,
    /// The run's backup, as JSON text ([`BackupRecord::to_json`]).
    pub(crate) backup: Option<&'a str>,
    /// A backfill's progress, as JSON text ([`BackfillProgress::to_json`]).
    pub(crate) backfill: Option<String>,
}

/// A column of the table: its name and its definition in `CREATE TABLE`.
struct Column {
    name: &'static str,
    definition: &'static str,
    /// Written by `INSERT` (the others have defaults filled in by the server).
    inserted: bool,
    /// Added after the first release: a table made before lacks it until [`upgrade`] adds
    /// it (under the advisory lock); reading such a table reads NULL.
    added_later: bool,
}

const fn col(name: &'static str, definition: &'static str, inserted: bool) -> Column {
    Column {
        name,
        definition,
        inserted,
        added_later: false,
    }
}

const fn added(name: &'static str, definition: &'static str) -> Column {
    Column {
        name,
        definition,
        inserted: true,
        added_later: true,
    }
}

/// The table's columns, in order: the one place they are spelled.
const COLUMNS: &[Column] = &[
    col(
        "id",
        "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        false,
    ),
    col("version", "bigint NOT NULL", true),
    col("name", "text NOT NULL", true),
    col(
        "action",
        "text NOT NULL CONSTRAINT action_known CHECK (action IN ('apply', 'down', 'resolve', 'import'))",
        true,
    ),
    col(
        "state",
        "text NOT NULL CHECK (state IN ('applied', 'failed', 'rolled_back'))",
        true,
    ),
    col("checksum", "text NOT NULL", true),
    col("down_checksum", "text", true),
    col("sql", "text NOT NULL", true),
    col("down_sql", "text", true),
    col("no_transaction", "boolean NOT NULL DEFAULT false", true),
    col("irreversible", "boolean NOT NULL DEFAULT false", true),
    col("statements_total", "integer", true),
    col("statements_applied", "integer NOT NULL DEFAULT 0", true),
    col("statement_checksums", "text[] NOT NULL DEFAULT '{}'", true),
    col(
        "started_at",
        "timestamptz NOT NULL DEFAULT clock_timestamp()",
        false,
    ),
    col("finished_at", "timestamptz", true),
    col("execution_ms", "double precision", true),
    col("error", "text", true),
    col("error_statement", "integer", true),
    col("note", "text", true),
    col("applied_by", "text NOT NULL DEFAULT current_user", false),
    col("client_host", "text", true),
    col("client_addr", "inet DEFAULT inet_client_addr()", false),
    col("tool_version", "text NOT NULL", true),
    added("backup", "text"),
    added("backfill", "text"),
];

/// Why the history could not be read or written as a history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{table}: {message}")]
pub struct HistoryError {
    /// The table.
    pub table: String,
    /// What is wrong.
    pub message: String,
}

/// Reading or writing the history failed.
#[derive(Debug)]
pub enum ReadError {
    /// The database failed.
    Db(postgres::Error),
    /// The table or a row is not what this tool writes.
    Bad(HistoryError),
}

impl From<postgres::Error> for ReadError {
    fn from(e: postgres::Error) -> Self {
        ReadError::Db(e)
    }
}

/// Brings a table made by an older version up to date (call with the advisory lock held):
/// the `action` check of tables made before `import` existed is replaced, and columns added
/// since (nullable, no default: a catalog-only change, no rewrite) are added.
fn upgrade(client: &mut impl GenericClient, t: &HistoryTable) -> Result<(), postgres::Error> {
    let present = columns(client, t)?;
    for c in COLUMNS.iter().filter(|c| c.added_later) {
        if !present.iter().any(|p| p == c.name) {
            client.batch_execute(&format!(
                "ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}",
                t.qualified(),
                c.name,
                c.definition
            ))?;
        }
    }
    let old = client.query_opt(
        "SELECT con.conname::text FROM pg_catalog.pg_constraint con
         WHERE con.conrelid = to_regclass($1) AND con.contype = 'c'
           AND pg_get_constraintdef(con.oid) LIKE '%action%'
           AND pg_get_constraintdef(con.oid) NOT LIKE '%import%'",
        &[&t.qualified()],
    )?;
    if let Some(row) = old {
        let name: String = row.get(0);
        client.batch_execute(&format!(
            "ALTER TABLE {q} DROP CONSTRAINT {old};
             ALTER TABLE {q} ADD CONSTRAINT action_known
                 CHECK (action IN ('apply', 'down', 'resolve', 'import'))",
            q = t.qualified(),
            old = crate::quote_ident(&name),
        ))?;
    }
    Ok(())
}

/// Creates the schema and table if missing, or brings an older one up to date. Call with the
/// advisory lock held.
pub(crate) fn ensure(
    client: &mut impl GenericClient,
    t: &HistoryTable,
) -> Result<(), postgres::Error> {
    let q = t.qualified();
    let index = crate::quote_ident(&format!("{}_version_idx", t.table));
    let columns = COLUMNS
        .iter()
        .map(|c| format!("{} {}", c.name, c.definition))
        .collect::<Vec<_>>()
        .join(",\n    ");
    client.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};
         CREATE TABLE IF NOT EXISTS {q} (\n    {columns}\n);
         CREATE INDEX IF NOT EXISTS {index} ON {q} (version, id);",
        schema = crate::quote_ident(&t.schema),
    ))?;
    upgrade(client, t)
}

/// Whether the table exists (status and dry runs never create it). Something else of that
/// name (a view, a sequence), or a table without the history's columns, is an error.
pub fn exists(client: &mut impl GenericClient, t: &HistoryTable) -> Result<bool, ReadError> {
    Ok(checked_columns(client, t)?.is_some())
}

/// The table's columns when it exists (checked as [`exists`] checks them).
fn checked_columns(
    client: &mut impl GenericClient,
    t: &HistoryTable,
) -> Result<Option<Vec<String>>, ReadError> {
    let row = client.query_opt(
        "SELECT c.relkind::text, ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relname = $2",
        &[&t.schema, &t.table],
    )?;
    let Some(row) = row else {
        return Ok(None);
    };
    let bad = |message: String| {
        ReadError::Bad(HistoryError {
            table: t.to_string(),
            message,
        })
    };
    let kind: String = row.get(0);
    if kind != "r" && kind != "p" {
        return Err(bad(format!(
            "it is not a table (relkind `{kind}`): point --history-table at the cargo-migrate \
             history, or at a name that does not exist yet"
        )));
    }
    let present: Vec<String> = row.get(1);
    let missing: Vec<&str> = COLUMNS
        .iter()
        .filter(|c| !c.added_later)
        .map(|c| c.name)
        .filter(|name| !present.iter().any(|p| p == name))
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!(
            "this table is not a cargo-migrate history (it has no column {}): point \
             --history-table at the history, or at a name that does not exist yet",
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(Some(present))
}

/// The newest row of every version, in version order; empty when the table does not exist.
pub fn latest(client: &mut impl GenericClient, t: &HistoryTable) -> Result<Vec<Row>, ReadError> {
    read_latest(client, t, Columns::All, from_row)
}

/// The newest row of every version as `status` shows it ([`StatusRow`], without the recorded
/// SQL), in version order; empty when the table does not exist. Only the columns status shows
/// are sent.
pub fn latest_for_status(
    client: &mut impl GenericClient,
    t: &HistoryTable,
) -> Result<Vec<StatusRow>, ReadError> {
    let mut user = None;
    read_latest(client, t, Columns::Status, |r| {
        status_row_from(r, &mut user)
    })
}

/// Reads the recorded SQL of the rows `wanted` picks (`status`: those whose file is gone or
/// differs; an applied migration whose file has the recorded checksum has the recorded text
/// too), in one query.
pub fn recorded_sql_for(
    client: &mut impl GenericClient,
    t: &HistoryTable,
    rows: &mut [StatusRow],
    wanted: impl Fn(&StatusRow) -> bool,
) -> Result<(), ReadError> {
    let picked: std::collections::HashMap<i64, usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| wanted(r))
        .map(|(i, r)| (r.id, i))
        .collect();
    if picked.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = picked.keys().copied().collect();
    let texts = client.query(
        &format!("SELECT id, sql FROM {} WHERE id = ANY($1)", t.qualified()),
        &[&ids],
    )?;
    for text in &texts {
        let id: i64 = get(text, "id", None).map_err(|m| bad(t, m))?;
        if let Some(&i) = picked.get(&id) {
            rows[i].rare_mut().sql = Some(get(text, "sql", Some(id)).map_err(|m| bad(t, m))?);
        }
    }
    Ok(())
}

/// Which columns a read of the history fetches.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Columns {
    /// Every column (but the client's address).
    All,
    /// The columns of a [`StatusRow`].
    Status,
}

/// The columns of a [`StatusRow`].
const STATUS_COLUMNS: &[&str] = &[
    "id",
    "version",
    "name",
    "action",
    "state",
    "checksum",
    "no_transaction",
    "statements_total",
    "statements_applied",
    "started_at",
    "finished_at",
    "execution_ms",
    "error",
    "applied_by",
    "backup",
    "backfill",
];

fn bad(t: &HistoryTable, message: String) -> ReadError {
    ReadError::Bad(HistoryError {
        table: t.to_string(),
        message,
    })
}

/// The newest row of every version, streamed from the server row by row and decoded by
/// `decode` (the rows of a long history are never all held twice).
fn read_latest<R>(
    client: &mut impl GenericClient,
    t: &HistoryTable,
    columns: Columns,
    mut decode: impl FnMut(&postgres::Row) -> Result<R, String>,
) -> Result<Vec<R>, ReadError> {
    use postgres::fallible_iterator::FallibleIterator;
    let Some(present) = checked_columns(client, t)? else {
        return Ok(Vec::new());
    };
    let select = COLUMNS
        .iter()
        .filter(|c| match columns {
            Columns::All => c.name != "client_addr",
            Columns::Status => STATUS_COLUMNS.contains(&c.name),
        })
        .map(|c| {
            if c.added_later && !present.iter().any(|p| p == c.name) {
                format!("NULL::text AS {}", c.name)
            } else {
                c.name.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let no_params: [&(dyn postgres::types::ToSql + Sync); 0] = [];
    let mut stream = client.query_raw(
        &format!(
            "SELECT DISTINCT ON (version) {select} FROM {} ORDER BY version, id DESC",
            t.qualified()
        ),
        no_params,
    )?;
    let mut rows = Vec::with_capacity(stream.size_hint().0);
    while let Some(r) = stream.next()? {
        rows.push(decode(&r).map_err(|m| bad(t, m))?);
    }
    // The count is not known in advance: grown by doubling, the room of ten thousand rows
    // would be that of sixteen thousand until the history is dropped.
    rows.shrink_to_fit();
    Ok(rows)
}

/// The table's column names.
fn columns(
    client: &mut impl GenericClient,
    t: &HistoryTable,
) -> Result<Vec<String>, postgres::Error> {
    let row = client.query_one(
        "SELECT ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
                 WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped)",
        &[&t.qualified()],
    )?;
    Ok(row.get(0))
}

/// The columns every kind of row decodes the same way.
struct Common {
    id: i64,
    version: Version,
    action: Action,
    state: RowState,
    checksum: Checksum,
}

fn common(r: &postgres::Row) -> Result<Common, String> {
    let id: i64 = get(r, "id", None)?;
    let at = Some(id);
    let raw_version: i64 = get(r, "version", at)?;
    let version = Version::new(raw_version)
        .ok_or_else(|| format!("row {id}: `{raw_version}` is not a migration version"))?;
    let action: String = get(r, "action", at)?;
    let state: String = get(r, "state", at)?;
    Ok(Common {
        id,
        version,
        action: Action::parse(&action)
            .ok_or_else(|| format!("row {id}: unknown action `{action}`"))?,
        state: RowState::parse(&state)
            .ok_or_else(|| format!("row {id}: unknown state `{state}`"))?,
        checksum: checksum(id, "checksum", Some(get(r, "checksum", at)?))?
            .ok_or_else(|| format!("row {id}: no checksum"))?,
    })
}

fn checksum(id: i64, column: &str, text: Option<String>) -> Result<Option<Checksum>, String> {
    text.map(|t| {
        t.parse::<Checksum>()
            .map_err(|_| format!("row {id}: `{column}` is not a SHA-256 checksum"))
    })
    .transpose()
}

fn backup(r: &postgres::Row, id: i64) -> Result<Option<BackupRecord>, String> {
    get::<Option<String>>(r, "backup", Some(id))?
        .map(|text| {
            BackupRecord::from_json(&text)
                .ok_or_else(|| format!("row {id}: `backup` is not a backup record"))
        })
        .transpose()
}

fn backfill(r: &postgres::Row, id: i64) -> Result<Option<BackfillProgress>, String> {
    get::<Option<String>>(r, "backfill", Some(id))?
        .map(|text| {
            BackfillProgress::from_json(&text)
                .ok_or_else(|| format!("row {id}: `backfill` is not a backfill's progress"))
        })
        .transpose()
}

fn from_row(r: &postgres::Row) -> Result<Row, String> {
    let Common {
        id,
        version,
        action,
        state,
        checksum: up_checksum,
    } = common(r)?;
    let at = Some(id);
    Ok(Row {
        id,
        version,
        name: get(r, "name", at)?,
        action,
        state,
        checksum: up_checksum,
        down_checksum: checksum(id, "down_checksum", get(r, "down_checksum", at)?)?,
        sql: get(r, "sql", at)?,
        down_sql: get(r, "down_sql", at)?,
        no_transaction: get(r, "no_transaction", at)?,
        irreversible: get(r, "irreversible", at)?,
        statements_total: get(r, "statements_total", at)?,
        statements_applied: get(r, "statements_applied", at)?,
        statement_checksums: get(r, "statement_checksums", at)?,
        started_at: get(r, "started_at", at)?,
        finished_at: get(r, "finished_at", at)?,
        execution_ms: get(r, "execution_ms", at)?,
        error: get(r, "error", at)?,
        error_statement: get(r, "error_statement", at)?,
        note: get(r, "note", at)?,
        applied_by: get(r, "applied_by", at)?,
        client_host: get(r, "client_host", at)?,
        tool_version: get(r, "tool_version", at)?,
        backup: backup(r, id)?,
        backfill: backfill(r, id)?,
    })
}

/// A [`StatusRow`] of `r`; `user` is the user of the row decoded before (shared with this
/// one when it is the same).
fn status_row_from(r: &postgres::Row, user: &mut Option<Arc<str>>) -> Result<StatusRow, String> {
    let Common {
        id,
        version,
        action,
        state,
        checksum,
    } = common(r)?;
    let at = Some(id);
    Ok(StatusRow {
        id,
        version,
        name: get(r, "name", at)?,
        action,
        state,
        checksum,
        no_transaction: get(r, "no_transaction", at)?,
        statements_total: get(r, "statements_total", at)?,
        statements_applied: get(r, "statements_applied", at)?,
        started_at: get(r, "started_at", at)?,
        finished_at: get(r, "finished_at", at)?,
        execution_ms: get(r, "execution_ms", at)?,
        applied_by: shared(user, get(r, "applied_by", at)?),
        rare: RareColumns {
            error: get(r, "error", at)?,
            backup: backup(r, id)?.map(Box::new),
            backfill: backfill(r, id)?.map(Box::new),
            sql: None,
        }
        .boxed(),
    })
}

/// `text` as the shared `last` when it is the same, else as the new `last`.
fn shared(last: &mut Option<Arc<str>>, text: &str) -> Arc<str> {
    match last {
        Some(last) if **last == *text => last.clone(),
        _ => last.insert(text.into()).clone(),
    }
}

fn get<'a, T: postgres::types::FromSql<'a>>(
    r: &'a postgres::Row,
    column: &str,
    id: Option<i64>,
) -> Result<T, String> {
    r.try_get(column).map_err(|e| {
        let row = id.map_or_else(String::new, |id| format!("row {id}: "));
        format!("{row}column `{column}` cannot be read ({e}); was the table changed by hand?")
    })
}

/// The `INSERT` of a row as SQL text with literal values (dollar-quoted strings), so it can be
/// sent in one round trip with other statements (`...; COMMIT`).
pub(crate) fn insert_sql(t: &HistoryTable, row: &NewRow<'_>) -> String {
    let mut out = String::new();
    push_insert_sql(&mut out, t, row);
    out
}

/// [`insert_sql`] written at the end of `out`, the texts copied once (a 50 MB migration's
/// text is in the row).
pub(crate) fn push_insert_sql(out: &mut String, t: &HistoryTable, row: &NewRow<'_>) {
    use super::record::Value;
    let host = client_host();
    let values = super::record::values(row, host.as_deref());
    out.reserve(values.iter().map(Value::size).sum::<usize>() + 1024);
    out.push_str("INSERT INTO ");
    out.push_str(&t.qualified());
    out.push_str(" (");
    out.push_str(&inserted_columns().join(", "));
    out.push_str(") VALUES (");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match v {
            Value::Null => out.push_str("NULL"),
            Value::Plain(p) => out.push_str(p),
            Value::Text(text) => push_literal(out, text),
            Value::Checksums(checksums) => {
                out.push_str("ARRAY[");
                for (i, c) in checksums.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    push_literal(out, &c.to_string());
                }
                out.push_str("]::text[]");
            }
            Value::Now => out.push_str("clock_timestamp()"),
        }
    }
    out.push(')');
}

/// The columns a new row gives values for, in order.
pub(crate) fn inserted_columns() -> Vec<&'static str> {
    COLUMNS
        .iter()
        .filter(|c| c.inserted)
        .map(|c| c.name)
        .collect()
}

/// A SQL string literal, dollar-quoted with a tag the text does not contain (no escaping).
fn literal(text: &str) -> String {
    let mut out = String::new();
    push_literal(&mut out, text);
    out
}

/// [`literal`] written at the end of `out`.
fn push_literal(out: &mut String, text: &str) {
    let mut tag = "$cm$".to_string();
    let mut n = 0;
    // The first occurrence of the tag after the opening one must be the closing one: the text
    // holds no tag, and none starts in its end and runs on into the closing tag
    // (`...$cm` + `$cm$` holds `$cm$` one character early).
    while text.contains(tag.as_str())
        || (1..tag.len()).any(|k| text.ends_with(&tag[..k]) && tag[k..] == tag[..tag.len() - k])
    {
        n += 1;
        tag = format!("$cm{n}$");
    }
    out.push_str(&tag);
    out.push_str(text);
    out.push_str(&tag);
}

/// Inserts a row and returns its id.
pub(crate) fn insert(
    client: &mut impl GenericClient,
    t: &HistoryTable,
    row: &NewRow<'_>,
) -> Result<i64, ReadError> {
    let messages = client.simple_query(&format!("{} RETURNING id", insert_sql(t, row)))?;
    messages
        .iter()
        .find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => r.get(0).and_then(|id| id.parse().ok()),
            _ => None,
        })
        .ok_or_else(|| {
            ReadError::Bad(HistoryError {
                table: t.to_string(),
                message: "inserting a row returned no id; was the table changed by hand?".into(),
            })
        })
}

/// Records progress of a no-transaction file: statements done so far. `prefix` runs first in
/// the same transaction (restoring the tool's own identity, see `session`).
pub(crate) fn progress(
    client: &mut impl GenericClient,
    t: &HistoryTable,
    id: i64,
    applied: i32,
    prefix: &str,
) -> Result<(), postgres::Error> {
    client.batch_execute(&format!(
        "BEGIN; {prefix}UPDATE {} SET statements_applied = {applied} WHERE id = {id}; COMMIT",
        t.qualified()
    ))
}

/// How a no-transaction file's row ends.
pub(crate) struct Finish<'a> {
    pub(crate) state: RowState,
    pub(crate) execution_ms: f64,
    pub(crate) error: Option<&'a str>,
    pub(crate) error_statement: Option<i32>,
}

/// Finishes a no-transaction file's row: its final state, time and error. `prefix` as for
/// [`progress`].
pub(crate) fn finish(
    client: &mut impl GenericClient,
    t: &HistoryTable,
    id: i64,
    end: &Finish<'_>,
    prefix: &str,
) -> Result<(), postgres::Error> {
    let ms = if end.execution_ms.is_finite() {
        format!("{}", end.execution_ms)
    } else {
        "NULL".into()
    };
    // The end of a file is durable when it is reported, whatever the server's default.
    client.batch_execute(&format!(
        "BEGIN; SET LOCAL synchronous_commit = on; {prefix}UPDATE {} SET state = {}, finished_at = clock_timestamp(), \
         execution_ms = {ms}, error = {}, error_statement = {} WHERE id = {id}; COMMIT",
        t.qualified(),
        literal(end.state.as_str()),
        end.error.map_or_else(|| "NULL".into(), literal),
        end.error_statement
            .map_or_else(|| "NULL".into(), |n| n.to_string()),
    ))
}

pub(crate) fn client_host() -> Option<String> {
    gethostname::gethostname().into_string().ok()
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Db(e) => f.write_str(&super::connection::error_text(e)),
            ReadError::Bad(e) => write!(f, "{e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_the_same_user_share_its_name() {
        let mut last = None;
        let a = shared(&mut last, "postgres");
        let b = shared(&mut last, "postgres");
        let c = shared(&mut last, "deploy");
        let d = shared(&mut last, "deploy");
        assert!(Arc::ptr_eq(&a, &b) && Arc::ptr_eq(&c, &d));
        assert_eq!((&*a, &*c), ("postgres", "deploy"));
    }

    #[test]
    fn literals_never_end_early() {
        assert_eq!(literal("it's"), "$cm$it's$cm$");
        assert_eq!(literal("a $cm$ b"), "$cm1$a $cm$ b$cm1$");
        assert_eq!(literal("ends with $cm"), "$cm1$ends with $cm$cm1$");
        assert_eq!(literal(""), "$cm$$cm$");
    }

    #[test]
    fn every_inserted_column_gets_a_value() {
        let row = NewRow {
            version: Version::new(1).unwrap(),
            name: "a",
            action: Action::Apply,
            state: RowState::Applied,
            checksum: Checksum::of_sql(b""),
            down_checksum: None,
            sql: "",
            down_sql: None,
            no_transaction: false,
            irreversible: false,
            statements_total: None,
            statements_applied: 0,
            statement_checksums: Default::default(),
            execution_ms: None,
            error: None,
            error_statement: None,
            note: None,
            in_progress: false,
            backup: None,
            backfill: None,
        };
        let sql = insert_sql(&HistoryTable::default(), &row);
        let (names, values) = sql.split_once(" VALUES ").unwrap();
        assert_eq!(
            names.matches(", ").count(),
            COLUMNS.iter().filter(|c| c.inserted).count() - 1
        );
        assert!(
            values.starts_with("(1, $cm$a$cm$, $cm$apply$cm$"),
            "{values}"
        );
    }
}
