//! Gathering a snapshot's objects while the catalog readers run: each object is registered
//! under its catalog OIDs so that comments and grants, read last in one query each, land in
//! the right object's text. OIDs stay here; none reaches the snapshot.

use super::object::{Object, ObjectKind, Snapshot};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// A catalog object, as `(catalog OID, OID)`.
pub(crate) type CatalogId = (u32, u32);

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
    pub const PG_EXTENSION: u32 = 3079;
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
    /// The relation, type or routine it is read with (see [`Roots`]).
    root: Option<CatalogId>,
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
    /// Schemas and extensions read (not roots: a change to one is read again in full).
    containers: Vec<CatalogId>,
    /// The roots with privilege lines.
    granted: BTreeSet<CatalogId>,
}

/// Which objects of a snapshot each root produced, and the root of every catalog object a
/// comment or grant can name: what a refresh needs to replace what changed.
///
/// A root is a relation (a table with its constraints, indexes, triggers and policies; a
/// view; a sequence), a type (with a domain's constraints) or a routine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Roots {
    /// The objects of each root, as `(kind, name)` (shared: a refresh keeps most of them).
    pub objects: HashMap<CatalogId, Arc<[(ObjectKind, String)]>>,
    /// The root of each registered catalog object.
    pub targets: HashMap<CatalogId, CatalogId>,
    /// The schemas and extensions read.
    pub containers: Vec<CatalogId>,
    /// The roots whose objects have privilege lines (`GRANT`, `REVOKE`): a refresh that reads
    /// one of them again reads privileges even when the change query found none to read.
    pub granted: BTreeSet<CatalogId>,
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
            root: None,
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

    /// Records the root `added` is read with.
    pub fn root(&mut self, added: Added, catalog: u32, oid: u32) {
        self.objects[added.0].root = Some((catalog, oid));
    }

    /// Records a schema or an extension that was read.
    pub fn container(&mut self, catalog: u32, oid: u32) {
        self.containers.push((catalog, oid));
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
        if let Some(root) = self.objects[target.object].root {
            self.granted.insert(root);
        }
        self.objects[target.object].extra.push(line);
    }

    /// The snapshot (texts assembled, extra lines sorted, objects sorted), and which root each
    /// object came from.
    pub fn finish(self) -> (Snapshot, Roots) {
        let mut roots = Roots {
            containers: self.containers,
            granted: self.granted,
            ..Roots::default()
        };
        for (id, target) in &self.targets {
            if let Some(root) = self.objects[target.object].root {
                roots.targets.insert(*id, root);
            }
        }
        let mut rooted: HashMap<CatalogId, Vec<(ObjectKind, String)>> = HashMap::new();
        let objects = self
            .objects
            .into_iter()
            .map(|mut p| {
                if let Some(root) = p.root {
                    rooted
                        .entry(root)
                        .or_default()
                        .push((p.object.kind, p.object.name.clone()));
                }
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
        roots.objects = (rooted.into_iter())
            .map(|(root, objects)| (root, objects.into()))
            .collect();
        (Snapshot::from_objects(objects), roots)
    }
}

impl Target {
    /// `GRANT`/`REVOKE` target noun and name, if the object has privileges.
    pub fn grant_on(&self) -> Option<&str> {
        self.grant_on.as_deref()
    }
}
