//! Snapshots brought up to date by reading only what changed: after a migration, a refresh
//! reads again the few objects the migration touched (and those that print their names)
//! instead of the whole schema, so checking every migration of a long history stays linear.
//! The same text as a full capture, by construction and by test (`schema_refresh.rs`).

use super::builder::{CatalogId, Roots, catalogs};
use super::capture::{Reads, begin, read_again, read_in_full, settings};
use super::catalog::{Changes, Mark, Only, Scope, Seen, ahead, prepare_ahead, read_changes};
use super::error::{Reading, SnapshotError};
use super::object::{ObjectKind, Snapshot};
use super::options::SnapshotOptions;
use super::queries::{Queries, StatementCache};
use postgres::{GenericClient, SimpleQueryRow};
use std::collections::{BTreeSet, HashSet};

/// A [`Snapshot`] that remembers where each object came from, so that
/// [`refresh`](TrackedSnapshot::refresh) can read again only what changed since it was taken.
///
/// Changes are found in the session's record of its schema changes when it keeps one
/// ([`record_changes`](super::record_changes): what it costs is what changed), else from the
/// transaction ids catalog rows carry (a scan of the user rows of about twenty catalogs): a
/// refresh sees what any transaction that started writing after the capture did, and what the
/// session's own transaction did, committed or not. It is meant for a database one session
/// changes (a shadow database); with other writers, take a full [`Snapshot::capture`].
///
/// A snapshot taken inside a transaction (or savepoint) that is then rolled back shows what
/// the rollback undid, and refreshing it does not notice the undoing (no catalog row is
/// newer, and the record's entries went with the rollback): refresh a snapshot taken before
/// that transaction instead, as `verify` does with its rehearsals.
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
    /// Changes from this mark on are not in the snapshot yet.
    mark: Mark,
    options: SnapshotOptions,
    /// The server version and schemas it was read with (a changed schema means a full read).
    scope: Scope,
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
        Self::capture_cached(client, &mut StatementCache::default(), options)
    }

    /// [`capture`](TrackedSnapshot::capture), with the catalog queries prepared once in
    /// `cache` (one cache per connection).
    pub fn capture_cached(
        client: &mut impl GenericClient,
        cache: &mut StatementCache,
        options: &SnapshotOptions,
    ) -> Result<TrackedSnapshot, SnapshotError> {
        // The change query with a refresh's settings, as every refresh runs it: its plan is
        // made at its first run and kept for the session.
        let (mut tx, recording) = begin(client, Reads::Changes)?;
        let mut q = Queries::new(&mut tx, cache);
        let mark = super::catalog::mark(&mut q, recording)?;
        let changes = read_changes(&mut q, &mark, &[], options.exclude_table.as_ref(), None)?;
        let (snapshot, roots, scope) = read_in_full(&mut tx, cache, options)?;
        tx.rollback().reading("ending the transaction")?;
        Ok(TrackedSnapshot {
            snapshot,
            roots,
            seen: changes.seen,
            mark,
            options: options.clone(),
            scope,
            read_again: None,
        })
    }

    /// The schema now: this snapshot with the objects that changed since it was taken read
    /// again (everything, when a schema or an extension changed). Changes nothing.
    pub fn refresh(
        &self,
        client: &mut impl GenericClient,
    ) -> Result<TrackedSnapshot, SnapshotError> {
        let mut cache = StatementCache::default();
        let next = self.refresh_cached(client, &mut cache);
        cache.release(client);
        next
    }

    /// [`refresh`](TrackedSnapshot::refresh), with the catalog queries prepared once in
    /// `cache` (one cache per connection): what makes a refresh after every migration cheap.
    pub fn refresh_cached(
        &self,
        client: &mut impl GenericClient,
        cache: &mut StatementCache,
    ) -> Result<TrackedSnapshot, SnapshotError> {
        let (mut tx, recording) = begin(client, Reads::Changes)?;
        let next = self.refresh_within(&mut tx, cache, recording, None)?;
        tx.rollback().reading("ending the transaction")?;
        Ok(next)
    }

    /// [`refresh_cached`](TrackedSnapshot::refresh_cached) inside the caller's transaction
    /// (`tx` must be in a transaction block: the settings are `SET LOCAL`), without a
    /// savepoint of its own (two round trips fewer): the settings it sets (`search_path = ''`,
    /// and the planner settings of a refresh: no sequential scans, hash or merge joins, a
    /// small `work_mem`) stay until the caller's next `RESET ALL` or the end of its
    /// transaction. For a caller that resets the session before it runs anything else
    /// (`verify`'s rehearsal runs each file after `RESET ALL`).
    ///
    /// `sent`: `Some(recording)` when the caller already sent [`REFRESH_SETTINGS`] in this
    /// transaction (in the round trip of what it ran before) and knows whether the session
    /// records its changes (it called [`record_changes`](super::record_changes), and nothing
    /// since can have dropped the record: a `DISCARD TEMP`); `None`: the refresh sets them and
    /// asks, one round trip more.
    ///
    /// `changes`: the rows of [`changes_ahead`](TrackedSnapshot::changes_ahead)'s query, when
    /// the caller ran it after the settings (with `sent`).
    ///
    /// [`REFRESH_SETTINGS`]: super::capture::REFRESH_SETTINGS
    pub(crate) fn refresh_in_transaction(
        &self,
        tx: &mut impl GenericClient,
        cache: &mut StatementCache,
        sent: Option<bool>,
        changes: Option<&[SimpleQueryRow]>,
    ) -> Result<TrackedSnapshot, SnapshotError> {
        let recording = match sent {
            Some(recording) => recording,
            None => settings(tx, Reads::Changes)?,
        };
        self.refresh_within(tx, cache, recording, changes.filter(|_| sent.is_some()))
    }

    /// The query that finds what changed since this snapshot, as SQL for a caller to send in
    /// the round trip of what it runs before [`refresh_in_transaction`] (after
    /// [`REFRESH_SETTINGS`], in the same transaction), which then reads its rows instead of
    /// asking: one round trip fewer per refresh. Prepares it on the session the first time
    /// (one round trip; `cache` remembers it). `None` when the session does not record its
    /// changes (a refresh scans the catalogs).
    ///
    /// [`refresh_in_transaction`]: TrackedSnapshot::refresh_in_transaction
    /// [`REFRESH_SETTINGS`]: super::capture::REFRESH_SETTINGS
    pub(crate) fn changes_ahead(
        &self,
        client: &mut impl GenericClient,
        cache: &mut StatementCache,
    ) -> Result<Option<String>, SnapshotError> {
        if self.mark.recorded.is_none() {
            return Ok(None);
        }
        let name = match &cache.ahead {
            Some(name) => name,
            None => cache.ahead.insert(prepare_ahead(client)?),
        };
        Ok(ahead(name, &self.mark, self.options.exclude_table.as_ref()))
    }

    /// The refresh itself, on a session whose output settings are set.
    fn refresh_within(
        &self,
        tx: &mut impl GenericClient,
        cache: &mut StatementCache,
        recording: bool,
        sent: Option<&[SimpleQueryRow]>,
    ) -> Result<TrackedSnapshot, SnapshotError> {
        let known: Vec<CatalogId> = (self.roots.targets.keys())
            .chain(&self.roots.containers)
            .copied()
            .collect();
        let mut q = Queries::new(tx, cache);
        // The record of changes is gone (`DISCARD TEMP`): scan, and read everything, since
        // what a scan compares (comments, sequence ownerships) was not kept.
        let lost = self.mark.recorded.is_some() && !recording;
        let mark = Mark {
            recorded: self.mark.recorded.filter(|_| !lost),
            ..self.mark.clone()
        };
        let excluded = self.options.exclude_table.as_ref();
        let sent = sent.filter(|_| !lost);
        let changes = read_changes(&mut q, &mark, &known, excluded, sent)?;
        let stale = match self.stale(&changes) {
            Some(stale) if changes.excluded == self.scope.excluded && !lost => stale,
            // A schema or an extension changed, or the table left out appeared or went.
            _ => {
                let (snapshot, roots, scope) = read_in_full(tx, cache, &self.options)?;
                return Ok(self.next(snapshot, roots, scope, changes, None));
            }
        };
        let only = self.only(&stale, &changes);
        let (snapshot, roots) = if stale.is_empty() {
            (self.snapshot.clone(), self.roots.clone())
        } else if only.is_empty() {
            // Only dropped objects: nothing to read, theirs to remove.
            self.merge(&stale, Snapshot::from_objects(Vec::new()), Roots::default())
        } else {
            let scope = Scope {
                only: Some(only),
                ..self.scope.clone()
            };
            let (fresh, fresh_roots) = read_again(tx, cache, &scope)?;
            self.merge(&stale, fresh, fresh_roots)
        };
        let scope = self.scope.clone();
        Ok(self.next(snapshot, roots, scope, changes, Some(stale.len())))
    }

    /// The stale roots that still exist, by what they are: each kind is read by its own
    /// readers.
    fn only(&self, stale: &BTreeSet<CatalogId>, changes: &Changes) -> Only {
        let mut only = Only {
            present: changes.present,
            ..Only::default()
        };
        // The change query looks for triggers and privileges on the roots it names. A root
        // read again for another reason (a dropped trigger or index, a removed comment) has
        // the triggers the last snapshot saw on it and the same privileges (a new trigger, a
        // GRANT, names its object).
        only.present.triggers |=
            (self.snapshot.objects().iter()).any(|o| o.kind == ObjectKind::Trigger);
        only.present.grants |= stale.iter().any(|root| self.roots.granted.contains(root));
        for root @ &(catalog, oid) in stale {
            if changes.gone.contains(root) {
                continue;
            }
            match catalog {
                catalogs::PG_TYPE => only.types.push(oid),
                catalogs::PG_PROC => only.routines.push(oid),
                _ => {
                    let relkind = match changes.roots.get(root) {
                        Some(Some(k)) => k.chars().next(),
                        // Read again for a removed comment or a dropped trigger: what it was.
                        _ => self.roots.objects.get(root).and_then(|objects| {
                            objects.first().map(|(kind, _)| match kind {
                                ObjectKind::View | ObjectKind::MaterializedView => 'v',
                                ObjectKind::Sequence => 'S',
                                _ => 'r',
                            })
                        }),
                    };
                    match relkind {
                        Some('v' | 'm') => {
                            only.views.push(oid);
                            only.relations.push(oid);
                        }
                        Some('S') => only.sequences.push(oid),
                        Some(_) => {
                            only.tables.push(oid);
                            only.relations.push(oid);
                        }
                        None => {}
                    }
                }
            }
        }
        only
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
        // A schema or an extension changed, or a role (see `Seen::roles`).
        if changes.full || changes.seen.roles != self.seen.roles {
            return None;
        }
        let mut stale: BTreeSet<CatalogId> = changes.roots.keys().copied().collect();
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
        // Sorted, searched for every object of the snapshot: a few entries, no hashing.
        let mut dropped: Vec<(ObjectKind, &str)> = (stale.iter())
            .filter_map(|root| self.roots.objects.get(root))
            .flat_map(|objects| objects.iter().map(|(kind, name)| (*kind, name.as_str())))
            .collect();
        dropped.sort_unstable();
        let rooted: HashSet<(ObjectKind, &str)> = fresh_roots
            .objects
            .values()
            .flat_map(|objects| objects.iter())
            .map(|(kind, name)| (*kind, name.as_str()))
            .collect();
        let snapshot = Snapshot::merged(
            &self.snapshot,
            |o| dropped.binary_search(&(o.kind, o.name.as_str())).is_err(),
            &fresh,
            |o| rooted.contains(&(o.kind, o.name.as_str())),
        );
        let mut roots = self.roots.clone();
        roots.objects.retain(|root, _| !stale.contains(root));
        roots.targets.retain(|_, root| !stale.contains(root));
        roots.granted.retain(|root| !stale.contains(root));
        roots.objects.extend(fresh_roots.objects);
        roots.targets.extend(fresh_roots.targets);
        roots.granted.extend(fresh_roots.granted);
        (snapshot, roots)
    }

    fn next(
        &self,
        snapshot: Snapshot,
        roots: Roots,
        scope: Scope,
        changes: Changes,
        read_again: Option<usize>,
    ) -> TrackedSnapshot {
        TrackedSnapshot {
            snapshot,
            roots,
            seen: changes.seen,
            mark: changes.mark,
            options: self.options.clone(),
            scope,
            read_again,
        }
    }
}
