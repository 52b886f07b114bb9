//! Gathering a snapshot's objects while the catalog readers run: each object is registered
//! under its catalog OIDs so that comments and grants, read last in one query each, land in
//! the right object's text. OIDs stay here; none reaches the snapshot.

use super::object::{Object, ObjectKind, Snapshot};
use std::collections::HashMap;

/// OIDs of the system catalogs (fixed by PostgreSQL, the same in every version): comments
/// and grants name their object by (catalog, OID).
pub(super) mod catalogs {
    pub const PG_CLASS: u32 = 1259;
    pub const PG_NAMESPACE: u32 = 2615;
    pub const PG_PROC: u32 = 1255;
    pub const PG_TYPE: u32 = 1247;
    pub const PG_CONSTRAINT: u32 = 2606;
    pub const PG_TRIGGER: u32 = 2620;
    pub const PG_POLICY: u32 = 3256;
}

/// An object being built. Tables get their column lines separately, as the columns are read
/// by their own query.
struct Pending {
    object: Object,
    /// Tables: `CREATE TABLE name`; the text for everything else.
    head: String,
    /// Tables: `(name, line)` in position order.
    columns: Vec<(String, String)>,
    /// Tables: what follows the column list (`PARTITION BY ...;`, row level security).
    tail: String,
    /// Comments and grants, sorted at the end.
    extra: Vec<String>,
}

/// Where comments and grants on one catalog object go.
#[derive(Debug, Clone)]
pub(super) struct Target {
    object: usize,
    /// `TABLE public.users`, `CONSTRAINT users_pkey ON public.users`, ...
    comment_on: String,
    /// `TABLE public.users`, `FUNCTION public.f(integer)`, ...; `None`: has no privileges.
    grant_on: Option<String>,
    /// The qualified name columns are named after (`public.users` for `public.users.email`).
    qualified: String,
}

/// The objects of a snapshot being read.
#[derive(Default)]
pub(super) struct Builder {
    objects: Vec<Pending>,
    targets: HashMap<(u32, u32), Target>,
    tables: HashMap<u32, usize>,
}

/// A handle on an object added to the [`Builder`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Added(usize);

impl Builder {
    /// Adds an object with its whole text.
    pub fn add(&mut self, kind: ObjectKind, name: String, text: String) -> Added {
        self.objects.push(Pending {
            object: Object::new(kind, name, String::new()),
            head: text,
            columns: Vec::new(),
            tail: String::new(),
            extra: Vec::new(),
        });
        Added(self.objects.len() - 1)
    }

    /// Adds an object that lives on a table.
    pub fn add_on(&mut self, kind: ObjectKind, name: String, table: &str, text: String) -> Added {
        let added = self.add(kind, name, text);
        self.objects[added.0].object.table = Some(table.to_string());
        added
    }

    /// Adds a table: `head` before its column list, `tail` after it; the columns come later
    /// through [`Builder::column`].
    pub fn add_table(&mut self, oid: u32, name: String, head: String, tail: String) -> Added {
        let added = self.add(ObjectKind::Table, name, head);
        self.objects[added.0].tail = tail;
        self.tables.insert(oid, added.0);
        added
    }

    /// The table read earlier with this OID.
    pub fn table(&self, oid: u32) -> Option<Added> {
        self.tables.get(&oid).copied().map(Added)
    }

    /// Appends a column line to a table read earlier (ignored for other relations).
    pub fn column(&mut self, table: u32, name: String, line: String) {
        if let Some(&i) = self.tables.get(&table) {
            self.objects[i].columns.push((name, line));
        }
    }

    /// Registers `(catalog, oid)` as `added`, for comments (`COMMENT ON {comment_on}`) and
    /// grants (`GRANT ... ON {grant_on}`). `qualified` names its columns.
    pub fn target(
        &mut self,
        catalog: u32,
        oid: u32,
        added: Added,
        comment_on: String,
        grant_on: Option<String>,
        qualified: &str,
    ) {
        self.targets.insert(
            (catalog, oid),
            Target {
                object: added.0,
                comment_on,
                grant_on,
                qualified: qualified.to_string(),
            },
        );
    }

    /// Where comments and grants on `(catalog, oid)` go, if it is captured.
    pub fn find(&self, catalog: u32, oid: u32) -> Option<&Target> {
        self.targets.get(&(catalog, oid))
    }

    /// Adds a comment (a quoted literal) on a captured object, or on one of its columns.
    pub fn comment(&mut self, target: &Target, column: Option<&str>, literal: &str) {
        let line = match column {
            Some(column) => format!(
                "COMMENT ON COLUMN {}.{column} IS {literal};",
                target.qualified
            ),
            None => format!("COMMENT ON {} IS {literal};", target.comment_on),
        };
        self.objects[target.object].extra.push(line);
    }

    /// Adds a `GRANT` or `REVOKE` line (see [`Target::grant_on`]).
    pub fn grant(&mut self, target: &Target, line: String) {
        self.objects[target.object].extra.push(line);
    }

    /// The snapshot: texts assembled, extra lines sorted, objects sorted.
    pub fn finish(self) -> Snapshot {
        let objects = self
            .objects
            .into_iter()
            .map(|mut p| {
                let mut text = p.head;
                if p.object.kind == ObjectKind::Table {
                    text.push_str(" (\n");
                    let lines: Vec<String> =
                        p.columns.iter().map(|(_, l)| format!("    {l}")).collect();
                    text.push_str(&lines.join(",\n"));
                    if !lines.is_empty() {
                        text.push('\n');
                    }
                    text.push(')');
                    text.push_str(&p.tail);
                    p.object.columns = p.columns.into_iter().map(|(name, _)| name).collect();
                }
                p.extra.sort_unstable();
                for line in p.extra {
                    text.push('\n');
                    text.push_str(&line);
                }
                p.object.text = text;
                p.object
            })
            .collect();
        Snapshot::from_objects(objects)
    }
}

impl Target {
    /// `GRANT`/`REVOKE` target noun and name, if the object has privileges.
    pub fn grant_on(&self) -> Option<&str> {
        self.grant_on.as_deref()
    }
}
