//! golang-migrate: `<N>_<name>.up.sql` and `<N>_<name>.down.sql` at the top of the directory;
//! N is an unpadded integer (`1` to `120`) or a timestamp, and migrations are ordered
//! numerically. Up and down files are paired by N, so their names may differ. Each file is
//! sent as one script with no transaction of golang-migrate's (files often hold their own
//! `BEGIN`/`COMMIT`). Its table `schema_migrations` has a single row: the version reached, and
//! `dirty` when that migration failed part-way.

use super::adopt::{RowStatus, SourceRow};
use super::report::Problem;
use super::source::{
    SourceFile, SourceMigration, SourceSet, TxMode, entries, not_a_migration, read_text, skip,
};
use std::collections::BTreeMap;
use std::path::Path;

/// The table golang-migrate records its version in (in the schema of the connection).
pub(crate) const TABLE: &str = "schema_migrations";

/// The columns read from it.
pub(crate) const COLUMNS: &[&str] = &["version", "dirty"];

/// A file name's version, name and direction (`true` for up), as golang-migrate reads it:
/// `^([0-9]+)_(.*)\.(down|up)\.(.*)$`.
fn parse(file: &str) -> Option<(&str, &str, bool)> {
    let (digits, rest) = file.split_once('_')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // The last `.up.` or `.down.` (the pattern's first group is greedy).
    let up = rest.rfind(".up.").map(|i| (i, true, 4));
    let down = rest.rfind(".down.").map(|i| (i, false, 6));
    let (at, is_up, len) = match (up, down) {
        (Some(u), Some(d)) => {
            if u.0 > d.0 {
                u
            } else {
                d
            }
        }
        (Some(u), None) => u,
        (None, Some(d)) => d,
        (None, None) => return None,
    };
    if rest.len() == at + len {
        return None;
    }
    Some((digits, &rest[..at], is_up))
}

/// Reads a golang-migrate migrations directory.
pub(crate) fn read(dir: &Path) -> Result<SourceSet, Vec<Problem>> {
    let mut set = SourceSet::default();
    let mut problems = Vec::new();
    let expected = "`<version>_<name>.up.sql` and `.down.sql` files";
    let mut ups: BTreeMap<u64, SourceMigration> = BTreeMap::new();
    let mut downs: BTreeMap<u64, (String, String, String)> = BTreeMap::new();
    for e in entries(dir, ".").map_err(|p| vec![p])? {
        if e.is_dir {
            set.skipped.push(skip(
                format!("{}/", e.name),
                "not a migration: golang-migrate reads the top of the directory only",
            ));
            continue;
        }
        let Some((digits, name, is_up)) = parse(&e.name) else {
            set.skipped
                .push(skip(&e.name, not_a_migration(&e.name, expected)));
            continue;
        };
        let Ok(version) = digits.parse::<u64>() else {
            problems.push(Problem::at(
                &e.name,
                None,
                format!("version {digits} is too large for golang-migrate"),
            ));
            continue;
        };
        let sql = match read_text(&e.path, &e.name) {
            Ok(sql) => sql,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        if !is_up {
            if downs
                .insert(version, (e.name.clone(), name.to_string(), sql))
                .is_some()
            {
                problems.push(duplicate(&e.name, version));
            }
            continue;
        }
        let migration = SourceMigration {
            origin: e.name.clone(),
            key: version.to_string(),
            version_text: digits.to_string(),
            name: name.to_string(),
            up: script(e.name.clone(), sql),
            down: None,
            checksums: Vec::new(),
            notes: Vec::new(),
        };
        if ups.insert(version, migration).is_some() {
            problems.push(duplicate(&e.name, version));
        }
    }
    for (version, (file, name, sql)) in downs {
        match ups.get_mut(&version) {
            Some(up) => {
                if name != up.name {
                    up.notes.push(format!(
                        "its down file {file} has another name; golang-migrate pairs files by \
                         version ({version})"
                    ));
                }
                up.down = Some(script(file, sql));
            }
            None => problems.push(
                Problem::at(
                    file,
                    None,
                    format!("a down file without an up file for version {version}"),
                )
                .help("add its `.up.sql`, or remove it"),
            ),
        }
    }
    set.migrations = ups.into_values().collect();
    set.problems = problems;
    Ok(set)
}

fn script(origin: String, sql: String) -> SourceFile {
    SourceFile {
        origin,
        sql,
        mode: TxMode::Script,
        directive_line: None,
    }
}

fn duplicate(name: &str, version: u64) -> Problem {
    Problem::at(name, None, format!("a second file for version {version}"))
        .help("golang-migrate keeps one up and one down file per version: rename one of them")
}

/// What golang-migrate's table records for an imported file.
pub(crate) fn key_of(origin: &str) -> Option<(String, Option<String>)> {
    let (digits, _, _) = parse(origin.rsplit('/').next()?)?;
    Some((digits.parse::<u64>().ok()?.to_string(), None))
}

/// Reads `schema_migrations`: its row says every migration up to that version is applied, or,
/// when dirty, that this one failed part-way.
pub(crate) fn history(
    client: &mut impl postgres::GenericClient,
    table: &str,
) -> Result<Vec<SourceRow>, postgres::Error> {
    let rows = client.query(
        &format!("SELECT version::bigint, dirty FROM {table} ORDER BY version"),
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            let version: i64 = r.get(0);
            SourceRow {
                key: version.to_string(),
                name: None,
                checksum: None,
                applied_at: None,
                status: if r.get(1) {
                    RowStatus::Failed(format!(
                        "golang-migrate marks the database dirty at version {version}: this \
                         migration failed part-way"
                    ))
                } else {
                    RowStatus::Applied
                },
                through: true,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(parse("7_add_index.up.sql"), Some(("7", "add_index", true)));
        assert_eq!(parse("7_drop_idx.down.sql"), Some(("7", "drop_idx", false)));
        assert_eq!(
            parse("20240101120000_a.up.b.down.sql"),
            Some(("20240101120000", "a.up.b", false))
        );
        assert_eq!(parse("1_x.up."), None);
        assert_eq!(parse("README.md"), None);
        assert_eq!(parse("x_y.up.sql"), None);
    }
}
