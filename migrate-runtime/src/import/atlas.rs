//! Atlas: `<version>_<name>.sql` files at the top of the directory, ordered by file name, and
//! `atlas.sum`, which lists each file with a hash that chains every file before it (SHA-256 of
//! all names and contents so far, base64). Atlas runs each file in a transaction unless its
//! header says `-- atlas:txmode none`. Its table `atlas_schema_revisions` (in the schema of
//! that name) keeps each file's `atlas.sum` hash, how many of its statements ran, and the error.

use super::adopt::{RowStatus, SourceRow};
use super::report::Problem;
use super::source::{
    SourceFile, SourceMigration, SourceSet, TxMode, entries, header_line, not_a_migration,
    read_text, skip,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// The table Atlas records its revisions in.
pub(crate) const TABLE: &str = "atlas_schema_revisions.atlas_schema_revisions";

/// Where Atlas puts it when the connection is bound to a schema.
pub(crate) const TABLE_IN_SCHEMA: &str = "atlas_schema_revisions";

/// The columns read from it.
pub(crate) const COLUMNS: &[&str] = &[
    "version",
    "description",
    "type",
    "applied",
    "total",
    "error",
    "hash",
    "executed_at",
];

const SUM_FILE: &str = "atlas.sum";

fn is_txmode_none(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    matches!(
        words.as_slice(),
        ["--", "atlas:txmode", "none"] | ["--atlas:txmode", "none"]
    )
}

fn is_sum_ignore(sql: &str) -> bool {
    header_line(sql, |t| {
        let words: Vec<&str> = t.split_whitespace().collect();
        matches!(
            words.as_slice(),
            ["--", "atlas:sum", "ignore"] | ["--atlas:sum", "ignore"]
        )
    })
    .is_some()
}

/// Reads an Atlas migrations directory and checks it against `atlas.sum`.
pub(crate) fn read(dir: &Path) -> Result<SourceSet, Vec<Problem>> {
    let mut set = SourceSet::default();
    let mut problems = Vec::new();
    let mut sum: Option<String> = None;
    let mut hasher = Sha256::new();
    let mut hashes: Vec<(String, String)> = Vec::new();
    let mut versions: BTreeMap<String, String> = BTreeMap::new();
    for e in entries(dir, ".").map_err(|p| vec![p])? {
        if e.is_dir {
            set.skipped.push(skip(
                format!("{}/", e.name),
                "not a migration: Atlas reads the top of the directory only",
            ));
            continue;
        }
        if e.name == SUM_FILE {
            match read_text(&e.path, &e.name) {
                Ok(text) => sum = Some(text),
                Err(p) => problems.push(p),
            }
            continue;
        }
        let Some(stem) = e.name.strip_suffix(".sql") else {
            set.skipped.push(skip(
                &e.name,
                not_a_migration(&e.name, "`<version>_<name>.sql` files"),
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
        let (version, name) = stem.split_once('_').unwrap_or((stem, ""));
        if let Some(other) = versions.insert(version.to_string(), e.name.clone()) {
            problems.push(
                Problem::at(
                    &e.name,
                    None,
                    format!("a second file with version {version} ({other})"),
                )
                .help("Atlas keeps one file per version: rename one of them"),
            );
        }
        hasher.update(e.name.as_bytes());
        let mut checksums = Vec::new();
        if !is_sum_ignore(&sql) {
            hasher.update(sql.as_bytes());
            let hash = base64(&hasher.clone().finalize());
            hashes.push((e.name.clone(), hash.clone()));
            checksums.push(hash);
        }
        let directive_line = header_line(&sql, is_txmode_none);
        set.migrations.push(SourceMigration {
            origin: e.name.clone(),
            key: version.to_string(),
            version_text: version.to_string(),
            name: name.to_string(),
            up: SourceFile {
                origin: e.name.clone(),
                mode: if directive_line.is_some() {
                    TxMode::NoTransaction
                } else {
                    TxMode::Wrapped
                },
                directive_line,
                sql,
            },
            down: None,
            checksums,
            notes: Vec::new(),
        });
    }
    match sum {
        Some(text) => check_sum(&text, &hashes, &mut problems),
        None if !set.migrations.is_empty() => set.skipped.push(skip(
            SUM_FILE,
            "missing (Atlas refuses such a directory); the hashes were computed from the files",
        )),
        None => {}
    }
    set.problems = problems;
    Ok(set)
}

/// Compares `atlas.sum` with the hashes of the files, as Atlas does before it applies anything.
fn check_sum(text: &str, hashes: &[(String, String)], problems: &mut Vec<Problem>) {
    let listed: BTreeMap<&str, &str> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (name, hash) = l.trim().rsplit_once(' ')?;
            Some((name.trim(), hash.strip_prefix("h1:").unwrap_or(hash)))
        })
        .collect();
    let help = "Atlas refuses a directory that does not match its atlas.sum: restore the file, or \
                run `atlas migrate hash` if the change is intended, then import again";
    for (name, hash) in hashes {
        match listed.get(name.as_str()) {
            Some(h) if h == hash => {}
            Some(_) => problems.push(
                Problem::at(
                    name,
                    None,
                    "does not match atlas.sum (changed after Atlas hashed it, or a file before \
                     it did)",
                )
                .help(help),
            ),
            None => problems.push(Problem::at(name, None, "is not listed in atlas.sum").help(help)),
        }
    }
    for name in listed.keys() {
        if !hashes.iter().any(|(n, _)| n == name) {
            problems.push(
                Problem::at(
                    SUM_FILE,
                    None,
                    format!("lists {name}, which is not in the directory"),
                )
                .help(help),
            );
        }
    }
}

/// Standard base64 with padding (Go's `base64.StdEncoding`).
fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// What Atlas's table records for an imported file.
pub(crate) fn key_of(origin: &str) -> Option<(String, Option<String>)> {
    let stem = origin.rsplit('/').next()?.strip_suffix(".sql")?;
    let version = stem.split_once('_').map_or(stem, |(v, _)| v);
    Some((version.to_string(), None))
}

/// Reads `atlas_schema_revisions`: a baseline revision stands for itself and every file before
/// it; a revision whose statements did not all run, or that holds an error, failed unless it
/// was marked resolved (`atlas migrate set`).
pub(crate) fn history(
    client: &mut impl postgres::GenericClient,
    table: &str,
) -> Result<Vec<SourceRow>, postgres::Error> {
    const BASELINE: i64 = 1;
    const RESOLVED: i64 = 4;
    let rows = client.query(
        &format!(
            "SELECT version::text, type::bigint, applied::bigint, total::bigint,
                    coalesce(error, ''), hash::text,
                    to_char(executed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
             FROM {table} ORDER BY version"
        ),
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            let kind: i64 = r.get(1);
            let (applied, total): (i64, i64) = (r.get(2), r.get(3));
            let error: String = r.get(4);
            let hash: String = r.get(5);
            let baseline = kind & BASELINE != 0;
            let status = if kind & RESOLVED == 0 && (applied < total || !error.is_empty()) {
                let error = error
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .map(|l| format!(": {}", l.trim()))
                    .unwrap_or_default();
                let statements = if total == 1 {
                    "statement"
                } else {
                    "statements"
                };
                RowStatus::Failed(format!(
                    "Atlas ran {applied} of its {total} {statements}{error}"
                ))
            } else {
                RowStatus::Applied
            };
            SourceRow {
                key: r.get(0),
                name: None,
                checksum: (!hash.is_empty() && !baseline).then_some(hash),
                applied_at: r.get::<_, Option<String>>(6).map(|t| format!("{t} UTC")),
                status,
                through: baseline,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_go_encodes_it() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn txmode_directive() {
        assert!(is_txmode_none("-- atlas:txmode none"));
        assert!(!is_txmode_none("-- atlas:txmode file"));
    }

    #[test]
    fn hashes_chain() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("1_a.sql"), "SELECT 1;\n").unwrap();
        std::fs::write(dir.path().join("2_b.sql"), "SELECT 2;\n").unwrap();
        let set = read(dir.path()).unwrap();
        let mut h = Sha256::new();
        h.update(b"1_a.sql");
        h.update(b"SELECT 1;\n");
        assert_eq!(set.migrations[0].checksums, [base64(&h.clone().finalize())]);
        h.update(b"2_b.sql");
        h.update(b"SELECT 2;\n");
        assert_eq!(set.migrations[1].checksums, [base64(&h.finalize())]);
        assert_eq!(set.skipped[0].path, "atlas.sum");
    }
}
