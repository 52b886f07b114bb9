//! Snapshots brought up to date by reading only what changed: after a migration, a refresh
//! reads again the few objects the migration touched (and those that print their names)
//! instead of the whole schema, so checking every migration of a long history stays linear.
//! The same text as a full capture, by construction and by test (`schema_refresh.rs`).

use super::builder::{CatalogId, Roots, catalogs};
use super::capture::{begin, read};
use super::catalog::{Changes, Only, Seen, read_changes};
use super::error::{Reading, SnapshotError};
use super::object::{ObjectKind, Snapshot};
use super::options::SnapshotOptions;
use postgres::GenericClient;
use std::collections::{BTreeSet, HashSet};

/// A [`Snapshot`] that remembers where each object came from, so that
/// [`refresh`](TrackedSnapshot::refresh) can read again only what changed since it was taken.
///
/// Changes are found from the transaction ids catalog rows carry: a refresh sees what any
/// transaction that started writing after the capture did, and what the session's own
/// transaction did, committed or not. It is meant for a database one session changes (a
/// shadow database); with other writers, take a full [`Snapshot::capture`].
///
/// ```no_run
/// use migrate_runtime::schema::{SnapshotOptions, TrackedSnapshot, diff};
/// let mut client = postgres::Client::connect("postgres://postgres@localhost/shadow", postgres::NoTls)?;
/// let before = TrackedSnapshot::capture(&mut client, &SnapshotOptions::default())?;
/// client.batch_execute("CREATE TABLE t (id bigint PRIMARY KEY)")?;
/// let after = before.refresh(&mut client)?;
/// assert_eq!(diff(before.snapshot(), after.snapshot()).changes.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TrackedSnapshot {
    snapshot: Snapshot,
    roots: Roots,
    seen: Seen,
    /// Changes from this transaction id on are not in the snapshot yet.
    mark: String,
    options: SnapshotOptions,
    /// How it was read: `Some(n)`, a refresh that read `n` roots again; `None`, in full.
    read_again: Option<usize>,
}

impl TrackedSnapshot {
    /// Reads the whole schema, as [`Snapshot::capture`] does, remembering where each object
    /// came from.
    pub fn capture(
        client: &mut impl GenericClient,
        options: &SnapshotOptions,
    ) -> Result<TrackedSnapshot, SnapshotError> {
        let mut tx = begin(client)?;
        let mark = super::catalog::mark(&mut tx)?;
        let changes = read_changes(&mut tx, &mark, &[])?;
        let (snapshot, roots) = read(&mut tx, options, None)?;
        tx.rollback().reading("ending the transaction")?;
        Ok(TrackedSnapshot {
            snapshot,
            roots,
            seen: changes.seen,
            mark,
            options: options.clone(),
            read_again: None,
        })
    }

    /// The schema now: this snapshot with the objects that changed since it was taken read
    /// again (everything, when a schema or an extension changed). Changes nothing.
    pub fn refresh(
        &self,
        client: &mut impl GenericClient,
    ) -> Result<TrackedSnapshot, SnapshotError> {
        let mut tx = begin(client)?;
        let known: Vec<CatalogId> = (self.roots.targets.keys())
            .chain(&self.roots.containers)
            .copied()
            .collect();
        let changes = read_changes(&mut tx, &self.mark, &known)?;
        let Some(stale) = self.stale(&changes) else {
            let (snapshot, roots) = read(&mut tx, &self.options, None)?;
            tx.rollback().reading("ending the transaction")?;
            return Ok(self.next(snapshot, roots, changes, None));
        };
        if stale.is_empty() {
            tx.rollback().reading("ending the transaction")?;
            let (snapshot, roots) = (self.snapshot.clone(), self.roots.clone());
            return Ok(self.next(snapshot, roots, changes, Some(0)));
        }
        let mut only = Only::default();
        for &(catalog, oid) in &stale {
            match catalog {
                catalogs::PG_CLASS => only.relations.push(oid),
                catalogs::PG_TYPE => only.types.push(oid),
                _ => only.routines.push(oid),
            }
        }
        let (fresh, fresh_roots) = read(&mut tx, &self.options, Some(only))?;
        tx.rollback().reading("ending the transaction")?;
        let (snapshot, roots) = self.merge(&stale, fresh, fresh_roots);
        Ok(self.next(snapshot, roots, changes, Some(stale.len())))
    }

    /// The snapshot.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// How this snapshot was read: `Some(n)` by a refresh that read `n` relations, types and
    /// routines again (0: nothing had changed), `None` in full (a capture, or a refresh after
    /// a schema or an extension changed).
    ///
    /// ```no_run
    /// # use migrate_runtime::schema::{SnapshotOptions, TrackedSnapshot};
    /// # let mut client = postgres::Client::connect("postgres://postgres@localhost/shadow", postgres::NoTls)?;
    /// let before = TrackedSnapshot::capture(&mut client, &SnapshotOptions::default())?;
    /// assert_eq!(before.read_again(), None);
    /// assert_eq!(before.refresh(&mut client)?.read_again(), Some(0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_again(&self) -> Option<usize> {
        self.read_again
    }

    /// The snapshot, without what a refresh needs.
    pub fn into_snapshot(self) -> Snapshot {
        self.snapshot
    }

    /// The roots to read again; `None`: read everything.
    fn stale(&self, changes: &Changes) -> Option<BTreeSet<CatalogId>> {
        if changes.full {
            return None;
        }
        let mut stale = changes.roots.clone();
        // A dropped object's root is read again (without it).
        for gone in &changes.gone {
            if let Some(root) = self.roots.targets.get(gone) {
                stale.insert(*root);
            }
        }
        // A removed comment leaves no row behind: its object is read again.
        for (catalog, oid, _) in self.seen.comments.difference(&changes.seen.comments) {
            if *catalog == catalogs::PG_NAMESPACE {
                return None;
            }
            if let Some(root) = self.roots.targets.get(&(*catalog, *oid)) {
                stale.insert(*root);
            }
        }
        // So does a sequence no longer owned by a column.
        for (sequence, _, _) in self.seen.owned.difference(&changes.seen.owned) {
            stale.insert((catalogs::PG_CLASS, *sequence));
        }
        Some(stale)
    }

    /// This snapshot's objects, but those of the stale roots replaced by their fresh ones.
    fn merge(
        &self,
        stale: &BTreeSet<CatalogId>,
        fresh: Snapshot,
        fresh_roots: Roots,
    ) -> (Snapshot, Roots) {
        let mut dropped: HashSet<(ObjectKind, &str)> = HashSet::new();
        for root in stale {
            for (kind, name) in self.roots.objects.get(root).into_iter().flatten() {
                dropped.insert((*kind, name.as_str()));
            }
        }
        let rooted: HashSet<(ObjectKind, &str)> = fresh_roots
            .objects
            .values()
            .flatten()
            .map(|(kind, name)| (*kind, name.as_str()))
            .collect();
        let mut objects: Vec<_> = self
            .snapshot
            .objects()
            .iter()
            .filter(|o| !dropped.contains(&(o.kind, o.name.as_str())))
            .cloned()
            .collect();
        objects.extend(
            fresh
                .objects()
                .iter()
                .filter(|o| rooted.contains(&(o.kind, o.name.as_str())))
                .cloned(),
        );
        let mut roots = self.roots.clone();
        roots.objects.retain(|root, _| !stale.contains(root));
        roots.targets.retain(|_, root| !stale.contains(root));
        roots.objects.extend(fresh_roots.objects);
        roots.targets.extend(fresh_roots.targets);
        (Snapshot::from_objects(objects), roots)
    }

    fn next(
        &self,
        snapshot: Snapshot,
        roots: Roots,
        changes: Changes,
        read_again: Option<usize>,
    ) -> TrackedSnapshot {
        TrackedSnapshot {
            snapshot,
            roots,
            seen: changes.seen,
            mark: changes.mark,
            options: self.options.clone(),
            read_again,
        }
    }
}
