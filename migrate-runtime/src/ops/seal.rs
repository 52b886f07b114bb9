//! `seal`: seal the drafts into `migrations.lock` (showing the lint findings of what it seals),
//! or check the seals (`--check`, for CI).

use super::error::{OpError, Untouched};
use super::event::OpEvent;
use super::workspace::Workspace;
use crate::lint::{LintFinding, lint};
use crate::{Finding, SealOptions, Version, lockfile, seal, verify};
use std::path::PathBuf;

/// What `seal` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SealReport {
    /// The lock file.
    pub lock_path: PathBuf,
    /// Whether the lock file changed.
    pub written: bool,
    /// The old lock file was corrupt (e.g. a merge conflict) and was rewritten.
    pub repaired: bool,
    /// Drafts now sealed.
    pub sealed: Vec<Version>,
    /// Their folders.
    pub sealed_folders: Vec<String>,
    /// Sealed migrations re-sealed with `--force`.
    pub resealed: Vec<Version>,
    /// Their folders.
    pub resealed_folders: Vec<String>,
    /// Versions removed from the lock file with `--force` (their folders are gone).
    pub dropped: Vec<Version>,
    /// Migrations sealed in all.
    pub total: usize,
    /// The lint findings of what was sealed.
    pub lint: Vec<LintFinding>,
}

/// Seals the drafts.
pub fn seal_drafts(
    ws: &Workspace,
    options: &SealOptions,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<SealReport, OpError> {
    let (set, state) = ws.read(Untouched::NothingWritten)?;
    let lock_path = lockfile::path(&ws.dir);
    let outcome = seal(&set, &state, options).map_err(|refused| OpError::SealRefused {
        lock_path: lock_path.clone(),
        intact: refused
            .useless_force
            .iter()
            .copied()
            .filter(|v| set.get(*v).is_some())
            .collect(),
        refused,
    })?;
    // Sealing makes drafts immutable: show what the linter thinks of them first.
    let sealing: Vec<Version> = outcome
        .sealed
        .iter()
        .chain(&outcome.resealed)
        .copied()
        .collect();
    let sealed_before = super::lint::sealed(&state);
    let findings = lint(&set, &sealing, &sealed_before, &super::lint::config(ws)?);
    events(OpEvent::Lint {
        findings: &findings,
        overridden: None,
    });
    let written = lockfile::write(&ws.dir, &outcome.lock)
        .map_err(|e| OpError::io(format!("cannot write {}: {e}", lock_path.display())))?;
    let folders = |versions: &[Version]| -> Vec<String> {
        versions
            .iter()
            .map(|v| set.get(*v).map_or_else(|| v.to_string(), |m| m.folder()))
            .collect()
    };
    Ok(SealReport {
        lock_path,
        written,
        repaired: outcome.repaired,
        sealed_folders: folders(&outcome.sealed),
        resealed_folders: folders(&outcome.resealed),
        sealed: outcome.sealed,
        resealed: outcome.resealed,
        dropped: outcome.dropped,
        total: outcome.lock.entries().len(),
        lint: findings,
    })
}

/// What `seal --check` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    /// Migrations in the directory.
    pub migrations: usize,
    /// Everything not sealed and intact (drafts too: CI wants everything sealed).
    pub findings: Vec<Finding>,
}

/// Checks the seals, changing nothing.
pub fn check(ws: &Workspace) -> Result<CheckReport, OpError> {
    let (set, state) = ws.read(Untouched::NothingWritten)?;
    Ok(CheckReport {
        migrations: set.migrations.len(),
        findings: verify(&set, &state),
    })
}
