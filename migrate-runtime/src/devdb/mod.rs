//! The zero-setup development database: a PostgreSQL cluster of the project's own under
//! `target/migrate-dev-db/`, created with the server programs found on the machine, started on
//! demand on a free loopback port (and a unix socket in that directory), trust auth on loopback
//! only, and left running for the next command.
//!
//! The CLI uses it when no database is configured; the test harness uses it when no server
//! answers. Everything the server writes stays in that directory, so `cargo clean` (after
//! `cargo migrate dev-db stop`) or `cargo migrate dev-db destroy` removes it all.
//!
//! Under root the server runs as an unprivileged user (`server_user`); when that user cannot
//! reach the project, the cluster lives in a directory of that user's own and the project keeps
//! a record of where (`location`), which every operation here follows. `destroy` deletes both;
//! `cargo clean` deletes only the record, and the next command finds the cluster again.
//!
//! ```no_run
//! use migrate_runtime::devdb::DevDb;
//! let db = DevDb::new("target".as_ref(), "my_app");
//! let running = db.ensure().unwrap();
//! println!("{}", running.url); // postgres://postgres@127.0.0.1:<port>/my_app
//! ```

mod binaries;
mod location;
mod server_user;

pub use binaries::{Binaries, Search};
pub use server_user::ServerUser;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Why the dev database could not be created, started or stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DevDbError {
    /// One line: what failed.
    pub message: String,
    /// What to do.
    pub help: String,
    /// Program output or the server log's last lines, when they explain it.
    pub detail: Option<String>,
}

impl DevDbError {
    fn new(message: impl Into<String>) -> DevDbError {
        DevDbError {
            message: message.into(),
            help: String::new(),
            detail: None,
        }
    }

    fn help(mut self, help: impl Into<String>) -> DevDbError {
        self.help = help.into();
        self
    }

    fn detail(mut self, detail: impl Into<String>) -> DevDbError {
        let detail = detail.into();
        if !detail.trim().is_empty() {
            self.detail = Some(detail.trim_end().to_string());
        }
        self
    }

    fn io(what: impl std::fmt::Display, e: std::io::Error) -> DevDbError {
        DevDbError::new(format!("{what}: {e}"))
    }
}

/// Extra server settings, files and `pg_hba.conf` for a cluster (the TLS tests start one with
/// `ssl = on` and a certificate made in the test).
///
/// ```
/// use migrate_runtime::devdb::ClusterOptions;
/// let options = ClusterOptions::default().setting("ssl", "on").file("server.key", b"...".to_vec());
/// assert_eq!(options.settings, [("ssl".to_string(), "on".to_string())]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// `postgresql.conf` settings written when the cluster is created.
    pub settings: Vec<(String, String)>,
    /// Files written into the data directory (mode 600, owned by the server's user).
    pub files: Vec<(String, Vec<u8>)>,
    /// Replaces `pg_hba.conf`.
    pub hba: Option<String>,
}

impl ClusterOptions {
    /// Adds a setting.
    pub fn setting(mut self, name: &str, value: &str) -> ClusterOptions {
        self.settings.push((name.into(), value.into()));
        self
    }

    /// Adds a file to the data directory.
    pub fn file(mut self, name: &str, contents: Vec<u8>) -> ClusterOptions {
        self.files.push((name.into(), contents));
        self
    }

    /// Replaces `pg_hba.conf`.
    pub fn hba(mut self, hba: &str) -> ClusterOptions {
        self.hba = Some(hba.into());
        self
    }
}

/// A project's dev database: the cluster under `<target>/migrate-dev-db` (or where that
/// directory's record says, see [`DevDb::record`]) and the database in it the project uses.
#[derive(Debug, Clone)]
pub struct DevDb {
    /// The project's directory for it, `<target>/migrate-dev-db`: the lock is beside it, and
    /// when the cluster lives elsewhere, the record of where is in it.
    home: PathBuf,
    /// The cluster's directory: `home`, or the place `location` chose.
    dir: PathBuf,
    database: String,
    search: Search,
    options: ClusterOptions,
}

/// What [`DevDb::status`] sees, without changing anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The cluster's directory.
    pub dir: PathBuf,
    /// Whether the cluster exists.
    pub created: bool,
    /// The port, when the server is running.
    pub port: Option<u16>,
    /// The PostgreSQL major version that created it.
    pub major: Option<String>,
    /// The URL of the project's database (whether or not the server runs).
    pub url: Option<String>,
}

/// A running dev database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    /// `postgres://postgres@127.0.0.1:<port>/<database>`.
    pub url: String,
    /// The loopback port.
    pub port: u16,
    /// The unix socket directory, when the server listens on one.
    pub socket_dir: Option<PathBuf>,
    /// This call created the cluster.
    pub created: bool,
    /// This call started the server.
    pub started: bool,
    /// The server's major version.
    pub major: String,
    /// The user the server runs as.
    pub server_user: String,
}

/// The longest unix socket path the kernel accepts (`sun_path` is 108 bytes on Linux, 104 on
/// macOS), minus the terminating NUL.
const MAX_SOCKET_PATH: usize = 103;

impl DevDb {
    /// The dev database of the project whose Cargo target directory is `target_dir`, using the
    /// database `database` in it (one cluster per target directory, one database per package).
    pub fn new(target_dir: &Path, database: &str) -> DevDb {
        DevDb::at(&target_dir.join("migrate-dev-db"), database)
    }

    /// A cluster in `dir` (or, when cargo-migrate runs as root and the server's user cannot
    /// reach `dir`, in a directory of that user's own, recorded in `dir`).
    pub fn at(dir: &Path, database: &str) -> DevDb {
        let home = absolute(dir);
        DevDb {
            dir: location::resolve(&home),
            home,
            database: database_name(database),
            search: Search::from_env(),
            options: ClusterOptions::default(),
        }
    }

    /// Looks for the server programs with `search` instead of this machine's environment.
    pub fn with_search(mut self, search: Search) -> DevDb {
        self.search = search;
        self
    }

    /// Creates the cluster with these options.
    pub fn with_options(mut self, options: ClusterOptions) -> DevDb {
        self.options = options;
        self
    }

    /// The cluster's directory (its data, server log and socket): the one given to
    /// [`DevDb::new`] or [`DevDb::at`], or the place its [`record`](DevDb::record) names.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that records where the cluster lives, when that is not the directory given
    /// (`<target>/migrate-dev-db/location`). It exists once the cluster was created there.
    ///
    /// ```
    /// use migrate_runtime::devdb::DevDb;
    /// let db = DevDb::new("target".as_ref(), "my_app");
    /// match db.record() {
    ///     Some(record) => println!("in {}, as {} says", db.dir().display(), record.display()),
    ///     None => assert!(db.dir().ends_with("target/migrate-dev-db")),
    /// }
    /// ```
    pub fn record(&self) -> Option<PathBuf> {
        self.relocated().then(|| location::record(&self.home))
    }

    fn relocated(&self) -> bool {
        self.dir != self.home
    }

    /// The database the project uses.
    pub fn database(&self) -> &str {
        &self.database
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    fn url(&self, port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/{}", self.database)
    }

    /// The cluster's state, changing nothing.
    pub fn status(&self) -> Result<Status, DevDbError> {
        let major = self.created_major();
        let port = match &major {
            Some(_) if self.data().join("postmaster.pid").is_file() => {
                let _lock = self.lock()?;
                self.running_port(&self.binaries(major.as_deref())?, &ServerUser::pick()?)?
            }
            _ => None,
        };
        Ok(Status {
            dir: self.dir.clone(),
            created: major.is_some(),
            port,
            url: port.map(|p| self.url(p)),
            major,
        })
    }

    /// Creates the cluster if it does not exist, starts the server if it is not running, and
    /// creates the project's database if it is missing. Concurrent calls (several commands, or
    /// tests in parallel) wait for each other.
    pub fn ensure(&self) -> Result<Running, DevDbError> {
        let user = ServerUser::pick()?;
        std::fs::create_dir_all(&self.home)
            .map_err(|e| DevDbError::io(format!("cannot create {}", self.home.display()), e))?;
        let _lock = self.lock()?;
        if self.relocated() {
            location::prepare(&self.dir, &user)?;
        }
        // Only a cluster made in the project before it became unreachable can be blocked.
        if let Some(blocked) = user.blocked_ancestor(&self.dir) {
            return Err(user.blocked_error(&blocked, &self.dir));
        }
        if self.relocated() {
            location::write_record(&self.home, &self.dir, &user)?;
        }
        let existing = self.created_major();
        let bin = self.binaries(existing.as_deref())?;
        let created = existing.is_none();
        if created {
            self.create(&bin, &user)?;
        }
        let (port, started) = match self.running_port(&bin, &user)? {
            Some(port) => (port, false),
            None => (self.start(&bin, &user)?, true),
        };
        let socket_dir = self.socket_dir();
        self.create_database(port, socket_dir.as_deref())?;
        Ok(Running {
            url: self.url(port),
            port,
            socket_dir,
            created,
            started,
            major: bin.major,
            server_user: user.name,
        })
    }

    /// Stops the server (fast shutdown: open sessions are ended). Returns whether it was running.
    pub fn stop(&self) -> Result<bool, DevDbError> {
        let Some(major) = self.created_major() else {
            return Ok(false);
        };
        let _lock = self.lock()?;
        // Without a postmaster.pid no server runs: nothing to stop, and no need for the
        // programs of its major (which may be gone: `destroy` is the way out then).
        if !self.data().join("postmaster.pid").is_file() {
            return Ok(false);
        }
        let user = ServerUser::pick()?;
        let bin = self.binaries(Some(&major))?;
        if self.running_port(&bin, &user)?.is_none() {
            return Ok(false);
        }
        let out = self.pg_ctl(&bin, &user, &["stop", "-m", "fast", "-w", "-t", "60"])?;
        if !out.status.success() {
            return Err(DevDbError::new("the dev database did not stop")
                .help(format!("see {}", self.log().display()))
                .detail(output_text(&out)));
        }
        Ok(true)
    }

    /// Stops the server and deletes the cluster with all its data, and the record of where it
    /// lived. Returns whether it existed.
    pub fn destroy(&self) -> Result<bool, DevDbError> {
        let record = self.record().filter(|r| r.exists());
        if !self.dir.exists() && record.is_none() {
            return Ok(false);
        }
        if self.created_major().is_some() {
            self.stop()?;
        }
        let _lock = self.lock()?;
        let delete = |dir: &Path| match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(DevDbError::io(
                format!("cannot delete {}", dir.display()),
                e,
            )),
            _ => Ok(()),
        };
        delete(&self.dir)?;
        if self.relocated() {
            // The project's directory held only the record.
            delete(&self.home)?;
            location::tidy(&self.dir);
        }
        Ok(true)
    }

    /// The major version in `data/PG_VERSION`, when the cluster exists.
    fn created_major(&self) -> Option<String> {
        std::fs::read_to_string(self.data().join("PG_VERSION"))
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn binaries(&self, major: Option<&str>) -> Result<Binaries, DevDbError> {
        self.search.find(major)
    }

    /// Serialises everything that creates, starts, stops or deletes the cluster. The lock
    /// file is beside the project's directory, wherever the cluster lives.
    fn lock(&self) -> Result<File, DevDbError> {
        let mut name = self.home.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        let path = self.home.with_file_name(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| DevDbError::io(format!("cannot create {}", parent.display()), e))?;
        }
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| DevDbError::io(format!("cannot open {}", path.display()), e))?;
        file.lock()
            .map_err(|e| DevDbError::io(format!("cannot lock {}", path.display()), e))?;
        Ok(file)
    }

    /// The directory of the unix socket, when its path is short enough for the kernel.
    fn socket_dir(&self) -> Option<PathBuf> {
        let longest = self.dir.join(".s.PGSQL.65535");
        (longest.as_os_str().len() <= MAX_SOCKET_PATH).then(|| self.dir.clone())
    }

    fn create(&self, bin: &Binaries, user: &ServerUser) -> Result<(), DevDbError> {
        let give = |p: &Path| {
            user.give(p).map_err(|e| {
                DevDbError::io(format!("cannot give {} to {}", p.display(), user.name), e)
            })
        };
        give(&self.dir)?;
        let data = self.data();
        let mut cmd = Command::new(bin.program("initdb"));
        cmd.arg("--pgdata")
            .arg(&data)
            .args(["--username=postgres", "--auth=trust", "--encoding=UTF8"])
            .args(["--locale=C", "--no-sync"])
            .current_dir(&self.dir);
        user.run_as(&mut cmd);
        let out = run(cmd, "initdb")?;
        if !out.status.success() {
            let _ = std::fs::remove_dir_all(&data);
            return Err(DevDbError::new(format!(
                "initdb could not create the dev database in {}",
                data.display()
            ))
            .help("fix the cause above, or set DATABASE_URL to a server you already have")
            .detail(output_text(&out)));
        }
        let socket_dirs = match self.socket_dir() {
            Some(dir) => quote_setting(&dir.to_string_lossy()),
            None => "''".into(),
        };
        let mut conf = format!(
            "\n# Written by cargo-migrate for its dev database: loopback only, and no crash \
             safety (a development database's data can be recreated; `cargo migrate dev-db \
             destroy`).\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = {socket_dirs}\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
        );
        for (name, value) in &self.options.settings {
            conf.push_str(&format!("{name} = {}\n", quote_setting(value)));
        }
        let write = |name: &str, contents: &[u8], append: bool| -> Result<(), DevDbError> {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let path = data.join(name);
            let mut file = File::options()
                .create(true)
                .write(true)
                .append(append)
                .truncate(!append)
                .mode(0o600)
                .open(&path)
                .map_err(|e| DevDbError::io(format!("cannot write {}", path.display()), e))?;
            file.write_all(contents)
                .map_err(|e| DevDbError::io(format!("cannot write {}", path.display()), e))?;
            give(&path)
        };
        write("postgresql.conf", conf.as_bytes(), true)?;
        if let Some(hba) = &self.options.hba {
            write("pg_hba.conf", hba.as_bytes(), false)?;
        }
        for (name, contents) in &self.options.files {
            write(name, contents, false)?;
        }
        Ok(())
    }

    fn pg_ctl(
        &self,
        bin: &Binaries,
        user: &ServerUser,
        args: &[&str],
    ) -> Result<Output, DevDbError> {
        let mut cmd = Command::new(bin.program("pg_ctl"));
        cmd.arg("--pgdata")
            .arg(self.data())
            .args(args)
            .current_dir(&self.dir);
        user.run_as(&mut cmd);
        run(cmd, "pg_ctl")
    }

    /// The port of the running server, `None` when it is not running.
    fn running_port(&self, bin: &Binaries, user: &ServerUser) -> Result<Option<u16>, DevDbError> {
        let out = self.pg_ctl(bin, user, &["status"])?;
        if !out.status.success() {
            return Ok(None);
        }
        // postmaster.pid: pid, data directory, start time, port, socket directory, ...
        let pid_file = self.data().join("postmaster.pid");
        let text = std::fs::read_to_string(&pid_file)
            .map_err(|e| DevDbError::io(format!("cannot read {}", pid_file.display()), e))?;
        let port = text
            .lines()
            .nth(3)
            .and_then(|l| l.trim().parse::<u16>().ok())
            .ok_or_else(|| DevDbError::new(format!("{} has no port", pid_file.display())))?;
        Ok(Some(port))
    }

    /// Starts the server on a free loopback port: the one it had last time when that is still
    /// free (so a URL someone copied keeps working), else one the kernel picks (another one if
    /// that port is taken before the server binds it).
    fn start(&self, bin: &Binaries, user: &ServerUser) -> Result<u16, DevDbError> {
        let log = self.log();
        let port_file = self.dir.join("port");
        let mut previous = std::fs::read_to_string(&port_file)
            .ok()
            .and_then(|p| p.trim().parse::<u16>().ok())
            .filter(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok());
        let mut last = None;
        for _ in 0..3 {
            let port = match previous.take() {
                Some(p) => p,
                None => free_port()?,
            };
            let options = format!("-p {port}");
            let log_arg = log.to_string_lossy();
            let out = self.pg_ctl(
                bin,
                user,
                &["start", "-w", "-t", "60", "-l", &log_arg, "-o", &options],
            )?;
            if out.status.success() {
                // Only a hint for next time: losing it costs a port change, nothing else.
                let _ = std::fs::write(&port_file, format!("{port}\n"));
                return Ok(port);
            }
            let tail = log_tail(&log);
            if !tail.contains("could not bind") && !tail.contains("already in use") {
                return Err(DevDbError::new(format!(
                    "the dev database in {} did not start",
                    self.dir.display()
                ))
                .help(format!(
                    "see {}; `cargo migrate dev-db destroy` recreates it (its data is lost)",
                    log.display()
                ))
                .detail(format!("{}{tail}", output_text(&out))));
            }
            last = Some(tail);
        }
        Err(
            DevDbError::new("the dev database found no free port to listen on")
                .help("try again")
                .detail(last.unwrap_or_default()),
        )
    }

    /// Creates the project's database if it does not exist.
    fn create_database(&self, port: u16, socket_dir: Option<&Path>) -> Result<(), DevDbError> {
        if self.database == "postgres" {
            return Ok(());
        }
        let mut config = postgres::Config::new();
        config.user("postgres").dbname("postgres").port(port);
        match socket_dir {
            Some(dir) => config.host_path(dir),
            None => config.host("127.0.0.1"),
        };
        let fail = |e: postgres::Error| {
            DevDbError::new(format!(
                "cannot create the database `{}` in the dev database: {}",
                self.database,
                crate::engine::connection::error_text(&e)
            ))
            .help(format!("see {}", self.log().display()))
        };
        let mut client = config.connect(postgres::NoTls).map_err(fail)?;
        let exists = client
            .query_opt(
                "SELECT 1 FROM pg_database WHERE datname = $1",
                &[&self.database],
            )
            .map_err(fail)?
            .is_some();
        if !exists {
            let sql = format!("CREATE DATABASE \"{}\"", self.database);
            if let Err(e) = client.batch_execute(&sql) {
                // Another process created it in between (only possible without our lock).
                if e.code() != Some(&postgres::error::SqlState::DUPLICATE_DATABASE) {
                    return Err(fail(e));
                }
            }
        }
        Ok(())
    }
}

/// The name of a project's database: the package name with anything but letters, digits and
/// `_` replaced by `_`, lowercased (`my-app` → `my_app`); `dev` when empty.
///
/// ```
/// use migrate_runtime::devdb::database_name;
/// assert_eq!(database_name("My-App"), "my_app");
/// assert_eq!(database_name(""), "dev");
/// ```
pub fn database_name(package: &str) -> String {
    let name: String = package
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    if name.is_empty() { "dev".into() } else { name }
}

fn absolute(dir: &Path) -> PathBuf {
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// A port on 127.0.0.1 that nothing listens on right now (the kernel's choice).
fn free_port() -> Result<u16, DevDbError> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| DevDbError::io("cannot find a free loopback port", e))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| DevDbError::io("cannot find a free loopback port", e))
}

fn run(mut cmd: Command, program: &str) -> Result<Output, DevDbError> {
    cmd.stdin(Stdio::null())
        .output()
        .map_err(|e| DevDbError::io(format!("cannot run {program}"), e))
}

fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The server log's last lines.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(10);
    lines[start..].join("\n")
}

/// A `postgresql.conf` string value.
fn quote_setting(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}
