//! `cargo migrate diff` and `status --drift`: the live schema against the one its applied
//! migrations make, replayed on a shadow database. Manual changes (a column added, an index
//! dropped, a function body changed, an enum value added, a trigger dropped) are drift with
//! exit 3; an untouched database, or one whose migration file was edited after it was applied,
//! is not; the database is only read; a recorded migration that cannot be replayed is an error
//! naming it; passwords are never shown.

use migrate_tests::{Project, TestDb, admin_url, with_dbname};

const USERS_UP: &str = "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n\
CREATE INDEX users_email ON users (email);\n";

const RICH_UP: &str = "CREATE EXTENSION citext;
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE people (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name citext NOT NULL, mood mood NOT NULL DEFAULT 'ok', touched timestamptz);
CREATE VIEW happy AS SELECT id, name FROM people WHERE mood = 'ok';
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touched := now(); RETURN NEW; END $$;
CREATE TRIGGER people_touch BEFORE UPDATE ON people FOR EACH ROW EXECUTE FUNCTION touch();
COMMENT ON TABLE people IS 'everyone';
";

/// A project on `db` with two migrations, applied.
fn applied(db: &TestDb) -> Project {
    let p = Project::with_db(db);
    p.migration(
        "20260101000000_create_users",
        USERS_UP,
        Some("DROP TABLE users;\n"),
    );
    p.migration(
        "20260101000100_people",
        RICH_UP,
        Some("DROP TABLE people; DROP VIEW happy; DROP FUNCTION touch(); DROP TYPE mood; DROP EXTENSION citext;\n"),
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    p
}

/// The first line, without its timing.
fn headline(stdout: &str) -> String {
    let first = stdout.lines().next().unwrap_or_default();
    match first.rfind(" (replayed on") {
        Some(i) => first[..i].to_string(),
        None => first.to_string(),
    }
}

#[test]
fn an_untouched_database_has_no_drift_and_nothing_is_written() {
    let db = TestDb::new();
    let p = applied(&db);
    let history = db.count("SELECT count(*) FROM _migrate_history");
    let run = p.run(&["diff"]);
    assert_eq!(run.code, 0, "{run:?}");
    let label = format!("postgres@127.0.0.1:5432/{}", db.name);
    assert_eq!(
        headline(&run.stdout),
        format!("No drift: the schema of {label} is what its 2 applied migrations make")
    );
    assert!(
        run.stderr
            .contains("Replaying 2 applied migrations on the shadow database postgres@127.0.0.1:5432/migrate_shadow_"),
        "{}",
        run.stderr
    );
    assert_eq!(db.count("SELECT count(*) FROM _migrate_history"), history);
    // status --drift agrees, and says so.
    let run = p.run(&["status", "--drift"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("No drift: the schema of"),
        "{}",
        run.stdout
    );
}

#[test]
fn manual_changes_are_drift_grouped_by_table_with_exit_3() {
    let db = TestDb::new();
    let p = applied(&db);
    db.client()
        .batch_execute(
            "ALTER TABLE users ADD COLUMN nickname text;
             DROP INDEX users_email;
             CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
             ALTER TYPE mood ADD VALUE 'glad';
             DROP TRIGGER people_touch ON people;
             CREATE TABLE scratch (x int);",
        )
        .expect("manual changes");
    let run = p.run(&["diff"]);
    assert_eq!(run.code, 3, "{run:?}");
    let label = format!("postgres@127.0.0.1:5432/{}", db.name);
    assert_eq!(
        headline(&run.stdout),
        format!("Drift: 6 objects of {label} differ from what its 2 applied migrations make")
    );
    for expected in [
        "  table public.users: changed\n",
        "    +    nickname text\n",
        "  index public.users_email on public.users: removed\n",
        "    - CREATE INDEX users_email ON public.users USING btree (email);\n",
        "  trigger public.people.people_touch on public.people: removed\n",
        "  table public.scratch: added\n",
        "  type public.mood: changed\n",
        "  function public.touch(): changed\n",
    ] {
        assert!(
            run.stdout.contains(expected),
            "{expected:?} in\n{}",
            run.stdout
        );
    }

    let run = p.run(&["diff", "--format", "json"]);
    assert_eq!(run.code, 3, "{run:?}");
    let json = run.json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["exit_code"], 3);
    assert_eq!(json["drifted"], true);
    assert_eq!(json["replayed"], 2);
    assert_eq!(json["database"], label);
    let changes: Vec<(String, String, String)> = json["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap_or_default().to_string(),
                c["name"].as_str().unwrap_or_default().to_string(),
                c["change"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for (kind, name, change) in [
        ("table", "public.users", "changed"),
        ("index", "public.users_email", "removed"),
        ("table", "public.scratch", "added"),
        ("function", "public.touch()", "changed"),
    ] {
        assert!(
            changes.contains(&(kind.into(), name.into(), change.into())),
            "{kind} {name} {change} in {changes:?}"
        );
    }
    // Progress comes as JSON events on stderr.
    assert!(
        run.stderr.contains(r#""event":"replay_started""#),
        "{}",
        run.stderr
    );

    // status --drift: a problem, with the drift in the report.
    let run = p.run(&["status", "--drift"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stdout.contains("2 applied, drift in 6 objects\n"),
        "{}",
        run.stdout
    );
    let run = p.run(&["status", "--drift", "--format", "json"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(run.json()["drift"]["drifted"], true);
    // Without --drift, status neither compares nor reports drift.
    let run = p.run(&["status", "--format", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.json().get("drift").is_none());
}

#[test]
fn a_migration_edited_after_it_was_applied_is_replayed_as_it_ran() {
    let db = TestDb::new();
    let p = applied(&db);
    p.file(
        "migrations/20260101000000_create_users/migration.sql",
        "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, extra int);\n",
    );
    let run = p.run(&["diff"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(
            "  1 migration replayed from the SQL the history recorded (the file was edited since, or is gone)\n"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(run_json_field(&p, "from_history"), 1);
}

fn run_json_field(p: &Project, field: &str) -> i64 {
    let run = p.run(&["diff", "--format", "json"]);
    run.json()[field].as_i64().expect("a number")
}

#[test]
fn a_recorded_migration_that_cannot_be_replayed_is_an_error_naming_it() {
    let db = TestDb::new();
    db.client()
        .batch_execute("CREATE TABLE legacy (id int)")
        .expect("a table made by hand");
    let p = Project::with_db(&db);
    p.migration(
        "20260101000000_extend_legacy",
        "ALTER TABLE legacy ADD COLUMN note text;\n",
        Some("ALTER TABLE legacy DROP COLUMN note;\n"),
    );
    assert_eq!(p.run(&["apply"]).code, 0);
    let run = p.run(&["diff"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(
            "error: migration 20260101000000_extend_legacy as recorded in the history fails on an empty database: 42P01: relation \"legacy\" does not exist\n"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("migrations/20260101000000_extend_legacy/migration.sql:1:1"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("note: nothing was written to the project's database"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_shadow_server_password_is_never_shown() {
    let db = TestDb::new();
    let p = applied(&db);
    let shadow =
        with_dbname(&admin_url(), "postgres").replacen("postgres@", "postgres:s3cr%2Fe%3Ft@", 1);
    assert!(shadow.contains("s3cr%2Fe%3Ft@"), "{shadow}");
    for args in [
        vec!["diff", "--shadow-url", &shadow],
        vec!["diff", "--shadow-url", &shadow, "--format", "json"],
        vec!["status", "--drift", "--shadow-url", &shadow, "--verbose"],
    ] {
        let run = p.run(&args);
        assert_eq!(run.code, 0, "{run:?}");
        for text in [&run.stdout, &run.stderr] {
            assert!(
                !text.contains("s3cr"),
                "password shown by {args:?}:\n{text}"
            );
        }
    }
    // --shadow-url without --drift is refused by status.
    let run = p.run(&["status", "--shadow-url", &shadow]);
    assert_eq!(run.code, 2, "{run:?}");
}
