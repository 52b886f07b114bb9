//! The state of every migration: a pure function of the files and the history (newest row per
//! version), tested without a database.

use super::history::{Action, Recorded, Row, RowState};
use crate::model::{Migration, MigrationSet};
use crate::{Checksum, Version};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The state of one migration as `status` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Applied, and the file is unchanged.
    Applied,
    /// Not applied yet, newer than everything applied.
    Pending,
    /// Applied, but migration.sql changed since.
    Edited,
    /// Applied, but its folder is gone.
    Missing,
    /// Its last run failed (or was interrupted).
    Failed,
    /// Not applied, but older than an applied migration (typically from a merged branch).
    OutOfOrder,
    /// Its `down.sql` ran outside a transaction and failed part-way: partly reverted.
    DownFailed,
}

impl State {
    /// Every state, in the order reports list them.
    pub const ALL: [State; 7] = [
        State::Applied,
        State::Pending,
        State::Edited,
        State::Missing,
        State::Failed,
        State::OutOfOrder,
        State::DownFailed,
    ];

    /// The name used in text and JSON.
    ///
    /// ```
    /// assert_eq!(migrate_runtime::engine::State::OutOfOrder.as_str(), "out_of_order");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Pending => "pending",
            State::Edited => "edited",
            State::Missing => "missing",
            State::Failed => "failed",
            State::OutOfOrder => "out_of_order",
            State::DownFailed => "down_failed",
        }
    }

    /// Whether this state is a problem (as opposed to applied or pending).
    ///
    /// ```
    /// use migrate_runtime::engine::State;
    /// assert!(State::Edited.is_problem());
    /// assert!(!State::Pending.is_problem());
    /// ```
    pub fn is_problem(self) -> bool {
        !matches!(self, State::Applied | State::Pending)
    }
}

/// One migration known to the directory or the database, with its newest history row (a
/// whole [`Row`], or a [`StatusRow`](super::history::StatusRow) for `status`).
#[derive(Debug, Clone)]
pub struct Entry<'a, R = Row> {
    /// Its version.
    pub version: Version,
    /// Its name (from the file, else the history).
    pub name: String,
    /// Its state.
    pub state: State,
    /// The file, when present.
    pub migration: Option<&'a Migration>,
    /// The newest history row, when there is one.
    pub row: Option<&'a R>,
}

impl<R> Entry<'_, R> {
    /// The folder (present or not).
    pub fn folder(&self, set: &MigrationSet) -> PathBuf {
        match self.migration {
            Some(m) => m.dir.clone(),
            None => absent_folder(&set.dir, self.version, &self.name),
        }
    }
}

/// Where the folder of a migration the directory does not have would be.
pub(crate) fn absent_folder(dir: &std::path::Path, version: Version, name: &str) -> PathBuf {
    dir.join(crate::model::folder_name(version, name))
}

/// The newest version the history records as applied.
///
/// ```
/// use migrate_runtime::engine::{history::Row, status::newest_applied};
/// assert_eq!(newest_applied::<Row>(&[]), None);
/// ```
pub fn newest_applied<R: Recorded>(rows: &[R]) -> Option<crate::Version> {
    rows.iter()
        .filter(|r| r.state() == RowState::Applied)
        .map(|r| r.version())
        .max()
}

/// Computes the state of every migration, in version order.
pub fn compute<'a, R: Recorded>(set: &'a MigrationSet, rows: &'a [R]) -> Vec<Entry<'a, R>> {
    compute_indexed(set, rows)
        .into_iter()
        .map(|e| {
            let migration = e.migration.map(|i| &set.migrations[i]);
            let row = e.row.map(|i| &rows[i]);
            Entry {
                version: e.version,
                name: e.name(set, rows).to_string(),
                state: e.state,
                migration,
                row,
            }
        })
        .collect()
}

/// One migration's state, with where its file and its newest history row are: what
/// [`compute`] finds, for a caller that takes things out of the set afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Indexed {
    /// Its version.
    pub version: Version,
    /// Its state.
    pub state: State,
    /// The index of its file in the set's migrations, when present.
    pub migration: Option<usize>,
    /// The index of its newest history row, when there is one.
    pub row: Option<usize>,
}

impl Indexed {
    /// Its name: from the file, else the history.
    ///
    /// ```
    /// use migrate_runtime::engine::{history::Row, status::compute_indexed};
    /// # let set = migrate_runtime::MigrationSet { dir: "m".into(), migrations: vec![] };
    /// let rows: Vec<Row> = vec![];
    /// assert!(compute_indexed(&set, &rows).iter().all(|e| !e.name(&set, &rows).is_empty()));
    /// ```
    pub fn name<'a, R: Recorded>(&self, set: &'a MigrationSet, rows: &'a [R]) -> &'a str {
        self.migration
            .map(|i| set.migrations[i].name.as_str())
            .or_else(|| self.row.map(|i| rows[i].name()))
            .unwrap_or_default()
    }
}

/// [`compute`] by position: each state with the index of its file in `set.migrations` and
/// of its row in `rows`, in version order.
///
/// ```
/// use migrate_runtime::engine::{history::Row, status::compute_indexed};
/// # let set = migrate_runtime::MigrationSet { dir: "m".into(), migrations: vec![] };
/// assert!(compute_indexed::<Row>(&set, &[]).is_empty());
/// ```
pub fn compute_indexed<R: Recorded>(set: &MigrationSet, rows: &[R]) -> Vec<Indexed> {
    let mut entries = Vec::with_capacity(set.migrations.len().max(rows.len()));
    each_state(set, rows, |e| entries.push(e));
    entries
}

/// [`compute_indexed`] a state at a time, for a caller that keeps less of each.
pub(crate) fn each_state<R: Recorded>(set: &MigrationSet, rows: &[R], mut f: impl FnMut(Indexed)) {
    let newest_applied = newest_applied(rows);
    for (version, migration, row) in by_version(set, rows) {
        let m = migration.map(|i| &set.migrations[i]);
        let r = row.map(|i| &rows[i]);
        let state = match (m, r.map(|r| (r.state(), r.action()))) {
            (Some(m), Some((RowState::Applied, _))) => {
                if r.is_some_and(|r| r.checksum() == m.up.checksum) {
                    State::Applied
                } else {
                    State::Edited
                }
            }
            (None, Some((RowState::Applied, _))) => State::Missing,
            (_, Some((RowState::Failed, Action::Down))) => State::DownFailed,
            (_, Some((RowState::Failed, _))) => State::Failed,
            (Some(_), None | Some((RowState::RolledBack, _))) => match newest_applied {
                Some(newest) if version < newest => State::OutOfOrder,
                _ => State::Pending,
            },
            (None, None | Some((RowState::RolledBack, _))) => continue,
        };
        f(Indexed {
            version,
            state,
            migration,
            row,
        });
    }
}

/// Every version of the files and of the history, in order, with the index of its file and
/// of its row (the last of each, should a version come twice). The files and a history read
/// from the database are in version order already: they are merged as they are, and a map
/// (tens of bytes a version) is built only for lists in another order.
fn by_version<'a, R: Recorded>(
    set: &'a MigrationSet,
    rows: &'a [R],
) -> Box<dyn Iterator<Item = (Version, Option<usize>, Option<usize>)> + 'a> {
    let files = set.migrations.iter().map(|m| m.version).enumerate();
    let recorded = rows.iter().map(|r| r.version()).enumerate();
    let ascending = |(_, a): &(usize, Version), (_, b): &(usize, Version)| a < b;
    if !(files.clone().is_sorted_by(ascending) && recorded.clone().is_sorted_by(ascending)) {
        let mut map: BTreeMap<Version, (Option<usize>, Option<usize>)> = BTreeMap::new();
        for (i, v) in files {
            map.entry(v).or_default().0 = Some(i);
        }
        for (i, v) in recorded {
            map.entry(v).or_default().1 = Some(i);
        }
        return Box::new(map.into_iter().map(|(v, (m, r))| (v, m, r)));
    }
    let (mut files, mut recorded) = (files.peekable(), recorded.peekable());
    Box::new(std::iter::from_fn(move || {
        let version = match (files.peek(), recorded.peek()) {
            (Some((_, f)), Some((_, r))) => *f.min(r),
            (Some((_, v)), None) | (None, Some((_, v))) => *v,
            (None, None) => return None,
        };
        let file = files.next_if(|(_, v)| *v == version).map(|(i, _)| i);
        let row = recorded.next_if(|(_, v)| *v == version).map(|(i, _)| i);
        Some((version, file, row))
    }))
}

/// Drafts (migrations the lock file does not seal) that the history records as applied with
/// the same SQL: an interrupted `apply` ran them but could not seal them. The next `apply`
/// seals them first.
///
/// ```
/// use migrate_runtime::engine::status::applied_drafts;
/// # let set = migrate_runtime::MigrationSet { dir: "m".into(), migrations: vec![] };
/// assert!(applied_drafts(&set, None, &[]).is_empty());
/// ```
pub fn applied_drafts(
    set: &MigrationSet,
    sealed: Option<&crate::LockFile>,
    rows: &[Row],
) -> Vec<crate::Version> {
    compute(set, rows)
        .iter()
        .filter(|e| e.state == State::Applied)
        .filter(|e| sealed.is_none_or(|l| l.get(e.version).is_none()))
        .map(|e| e.version)
        .collect()
}

/// Checksums of the statements of a SQL file (for resuming no-transaction migrations).
pub fn statement_checksums(sql: &str, statements: &[crate::model::Statement]) -> Vec<String> {
    statement_checksum_values(sql, statements)
        .iter()
        .map(Checksum::to_string)
        .collect()
}

/// [`statement_checksums`] as values (32 bytes each, not a string each: a file can have
/// hundreds of thousands of statements), shared rather than copied.
pub(crate) fn statement_checksum_values(
    sql: &str,
    statements: &[crate::model::Statement],
) -> std::sync::Arc<[Checksum]> {
    statements
        .iter()
        .map(|s| Checksum::of_sql(s.text(sql).as_bytes()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Directives, SqlFile};
    use time::OffsetDateTime;

    fn migration(v: i64, sql: &str) -> Migration {
        Migration {
            version: Version::new(v).unwrap(),
            name: format!("m{v}"),
            dir: format!("migrations/{v}_m{v}").into(),
            up: SqlFile::new("migration.sql".into(), sql.into()),
            down: None,
            directives: Directives::default(),
            down_no_transaction: false,
        }
    }

    fn row(v: i64, sql: &str, state: RowState) -> Row {
        Row {
            id: v,
            version: Version::new(v).unwrap(),
            name: format!("m{v}"),
            action: Action::Apply,
            state,
            checksum: Checksum::of_sql(sql.as_bytes()),
            down_checksum: None,
            sql: sql.into(),
            down_sql: None,
            no_transaction: false,
            irreversible: false,
            statements_total: None,
            statements_applied: 0,
            statement_checksums: vec![],
            started_at: OffsetDateTime::UNIX_EPOCH,
            finished_at: None,
            execution_ms: None,
            error: None,
            error_statement: None,
            note: None,
            applied_by: "postgres".into(),
            client_host: None,
            tool_version: "0".into(),
            backup: None,
            backfill: None,
        }
    }

    #[test]
    fn every_state_from_files_and_history() {
        let set = MigrationSet {
            dir: "migrations".into(),
            migrations: vec![
                migration(1, "SELECT 1;"),
                migration(2, "SELECT 2; -- edited"),
                migration(4, "SELECT 4;"),
                migration(5, "SELECT 5;"),
                migration(6, "SELECT 6;"),
                migration(8, "SELECT 8;"),
                migration(9, "SELECT 9;"),
            ],
        };
        let rows = vec![
            row(1, "SELECT 1;", RowState::Applied),
            row(2, "SELECT 2;", RowState::Applied),
            row(3, "SELECT 3;", RowState::Applied),
            row(5, "SELECT 5;", RowState::Failed),
            row(6, "SELECT 6;", RowState::RolledBack),
            row(7, "SELECT 7;", RowState::RolledBack),
            row(8, "SELECT 8;", RowState::Applied),
        ];
        let states: Vec<(i64, State)> = compute(&set, &rows)
            .iter()
            .map(|e| (e.version.get(), e.state))
            .collect();
        assert_eq!(
            states,
            [
                (1, State::Applied),
                (2, State::Edited),
                (3, State::Missing),
                (4, State::OutOfOrder),
                (5, State::Failed),
                (6, State::OutOfOrder),
                (8, State::Applied),
                (9, State::Pending),
            ]
        );
    }

    #[test]
    fn files_and_history_in_any_order_give_the_states_in_version_order() {
        let set = |order: &[i64]| MigrationSet {
            dir: "migrations".into(),
            migrations: order.iter().map(|v| migration(*v, "SELECT 1;")).collect(),
        };
        let rows = |order: &[i64]| -> Vec<Row> {
            order
                .iter()
                .map(|v| row(*v, "SELECT 1;", RowState::Applied))
                .collect()
        };
        let states = |set: &MigrationSet, rows: &[Row]| -> Vec<(i64, State, bool, bool)> {
            compute_indexed(set, rows)
                .iter()
                .map(|e| {
                    let file = e.migration.map(|i| set.migrations[i].version);
                    let row = e.row.map(|i| rows[i].version);
                    (
                        e.version.get(),
                        e.state,
                        file == Some(e.version),
                        row == Some(e.version),
                    )
                })
                .collect()
        };
        let expected = [
            (1, State::Missing, false, true),
            (2, State::Applied, true, true),
            (3, State::OutOfOrder, true, false),
            (4, State::Applied, true, true),
            (5, State::Pending, true, false),
        ];
        assert_eq!(states(&set(&[2, 3, 4, 5]), &rows(&[1, 2, 4])), expected);
        assert_eq!(states(&set(&[5, 3, 2, 4]), &rows(&[4, 1, 2])), expected);
        assert_eq!(states(&set(&[2, 3, 4, 5]), &rows(&[2, 4, 1])), expected);
    }

    #[test]
    fn state_names_and_which_are_problems() {
        let shown: Vec<(&str, bool)> = State::ALL
            .iter()
            .map(|s| (s.as_str(), s.is_problem()))
            .collect();
        assert_eq!(
            shown,
            [
                ("applied", false),
                ("pending", false),
                ("edited", true),
                ("missing", true),
                ("failed", true),
                ("out_of_order", true),
                ("down_failed", true),
            ]
        );
    }

    #[test]
    fn a_failed_down_is_down_failed_and_its_folder_is_found_present_or_not() {
        let set = MigrationSet {
            dir: "migrations".into(),
            migrations: vec![migration(1, "SELECT 1;")],
        };
        let mut down = row(1, "SELECT 1;", RowState::Failed);
        down.action = Action::Down;
        let rows = vec![down, row(2, "SELECT 2;", RowState::Applied)];
        let entries = compute(&set, &rows);
        let shown: Vec<(State, PathBuf)> =
            entries.iter().map(|e| (e.state, e.folder(&set))).collect();
        assert_eq!(
            shown,
            [
                (State::DownFailed, PathBuf::from("migrations/1_m1")),
                (
                    State::Missing,
                    PathBuf::from("migrations")
                        .join(crate::model::folder_name(Version::new(2).unwrap(), "m2"))
                ),
            ]
        );
    }

    #[test]
    fn newest_applied_counts_applied_rows_only() {
        let rows = vec![
            row(1, "SELECT 1;", RowState::Applied),
            row(3, "SELECT 3;", RowState::Applied),
            row(5, "SELECT 5;", RowState::Failed),
            row(7, "SELECT 7;", RowState::RolledBack),
        ];
        assert_eq!(newest_applied(&rows), Version::new(3));
    }

    #[test]
    fn applied_drafts_are_the_applied_migrations_the_lock_file_does_not_seal() {
        let set = MigrationSet {
            dir: "m".into(),
            migrations: vec![
                migration(1, "SELECT 1;"),
                migration(2, "SELECT 2;"),
                migration(3, "SELECT 3;"),
                migration(4, "SELECT 4;"),
            ],
        };
        let rows = vec![
            row(1, "SELECT 1;", RowState::Applied),
            row(2, "SELECT 2;", RowState::Applied),
            row(3, "SELECT 3; -- other", RowState::Applied),
            row(4, "SELECT 4;", RowState::Failed),
        ];
        let versions =
            |v: &[i64]| -> Vec<Version> { v.iter().map(|v| Version::new(*v).unwrap()).collect() };
        assert_eq!(applied_drafts(&set, None, &rows), versions(&[1, 2]));
        let lock = crate::LockFile::new(vec![crate::LockEntry::of(&set.migrations[0])]);
        assert_eq!(applied_drafts(&set, Some(&lock), &rows), versions(&[2]));
    }

    #[test]
    fn statement_checksums_are_one_per_statement_of_its_text() {
        let file = SqlFile::new("m.sql".into(), "SELECT 1;\nSELECT  2;\n".into());
        let statements = file.statements().unwrap();
        assert_eq!(
            statement_checksums(&file.sql, statements),
            [
                Checksum::of_sql(b"SELECT 1;").to_string(),
                Checksum::of_sql(b"SELECT  2;").to_string(),
            ]
        );
    }

    #[test]
    fn crlf_file_matches_lf_history() {
        let set = MigrationSet {
            dir: "m".into(),
            migrations: vec![migration(1, "SELECT 1;\r\n")],
        };
        let rows = vec![row(1, "SELECT 1;\n", RowState::Applied)];
        assert_eq!(compute(&set, &rows)[0].state, State::Applied);
    }
}
