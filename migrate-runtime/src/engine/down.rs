//! `down`: revert the newest applied migrations with their down.sql (the file's, else the one
//! recorded when it was applied). Every target is checked before any runs, exactly as `apply`
//! checks: irreversible migrations, missing down.sql, statements that cannot run in the
//! transaction down.sql runs in. A down.sql runs the way its migration.sql does (unless it says
//! otherwise); a failed one is recorded and shown by `status`, and a no-transaction one that
//! failed part-way resumes at the failed statement.

use super::error::{Completed, Direction, EngineError, Refusal};
use super::execute::Script;
use super::history::{Action, BackfillProgress, NewRow, Row, RowState};
use super::runner::{Job, Runner, ms};
use super::session::{self, Replay};
use super::status::{statement_checksum_values, statement_checksums};
use super::{Engine, Event, refusal};
use crate::model::{Directives, MigrationSet, SqlFile, down_no_transaction, needs_no_transaction};
use crate::{Checksum, Version};
use postgres::Client;
use std::time::Instant;

/// How far `down` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownTarget {
    /// The newest N applied migrations.
    Steps(usize),
    /// Every applied migration newer than this version (which stays applied); version 0
    /// reverts them all.
    To(Version),
}

/// One migration `down` will revert.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DownPlanned {
    /// Its version.
    pub version: Version,
    /// Its name.
    pub name: String,
    /// The down.sql that reverts it.
    pub down_sql: String,
    /// down.sql runs outside a transaction.
    pub no_transaction: bool,
    /// down.sql comes from the history (the folder is gone).
    pub recorded: bool,
    /// For a partly reverted migration: the 1-based statement the down resumes at.
    pub resume_at: Option<usize>,
    /// down.sql is a backfill: it runs batch by batch, each batch in a transaction of its own
    /// (in JSON only when true).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub backfill: bool,
    /// For an interrupted backfill down.sql: the checkpoint it resumes after (in JSON only
    /// when set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfill_from: Option<BackfillProgress>,
}

/// What `down` did or, in a dry run, would do.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DownReport {
    /// The migrations to revert, newest first.
    pub plan: Vec<DownPlanned>,
    /// What was reverted.
    pub reverted: Vec<Completed>,
    /// It was a dry run.
    pub dry_run: bool,
}

struct Target<'a> {
    row: &'a Row,
    file: SqlFile,
    recorded: bool,
    no_transaction: bool,
    resume_from: usize,
    replay: Vec<String>,
    /// A partly reverted backfill down.sql: its last checkpoint.
    backfill_from: Option<BackfillProgress>,
}

impl Engine {
    /// Reverts applied migrations, newest first, stopping at the first failure (the error
    /// lists what was reverted before it). Checks every target before running any.
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
            let targets = down_targets(set, &rows, target)?;
            self.check_rust_backfills(set, &targets)?;
            return Ok(DownReport {
                plan: plan(&targets),
                reverted: Vec::new(),
                dry_run: true,
            });
        }
        let mut guard = self.lock(client, events)?;
        let client: &mut Client = &mut guard;
        let rows = self.history(client)?;
        let targets = down_targets(set, &rows, target)?;
        self.check_rust_backfills(set, &targets)?;
        let mut runner = Runner::start(self, client)?;
        let mut reverted = Vec::new();
        for t in &targets {
            let r = t.row;
            if t.recorded {
                events(Event::UsingRecordedDown {
                    version: r.version,
                    name: &r.name,
                });
            }
            events(Event::Starting {
                version: r.version,
                name: &r.name,
                no_transaction: t.no_transaction,
                direction: Direction::Down,
            });
            let started = Instant::now();
            let script = Script::new(r.version, &t.file, t.no_transaction)
                .map_err(|x| EngineError::Refused(vec![x]))?;
            let job = job(t, &script);
            let ran = match t.file.backfill() {
                Ok(Some(b)) => runner
                    .backfill(&job, b, &t.file, t.backfill_from.as_ref(), events)
                    .map(|p| (None, Some(p))),
                _ => runner.run(&job, events).map(|n| (n, None)),
            };
            match ran {
                Ok((statements, backfill)) => {
                    let done = Completed {
                        version: r.version,
                        name: r.name.clone(),
                        duration_ms: ms(started),
                        statements,
                        no_transaction: t.no_transaction,
                        resumed_at: (t.resume_from > 0).then_some(t.resume_from + 1),
                        recorded_down: t.recorded,
                        retried: false,
                        backfill,
                        backfill_resumed: t.backfill_from.clone().filter(|p| p.batches > 0),
                    };
                    events(Event::RolledBack(&done));
                    reverted.push(done);
                }
                Err(e) => {
                    runner.finish();
                    return Err(e.into_engine(&job, reverted));
                }
            }
        }
        runner.finish();
        Ok(DownReport {
            plan: plan(&targets),
            reverted,
            dry_run: false,
        })
    }
}

/// The migrations to revert, newest first, with the down.sql for each; every problem refused
/// up front.
impl Engine {
    /// Refuses a revert that reaches a Rust backfill without its code (before anything runs).
    fn check_rust_backfills(
        &self,
        set: &MigrationSet,
        targets: &[Target<'_>],
    ) -> Result<(), EngineError> {
        let refusals = super::rust_backfill::check_registered(
            &self.backfills,
            set,
            Direction::Down,
            targets
                .iter()
                .map(|t| (t.row.version, t.row.name.as_str(), &t.file)),
        );
        if refusals.is_empty() {
            Ok(())
        } else {
            Err(EngineError::Refused(refusals))
        }
    }
}

fn down_targets<'a>(
    set: &MigrationSet,
    rows: &'a [Row],
    target: DownTarget,
) -> Result<Vec<Target<'a>>, EngineError> {
    let partly_reverted = |r: &Row| r.action == Action::Down && r.state == RowState::Failed;
    let mut revertible: Vec<&Row> = rows
        .iter()
        .filter(|r| r.state == RowState::Applied || partly_reverted(r))
        .collect();
    revertible.sort_by_key(|r| std::cmp::Reverse(r.version));
    let chosen: Vec<&Row> = match target {
        DownTarget::Steps(n) => revertible.into_iter().take(n).collect(),
        DownTarget::To(v) => {
            // Version 0 means "before every migration": revert them all.
            if v.get() != 0
                && !rows
                    .iter()
                    .any(|r| r.version == v && r.state == RowState::Applied)
                && set.get(v).is_none()
            {
                return Err(EngineError::invalid(
                    format!("--to {v}: no migration {v} is applied or in the directory"),
                    None,
                ));
            }
            revertible
                .into_iter()
                .take_while(|r| r.version > v)
                .collect()
        }
    };
    // A migration applied part-way outside a transaction must be finished (or resolved) before
    // anything under it is reverted.
    if let Some(partial) = rows
        .iter()
        .find(|r| r.action == Action::Apply && r.state == RowState::Failed && r.no_transaction)
    {
        // A stopped backfill: its down.sql would run over keys its batches never reached.
        if let Some(p) = &partial.backfill {
            return Err(EngineError::invalid(
                format!(
                    "migration {} is partly applied: its backfill stopped after {} ({}, {}, \
                     last key {}); finish it before reverting anything",
                    partial.folder(),
                    crate::counted(p.batches, "batch", "batches"),
                    crate::counted(p.keys, "key", "keys"),
                    crate::counted(p.rows, "row", "rows"),
                    p.last_key.as_deref().unwrap_or("-"),
                ),
                Some(format!(
                    "`cargo migrate apply` resumes it after the last committed batch; then \
                     `cargo migrate down` reverts it whole. Or, if you undid its batches by \
                     hand, `cargo migrate resolve --rolled-back {v}`",
                    v = partial.version
                )),
            ));
        }
        return Err(EngineError::invalid(
            format!(
                "migration {} is partly applied (it failed outside a transaction); finish it \
                 before reverting anything",
                partial.folder()
            ),
            Some(format!(
                "`cargo migrate apply` resumes it; or, if you fixed it by hand, `cargo migrate \
                 resolve --applied {v}` or `--rolled-back {v}`",
                v = partial.version
            )),
        ));
    }
    let mut refusals = Vec::new();
    let mut targets = Vec::new();
    for r in chosen {
        match target_for(set, r) {
            Ok(t) => targets.push(t),
            Err(mut found) => refusals.append(&mut found),
        }
    }
    if !refusals.is_empty() {
        return Err(EngineError::Refused(refusals));
    }
    Ok(targets)
}

fn target_for<'a>(set: &MigrationSet, r: &'a Row) -> Result<Target<'a>, Vec<Refusal>> {
    let m = set.get(r.version);
    let folder = m.map_or_else(|| set.dir.join(r.folder()), |m| m.dir.clone());
    let refuse = |message: String, help: &str| {
        vec![Refusal {
            version: Some(r.version),
            message,
            help: help.into(),
            diff: None,
            in_files: true,
        }]
    };
    if m.map_or(r.irreversible, |m| m.directives.irreversible) {
        return Err(refuse(
            format!(
                "{}: irreversible (`-- migrate:irreversible`), it has no down.sql",
                folder.display()
            ),
            "it cannot be reverted by a migration: restore the database from the backup taken \
             before it, or write a new forward migration that undoes what you need",
        ));
    }
    let (file, recorded, no_transaction) = match (m, &r.down_sql) {
        (Some(m), _) if m.down.is_some() => (
            m.down
                .clone()
                .unwrap_or_else(|| SqlFile::new(folder.clone(), String::new())),
            false,
            m.down_no_transaction,
        ),
        (None, Some(sql)) => {
            let up = Directives {
                no_transaction: r.no_transaction,
                ..Directives::default()
            };
            let down = Directives::for_down(sql).unwrap_or_default();
            (
                SqlFile::new(folder.join("down.sql (recorded)"), sql.clone()),
                true,
                down_no_transaction(&up, &down),
            )
        }
        _ => {
            return Err(refuse(
                format!("{}: has no down.sql", folder.display()),
                "write its down.sql (and seal it with --force if it is sealed and never shared), \
                 or mark it `-- migrate:irreversible`",
            ));
        }
    };
    // A backfill down.sql runs batch by batch (each batch its own transaction), resumed
    // after its last committed batch.
    if matches!(file.backfill(), Ok(Some(_))) {
        let partly = r.action == Action::Down && r.state == RowState::Failed;
        if let Some(changed) = partly
            .then(|| refusal::down_backfill_walk_changed(r.version, &file, r))
            .flatten()
        {
            return Err(vec![changed]);
        }
        return Ok(Target {
            row: r,
            file,
            recorded,
            no_transaction: true,
            resume_from: 0,
            replay: Vec::new(),
            backfill_from: r.backfill.clone().filter(|_| partly),
        });
    }
    if let Err(r) = Script::new(r.version, &file, no_transaction) {
        return Err(vec![r]);
    }
    if !no_transaction {
        let found = needs_no_transaction(&file.sql);
        if !found.is_empty() {
            return Err(found
                .iter()
                .map(|f| refusal::needs_no_transaction(r.version, &file, f, true))
                .collect());
        }
    }
    let (resume_from, replay) = if r.action == Action::Down && r.state == RowState::Failed {
        resume_point(r, &file, no_transaction)?
    } else {
        (0, Vec::new())
    };
    Ok(Target {
        row: r,
        file,
        recorded,
        no_transaction,
        resume_from,
        replay,
        backfill_from: None,
    })
}

/// Where a partly reverted migration's down resumes: after the statements that ran, provided
/// they are unchanged and their session state can be replayed.
fn resume_point(
    r: &Row,
    file: &SqlFile,
    no_transaction: bool,
) -> Result<(usize, Vec<String>), Vec<Refusal>> {
    let v = r.version;
    let done = r.statements_applied.max(0) as usize;
    let refuse = |message: String, help: String| {
        vec![Refusal {
            version: Some(v),
            message: format!("{}: {message}", file.path.display()),
            help,
            diff: None,
            in_files: false,
        }]
    };
    let by_hand = format!(
        "if you finished it by hand, `cargo migrate resolve --rolled-back {v}`; if you restored \
         it, `cargo migrate resolve --applied {v}`"
    );
    if !no_transaction {
        return Err(refuse(
            format!(
                "its down.sql failed after {done} statements outside a transaction, but now runs in one"
            ),
            format!(
                "restore its `-- migrate:no-transaction` so `cargo migrate down` resumes it; {by_hand}"
            ),
        ));
    }
    let Ok(statements) = file.statements() else {
        return Err(refuse(
            "cannot be split into statements to resume it".into(),
            by_hand,
        ));
    };
    let current = statement_checksums(&file.sql, statements);
    for i in 0..done {
        if current.get(i) != r.statement_checksums.get(i) {
            return Err(refuse(
                format!(
                    "statement {} already ran before the failure, but has changed since",
                    i + 1
                ),
                format!(
                    "restore statements 1 to {done} as they were (only the failed statement and \
                     the ones after it may change); {by_hand}"
                ),
            ));
        }
    }
    match session::replay(&file.sql, statements, done) {
        Replay::Statements(s) => Ok((done, s)),
        Replay::Impossible { index, what } => Err(refuse(
            format!(
                "statement {index}, which already ran, {what}: a resumed down starts a new \
                 session, where that is gone"
            ),
            format!("finish it by hand; {by_hand}"),
        )),
    }
}

/// The runner's job for a target: its down.sql with a `down` row.
fn job<'a>(t: &'a Target<'a>, script: &'a Script<'a>) -> Job<'a> {
    let r = t.row;
    Job {
        version: r.version,
        name: &r.name,
        direction: Direction::Down,
        script,
        no_transaction: t.no_transaction,
        resume_from: t.resume_from,
        replay: &t.replay,
        row: NewRow {
            version: r.version,
            name: &r.name,
            action: Action::Down,
            state: RowState::RolledBack,
            checksum: r.checksum,
            down_checksum: Some(Checksum::of_sql(t.file.sql.as_bytes())),
            sql: &r.sql,
            down_sql: Some(&t.file.sql),
            no_transaction: r.no_transaction,
            irreversible: r.irreversible,
            statements_total: script.len().map(|n| n as i32),
            statements_applied: 0,
            statement_checksums: script
                .statements
                .map(|s| statement_checksum_values(&t.file.sql, s))
                .unwrap_or_default(),
            execution_ms: None,
            error: None,
            error_statement: None,
            note: None,
            in_progress: false,
            backup: None,
            backfill: None,
        },
        // A transactional down.sql that fails is rolled back: the migration stays applied. One
        // that ran outside a transaction leaves it partly reverted.
        failed_state: if t.no_transaction {
            RowState::Failed
        } else {
            RowState::Applied
        },
        async_commit: false,
    }
}

fn plan(targets: &[Target<'_>]) -> Vec<DownPlanned> {
    targets
        .iter()
        .map(|t| DownPlanned {
            version: t.row.version,
            name: t.row.name.clone(),
            down_sql: t.file.sql.clone(),
            no_transaction: t.no_transaction,
            recorded: t.recorded,
            resume_at: (t.resume_from > 0).then_some(t.resume_from + 1),
            backfill: matches!(t.file.backfill(), Ok(Some(_))),
            backfill_from: t.backfill_from.clone().filter(|p| p.batches > 0),
        })
        .collect()
}
