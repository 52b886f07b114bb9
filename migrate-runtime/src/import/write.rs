//! Writing an import: every new folder is written under a hidden staging folder in `--dir`,
//! then renamed into place, and the lock file sealing them is written last. On any failure,
//! and when the history adoption that follows fails, [`Written::undo`] removes what was added
//! and puts the old lock file back, so an import either happens whole or not at all.

use super::ImportError;
use super::plan::{FilesPlan, folder_path, write_folder};
use crate::{LockState, MigrationSet, SealOptions, Version, lockfile, seal};
use std::fs;
use std::path::{Path, PathBuf};

/// What an import wrote, so it can be taken back.
#[derive(Debug)]
pub(crate) struct Written {
    /// Folders added.
    folders: Vec<PathBuf>,
    /// Directories created for `--dir` (outermost first).
    created: Vec<PathBuf>,
    /// The lock file's path and what it held before (`None`: there was none).
    lock: (PathBuf, Option<Vec<u8>>),
    /// Whether the lock file was written.
    lock_written: bool,
}

impl Written {
    /// Removes what was written and restores the lock file. Best effort: it is called while
    /// another error is being reported.
    pub(crate) fn undo(self) {
        if self.lock_written {
            let _ = match &self.lock.1 {
                Some(old) => fs::write(&self.lock.0, old),
                None => fs::remove_file(&self.lock.0),
            };
        }
        for folder in self.folders.iter().rev() {
            let _ = fs::remove_dir_all(folder);
        }
        for dir in self.created.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Writes the plan's new migrations into `dir` and seals them. Returns what was written and
/// the versions sealed.
pub(crate) fn write(dir: &Path, plan: &FilesPlan) -> Result<(Written, Vec<Version>), ImportError> {
    let mut created = Vec::new();
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(p) = at.filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
        missing.push(p.to_path_buf());
        at = p.parent();
    }
    let lock_path = lockfile::path(dir);
    let mut written = Written {
        folders: Vec::new(),
        created: Vec::new(),
        lock: (lock_path.clone(), fs::read(&lock_path).ok()),
        lock_written: false,
    };
    let fail = |written: Written, what: &Path, e: &dyn std::fmt::Display| {
        written.undo();
        ImportError::Write {
            message: format!("cannot write {}: {e}", what.display()),
        }
    };
    for p in missing.iter().rev() {
        if let Err(e) = fs::create_dir(p) {
            written.created = std::mem::take(&mut created);
            return Err(fail(written, p, &e));
        }
        created.push(p.clone());
    }
    written.created = created;
    let staging = match tempfile::Builder::new().prefix(".import-").tempdir_in(dir) {
        Ok(s) => s,
        Err(e) => return Err(fail(written, dir, &e)),
    };
    let new: Vec<_> = plan
        .migrations
        .iter()
        .filter(|p| !p.mapped.already_imported)
        .collect();
    for p in &new {
        let at = staging.path().join(&p.mapped.folder);
        if let Err(e) = write_folder(&at, p) {
            return Err(fail(written, &at, &e));
        }
    }
    for p in &new {
        let target = folder_path(dir, p);
        if target.exists() {
            let e = "it already exists";
            return Err(fail(written, &target, &e));
        }
        if let Err(e) = fs::rename(staging.path().join(&p.mapped.folder), &target) {
            return Err(fail(written, &target, &e));
        }
        written.folders.push(target);
    }
    drop(staging);
    let set = match MigrationSet::read(dir) {
        Ok(set) => set,
        Err(e) => return Err(fail(written, dir, &e)),
    };
    let state = match LockState::load(dir) {
        Ok(state) => state,
        Err(e) => return Err(fail(written, &lock_path, &e)),
    };
    let outcome = match seal(&set, &state, &SealOptions::default()) {
        Ok(outcome) => outcome,
        Err(refused) => {
            let why = refused
                .findings
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            return Err(fail(written, &lock_path, &why));
        }
    };
    written.lock_written = true;
    if let Err(e) = lockfile::write(dir, &outcome.lock) {
        return Err(fail(written, &lock_path, &e));
    }
    Ok((written, outcome.sealed))
}
