//! The snapshot model: schema objects, each a kind, a qualified name and a canonical text,
//! kept sorted so that equal schemas render byte-equal. Pure: no database here.

use serde::Serialize;
use std::fmt;

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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    objects: Vec<Object>,
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
        let mut unique: Vec<Object> = Vec::with_capacity(objects.len());
        for o in objects {
            match unique.last_mut() {
                Some(last) if last.kind == o.kind && last.name == o.name => *last = o,
                _ => unique.push(o),
            }
        }
        Snapshot { objects: unique }
    }

    /// The objects, sorted by kind then name.
    pub fn objects(&self) -> &[Object] {
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
            .map(|i| &self.objects[i])
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
