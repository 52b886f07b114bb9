//! `reset`: drop the configured schemas (and the history's) and apply everything again. For
//! development databases; the CLI refuses non-local hosts unless forced and confirmed.

use super::apply::ApplyReport;
use super::error::EngineError;
use super::plan::ApplyOptions;
use super::{Engine, Event};
use crate::model::MigrationSet;
use crate::quote_ident;
use postgres::Client;

impl Engine {
    /// Drops the configured schemas and the history table's schema (recreating `public` empty),
    /// then applies every migration, all under the migration lock.
    pub fn reset(
        &self,
        client: &mut Client,
        set: &MigrationSet,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<ApplyReport, EngineError> {
        let mut guard = self.lock(client, events)?;
        let mut schemas = self.config.schemas.clone();
        if !schemas.contains(&self.config.history.schema) {
            schemas.push(self.config.history.schema.clone());
        }
        let mut sql = String::new();
        for s in &schemas {
            let q = quote_ident(s);
            sql.push_str(&format!("DROP SCHEMA IF EXISTS {q} CASCADE;"));
            // `public` is recreated (a new database has it, and migrations assume it); the
            // others are left to the migrations that create them (a `CREATE SCHEMA app` must
            // not fail on an empty one) and to the history table, which creates its own.
            if s == "public" {
                sql.push_str("CREATE SCHEMA public; GRANT USAGE ON SCHEMA public TO PUBLIC;");
            }
        }
        let mut tx = guard
            .transaction()
            .map_err(EngineError::db("cannot begin a transaction"))?;
        tx.batch_execute(&sql).map_err(EngineError::db(format!(
            "cannot drop the schemas {}",
            schemas.join(", ")
        )))?;
        super::history::ensure(&mut tx, &self.config.history)
            .map_err(EngineError::db("cannot create the history table"))?;
        tx.commit()
            .map_err(EngineError::db("cannot commit the reset"))?;
        events(Event::Dropped { schemas: &schemas });
        self.apply_locked(&mut guard, set, &ApplyOptions::default(), None, events)
    }
}
