//! A file's (or folder's) identity and change times as `stat` reports them: what the stat cache
//! compares instead of reading the file.

use std::fs;
use std::path::Path;

/// Device, inode, size, and modification and change times in nanoseconds. A write changes the
/// modification time; setting that back (`touch -d`, `utime`) changes the change time; a file
/// replaced by another (an editor's save-and-rename, `git checkout`) has another inode; adding,
/// removing or renaming a file in a folder changes the folder's times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
}

impl Stamp {
    /// The stamp of `path` (following a symbolic link, as reading it does); `None` when it
    /// cannot be stat'ed or the platform has no inodes.
    pub fn of(path: &Path) -> Option<Stamp> {
        fs::metadata(path)
            .ok()
            .as_ref()
            .and_then(Stamp::from_metadata)
    }

    /// The stamp of what `metadata` describes.
    #[cfg(unix)]
    pub fn from_metadata(metadata: &fs::Metadata) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
        Some(Stamp {
            dev: metadata.dev(),
            ino: metadata.ino(),
            size: metadata.size(),
            mtime_ns: ns(metadata.mtime(), metadata.mtime_nsec()),
            ctime_ns: ns(metadata.ctime(), metadata.ctime_nsec()),
        })
    }

    /// Without inodes and change times a stamp cannot tell a file replaced by another: nothing
    /// is cached.
    #[cfg(not(unix))]
    pub fn from_metadata(_: &fs::Metadata) -> Option<Stamp> {
        None
    }

    /// Whether it was modified or changed at or after `threshold_ns`: then the file may have
    /// changed again within the same timestamp granule after it was hashed, and its stamp
    /// proves nothing ("racily clean" in git's words).
    pub fn is_racy(&self, threshold_ns: i64) -> bool {
        self.mtime_ns.max(self.ctime_ns) >= threshold_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_rewritten_with_the_same_size_and_modification_time_has_another_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("migration.sql");
        fs::write(&path, "SELECT 1;").unwrap();
        let before = Stamp::of(&path).unwrap();
        let mtime = fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(&path, "SELECT 2;").unwrap();
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let after = Stamp::of(&path).unwrap();
        assert_eq!((after.size, after.mtime_ns), (before.size, before.mtime_ns));
        assert_ne!(after, before, "the change time tells them apart");
        assert!(after.ctime_ns > before.ctime_ns);
    }

    #[test]
    fn a_file_replaced_by_another_has_another_inode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("migration.sql");
        fs::write(&path, "SELECT 1;").unwrap();
        let before = Stamp::of(&path).unwrap();
        let other = dir.path().join("new.sql");
        fs::write(&other, "SELECT 2;").unwrap();
        fs::rename(&other, &path).unwrap();
        assert_ne!(Stamp::of(&path).unwrap().ino, before.ino);
    }

    #[test]
    fn racy_means_touched_at_or_after_the_threshold() {
        let stamp = Stamp {
            dev: 1,
            ino: 2,
            size: 3,
            mtime_ns: 100,
            ctime_ns: 200,
        };
        assert!(stamp.is_racy(200));
        assert!(!stamp.is_racy(201));
    }
}
