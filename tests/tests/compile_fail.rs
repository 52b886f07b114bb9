//! `embed_migrations!` at compile time, with trybuild: each broken directory is a compile error
//! whose exact text is checked in (`tests/ui/*.stderr`), and a valid one yields the constants.
//!
//! trybuild builds the cases in `<target>/tests/trybuild/migrate-tests/`, which is their
//! `CARGO_MANIFEST_DIR`; the fixture directories are copied there so the cases use relative
//! paths exactly as users write them.

use migrate_tests::copy_dir;
use std::path::{Path, PathBuf};

fn trybuild_project_dir() -> PathBuf {
    // This test binary lives in <target>/<profile>/deps/.
    let exe = std::env::current_exe().expect("test executable");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("target directory")
        .to_path_buf();
    target.join("tests").join("trybuild").join("migrate-tests")
}

#[test]
fn embed_migrations_compile_errors_and_constants() {
    let fixtures = trybuild_project_dir().join("fixtures");
    let _ = std::fs::remove_dir_all(&fixtures);
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/fixtures"),
        &fixtures,
    );
    // A directory without migrations (git keeps no empty folder), and the package's default
    // `migrations` directory for the no-argument form.
    std::fs::create_dir_all(fixtures.join("empty")).expect("mkdir");
    let default_dir = trybuild_project_dir().join("migrations");
    let _ = std::fs::remove_dir_all(&default_dir);
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/fixtures/clash"),
        &default_dir,
    );
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
    t.pass("ui/pass/*.rs");
}
