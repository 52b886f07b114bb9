//! The harness itself: each test gets its own database, and it is gone afterwards.

use migrate_tests::{TestDb, admin_url};

#[test]
fn each_test_gets_a_fresh_database_that_is_dropped_after() {
    let db = TestDb::new();
    let name = db.name.clone();
    let mut client = db.client();
    let current: String = client
        .query_one("SELECT current_database()", &[])
        .unwrap()
        .get(0);
    assert_eq!(current, name);
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "a fresh database has no tables");
    drop(client);
    drop(db);
    let mut admin = postgres::Client::connect(&admin_url(), postgres::NoTls).unwrap();
    let left: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the test database was dropped");
}

#[test]
fn two_test_databases_are_distinct() {
    let (a, b) = (TestDb::new(), TestDb::new());
    assert_ne!(a.name, b.name);
    a.client()
        .batch_execute("CREATE TABLE only_in_a ()")
        .unwrap();
    let n: i64 = b
        .client()
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}
