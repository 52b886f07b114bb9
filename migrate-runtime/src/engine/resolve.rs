//! `resolve`: mark a migration applied without running it (baselining, or after fixing a failed
//! one by hand), or mark a failed one rolled back so it can be retried. Adds a history row; the
//! earlier rows stay, so the audit trail shows what happened.

use super::error::EngineError;
use super::history::{self, Action, NewRow, RowState};
use super::status::statement_checksums;
use super::{Engine, Event};
use crate::Version;
use crate::model::{MigrationSet, split_statements};
use postgres::Client;

/// What `resolve` marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// `--applied`: the migration is in the database.
    Applied,
    /// `--rolled-back`: the failed migration is not (any more) in the database.
    RolledBack,
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
        let Some(m) = set.get(version) else {
            return match (resolution, row) {
                (Resolution::RolledBack, Some(r)) => self.insert_resolution(
                    client,
                    r.version,
                    &r.name,
                    &r.sql,
                    r.down_sql.as_deref(),
                    r.no_transaction,
                    r.irreversible,
                    resolution,
                ),
                _ => Err(EngineError::invalid(
                    format!("there is no migration {version} in {}", set.dir.display()),
                    Some("`cargo migrate status` lists the migrations".into()),
                )),
            };
        };
        self.insert_resolution(
            client,
            m.version,
            &m.name,
            &m.up.sql,
            m.down.as_ref().map(|d| d.sql.as_str()),
            m.directives.no_transaction,
            m.directives.irreversible,
            resolution,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn insert_resolution(
        &self,
        client: &mut Client,
        version: Version,
        name: &str,
        sql: &str,
        down_sql: Option<&str>,
        no_transaction: bool,
        irreversible: bool,
        resolution: Resolution,
    ) -> Result<(), EngineError> {
        let statements = split_statements(sql).ok();
        let (state, note) = match resolution {
            Resolution::Applied => (RowState::Applied, "resolve --applied"),
            Resolution::RolledBack => (RowState::RolledBack, "resolve --rolled-back"),
        };
        let row = NewRow {
            version,
            name,
            action: Action::Resolve,
            state,
            checksum: crate::Checksum::of_sql(sql.as_bytes()),
            down_checksum: down_sql.map(|d| crate::Checksum::of_sql(d.as_bytes())),
            sql,
            down_sql,
            no_transaction,
            irreversible,
            statements_total: statements.as_ref().map(|s| s.len() as i32),
            statements_applied: 0,
            statement_checksums: statements
                .as_deref()
                .map(|s| statement_checksums(sql, s))
                .unwrap_or_default(),
            execution_ms: None,
            error: None,
            error_statement: None,
            note: Some(note.to_string()),
            in_progress: false,
        };
        history::insert(client, &self.config.history, &row).map_err(EngineError::history(
            "cannot record the resolution in the history",
        ))?;
        Ok(())
    }
}
