//! The lock-file checks every operation that runs migrations makes, and sealing what applied:
//! refusals found before any connection (edited, renamed or deleted sealed migrations, a
//! corrupt lock file), the drafts checks made once the history is known, and sealing drafts
//! that applied (also those an interrupted run applied).

use super::database::{DbOptions, recorded_history};
use super::error::{EditedDiff, OpError, Untouched};
use super::workspace::Workspace;
use crate::engine::State;
use crate::engine::history::Row;
use crate::engine::status::{applied_drafts, compute};
use crate::engine::unified_diff;
use crate::lockfile::{self, SqlKind};
use crate::model::folder_name;
use crate::{Finding, LockState, MigrationSet, Version, verify};

/// Reads the directory and refuses, before any connection, what no run may go past: an edited,
/// renamed or deleted sealed migration, or a corrupt lock file. An edited `migration.sql` is
/// shown as a diff against the SQL the database recorded when a database is reachable without
/// starting one, else with how to see the change.
pub fn preflight(
    ws: &Workspace,
    options: &DbOptions,
) -> Result<(MigrationSet, LockState), OpError> {
    let (set, state) = ws.read(Untouched::NothingRun)?;
    let blocking: Vec<Finding> = verify(&set, &state)
        .into_iter()
        .filter(|f| !matches!(f, Finding::Unsealed { .. } | Finding::OutOfOrder { .. }))
        .collect();
    if !blocking.is_empty() {
        let diffs = edited_diffs(ws, options, &set, &blocking);
        return Err(OpError::Lock {
            message: "the migrations do not match migrations.lock".into(),
            findings: blocking,
            locked: false,
            diffs,
        });
    }
    Ok((set, state))
}

/// The drafts checks, made once the history is known (so drafts an interrupted run applied
/// are sealed first, not refused): an out-of-order draft refuses unless allowed; with
/// `locked`, any draft refuses.
pub fn check_drafts(
    set: &MigrationSet,
    state: &LockState,
    locked: bool,
    allow_out_of_order: bool,
) -> Result<(), OpError> {
    let blocking: Vec<Finding> = verify(set, state)
        .into_iter()
        .filter(|f| match f {
            Finding::Unsealed { .. } => locked,
            Finding::OutOfOrder { .. } => locked || !allow_out_of_order,
            _ => false,
        })
        .collect();
    if blocking.is_empty() {
        return Ok(());
    }
    Err(OpError::Lock {
        message: if locked {
            "--locked: there are unsealed migrations".into()
        } else {
            "the migrations do not match migrations.lock".into()
        },
        findings: blocking,
        locked,
        diffs: Vec::new(),
    })
}

/// `apply --locked` with `require_verified`: every migration about to be applied (pending, up
/// to `to`) must have been sealed with `seal --verify`.
pub fn require_verified(
    set: &MigrationSet,
    state: &LockState,
    rows: &[Row],
    to: Option<Version>,
) -> Result<(), OpError> {
    let lock = state.sealed();
    let unverified: Vec<String> = compute(set, rows)
        .iter()
        .filter(|e| matches!(e.state, State::Pending | State::OutOfOrder))
        .filter(|e| to.is_none_or(|to| e.version <= to))
        .filter(|e| {
            !lock
                .and_then(|l| l.get(e.version))
                .is_some_and(|l| l.verified)
        })
        .map(|e| folder_name(e.version, &e.name))
        .collect();
    if unverified.is_empty() {
        return Ok(());
    }
    Err(OpError::Invalid {
        message: format!(
            "--locked with `require_verified`: {} not verified when sealed: {}; nothing was applied",
            if unverified.len() == 1 {
                "1 pending migration was".to_string()
            } else {
                format!("{} pending migrations were", unverified.len())
            },
            unverified.join(", ")
        ),
        help: Some(
            "seal migrations with `cargo migrate seal --verify` (it proves them reversible on a \
             shadow database and records it in migrations.lock); for migrations sealed before, \
             run `cargo migrate verify <version>...` and deploy them once without \
             `require_verified`"
                .into(),
        ),
    })
}

/// For sealed `migration.sql` files that were edited: the unified diff against the SQL the
/// database recorded when it applied them, or how to see the change.
fn edited_diffs(
    ws: &Workspace,
    options: &DbOptions,
    set: &MigrationSet,
    findings: &[Finding],
) -> Vec<EditedDiff> {
    let edited: Vec<(Version, &std::path::Path)> = findings
        .iter()
        .filter_map(|f| match f {
            Finding::Edited {
                version,
                file: SqlKind::Up,
                path,
                ..
            } => Some((*version, path.as_path())),
            _ => None,
        })
        .collect();
    if edited.is_empty() {
        return Vec::new();
    }
    let rows = recorded_history(ws, options);
    edited
        .iter()
        .map(|(version, path)| {
            let recorded = rows
                .as_ref()
                .and_then(|rows| rows.iter().find(|r| r.version == *version));
            match (recorded, set.get(*version)) {
                (Some(row), Some(m)) => EditedDiff::Diff {
                    version: *version,
                    diff: unified_diff(&row.sql, &m.up.sql, &m.up.path),
                },
                _ => EditedDiff::NotRecorded {
                    version: *version,
                    path: path.to_path_buf(),
                },
            }
        })
        .collect()
}

/// Seals the drafts among `versions` (they were applied), keeping every existing entry; returns
/// the new lock state and the folders sealed.
pub fn seal_applied(
    ws: &Workspace,
    set: &MigrationSet,
    state: &LockState,
    versions: &[Version],
) -> Result<(LockState, Vec<String>), OpError> {
    let Some((lock, sealed)) = lockfile::seal_drafts(set, state, versions) else {
        return Ok((state.clone(), Vec::new()));
    };
    lockfile::write(&ws.dir, &lock).map_err(|e| OpError::Io {
        message: format!(
            "the migrations were applied, but {} could not be written: {e}",
            lockfile::path(&ws.dir).display()
        ),
        help: Some(
            "run `cargo migrate apply` again: it seals the drafts the database records as applied"
                .into(),
        ),
        untouched: None,
    })?;
    let folders = sealed
        .iter()
        .filter_map(|v| set.get(*v))
        .map(|m| m.folder())
        .collect();
    Ok((LockState::Valid(lock), folders))
}

/// Seals the drafts an earlier, interrupted run applied (the history records them with the
/// same SQL) before anything else looks at the lock file.
pub fn seal_recorded(
    ws: &Workspace,
    set: &MigrationSet,
    state: &LockState,
    rows: &[Row],
) -> Result<(LockState, Vec<String>), OpError> {
    let drafts = applied_drafts(set, state.sealed(), rows);
    seal_applied(ws, set, state, &drafts)
}
