//! The snapshot model: schema objects, each a kind, a qualified name and a canonical text,
//! kept sorted so that equal schemas render byte-equal. Pure: no database here.

use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// What a schema object is. The order of the variants is the order of [`Snapshot::to_text`]:
/// containers first, then types, relations, what hangs on relations, routines.
///
/// ```
/// use migrate_runtime::schema::ObjectKind;
/// assert_eq!(ObjectKind::MaterializedView.to_string(), "materialized view");
/// assert!(ObjectKind::Schema < ObjectKind::Table);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ObjectKind {
    /// `CREATE SCHEMA`.
    Schema,
    /// `CREATE EXTENSION` (the objects it owns are not listed).
    Extension,
    /// `CREATE TYPE`: enum, composite or range.
    Type,
    /// `CREATE DOMAIN`, with its constraints.
    Domain,
    /// A sequence that is not an identity column's (those are part of their column).
    Sequence,
    /// A table (also partitioned, unlogged, partitions), with its columns, row level
    /// security flags, comments and grants.
    Table,
    /// `CREATE VIEW`.
    View,
    /// `CREATE MATERIALIZED VIEW`.
    MaterializedView,
    /// A table constraint (primary key, unique, foreign key, check, exclusion). NOT NULL is
    /// part of its column.
    Constraint,
    /// An index that no constraint owns (constraints print their own).
    Index,
    /// `CREATE FUNCTION`.
    Function,
    /// `CREATE PROCEDURE`.
    Procedure,
    /// `CREATE AGGREGATE`.
    Aggregate,
    /// `CREATE TRIGGER`.
    Trigger,
    /// `CREATE POLICY` (row level security).
    Policy,
}

impl ObjectKind {
    /// The words users know, e.g. `materialized view`.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Schema => "schema",
            ObjectKind::Extension => "extension",
            ObjectKind::Type => "type",
            ObjectKind::Domain => "domain",
            ObjectKind::Sequence => "sequence",
            ObjectKind::Table => "table",
            ObjectKind::View => "view",
            ObjectKind::MaterializedView => "materialized view",
            ObjectKind::Constraint => "constraint",
            ObjectKind::Index => "index",
            ObjectKind::Function => "function",
            ObjectKind::Procedure => "procedure",
            ObjectKind::Aggregate => "aggregate",
            ObjectKind::Trigger => "trigger",
            ObjectKind::Policy => "policy",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One schema object.
///
/// `name` is qualified and quoted as PostgreSQL prints identifiers: `public.users`,
/// `public."Order"`; objects that live on a table add the table (`public.users.users_pkey` for a
/// constraint, trigger or policy); routines add their argument types
/// (`public.add(integer,integer)`); extensions are database-wide (`pgcrypto`).
///
/// ```
/// use migrate_runtime::schema::{Object, ObjectKind};
/// let o = Object::new(ObjectKind::Schema, "app", "CREATE SCHEMA app;");
/// assert_eq!(o.to_string(), "schema app");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Object {
    /// What it is.
    pub kind: ObjectKind,
    /// Its qualified name, unique within its kind.
    pub name: String,
    /// The table it belongs to (constraints, indexes, triggers, policies), qualified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// Its canonical text: SQL-like, as PostgreSQL prints definitions, with comments and
    /// grants after it. No trailing newline.
    pub text: String,
    /// Tables: the column names, in position order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
}

impl Object {
    /// An object with no table and no columns.
    pub fn new(kind: ObjectKind, name: impl Into<String>, text: impl Into<String>) -> Object {
        Object {
            kind,
            name: name.into(),
            table: None,
            text: text.into(),
            columns: Vec::new(),
        }
    }

    /// The same text with the table's column lines sorted: equal for two tables that differ
    /// only in column order. A column line ends in `,` except the last, so the comma is
    /// ignored.
    pub(crate) fn text_ignoring_column_order(&self) -> Vec<&str> {
        let mut lines: Vec<&str> = self
            .text
            .lines()
            .map(|l| l.strip_suffix(',').unwrap_or(l))
            .collect();
        lines.sort_unstable();
        lines
    }
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// A database schema as a sorted list of [`Object`]s, read by [`Snapshot::capture`].
///
/// Two databases with the same schema give equal snapshots and byte-equal
/// [`to_text`](Snapshot::to_text), whatever order their objects were created in and whatever
/// their OIDs: OIDs, owners, statistics and data never appear.
///
/// ```
/// use migrate_runtime::schema::{Object, ObjectKind, Snapshot};
/// let snapshot = Snapshot::from_objects(vec![
///     Object::new(ObjectKind::Table, "public.b", "CREATE TABLE public.b (\n)"),
///     Object::new(ObjectKind::Schema, "public", "CREATE SCHEMA public;"),
/// ]);
/// assert_eq!(
///     snapshot.to_text(),
///     "-- schema public\nCREATE SCHEMA public;\n\n-- table public.b\nCREATE TABLE public.b (\n)\n"
/// );
/// ```
///
/// Its objects are shared: a refresh's snapshot holds the same objects as the one it refreshes
/// but for the few it read again, so cloning one copies no text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    #[serde(serialize_with = "shared")]
    objects: Vec<Arc<Object>>,
}

/// Serializes shared objects as the objects themselves (what serde's `rc` feature would do).
fn shared<S: serde::Serializer>(objects: &[Arc<Object>], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(objects.iter().map(|o| &**o))
}

impl Snapshot {
    /// A snapshot of these objects, sorted by kind then name. When two objects share a kind and
    /// a name, the last one wins.
    ///
    /// ```
    /// use migrate_runtime::schema::{Object, ObjectKind, Snapshot};
    /// let s = Snapshot::from_objects(vec![
    ///     Object::new(ObjectKind::Schema, "b", "CREATE SCHEMA b;"),
    ///     Object::new(ObjectKind::Schema, "a", "CREATE SCHEMA a;"),
    ///     Object::new(ObjectKind::Schema, "a", "CREATE SCHEMA a; -- again"),
    /// ]);
    /// let names: Vec<&str> = s.objects().iter().map(|o| o.name.as_str()).collect();
    /// assert_eq!(names, ["a", "b"]);
    /// assert_eq!(s.objects()[0].text, "CREATE SCHEMA a; -- again");
    /// assert_eq!(s.len(), 2);
    /// ```
    pub fn from_objects(mut objects: Vec<Object>) -> Snapshot {
        // Stable sort then keep the last of each key.
        objects.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        let mut unique: Vec<Arc<Object>> = Vec::with_capacity(objects.len());
        for o in objects {
            match unique.last_mut() {
                Some(last) if last.kind == o.kind && last.name == o.name => *last = Arc::new(o),
                _ => unique.push(Arc::new(o)),
            }
        }
        Snapshot { objects: unique }
    }

    /// The objects of `old` whose key `keep` accepts, and those of `fresh` that `take`
    /// accepts, in one sorted list: when both have an object of the same kind and name, the
    /// fresh one wins (as the last one does in [`from_objects`](Snapshot::from_objects)).
    /// Linear: both are sorted already, nothing is sorted again; the objects are shared, not
    /// copied.
    pub(crate) fn merged(
        old: &Snapshot,
        keep: impl Fn(&Object) -> bool,
        fresh: &Snapshot,
        take: impl Fn(&Object) -> bool,
    ) -> Snapshot {
        fn key(o: &Object) -> (ObjectKind, &str) {
            (o.kind, o.name.as_str())
        }
        let mut old = old.objects.iter().filter(|o| keep(o)).peekable();
        let mut fresh = fresh.objects.iter().filter(|o| take(o)).peekable();
        let mut objects = Vec::with_capacity(old.size_hint().1.unwrap_or(0) + 1);
        loop {
            let next = match (old.peek(), fresh.peek()) {
                (None, None) => break,
                (Some(_), None) => old.next(),
                (None, Some(_)) => fresh.next(),
                (Some(&o), Some(&f)) => match key(o).cmp(&key(f)) {
                    std::cmp::Ordering::Less => old.next(),
                    std::cmp::Ordering::Greater => fresh.next(),
                    std::cmp::Ordering::Equal => {
                        old.next();
                        fresh.next()
                    }
                },
            };
            objects.extend(next.cloned());
        }
        Snapshot { objects }
    }

    /// The objects, sorted by kind then name.
    pub fn objects(&self) -> &[Arc<Object>] {
        &self.objects
    }

    /// The object of this kind and name.
    ///
    /// ```
    /// use migrate_runtime::schema::{Object, ObjectKind, Snapshot};
    /// let s = Snapshot::from_objects(vec![Object::new(ObjectKind::Schema, "app", "CREATE SCHEMA app;")]);
    /// assert!(s.get(ObjectKind::Schema, "app").is_some());
    /// assert!(s.get(ObjectKind::Table, "app").is_none());
    /// ```
    pub fn get(&self, kind: ObjectKind, name: &str) -> Option<&Object> {
        self.objects
            .binary_search_by(|o| (o.kind, o.name.as_str()).cmp(&(kind, name)))
            .ok()
            .map(|i| &*self.objects[i])
    }

    /// How many objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// No objects at all.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The whole schema as text: each object under a `-- kind name` line, a blank line
    /// between objects, sorted by kind then name.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (i, o) in self.objects.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&format!("-- {o}\n{}\n", o.text));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::{Object, ObjectKind, Snapshot};

    fn names(s: &Snapshot) -> Vec<(ObjectKind, &str, &str)> {
        (s.objects().iter())
            .map(|o| (o.kind, o.name.as_str(), o.text.as_str()))
            .collect()
    }

    #[test]
    fn merged_keeps_the_order_drops_what_is_left_out_and_lets_the_fresh_object_win() {
        let old = Snapshot::from_objects(vec![
            Object::new(ObjectKind::Schema, "a", "old a"),
            Object::new(ObjectKind::Schema, "c", "old c"),
            Object::new(ObjectKind::Table, "a.t", "old t"),
            Object::new(ObjectKind::Table, "a.u", "old u"),
        ]);
        let fresh = Snapshot::from_objects(vec![
            Object::new(ObjectKind::Schema, "b", "fresh b"),
            Object::new(ObjectKind::Table, "a.t", "fresh t"),
            Object::new(ObjectKind::Table, "a.v", "fresh v"),
            Object::new(ObjectKind::Table, "z.z", "not taken"),
        ]);
        let merged = Snapshot::merged(&old, |o| o.name != "a.u", &fresh, |o| o.name != "z.z");
        assert_eq!(
            names(&merged),
            [
                (ObjectKind::Schema, "a", "old a"),
                (ObjectKind::Schema, "b", "fresh b"),
                (ObjectKind::Schema, "c", "old c"),
                (ObjectKind::Table, "a.t", "fresh t"),
                (ObjectKind::Table, "a.v", "fresh v"),
            ]
        );
        // What sorting both together gives.
        let mut both: Vec<Object> = (old.objects().iter())
            .filter(|o| o.name != "a.u")
            .map(|o| (**o).clone())
            .collect();
        both.extend(
            (fresh.objects().iter())
                .filter(|o| o.name != "z.z")
                .map(|o| (**o).clone()),
        );
        assert_eq!(merged, Snapshot::from_objects(both));
    }
}
