//! Running the catalog queries: each prepared once per connection and kept in a
//! [`StatementCache`], so a refresh after every migration pays neither the parsing and planning
//! of about fifteen catalog queries nor a second round trip for each.

use postgres::types::ToSql;
use postgres::{GenericClient, Row, SimpleQueryMessage, SimpleQueryRow, Statement};
use std::collections::{HashMap, VecDeque};

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
    /// The narrowed queries prepared as SQL, for a refresh's readers run in one round trip
    /// ([`Queries::batch`]): their names, by the query's full text.
    batched: HashMap<String, String>,
}

impl StatementCache {
    /// Whether the record's change query is prepared on the session
    /// ([`TrackedSnapshot::changes_ahead`](super::TrackedSnapshot)).
    pub(crate) fn prepared_ahead(&self) -> bool {
        self.ahead.is_some()
    }

    /// Deallocates what this cache prepared as SQL (`PREPARE`), which lives as long as the
    /// session (the protocol-level statements close when dropped): for a cache used once. A
    /// failure is left alone: the statements end with the session.
    pub(crate) fn release(self, client: &mut impl GenericClient) {
        let names: Vec<String> = (self.batched.values().chain(&self.ahead))
            .map(|name| format!("DEALLOCATE {name}"))
            .collect();
        if !names.is_empty() {
            let _ = client.batch_execute(&names.join("; "));
        }
    }

    /// How many statements are prepared.
    pub fn len(&self) -> usize {
        self.statements.len()
            + self.narrowed.len()
            + self.batched.len()
            + usize::from(self.ahead.is_some())
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
    /// How queries run: one by one, or batched ([`Queries::batch`]).
    batch: Batch,
}

/// The readers' queries run in one round trip: a first pass of the readers records them (and
/// reads no rows), one multi-statement query runs them all (`EXECUTE` of statements prepared as
/// SQL, rows as text), and a second pass gets their rows in the same order. A query the
/// second pass asks for that was not recorded runs on its own.
enum Batch {
    /// Every query runs when asked.
    Off,
    /// Recording: `(text, parameters as SQL literals)`; `None` once one cannot be written.
    Recording(Option<Vec<Recorded>>),
    /// The rows of the recorded queries, in order.
    Replaying(VecDeque<(Recorded, Vec<SimpleQueryRow>)>),
}

/// A query of a batch: its text and its parameters as SQL literals.
type Recorded = (&'static str, Vec<String>);

/// A catalog query's parameter: sent bound (binary) or, in a batch, written as a SQL literal.
pub(super) trait Param: ToSql + Sync {
    /// The value as a SQL literal; `None`: it cannot be written as one (the query runs bound).
    fn literal(&self) -> Option<String>;
}

impl Param for u32 {
    fn literal(&self) -> Option<String> {
        Some(format!("'{self}'"))
    }
}

impl Param for i64 {
    fn literal(&self) -> Option<String> {
        Some(format!("'{self}'"))
    }
}

impl Param for Vec<u32> {
    fn literal(&self) -> Option<String> {
        let items: Vec<String> = self.iter().map(u32::to_string).collect();
        Some(format!("'{{{}}}'", items.join(",")))
    }
}

impl Param for Vec<&str> {
    fn literal(&self) -> Option<String> {
        None
    }
}

impl Param for String {
    fn literal(&self) -> Option<String> {
        Some(crate::ident::quote_literal(self))
    }
}

impl<T: Param> Param for Option<T> {
    fn literal(&self) -> Option<String> {
        match self {
            Some(v) => v.literal(),
            None => Some("NULL".into()),
        }
    }
}

impl<T: Param> Param for &T {
    fn literal(&self) -> Option<String> {
        (**self).literal()
    }
}

/// A row of a catalog query: bound (binary values) or from a batch (text values).
pub(super) enum CatalogRow {
    Bound(Row),
    Text(SimpleQueryRow),
}

/// Why a value of a [`CatalogRow`] could not be read.
#[derive(Debug)]
pub(super) enum CellError {
    /// The driver's (a bound row).
    Driver(postgres::Error),
    /// A text value that is not of the expected type (or `NULL` where none may be).
    Text { column: usize },
}

impl CatalogRow {
    /// The value of column `i`.
    pub fn try_get<T: Cell>(&self, i: usize) -> Result<T, CellError> {
        match self {
            CatalogRow::Bound(row) => T::bound(row, i).map_err(CellError::Driver),
            CatalogRow::Text(row) => {
                let text = row.try_get(i).map_err(CellError::Driver)?;
                T::text(text).ok_or(CellError::Text { column: i })
            }
        }
    }
}

/// A type a catalog query's column is read as, from either kind of row.
pub(super) trait Cell: Sized {
    fn bound(row: &Row, i: usize) -> Result<Self, postgres::Error>;
    /// From PostgreSQL's text output (`None`: `NULL`); `None` when it is not one.
    fn text(text: Option<&str>) -> Option<Self>;
}

macro_rules! parsed_cell {
    ($($t:ty),*) => {$(
        impl Cell for $t {
            fn bound(row: &Row, i: usize) -> Result<Self, postgres::Error> {
                row.try_get(i)
            }
            fn text(text: Option<&str>) -> Option<Self> {
                text?.parse().ok()
            }
        }
    )*};
}
parsed_cell!(u32, i16, i32, i64, String);

impl Cell for bool {
    fn bound(row: &Row, i: usize) -> Result<Self, postgres::Error> {
        row.try_get(i)
    }
    fn text(text: Option<&str>) -> Option<Self> {
        match text? {
            "t" => Some(true),
            "f" => Some(false),
            _ => None,
        }
    }
}

impl<T: Cell + for<'a> postgres::types::FromSql<'a>> Cell for Option<T> {
    fn bound(row: &Row, i: usize) -> Result<Self, postgres::Error> {
        row.try_get(i)
    }
    fn text(text: Option<&str>) -> Option<Self> {
        match text {
            None => Some(None),
            Some(_) => T::text(text).map(Some),
        }
    }
}

impl<'a, C: GenericClient> Queries<'a, C> {
    /// Queries that read everything they are asked for.
    pub fn new(client: &'a mut C, cache: &'a mut StatementCache) -> Self {
        Queries {
            client,
            cache,
            narrow: false,
            batch: Batch::Off,
        }
    }

    /// Queries for a refresh: their OID filters are lists, never `NULL`.
    pub fn narrow(client: &'a mut C, cache: &'a mut StatementCache) -> Self {
        Queries {
            client,
            cache,
            narrow: true,
            batch: Batch::Off,
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

    /// The rows of a query (`sql` lives as long as the program: the readers' constants).
    pub fn query(
        &mut self,
        sql: &'static str,
        params: &[&dyn Param],
    ) -> Result<Vec<CatalogRow>, postgres::Error> {
        match &mut self.batch {
            Batch::Off => {}
            Batch::Recording(recorded) => {
                let literals: Option<Vec<String>> = params.iter().map(|p| p.literal()).collect();
                match (recorded.as_mut(), literals) {
                    (Some(recorded), Some(literals)) => recorded.push((sql, literals)),
                    _ => *recorded = None,
                }
                return Ok(Vec::new());
            }
            Batch::Replaying(results) => {
                let literals: Option<Vec<String>> = params.iter().map(|p| p.literal()).collect();
                let recorded = |((text, recorded), _): &(Recorded, _)| {
                    std::ptr::eq(*text, sql) && Some(recorded) == literals.as_ref()
                };
                if results.front().is_some_and(recorded)
                    && let Some((_, rows)) = results.pop_front()
                {
                    return Ok(rows.into_iter().map(CatalogRow::Text).collect());
                }
            }
        }
        let s = self.statement(sql)?;
        let rows = self.client.query(&s, &bound(params))?;
        Ok(rows.into_iter().map(CatalogRow::Bound).collect())
    }

    /// The one row of a query (run on its own).
    pub fn query_one(&mut self, sql: &str, params: &[&dyn Param]) -> Result<Row, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.query_one(&s, &bound(params))
    }

    /// The row of a query, if any (run on its own).
    pub fn query_opt(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
    ) -> Result<Option<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.query_opt(&s, &bound(params))
    }

    /// Runs `read` (the readers of a refresh: a narrowed [`Queries`]) with their queries in one
    /// round trip ([`Batch`]): `read` runs twice, the first time on no rows, its output
    /// thrown away. Falls back to one round trip per query when a parameter cannot be written
    /// as a literal.
    pub fn batch<T>(
        &mut self,
        mut read: impl FnMut(&mut Self) -> Result<T, super::SnapshotError>,
    ) -> Result<T, super::SnapshotError> {
        use super::error::Reading;
        // The batch prepares the narrowed queries (a refresh's): others run one by one.
        if !self.narrow {
            return read(self);
        }
        self.batch = Batch::Recording(Some(Vec::new()));
        let recorded = read(self);
        let batch = std::mem::replace(&mut self.batch, Batch::Off);
        recorded?;
        if let Batch::Recording(Some(recorded)) = batch
            && recorded.len() > 1
        {
            let results = self
                .run_batch(recorded)
                .reading("reading the objects again")?;
            self.batch = Batch::Replaying(results);
        }
        let read = read(self);
        self.batch = Batch::Off;
        read
    }

    /// Runs the recorded queries in one multi-statement query, preparing (as SQL) those not
    /// prepared yet, and returns each one's rows.
    fn run_batch(
        &mut self,
        recorded: Vec<Recorded>,
    ) -> Result<VecDeque<(Recorded, Vec<SimpleQueryRow>)>, postgres::Error> {
        let mut sql = String::new();
        let mut new: HashMap<String, String> = HashMap::new();
        // Whether each query's `EXECUTE` follows a `PREPARE` of it.
        let mut prepared_here = Vec::with_capacity(recorded.len());
        for (text, literals) in &recorded {
            let known = (self.cache.batched.get(*text).or_else(|| new.get(*text))).cloned();
            prepared_here.push(known.is_none());
            let name = match known {
                Some(name) => name,
                None => {
                    let name = sql_statement_name("read");
                    sql.push_str(&format!("PREPARE {name} AS {};\n", narrowed(text)));
                    new.insert(text.to_string(), name.clone());
                    name
                }
            };
            match literals.is_empty() {
                true => sql.push_str(&format!("EXECUTE {name};\n")),
                false => sql.push_str(&format!("EXECUTE {name}({});\n", literals.join(", "))),
            }
        }
        let messages = self.client.simple_query(&sql)?;
        // Each statement ends with its completion: a `PREPARE`'s comes alone, an `EXECUTE`'s
        // after its rows.
        let mut completions = messages.into_iter().filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(Some(row)),
            SimpleQueryMessage::CommandComplete(_) => Some(None),
            _ => None,
        });
        let mut results = VecDeque::with_capacity(recorded.len());
        for ((text, literals), prepared_here) in recorded.into_iter().zip(prepared_here) {
            let mut rows = Vec::new();
            if prepared_here {
                let _ = completions.next();
            }
            for message in completions.by_ref() {
                match message {
                    Some(row) => rows.push(row),
                    None => break,
                }
            }
            results.push_back(((text, literals), rows));
        }
        self.cache.batched.extend(new);
        Ok(results)
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

/// Bound parameters of a query.
fn bound<'p>(params: &[&'p dyn Param]) -> Vec<&'p (dyn ToSql + Sync)> {
    params.iter().map(|p| *p as _).collect()
}

/// A new name for a statement prepared as SQL (`PREPARE`) on a session: `migrate_<what>_`, the
/// process and a number never given before in it, so that a cache emptied without its
/// statements being deallocated (or another cache on the same session) prepares another.
pub(super) fn sql_statement_name(what: &str) -> String {
    static PREPARED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = PREPARED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("migrate_{what}_{}_{n}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::{Cell, Param, narrowed};

    #[test]
    fn a_batched_query_s_parameters_are_written_as_literals_of_their_values() {
        assert_eq!(
            vec![16384u32, 2200].literal().as_deref(),
            Some("'{16384,2200}'")
        );
        assert_eq!(Vec::<u32>::new().literal().as_deref(), Some("'{}'"));
        assert_eq!(0u32.literal().as_deref(), Some("'0'"));
        assert_eq!(None::<&Vec<u32>>.literal().as_deref(), Some("NULL"));
        assert_eq!(Some(&vec![7u32]).literal().as_deref(), Some("'{7}'"));
        assert_eq!(
            r"it's \n".to_string().literal().as_deref(),
            Some(r"E'it''s \\n'")
        );
        // Text arrays are not written: such a query runs on its own.
        assert_eq!(vec!["public"].literal(), None);
    }

    #[test]
    fn text_values_are_read_as_their_column_s_type() {
        assert_eq!(u32::text(Some("16384")), Some(16384));
        assert_eq!(i64::text(Some("-9223372036854775808")), Some(i64::MIN));
        assert_eq!(bool::text(Some("t")), Some(true));
        assert_eq!(bool::text(Some("f")), Some(false));
        assert_eq!(bool::text(Some("true")), None);
        assert_eq!(String::text(Some("a b")), Some("a b".to_string()));
        // `NULL`: none for a plain type, `None` for an optional one.
        assert_eq!(String::text(None), None);
        assert_eq!(Option::<i32>::text(None), Some(None));
        assert_eq!(Option::<i32>::text(Some("12")), Some(Some(12)));
        assert_eq!(Option::<u32>::text(Some("x")), None);
    }

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
