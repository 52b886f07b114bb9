//! What the tests of refreshed snapshots share (`schema_refresh.rs`, `schema_refresh_props.rs`).

use postgres::GenericClient;

/// The role the grants name (roles are shared by every database of the server).
pub fn role(client: &mut impl GenericClient) {
    client
        .batch_execute(
            "DO $$ BEGIN CREATE ROLE refresh_reader; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
        )
        .expect("create the role");
}

/// How a test's refreshes find the changes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Finding {
    /// Scanning the catalogs for newer transaction ids.
    Scan,
    /// From the session's record of its schema changes.
    Record,
}
