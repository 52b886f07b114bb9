//! Running the catalog queries: each prepared once per connection and kept in a
//! [`StatementCache`], so a refresh after every migration pays neither the parsing and planning
//! of about fifteen catalog queries nor a second round trip for each.

use postgres::types::ToSql;
use postgres::{GenericClient, Row, Statement};
use std::collections::HashMap;

/// Catalog queries prepared on one connection, for [`TrackedSnapshot`]s refreshed on it.
///
/// A statement belongs to the connection that prepared it: use one cache per connection
/// (with another, the server answers that the statement does not exist).
///
/// [`TrackedSnapshot`]: super::TrackedSnapshot
///
/// ```
/// use migrate_runtime::schema::StatementCache;
/// let cache = StatementCache::default();
/// assert_eq!(cache.len(), 0);
/// ```
#[derive(Default)]
pub struct StatementCache {
    statements: HashMap<String, Statement>,
}

impl StatementCache {
    /// How many statements are prepared.
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    /// None are.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }
}

impl std::fmt::Debug for StatementCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StatementCache({} statements)", self.statements.len())
    }
}

/// A session's catalog queries, through a cache.
pub(super) struct Queries<'a, C: GenericClient> {
    pub client: &'a mut C,
    pub cache: &'a mut StatementCache,
}

impl<C: GenericClient> Queries<'_, C> {
    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.cache.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.cache.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// The rows of a query.
    pub fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.query(&s, params)
    }

    /// The one row of a query.
    pub fn query_one(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.query_one(&s, params)
    }

    /// The row of a query, if any.
    pub fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.query_opt(&s, params)
    }
}
