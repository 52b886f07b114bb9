//! `seal`: seal the drafts into `migrations.lock` (showing the lint findings of what it seals),
//! or check the seals (`--check`, for CI).

use super::error::{OpError, Untouched};
use super::event::OpEvent;
use super::verify::{VerifyRequest, rehearse};
use super::workspace::Workspace;
use crate::lint::{LintFinding, lint};
use crate::{Finding, SealOptions, Version, lockfile, seal, verify};
use std::collections::BTreeSet;
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
    /// With `--verify`: the versions verified and recorded as such.
    pub verified: Vec<Version>,
    /// The lint findings of what was sealed.
    pub lint: Vec<LintFinding>,
}

/// What `seal` was asked.
#[derive(Debug, Clone, Default)]
pub struct SealRequest {
    /// What to seal (`--force`, `--allow-out-of-order`).
    pub options: SealOptions,
    /// `--verify`: verify what is sealed first (on a shadow database), refuse if a verdict
    /// fails, and record the others as verified in the lock file.
    pub verify: Option<VerifyRequest>,
}

/// Seals the drafts.
///
/// ```no_run
/// use migrate_runtime::ops::{self, SealRequest, Workspace, WorkspaceOptions};
/// let ws = Workspace::locate(&WorkspaceOptions::default(), &std::env::current_dir()?)?;
/// let report = ops::seal_drafts(&ws, &SealRequest::default(), &mut |_| {})?;
/// println!("sealed {:?}", report.sealed_folders);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn seal_drafts(
    ws: &Workspace,
    request: &SealRequest,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<SealReport, OpError> {
    let (set, state) = ws.read(Untouched::NothingWritten)?;
    let lock_path = lockfile::path(&ws.dir);
    let refused = |refused: crate::SealRefused| OpError::SealRefused {
        lock_path: lock_path.clone(),
        intact: refused
            .useless_force
            .iter()
            .copied()
            .filter(|v| set.get(*v).is_some())
            .collect(),
        refused,
    };
    let mut outcome = seal(&set, &state, &request.options).map_err(refused)?;
    let mut verified = Vec::new();
    if let Some(verify) = &request.verify {
        let sealing: BTreeSet<Version> = (outcome.sealed.iter())
            .chain(&outcome.resealed)
            .copied()
            .collect();
        let report = rehearse(ws, &set, sealing.clone(), verify, "versions", events)?;
        if !report.passed {
            return Err(OpError::Unverified(Box::new(report)));
        }
        let options = SealOptions {
            verified: sealing.clone(),
            ..request.options.clone()
        };
        outcome = seal(&set, &state, &options).map_err(refused)?;
        verified = sealing.into_iter().collect();
    }
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
        verified,
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
