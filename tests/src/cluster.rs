//! A private PostgreSQL cluster for one test (TLS and connection-error tests need a server
//! configured their way; the version matrix needs one per major), started with the dev
//! database's mechanism and deleted when dropped.

use migrate_runtime::devdb::{ClusterOptions, DevDb, Running, Search};
use std::path::Path;

/// A running private cluster in a temporary directory; stopped and deleted when dropped.
pub struct PrivateCluster {
    /// The cluster.
    pub db: DevDb,
    /// Its port and socket directory.
    pub running: Running,
    dir: tempfile::TempDir,
}

impl PrivateCluster {
    /// Creates and starts a cluster with these options. Panics with the server's output when
    /// it cannot start.
    pub fn start(options: ClusterOptions) -> PrivateCluster {
        PrivateCluster::start_with(options, Search::from_env())
    }

    /// Creates and starts a cluster with these options from PostgreSQL `major`'s server
    /// programs in the version matrix ([`crate::matrix`]). Panics, saying how to install them,
    /// when they are missing.
    pub fn start_major(major: u32, options: ClusterOptions) -> PrivateCluster {
        let search = crate::matrix::search(major).unwrap_or_else(|e| panic!("\n\n{e}\n"));
        PrivateCluster::start_with(options, search)
    }

    fn start_with(options: ClusterOptions, search: Search) -> PrivateCluster {
        let dir = open_tempdir();
        let db = DevDb::at(&dir.path().join("cluster"), "postgres")
            .with_search(search)
            .with_options(options);
        let running = db
            .ensure()
            .unwrap_or_else(|e| panic!("cannot start a private cluster: {e}: {:?}", e.detail));
        PrivateCluster { db, running, dir }
    }

    /// The server's major version (`"15"`).
    pub fn major(&self) -> &str {
        &self.running.major
    }

    /// Its loopback port.
    pub fn port(&self) -> u16 {
        self.running.port
    }

    /// A directory beside the cluster for the test's own files (certificates, ...).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = self.db.destroy();
    }
}

/// A temporary directory other users can enter whatever the umask, so a server that runs as an
/// unprivileged user (the tests run as root in CI) can reach files the test puts in it. (The
/// cluster itself would be kept elsewhere when it could not: see `DevDb::record`.)
pub fn open_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    open_up(dir.path());
    dir
}

/// Lets other users enter `dir` (mode 755).
pub fn open_up(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}
