//! What users build, resolved the way they resolve it: a new crate outside this workspace with
//! no lock file, on edition 2021 (resolver 2: the newest version of every dependency, whatever
//! rustc it needs) and on edition 2024 (resolver 3, which respects this rustc), resolves to
//! dependencies this rustc can build, and builds (the macro and the build script included);
//! and the README's `cargo install --path cargo-migrate` works from a clean copy of the
//! repository without `--locked`. Our own `Cargo.lock` and resolver 3 hide such breakage.
//!
//! These tests need cargo and the registry (crates.io): without them they fail, never skip.

use migrate_tests::{Fixture, cargo, target_dir};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where `cargo install` puts what it builds, apart from `target/debug`, which holds the
/// `cargo-migrate` binary the other tests run. Its intermediate files (the compiled
/// dependencies) stay in the workspace's target directory (cargo's `build-dir`), so the
/// dependencies the test suite already compiled are reused.
fn install_target() -> PathBuf {
    target_dir().join("fresh-install")
}

/// Settings that give the copy's own crates artifacts of their own in the shared build
/// directory: cargo names artifacts the same for the same crate, features and profile wherever
/// the workspace is, so without them the copy's `cargo-migrate` and `migrate-runtime` would
/// replace the ones the other tests run (which cargo would then rebuild).
const OWN_ARTIFACTS: [&str; 4] = [
    "--config",
    "profile.dev.package.cargo-migrate.debug='line-tables-only'",
    "--config",
    "profile.dev.package.migrate-runtime.debug='line-tables-only'",
];

/// Cargo, refreshing the registry index as a user's first build does, even when the machine is
/// configured offline.
fn online(mut command: Command) -> Command {
    command.args(["--config", "net.offline=false"]);
    command
}

/// The standard output of a successful run; else a failure that shows what went wrong.
fn succeed(what: &str, command: &mut Command) -> String {
    let out: Output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `(major, minor, patch)` of `1.95.0`, `1.85` or `1.95.0-nightly`.
fn version(text: &str) -> (u64, u64, u64) {
    let mut parts = text
        .split(['.', '-'])
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let mut next = || parts.next().unwrap_or(0);
    (next(), next(), next())
}

fn text(value: &serde_json::Value) -> &str {
    value.as_str().unwrap_or("?")
}

/// The version of the rustc cargo builds with.
fn rustc_version() -> (u64, u64, u64) {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let text = succeed("rustc --version", Command::new(rustc).arg("--version"));
    let number = text.split_whitespace().nth(1).expect("rustc <version>");
    version(number)
}

/// Resolves a new crate of this edition from scratch, checks that no resolved package needs a
/// newer rustc than this one, and builds it.
fn a_new_crate_resolves_to_what_this_rustc_builds(edition: &str) {
    // Built in the workspace's target directory, like the other fixtures: the dependencies
    // the suite compiled are reused where the resolution agrees.
    let app = Fixture::unlocked("fresh", &[("@EDITION@", edition)]);
    assert!(!app.path().join("Cargo.lock").exists());
    let mut command = online(app.cargo_command());
    succeed("cargo generate-lockfile", command.arg("generate-lockfile"));
    let metadata = succeed(
        "cargo metadata",
        app.cargo_command()
            .args(["metadata", "--format-version", "1", "--locked"]),
    );
    let metadata: serde_json::Value = serde_json::from_str(&metadata).expect("metadata JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let names: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    for expected in [
        "migrate-runtime",
        "migrate-macros",
        "squawk-syntax",
        "postgres",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} not resolved: {names:?}"
        );
    }
    let rustc = rustc_version();
    let too_new: Vec<String> = packages
        .iter()
        .filter_map(|p| {
            let needs = p["rust_version"].as_str()?;
            (version(needs) > rustc).then(|| {
                format!(
                    "{} {} (rust-version {needs})",
                    text(&p["name"]),
                    text(&p["version"])
                )
            })
        })
        .collect();
    assert!(
        too_new.is_empty(),
        "a new edition-{edition} crate without a lock file resolves to crates rustc {rustc:?} cannot \
         build; pin them in migrate-runtime's Cargo.toml: {too_new:#?}"
    );
    let build = app.cargo(&["check"]);
    assert!(
        build.success,
        "a new edition-{edition} crate does not build:\n{}",
        build.stderr
    );
}

#[test]
fn a_new_edition_2021_crate_without_a_lock_file_builds_on_this_rustc() {
    a_new_crate_resolves_to_what_this_rustc_builds("2021");
}

#[test]
fn a_new_edition_2024_crate_without_a_lock_file_builds_on_this_rustc() {
    a_new_crate_resolves_to_what_this_rustc_builds("2024");
}

/// Copies the files git tracks, as they are in the working tree (a clean clone of the work in
/// progress: no `target/`, nothing untracked).
fn copy_tracked_files(from: &Path, to: &Path) {
    let list = succeed(
        "git ls-files",
        Command::new("git")
            .args(["ls-files", "-z"])
            .current_dir(from),
    );
    for file in list.split('\0').filter(|f| !f.is_empty()) {
        let source = from.join(file);
        // Deleted in the working tree, not yet committed.
        if !source.exists() {
            continue;
        }
        let target = to.join(file);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&source, &target).unwrap_or_else(|e| panic!("copy {file}: {e}"));
    }
}

#[test]
fn the_readme_install_command_works_from_a_clean_copy_without_locked() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let copy = tempfile::tempdir().expect("tempdir");
    copy_tracked_files(workspace, copy.path());
    let root = tempfile::tempdir().expect("tempdir");
    // The README's command; `--debug` and the shared target directory only make it cheaper.
    let mut command = online(cargo());
    succeed(
        "cargo install --path cargo-migrate",
        command
            .args(OWN_ARTIFACTS)
            .args(["install", "--path", "cargo-migrate", "--debug", "--root"])
            .arg(root.path())
            .current_dir(copy.path())
            .env("CARGO_TARGET_DIR", install_target())
            .env("CARGO_BUILD_BUILD_DIR", target_dir()),
    );
    let out = succeed(
        "cargo-migrate --version",
        Command::new(root.path().join("bin/cargo-migrate")).arg("--version"),
    );
    assert_eq!(
        out,
        format!("cargo-migrate {}\n", env!("CARGO_PKG_VERSION"))
    );
}
