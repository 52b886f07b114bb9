//! Downstream fixture crates (`tests/fixtures/<name>`), copied to a temporary directory and
//! built with cargo in the workspace's target directory (dependencies are shared, so only the
//! fixture itself compiles).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A copy of a fixture crate.
pub struct Fixture {
    dir: tempfile::TempDir,
}

/// What a cargo build printed, and the executable it produced.
#[derive(Debug)]
pub struct Build {
    /// cargo's exit status was success.
    pub success: bool,
    /// The rendered diagnostics and build-script output.
    pub stderr: String,
    /// The binary (unique per copy, under `target/<profile>/deps`).
    pub executable: Option<PathBuf>,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

impl Fixture {
    /// Copies `tests/fixtures/<name>`, pointing its path dependencies at this workspace and
    /// pinning the workspace's `Cargo.lock`.
    pub fn copy(name: &str) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures")
                .join(name),
            dir.path(),
        );
        let manifest = dir.path().join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).expect("manifest");
        std::fs::write(
            &manifest,
            text.replace("@ROOT@", &workspace_root().display().to_string()),
        )
        .expect("manifest");
        std::fs::copy(
            workspace_root().join("Cargo.lock"),
            dir.path().join("Cargo.lock"),
        )
        .expect("Cargo.lock");
        Fixture { dir }
    }

    /// The copy's root.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file relative to the root.
    pub fn write(&self, rel: &str, contents: &str) {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, contents).expect("write");
    }

    /// Runs `cargo <command> <args>` on the copy (e.g. `build`, `check --release`).
    pub fn cargo(&self, args: &[&str]) -> Build {
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(args)
            .arg("--message-format=json-render-diagnostics")
            .current_dir(self.path())
            .env("CARGO_TARGET_DIR", target_dir())
            .output()
            .expect("run cargo");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let executable = stdout
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| {
                v.get("executable")
                    .and_then(|e| e.as_str())
                    .map(PathBuf::from)
            })
            .next();
        Build {
            success: out.status.success(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            executable,
        }
    }
}
