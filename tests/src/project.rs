//! A temporary project directory and a runner for the real `cargo-migrate` binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The `cargo-migrate` binary, built (or found up to date) once per test process with cargo, so
/// the tests never run a stale binary; release when this process is (benchmarks).
pub fn binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let build = crate::test_process_env()
            .into_iter()
            .fold(escargot::CargoBuild::new(), |build, name| {
                build.env_remove(name)
            });
        build
            .manifest_path(manifest)
            .package("cargo-migrate")
            .bin("cargo-migrate")
            .current_release()
            .run()
            .unwrap_or_else(|e| panic!("cannot build cargo-migrate: {e}"))
            .path()
            .to_path_buf()
    })
}

/// What a run printed and how it exited.
#[derive(Debug)]
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// From a finished child process.
    pub fn from_output(out: std::process::Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Parses stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// A temporary project directory with a `Cargo.toml`, removed when dropped.
pub struct Project {
    dir: tempfile::TempDir,
    /// Extra environment for runs.
    pub env: Vec<(String, String)>,
}

impl Project {
    /// An empty Cargo package `demo` (no migrations yet).
    pub fn new() -> Project {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n",
        )
        .expect("write Cargo.toml");
        std::fs::create_dir(dir.path().join("src")).expect("src");
        std::fs::write(dir.path().join("src/lib.rs"), "").expect("lib.rs");
        Project {
            dir,
            env: Vec::new(),
        }
    }

    /// A project whose runs use this database (`DATABASE_URL`). Engine tests write migrations
    /// without down.sql for brevity, so this project allows the one lint rule about that
    /// (`missing-down-migration`); every other rule of the apply gate applies.
    pub fn with_db(db: &crate::TestDb) -> Project {
        let mut p = Project::new();
        p.file(
            "Cargo.toml",
            "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
             [package.metadata.migrate.lint]\nallow = [\"missing-down-migration\"]\n\n[workspace]\n",
        );
        p.env.push(("DATABASE_URL".into(), db.url.clone()));
        p
    }

    /// Writes `migrations/<folder>/migration.sql` (and `down.sql` when given).
    pub fn migration(&self, folder: &str, up: &str, down: Option<&str>) -> &Project {
        self.file(&format!("migrations/{folder}/migration.sql"), up);
        if let Some(down) = down {
            self.file(&format!("migrations/{folder}/down.sql"), down);
        }
        self
    }

    /// `cargo-migrate migrate <args>` in the project root, with only this project's
    /// environment for the database (never the caller's `DATABASE_URL`) and its own target
    /// directory (never the caller's `CARGO_TARGET_DIR`).
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary());
        command
            .arg("migrate")
            .args(args)
            .current_dir(self.path())
            .env_remove("DATABASE_URL")
            .env_remove("CARGO_TARGET_DIR")
            .env("NO_COLOR", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// Spawns `cargo-migrate migrate <args>` without waiting.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn cargo-migrate")
    }

    /// The project root.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (creating folders), relative to the root.
    pub fn file(&self, rel: &str, contents: impl AsRef<[u8]>) -> &Project {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, contents).expect("write");
        self
    }

    /// Reads a file relative to the root.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// The migration folders under `migrations/`, sorted.
    pub fn migration_folders(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path().join("migrations"))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Runs `cargo-migrate migrate <args>` in the project root, as cargo would.
    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("run cargo-migrate");
        Run::from_output(out)
    }

    /// Runs `cargo-migrate migrate <args>` with this project's environment in another working
    /// directory (a subdirectory of the project, or outside it with `--manifest-path`).
    pub fn run_in(&self, cwd: &Path, args: &[&str]) -> Run {
        let out = self
            .command(args)
            .current_dir(cwd)
            .output()
            .expect("run cargo-migrate");
        Run::from_output(out)
    }
}

impl Default for Project {
    fn default() -> Self {
        Project::new()
    }
}
