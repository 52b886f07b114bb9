//! The history table: the only module that knows its SQL. Append-only: every apply, down and
//! resolve adds a row, so nothing that happened is erased; the newest row of a version is its
//! state. A no-transaction migration updates its own row as its statements succeed.

use super::HistoryTable;
use crate::{Checksum, Version};
use postgres::GenericClient;
use time::OffsetDateTime;

/// What a history row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowState {
    /// The migration is in the database.
    Applied,
    /// It failed (or was interrupted); a no-transaction one may be partly applied.
    Failed,
    /// It was reverted (`down`) or marked so (`resolve --rolled-back`).
    RolledBack,
}

impl RowState {
    fn as_str(self) -> &'static str {
        match self {
            RowState::Applied => "applied",
            RowState::Failed => "failed",
            RowState::RolledBack => "rolled_back",
        }
    }

    fn parse(s: &str) -> RowState {
        match s {
            "applied" => RowState::Applied,
            "rolled_back" => RowState::RolledBack,
            _ => RowState::Failed,
        }
    }
}

/// What added a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// `apply`.
    Apply,
    /// `down`.
    Down,
    /// `resolve`.
    Resolve,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Apply => "apply",
            Action::Down => "down",
            Action::Resolve => "resolve",
        }
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
    /// `apply`, `down` or `resolve`.
    pub action: String,
    /// The state this row leaves the migration in.
    pub state: RowState,
    /// Checksum of migration.sql when recorded.
    pub checksum: String,
    /// Checksum of down.sql when recorded.
    pub down_checksum: Option<String>,
    /// The SQL of migration.sql.
    pub sql: String,
    /// The SQL of down.sql.
    pub down_sql: Option<String>,
    /// Run outside a transaction.
    pub no_transaction: bool,
    /// Marked irreversible.
    pub irreversible: bool,
    /// Statement count (no-transaction migrations).
    pub statements_total: Option<i32>,
    /// Statements that succeeded (no-transaction migrations).
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
    /// Database user.
    pub applied_by: String,
    /// Client host name.
    pub client_host: Option<String>,
    /// cargo-migrate version.
    pub tool_version: String,
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
    pub(crate) statement_checksums: Vec<String>,
    pub(crate) execution_ms: Option<f64>,
    pub(crate) error: Option<String>,
    pub(crate) error_statement: Option<i32>,
    pub(crate) note: Option<&'a str>,
}

const COLUMNS: &str = "id, version, name, action, state, checksum, down_checksum, sql, down_sql, \
    no_transaction, irreversible, statements_total, statements_applied, statement_checksums, \
    started_at, finished_at, execution_ms, error, error_statement, applied_by, client_host, tool_version";

/// Creates the schema and table if missing. Call with the advisory lock held.
pub(crate) fn ensure(
    client: &mut impl GenericClient,
    t: &HistoryTable,
) -> Result<(), postgres::Error> {
    let q = t.qualified();
    let index = super::quote_ident(&format!("{}_version_idx", t.table));
    client.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};
         CREATE TABLE IF NOT EXISTS {q} (
             id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             version bigint NOT NULL,
             name text NOT NULL,
             action text NOT NULL CHECK (action IN ('apply', 'down', 'resolve')),
             state text NOT NULL CHECK (state IN ('applied', 'failed', 'rolled_back')),
             checksum text NOT NULL,
             down_checksum text,
             sql text NOT NULL,
             down_sql text,
             no_transaction boolean NOT NULL DEFAULT false,
             irreversible boolean NOT NULL DEFAULT false,
             statements_total integer,
             statements_applied integer NOT NULL DEFAULT 0,
             statement_checksums text[] NOT NULL DEFAULT '{{}}',
             started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
             finished_at timestamptz,
             execution_ms double precision,
             error text,
             error_statement integer,
             note text,
             applied_by text NOT NULL DEFAULT current_user,
             client_host text,
             client_addr inet DEFAULT inet_client_addr(),
             tool_version text NOT NULL
         );
         CREATE INDEX IF NOT EXISTS {index} ON {q} (version, id);",
        schema = super::quote_ident(&t.schema),
    ))
}

/// Whether the table exists (status and dry runs never create it).
pub fn exists(client: &mut impl GenericClient, t: &HistoryTable) -> Result<bool, postgres::Error> {
    let row = client.query_one(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = $2)",
        &[&t.schema, &t.table],
    )?;
    Ok(row.get(0))
}

/// The newest row of every version, in version order; empty when the table does not exist.
pub fn latest(
    client: &mut impl GenericClient,
    t: &HistoryTable,
) -> Result<Vec<Row>, postgres::Error> {
    if !exists(client, t)? {
        return Ok(Vec::new());
    }
    let rows = client.query(
        &format!(
            "SELECT DISTINCT ON (version) {COLUMNS} FROM {} ORDER BY version, id DESC",
            t.qualified()
        ),
        &[],
    )?;
    Ok(rows.iter().map(from_row).collect())
}

fn from_row(r: &postgres::Row) -> Row {
    let version: i64 = r.get("version");
    Row {
        id: r.get("id"),
        version: Version::new(version).unwrap_or(Version::new(0).expect("zero")),
        name: r.get("name"),
        action: r.get("action"),
        state: RowState::parse(r.get("state")),
        checksum: r.get("checksum"),
        down_checksum: r.get("down_checksum"),
        sql: r.get("sql"),
        down_sql: r.get("down_sql"),
        no_transaction: r.get("no_transaction"),
        irreversible: r.get("irreversible"),
        statements_total: r.get("statements_total"),
        statements_applied: r.get("statements_applied"),
        statement_checksums: r.get("statement_checksums"),
        started_at: r.get("started_at"),
        finished_at: r.get("finished_at"),
        execution_ms: r.get("execution_ms"),
        error: r.get("error"),
        error_statement: r.get("error_statement"),
        applied_by: r.get("applied_by"),
        client_host: r.get("client_host"),
        tool_version: r.get("tool_version"),
    }
}

/// The `INSERT` of a row as SQL text with literal values (dollar-quoted strings), so it can be
/// sent in one round trip with other statements (`...; COMMIT`). `finished_at` is set unless
/// the row is a no-transaction migration still in progress (state failed, no error yet).
pub(crate) fn insert_sql(t: &HistoryTable, row: &NewRow<'_>) -> String {
    let in_progress = row.state == RowState::Failed && row.error.is_none();
    let error = if in_progress {
        Some("did not finish: running now, or interrupted".to_string())
    } else {
        row.error.clone()
    };
    let opt = |v: Option<String>| v.unwrap_or_else(|| "NULL".into());
    let checksums: Vec<String> = row.statement_checksums.iter().map(|c| literal(c)).collect();
    format!(
        "INSERT INTO {} (version, name, action, state, checksum, down_checksum, sql, down_sql, \
         no_transaction, irreversible, statements_total, statements_applied, statement_checksums, \
         finished_at, execution_ms, error, error_statement, note, client_host, tool_version) VALUES \
         ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, ARRAY[{}]::text[], {}, {}, {}, {}, {}, {}, {})",
        t.qualified(),
        row.version.get(),
        literal(row.name),
        literal(row.action.as_str()),
        literal(row.state.as_str()),
        literal(&row.checksum.to_string()),
        opt(row.down_checksum.map(|c| literal(&c.to_string()))),
        literal(row.sql),
        opt(row.down_sql.map(literal)),
        row.no_transaction,
        row.irreversible,
        opt(row.statements_total.map(|n| n.to_string())),
        row.statements_applied,
        checksums.join(", "),
        if in_progress {
            "NULL"
        } else {
            "clock_timestamp()"
        },
        opt(row
            .execution_ms
            .filter(|ms| ms.is_finite())
            .map(|ms| format!("{ms}"))),
        opt(error.as_deref().map(literal)),
        opt(row.error_statement.map(|n| n.to_string())),
        opt(row.note.map(literal)),
        opt(client_host().as_deref().map(literal)),
        literal(env!("CARGO_PKG_VERSION")),
    )
}

/// A SQL string literal, dollar-quoted with a tag the text does not contain (no escaping).
fn literal(text: &str) -> String {
    let mut tag = "$cm$".to_string();
    let mut n = 0;
    // The first occurrence of the tag after the opening one must be the closing one.
    while format!("{text}{tag}").find(&tag) != Some(text.len()) {
        n += 1;
        tag = format!("$cm{n}$");
    }
    format!("{tag}{text}{tag}")
}

/// Inserts a row and returns its id.
pub(crate) fn insert(
    client: &mut impl GenericClient,
    t: &HistoryTable,
    row: &NewRow<'_>,
) -> Result<i64, postgres::Error> {
    let messages = client.simple_query(&format!("{} RETURNING id", insert_sql(t, row)))?;
    Ok(messages
        .iter()
        .find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => r.get(0).and_then(|id| id.parse().ok()),
            _ => None,
        })
        .unwrap_or_default())
}

/// Records progress of a no-transaction migration: statements done so far.
pub(crate) fn progress(
    client: &mut impl GenericClient,
    t: &HistoryTable,
    id: i64,
    applied: i32,
) -> Result<(), postgres::Error> {
    client.execute(
        &format!(
            "UPDATE {} SET statements_applied = $2 WHERE id = $1",
            t.qualified()
        ),
        &[&id, &applied],
    )?;
    Ok(())
}

/// Finishes a no-transaction migration's row: applied, or failed with the error.
pub(crate) fn finish(
    client: &mut impl GenericClient,
    t: &HistoryTable,
    id: i64,
    state: RowState,
    execution_ms: f64,
    error: Option<&str>,
    error_statement: Option<i32>,
) -> Result<(), postgres::Error> {
    client.execute(
        &format!(
            "UPDATE {} SET state = $2, finished_at = clock_timestamp(), execution_ms = $3,
                 error = $4, error_statement = $5 WHERE id = $1",
            t.qualified()
        ),
        &[
            &id,
            &state.as_str(),
            &execution_ms,
            &error,
            &error_statement,
        ],
    )?;
    Ok(())
}

fn client_host() -> Option<String> {
    gethostname::gethostname().into_string().ok()
}

#[cfg(test)]
mod tests {
    use super::literal;

    #[test]
    fn literals_never_end_early() {
        assert_eq!(literal("it's"), "$cm$it's$cm$");
        assert_eq!(literal("a $cm$ b"), "$cm1$a $cm$ b$cm1$");
        assert_eq!(literal("ends with $cm"), "$cm1$ends with $cm$cm1$");
        assert_eq!(literal(""), "$cm$$cm$");
    }
}
