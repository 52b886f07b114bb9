//! Creating a new migration folder (`cargo migrate new`).

use super::{DOWN_FILE, UP_FILE, parse_folder_name, validate_new_name};
use crate::Version;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use time::{OffsetDateTime, PrimitiveDateTime};

/// What `cargo migrate new` asks for.
#[derive(Debug, Clone, Default)]
pub struct NewMigration<'a> {
    /// The snake_case name.
    pub name: &'a str,
    /// Write `-- migrate:no-transaction` into the header.
    pub no_transaction: bool,
    /// Write `-- migrate:irreversible` and no `down.sql`.
    pub irreversible: bool,
    /// Write a backfill (`-- migrate:backfill ...` and a bounded `UPDATE`), and a backfill
    /// `down.sql`.
    pub backfill: bool,
    /// With `backfill`: a backfill in Rust (`... rust`, no statement; the batches run code
    /// registered for the migration), and a `down.sql` that runs the code's `down`.
    pub rust: bool,
}

/// Why a migration could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The name is not snake_case; the message suggests one.
    #[error("{0}")]
    InvalidName(String),
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// What we were writing.
        path: PathBuf,
        /// Why it failed.
        source: io::Error,
    },
}

/// Creates `<dir>/<version>_<name>/` with `migration.sql` and `down.sql` and returns the folder.
///
/// The version is `now` (UTC), or one second after the newest existing version when that is not
/// earlier, so that two calls within the same second, or a clock behind the newest migration,
/// never collide or produce an out-of-order migration. The folder appears atomically (written
/// under a temporary name, then renamed), and concurrent calls are serialised with a file lock.
///
/// ```
/// use migrate_runtime::model::{NewMigration, create_migration};
/// let dir = tempfile::tempdir().unwrap();
/// let now = time::macros::datetime!(2026-11-21 09:30:00 UTC);
/// let new = NewMigration { name: "create_users", ..Default::default() };
/// let a = create_migration(dir.path(), &new, now).unwrap();
/// let b = create_migration(dir.path(), &new, now).unwrap();
/// assert!(a.ends_with("20261121093000_create_users"));
/// assert!(b.ends_with("20261121093001_create_users"));
/// ```
pub fn create_migration(
    dir: &Path,
    new: &NewMigration<'_>,
    now: OffsetDateTime,
) -> Result<PathBuf, CreateError> {
    validate_new_name(new.name).map_err(CreateError::InvalidName)?;
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CreateError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let _guard = lock_dir(dir).map_err(io_err(dir))?;

    let newest = existing_versions(dir)
        .map_err(io_err(dir))?
        .into_iter()
        .max();
    let now = now.to_offset(time::UtcOffset::UTC);
    let mut version = version_of(PrimitiveDateTime::new(now.date(), now.time()));
    if let Some(newest) = newest
        && version <= newest
    {
        version = next_second(newest);
    }
    let folder = format!("{version}_{}", new.name);
    let target = dir.join(&folder);
    let staging = tempfile::Builder::new()
        .prefix(".new-migration-")
        .tempdir_in(dir)
        .map_err(io_err(dir))?;

    let mut up = format!("-- Migration {folder}\n");
    if new.no_transaction {
        up.push_str(
            "-- migrate:no-transaction\n\
             -- Runs statement by statement, outside a transaction (for CREATE INDEX CONCURRENTLY).\n\
             -- A failed run resumes at the failed statement: make each statement re-runnable\n\
             -- (IF NOT EXISTS).\n",
        );
    }
    if new.irreversible {
        up.push_str("-- migrate:irreversible\n-- There is no down.sql: say here why it cannot be reverted.\n");
    }
    if new.backfill && new.rust {
        up.push_str(&rust_backfill_up(new.name));
    } else if new.backfill {
        up.push_str(BACKFILL_UP);
    } else {
        up.push_str("-- Write the up migration below.\n\n");
    }
    let up_path = staging.path().join(UP_FILE);
    fs::write(&up_path, up).map_err(io_err(&up_path))?;
    if !new.irreversible {
        let mut down =
            format!("-- Reverts {folder}: undo what migration.sql does, newest change first.\n\n");
        if new.backfill {
            let body = if new.rust {
                RUST_BACKFILL_DOWN
            } else {
                BACKFILL_DOWN
            };
            down = format!("-- Reverts {folder}, batch by batch like it.\n{body}");
        }
        let down_path = staging.path().join(DOWN_FILE);
        fs::write(&down_path, down).map_err(io_err(&down_path))?;
    }
    let staging = staging.keep();
    fs::rename(&staging, &target).map_err(|e| {
        let _ = fs::remove_dir_all(&staging);
        CreateError::Io {
            path: target.clone(),
            source: e,
        }
    })?;
    Ok(target)
}

/// The body of a new backfill: a working example to edit (it reads as a backfill, so the
/// directory stays readable while it is a draft).
const BACKFILL_UP: &str = "\
-- A backfill: the key of `table` is walked in batches of `batch` keys, each batch in its own
-- short transaction; after each batch it sleeps `pause`, plus `nice` times that batch's
-- duration (so it rests more when the server is busy; nice=0 turns that off).
-- `:batch_start` and `:batch_end` are the first and last key of each batch (bound as
-- parameters). Keep it to one UPDATE, DELETE or INSERT ... SELECT, and no schema changes.
-- Optional: max_replica_lag=<duration>.
-- migrate:backfill table=my_table key=id batch=1000 pause=0ms nice=0.4
UPDATE my_table SET new_column = old_column
WHERE new_column IS NULL AND id BETWEEN :batch_start AND :batch_end;
";

/// The down.sql of a new backfill.
const BACKFILL_DOWN: &str = "\
-- migrate:backfill table=my_table key=id batch=1000 pause=0ms nice=0.4
UPDATE my_table SET new_column = NULL
WHERE id BETWEEN :batch_start AND :batch_end;
";

/// The body of a new Rust backfill: the directive, and how to register its code.
fn rust_backfill_up(name: &str) -> String {
    let constant = super::constant_names(&[("", name)]).remove(0);
    format!(
        "\
-- A backfill in Rust: the key of `table` is walked in batches of `batch` keys, each batch in
-- its own short transaction, and each batch runs `up` of the code registered for this
-- migration (a type implementing migrate_runtime::engine::RustBackfill):
--   migrations::MIGRATOR.with_backfill(migrations::{constant}, MyBackfill).apply(&mut client)?;
-- (the constant is named after the migration; `apply` names it if that ever differs). It runs
-- from your program: `cargo migrate apply` refuses to reach it. No statement in this file.
-- migrate:backfill table=my_table key=id batch=1000 pause=0ms nice=0.4 rust
"
    )
}

/// The down.sql of a new Rust backfill: the batches run the registered code's `down`.
const RUST_BACKFILL_DOWN: &str = "\
-- migrate:backfill table=my_table key=id batch=1000 pause=0ms nice=0.4 rust
";

fn existing_versions(dir: &Path) -> io::Result<Vec<Version>> {
    let mut versions = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        if let Some((v, _)) = name.to_str().and_then(parse_folder_name) {
            versions.push(v);
        }
    }
    Ok(versions)
}

fn version_of(t: PrimitiveDateTime) -> Version {
    crate::timestamp::digits(t)
        .parse()
        .unwrap_or(Version::new(0).expect("zero is a version"))
}

/// One second after `v` on the calendar; for a version that is no timestamp (diesel's
/// `00000000000000`), the next number.
fn next_second(v: Version) -> Version {
    next_version(v).unwrap_or(v)
}

/// The version right after `v`: one second later for a timestamp (across days, months and
/// years), else the next number; `None` past the largest version.
pub(crate) fn next_version(v: Version) -> Option<Version> {
    if let Some(t) = crate::timestamp::parse_digits(&v.to_string())
        && let Some(later) = t.checked_add(time::Duration::SECOND)
    {
        return crate::timestamp::digits(later)
            .parse::<i64>()
            .ok()
            .and_then(Version::new);
    }
    Version::new(v.get() + 1)
}

/// Serialises concurrent `new` calls on the same directory (advisory lock on the directory).
#[cfg(unix)]
fn lock_dir(dir: &Path) -> io::Result<fs::File> {
    let file = fs::File::open(dir)?;
    file.lock()?;
    Ok(file)
}

#[cfg(not(unix))]
fn lock_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn next_second_rolls_over_the_calendar() {
        let v = |s: &str| s.parse::<Version>().unwrap();
        assert_eq!(next_second(v("20261231235959")), v("20270101000000"));
        assert_eq!(next_second(v("00000000000000")), v("00000000000001"));
    }

    #[test]
    fn new_migration_sorts_after_a_future_one() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("20300101000000_future")).unwrap();
        let new = NewMigration {
            name: "later",
            ..Default::default()
        };
        let p = create_migration(dir.path(), &new, datetime!(2026-11-21 09:30:00 UTC)).unwrap();
        assert!(p.ends_with("20300101000001_later"), "{}", p.display());
    }

    #[test]
    fn irreversible_has_no_down_and_directives_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let new = NewMigration {
            name: "idx",
            no_transaction: true,
            irreversible: true,
            ..Default::default()
        };
        let p = create_migration(dir.path(), &new, datetime!(2026-11-21 09:30:00 UTC)).unwrap();
        assert!(!p.join(DOWN_FILE).exists());
        let set = crate::MigrationSet::read(dir.path()).unwrap();
        let d = set.migrations[0].directives;
        assert!(d.no_transaction && d.irreversible);
    }

    #[test]
    fn invalid_name_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let new = NewMigration {
            name: "Bad Name",
            ..Default::default()
        };
        assert!(create_migration(dir.path(), &new, OffsetDateTime::now_utc()).is_err());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
