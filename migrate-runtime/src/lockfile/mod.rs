//! The integrity lock file, `migrations/migrations.lock`: which migrations are sealed, with the
//! checksums they had when sealed. Sealed migrations are immutable; unsealed ones are drafts.
//!
//! - [`format`](LockFile): the text format with chained hashes;
//! - [`verify`]: the directory against the lock, every problem at once (pure);
//! - [`seal()`]: what sealing would write, or why it refuses (pure), and [`write`] to persist it.

mod format;
mod seal;
mod verify;

pub use format::{Corrupt, FORMAT, FORMAT_VERIFIED, LockEntry, LockFile};
pub use seal::{SealOptions, SealOutcome, SealRefused, seal, seal_drafts};
pub use verify::{Finding, SqlKind, verify};

use crate::model::LOCK_FILE;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The lock file as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockState {
    /// There is no lock file: nothing is sealed yet.
    Absent,
    /// A valid lock file.
    Valid(LockFile),
    /// A lock file that cannot be trusted, and what could be recovered from it.
    Corrupt {
        /// Why it cannot be trusted.
        error: Corrupt,
        /// The entries recovered from every line (both sides of a merge conflict), or why
        /// none could be.
        salvaged: Result<LockFile, Corrupt>,
    },
}

impl LockState {
    /// Reads `<dir>/migrations.lock`.
    ///
    /// ```
    /// use migrate_runtime::LockState;
    /// let dir = tempfile::tempdir().unwrap();
    /// assert_eq!(LockState::load(dir.path()).unwrap(), LockState::Absent);
    /// ```
    pub fn load(dir: &Path) -> io::Result<LockState> {
        let file = match fs::File::open(path(dir)) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(LockState::Absent),
            Err(e) => return Err(e),
        };
        // A valid file (the usual case) is parsed as it is read, a line at a time: ten
        // thousand entries make two megabytes of text that need not be held beside them. A
        // file that is not (not valid UTF-8, corrupt, or failing part-way) is read whole and
        // interpreted as its bytes are, salvage included.
        if let Some(lock) = parse_streamed(file) {
            return Ok(LockState::Valid(lock));
        }
        match fs::read(path(dir)) {
            Ok(bytes) => Ok(LockState::from_bytes(&bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(LockState::Absent),
            Err(e) => Err(e),
        }
    }

    /// Interprets a lock file's bytes.
    ///
    /// ```
    /// use migrate_runtime::LockState;
    /// assert!(matches!(LockState::from_bytes(b"=======\n"), LockState::Corrupt { .. }));
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> LockState {
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => {
                let error = Corrupt {
                    line: None,
                    message: "not valid UTF-8".into(),
                };
                return LockState::Corrupt {
                    error: error.clone(),
                    salvaged: Err(error),
                };
            }
        };
        match LockFile::parse(text) {
            Ok(lock) => LockState::Valid(lock),
            Err(error) => LockState::Corrupt {
                error,
                salvaged: LockFile::salvage(text),
            },
        }
    }

    /// The sealed entries to check against: the valid lock's, the salvaged ones of a corrupt
    /// lock, none when absent or unrecoverable.
    ///
    /// ```
    /// use migrate_runtime::LockState;
    /// assert!(LockState::Absent.sealed().is_none());
    /// ```
    pub fn sealed(&self) -> Option<&LockFile> {
        match self {
            LockState::Absent => None,
            LockState::Valid(lock) => Some(lock),
            LockState::Corrupt { salvaged, .. } => salvaged.as_ref().ok(),
        }
    }
}

/// The shortest entry line: a version, a name, and the checksum of `migration.sql` and the
/// chain hash (64 hex digits each), separated by spaces.
const SHORTEST_ENTRY: u64 = 1 + 1 + 64 + 64 + 4;

/// `file` parsed as it is read; `None` when it cannot be read, is not valid UTF-8, or is not a
/// valid lock file.
fn parse_streamed(file: fs::File) -> Option<LockFile> {
    use std::io::BufRead as _;
    // At most one entry per shortest entry line: room that is never written costs an address
    // range, not memory.
    let capacity = file.metadata().map_or(0, |m| m.len() / SHORTEST_ENTRY + 1);
    let mut failed = false;
    let lines = io::BufReader::new(file)
        .lines()
        .map_while(|line| line.map_err(|_| failed = true).ok());
    let parsed = LockFile::parse_lines(lines, usize::try_from(capacity).unwrap_or(0));
    parsed.ok().filter(|_| !failed)
}

/// Where the lock file of a migrations directory lives.
///
/// ```
/// assert!(migrate_runtime::lockfile::path("migrations".as_ref()).ends_with("migrations.lock"));
/// ```
pub fn path(dir: &Path) -> PathBuf {
    dir.join(LOCK_FILE)
}

/// Writes the lock file atomically (a temporary file in the same directory, renamed over the
/// old one), so a crash or a full disk never leaves half a lock file. Returns `false` and
/// touches nothing when the file already has exactly this content.
///
/// ```
/// use migrate_runtime::{LockFile, LockState, lockfile};
/// let dir = tempfile::tempdir().unwrap();
/// assert!(lockfile::write(dir.path(), &LockFile::default()).unwrap());
/// assert!(!lockfile::write(dir.path(), &LockFile::default()).unwrap());
/// assert_eq!(LockState::load(dir.path()).unwrap(), LockState::Valid(LockFile::default()));
/// ```
#[cfg(feature = "write")]
pub fn write(dir: &Path, lock: &LockFile) -> io::Result<bool> {
    let target = path(dir);
    let text = lock.render();
    if fs::read(&target).ok().as_deref() == Some(text.as_bytes()) {
        return Ok(false);
    }
    use std::io::Write;
    let mut tmp = tempfile::Builder::new()
        .prefix(".migrations.lock.")
        .tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&target)
            .map(|m| m.permissions().mode())
            .unwrap_or(0o644);
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode))?;
    }
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(true)
}

#[cfg(test)]
mod tests;
