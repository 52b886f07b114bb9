//! For build scripts (`build.rs`) of crates that embed migrations:
//!
//! - [`verify`] emits `cargo:rerun-if-changed` for the migrations directory and every file in
//!   it, so adding a migration folder triggers a rebuild (a proc-macro alone cannot see new
//!   files), and fails the build with the same messages as `embed_migrations!`;
//! - [`generate`] does the same and writes the constants and `MIGRATOR` into
//!   `$OUT_DIR/migrations.rs` for `include!`, for teams that avoid proc-macros.
//!
//! ```no_run
//! // in build.rs, inside `fn main`:
//! migrate_runtime::build::verify("migrations");
//! ```

use crate::compile::{check, source};
use std::path::{Path, PathBuf};

/// Verifies `dir` (relative to the package root) and asks cargo to rerun on any change in it.
/// Exits the build script with the error messages when verification fails; unsealed drafts
/// fail release builds and warn in debug builds.
pub fn verify(dir: impl AsRef<Path>) {
    run(dir.as_ref());
}

/// Like [`verify`], and writes the generated constants and `MIGRATOR` to
/// `$OUT_DIR/migrations.rs`, returned. Use it with
/// `include!(concat!(env!("OUT_DIR"), "/migrations.rs"));` inside a module.
///
/// ```no_run
/// // in build.rs, inside `fn main`:
/// migrate_runtime::build::generate("migrations");
/// ```
pub fn generate(dir: impl AsRef<Path>) -> PathBuf {
    let checked = run(dir.as_ref());
    let out = PathBuf::from(
        std::env::var_os("OUT_DIR")
            .unwrap_or_else(|| fail(&["OUT_DIR is not set: call this from build.rs".into()])),
    );
    let file = out.join("migrations.rs");
    if let Err(e) = std::fs::write(&file, source(&checked, false)) {
        fail(&[format!(
            "cargo-migrate: cannot write {}: {e}",
            file.display()
        )]);
    }
    file
}

fn run(dir: &Path) -> crate::compile::Checked {
    let root = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_default();
    // Set by cargo for the crate being built, so this follows its profile.
    let debug = std::env::var_os("CARGO_CFG_DEBUG_ASSERTIONS").is_some();
    let mut out = Vec::new();
    let checked = check_dir(&root, dir, debug, &mut out);
    print!("{}", String::from_utf8_lossy(&out));
    checked.unwrap_or_else(|messages| fail(&messages))
}

/// The work of [`verify`]: writes cargo's instructions (rerun hints, the drafts warning) to
/// `out` and returns the checked migrations, or the build's error messages.
fn check_dir(
    root: &Path,
    dir: &Path,
    debug: bool,
    out: &mut Vec<u8>,
) -> Result<crate::compile::Checked, Vec<String>> {
    use std::io::Write;
    let abs = root.join(dir);
    let mut say = |line: String| {
        let _ = writeln!(out, "{line}");
    };
    say(format!("cargo:rerun-if-changed={}", abs.display()));
    for file in files(&abs) {
        say(format!("cargo:rerun-if-changed={}", file.display()));
    }
    let checked = check(&abs, &dir.display().to_string())?;
    if !checked.drafts.is_empty() {
        let list = checked.drafts.join(", ");
        if !debug {
            return Err(vec![format!(
                "cargo-migrate: unsealed migrations in a release build: {list}. Seal them with \
                 `cargo migrate seal` (review and commit migrations.lock) so no unsealed migration ships"
            )]);
        }
        say(format!(
            "cargo:warning=unsealed migrations (drafts, allowed in debug builds only): {list}"
        ));
    }
    Ok(checked)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(files(&path));
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn fail(messages: &[String]) -> ! {
    for m in messages {
        eprintln!("error: {m}");
    }
    std::process::exit(1)
}

#[cfg(test)]
mod tests {
    use super::check_dir;
    use std::fs;
    use std::path::Path;

    fn migration(root: &Path, folder: &str, sql: &str) {
        let dir = root.join("migrations").join(folder);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("migration.sql"), sql).unwrap();
        fs::write(dir.join("down.sql"), "SELECT 1;\n").unwrap();
    }

    fn seal(root: &Path) {
        let dir = root.join("migrations");
        let set = crate::MigrationSet::read(&dir).unwrap();
        let lock = crate::lockfile::LockFile::new(
            set.migrations
                .iter()
                .map(crate::lockfile::LockEntry::of)
                .collect(),
        );
        crate::lockfile::write(&dir, &lock).unwrap();
    }

    fn verify(root: &Path, debug: bool) -> (Result<Vec<String>, Vec<String>>, String) {
        let mut out = Vec::new();
        let result = check_dir(root, Path::new("migrations"), debug, &mut out);
        (result.map(|c| c.drafts), String::from_utf8(out).unwrap())
    }

    #[test]
    fn rerun_hints_name_the_directory_and_every_file() {
        let root = tempfile::tempdir().unwrap();
        migration(root.path(), "20261121090000_a", "SELECT 1;\n");
        seal(root.path());
        let (result, out) = verify(root.path(), false);
        assert_eq!(result, Ok(vec![]));
        let m = root.path().join("migrations");
        let folder = m.join("20261121090000_a");
        assert_eq!(
            out,
            format!(
                "cargo:rerun-if-changed={}\ncargo:rerun-if-changed={}\ncargo:rerun-if-changed={}\n\
                 cargo:rerun-if-changed={}\n",
                m.display(),
                folder.join("down.sql").display(),
                folder.join("migration.sql").display(),
                m.join("migrations.lock").display()
            )
        );
    }

    #[test]
    fn drafts_warn_in_debug_builds_and_fail_release_builds() {
        let root = tempfile::tempdir().unwrap();
        migration(root.path(), "20261121090000_a", "SELECT 1;\n");
        let (result, out) = verify(root.path(), true);
        assert_eq!(result, Ok(vec!["20261121090000_a".to_string()]));
        assert!(
            out.ends_with(
                "cargo:warning=unsealed migrations (drafts, allowed in debug builds only): 20261121090000_a\n"
            ),
            "{out}"
        );
        let (result, out) = verify(root.path(), false);
        let messages = result.unwrap_err();
        assert_eq!(messages.len(), 1);
        assert!(
            messages[0].starts_with(
                "cargo-migrate: unsealed migrations in a release build: 20261121090000_a. Seal them"
            ),
            "{messages:?}"
        );
        assert!(!out.contains("cargo:warning"), "{out}");
    }

    #[test]
    fn an_edited_sealed_migration_fails_the_build() {
        let root = tempfile::tempdir().unwrap();
        migration(root.path(), "20261121090000_a", "SELECT 1;\n");
        seal(root.path());
        migration(root.path(), "20261121090000_a", "SELECT 2;\n");
        for debug in [true, false] {
            let (result, _) = verify(root.path(), debug);
            let messages = result.unwrap_err();
            assert!(
                messages
                    .iter()
                    .any(|m| m.starts_with("cargo-migrate: a file changed in the sealed migration 20261121090000_a: migrations/20261121090000_a/migration.sql (sealed sha256 ")),
                "{messages:?}"
            );
        }
    }
}
