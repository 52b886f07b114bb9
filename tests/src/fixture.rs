//! Downstream fixture crates (`tests/fixtures/<name>`), copied to a temporary directory and
//! built with cargo in the workspace's target directory (dependencies are shared, so only the
//! fixture itself compiles), or, as a user's new crate would be, with no lock file.

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

/// The workspace's target directory.
///
/// ```
/// let target = migrate_tests::target_dir();
/// assert!(target.ends_with("target") || std::env::var_os("CARGO_TARGET_DIR").is_some());
/// ```
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// The cargo this test runs under (`CARGO`), else `cargo` from `PATH`, without the variables
/// cargo set for this test process (see [`test_process_env`]).
///
/// ```
/// let cargo = migrate_tests::cargo();
/// assert!(cargo.get_program().to_string_lossy().contains("cargo"));
/// ```
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    for name in test_process_env() {
        command.env_remove(name);
    }
    command
}

/// The variables cargo sets for the test process about its own package (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_*`, ...). A cargo started from a test must not inherit them: build scripts that
/// read them (ring's reads `CARGO_MANIFEST_DIR`) would rerun with the inherited value, and
/// the next `cargo test` would rebuild them and everything above them again.
///
/// ```
/// let names = migrate_tests::test_process_env();
/// assert!(names.iter().all(|n| n.to_string_lossy().starts_with("CARGO_")));
/// ```
pub fn test_process_env() -> Vec<std::ffi::OsString> {
    const NAMES: &[&str] = &[
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
    ];
    std::env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| {
            let name = name.to_string_lossy();
            NAMES.contains(&name.as_ref())
                || name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_BIN_EXE_")
        })
        .collect()
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
        let fixture = Fixture::unlocked(name, &[]);
        std::fs::copy(
            workspace_root().join("Cargo.lock"),
            fixture.path().join("Cargo.lock"),
        )
        .expect("Cargo.lock");
        fixture
    }

    /// Copies `tests/fixtures/<name>` as a user's new crate: path dependencies pointing at this
    /// workspace, no `Cargo.lock` (cargo resolves every dependency afresh), and each
    /// `(placeholder, value)` of `replace` substituted in `Cargo.toml` (e.g. `@EDITION@`).
    pub fn unlocked(name: &str, replace: &[(&str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures")
                .join(name),
            dir.path(),
        );
        let manifest = dir.path().join("Cargo.toml");
        let mut text = std::fs::read_to_string(&manifest).expect("manifest");
        text = text.replace("@ROOT@", &workspace_root().display().to_string());
        for (placeholder, value) in replace {
            text = text.replace(placeholder, value);
        }
        std::fs::write(&manifest, text).expect("manifest");
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

    /// `cargo` in the copy's root, building in the workspace's target directory.
    pub fn cargo_command(&self) -> Command {
        let mut command = cargo();
        command
            .current_dir(self.path())
            .env("CARGO_TARGET_DIR", target_dir());
        command
    }

    /// Runs `cargo <command> <args>` on the copy (e.g. `build`, `check --release`).
    pub fn cargo(&self, args: &[&str]) -> Build {
        let out = self
            .cargo_command()
            .args(args)
            .arg("--message-format=json-render-diagnostics")
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
