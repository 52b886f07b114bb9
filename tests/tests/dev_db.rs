//! The dev database: with no database configured, commands create, start and reuse a cluster
//! of the project's own under `target/migrate-dev-db` (or, under root, where the server's user
//! can reach it, recorded in that directory), and `dev-db status|url|stop|destroy` manage it.

use migrate_runtime::devdb::DevDb;
use migrate_tests::{Project, Run, TestDb};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A project with one migration whose directory the server's user can enter, and whose dev
/// database is deleted when the test ends.
struct DevProject(Project);

impl DevProject {
    fn new(name: &str) -> DevProject {
        let p = DevProject::private(name);
        migrate_tests::open_up(p.0.path());
        p
    }

    /// In a temporary directory of mode 700, as `mktemp -d` makes it.
    fn private(name: &str) -> DevProject {
        let p = Project::new();
        std::fs::set_permissions(p.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
        p.file(
            "Cargo.toml",
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n"),
        );
        p.migration(
            "20260101000000_create_items",
            "CREATE TABLE items (id bigint PRIMARY KEY);",
            Some("DROP TABLE items;"),
        );
        DevProject(p)
    }

    fn run(&self, args: &[&str]) -> Run {
        self.0.run(args)
    }

    fn data_dir(&self) -> PathBuf {
        self.0.path().join("target/migrate-dev-db/data")
    }

    /// The record of where the cluster lives when it cannot live in the project.
    fn record(&self) -> PathBuf {
        self.0.path().join("target/migrate-dev-db/location")
    }
}

impl Drop for DevProject {
    fn drop(&mut self) {
        let _ = self.0.run(&["dev-db", "destroy"]);
    }
}

/// The URL from the "Using the dev database <url> (<what>; ...)" line, and <what>.
fn using_line(run: &Run) -> (String, String) {
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("Using the dev database "))
        .unwrap_or_else(|| panic!("no dev database line:\n{}", run.stderr));
    let rest = &line["Using the dev database ".len()..];
    let (url, what) = rest.split_once(" (").expect("url (what)");
    let what = what.split(';').next().expect("what").to_string();
    (url.to_string(), what)
}

/// The port of a `postgres://user@host:port/db` URL.
fn port_of(url: &str) -> u16 {
    url.rsplit_once(':')
        .and_then(|(_, rest)| rest.split_once('/'))
        .and_then(|(port, _)| port.parse().ok())
        .unwrap_or_else(|| panic!("no port in {url}"))
}

fn connect(url: &str) -> Result<postgres::Client, postgres::Error> {
    postgres::Client::connect(url, postgres::NoTls)
}

fn has_items(url: &str) -> bool {
    connect(url)
        .expect("connect to the dev database")
        .query_one("SELECT to_regclass('public.items') IS NOT NULL", &[])
        .expect("query")
        .get(0)
}

#[test]
fn dev_db_is_created_on_first_use_then_reused_stopped_restarted_and_destroyed() {
    let p = DevProject::new("shop-app");
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    let (url, what) = using_line(&run);
    assert!(
        url.starts_with("postgres://postgres@127.0.0.1:") && url.ends_with("/shop_app"),
        "{url}"
    );
    assert!(what.starts_with("created with PostgreSQL "), "{what}");
    assert!(
        run.stderr
            .lines()
            .next()
            .is_some_and(|l| l.starts_with("Using the dev database")),
        "the first line says which database:\n{}",
        run.stderr
    );
    assert!(p.data_dir().join("PG_VERSION").is_file());
    assert!(
        !p.record().exists(),
        "a reachable project keeps its cluster"
    );
    assert!(has_items(&url));

    // Reused: same server, same URL.
    let run = p.run(&["status"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(using_line(&run), (url.clone(), "running".to_string()));
    let run = p.run(&["dev-db", "url"]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, format!("{url}\n").as_str())
    );

    // Stopped: the server is gone, the data stays.
    let run = p.run(&["dev-db", "stop"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (0, "Stopped the dev database.\n")
    );
    assert!(connect(&url).is_err(), "the server still answers");
    let run = p.run(&["dev-db", "status"]);
    assert!(
        run.stdout.starts_with(&format!(
            "Dev database: stopped\n  data      {}/target/migrate-dev-db\n",
            p.0.path().display()
        )),
        "{}",
        run.stdout
    );
    let run = p.run(&["dev-db", "stop"]);
    assert_eq!(run.stderr, "The dev database is not running.\n");

    // Started again on demand with its data. Its old port is taken meanwhile (here by the
    // test, so the outcome does not depend on what else runs on the machine): another one.
    let old_port = port_of(&url);
    let taken = std::net::TcpListener::bind(("127.0.0.1", old_port)).ok();
    let run = p.run(&["status"]);
    assert_eq!(run.code, 0, "{run:?}");
    let (again, what) = using_line(&run);
    assert_eq!(what, "started");
    assert_ne!(port_of(&again), old_port, "{again}");
    assert_eq!(
        again.replace(&format!(":{}/", port_of(&again)), ":PORT/"),
        url.replace(&format!(":{old_port}/"), ":PORT/")
    );
    drop(taken);
    let url = again;
    assert!(has_items(&url));
    let json = p.run(&["--format", "json", "dev-db", "status"]).json();
    assert_eq!(json["state"], "running");
    assert_eq!(json["url"], url.as_str());
    assert_eq!(json["database"], "shop_app");

    // Destroyed: server and data gone.
    let run = p.run(&["dev-db", "destroy"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.starts_with("Deleted the dev database ("),
        "{}",
        run.stderr
    );
    assert!(!p.data_dir().exists());
    assert!(connect(&url).is_err());
    let run = p.run(&["dev-db", "status"]);
    assert!(
        run.stdout.starts_with("Dev database: not created\n"),
        "{}",
        run.stdout
    );
    let run = p.run(&["dev-db", "destroy"]);
    assert_eq!(run.stderr, "There is no dev database.\n");
}

#[test]
fn concurrent_first_uses_create_one_cluster_and_agree_on_it() {
    let p = DevProject::new("racing");
    let children: Vec<_> = (0..3).map(|_| p.0.spawn(&["dev-db", "url"])).collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|c| Run::from_output(c.wait_with_output().expect("dev-db url")))
        .collect();
    for run in &runs {
        assert_eq!(run.code, 0, "{runs:?}");
        assert_eq!(run.stdout, runs[0].stdout, "{runs:?}");
    }
    // One of them created it (and said so); the others waited and found it running.
    let mut said: Vec<&str> = runs.iter().map(|r| r.stderr.as_str()).collect();
    said.sort();
    let created = format!(
        "Created the dev database in {}\n",
        p.0.path().join("target/migrate-dev-db").display()
    );
    assert_eq!(said, ["", "", created.as_str()], "{runs:?}");
    let url = runs[0].stdout.trim_end();
    assert!(url.ends_with("/racing"), "{url}");
    connect(url).expect("the one server answers");
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(using_line(&run), (url.to_string(), "running".to_string()));
}

#[test]
fn two_applies_starting_the_dev_database_at_once_share_one_cluster() {
    let p = DevProject::new("two_at_once");
    let children: Vec<_> = (0..2).map(|_| p.0.spawn(&["apply"])).collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|c| Run::from_output(c.wait_with_output().expect("apply")))
        .collect();
    assert_eq!((runs[0].code, runs[1].code), (0, 0), "{runs:?}");
    let (url, first) = using_line(&runs[0]);
    let (again, second) = using_line(&runs[1]);
    assert_eq!(url, again, "{runs:?}");
    let major = std::fs::read_to_string(p.data_dir().join("PG_VERSION")).expect("PG_VERSION");
    let mut whats = [first, second];
    whats.sort();
    assert_eq!(
        whats,
        [
            format!("created with PostgreSQL {}", major.trim()),
            "running".to_string()
        ],
        "{runs:?}"
    );
    assert!(has_items(&url));
    let applied: i64 = connect(&url)
        .expect("connect")
        .query_one(
            "SELECT count(*) FROM _migrate_history WHERE action = 'apply'",
            &[],
        )
        .expect("history")
        .get(0);
    assert_eq!(applied, 1, "the migration ran once");
}

/// A directory of fake `initdb`, `pg_ctl` and `postgres` that report PostgreSQL `major` and
/// record any other use in `used` (then fail): a second major version on a machine that has
/// only one. Everyone may run them and write `used` (the server's user runs them under root).
fn fake_major(dir: &Path, major: u32, used: &Path) {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(used, "").expect("write");
    std::fs::set_permissions(used, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    for program in ["initdb", "pg_ctl", "postgres"] {
        let path = dir.join(program);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\nif [ \"$1\" = --version ]; then echo \"{program} (PostgreSQL) {major}.1\"; exit 0; fi\n\
                 echo \"{program} $*\" >> '{}'\nexit 1\n",
                used.display()
            ),
        )
        .expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
}

#[test]
fn a_restarted_dev_database_runs_with_the_major_that_created_it() {
    let mut p = DevProject::new("majors");
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    let (url, _) = using_line(&run);
    let created: u32 = std::fs::read_to_string(p.data_dir().join("PG_VERSION"))
        .expect("PG_VERSION")
        .trim()
        .parse()
        .expect("a major version");
    assert_eq!(p.run(&["dev-db", "stop"]).code, 0);

    // Another major comes first on PATH now (faked: this machine may have only one).
    let other = tempfile::tempdir().expect("tempdir");
    migrate_tests::open_up(other.path());
    let used = other.path().join("used");
    fake_major(&other.path().join("bin"), created + 1, &used);
    let path = std::env::var("PATH").unwrap_or_default();
    p.0.env.push((
        "PATH".into(),
        format!("{}:{path}", other.path().join("bin").display()),
    ));
    let run = p.run(&["status"]);
    assert_eq!(run.code, 0, "{run:?}");
    let (again, what) = using_line(&run);
    assert_eq!(what, "started");
    assert_eq!(
        again.rsplit_once('/').map(|(_, db)| db),
        url.rsplit_once('/').map(|(_, db)| db)
    );
    assert!(has_items(&again), "the data is there");
    assert_eq!(
        std::fs::read_to_string(&used).expect("used"),
        "",
        "PostgreSQL {} ran",
        created + 1
    );
    let json = p.run(&["--format", "json", "dev-db", "status"]).json();
    assert_eq!(json["postgres_version"], created.to_string());
    let version: String = connect(&again)
        .expect("connect")
        .query_one("SHOW server_version_num", &[])
        .expect("version")
        .get(0);
    assert_eq!(version[..version.len() - 4], created.to_string());
}

#[test]
fn a_dev_database_whose_major_is_not_installed_is_refused_and_can_be_destroyed() {
    let mut p = DevProject::new("gone");
    assert_eq!(p.run(&["dev-db", "url"]).code, 0);
    assert_eq!(p.run(&["dev-db", "stop"]).code, 0);
    // Made by a major this machine does not have (faked: the cluster's PG_VERSION says so).
    let pg_version = p.data_dir().join("PG_VERSION");
    let installed = std::fs::read_to_string(&pg_version).expect("PG_VERSION");
    let missing = installed.trim().parse::<u32>().expect("a major") + 1;
    std::fs::write(&pg_version, format!("{missing}\n")).expect("write PG_VERSION");
    let found = migrate_runtime::devdb::Search::from_env()
        .find(None)
        .expect("the installed programs");

    let run = p.run(&["status"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            format!(
                "error: the dev database was created by PostgreSQL {missing}, but only PostgreSQL {} \
                 is installed ({})\n  help: run `cargo migrate dev-db destroy` to recreate it with \
                 this version (its data is lost), or install PostgreSQL {missing} again\n",
                found.major,
                found.bindir.display()
            )
            .as_str()
        ),
        "{run:?}"
    );
    assert!(
        !p.data_dir().join("postmaster.pid").exists(),
        "nothing was started"
    );

    // With MIGRATE_PG_BINDIR, the refusal names it.
    p.0.env.push((
        "MIGRATE_PG_BINDIR".into(),
        found.bindir.display().to_string(),
    ));
    let run = p.run(&["dev-db", "url"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            format!(
                "error: the dev database was created by PostgreSQL {missing}, but MIGRATE_PG_BINDIR \
                 ({}) holds PostgreSQL {}\n  help: point MIGRATE_PG_BINDIR at the matching version, \
                 or run `cargo migrate dev-db destroy`\n",
                found.bindir.display(),
                found.major
            )
            .as_str()
        ),
        "{run:?}"
    );
    assert!(!p.data_dir().join("postmaster.pid").exists());

    p.0.env.pop();

    // Status still reports it, and destroy (what the help says) removes it.
    let run = p.run(&["dev-db", "status"]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (
            0,
            format!(
                "Dev database: stopped\n  data      {}/target/migrate-dev-db\n  database  gone\n  \
                 version   PostgreSQL {missing}\n",
                p.0.path().display()
            )
            .as_str()
        ),
        "{run:?}"
    );
    let run = p.run(&["dev-db", "destroy"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!p.data_dir().exists());
}

#[test]
fn two_projects_get_separate_clusters_on_separate_ports() {
    let a = DevProject::new("alpha");
    let b = DevProject::new("beta");
    b.0.file(
        "migrations/20260101000000_create_items/migration.sql",
        "CREATE TABLE other (id bigint PRIMARY KEY);",
    );
    b.0.file(
        "migrations/20260101000000_create_items/down.sql",
        "DROP TABLE other;",
    );
    let (ra, rb) = (a.run(&["apply"]), b.run(&["apply"]));
    assert_eq!((ra.code, rb.code), (0, 0), "{ra:?}\n{rb:?}");
    let (url_a, _) = using_line(&ra);
    let (url_b, _) = using_line(&rb);
    let port = |u: &str| u.rsplit_once(':').map(|(_, p)| p.to_string());
    assert_ne!(port(&url_a), port(&url_b));
    assert!(has_items(&url_a));
    assert!(!has_items(&url_b), "project b sees project a's table");
    assert_ne!(a.data_dir(), b.data_dir());
}

#[test]
fn the_server_never_runs_as_root() {
    let p = DevProject::new("owner");
    let run = p.run(&["dev-db", "url"]);
    assert_eq!(run.code, 0, "{run:?}");
    let owner = std::fs::metadata(p.data_dir()).expect("data dir").uid();
    let me = nix::unistd::geteuid();
    if me.is_root() {
        // PostgreSQL refuses root: the cluster belongs to an unprivileged user.
        assert_ne!(owner, 0);
        let postgres = nix::unistd::User::from_name("postgres").ok().flatten();
        let nobody = nix::unistd::User::from_name("nobody").ok().flatten();
        let expected = postgres
            .or(nobody)
            .expect("an unprivileged user")
            .uid
            .as_raw();
        assert_eq!(owner, expected);
    } else {
        assert_eq!(owner, me.as_raw());
    }
}

/// The server's user: `postgres`, else `nobody` under root; this user otherwise.
fn server_user() -> (String, u32) {
    let me = nix::unistd::geteuid();
    let user = if me.is_root() {
        ["postgres", "nobody"]
            .iter()
            .find_map(|n| nix::unistd::User::from_name(n).ok().flatten())
            .expect("an unprivileged user")
    } else {
        nix::unistd::User::from_uid(me)
            .ok()
            .flatten()
            .expect("this user")
    };
    (user.name, user.uid.as_raw())
}

/// A temporary directory of mode 700, as `mktemp -d` makes it.
fn private_tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .expect("tempdir")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("metadata").mode() & 0o7777
}

#[test]
fn a_project_the_server_user_cannot_enter_keeps_its_cluster_where_that_user_can() {
    let p = DevProject::private("locked");
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    let (url, what) = using_line(&run);
    assert!(what.starts_with("created with PostgreSQL "), "{what}");
    assert!(has_items(&url));
    assert_eq!(
        mode(p.0.path()),
        0o700,
        "the project's directory is left as it was"
    );
    if !nix::unistd::geteuid().is_root() {
        // The server runs as this user, who can enter its own directory: nothing moves.
        assert!(p.data_dir().join("PG_VERSION").is_file());
        assert!(!p.record().exists());
        return;
    }
    // Under root the server runs as an unprivileged user, who cannot enter the project: the
    // cluster lives in a directory of that user's own, and the project records where.
    let (user, uid) = server_user();
    let record = std::fs::read_to_string(p.record()).expect("the record");
    let dir = PathBuf::from(record.lines().next().expect("the location"));
    assert!(
        dir.starts_with(format!("/var/lib/cargo-migrate/dev-db-{user}/")),
        "{}",
        dir.display()
    );
    assert!(
        record.contains(&format!("who cannot enter {}", p.0.path().display())),
        "{record}"
    );
    assert!(dir.join("data/PG_VERSION").is_file());
    assert!(!p.data_dir().exists());
    let meta = std::fs::metadata(&dir).expect("the cluster's directory");
    assert_eq!((meta.uid(), meta.mode() & 0o777), (uid, 0o700));
    assert_eq!(
        std::fs::metadata(dir.join("data")).expect("data").uid(),
        uid
    );

    // Every command finds it.
    let run = p.run(&["status"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(using_line(&run), (url.clone(), "running".to_string()));
    let run = p.run(&["dev-db", "status"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.starts_with(&format!(
            "Dev database: running\n  data      {}\n",
            dir.display()
        )),
        "{}",
        run.stdout
    );
    let json = p.run(&["--format", "json", "dev-db", "status"]).json();
    assert_eq!(json["dir"], dir.display().to_string());
    assert_eq!(json["url"], url.as_str());
    let run = p.run(&["dev-db", "url"]);
    assert_eq!(
        (run.code, run.stdout.clone()),
        (0, format!("{url}\n")),
        "{run:?}"
    );
    let run = p.run(&["dev-db", "stop"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (0, "Stopped the dev database.\n")
    );
    assert!(connect(&url).is_err(), "the server still answers");
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(using_line(&run), (url.clone(), "started".to_string()));
    assert!(has_items(&url), "the data stayed");

    // `cargo clean` deletes the record; the next command finds the cluster again.
    std::fs::remove_dir_all(p.0.path().join("target")).expect("cargo clean");
    let run = p.run(&["status"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(using_line(&run), (url.clone(), "running".to_string()));
    assert!(p.record().exists(), "recorded again");

    // Destroyed: the cluster, its directory and the record are gone.
    let run = p.run(&["dev-db", "destroy"]);
    assert_eq!(
        (run.code, run.stderr.clone()),
        (
            0,
            format!("Deleted the dev database ({}).\n", dir.display())
        )
    );
    assert!(!dir.exists(), "{}", dir.display());
    assert!(!p.record().exists());
    assert!(!p.0.path().join("target/migrate-dev-db").exists());
    assert!(connect(&url).is_err());
    let run = p.run(&["dev-db", "status"]);
    assert!(
        run.stdout.starts_with("Dev database: not created\n"),
        "{}",
        run.stdout
    );
    assert!(!dir.exists(), "status creates nothing");
}

#[test]
fn the_library_and_the_test_harness_find_a_cluster_kept_elsewhere() {
    // What the harness does when no server answers (`target/migrate-test-db`), from a private
    // directory.
    let project = private_tempdir();
    let given = project.path().join("target/migrate-test-db");
    let db = DevDb::at(&given, "postgres");
    let running = db
        .ensure()
        .unwrap_or_else(|e| panic!("{e}: {:?}", e.detail));
    assert!(connect(&running.url).is_ok());
    if nix::unistd::geteuid().is_root() {
        assert_ne!(db.dir(), given);
        assert_eq!(db.record(), Some(given.join("location")));
    } else {
        assert_eq!((db.dir(), db.record()), (given.as_path(), None));
    }
    // A second handle (another command, another test process) finds the same server.
    let again = DevDb::at(&given, "postgres");
    assert_eq!(again.dir(), db.dir());
    let status = again.status().expect("status");
    assert_eq!(status.port, Some(running.port));
    assert!(again.stop().expect("stop"));
    assert!(connect(&running.url).is_err());
    assert!(db.destroy().expect("destroy"));
    assert!(!db.dir().exists());
    assert!(!given.exists());
    assert!(!DevDb::at(&given, "postgres").destroy().expect("destroy"));
}

#[test]
fn missing_server_programs_are_one_clear_message() {
    let empty = tempfile::tempdir().expect("tempdir");
    let mut p2 = Project::new();
    p2.env.push((
        "MIGRATE_PG_BINDIR".into(),
        empty.path().display().to_string(),
    ));
    p2.migration("20260101000000_a", "SELECT 1;", Some("SELECT 1;"));
    let run = p2.run(&["status"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "error: MIGRATE_PG_BINDIR={} does not hold initdb, pg_ctl and postgres\n  help: point it at \
             PostgreSQL's bin directory (`pg_config --bindir`), or unset it\n",
            empty.path().display()
        )
    );
    assert!(!p2.path().join("target/migrate-dev-db/data").exists());
}

#[test]
fn a_configured_database_never_starts_the_dev_database() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration("20260101000000_a", "CREATE TABLE a (id int);", None);
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stderr.contains("dev database"), "{}", run.stderr);
    assert!(!p.path().join("target/migrate-dev-db").exists());

    // `[package.metadata.migrate] database_url` counts as configured too.
    let q = Project::new();
    q.file(
        "Cargo.toml",
        format!(
            "[package]\nname = \"q\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
             [package.metadata.migrate]\ndatabase_url = \"{}\"\n\n[workspace]\n",
            db.url
        ),
    );
    q.migration(
        "20260101000000_a",
        "CREATE TABLE a (id int);",
        Some("DROP TABLE a;"),
    );
    let run = q.run(&["status"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stderr.contains("dev database"), "{}", run.stderr);
    assert!(!q.path().join("target/migrate-dev-db").exists());
}

/// Chowns a tree to `uid:gid`.
fn give_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("read_dir") {
            give_tree(&entry.expect("entry").path(), uid, gid);
        }
    }
}

#[test]
fn a_non_root_user_runs_the_server_itself_in_its_own_private_project() {
    // A project outside any Cargo package (so no `cargo metadata`, which the other user could
    // not run from root's toolchain), in a private directory that user owns, with its own
    // copy of the binary (the checkout may be somewhere that user cannot enter).
    let project = private_tempdir();
    let root = project.path();
    let folder = root.join("migrations/20260101000000_create_items");
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::write(
        folder.join("migration.sql"),
        "CREATE TABLE items (id bigint PRIMARY KEY);",
    )
    .expect("write");
    std::fs::write(folder.join("down.sql"), "DROP TABLE items;").expect("write");
    let binary = root.join("cargo-migrate");
    std::fs::copy(migrate_tests::binary(), &binary).expect("copy the binary");
    let as_root = nix::unistd::geteuid().is_root();
    let (user, uid) = server_user();
    if as_root {
        let gid = nix::unistd::User::from_uid(uid.into())
            .ok()
            .flatten()
            .expect("the user")
            .gid
            .as_raw();
        give_tree(root, uid, gid);
    }
    let run = |args: &[&str]| -> Run {
        let mut command = if as_root {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", &user, "--"]).arg(&binary);
            c
        } else {
            std::process::Command::new(&binary)
        };
        let out = command
            .arg("migrate")
            .args(args)
            .current_dir(root)
            .env_remove("DATABASE_URL")
            .env("NO_COLOR", "1")
            .output()
            .expect("run cargo-migrate");
        Run::from_output(out)
    };
    let run_apply = run(&["apply"]);
    let destroy = || run(&["dev-db", "destroy"]);
    struct Destroy<F: Fn() -> Run>(F);
    impl<F: Fn() -> Run> Drop for Destroy<F> {
        fn drop(&mut self) {
            let _ = (self.0)();
        }
    }
    let _cleanup = Destroy(destroy);
    assert_eq!(run_apply.code, 0, "{run_apply:?}");
    let (url, _) = using_line(&run_apply);
    assert!(has_items(&url));
    // The server runs as that user, in the project: no record, nothing elsewhere.
    let data = root.join("target/migrate-dev-db/data");
    assert_eq!(std::fs::metadata(&data).expect("data").uid(), uid);
    assert!(!root.join("target/migrate-dev-db/location").exists());
    assert_eq!(mode(root), 0o700);
    let run_status = run(&["dev-db", "status"]);
    assert!(
        run_status.stdout.starts_with(&format!(
            "Dev database: running\n  data      {}/target/migrate-dev-db\n",
            root.display()
        )),
        "{run_status:?}"
    );
    let run_destroy = run(&["dev-db", "destroy"]);
    assert_eq!(run_destroy.code, 0, "{run_destroy:?}");
    assert!(!data.exists());
    assert!(connect(&url).is_err());
}
