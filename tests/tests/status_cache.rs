//! `status` through its stat cache (`target/migrate-cache/status-*`): the same output as
//! without it, and every change still found: an edit that keeps the file's size and
//! modification time, a stray file, a deleted migration, a corrupt cache.

use migrate_tests::{Project, Run, TestDb};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

const A: &str = "20261121090000_create_users";
const B: &str = "20261121090100_add_email";
const C: &str = "20261121090200_add_orders";

/// A project that has been built (it has a `target/` directory), with three applied, sealed
/// migrations whose files are old enough for the cache to trust (older than its two-second
/// racy margin).
fn applied(db: &TestDb) -> Project {
    let p = Project::with_db(db);
    std::fs::create_dir(p.path().join("target")).expect("target");
    p.migration(
        A,
        "CREATE TABLE users (id int);\n",
        Some("DROP TABLE users;\n"),
    )
    .migration(B, "ALTER TABLE users ADD COLUMN email text;\n", None)
    .migration(
        C,
        "CREATE TABLE orders (id int);\n",
        Some("DROP TABLE orders;\n"),
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    std::thread::sleep(Duration::from_millis(2300));
    p
}

/// The one cache file of the project.
fn cache_file(p: &Project) -> PathBuf {
    let dir = p.path().join("target/migrate-cache");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|f| {
            f.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("status-"))
        })
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .expect("mtime")
}

fn shown(run: &Run) -> (i32, &str, &str) {
    (run.code, run.stdout.as_str(), run.stderr.as_str())
}

/// Runs `status` (text, JSON, verbose) with the cache as it is, then without it: both the
/// same. Returns the text run.
fn status_same_without_cache(p: &Project) -> Run {
    let args: [&[&str]; 3] = [
        &["status"],
        &["status", "--format", "json"],
        &["status", "--verbose"],
    ];
    let with: Vec<Run> = args.iter().map(|a| p.run(a)).collect();
    std::fs::remove_dir_all(p.path().join("target/migrate-cache")).expect("remove the cache");
    for (args, with) in args.iter().zip(&with) {
        let without = p.run(args);
        std::fs::remove_dir_all(p.path().join("target/migrate-cache")).expect("remove the cache");
        assert_eq!(shown(with), shown(&without), "{args:?}");
    }
    // Built again for what follows.
    with.into_iter().next().expect("text run")
}

#[test]
fn status_output_is_the_same_with_and_without_the_cache_and_the_cache_is_kept_when_unchanged() {
    let db = TestDb::new();
    let p = applied(&db);
    let first = p.run(&["status"]);
    assert_eq!(first.code, 0, "{first:?}");
    let cache = cache_file(&p);
    let written = modified(&cache);
    std::thread::sleep(Duration::from_millis(20));
    let second = p.run(&["status"]);
    assert_eq!(shown(&second), shown(&first));
    assert_eq!(
        modified(&cache),
        written,
        "every migration came from the cache, so it was not written again"
    );
    let run = status_same_without_cache(&p);
    assert!(run.stdout.ends_with("3 applied\n"), "{}", run.stdout);
}

#[test]
fn an_edit_keeping_size_and_mtime_is_still_reported_as_edited() {
    let db = TestDb::new();
    let p = applied(&db);
    assert_eq!(p.run(&["status"]).code, 0);
    let written = modified(&cache_file(&p));
    let up = p.path().join("migrations").join(B).join("migration.sql");
    let mtime = modified(&up);
    // Same length, other text, and the old modification time given back: only the change
    // time tells.
    std::fs::write(&up, "ALTER TABLE users ADD COLUMN phone text;\n").expect("edit");
    std::fs::File::options()
        .write(true)
        .open(&up)
        .and_then(|f| f.set_modified(mtime))
        .expect("set mtime back");
    assert_eq!(modified(&up), mtime);
    let run = p.run(&["status"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stdout.contains(&format!("  edited       {B}")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "migrations/20261121090100_add_email/migration.sql: edited after it was sealed"
        ),
        "{}",
        run.stdout
    );
    assert_ne!(modified(&cache_file(&p)), written, "the cache was updated");
    // And again from the updated cache.
    let again = p.run(&["status"]);
    assert_eq!(shown(&again), shown(&run));
    status_same_without_cache(&p);
}

#[test]
fn a_stray_file_and_a_deleted_migration_are_still_found() {
    let db = TestDb::new();
    let p = applied(&db);
    assert_eq!(p.run(&["status"]).code, 0);
    p.file(&format!("migrations/{A}/notes.md"), "why\n");
    let stray = p.run(&["status"]);
    assert_eq!(stray.code, 1, "{stray:?}");
    assert!(
        stray.stderr.contains(&format!("{A}/notes.md")),
        "{}",
        stray.stderr
    );
    std::fs::remove_file(p.path().join(format!("migrations/{A}/notes.md"))).expect("rm");
    std::fs::remove_dir_all(p.path().join("migrations").join(C)).expect("rm -r");
    let missing = p.run(&["status"]);
    assert_eq!(missing.code, 3, "{missing:?}");
    assert!(
        missing.stdout.contains(&format!("  missing      {C}")),
        "{}",
        missing.stdout
    );
    status_same_without_cache(&p);
}

#[test]
fn a_corrupt_cache_is_ignored_and_rebuilt() {
    let db = TestDb::new();
    let p = applied(&db);
    let good = p.run(&["status"]);
    let cache = cache_file(&p);
    let len = std::fs::metadata(&cache).expect("cache").len();
    let mut bytes = std::fs::read(&cache).expect("read");
    let last = bytes.len() - 40;
    bytes[last] ^= 0xff;
    for bad in [bytes, b"not a cache".to_vec(), Vec::new()] {
        std::fs::write(&cache, &bad).expect("corrupt the cache");
        let run = p.run(&["status"]);
        assert_eq!(shown(&run), shown(&good));
        assert_eq!(std::fs::metadata(&cache).expect("cache").len(), len);
    }
}

#[test]
fn the_cache_stays_out_of_git() {
    let db = TestDb::new();
    let p = applied(&db);
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(p.path())
            .output()
            .expect("git");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    git(&["init", "-q"]);
    assert_eq!(p.run(&["status"]).code, 0);
    cache_file(&p);
    let untracked = git(&["status", "--porcelain", "--untracked-files=all"]);
    assert!(!untracked.contains("target"), "{untracked}");
    assert!(untracked.contains("migrations/"), "{untracked}");
}

#[test]
fn without_a_target_directory_status_creates_nothing() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration(
        A,
        "CREATE TABLE users (id int);\n",
        Some("DROP TABLE users;\n"),
    );
    assert_eq!(p.run(&["apply"]).code, 0);
    let before = entries(p.path());
    let run = p.run(&["status"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(&format!("applied      {A}")), "{run:?}");
    assert_eq!(
        entries(p.path()),
        before,
        "status wrote nothing into the project"
    );
    assert!(!p.path().join("target").exists());
}

/// Every path under `dir`, sorted.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let path = e.expect("entry").path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            all.push(path);
        }
    }
    all.sort();
    all
}

#[test]
fn a_target_directory_of_another_user_gets_no_cache() {
    let db = TestDb::new();
    let p = applied(&db);
    let target = p.path().join("target");
    // Root can make the directory someone else's; another user cannot, and then cannot write
    // into root's either, which is the same protection.
    if runs_as_root() {
        std::os::unix::fs::chown(&target, Some(65534), Some(65534)).expect("chown");
        let run = p.run(&["status"]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            !target.join("migrate-cache").exists(),
            "nothing written into another user's target directory"
        );
    } else {
        eprintln!("not root: the directory cannot be given to another user; checked as root in CI");
    }
}

/// Whether this test runs as root (the owner of a file it creates).
fn runs_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    let probe = tempfile::tempdir().expect("temp dir");
    std::fs::metadata(probe.path()).expect("metadata").uid() == 0
}
