//! A downstream crate that uses `embed_migrations!` and the build.rs helper, built with cargo:
//! it compiles and applies its migrations; a new folder is picked up without `cargo clean`; an
//! edited sealed migration fails the build; a release build refuses unsealed migrations.

use migrate_tests::{Fixture, TestDb};
use std::process::Command;

fn run(exe: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(exe)
        .args(args)
        .output()
        .expect("run the fixture");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_fixture_compiles_applies_its_migrations_and_guards_startup() {
    let app = Fixture::copy("app");
    let build = app.cargo(&["build"]);
    assert!(build.success, "{}", build.stderr);
    let db = TestDb::new();
    let out = run(build.executable.as_deref().expect("executable"), &[&db.url]);
    let expected = "embedded 2: 20261121090000_create_users 20261121090100_add_phone\n\
        latest 20261121090100\n\
        guard before apply: the database schema is older than this code needs (20261121090000); no migration \
        applied; not applied: 20261121090000_create_users. Apply the migrations first (`cargo migrate apply`, or MIGRATOR.apply)\n\
        applied to CREATE_USERS: 1\n\
        applied: 1\n\
        status: 20261121090000=applied 20261121090100=applied\n";
    assert_eq!(out, expected);
    assert_eq!(
        db.count("SELECT count(*) FROM pg_indexes WHERE indexname = 'users_phone'"),
        1
    );
    // The embedded migrator and the CLI share the history: run again, nothing to do.
    let again = run(build.executable.as_deref().expect("executable"), &[&db.url]);
    assert!(
        again.contains("applied to CREATE_USERS: 0\napplied: 0\n"),
        "{again}"
    );
}

#[test]
fn a_new_migration_folder_is_picked_up_without_cargo_clean() {
    let app = Fixture::copy("app");
    let first = app.cargo(&["build"]);
    assert!(first.success, "{}", first.stderr);
    assert!(
        run(first.executable.as_deref().expect("exe"), &[]).contains("latest 20261121090100\n")
    );
    app.write(
        "migrations/20261121090200_add_email/migration.sql",
        "ALTER TABLE users ADD COLUMN email text;\n",
    );
    let second = app.cargo(&["build"]);
    assert!(second.success, "{}", second.stderr);
    assert!(
        second.stderr.contains(
            "unsealed migrations (drafts, allowed in debug builds only): 20261121090200_add_email"
        ),
        "{}",
        second.stderr
    );
    let out = run(second.executable.as_deref().expect("exe"), &[]);
    assert!(out.starts_with("embedded 3: "), "{out}");
    assert!(out.contains("latest 20261121090200\n"), "{out}");
}

#[test]
fn editing_a_sealed_migration_fails_the_build() {
    let app = Fixture::copy("app");
    app.write(
        "migrations/20261121090000_create_users/migration.sql",
        "CREATE TABLE users (id int PRIMARY KEY);\n",
    );
    let build = app.cargo(&["build"]);
    assert!(!build.success);
    assert!(
        build.stderr.contains(
            "error: cargo-migrate: a file changed in the sealed migration 20261121090000_create_users: \
             migrations/20261121090000_create_users/migration.sql (sealed sha256 3456c330330e5584db1ea42d855fe843569a61c7c200bd34b52f8f9c03b28f0d, now "
        ),
        "{}",
        build.stderr
    );
    assert!(
        build
            .stderr
            .contains("cargo migrate seal --force 20261121090000"),
        "{}",
        build.stderr
    );
    // Without the build script, the macro refuses the same way.
    let build = app.cargo(&["build", "--no-default-features"]);
    assert!(!build.success);
    assert!(build.stderr.contains("error: cargo-migrate: a file changed in the sealed migration 20261121090000_create_users"), "{}", build.stderr);
    assert!(
        build
            .stderr
            .contains("migrate_macros::embed_migrations!(\"migrations\");"),
        "the error points at the macro call: {}",
        build.stderr
    );
}

#[test]
fn a_release_build_refuses_unsealed_migrations() {
    let app = Fixture::copy("app");
    app.write(
        "migrations/20261121090200_add_email/migration.sql",
        "ALTER TABLE users ADD COLUMN email text;\n",
    );
    let expected = "cargo-migrate: unsealed migrations in a release build: 20261121090200_add_email. Seal them with `cargo migrate seal`";
    // Through the build script...
    let build = app.cargo(&["check", "--release"]);
    assert!(!build.success);
    assert!(
        build.stderr.contains(&format!("error: {expected}")),
        "{}",
        build.stderr
    );
    // ...and through the macro alone (its cfg(debug_assertions) check).
    let build = app.cargo(&["check", "--release", "--no-default-features"]);
    assert!(!build.success);
    assert!(
        build.stderr.contains(&format!("error: {expected}")),
        "{}",
        build.stderr
    );
    // A debug build of the same crate is fine.
    assert!(app.cargo(&["check", "--no-default-features"]).success);
}
