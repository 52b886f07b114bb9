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

use crate::compile::{check, generate as generate_tokens};
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
    if let Err(e) = std::fs::write(&file, generate_tokens(&checked, false).to_string()) {
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
    let abs = root.join(dir);
    println!("cargo:rerun-if-changed={}", abs.display());
    for file in files(&abs) {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let checked = match check(&abs, &dir.display().to_string()) {
        Ok(checked) => checked,
        Err(messages) => fail(&messages),
    };
    if !checked.drafts.is_empty() {
        let list = checked.drafts.join(", ");
        // Set by cargo for the crate being built, so this follows its profile.
        if std::env::var_os("CARGO_CFG_DEBUG_ASSERTIONS").is_none() {
            fail(&[format!(
                "cargo-migrate: unsealed migrations in a release build: {list}. Seal them with \
                 `cargo migrate seal` (review and commit migrations.lock) so no unsealed migration ships"
            )]);
        }
        println!(
            "cargo:warning=unsealed migrations (drafts, allowed in debug builds only): {list}"
        );
    }
    checked
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
