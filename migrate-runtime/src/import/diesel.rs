//! diesel: `<version>_<name>/up.sql` and `down.sql` folders, with an optional `metadata.toml`
//! (`run_in_transaction = false`). A project mixes version formats (`20190101000000`,
//! `2019-01-01-000000`, `2019-01-01-000000-0000`, diesel's own
//! `00000000000000_diesel_initial_setup`): diesel's version is the folder name up to the first
//! `_` with its dashes removed, and diesel orders migrations by that text, which is not the
//! order of the folder names. Files beside the folders are ignored by diesel. Its table
//! `__diesel_schema_migrations` records each version and when it ran; no checksums.

use super::adopt::{RowStatus, SourceRow};
use super::report::Problem;
use super::source::{
    SourceFile, SourceMigration, SourceSet, TxMode, entries, join, not_a_migration, read_text, skip,
};
use std::path::Path;

/// The table diesel records its migrations in (in the schema of the connection).
pub(crate) const TABLE: &str = "__diesel_schema_migrations";

/// The columns read from it.
pub(crate) const COLUMNS: &[&str] = &["version", "run_on"];

/// diesel's version of a migration folder: up to the first `_`, dashes removed.
///
/// ```text
/// 2019-01-01-000000-0000_create_users -> 201901010000000000
/// ```
fn version_of(folder: &str) -> String {
    folder.split('_').next().unwrap_or("").replace('-', "")
}

/// Reads a diesel migrations directory.
pub(crate) fn read(dir: &Path) -> Result<SourceSet, Vec<Problem>> {
    let mut set = SourceSet::default();
    let mut problems = Vec::new();
    for e in entries(dir, ".").map_err(|p| vec![p])? {
        if !e.is_dir {
            let expected = "folders `<version>_<name>/` holding up.sql";
            set.skipped
                .push(skip(&e.name, not_a_migration(&e.name, expected)));
            continue;
        }
        let files = match entries(&e.path, &e.name) {
            Ok(files) => files,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        if !files.iter().any(|f| f.name == "up.sql" && !f.is_dir) {
            set.skipped
                .push(skip(format!("{}/", e.name), "not a migration: no up.sql"));
            continue;
        }
        let (mut up, mut down, mut in_transaction) = (None, None, true);
        let mut notes = Vec::new();
        for f in files {
            let shown = join(&e.name, &f.name);
            let read = |problems: &mut Vec<Problem>| match read_text(&f.path, &shown) {
                Ok(sql) => Some((shown.clone(), sql)),
                Err(p) => {
                    problems.push(p);
                    None
                }
            };
            match (f.name.as_str(), f.is_dir) {
                ("up.sql", false) => up = read(&mut problems),
                ("down.sql", false) => down = read(&mut problems),
                ("metadata.toml", false) => {
                    if let Some((_, toml)) = read(&mut problems) {
                        match run_in_transaction(&toml) {
                            Ok((value, said)) => {
                                in_transaction = value;
                                if !said {
                                    notes.push(
                                        "its metadata.toml does not set run_in_transaction, \
                                         which diesel reads as false"
                                            .to_string(),
                                    );
                                }
                            }
                            Err(message) => {
                                problems.push(Problem::at(shown.clone(), None, message))
                            }
                        }
                    }
                }
                _ => set.skipped.push(skip(
                    shown.clone(),
                    "not part of a diesel migration (up.sql, down.sql, metadata.toml)",
                )),
            }
        }
        let Some((up_origin, up_sql)) = up else {
            continue;
        };
        let mode = if in_transaction {
            TxMode::Wrapped
        } else {
            TxMode::NoTransaction
        };
        let version = version_of(&e.name);
        let name = e.name.split_once('_').map_or("", |(_, n)| n).to_string();
        set.migrations.push(SourceMigration {
            origin: e.name.clone(),
            key: version.clone(),
            version_text: version,
            name,
            up: SourceFile {
                origin: up_origin,
                sql: up_sql,
                mode,
                directive_line: None,
            },
            down: down.map(|(origin, sql)| SourceFile {
                origin,
                sql,
                mode,
                directive_line: None,
            }),
            checksums: Vec::new(),
            notes,
        });
    }
    // diesel's order: its version text (a stable sort keeps folder order for equal texts,
    // which are refused below anyway).
    set.migrations.sort_by(|a, b| a.key.cmp(&b.key));
    for pair in set.migrations.windows(2) {
        if pair[0].key == pair[1].key {
            problems.push(
                Problem::at(
                    pair[1].origin.clone(),
                    None,
                    format!(
                        "diesel reads the same version {} as for {}",
                        pair[1].key, pair[0].origin
                    ),
                )
                .help("diesel's table keeps one row per version: rename one of the folders"),
            );
        }
    }
    set.problems = problems;
    Ok(set)
}

/// `run_in_transaction` from a `metadata.toml` (its top-level key), and whether the file says
/// it at all: diesel reads a metadata.toml without it as `false`.
fn run_in_transaction(toml: &str) -> Result<(bool, bool), String> {
    for line in toml.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.starts_with('[') {
            break;
        }
        if let Some((key, value)) = line.split_once('=')
            && key.trim() == "run_in_transaction"
        {
            return match value.trim() {
                "true" => Ok((true, true)),
                "false" => Ok((false, true)),
                other => Err(format!(
                    "`run_in_transaction = {other}`: expected true or false"
                )),
            };
        }
    }
    Ok((false, false))
}

/// What diesel's table records for an imported file (`<folder>/up.sql`).
pub(crate) fn key_of(origin: &str) -> Option<(String, Option<String>)> {
    let folder = origin.split('/').next()?;
    (!folder.is_empty()).then(|| (version_of(folder), None))
}

/// Reads `__diesel_schema_migrations`: a row is an applied migration (diesel records it in the
/// migration's transaction, or after a non-transactional one succeeded).
pub(crate) fn history(
    client: &mut impl postgres::GenericClient,
    table: &str,
) -> Result<Vec<SourceRow>, postgres::Error> {
    let rows = client.query(
        &format!(
            "SELECT version::text, to_char(run_on, 'YYYY-MM-DD HH24:MI:SS')
             FROM {table} ORDER BY version"
        ),
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| SourceRow {
            key: r.get(0),
            name: None,
            checksum: None,
            applied_at: r.get(1),
            status: RowStatus::Applied,
            through: false,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_lose_their_dashes() {
        for (folder, version) in [
            ("2019-01-01-000000_create_users", "20190101000000"),
            ("2019-01-01-000000-0000_add_index", "201901010000000000"),
            ("00000000000000_diesel_initial_setup", "00000000000000"),
            ("20190102000000_AddPosts", "20190102000000"),
        ] {
            assert_eq!(version_of(folder), version);
        }
    }

    #[test]
    fn metadata_toml_run_in_transaction() {
        assert_eq!(
            run_in_transaction("run_in_transaction = false\n"),
            Ok((false, true))
        );
        assert_eq!(
            run_in_transaction("# comment\nrun_in_transaction=true # yes\n"),
            Ok((true, true))
        );
        assert_eq!(
            run_in_transaction("other = 1\n[x]\nrun_in_transaction = true\n"),
            Ok((false, false))
        );
        assert!(run_in_transaction("run_in_transaction = \"no\"").is_err());
    }
}
