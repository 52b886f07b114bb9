//! Sealing: turning drafts into sealed migrations. A pure function decides what the new lock file
//! is, or refuses with the findings that stop it; the caller writes it with [`super::write`].

use super::{Finding, LockEntry, LockFile, LockState, verify};
use crate::Version;
use crate::model::MigrationSet;
use std::collections::BTreeSet;

/// Options of `cargo migrate seal`.
#[derive(Debug, Clone, Default)]
pub struct SealOptions {
    /// Versions whose sealed entry may be replaced (edited, renamed) or dropped (missing): for
    /// migrations that were never shared.
    pub force: BTreeSet<Version>,
    /// Seal drafts that are older than the newest sealed migration.
    pub allow_out_of_order: bool,
    /// Drafts (or forced versions) to seal as verified: `verify` proved them reversible.
    pub verified: BTreeSet<Version>,
}

/// What sealing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealOutcome {
    /// The lock file to write.
    pub lock: LockFile,
    /// Drafts that are now sealed.
    pub sealed: Vec<Version>,
    /// Sealed migrations re-sealed with `--force`.
    pub resealed: Vec<Version>,
    /// Sealed migrations removed from the lock with `--force` (their folder is gone).
    pub dropped: Vec<Version>,
    /// The old lock file was corrupt (e.g. merge conflict) and is rewritten.
    pub repaired: bool,
}

/// Why sealing refused; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealRefused {
    /// The findings that stop it.
    pub findings: Vec<Finding>,
    /// `--force` versions that name nothing to force.
    pub useless_force: Vec<Version>,
}

/// Decides what sealing writes: every migration of the directory, with its current checksums.
///
/// Refuses when a sealed migration was edited, renamed or deleted (unless its version is in
/// `force`), when a draft is out of order (unless allowed), when the lock file is corrupt beyond
/// recovery, or when a forced version names nothing to force.
///
/// ```
/// use migrate_runtime::{LockState, MigrationSet, SealOptions, seal};
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::create_dir(dir.path().join("20261121093000_a")).unwrap();
/// std::fs::write(dir.path().join("20261121093000_a/migration.sql"), "SELECT 1;").unwrap();
/// let set = MigrationSet::read(dir.path()).unwrap();
/// let outcome = seal(&set, &LockState::Absent, &SealOptions::default()).unwrap();
/// assert_eq!(outcome.sealed.len(), 1);
/// assert_eq!(outcome.lock.entries().len(), 1);
/// ```
pub fn seal(
    set: &MigrationSet,
    state: &LockState,
    options: &SealOptions,
) -> Result<SealOutcome, SealRefused> {
    let findings = verify(set, state);
    let mut blocking = Vec::new();
    let mut outcome = SealOutcome {
        lock: LockFile::default(),
        sealed: Vec::new(),
        resealed: Vec::new(),
        dropped: Vec::new(),
        repaired: matches!(state, LockState::Corrupt { .. }),
    };
    let mut used_force = BTreeSet::new();
    for finding in findings {
        match &finding {
            Finding::Corrupt { .. } => {
                // Recoverable when the salvaged entries are there; they are verified as usual.
                if state.sealed().is_none() {
                    blocking.push(finding);
                }
            }
            Finding::Unsealed { version, .. } => outcome.sealed.push(*version),
            Finding::OutOfOrder { version, .. } => {
                if options.allow_out_of_order {
                    outcome.sealed.push(*version);
                } else {
                    blocking.push(finding);
                }
            }
            Finding::Edited { version, .. } | Finding::Renamed { version, .. } => {
                if options.force.contains(version) {
                    used_force.insert(*version);
                    if outcome.resealed.last() != Some(version) {
                        outcome.resealed.push(*version);
                    }
                } else {
                    blocking.push(finding);
                }
            }
            Finding::Missing { version, .. } => {
                if options.force.contains(version) {
                    used_force.insert(*version);
                    outcome.dropped.push(*version);
                } else {
                    blocking.push(finding);
                }
            }
        }
    }
    let useless_force: Vec<Version> = options.force.difference(&used_force).copied().collect();
    if !blocking.is_empty() || !useless_force.is_empty() {
        return Err(SealRefused {
            findings: blocking,
            useless_force,
        });
    }
    // An intact entry keeps its `verified` flag; a new or re-sealed one is verified when asked.
    let before = state.sealed();
    outcome.lock = LockFile::new(
        set.migrations
            .iter()
            .map(|m| {
                let mut entry = LockEntry::of(m);
                let kept = before
                    .and_then(|lock| lock.get(m.version))
                    .is_some_and(|old| old.verified && old.same_files(&entry));
                entry.verified = kept || options.verified.contains(&m.version);
                entry
            })
            .collect(),
    );
    Ok(outcome)
}

/// Seals the drafts among `versions` (migrations that were applied), keeping every entry the
/// lock already has; `None` when none of them is a draft. Used after `apply`, `resolve` and
/// `reset`, and to seal drafts an interrupted run applied.
///
/// ```
/// use migrate_runtime::{LockState, MigrationSet, lockfile::seal_drafts};
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::create_dir(dir.path().join("20261121093000_a")).unwrap();
/// std::fs::write(dir.path().join("20261121093000_a/migration.sql"), "SELECT 1;").unwrap();
/// let set = MigrationSet::read(dir.path()).unwrap();
/// let (lock, sealed) = seal_drafts(&set, &LockState::Absent, &[set.migrations[0].version]).unwrap();
/// assert_eq!((lock.entries().len(), sealed.len()), (1, 1));
/// ```
pub fn seal_drafts(
    set: &MigrationSet,
    state: &LockState,
    versions: &[Version],
) -> Option<(LockFile, Vec<Version>)> {
    let existing = state.sealed().cloned().unwrap_or_default();
    let drafts: Vec<&crate::Migration> = versions
        .iter()
        .filter(|v| existing.get(**v).is_none())
        .filter_map(|v| set.get(*v))
        .collect();
    if drafts.is_empty() {
        return None;
    }
    let mut entries = existing.entries().to_vec();
    entries.extend(drafts.iter().map(|m| LockEntry::of(m)));
    Some((
        LockFile::new(entries),
        drafts.iter().map(|m| m.version).collect(),
    ))
}
