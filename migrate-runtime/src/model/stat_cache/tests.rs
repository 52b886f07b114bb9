//! The stat cache answers only for what has not changed: an edit that keeps the size and the
//! modification time, a stray file, a deleted folder, a racy file and a corrupt cache are all
//! read again, and the result is the set a read without the cache finds.

use super::StatCache;
use crate::model::read::{Listing, Texts, read_set};
use crate::model::{MigrationSet, Problem, ReadErrors};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// Three migrations (two with a down.sql), written long enough ago to be trusted.
    fn old() -> Project {
        let p = Project::fresh();
        std::thread::sleep(Duration::from_nanos(
            super::RACY_MARGIN_NS as u64 + 300_000_000,
        ));
        p
    }

    /// Three migrations written just now.
    fn fresh() -> Project {
        let p = Project {
            dir: tempfile::tempdir().unwrap(),
        };
        // The directory the cache's folder goes in exists (the cache never creates it).
        fs::create_dir(p.dir.path().join("target")).unwrap();
        p.file("20261121093000_a/migration.sql", "CREATE TABLE a ();\n")
            .file("20261121093000_a/down.sql", "DROP TABLE a;\n")
            .file(
                "20261121093001_b/migration.sql",
                "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON a (x);\n",
            )
            .file(
                "20261121093001_b/down.sql",
                "-- migrate:transaction\nDROP INDEX i;\n",
            )
            .file("20261121093002_c/migration.sql", "SELECT 3;\n");
        p
    }

    fn migrations(&self) -> PathBuf {
        self.dir.path().join("migrations")
    }

    fn cache_file(&self) -> PathBuf {
        self.dir.path().join("target/migrate-cache/status")
    }

    fn file(&self, rel: &str, text: &str) -> &Project {
        let path = self.migrations().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
        self
    }

    /// A read through the cache: the set (or errors) and how many folders were not read.
    fn read(&self) -> (Result<MigrationSet, ReadErrors>, usize) {
        let mut cache = StatCache::open(&self.cache_file(), &self.migrations());
        let set = read_set(
            &self.migrations(),
            Texts::Drop,
            Some(&mut cache),
            Listing::Every,
        );
        let hits = cache.hits();
        if set.is_ok() {
            cache.save().unwrap();
        }
        (set, hits)
    }

    /// A read through the cache, checked against a read without it.
    fn read_same(&self) -> (MigrationSet, usize) {
        let (set, hits) = self.read();
        let set = set.unwrap();
        assert_eq!(
            set,
            MigrationSet::read_checksums(&self.migrations()).unwrap()
        );
        (set, hits)
    }
}

/// Rewrites a file with other text of the same length and gives it back its modification
/// time: only the change time (and nothing a size-and-mtime check sees) differs.
fn edit_keeping_size_and_mtime(path: &Path, text: &str) {
    let before = fs::metadata(path).unwrap();
    assert_eq!(before.len(), text.len() as u64);
    fs::write(path, text).unwrap();
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(before.modified().unwrap())
        .unwrap();
    let after = fs::metadata(path).unwrap();
    assert_eq!(
        (after.len(), after.modified().unwrap()),
        (before.len(), before.modified().unwrap())
    );
}

#[test]
fn an_unchanged_directory_is_answered_from_the_cache_with_the_same_set() {
    let p = Project::old();
    assert_eq!(p.read_same().1, 0, "no cache yet");
    assert!(p.cache_file().is_file());
    let (set, hits) = p.read_same();
    assert_eq!(hits, 3);
    assert!(set.migrations[1].directives.no_transaction);
    assert!(!set.migrations[1].down_no_transaction);
    let ignore = p.cache_file().with_file_name(".gitignore");
    assert_eq!(fs::read_to_string(ignore).unwrap(), "*\n");
}

#[test]
fn an_edit_keeping_size_and_mtime_is_caught_by_the_change_time() {
    let p = Project::old();
    p.read_same();
    let up = p.migrations().join("20261121093000_a/migration.sql");
    edit_keeping_size_and_mtime(&up, "CREATE TABLE b ();\n");
    let (set, hits) = p.read_same();
    assert_eq!(hits, 2, "the edited migration is read again");
    assert_eq!(
        set.migrations[0].up.checksum,
        crate::Checksum::of_sql(b"CREATE TABLE b ();\n")
    );
}

#[test]
fn a_file_replaced_by_another_is_read_again() {
    let p = Project::old();
    p.read_same();
    let down = p.migrations().join("20261121093001_b/down.sql");
    let text = fs::read_to_string(&down).unwrap().replace("i;", "j;");
    let other = p.dir.path().join("down.sql");
    fs::write(&other, text).unwrap();
    fs::rename(&other, &down).unwrap();
    let (set, hits) = p.read_same();
    assert_eq!(hits, 2);
    assert_eq!(
        set.migrations[1].down.as_ref().unwrap().checksum,
        crate::Checksum::of_sql(b"-- migrate:transaction\nDROP INDEX j;\n")
    );
}

#[test]
fn a_stray_file_a_deleted_down_and_a_deleted_folder_are_still_found() {
    let p = Project::old();
    p.read_same();
    p.file("20261121093002_c/notes.txt", "x");
    let (read, _) = p.read();
    let errors = read.unwrap_err().0;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].problem, Problem::StrayFileInMigration);
    fs::remove_file(p.migrations().join("20261121093002_c/notes.txt")).unwrap();
    fs::remove_file(p.migrations().join("20261121093000_a/down.sql")).unwrap();
    let (set, hits) = p.read_same();
    assert!(set.migrations[0].down.is_none());
    assert_eq!(hits, 1, "a and c changed");
    fs::remove_dir_all(p.migrations().join("20261121093001_b")).unwrap();
    let (set, _) = p.read_same();
    let names: Vec<String> = set.migrations.iter().map(|m| m.folder()).collect();
    assert_eq!(names, ["20261121093000_a", "20261121093002_c"]);
}

#[test]
fn files_changed_within_the_racy_margin_of_the_read_are_read_again() {
    let p = Project::fresh();
    p.read_same();
    assert_eq!(p.read_same().1, 0, "every file is younger than the margin");
}

#[test]
fn touching_the_cache_file_does_not_make_racy_records_trusted() {
    let p = Project::fresh();
    p.read_same();
    let an_hour_on = std::time::SystemTime::now() + Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(p.cache_file())
        .unwrap()
        .set_modified(an_hour_on)
        .unwrap();
    assert_eq!(p.read_same().1, 0, "the racy records are still read again");
}

#[test]
fn a_racy_record_read_again_after_the_margin_is_trusted_from_then_on() {
    let p = Project::fresh();
    p.read_same();
    std::thread::sleep(Duration::from_nanos(
        super::RACY_MARGIN_NS as u64 + 300_000_000,
    ));
    assert_eq!(p.read_same().1, 0, "racy when the cache was written");
    assert_eq!(
        p.read_same().1,
        3,
        "hashed again long after their last change"
    );
}

#[test]
fn a_corrupt_torn_or_foreign_cache_is_ignored_and_rebuilt() {
    let p = Project::old();
    p.read_same();
    let good = fs::read(p.cache_file()).unwrap();
    let mut corrupt = good.clone();
    let checksum_byte = good.len() - 40;
    corrupt[checksum_byte] ^= 1;
    for bad in [corrupt, good[..good.len() / 2].to_vec(), b"junk".to_vec()] {
        fs::write(p.cache_file(), bad).unwrap();
        assert_eq!(p.read_same().1, 0);
        assert_eq!(fs::read(p.cache_file()).unwrap().len(), good.len());
    }
    let other = Project::old();
    fs::create_dir_all(other.cache_file().parent().unwrap()).unwrap();
    fs::copy(p.cache_file(), other.cache_file()).unwrap();
    assert_eq!(other.read_same().1, 0, "the cache of another directory");
    assert_eq!(other.read_same().1, 3);
}

#[test]
fn an_unchanged_cache_is_not_written_again() {
    let p = Project::old();
    p.read_same();
    p.read_same();
    let written = fs::metadata(p.cache_file()).unwrap().modified().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(p.read_same().1, 3);
    assert_eq!(
        fs::metadata(p.cache_file()).unwrap().modified().unwrap(),
        written
    );
}

#[test]
fn records_kept_from_the_old_file_around_a_change_are_written_back_intact() {
    let p = Project::old();
    p.read_same();
    assert_eq!(p.read_same().1, 3);
    // A folder that is gone between two that are not, and a new one: the file is written back
    // with a's and c's records copied from the old one around b's, then d's.
    fs::remove_dir_all(p.migrations().join("20261121093001_b")).unwrap();
    p.file("20261121093003_d/migration.sql", "SELECT 4;\n");
    assert_eq!(p.read_same().1, 2, "a and c");
    assert_eq!(p.read_same().1, 2, "a and c again; d is racy");
    let written = fs::metadata(p.cache_file()).unwrap().modified().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    fs::remove_dir_all(p.migrations().join("20261121093003_d")).unwrap();
    assert_eq!(p.read_same().1, 2);
    assert_ne!(
        fs::metadata(p.cache_file()).unwrap().modified().unwrap(),
        written,
        "d's record is dropped"
    );
    let written = fs::metadata(p.cache_file()).unwrap().modified().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(p.read_same().1, 2);
    assert_eq!(
        fs::metadata(p.cache_file()).unwrap().modified().unwrap(),
        written,
        "nothing changed"
    );
}
