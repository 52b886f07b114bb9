//! The clean session every migration starts from, on each major: `SET SESSION AUTHORIZATION`,
//! `RESET ALL`, `DISCARD TEMP`, ... sent inside the migration's transaction, the history written
//! as the user the run started as, a resumed no-transaction migration's settings replayed; also
//! as a database owner who is not a superuser (PostgreSQL 15 took `CREATE` on `public` from
//! everyone, 16 changed how role membership is granted).

use migrate_runtime::schema::{Snapshot, SnapshotOptions};
use migrate_tests::matrix::Server;
use migrate_tests::{Project, TestDb};

const SCHEMA: &str = "20261121090000_app_schema";
const TABLE: &str = "20261121090100_create_t";

fn schema_of(db: &TestDb, table: &str) -> Vec<String> {
    db.client()
        .query(
            "SELECT table_schema::text FROM information_schema.tables WHERE table_name = $1",
            &[&table],
        )
        .expect("list the tables")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn owner_of(db: &TestDb, table: &str) -> String {
    db.client()
        .query_one(
            "SELECT tableowner::text FROM pg_tables WHERE schemaname = 'public' AND tablename = $1",
            &[&table],
        )
        .unwrap_or_else(|e| panic!("owner of {table}: {e}"))
        .get(0)
}

fn snapshot(db: &TestDb) -> Snapshot {
    Snapshot::capture(&mut db.client(), &SnapshotOptions::default())
        .unwrap_or_else(|e| panic!("capture failed: {e}"))
}

/// Migrations that leave a search_path, a role, a temporary table and a setting behind.
fn leaky(p: &Project, role: &str) {
    p.migration(
        SCHEMA,
        &format!(
            "CREATE SCHEMA app;\nSET search_path = app;\nCREATE TEMP TABLE scratch (a int);\n\
             SET work_mem = '1MB';\nSET ROLE {role};\n"
        ),
        Some("DROP SCHEMA app;\n"),
    )
    .migration(
        TABLE,
        // Fails if the temporary table leaked from the migration before.
        "CREATE TABLE t (id int);\nCREATE TEMP TABLE scratch (a int);\n",
        Some("DROP TABLE t;\n"),
    );
}

fn one_run_and_two_runs_give_the_same_schema(pg: &Server) {
    let mut snapshots = Vec::new();
    for args in [
        vec![vec!["apply"]],
        vec![vec!["apply", "--to", &SCHEMA[..14]], vec!["apply"]],
        vec![vec!["apply", "--single-transaction"]],
    ] {
        let db = pg.db();
        let role = format!("probe_{}", db.name);
        pg.admin()
            .batch_execute(&format!("CREATE ROLE {role} NOLOGIN"))
            .expect("role");
        let p = Project::with_db(&db);
        leaky(&p, &role);
        for a in &args {
            let run = p.run(a);
            assert_eq!(run.code, 0, "{args:?}: {run:?}");
        }
        assert_eq!(schema_of(&db, "t"), ["public"], "{args:?}");
        assert_eq!(
            owner_of(&db, "t"),
            "postgres",
            "SET ROLE did not leak: {args:?}"
        );
        snapshots.push((args, snapshot(&db)));
        drop(p);
        drop(db);
        pg.admin()
            .batch_execute(&format!("DROP ROLE {role}"))
            .expect("drop role");
    }
    let (first_args, first) = &snapshots[0];
    for (args, s) in &snapshots[1..] {
        assert_eq!(
            first.to_text(),
            s.to_text(),
            "{first_args:?} and {args:?} give different schemas"
        );
    }
}

fn a_resumed_no_transaction_migration_replays_its_session_settings(pg: &Server) {
    let db = pg.db();
    let p = Project::with_db(&db);
    p.migration(
        SCHEMA,
        "CREATE SCHEMA app;\nCREATE TABLE app.t (a int);\n",
        Some("DROP SCHEMA app CASCADE;\n"),
    )
    .migration(
        TABLE,
        "-- migrate:no-transaction\nSET search_path = app;\nCREATE TABLE IF NOT EXISTS first (a int);\n\
         INSERT INTO gate VALUES (1);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_a ON t (a);\n\
         CREATE TABLE IF NOT EXISTS after (a int);\n",
        None,
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("= statement 3 of 5"), "{}", run.stderr);
    db.client()
        .batch_execute("CREATE TABLE app.gate (a int)")
        .expect("gate");
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("Resuming {} at statement 3 of 5", &TABLE[..14])),
        "{}",
        run.stderr
    );
    assert_eq!(
        schema_of(&db, "after"),
        ["app"],
        "statement 5 ran under app"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM pg_indexes WHERE schemaname = 'app' AND indexname = 't_a'"),
        1
    );
    assert_eq!(db.count("SELECT count(*) FROM app.gate"), 1);
}

fn a_database_owner_who_is_not_superuser_runs_migrations_that_switch_role(pg: &Server) {
    let db = pg.db();
    let owner = format!("owner_{}", db.name);
    let team = format!("team_{}", db.name);
    pg.admin()
        .batch_execute(&format!(
            "CREATE ROLE {owner} LOGIN; CREATE ROLE {team} NOLOGIN; GRANT {team} TO {owner};
             ALTER DATABASE {} OWNER TO {owner};",
            db.name
        ))
        .expect("roles");
    db.client()
        .batch_execute(&format!("GRANT CREATE ON SCHEMA public TO {team}"))
        .expect("grant");
    let url = db
        .url
        .replacen("postgres://postgres@", &format!("postgres://{owner}@"), 1);
    let mut p = Project::with_db(&db);
    p.env.retain(|(k, _)| k != "DATABASE_URL");
    p.env.push(("DATABASE_URL".into(), url));
    p.migration(
        SCHEMA,
        &format!("CREATE TABLE mine (id int);\nSET ROLE {team};\nCREATE TABLE theirs (id int);\n"),
        None,
    )
    .migration(
        TABLE,
        "-- migrate:no-transaction\nCREATE TABLE IF NOT EXISTS later (id int);\n",
        None,
    );
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(owner_of(&db, "mine"), owner);
    assert_eq!(owner_of(&db, "theirs"), team);
    assert_eq!(
        owner_of(&db, "later"),
        owner,
        "the next migration starts as the owner again"
    );
    assert_eq!(owner_of(&db, "_migrate_history"), owner);
    let applied_by: Vec<String> = db
        .client()
        .query(
            "SELECT applied_by::text FROM _migrate_history ORDER BY id",
            &[],
        )
        .expect("history")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(applied_by, [owner.clone(), owner.clone()]);
    assert_eq!(p.run(&["status"]).code, 0);
    drop(p);
    drop(db);
    pg.admin()
        .batch_execute(&format!("DROP ROLE {owner}; DROP ROLE {team}"))
        .expect("drop roles");
}

migrate_tests::each_major!(
    one_run_and_two_runs_give_the_same_schema,
    a_resumed_no_transaction_migration_replays_its_session_settings,
    a_database_owner_who_is_not_superuser_runs_migrations_that_switch_role,
);
