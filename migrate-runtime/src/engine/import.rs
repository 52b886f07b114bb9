//! `import`, the database side: finds and reads another tool's history table (only ever with
//! `SELECT`), and records the migrations it applied in ours, as `import` rows, in one
//! transaction under the migration lock. The verdicts come from `import::decide`, a pure
//! function of the two histories and the files.

use super::error::EngineError;
use super::history::{self, Action, NewRow, RowState};
use super::status::statement_checksum_values;
use super::{Engine, Event};
use crate::import::{
    AdoptionState, HistoryOptions, HistoryReport, ImportError, ImportReport, Imported, Problem,
    Recorded, Tool, decide, imported,
};
use crate::model::{MigrationSet, split_statements};
use crate::{QualifiedName, quote_ident};
use postgres::{Client, GenericClient};

impl Engine {
    /// Adopts another tool's history for the migrations of `set` imported from it: checks
    /// every imported migration against the tool's table (applied, failed, checksum, name, a
    /// migration on one side only) and, unless `dry_run`, records those the tool applied as
    /// applied in our history (action `import`), all in one transaction under the migration
    /// lock. Any problem refuses the whole adoption, with the verdict of every migration
    /// ([`ImportError::Refused`]); the tool's table is only read.
    ///
    /// ```no_run
    /// use migrate_runtime::MigrationSet;
    /// use migrate_runtime::engine::Engine;
    /// use migrate_runtime::import::{HistoryOptions, Tool};
    /// let set = MigrationSet::read("migrations".as_ref())?;
    /// let mut client = postgres::Client::connect("postgres://postgres@localhost/app", postgres::NoTls)?;
    /// let options = HistoryOptions { tool: Tool::Diesel, source_table: None, dry_run: false };
    /// let report = Engine::default().import_history(&mut client, &set, &options, &mut |_| {})?;
    /// println!("{} recorded", report.recorded);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn import_history(
        &self,
        client: &mut Client,
        set: &MigrationSet,
        options: &HistoryOptions,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<HistoryReport, ImportError> {
        let tool = options.tool;
        let imported = imported(tool, set).map_err(|problems| ImportError::Invalid {
            message: format!(
                "the migrations of {} cannot be matched with {tool}'s history",
                set.dir.display()
            ),
            problems,
        })?;
        if imported.is_empty() {
            return Err(ImportError::Invalid {
                message: format!(
                    "no migration in {} was imported from {tool}",
                    set.dir.display()
                ),
                problems: vec![Problem::general(format!(
                    "import the files first, or both in one run: `cargo migrate import --from \
                     {tool} <{tool}'s migrations directory> --history`"
                ))],
            });
        }
        // Decided first without the lock, so that a refusal leaves no trace (not even our
        // history table); then again under the lock, against the history as it is then.
        let checked = self.adoption(client, set, &imported, options)?;
        if options.dry_run {
            return Ok(checked);
        }
        let mut guard = self.lock(client, events).map_err(ImportError::Engine)?;
        let client: &mut Client = &mut guard;
        let mut report = self.adoption(client, set, &imported, options)?;
        let db = |context: &str| {
            let context = context.to_string();
            move |e| ImportError::Engine(EngineError::db(context)(e))
        };
        let mut tx = client
            .transaction()
            .map_err(db("cannot start the transaction"))?;
        let mut recorded = 0;
        for a in report
            .migrations
            .iter()
            .filter(|a| a.state == AdoptionState::Import)
        {
            let Some(m) = imported
                .iter()
                .find(|m| Some(m.migration.version) == a.version)
            else {
                continue;
            };
            record(
                &mut tx,
                &self.config.history,
                tool,
                m,
                a.applied_at.as_deref(),
            )?;
            recorded += 1;
        }
        tx.commit()
            .map_err(db("cannot commit the imported history"))?;
        report.recorded = recorded;
        Ok(report)
    }

    /// Reads both histories and decides; refuses when any migration is a problem.
    fn adoption(
        &self,
        client: &mut Client,
        set: &MigrationSet,
        imported: &[Imported<'_>],
        options: &HistoryOptions,
    ) -> Result<HistoryReport, ImportError> {
        let tool = options.tool;
        let (shown, quoted) = locate(client, tool, options.source_table.as_deref())?;
        let rows = tool.history(client, &quoted).map_err(|e| {
            ImportError::Engine(EngineError::db(format!(
                "cannot read {tool}'s table {shown}"
            ))(e))
        })?;
        let ours: Vec<Recorded> = history::latest(client, &self.config.history)
            .map_err(|e| {
                ImportError::Engine(EngineError::history("cannot read the migration history")(e))
            })?
            .into_iter()
            .map(|r| Recorded {
                version: r.version,
                state: r.state.as_str(),
                checksum: r.checksum,
            })
            .collect();
        let report = HistoryReport {
            table: shown,
            history_table: self.config.history.to_string(),
            migrations: decide(tool, imported, &rows, &ours),
            recorded: 0,
            sealed: Vec::new(),
        };
        if report.refusals().next().is_some() {
            let mut refused = ImportReport::new(tool, None, set.dir.clone(), options.dry_run);
            refused.history = Some(report);
            return Err(ImportError::Refused(Box::new(refused)));
        }
        Ok(report)
    }
}

/// Inserts one `import` row.
fn record(
    client: &mut impl GenericClient,
    table: &super::HistoryTable,
    tool: Tool,
    m: &Imported<'_>,
    applied_at: Option<&str>,
) -> Result<(), ImportError> {
    let migration = m.migration;
    let sql = migration.up.sql.as_str();
    let statements = split_statements(sql).ok();
    let when = applied_at.map_or_else(String::new, |t| format!(" (applied {t})"));
    let row = NewRow {
        version: migration.version,
        name: &migration.name,
        action: Action::Import,
        state: RowState::Applied,
        checksum: migration.up.checksum,
        down_checksum: migration.down.as_ref().map(|d| d.checksum),
        sql,
        down_sql: migration.down.as_ref().map(|d| d.sql.as_str()),
        no_transaction: migration.directives.no_transaction,
        irreversible: migration.directives.irreversible,
        statements_total: statements.as_ref().map(|s| s.len() as i32),
        statements_applied: 0,
        statement_checksums: statements
            .as_deref()
            .map(|s| statement_checksum_values(sql, s))
            .unwrap_or_default(),
        execution_ms: None,
        error: None,
        error_statement: None,
        note: Some(format!("imported from {tool} {}{when}", m.origin)),
        in_progress: false,
        backup: None,
        backfill: None,
    };
    history::insert(client, table, &row)
        .map(|_| ())
        .map_err(|e| {
            ImportError::Engine(EngineError::history("cannot record the imported history")(
                e,
            ))
        })
}

/// Finds the tool's table: the one given, else where the tool puts it. Returns its name for
/// messages (`schema.table`) and quoted for SQL.
fn locate(
    client: &mut Client,
    tool: Tool,
    given: Option<&str>,
) -> Result<(String, String), ImportError> {
    let candidates: Vec<QualifiedName> = match given {
        Some(text) => vec![text.parse().map_err(|e| ImportError::SourceTable {
            message: format!("invalid --source-table: {e}"),
            help: "give the table as `name` or `schema.name`".into(),
        })?],
        None => tool.table_candidates(),
    };
    let quote = |q: &QualifiedName| match &q.schema {
        Some(s) => format!(
            "{}.{}",
            quote_ident(s.as_str()),
            quote_ident(q.name.as_str())
        ),
        None => quote_ident(q.name.as_str()),
    };
    for q in &candidates {
        let found = client
            .query_opt(
                "SELECT n.nspname::text, c.relname::text,
                        ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
                              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
                 FROM pg_catalog.pg_class c
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
                &[&quote(q)],
            )
            .map_err(|e| {
                ImportError::Engine(EngineError::db(format!("cannot look for {tool}'s table"))(
                    e,
                ))
            })?;
        let Some(row) = found else { continue };
        let (schema, name): (String, String) = (row.get(0), row.get(1));
        let shown = super::HistoryTable {
            schema: schema.clone(),
            table: name.clone(),
        };
        let columns: Vec<String> = row.get(2);
        let missing: Vec<String> = tool
            .columns()
            .iter()
            .filter(|c| !columns.iter().any(|have| have == *c))
            .map(|c| format!("`{c}`"))
            .collect();
        if !missing.is_empty() {
            return Err(ImportError::SourceTable {
                message: format!(
                    "{shown} is not {tool}'s history table: it has no column {}",
                    missing.join(", ")
                ),
                help: format!("point --source-table at the table {tool} keeps its history in"),
            });
        }
        return Ok((shown.to_string(), shown.qualified()));
    }
    let names = candidates
        .iter()
        .map(|q| format!("`{q}`"))
        .collect::<Vec<_>>()
        .join(" or ");
    Err(ImportError::SourceTable {
        message: format!("this database has no table {names}, where {tool} keeps its history"),
        help: format!(
            "check the database URL: this one was never migrated by {tool}; if {tool} was told \
             to use another table, give it with --source-table <schema.table>"
        ),
    })
}
