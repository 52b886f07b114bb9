//! `resolve`: mark a migration applied without running it (baselining, or after fixing a failed
//! one by hand), mark a failed (or partly reverted) one rolled back, or baseline an existing
//! database in one step (`--applied-through`). Adds history rows; the earlier rows stay, so the
//! audit trail shows what happened.

use super::error::EngineError;
use super::history::{self, Action, NewRow, Row, RowState};
use super::status::{self, State, statement_checksum_values};
use super::{Engine, Event};
use crate::model::{Migration, MigrationSet, split_statements};
use crate::{Checksum, Version};
use postgres::Client;

/// What `resolve` marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// `--applied`: the migration is in the database.
    Applied,
    /// `--rolled-back`: the failed migration is not (any more) in the database.
    RolledBack,
}

/// The SQL a resolution records: the file's, or (its folder gone) the history's.
struct Recorded<'a> {
    version: Version,
    name: &'a str,
    sql: &'a str,
    down_sql: Option<&'a str>,
    no_transaction: bool,
    irreversible: bool,
}

impl<'a> Recorded<'a> {
    fn of_migration(m: &'a Migration) -> Recorded<'a> {
        Recorded {
            version: m.version,
            name: &m.name,
            sql: &m.up.sql,
            down_sql: m.down.as_ref().map(|d| d.sql.as_str()),
            no_transaction: m.directives.no_transaction,
            irreversible: m.directives.irreversible,
        }
    }

    fn of_row(r: &'a Row) -> Recorded<'a> {
        Recorded {
            version: r.version,
            name: &r.name,
            sql: &r.sql,
            down_sql: r.down_sql.as_deref(),
            no_transaction: r.no_transaction,
            irreversible: r.irreversible,
        }
    }
}

impl Engine {
    /// Records a resolution for `version`, refusing when it makes no sense in its state.
    pub fn resolve(
        &self,
        client: &mut Client,
        set: &MigrationSet,
        version: Version,
        resolution: Resolution,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), EngineError> {
        let mut guard = self.lock(client, events)?;
        let client: &mut Client = &mut guard;
        let rows = self.history(client)?;
        let row = rows.iter().find(|r| r.version == version);
        let state = row.map(|r| r.state);
        let label = |s: Option<RowState>| match s {
            None => "never applied",
            Some(RowState::Applied) => "applied",
            Some(RowState::Failed) => "failed",
            Some(RowState::RolledBack) => "rolled back",
        };
        match (resolution, state) {
            (Resolution::Applied, Some(RowState::Applied)) => {
                return Err(EngineError::invalid(
                    format!("migration {version} is already applied"),
                    None,
                ));
            }
            (Resolution::RolledBack, Some(RowState::Failed)) => {}
            (Resolution::RolledBack, Some(RowState::Applied)) => {
                return Err(EngineError::invalid(
                    format!("migration {version} is applied, not failed"),
                    Some(format!(
                        "to revert an applied migration run `cargo migrate down --to <the version before {version}>`"
                    )),
                ));
            }
            (Resolution::RolledBack, s) => {
                return Err(EngineError::invalid(
                    format!(
                        "migration {version} is {}; only a failed migration can be marked rolled back",
                        label(s)
                    ),
                    None,
                ));
            }
            (Resolution::Applied, _) => {}
        }
        let recorded = match (set.get(version), resolution, row) {
            (Some(m), _, _) => Recorded::of_migration(m),
            (None, Resolution::RolledBack, Some(r)) => Recorded::of_row(r),
            _ => {
                return Err(EngineError::invalid(
                    format!("there is no migration {version} in {}", set.dir.display()),
                    Some("`cargo migrate status` lists the migrations".into()),
                ));
            }
        };
        insert(self, client, &recorded, resolution)
    }

    /// Baselines a database that already holds the schema of the migrations up to `through`
    /// (adopting cargo-migrate on an existing database): marks every one of them that is not
    /// applied (pending, out of order, failed, partly reverted) applied without running it, in
    /// one transaction. Returns the versions marked; a dry run marks nothing.
    pub fn resolve_through(
        &self,
        client: &mut Client,
        set: &MigrationSet,
        through: Version,
        dry_run: bool,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<Vec<Version>, EngineError> {
        if set.get(through).is_none() {
            return Err(EngineError::invalid(
                format!(
                    "--applied-through {through}: there is no migration {through} in {}",
                    set.dir.display()
                ),
                Some("`cargo migrate status` lists the migrations".into()),
            ));
        }
        let targets = |rows: &[Row]| -> Vec<Version> {
            status::compute(set, rows)
                .iter()
                .filter(|e| e.version <= through && e.migration.is_some())
                .filter(|e| {
                    matches!(
                        e.state,
                        State::Pending | State::OutOfOrder | State::Failed | State::DownFailed
                    )
                })
                .map(|e| e.version)
                .collect()
        };
        if dry_run {
            return Ok(targets(&self.history(client)?));
        }
        let mut guard = self.lock(client, events)?;
        let rows = self.history(&mut guard)?;
        let versions = targets(&rows);
        let mut tx = guard
            .transaction()
            .map_err(EngineError::db("cannot begin a transaction"))?;
        for m in versions.iter().filter_map(|v| set.get(*v)) {
            let row = new_row(
                &Recorded::of_migration(m),
                Resolution::Applied,
                "resolve --applied-through",
            );
            history::insert(&mut tx, &self.config.history, &row).map_err(EngineError::history(
                "cannot record the resolution in the history",
            ))?;
        }
        tx.commit()
            .map_err(EngineError::db("cannot commit the resolutions"))?;
        Ok(versions)
    }
}

fn new_row<'a>(r: &Recorded<'a>, resolution: Resolution, note: &str) -> NewRow<'a> {
    let statements = split_statements(r.sql).ok();
    let state = match resolution {
        Resolution::Applied => RowState::Applied,
        Resolution::RolledBack => RowState::RolledBack,
    };
    NewRow {
        version: r.version,
        name: r.name,
        action: Action::Resolve,
        state,
        checksum: Checksum::of_sql(r.sql.as_bytes()),
        down_checksum: r.down_sql.map(|d| Checksum::of_sql(d.as_bytes())),
        sql: r.sql,
        down_sql: r.down_sql,
        no_transaction: r.no_transaction,
        irreversible: r.irreversible,
        statements_total: statements.as_ref().map(|s| s.len() as i32),
        statements_applied: 0,
        statement_checksums: statements
            .as_deref()
            .map(|s| statement_checksum_values(r.sql, s))
            .unwrap_or_default(),
        execution_ms: None,
        error: None,
        error_statement: None,
        note: Some(note.to_string()),
        in_progress: false,
        backup: None,
        backfill: None,
    }
}

fn insert(
    engine: &Engine,
    client: &mut Client,
    recorded: &Recorded<'_>,
    resolution: Resolution,
) -> Result<(), EngineError> {
    let note = match resolution {
        Resolution::Applied => "resolve --applied",
        Resolution::RolledBack => "resolve --rolled-back",
    };
    history::insert(
        client,
        &engine.config.history,
        &new_row(recorded, resolution, note),
    )
    .map_err(EngineError::history(
        "cannot record the resolution in the history",
    ))?;
    Ok(())
}
