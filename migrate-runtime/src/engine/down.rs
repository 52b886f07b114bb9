//! `down`: revert the newest applied migrations with their down.sql (the file's, else the one
//! recorded when it was applied), each atomically with its history row.

use super::error::{EngineError, Refusal};
use super::execute::{RunError, Script, set_lock_timeout};
use super::history::{self, Action, NewRow, Row, RowState};
use super::{Engine, Event};
use crate::model::{Directives, MigrationSet, SqlFile};
use crate::{Checksum, Version};
use postgres::Client;
use std::time::Instant;

/// How far `down` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownTarget {
    /// The newest N applied migrations.
    Steps(usize),
    /// Every applied migration newer than this version (which stays applied).
    To(Version),
}

/// A migration that was reverted.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Reverted {
    /// Its version.
    pub version: Version,
    /// Its name.
    pub name: String,
    /// Wall time.
    pub duration_ms: f64,
    /// down.sql came from the history because the file is gone.
    pub recorded_down: bool,
}

/// What `down` did or, in a dry run, would do.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DownReport {
    /// The migrations to revert, newest first, with the SQL that reverts each.
    pub plan: Vec<(Version, String, String)>,
    /// What was reverted.
    pub reverted: Vec<Reverted>,
    /// It was a dry run.
    pub dry_run: bool,
}

struct Target<'a> {
    row: &'a Row,
    file: SqlFile,
    recorded: bool,
}

impl Engine {
    /// Reverts applied migrations, newest first. Checks every target before running any:
    /// irreversible migrations, or ones without any down.sql, are refused.
    pub fn down(
        &self,
        client: &mut Client,
        set: &MigrationSet,
        target: DownTarget,
        dry_run: bool,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<DownReport, EngineError> {
        if dry_run {
            let rows = self.history(client)?;
            let targets = self.down_targets(set, &rows, target)?;
            return Ok(DownReport {
                plan: plan(&targets),
                reverted: Vec::new(),
                dry_run: true,
            });
        }
        let mut guard = self.lock(client, events)?;
        let client: &mut Client = &mut guard;
        let rows = self.history(client)?;
        let targets = self.down_targets(set, &rows, target)?;
        let mut reverted = Vec::new();
        for t in &targets {
            let r = t.row;
            if t.recorded {
                events(Event::UsingRecordedDown {
                    version: r.version,
                    name: &r.name,
                });
            }
            let started = Instant::now();
            let script = Script::new(r.version, &t.file, false)
                .map_err(|x| EngineError::Refused(vec![x]))?;
            let no_transaction = Directives::parse(&t.file.sql).is_ok_and(|d| d.no_transaction);
            let mut attempt = 0;
            loop {
                match self.revert_once(client, t, &script, no_transaction, started)? {
                    Ok(()) => break,
                    Err(failed)
                        if self.retry_lock_timeout(
                            &failed.error,
                            &mut attempt,
                            r.version,
                            events,
                        ) => {}
                    Err(failed) => {
                        let mut failure = script.failure(r.version, &r.name, &failed);
                        failure.transactional = !no_transaction;
                        return Err(EngineError::Failed {
                            failure: Box::new(failure),
                            applied: Vec::new(),
                        });
                    }
                }
            }
            let done = Reverted {
                version: r.version,
                name: r.name.clone(),
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                recorded_down: t.recorded,
            };
            events(Event::RolledBack(&done));
            reverted.push(done);
        }
        Ok(DownReport {
            plan: plan(&targets),
            reverted,
            dry_run: false,
        })
    }

    /// Runs one down.sql and records the rollback: the outer error is the engine's own, the
    /// inner one the SQL's (with the failing statement's index).
    fn revert_once(
        &self,
        client: &mut Client,
        t: &Target<'_>,
        script: &Script<'_>,
        no_transaction: bool,
        started: Instant,
    ) -> Result<Result<(), RunError>, EngineError> {
        let record = "cannot record the rollback in the history";
        if no_transaction {
            set_lock_timeout(client, self.config.lock_timeout, false)?;
            let result = script.run(client, 0, "", &mut |_, _| Ok(()));
            if !self.config.lock_timeout.is_zero() {
                let _ = client.batch_execute("RESET lock_timeout");
            }
            if result.is_ok() {
                history::insert(
                    client,
                    &self.config.history,
                    &down_row(t.row, &t.file.sql, started),
                )
                .map_err(EngineError::db(record))?;
            }
            return Ok(result);
        }
        let mut tx = client
            .transaction()
            .map_err(EngineError::db("cannot begin a transaction"))?;
        set_lock_timeout(&mut tx, self.config.lock_timeout, true)?;
        if let Err(e) = script.run(&mut tx, 0, "", &mut |_, _| Ok(())) {
            return Ok(Err(e));
        }
        history::insert(
            &mut tx,
            &self.config.history,
            &down_row(t.row, &t.file.sql, started),
        )
        .map_err(EngineError::db(record))?;
        Ok(tx.commit().map_err(|error| RunError {
            index: None,
            error,
            prefix_chars: 0,
        }))
    }

    fn down_targets<'a>(
        &self,
        set: &MigrationSet,
        rows: &'a [Row],
        target: DownTarget,
    ) -> Result<Vec<Target<'a>>, EngineError> {
        let mut applied: Vec<&Row> = rows
            .iter()
            .filter(|r| r.state == RowState::Applied)
            .collect();
        applied.sort_by_key(|r| std::cmp::Reverse(r.version));
        let chosen: Vec<&Row> = match target {
            DownTarget::Steps(n) => applied.into_iter().take(n).collect(),
            DownTarget::To(v) => {
                if !rows
                    .iter()
                    .any(|r| r.version == v && r.state == RowState::Applied)
                    && set.get(v).is_none()
                {
                    return Err(EngineError::invalid(
                        format!("--to {v}: no migration {v} is applied or in the directory"),
                        None,
                    ));
                }
                applied.into_iter().take_while(|r| r.version > v).collect()
            }
        };
        if let Some(failed) = rows.iter().find(|r| r.state == RowState::Failed) {
            return Err(EngineError::invalid(
                format!(
                    "migration {}_{} failed; resolve it before reverting anything",
                    failed.version, failed.name
                ),
                Some(format!(
                    "`cargo migrate resolve --rolled-back {}` (or `--applied`)",
                    failed.version
                )),
            ));
        }
        let mut refusals = Vec::new();
        let mut targets = Vec::new();
        for r in chosen {
            let file = set.get(r.version);
            let irreversible = file.map_or(r.irreversible, |m| m.directives.irreversible);
            let folder = file.map_or_else(
                || set.dir.join(format!("{}_{}", r.version, r.name)),
                |m| m.dir.clone(),
            );
            if irreversible {
                refusals.push(Refusal {
                    version: Some(r.version),
                    message: format!("{}: irreversible (`-- migrate:irreversible`), it has no down.sql", folder.display()),
                    help: "it cannot be reverted by a migration: restore the database from the backup taken \
                           before it, or write a new forward migration that undoes what you need"
                        .into(),
                    diff: None,
                });
                continue;
            }
            match (file.and_then(|m| m.down.as_ref()), &r.down_sql) {
                (Some(d), _) => targets.push(Target { row: r, file: d.clone(), recorded: false }),
                (None, Some(sql)) if file.is_none() => targets.push(Target { row: r, file: SqlFile::new(folder.join("down.sql (recorded)"), sql.clone()), recorded: true }),
                _ => refusals.push(Refusal {
                    version: Some(r.version),
                    message: format!("{}: has no down.sql", folder.display()),
                    help: "write its down.sql (and seal it with --force if it is sealed and never shared), \
                           or mark it `-- migrate:irreversible`"
                        .into(),
                    diff: None,
                }),
            }
        }
        if !refusals.is_empty() {
            return Err(EngineError::Refused(refusals));
        }
        Ok(targets)
    }
}

fn plan(targets: &[Target<'_>]) -> Vec<(Version, String, String)> {
    targets
        .iter()
        .map(|t| (t.row.version, t.row.name.clone(), t.file.sql.clone()))
        .collect()
}

fn down_row<'a>(r: &'a Row, down_sql: &'a str, started: Instant) -> NewRow<'a> {
    NewRow {
        version: r.version,
        name: &r.name,
        action: Action::Down,
        state: RowState::RolledBack,
        checksum: r
            .checksum
            .parse()
            .unwrap_or(Checksum::of_sql(r.sql.as_bytes())),
        down_checksum: Some(Checksum::of_sql(down_sql.as_bytes())),
        sql: &r.sql,
        down_sql: Some(down_sql),
        no_transaction: r.no_transaction,
        irreversible: r.irreversible,
        statements_total: None,
        statements_applied: 0,
        statement_checksums: Vec::new(),
        execution_ms: Some(started.elapsed().as_secs_f64() * 1000.0),
        error: None,
        error_statement: None,
        note: None,
    }
}
