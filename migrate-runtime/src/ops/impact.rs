//! The impact plan of `apply --dry-run`: for each pending statement the lock it takes, the
//! table it touches with that table's size and estimated rows (from `pg_class`), whether it
//! rewrites or scans the table; for each migration the lint findings that apply (its risk).

use super::error::OpError;
use super::lint::{config, sealed};
use super::workspace::Workspace;
use crate::engine::Planned;
use crate::lint::impact::{Effect, LockLevel, StatementImpact, impact};
use crate::lint::{LintFinding, Severity, lint};
use crate::{LockState, MigrationSet, Version};
use postgres::Client;
use std::collections::BTreeMap;

/// One pending statement's impact, with its table's size.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlannedImpact {
    /// The statement: index, line, kind, lock, table, effect.
    #[serde(flatten)]
    pub statement: StatementImpact,
    /// The table's size on disk with its indexes and TOAST (`pg_total_relation_size`), when
    /// it exists.
    pub table_bytes: Option<i64>,
    /// Its estimated rows (`pg_class.reltuples`; `None` when never analyzed or missing).
    pub table_rows: Option<i64>,
}

/// One pending migration's impact.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MigrationImpact {
    /// Its version.
    pub version: Version,
    /// Its name.
    pub name: String,
    /// Each pending statement (from the resume point, for a resumed one).
    pub statements: Vec<PlannedImpact>,
    /// The strongest lock it takes on an existing table.
    pub strongest_lock: Option<LockLevel>,
    /// The lint findings of its `migration.sql` (errors and warnings).
    pub risks: Vec<LintFinding>,
    /// For a backfill: the rows it walks and in how many batches (estimated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfill: Option<BackfillImpact>,
}

/// What a backfill will walk, estimated from `pg_class.reltuples`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BackfillImpact {
    /// The table walked.
    pub table: String,
    /// Its key.
    pub key: String,
    /// Keys per batch.
    pub batch: u32,
    /// The table's estimated rows (`None`: never analyzed, or missing).
    pub estimated_rows: Option<i64>,
    /// Batches that makes (rounded up).
    pub estimated_batches: Option<i64>,
}

impl MigrationImpact {
    /// `high`: it blocks reads of an existing table while it rewrites or scans it, or lint
    /// found an error; `medium`: it blocks writes while it scans or rewrites, or lint warned;
    /// `low` otherwise.
    pub fn risk_level(&self) -> &'static str {
        let heavy =
            |s: &&PlannedImpact| !s.statement.new_table && s.statement.effect != Effect::None;
        let blocks_reads = self
            .statements
            .iter()
            .filter(heavy)
            .any(|s| s.statement.lock.is_some_and(LockLevel::blocks_reads));
        let blocks_writes = self
            .statements
            .iter()
            .filter(heavy)
            .any(|s| s.statement.lock.is_some_and(LockLevel::blocks_writes));
        if blocks_reads || self.risks.iter().any(|r| r.severity == Severity::Error) {
            "high"
        } else if blocks_writes || !self.risks.is_empty() {
            "medium"
        } else {
            "low"
        }
    }
}

/// The impact of every planned migration; sizes read through `client` (the project's
/// database), nothing written.
pub(crate) fn plan_impact(
    ws: &Workspace,
    set: &MigrationSet,
    state: &LockState,
    plan: &[Planned],
    client: &mut Client,
) -> Result<Vec<MigrationImpact>, OpError> {
    let versions: Vec<Version> = plan.iter().map(|p| p.version).collect();
    let findings = lint(set, &versions, &sealed(state), &config(ws)?);
    let mut sizes: BTreeMap<String, (Option<i64>, Option<i64>)> = BTreeMap::new();
    // Tables an earlier migration of the run creates are new too.
    let mut created: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for p in plan {
        let Some(m) = set.get(p.version) else {
            continue;
        };
        let skip = p.resume_at.map_or(0, |at| at - 1);
        let statements: Vec<PlannedImpact> = impact(&m.up.sql)
            .into_iter()
            .skip(skip)
            .map(|mut statement| {
                if statement
                    .table
                    .as_ref()
                    .is_some_and(|t| created.contains(t))
                {
                    statement.new_table = true;
                }
                if statement.kind == "CREATE TABLE"
                    && let Some(t) = &statement.table
                {
                    created.push(t.clone());
                }
                let (table_bytes, table_rows) = match (&statement.table, statement.new_table) {
                    (Some(t), false) => *sizes.entry(t.clone()).or_insert_with(|| size(client, t)),
                    _ => (None, None),
                };
                PlannedImpact {
                    statement,
                    table_bytes,
                    table_rows,
                }
            })
            .collect();
        let backfill = match m.up.backfill() {
            Ok(Some(b)) => {
                let table = b.table.to_string();
                let rows = sizes
                    .entry(table.clone())
                    .or_insert_with(|| size(client, &table))
                    .1;
                Some(BackfillImpact {
                    key: b.key.to_string(),
                    batch: b.batch,
                    estimated_rows: rows,
                    estimated_batches: rows
                        .map(|r| (r.max(0) + i64::from(b.batch) - 1) / i64::from(b.batch)),
                    table,
                })
            }
            _ => None,
        };
        let strongest_lock = statements
            .iter()
            .filter(|s| !s.statement.new_table)
            .filter_map(|s| s.statement.lock)
            .max();
        out.push(MigrationImpact {
            version: p.version,
            name: p.name.clone(),
            strongest_lock,
            risks: findings
                .iter()
                .filter(|f| f.version == p.version && f.path == m.up.path)
                .cloned()
                .collect(),
            statements,
            backfill,
        });
    }
    Ok(out)
}

/// `(bytes, estimated rows)` of a relation as written in the SQL; `(None, None)` when it does
/// not exist (yet).
fn size(client: &mut Client, name: &str) -> (Option<i64>, Option<i64>) {
    let row = client.query_opt(
        "SELECT pg_total_relation_size(c.oid), c.reltuples::float8
         FROM pg_catalog.pg_class c WHERE c.oid = to_regclass($1)",
        &[&name],
    );
    match row {
        Ok(Some(r)) => {
            let rows: f64 = r.get(1);
            (Some(r.get(0)), (rows >= 0.0).then_some(rows.round() as i64))
        }
        _ => (None, None),
    }
}
