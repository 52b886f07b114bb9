//! What `apply` will run, decided before anything runs: every check against the history (a
//! pure function of the files and the rows, apart from splitting SQL), and the ordered steps.

use super::error::{EngineError, Refusal};
use super::execute::Script;
use super::history::Row;
use super::session::{self, Replay};
use super::status::{self, State, newest_applied, statement_checksums};
use super::{Engine, refusal};
use crate::Version;
use crate::model::{Migration, MigrationSet, needs_no_transaction};

/// Options of `apply`.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Stop after this version.
    pub to: Option<Version>,
    /// Print the plan, change nothing.
    pub dry_run: bool,
    /// All pending migrations in one transaction.
    pub single_transaction: bool,
    /// Apply pending migrations older than an applied one.
    pub allow_out_of_order: bool,
}

/// One statement of the plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlannedStatement {
    /// 1-based index.
    pub index: usize,
    /// 1-based line in migration.sql.
    pub line: usize,
    /// Its SQL.
    pub sql: String,
}

/// One migration the plan will run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Planned {
    /// Its version.
    pub version: Version,
    /// Its name.
    pub name: String,
    /// Runs outside a transaction.
    pub no_transaction: bool,
    /// For a resumed no-transaction migration: the 1-based statement it resumes at.
    pub resume_at: Option<usize>,
    /// It failed before (its transaction was rolled back) and is retried.
    pub retried: bool,
    /// A backfill: it runs batch by batch, each batch in a transaction of its own (in JSON
    /// only when true).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub backfill: bool,
    /// For an interrupted backfill: the checkpoint it resumes after (in JSON only when set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfill_from: Option<super::history::BackfillProgress>,
    /// Its statements, in a dry run (empty when the file is run as one batch, and in a real
    /// run, which reports what ran in [`ApplyReport::applied`](super::ApplyReport)).
    pub statements: Vec<PlannedStatement>,
}

/// One migration the run will apply.
pub(crate) struct Step<'a> {
    pub(crate) migration: &'a Migration,
    pub(crate) script: Script<'a>,
    /// For a failed no-transaction migration: statements already done.
    pub(crate) resume_from: usize,
    /// Session statements to replay before resuming.
    pub(crate) replay: Vec<String>,
    /// It failed before (its transaction was rolled back) and is retried: the old error.
    pub(crate) retried: Option<&'a str>,
    /// An interrupted backfill: its last checkpoint, to resume after.
    pub(crate) backfill_from: Option<super::history::BackfillProgress>,
}

impl Engine {
    /// Every check, then the ordered steps.
    pub(crate) fn plan<'a>(
        &self,
        set: &'a MigrationSet,
        rows: &'a [Row],
        options: &ApplyOptions,
    ) -> Result<Vec<Step<'a>>, EngineError> {
        if let Some(to) = options.to
            && set.get(to).is_none()
        {
            return Err(EngineError::invalid(
                format!(
                    "--to {to}: there is no migration {to} in {}",
                    set.dir.display()
                ),
                None,
            ));
        }
        let newest = newest_applied(rows);
        let mut refusals = Vec::new();
        let mut steps = Vec::new();
        for entry in status::compute(set, rows) {
            let version = entry.version;
            let in_range = options.to.is_none_or(|to| version <= to);
            match (entry.state, entry.migration, entry.row) {
                (State::Applied, _, _) => {}
                (State::Edited, Some(m), Some(row)) => {
                    refusals.push(refusal::edited(m, row, previous(rows, version)));
                }
                (State::Missing, _, _) => {
                    refusals.push(refusal::missing(version, &entry.folder(set)));
                }
                (State::DownFailed, _, Some(row)) => {
                    refusals.push(refusal::partly_reverted(version, &entry.folder(set), row));
                }
                // An interrupted or failed backfill resumes after its last committed batch.
                (State::Failed, Some(m), Some(row)) if m.directives.backfill && in_range => {
                    match refusal::backfill_walk_changed(m, row) {
                        Some(r) => refusals.push(r),
                        None => steps.push(Step {
                            backfill_from: row.backfill.clone(),
                            ..step(m, None)?
                        }),
                    }
                }
                (State::Failed, Some(m), Some(_)) if m.directives.backfill => {}
                (State::Failed, Some(m), Some(row)) if row.no_transaction && in_range => {
                    match resumable(m, row) {
                        Ok(step) => steps.push(step),
                        Err(r) => refusals.push(r),
                    }
                }
                (State::Failed, Some(_), Some(row)) if row.no_transaction => {}
                // A failed transactional migration left nothing behind: retry it.
                (State::Failed, Some(m), Some(row)) if in_range => {
                    steps.push(step(m, row.error.as_deref().or(Some("")))?);
                }
                (State::Failed, None, _) => {
                    refusals.push(refusal::missing(version, &entry.folder(set)));
                }
                (State::OutOfOrder, Some(m), _) if options.allow_out_of_order && in_range => {
                    steps.push(step(m, None)?);
                }
                (State::OutOfOrder, Some(_), _) if options.allow_out_of_order => {}
                (State::OutOfOrder, Some(m), _) => refusals.push(refusal::out_of_order(m, newest)),
                (State::Pending, Some(m), _) if in_range => steps.push(step(m, None)?),
                _ => {}
            }
        }
        // Statements PostgreSQL refuses inside a transaction block would fail half-way: refuse
        // them before anything runs.
        for step in steps
            .iter()
            .filter(|s| !s.migration.directives.no_transaction)
        {
            let m = step.migration;
            for found in needs_no_transaction(&m.up.sql) {
                refusals.push(refusal::needs_no_transaction(
                    m.version, &m.up, &found, false,
                ));
            }
        }
        refusals.extend(super::rust_backfill::check_registered(
            &self.backfills,
            set,
            super::Direction::Up,
            steps.iter().map(|s| {
                (
                    s.migration.version,
                    s.migration.name.as_str(),
                    &s.migration.up,
                )
            }),
        ));
        if !refusals.is_empty() {
            return Err(EngineError::Refused(refusals));
        }
        if options.single_transaction
            && let Some(s) = steps
                .iter()
                .find(|s| s.migration.directives.no_transaction || s.migration.directives.backfill)
        {
            return Err(EngineError::invalid(
                format!(
                    "--single-transaction: {} is a {} migration",
                    s.migration.folder(),
                    if s.migration.directives.backfill {
                        "backfill"
                    } else {
                        "no-transaction"
                    }
                ),
                Some("apply without --single-transaction, or --to the version before it".into()),
            ));
        }
        Ok(steps)
    }
}

fn step<'a>(m: &'a Migration, retried: Option<&'a str>) -> Result<Step<'a>, EngineError> {
    let script = Script::new(m.version, &m.up, m.directives.no_transaction)
        .map_err(|r| EngineError::Refused(vec![r]))?;
    Ok(Step {
        migration: m,
        script,
        resume_from: 0,
        replay: Vec::new(),
        retried,
        backfill_from: None,
    })
}

/// A failed no-transaction migration resumes at its failed statement, provided it still runs
/// outside a transaction, the statements that already ran are unchanged, and the session state
/// they made can be replayed.
fn resumable<'a>(m: &'a Migration, row: &Row) -> Result<Step<'a>, Refusal> {
    let v = m.version;
    let done = row.statements_applied.max(0) as usize;
    if !m.directives.no_transaction {
        return Err(refusal::not_resumable(
            m,
            row,
            "its `-- migrate:no-transaction` directive has been removed since".into(),
            format!(
                "statements 1 to {done} are still in the database: restore the directive so \
                 `cargo migrate apply` resumes it, or finish it by hand and run `cargo migrate \
                 resolve --applied {v}`"
            ),
        ));
    }
    let script = Script::new(v, &m.up, true)?;
    let statements = script.statements.unwrap_or_default();
    let current = statement_checksums(&m.up.sql, statements);
    for i in 0..done {
        if current.get(i) != row.statement_checksums.get(i) {
            let line = statements
                .get(i)
                .map_or(String::new(), |s| format!(":{}", s.line));
            return Err(Refusal {
                version: Some(v),
                message: format!(
                    "{}{line}: statement {} already ran before the failure, but has changed since",
                    m.up.path.display(),
                    i + 1
                ),
                help: format!(
                    "restore statements 1 to {done} as they were (only the failed statement and \
                     the ones after it may change), or, if the database was fixed by hand, `cargo \
                     migrate resolve --applied {v}`"
                ),
                diff: Some(super::unified_diff(&row.sql, &m.up.sql, &m.up.path)),
                in_files: false,
            });
        }
    }
    let replay = match session::replay(&m.up.sql, statements, done) {
        Replay::Statements(s) => s,
        Replay::Impossible { index, what } => {
            return Err(refusal::not_resumable(
                m,
                row,
                format!(
                    "statement {index}, which already ran, {what}: a resumed run starts a new \
                     session, where that is gone"
                ),
                format!(
                    "finish it by hand (statements {} to {} are left) and run `cargo migrate \
                     resolve --applied {v}`, or move that statement into a migration of its own",
                    done + 1,
                    statements.len()
                ),
            ));
        }
    };
    Ok(Step {
        migration: m,
        script,
        resume_from: done,
        replay,
        retried: None,
        backfill_from: None,
    })
}

/// What the plan shows of a step.
/// What the plan says of `step`; its statements (a copy of each one's text) only when
/// `with_statements` (a dry run shows them; a real run reports what ran instead, and a copy of
/// a huge migration's text would double its memory).
pub(crate) fn planned(step: &Step<'_>, with_statements: bool) -> Planned {
    let m = step.migration;
    Planned {
        version: m.version,
        name: m.name.clone(),
        no_transaction: m.directives.no_transaction,
        resume_at: (step.resume_from > 0).then_some(step.resume_from + 1),
        retried: step.retried.is_some(),
        backfill: m.directives.backfill,
        backfill_from: step.backfill_from.clone().filter(|p| p.batches > 0),
        statements: step
            .script
            .statements
            .filter(|_| with_statements)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .skip(step.resume_from)
            .map(|(i, s)| PlannedStatement {
                index: i + 1,
                line: s.line,
                sql: s.text(&m.up.sql).to_string(),
            })
            .collect(),
    }
}

/// The newest applied version before `version`.
pub(crate) fn previous(rows: &[Row], version: Version) -> Option<Version> {
    rows.iter()
        .filter(|r| r.state == super::history::RowState::Applied && r.version < version)
        .map(|r| r.version)
        .max()
}
