//! sqlx: files at the top of the directory, `<version>_<description>.sql`, or reversible
//! `<version>_<description>.up.sql` and `.down.sql`; versions are numbers (often timestamps),
//! ordered numerically. A file whose text starts with `-- no-transaction` (exactly: sqlx uses
//! `starts_with`) runs outside a transaction. Its table `_sqlx_migrations` keeps the SHA-384 of
//! each up file and `success = false` for a no-transaction migration that did not finish.

use super::adopt::{RowStatus, SourceRow};
use super::report::Problem;
use super::source::{
    SourceFile, SourceMigration, SourceSet, TxMode, entries, header_line, hex, not_a_migration,
    read_text, skip,
};
use sha2::{Digest, Sha384};
use std::collections::BTreeMap;
use std::path::Path;

/// The table sqlx records its migrations in (in the schema of the connection).
pub(crate) const TABLE: &str = "_sqlx_migrations";

/// The columns read from it.
pub(crate) const COLUMNS: &[&str] = &[
    "version",
    "description",
    "success",
    "checksum",
    "installed_on",
];

const DIRECTIVE: &str = "-- no-transaction";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Simple,
    Up,
    Down,
}

/// A file name's version, description and kind, as sqlx reads it.
fn parse(name: &str) -> Option<(&str, &str, Kind)> {
    let (version, rest) = name.split_once('_')?;
    if !rest.ends_with(".sql") {
        return None;
    }
    let (description, kind) = if let Some(d) = rest.strip_suffix(".up.sql") {
        (d, Kind::Up)
    } else if let Some(d) = rest.strip_suffix(".down.sql") {
        (d, Kind::Down)
    } else {
        (rest.strip_suffix(".sql").unwrap_or(rest), Kind::Simple)
    };
    Some((version, description, kind))
}

/// Reads a sqlx migrations directory.
pub(crate) fn read(dir: &Path) -> Result<SourceSet, Vec<Problem>> {
    let mut set = SourceSet::default();
    let mut problems = Vec::new();
    let expected = "`<version>_<description>.sql` files (or `.up.sql` and `.down.sql`)";
    let mut ups: BTreeMap<i64, SourceMigration> = BTreeMap::new();
    let mut downs: BTreeMap<i64, SourceFile> = BTreeMap::new();
    for e in entries(dir, ".").map_err(|p| vec![p])? {
        if e.is_dir {
            set.skipped.push(skip(
                format!("{}/", e.name),
                "not a migration: sqlx reads the top of the directory only",
            ));
            continue;
        }
        let Some((digits, description, kind)) = parse(&e.name) else {
            set.skipped
                .push(skip(&e.name, not_a_migration(&e.name, expected)));
            continue;
        };
        let Ok(version) = digits.parse::<i64>() else {
            set.skipped.push(skip(
                &e.name,
                format!("not a migration: `{digits}` is not a version number"),
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
        let (file, note) = source_file(&e.name, sql);
        if kind == Kind::Down {
            if downs.insert(version, file).is_some() {
                problems.push(duplicate(&e.name, version));
            }
            continue;
        }
        let checksums = vec![hex(&Sha384::digest(file.sql.as_bytes()))];
        let migration = SourceMigration {
            origin: e.name.clone(),
            key: version.to_string(),
            version_text: digits.to_string(),
            name: description.to_string(),
            up: file,
            down: None,
            checksums,
            notes: note.into_iter().collect(),
        };
        if ups.insert(version, migration).is_some() {
            problems.push(duplicate(&e.name, version));
        }
    }
    for (version, down) in downs {
        match ups.get_mut(&version) {
            Some(up) => {
                if let Some(note) = down_note(&down) {
                    up.notes.push(note);
                }
                up.down = Some(down);
            }
            None => problems.push(
                Problem::at(
                    down.origin.clone(),
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

fn duplicate(name: &str, version: i64) -> Problem {
    Problem::at(
        name,
        None,
        format!("a second migration with version {version}"),
    )
    .help("sqlx keeps one migration per version: rename one of them")
}

/// A file with its transaction mode, and a note when a `-- no-transaction` comment is there
/// but not where sqlx looks for it.
fn source_file(name: &str, sql: String) -> (SourceFile, Option<String>) {
    let directive = sql.starts_with(DIRECTIVE);
    let note = match header_line(&sql, |t| t == DIRECTIVE) {
        Some(line) if !directive => Some(format!(
            "{name}: `{DIRECTIVE}` on line {line} is not at the very start of the file, so sqlx \
             ran it in a transaction; so does cargo-migrate"
        )),
        _ => None,
    };
    let file = SourceFile {
        origin: name.to_string(),
        mode: if directive {
            TxMode::NoTransaction
        } else {
            TxMode::Wrapped
        },
        directive_line: directive.then_some(1),
        sql,
    };
    (file, note)
}

fn down_note(down: &SourceFile) -> Option<String> {
    let (_, note) = source_file(&down.origin, down.sql.clone());
    note
}

/// What sqlx's table records for an imported file.
pub(crate) fn key_of(origin: &str) -> Option<(String, Option<String>)> {
    let (digits, _, _) = parse(origin.rsplit('/').next()?)?;
    Some((digits.parse::<i64>().ok()?.to_string(), None))
}

/// Reads `_sqlx_migrations`: `success = false` is a migration that did not finish.
pub(crate) fn history(
    client: &mut impl postgres::GenericClient,
    table: &str,
) -> Result<Vec<SourceRow>, postgres::Error> {
    let rows = client.query(
        &format!(
            "SELECT version::bigint, success, encode(checksum, 'hex'),
                    to_char(installed_on AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
             FROM {table} ORDER BY version"
        ),
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| SourceRow {
            key: r.get::<_, i64>(0).to_string(),
            name: None,
            checksum: r.get(2),
            applied_at: r.get::<_, Option<String>>(3).map(|t| format!("{t} UTC")),
            status: if r.get(1) {
                RowStatus::Applied
            } else {
                RowStatus::Failed(
                    "sqlx records it as not finished (success = false): it failed part-way \
                     outside a transaction"
                        .into(),
                )
            },
            through: false,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert!(matches!(
            parse("20240101120000_create_users.up.sql"),
            Some(("20240101120000", "create_users", Kind::Up))
        ));
        assert!(matches!(
            parse("2_drop.down.sql"),
            Some(("2", "drop", Kind::Down))
        ));
        assert!(matches!(
            parse("3_seed data.sql"),
            Some(("3", "seed data", Kind::Simple))
        ));
        assert!(parse("README.md").is_none());
        assert!(parse("schema.sql").is_none());
    }

    #[test]
    fn no_transaction_only_at_the_very_start() {
        let (f, note) = source_file("1_a.sql", "-- no-transaction\nSELECT 1;".into());
        assert_eq!(
            (f.mode, f.directive_line, note),
            (TxMode::NoTransaction, Some(1), None)
        );
        let (f, note) = source_file("1_a.sql", "\n-- no-transaction\nSELECT 1;".into());
        assert_eq!(f.mode, TxMode::Wrapped);
        assert!(note.unwrap().contains("on line 2 is not at the very start"));
    }
}
