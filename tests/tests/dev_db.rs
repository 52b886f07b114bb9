//! The dev database: with no database configured, commands create, start and reuse a cluster
//! of the project's own under `target/migrate-dev-db`, and `dev-db status|url|stop|destroy`
//! manage it.

use migrate_tests::{Project, Run, TestDb};
use std::os::unix::fs::{MetadataExt, PermissionsExt};

/// A project with one migration whose directory the server's user can enter, and whose dev
/// database is deleted when the test ends.
struct DevProject(Project);

impl DevProject {
    fn new(name: &str) -> DevProject {
        let p = Project::new();
        p.file(
            "Cargo.toml",
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n"),
        );
        p.migration(
            "20260101000000_create_items",
            "CREATE TABLE items (id bigint PRIMARY KEY);",
            Some("DROP TABLE items;"),
        );
        migrate_tests::open_up(p.path());
        DevProject(p)
    }

    fn run(&self, args: &[&str]) -> Run {
        self.0.run(args)
    }

    fn data_dir(&self) -> std::path::PathBuf {
        self.0.path().join("target/migrate-dev-db/data")
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
        run.stdout.starts_with("Dev database: stopped\n"),
        "{}",
        run.stdout
    );
    let run = p.run(&["dev-db", "stop"]);
    assert_eq!(run.stderr, "The dev database is not running.\n");

    // Started again on demand, on the same port when it is still free, with its data.
    let run = p.run(&["status"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(using_line(&run), (url.clone(), "started".to_string()));
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

#[test]
fn as_root_a_directory_the_server_user_cannot_enter_is_explained() {
    let p = DevProject::new("locked");
    std::fs::set_permissions(p.0.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let run = p.run(&["apply"]);
    if nix::unistd::geteuid().is_root() {
        let dir = p.0.path().display();
        assert_eq!(run.code, 1, "{run:?}");
        let first = run.stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!(
                "error: the dev database cannot live in {dir}/target/migrate-dev-db: PostgreSQL \
                 refuses to run as root, so it runs as user `"
            )) && first.ends_with(&format!("`, who cannot enter {dir}")),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr
                .contains(&format!("help: let it in (`chmod o+x {dir}`)"))
        );
        assert!(!p.data_dir().exists(), "nothing is created");
    } else {
        // Not root: the server runs as this user, who can enter its own directory.
        assert_eq!(run.code, 0, "{run:?}");
    }
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
