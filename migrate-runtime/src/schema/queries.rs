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
    /// The same queries, narrowed for a refresh ([`narrowed`]), by their full text.
    narrowed: HashMap<String, Statement>,
    /// The name of the record's change query prepared as SQL, to be run by a caller in its
    /// own round trip ([`TrackedSnapshot::changes_ahead`]).
    ///
    /// [`TrackedSnapshot::changes_ahead`]: super::TrackedSnapshot
    pub(super) ahead: Option<String>,
}

impl StatementCache {
    /// How many statements are prepared.
    pub fn len(&self) -> usize {
        self.statements.len() + self.narrowed.len() + usize::from(self.ahead.is_some())
    }

    /// None are.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for StatementCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StatementCache({} statements)", self.len())
    }
}

/// A session's catalog queries, through a cache.
pub(super) struct Queries<'a, C: GenericClient> {
    pub client: &'a mut C,
    pub cache: &'a mut StatementCache,
    /// A refresh: every filter of the form `($n::oid[] IS NULL OR x = ANY ($n::oid[]))` is
    /// given a list, and the queries run [`narrowed`].
    pub narrow: bool,
}

impl<'a, C: GenericClient> Queries<'a, C> {
    /// Queries that read everything they are asked for.
    pub fn new(client: &'a mut C, cache: &'a mut StatementCache) -> Self {
        Queries {
            client,
            cache,
            narrow: false,
        }
    }

    /// Queries for a refresh: their OID filters are lists, never `NULL`.
    pub fn narrow(client: &'a mut C, cache: &'a mut StatementCache) -> Self {
        Queries {
            client,
            cache,
            narrow: true,
        }
    }
}

impl<C: GenericClient> Queries<'_, C> {
    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        let statements = match self.narrow {
            false => &mut self.cache.statements,
            true => &mut self.cache.narrowed,
        };
        if let Some(s) = statements.get(sql) {
            return Ok(s.clone());
        }
        let s = match self.narrow {
            false => self.client.prepare(sql)?,
            true => self.client.prepare(&narrowed(sql))?,
        };
        statements.insert(sql.to_string(), s.clone());
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

/// The filter a reader writes so one query text serves both a full read (`NULL`: everything)
/// and a refresh (the list of objects to read again).
const ANY_OR_ALL: &str = "::oid[] IS NULL OR ";

/// A catalog query as a refresh runs it: each `($n::oid[] IS NULL OR x = ANY ($n::oid[]))`
/// becomes `x = ANY ($n::oid[])`.
///
/// The queries run with generic plans (prepared once, `plan_cache_mode =
/// force_generic_plan`), and a generic plan cannot know whether `$n` is `NULL`: with the
/// `OR`, it scans the whole catalog (`pg_class`, about two thousand rows at 300 tables) and
/// filters, where the narrowed filter is an index lookup of the few objects a refresh reads.
fn narrowed(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find(ANY_OR_ALL) {
        // `($n` before the marker, `= ANY ($n::oid[]))` after it.
        let open = rest[..at].rfind("($").filter(|&open| {
            rest[open + 2..at].bytes().all(|b| b.is_ascii_digit()) && open + 2 < at
        });
        let Some(open) = open else {
            out.push_str(&rest[..at + ANY_OR_ALL.len()]);
            rest = &rest[at + ANY_OR_ALL.len()..];
            continue;
        };
        let param = &rest[open + 1..at];
        let tail = format!(" = ANY ({param}::oid[]))");
        let body = at + ANY_OR_ALL.len();
        let Some(end) = rest[body..].find(&tail) else {
            out.push_str(&rest[..body]);
            rest = &rest[body..];
            continue;
        };
        out.push_str(&rest[..open]);
        out.push_str(&rest[body..body + end]);
        out.push_str(&tail[..tail.len() - 1]);
        rest = &rest[body + end + tail.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::narrowed;

    #[test]
    fn a_filter_by_list_or_null_becomes_a_filter_by_list() {
        assert_eq!(
            narrowed(
                "SELECT 1 FROM pg_class c WHERE c.relkind = 'r'\n  AND ($3::oid[] IS NULL OR c.oid = ANY ($3::oid[]))\n  AND c.oid <> $2"
            ),
            "SELECT 1 FROM pg_class c WHERE c.relkind = 'r'\n  AND c.oid = ANY ($3::oid[])\n  AND c.oid <> $2"
        );
    }

    #[test]
    fn every_such_filter_of_a_query_is_narrowed() {
        assert_eq!(
            narrowed(
                "WHERE ($2::oid[] IS NULL OR t.oid = ANY ($2::oid[])) UNION WHERE ($12::oid[] IS NULL OR p.oid = ANY ($12::oid[]))"
            ),
            "WHERE t.oid = ANY ($2::oid[]) UNION WHERE p.oid = ANY ($12::oid[])"
        );
    }

    #[test]
    fn other_text_is_left_alone() {
        for sql in [
            "SELECT 1",
            "WHERE ($1::text[] IS NULL OR n.nspname = ANY ($1::text[]))",
            "WHERE (x::oid[] IS NULL OR c.oid = ANY (x::oid[]))",
            "WHERE ($1::oid[] IS NULL OR c.oid = ANY ($2::oid[]))",
            "::oid[] IS NULL OR ",
        ] {
            assert_eq!(narrowed(sql), sql);
        }
    }
}
