//! `MIGRATOR` (the migrations a binary embeds) at run time: it refuses, as `cargo migrate apply`
//! does, when an applied migration was edited or is missing from the binary, and changes
//! nothing then. (What the macro generates: `compile_fail.rs`; a crate using it: `downstream.rs`.)

use migrate_runtime::embedded::{EmbeddedMigration, Migrator};
use migrate_runtime::engine::{EngineError, State};
use migrate_runtime::{Checksum, Version};
use migrate_tests::TestDb;

const A: i64 = 20261121090000;
const B: i64 = 20261121090100;

fn leak<T: ?Sized>(value: Box<T>) -> &'static T {
    Box::leak(value)
}

/// One migration as the macro would embed it (its checksum computed here).
fn embedded(version: i64, name: &'static str, up: &str) -> EmbeddedMigration {
    let path = leak(format!("migrations/{version}_{name}").into_boxed_str());
    EmbeddedMigration {
        version: Version::new(version).expect("a version"),
        name,
        path,
        up: leak(up.to_string().into_boxed_str()),
        up_checksum: Checksum::of_sql(up.as_bytes()).0,
        down: None,
        down_checksum: None,
        no_transaction: false,
        irreversible: true,
        down_no_transaction: false,
    }
}

fn migrator(migrations: Vec<EmbeddedMigration>) -> Migrator {
    Migrator::new("migrations", leak(migrations.into_boxed_slice()))
}

fn states(m: &Migrator, client: &mut postgres::Client) -> Vec<(i64, State)> {
    m.status(client)
        .expect("status")
        .iter()
        .map(|s| (s.version.get(), s.state))
        .collect()
}

#[test]
fn migrator_refuses_an_edited_or_missing_applied_migration_at_run_time() {
    let db = TestDb::new();
    let mut client = db.client();
    let built = migrator(vec![
        embedded(A, "create_users", "CREATE TABLE users (id int);\n"),
        embedded(B, "create_orders", "CREATE TABLE orders (id int);\n"),
    ]);
    let report = built.apply(&mut client).expect("apply");
    assert_eq!(report.applied.len(), 2);

    // A binary built from an edited migration A, with a new migration C.
    let edited = migrator(vec![
        embedded(A, "create_users", "CREATE TABLE users (id bigint);\n"),
        embedded(B, "create_orders", "CREATE TABLE orders (id int);\n"),
        embedded(
            20261121090200,
            "create_items",
            "CREATE TABLE items (id int);\n",
        ),
    ]);
    assert_eq!(
        states(&edited, &mut client),
        [
            (A, State::Edited),
            (B, State::Applied),
            (20261121090200, State::Pending)
        ]
    );
    let refused = edited.apply(&mut client);
    assert!(
        matches!(&refused, Err(EngineError::Refused(r)) if r.len() == 1),
        "{refused:?}"
    );
    let text = refused.expect_err("refused").to_string();
    assert!(
        text.starts_with("refusing to run anything:\n  ")
            && text.contains("20261121090000_create_users"),
        "{text}"
    );
    assert!(!db.has_table("items"), "nothing ran");

    // A binary without migration A.
    let missing = migrator(vec![embedded(
        B,
        "create_orders",
        "CREATE TABLE orders (id int);\n",
    )]);
    assert_eq!(
        states(&missing, &mut client),
        [(A, State::Missing), (B, State::Applied)]
    );
    let refused = missing.apply(&mut client);
    assert!(
        matches!(&refused, Err(EngineError::Refused(r)) if r.len() == 1),
        "{refused:?}"
    );
    assert_eq!(db.history().len(), 2, "nothing recorded");
}
