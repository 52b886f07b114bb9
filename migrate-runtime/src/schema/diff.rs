//! Comparing two snapshots: which objects were added, removed or changed, with a unified diff
//! of each changed object's text. Pure: two snapshots in, a list of changes out.

use super::object::{Object, ObjectKind, Snapshot};
use serde::Serialize;
use std::cmp::Ordering;
use std::fmt;

/// How one object differs between two snapshots.
///
/// ```
/// use migrate_runtime::schema::{Change, Object, ObjectKind, Snapshot, diff};
/// let before = Snapshot::from_objects(vec![Object::new(ObjectKind::Schema, "app", "CREATE SCHEMA app;")]);
/// let after = Snapshot::from_objects(vec![Object::new(
///     ObjectKind::Schema,
///     "app",
///     "CREATE SCHEMA app;\nCOMMENT ON SCHEMA app IS 'x';",
/// )]);
/// let change = &diff(&before, &after).changes[0];
/// assert_eq!(
///     change.change,
///     Change::Changed { diff: "@@ -1 +1,2 @@\n CREATE SCHEMA app;\n+COMMENT ON SCHEMA app IS 'x';\n".into() }
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// Only in the second snapshot.
    Added {
        /// Its text.
        text: String,
    },
    /// Only in the first snapshot.
    Removed {
        /// Its text.
        text: String,
    },
    /// In both, with different texts.
    Changed {
        /// A unified diff (hunks only) from the first text to the second.
        diff: String,
    },
    /// A table with the same columns, but in another order (typically a column dropped and
    /// added again, which puts it last). Queries naming their columns do not see it;
    /// `SELECT *` and `INSERT` without a column list do.
    ColumnOrder {
        /// Column names, in position order, in the first snapshot.
        before: Vec<String>,
        /// The same names, in position order, in the second.
        after: Vec<String>,
    },
}

/// One object that differs, named as in its [`Snapshot`].
///
/// ```
/// use migrate_runtime::schema::{Object, ObjectKind, Snapshot, diff};
/// let mut index = Object::new(ObjectKind::Index, "public.t_id", "CREATE INDEX t_id ON public.t USING btree (id);");
/// index.table = Some("public.t".into());
/// let d = diff(&Snapshot::default(), &Snapshot::from_objects(vec![index]));
/// assert_eq!((d.changes[0].kind, d.changes[0].name.as_str()), (ObjectKind::Index, "public.t_id"));
/// assert_eq!(d.changes[0].table.as_deref(), Some("public.t"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectChange {
    /// Its kind.
    pub kind: ObjectKind,
    /// Its qualified name.
    pub name: String,
    /// The table it belongs to, if any (constraints, indexes, triggers, policies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// How it differs.
    #[serde(flatten)]
    pub change: Change,
}

impl ObjectChange {
    /// The table this change is shown under: its own name for a table, its table for what
    /// hangs on one, else its own name.
    fn group(&self) -> &str {
        self.table.as_deref().unwrap_or(&self.name)
    }
}

/// The differences between two snapshots, grouped by object: a table's own change first, then
/// the changes of its constraints, indexes, triggers and policies.
///
/// ```
/// use migrate_runtime::schema::{Change, Object, ObjectKind, Snapshot, diff};
/// let before = Snapshot::from_objects(vec![Object::new(ObjectKind::Schema, "app", "CREATE SCHEMA app;")]);
/// let after = Snapshot::from_objects(vec![]);
/// let d = diff(&before, &after);
/// assert!(matches!(d.changes[0].change, Change::Removed { .. }));
/// assert_eq!(d.to_string(), "schema app: removed\n  - CREATE SCHEMA app;\n");
/// assert!(diff(&after, &after).is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SchemaDiff {
    /// Every object that differs.
    pub changes: Vec<ObjectChange>,
}

impl SchemaDiff {
    /// The two snapshots are the same schema.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// There are differences, and all are column orders: the same tables and columns, some in
    /// another order.
    pub fn only_column_order(&self) -> bool {
        !self.changes.is_empty()
            && self
                .changes
                .iter()
                .all(|c| matches!(c.change, Change::ColumnOrder { .. }))
    }
}

/// Compares two snapshots, from `before` to `after`.
///
/// A table whose texts differ only by the order of the same column lines is a
/// [`Change::ColumnOrder`], not a [`Change::Changed`].
///
/// ```
/// use migrate_runtime::schema::{Object, ObjectKind, Snapshot, diff};
/// let table = |cols: &[&str]| {
///     let mut t = Object::new(
///         ObjectKind::Table,
///         "public.t",
///         format!("CREATE TABLE public.t (\n    {}\n);", cols.iter().map(|c| format!("{c} integer")).collect::<Vec<_>>().join(",\n    ")),
///     );
///     t.columns = cols.iter().map(|c| c.to_string()).collect();
///     Snapshot::from_objects(vec![t])
/// };
/// let d = diff(&table(&["a", "b", "c"]), &table(&["a", "c", "b"]));
/// assert!(d.only_column_order());
/// assert_eq!(d.to_string(), "table public.t: column order differs\n  before: a, b, c\n  after:  a, c, b\n");
/// ```
pub fn diff(before: &Snapshot, after: &Snapshot) -> SchemaDiff {
    let (a, b) = (before.objects(), after.objects());
    let (mut i, mut j) = (0, 0);
    let mut changes = Vec::new();
    while i < a.len() || j < b.len() {
        // A refreshed snapshot shares the objects it did not read again: the same object.
        if let (Some(x), Some(y)) = (a.get(i), b.get(j))
            && std::sync::Arc::ptr_eq(x, y)
        {
            i += 1;
            j += 1;
            continue;
        }
        let order = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => (x.kind, &x.name).cmp(&(y.kind, &y.name)),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                changes.push(change(
                    &a[i],
                    Change::Removed {
                        text: a[i].text.clone(),
                    },
                ));
                i += 1;
            }
            Ordering::Greater => {
                changes.push(change(
                    &b[j],
                    Change::Added {
                        text: b[j].text.clone(),
                    },
                ));
                j += 1;
            }
            Ordering::Equal => {
                if let Some(c) = compare(&a[i], &b[j]) {
                    changes.push(change(&b[j], c));
                }
                i += 1;
                j += 1;
            }
        }
    }
    changes.sort_by(|x, y| {
        let own = |c: &ObjectChange| c.table.is_some();
        (x.group(), own(x), x.kind, &x.name).cmp(&(y.group(), own(y), y.kind, &y.name))
    });
    SchemaDiff { changes }
}

fn change(o: &Object, change: Change) -> ObjectChange {
    ObjectChange {
        kind: o.kind,
        name: o.name.clone(),
        table: o.table.clone(),
        change,
    }
}

/// How an object present in both snapshots differs, if it does.
fn compare(before: &Object, after: &Object) -> Option<Change> {
    if before.text == after.text && before.table == after.table {
        return None;
    }
    if before.columns != after.columns && same_columns_reordered(before, after) {
        return Some(Change::ColumnOrder {
            before: before.columns.clone(),
            after: after.columns.clone(),
        });
    }
    Some(Change::Changed {
        diff: unified(&before.text, &after.text),
    })
}

fn same_columns_reordered(before: &Object, after: &Object) -> bool {
    let mut x = before.columns.clone();
    let mut y = after.columns.clone();
    x.sort_unstable();
    y.sort_unstable();
    x == y && before.text_ignoring_column_order() == after.text_ignoring_column_order()
}

fn unified(before: &str, after: &str) -> String {
    let (before, after) = (format!("{before}\n"), format!("{after}\n"));
    similar::TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .to_string()
}

impl fmt::Display for SchemaDiff {
    /// One heading per object (`kind name: what`), its details indented below.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.changes {
            let on = match &c.table {
                Some(table) => format!(" on {table}"),
                None => String::new(),
            };
            let (what, prefix, body) = match &c.change {
                Change::Added { text } => ("added", "+ ", text.as_str()),
                Change::Removed { text } => ("removed", "- ", text.as_str()),
                Change::Changed { diff } => ("changed", "", diff.as_str()),
                Change::ColumnOrder { before, after } => {
                    writeln!(
                        f,
                        "{} {}{on}: column order differs\n  before: {}\n  after:  {}",
                        c.kind,
                        c.name,
                        before.join(", "),
                        after.join(", ")
                    )?;
                    continue;
                }
            };
            writeln!(f, "{} {}{on}: {what}", c.kind, c.name)?;
            for line in body.lines() {
                writeln!(f, "  {prefix}{line}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(kind: ObjectKind, name: &str, text: &str) -> Object {
        Object::new(kind, name, text)
    }

    fn on(table: &str, mut o: Object) -> Object {
        o.table = Some(table.into());
        o
    }

    fn table(name: &str, columns: &[(&str, &str)], after: &str) -> Object {
        let lines: Vec<String> = columns
            .iter()
            .map(|(n, t)| format!("    {n} {t}"))
            .collect();
        let mut t = Object::new(
            ObjectKind::Table,
            name,
            format!("CREATE TABLE {name} (\n{}\n);{after}", lines.join(",\n")),
        );
        t.columns = columns.iter().map(|(n, _)| n.to_string()).collect();
        t
    }

    #[test]
    fn changes_are_grouped_under_their_table_the_table_first() {
        let before = Snapshot::from_objects(vec![
            table("public.b", &[("id", "integer")], ""),
            on(
                "public.b",
                object(
                    ObjectKind::Index,
                    "public.b_id",
                    "CREATE INDEX b_id ON public.b (id);",
                ),
            ),
            object(ObjectKind::Schema, "app", "CREATE SCHEMA app;"),
        ]);
        let after = Snapshot::from_objects(vec![
            table("public.b", &[("id", "bigint")], ""),
            on(
                "public.b",
                object(ObjectKind::Trigger, "public.b.t", "CREATE TRIGGER t ...;"),
            ),
            object(ObjectKind::Schema, "app", "CREATE SCHEMA app;"),
            table("public.a", &[("id", "integer")], ""),
        ]);
        let d = diff(&before, &after);
        let order: Vec<String> = d
            .changes
            .iter()
            .map(|c| format!("{} {}", c.kind, c.name))
            .collect();
        assert_eq!(
            order,
            [
                "table public.a",
                "table public.b",
                "index public.b_id",
                "trigger public.b.t"
            ]
        );
        assert_eq!(
            d.to_string(),
            "table public.a: added
  + CREATE TABLE public.a (
  +     id integer
  + );
table public.b: changed
  @@ -1,3 +1,3 @@
   CREATE TABLE public.b (
  -    id integer
  +    id bigint
   );
index public.b_id on public.b: removed
  - CREATE INDEX b_id ON public.b (id);
trigger public.b.t on public.b: added
  + CREATE TRIGGER t ...;
"
        );
        assert!(!d.only_column_order());
    }

    #[test]
    fn reordered_columns_are_a_column_order_change_only_when_nothing_else_differs() {
        let abc = table(
            "public.t",
            &[("a", "integer"), ("b", "text"), ("c", "date")],
            "",
        );
        let acb = table(
            "public.t",
            &[("a", "integer"), ("c", "date"), ("b", "text")],
            "",
        );
        let d = diff(
            &Snapshot::from_objects(vec![abc.clone()]),
            &Snapshot::from_objects(vec![acb.clone()]),
        );
        assert!(d.only_column_order());
        // The last column moved up: its comma is not a difference.
        let cab = table(
            "public.t",
            &[("c", "date"), ("a", "integer"), ("b", "text")],
            "",
        );
        assert!(
            diff(
                &Snapshot::from_objects(vec![abc.clone()]),
                &Snapshot::from_objects(vec![cab])
            )
            .only_column_order()
        );
        // Reordered and retyped.
        let retyped = table(
            "public.t",
            &[("a", "integer"), ("c", "text"), ("b", "text")],
            "",
        );
        let d = diff(
            &Snapshot::from_objects(vec![abc.clone()]),
            &Snapshot::from_objects(vec![retyped]),
        );
        assert!(matches!(d.changes[0].change, Change::Changed { .. }), "{d}");
        // Reordered, and a line after the columns changed.
        let commented = table(
            "public.t",
            &[("a", "integer"), ("c", "date"), ("b", "text")],
            "\nCOMMENT ON TABLE public.t IS 'x';",
        );
        let d = diff(
            &Snapshot::from_objects(vec![abc.clone()]),
            &Snapshot::from_objects(vec![commented]),
        );
        assert!(matches!(d.changes[0].change, Change::Changed { .. }), "{d}");
        // A column more.
        let more = table(
            "public.t",
            &[("a", "integer"), ("c", "date"), ("b", "text"), ("d", "int")],
            "",
        );
        let d = diff(
            &Snapshot::from_objects(vec![abc]),
            &Snapshot::from_objects(vec![more]),
        );
        assert!(!d.only_column_order());
    }

    #[test]
    fn equal_snapshots_have_no_differences() {
        let s = Snapshot::from_objects(vec![table("public.t", &[("a", "integer")], "")]);
        let d = diff(&s, &s.clone());
        assert!(d.is_empty());
        assert!(!d.only_column_order());
        assert_eq!(d.to_string(), "");
    }
}
