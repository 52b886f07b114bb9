//! The stat cache of `status`: what each migration folder's files hashed to, remembered with
//! the `stat` of each file (device, inode, size, modification and change times in
//! nanoseconds), so that an unchanged migration is neither opened nor read nor hashed the next
//! time, as git's index does for a work tree. A folder's listing is remembered with the
//! folder's own stamp (adding, removing or renaming a file in it changes that), so a stray
//! file is still found.
//!
//! Git's rule for "racily clean" files applies: a file modified within the timestamp granule of
//! the read that hashed it could have changed again after it was read without its stamp
//! showing it, so a record whose stamps are not safely older than that read (see
//! [`RACY_MARGIN_NS`]) proves nothing and the folder is read again.
//!
//! The file is ignored and rebuilt when it is missing, unreadable, torn or corrupt (a SHA-256
//! covers it), of another format version, or of another migrations directory. It is written
//! only when something changed, to a temporary file renamed over it, so a reader never sees
//! half of one.

mod format;
mod stamp;

use super::{DOWN_FILE, Migration, SqlFile, UP_FILE};
use crate::Version;
use format::{Hashed, Record, RecordStream};
use sha2::{Digest, Sha256};
use stamp::Stamp;
use std::fs;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How much older than the read that hashed it a file's stamp must be to be trusted: the
/// coarsest timestamp granule of a common file system (FAT's two seconds); ext4, XFS, Btrfs
/// and APFS are far finer. A file younger than that is hashed on every `status` until it is
/// older.
const RACY_MARGIN_NS: i64 = 2_000_000_000;

/// The stat cache of one migrations directory, loaded from its file (if that is valid), and
/// what the current read found, to write back when something changed.
#[derive(Debug)]
pub(crate) struct StatCache {
    file: PathBuf,
    /// The migrations directory, absolute, as the file records it.
    dir: Vec<u8>,
    /// The records of the file, read as the folders are asked for (`None` when there was no
    /// file or it was not valid).
    old: Option<RecordStream>,
    /// Stamps at or after this (ns) are racy.
    threshold_ns: i64,
    /// The records of the current read, in order: runs of records kept from the file, or of
    /// records in `fresh`.
    parts: Vec<Part>,
    /// Records made by the current read.
    fresh: Vec<u8>,
    /// Whether the file must be written: a folder read afresh, gone, or no valid file.
    dirty: bool,
    started: Instant,
    /// Folders answered without reading them.
    hits: usize,
}

/// A run of consecutive records of the file written back.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Unchanged records of the old file: where they are in it.
    Old(Range<u64>),
    /// Records made by this read: where they are in `fresh`.
    Fresh(Range<usize>),
}

impl Part {
    /// Appends the run `next` to this one when it follows it in the same place.
    fn extend(&mut self, next: &Part) -> bool {
        match (self, next) {
            (Part::Old(run), Part::Old(next)) if run.end == next.start => run.end = next.end,
            (Part::Fresh(run), Part::Fresh(next)) if run.end == next.start => run.end = next.end,
            _ => return false,
        }
        true
    }
}

/// The stamps of a folder and its files, taken before they are read.
#[derive(Debug)]
pub(crate) struct FolderStamps {
    folder: Stamp,
    up: Stamp,
    down: Option<Stamp>,
}

impl FolderStamps {
    /// The stamps of `folder`, its `migration.sql` and its `down.sql` if it has one; `None`
    /// when they cannot be taken (the folder is then read but not remembered).
    pub fn take(folder: &Path) -> Option<FolderStamps> {
        Some(FolderStamps {
            folder: Stamp::of(folder)?,
            up: Stamp::of(&folder.join(UP_FILE))?,
            down: Stamp::of(&folder.join(DOWN_FILE)),
        })
    }
}

impl StatCache {
    /// The cache of `dir` kept in `file`: loaded when the file is a valid cache of that
    /// directory, else empty (and written at [`StatCache::save`]). Call it before reading, so
    /// the time the read took is known.
    pub fn open(file: &Path, dir: &Path) -> StatCache {
        let started = Instant::now();
        let dir = std::path::absolute(dir)
            .unwrap_or_else(|_| dir.to_path_buf())
            .into_os_string()
            .into_encoded_bytes();
        let mut cache = StatCache {
            file: file.to_path_buf(),
            dir,
            old: None,
            threshold_ns: i64::MIN,
            parts: Vec::new(),
            fresh: Vec::new(),
            dirty: true,
            started,
            hits: 0,
        };
        cache.load();
        cache
    }

    fn load(&mut self) {
        let Ok(file) = fs::File::open(&self.file) else {
            return;
        };
        let Some(opened) = format::open(file) else {
            return;
        };
        if opened.dir != self.dir {
            return;
        }
        // Fixed when the file was written: touching or copying the cache later cannot make a
        // racy record trusted.
        self.threshold_ns = opened.racy_from_ns;
        self.dirty = false;
        self.old = Some(opened.records);
    }

    /// The migration in folder `path` (named `folder_name`, `<version>_<name>`), without
    /// reading it, when its record is there, not racy, and the stamps of the folder and its
    /// files are the recorded ones. Folders are asked for in name order.
    pub fn lookup(
        &mut self,
        folder_name: &str,
        path: &Path,
        version: Version,
        name: &str,
    ) -> Option<Migration> {
        let (found, skipped) = match &mut self.old {
            Some(old) => old.find(folder_name),
            None => (None, false),
        };
        self.dirty |= skipped;
        let (range, record): (Range<u64>, Record<'_>) = found?;
        let racy = std::iter::once(&record.folder)
            .chain(std::iter::once(&record.up.0))
            .chain(record.down.as_ref().map(|d| &d.0))
            .any(|s| s.is_racy(self.threshold_ns));
        if racy || Stamp::of(path)? != record.folder {
            return None;
        }
        let file = |file_name: &str, (stamp, checksum): Hashed| {
            let file_path = path.join(file_name);
            (Stamp::of(&file_path)? == stamp)
                .then(|| SqlFile::precomputed(file_path, String::new(), checksum, None))
        };
        let up = file(UP_FILE, record.up)?;
        let down = match record.down {
            Some(down) => Some(file(DOWN_FILE, down)?),
            None => None,
        };
        let migration = Migration {
            version,
            name: name.to_string(),
            dir: path.to_path_buf(),
            up,
            down,
            directives: record.directives,
            down_no_transaction: record.down_no_transaction,
        };
        self.push(Part::Old(range));
        self.hits += 1;
        Some(migration)
    }

    /// Remembers a migration read afresh, with the stamps taken before it was read.
    pub fn record(&mut self, folder_name: &str, stamps: &FolderStamps, m: &Migration) {
        self.dirty = true;
        let down = match (stamps.down, &m.down) {
            (Some(stamp), Some(file)) => Some((stamp, file.checksum)),
            (None, None) => None,
            // down.sql came or went while the folder was read: not remembered.
            _ => return,
        };
        let record = Record {
            name: folder_name,
            folder: stamps.folder,
            directives: m.directives,
            down_no_transaction: m.down_no_transaction,
            up: (stamps.up, m.up.checksum),
            down,
        };
        let start = self.fresh.len();
        if format::encode_record(&mut self.fresh, &record) {
            self.push(Part::Fresh(start..self.fresh.len()));
        }
    }

    /// Adds a run of records to what is written back: to the last run when it follows it.
    fn push(&mut self, part: Part) {
        if !self.parts.last_mut().is_some_and(|last| last.extend(&part)) {
            self.parts.push(part);
        }
    }

    /// How many folders were answered without being read.
    #[cfg(test)]
    pub fn hits(&self) -> usize {
        self.hits
    }

    /// Writes the cache back when something changed: into a temporary file beside it, renamed
    /// over it. The folder holding it gets a `.gitignore` of `*`, so it never shows in git
    /// even where the target directory is not ignored.
    #[cfg(feature = "write")]
    pub fn save(mut self) -> std::io::Result<()> {
        // Records left after the last folder are of folders that are gone.
        self.dirty |= self.old.as_ref().is_some_and(RecordStream::has_more);
        if !self.dirty {
            return Ok(());
        }
        let Some(parent) = self.file.parent() else {
            return Ok(());
        };
        // Only the cache's own folder is created: never the directory holding it.
        match fs::create_dir(parent) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
        // Created only when absent (never through a symlink planted in its place).
        match fs::File::options()
            .write(true)
            .create_new(true)
            .open(parent.join(".gitignore"))
        {
            Ok(mut f) => f.write_all(b"*\n")?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        // A new file of a name nobody could have guessed or planted (a shared target
        // directory), renamed over the old cache; dropped if anything fails.
        let mut tmp = tempfile::NamedTempFile::new_in(parent)?;
        self.write(tmp.as_file_mut())?;
        tmp.persist(&self.file).map_err(|e| e.error)?;
        Ok(())
    }

    fn write(&mut self, file: &mut fs::File) -> std::io::Result<()> {
        // The file system's clock (which stamped the files) now, less the time the read took
        // and the margin: a record stamped at or after that was read too soon after a write.
        let now = Stamp::from_metadata(&file.metadata()?).map_or(i64::MIN, |s| s.mtime_ns);
        let elapsed = i64::try_from(self.started.elapsed().as_nanos()).unwrap_or(i64::MAX);
        let racy_from_ns = now.saturating_sub(elapsed).saturating_sub(RACY_MARGIN_NS);
        let mut out = std::io::BufWriter::new(file);
        let mut hasher = Sha256::new();
        let mut put = |bytes: &[u8]| {
            hasher.update(bytes);
            out.write_all(bytes)
        };
        put(&format::encode_header(racy_from_ns, &self.dir))?;
        for part in &self.parts {
            match (part, &mut self.old) {
                (Part::Old(range), Some(old)) => old.copy(range.clone(), &mut put)?,
                (Part::Fresh(range), _) => put(&self.fresh[range.clone()])?,
                // Runs of the old file are kept only when there is one.
                (Part::Old(_), None) => return Err(std::io::Error::other("no cache file")),
            }
        }
        out.write_all(&format::trailer(hasher))?;
        // No fsync: a file torn by a crash fails its hash and is rebuilt.
        out.flush()
    }
}

#[cfg(test)]
mod tests;
