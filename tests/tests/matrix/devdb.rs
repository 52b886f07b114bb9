//! The dev database made with each major's programs (`MIGRATE_PG_BINDIR`): created, started,
//! stopped and started again by the major that created it, and a clear error, changing
//! nothing, when another major's programs are asked to start it.

use migrate_tests::matrix::{self, Server};
use migrate_tests::{Project, Run};

/// A project the server's user can enter, with one migration, whose dev database is made
/// with `major`'s programs and destroyed when the test ends.
struct DevProject {
    project: Project,
}

impl DevProject {
    fn new(major: u32) -> DevProject {
        let mut project = Project::new();
        migrate_tests::open_up(project.path());
        project.file(
            "Cargo.toml",
            "[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n",
        );
        project.migration(
            "20260101000000_create_items",
            "CREATE TABLE items (id bigint PRIMARY KEY);\nINSERT INTO items VALUES (1);\n",
            Some("DROP TABLE items;\n"),
        );
        project
            .env
            .push(("MIGRATE_PG_BINDIR".into(), bindir(major)));
        DevProject { project }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.project.run(args)
    }

    /// Runs with another major's programs (a later variable wins).
    fn run_with(&mut self, major: u32, args: &[&str]) -> Run {
        self.project
            .env
            .push(("MIGRATE_PG_BINDIR".into(), bindir(major)));
        let run = self.project.run(args);
        self.project.env.pop();
        run
    }
}

impl Drop for DevProject {
    fn drop(&mut self) {
        let _ = self.run(&["dev-db", "destroy"]);
    }
}

fn bindir(major: u32) -> String {
    matrix::bindir(major)
        .unwrap_or_else(|e| panic!("\n\n{e}\n"))
        .display()
        .to_string()
}

/// "Using the dev database <url> (<what>; ...)": the URL and <what>.
fn using(run: &Run) -> (String, String) {
    let line = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("Using the dev database "))
        .unwrap_or_else(|| panic!("no dev database line:\n{}", run.stderr));
    let (url, what) = line.split_once(" (").expect("url (what)");
    (
        url.to_string(),
        what.split(';').next().expect("what").to_string(),
    )
}

fn items(url: &str) -> Option<i64> {
    let mut client = postgres::Client::connect(url, postgres::NoTls).ok()?;
    let row = client.query_one("SELECT count(*) FROM items", &[]).ok()?;
    Some(row.get(0))
}

fn server_major(url: &str) -> i32 {
    postgres::Client::connect(url, postgres::NoTls)
        .and_then(|mut c| {
            c.query_one(
                "SELECT current_setting('server_version_num')::int / 10000",
                &[],
            )
        })
        .map(|r| r.get(0))
        .unwrap_or_else(|e| panic!("{url}: {e}"))
}

fn the_dev_database_is_created_started_stopped_and_restarted_by_its_major(pg: &Server) {
    let major = pg.major;
    let other = if major == 18 { 14 } else { major + 1 };
    let mut p = DevProject::new(major);
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    let (url, what) = using(&run);
    assert_eq!(what, format!("created with PostgreSQL {major}"));
    assert_eq!(server_major(&url), major as i32);
    assert_eq!(items(&url), Some(1));

    let status = p.run(&["--format", "json", "dev-db", "status"]);
    assert_eq!(status.code, 0, "{status:?}");
    let json = status.json();
    assert_eq!(json["state"], "running");
    assert_eq!(json["postgres_version"], major.to_string());
    assert_eq!(json["url"], url.as_str());

    let stop = p.run(&["dev-db", "stop"]);
    assert_eq!(
        (stop.code, stop.stderr.as_str()),
        (0, "Stopped the dev database.\n")
    );
    assert_eq!(items(&url), None, "stopped");
    let status = p.run(&["dev-db", "status"]);
    assert!(
        status.stdout.starts_with("Dev database: stopped\n")
            && status
                .stdout
                .contains(&format!("  version   PostgreSQL {major}\n")),
        "{}",
        status.stdout
    );

    // Another major's programs cannot start it: said clearly, nothing changed.
    let refused = p.run_with(other, &["status"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_eq!(
        refused.stderr,
        format!(
            "error: the dev database was created by PostgreSQL {major}, but MIGRATE_PG_BINDIR ({}) \
             holds PostgreSQL {other}\n  help: point MIGRATE_PG_BINDIR at the matching version, or run \
             `cargo migrate dev-db destroy`\n",
            bindir(other)
        )
    );
    assert_eq!(items(&url), None, "still stopped");

    // Its own major starts it again, data and all (on the same port when it is free).
    let run = p.run(&["status"]);
    assert_eq!(run.code, 0, "{run:?}");
    let (again, what) = using(&run);
    assert_eq!(what, "started");
    assert_eq!(items(&again), Some(1));
    assert_eq!(server_major(&again), major as i32);
    let run = p.run(&["status"]);
    assert_eq!(using(&run).1, "running");
    let destroy = p.run(&["dev-db", "destroy"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    assert_eq!(items(&again), None);
}

migrate_tests::each_major!(the_dev_database_is_created_started_stopped_and_restarted_by_its_major);
