//! Reading a migrations directory into a [`MigrationSet`]: the one place that knows the layout.

use super::stat_cache::{FolderStamps, StatCache};
use super::{Directives, Migration, MigrationSet, Problem, ReadError, ReadErrors, SqlFile};
use crate::Version;
use std::fs;
use std::path::{Path, PathBuf};

/// Name of the up migration in a migration folder.
pub const UP_FILE: &str = "migration.sql";
/// Name of the optional down migration in a migration folder.
pub const DOWN_FILE: &str = "down.sql";
/// Name of our lock file at the top of the migrations directory.
pub const LOCK_FILE: &str = "migrations.lock";
/// Prisma's lock file; legal at the top of the directory so Prisma projects read as-is.
pub const PRISMA_LOCK_FILE: &str = "migration_lock.toml";

/// What a read keeps of each file's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Texts {
    /// The text, for everything that runs, lints or shows it.
    Keep,
    /// Nothing: checked and hashed, then dropped (the backfill parsed from it too).
    Drop,
}

/// Which migration folders are listed. A listing finds stray files; without one, a folder's
/// two files are opened by name.
#[derive(Clone, Copy)]
pub(super) enum Listing<'a> {
    /// Every folder.
    Every,
    /// Every folder but those of the migrations this says are sealed (by version and name).
    SkipSealed(&'a dyn Fn(Version, &str) -> bool),
}

/// Reads `dir`. With a stat cache (texts dropped), a folder whose stamps match its record is
/// not read at all, and every folder read is remembered.
pub(super) fn read_set(
    dir: &Path,
    texts: Texts,
    mut cache: Option<&mut StatCache>,
    listing: Listing<'_>,
) -> Result<MigrationSet, ReadErrors> {
    let mut errors = Vec::new();
    let err = |errors: &mut Vec<ReadError>, path: &Path, problem| {
        errors.push(ReadError {
            path: path.to_path_buf(),
            line: None,
            problem,
        });
    };
    let entries = match sorted_entries(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ReadErrors(vec![ReadError {
                path: dir.to_path_buf(),
                line: None,
                problem: Problem::MissingDirectory,
            }]));
        }
        Err(e) => return Err(ReadErrors(vec![io_error(dir, &e)])),
    };

    // In name order, which is version order for folder names of 14 digits: kept in a vector
    // (a map of ten thousand migrations would hold twice their size while it is built).
    let mut migrations: Vec<Migration> = Vec::with_capacity(entries.len());
    let mut newest: Option<Version> = None;
    // One buffer for every file's bytes: each file costs an open, its reads and a close.
    let mut buffer = Vec::new();
    for (path, file_name, file_type) in entries {
        if file_name.starts_with('.') {
            continue;
        }
        // The directory listing tells the type of most entries; only a symbolic link (or a
        // file system that does not say) costs a `stat` of its own.
        let is_dir = match file_type.filter(|t| !t.is_symlink()).map_or_else(
            || fs::metadata(&path).map(|m| m.is_dir()),
            |t| Ok(t.is_dir()),
        ) {
            Ok(is_dir) => is_dir,
            Err(e) => {
                err(
                    &mut errors,
                    &path,
                    Problem::Io {
                        message: e.to_string(),
                    },
                );
                continue;
            }
        };
        if !is_dir {
            if file_name != LOCK_FILE && file_name != PRISMA_LOCK_FILE {
                err(&mut errors, &path, Problem::StrayFile);
            }
            continue;
        }
        let Some((version, name)) = super::parse_folder_name(&file_name) else {
            err(
                &mut errors,
                &path,
                Problem::MalformedName {
                    name: file_name.clone(),
                },
            );
            continue;
        };
        let cached = cache
            .as_deref_mut()
            .and_then(|c| c.lookup(&file_name, &path, version, name));
        let migration = match cached {
            Some(m) => m,
            None => {
                // Stamped before it is read: a change made while it is read shows next time
                // as another stamp, or a racy one.
                let stamps = cache.is_some().then(|| FolderStamps::take(&path)).flatten();
                let list = match listing {
                    Listing::Every => true,
                    Listing::SkipSealed(sealed) => !sealed(version, name),
                };
                match read_migration(&path, version, name, texts, list, &mut buffer) {
                    Ok(m) => {
                        if let (Some(cache), Some(stamps)) = (cache.as_deref_mut(), stamps) {
                            cache.record(&file_name, &stamps, &m);
                        }
                        m
                    }
                    Err(mut folder_errors) => {
                        errors.append(&mut folder_errors);
                        continue;
                    }
                }
            }
        };
        // Only a version not newer than every one so far can be a duplicate.
        let first = match newest {
            Some(n) if version <= n => migrations.iter().find(|m| m.version == version),
            _ => None,
        };
        if let Some(first) = first {
            let other = folder_name(&first.dir);
            err(
                &mut errors,
                &path,
                Problem::DuplicateVersion { version, other },
            );
            continue;
        }
        newest = newest.max(Some(version));
        migrations.push(migration);
    }
    if errors.is_empty() {
        // Already sorted unless a name broke the order: checked in one pass, sorted in place
        // (versions are unique; a stable sort would allocate room for every migration).
        migrations.sort_unstable_by_key(|m| m.version);
        Ok(MigrationSet {
            dir: dir.to_path_buf(),
            migrations,
        })
    } else {
        Err(ReadErrors(errors))
    }
}

fn read_migration(
    dir: &Path,
    version: Version,
    name: &str,
    texts: Texts,
    list: bool,
    buffer: &mut Vec<u8>,
) -> Result<Migration, Vec<ReadError>> {
    let mut errors = Vec::new();
    let up_path = dir.join(UP_FILE);
    let down_path = dir.join(DOWN_FILE);
    // Each file read when the listing shows it, or, without a listing, when opening it finds
    // it.
    let (up, down) = if list {
        let (has_up, has_down) = listed(dir, &mut errors).map_err(|e| vec![io_error(dir, &e)])?;
        let read = |has: bool, path: &Path, buffer: &mut Vec<u8>| {
            has.then(|| read_sql(path, buffer)).transpose()
        };
        (
            read(has_up, &up_path, buffer),
            read(has_down, &down_path, buffer),
        )
    } else {
        (
            read_sql_if_present(&up_path, buffer),
            read_sql_if_present(&down_path, buffer),
        )
    };
    let up = match up {
        Ok(Some(up)) => Some(up),
        Ok(None) => {
            errors.push(ReadError {
                path: up_path.clone(),
                line: None,
                problem: Problem::MissingMigrationSql,
            });
            None
        }
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let down = down.map_err(|e| errors.push(e)).ok().flatten();

    let mut directives = Directives::default();
    if let Some(up) = &up {
        if up.sql.trim_start_matches('\u{feff}').trim().is_empty() {
            errors.push(ReadError {
                path: up.path.clone(),
                line: None,
                problem: Problem::EmptyMigration,
            });
        }
        match Directives::for_up(&up.sql) {
            Ok(d) => directives = d,
            Err((line, problem)) => errors.push(ReadError {
                path: up.path.clone(),
                line: Some(line),
                problem,
            }),
        }
        if directives.irreversible && down.is_some() {
            errors.push(ReadError {
                path: down_path.clone(),
                line: None,
                problem: Problem::IrreversibleWithDown,
            });
        }
    }
    let mut down_directives = Directives::default();
    if let Some(down) = &down {
        match Directives::for_down(&down.sql) {
            Ok(d) => down_directives = d,
            Err((line, problem)) => errors.push(ReadError {
                path: down.path.clone(),
                line: Some(line),
                problem,
            }),
        }
    }
    for file in up.iter().chain(down.iter()) {
        if let Err((line, problem)) = file.backfill() {
            errors.push(ReadError {
                path: file.path.clone(),
                line: Some(line),
                problem: problem.clone(),
            });
        }
    }
    let (mut up, mut down) = (up, down);
    if texts == Texts::Drop {
        for file in up.iter_mut().chain(down.iter_mut()) {
            file.sql = String::new();
            file.backfill = None;
        }
    }
    match up {
        Some(up) if errors.is_empty() => Ok(Migration {
            version,
            name: name.to_string(),
            dir: dir.to_path_buf(),
            up,
            down,
            directives,
            down_no_transaction: down_no_transaction(&directives, &down_directives),
        }),
        _ => Err(errors),
    }
}

/// Whether a folder's listing shows `migration.sql` and `down.sql`; every other entry (but
/// hidden ones) is a stray file, added to `errors`.
fn listed(dir: &Path, errors: &mut Vec<ReadError>) -> std::io::Result<(bool, bool)> {
    let mut has_up = false;
    let mut has_down = false;
    for (path, file_name, _) in sorted_entries(dir)? {
        match file_name.as_str() {
            UP_FILE => has_up = true,
            DOWN_FILE => has_down = true,
            f if f.starts_with('.') => {}
            _ => errors.push(ReadError {
                path,
                line: None,
                problem: Problem::StrayFileInMigration,
            }),
        }
    }
    Ok((has_up, has_down))
}

/// Reads a SQL file, checking that it is UTF-8 and hashing it.
fn read_sql(path: &Path, buffer: &mut Vec<u8>) -> Result<SqlFile, ReadError> {
    read_into(path, buffer).map_err(|e| io_error(path, &e))?;
    sql_file(path, buffer)
}

/// [`read_sql`], or `None` when there is no such file.
fn read_sql_if_present(path: &Path, buffer: &mut Vec<u8>) -> Result<Option<SqlFile>, ReadError> {
    match read_into(path, buffer) {
        Ok(()) => sql_file(path, buffer).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path, &e)),
    }
}

/// The file read into `buffer`, checked to be UTF-8 and hashed.
fn sql_file(path: &Path, buffer: &[u8]) -> Result<SqlFile, ReadError> {
    match String::from_utf8(buffer.to_vec()) {
        Ok(sql) => Ok(SqlFile::new(path.to_path_buf(), sql)),
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            Err(ReadError {
                path: path.to_path_buf(),
                line: Some(line),
                problem: Problem::NotUtf8 {
                    column: valid.len() - line_start + 1,
                },
            })
        }
    }
}

fn io_error(path: &Path, e: &std::io::Error) -> ReadError {
    ReadError {
        path: path.to_path_buf(),
        line: None,
        problem: Problem::Io {
            message: e.to_string(),
        },
    }
}

/// A file's bytes into `buffer` (replacing what it held). Unlike `fs::read`, no `stat` to size
/// the allocation: migration files are small, and the buffer is reused from file to file.
fn read_into(path: &Path, buffer: &mut Vec<u8>) -> std::io::Result<()> {
    use std::io::Read;
    let mut file = fs::File::open(path)?;
    buffer.clear();
    // `take` reads through the generic path, which fills the spare capacity without asking
    // the file its size first.
    file.by_ref().take(u64::MAX).read_to_end(buffer)?;
    Ok(())
}

/// A directory's entries with their type when the listing tells it, sorted by name so reading
/// (and every message) is deterministic.
fn sorted_entries(dir: &Path) -> std::io::Result<Vec<(PathBuf, String, Option<fs::FileType>)>> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        entries.push((entry.path(), name, entry.file_type().ok()));
    }
    entries.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(entries)
}

pub(super) fn folder_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// How `down.sql` runs: as `migration.sql` does (one setting for both directions, as diesel's
/// `run_in_transaction` and golang-migrate have it), unless `down.sql` says
/// `-- migrate:no-transaction` or `-- migrate:transaction` itself.
///
/// ```
/// use migrate_runtime::model::{Directives, down_no_transaction};
/// let up = Directives { no_transaction: true, ..Directives::default() };
/// assert!(down_no_transaction(&up, &Directives::default()));
/// assert!(!down_no_transaction(&up, &Directives { transaction: true, ..Directives::default() }));
/// ```
pub fn down_no_transaction(up: &Directives, down: &Directives) -> bool {
    if down.transaction {
        false
    } else {
        down.no_transaction || up.no_transaction
    }
}
