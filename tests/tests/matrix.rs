//! The PostgreSQL version matrix: what depends on the server's version, run against every
//! supported major (14-18), each a private cluster started once per run from that major's own
//! programs (`migrate_tests::matrix`; `.ci/pg-binaries` installs them). Every test makes its
//! own database in it. The rest of the suite runs on the default server.
//!
//! Tests are named `<area>::pg<major>::<behaviour>`: `cargo test --test matrix pg18::` runs one
//! major, `cargo test --test matrix lock` one area on all of them.
//!
//! - `engine`: apply, status, down, resolve, reset through the CLI;
//! - `locks`: who blocks a migration, who holds the runner lock;
//! - `session`: the clean session every migration starts from;
//! - `lint`: `pg_version`, and the lint's claims checked against the server;
//! - `devdb`: the dev database made by each major;
//! - `schema`: snapshots, PostgreSQL 18's NOT NULL constraints and virtual columns.

#[path = "matrix/devdb.rs"]
mod devdb;
#[path = "matrix/engine.rs"]
mod engine;
#[path = "matrix/lint.rs"]
mod lint;
#[path = "matrix/locks.rs"]
mod locks;
#[path = "matrix/schema.rs"]
mod schema;
#[path = "matrix/session.rs"]
mod session;

use migrate_tests::matrix;

#[test]
fn missing_or_mismatched_programs_fail_with_instructions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = matrix::bindir_in(dir.path(), 17).unwrap_err();
    assert!(
        e.starts_with(&format!(
            "The version matrix needs PostgreSQL 17's server programs, but {}/17/bin has no \
             initdb, pg_ctl, postgres.\n",
            dir.path().display()
        )),
        "{e}"
    );
    assert!(
        e.contains(
            "\n\n    .ci/pg-binaries\n\nor set MIGRATE_PG_MATRIX to a directory holding <major>/bin"
        ),
        "{e}"
    );
    // 16's programs where 17's belong.
    let sixteen = matrix::bindir(16).unwrap_or_else(|e| panic!("\n\n{e}\n"));
    std::fs::create_dir(dir.path().join("17")).expect("mkdir");
    std::os::unix::fs::symlink(&sixteen, dir.path().join("17/bin")).expect("symlink");
    let e = matrix::bindir_in(dir.path(), 17).unwrap_err();
    assert!(
        e.contains("--version should say PostgreSQL 17, but says: postgres (PostgreSQL) 16."),
        "{e}"
    );
}
