//! refinery: `V<N>__<name>.sql` files (and `U<N>__<name>.sql`, "unversioned", ordered with the
//! others), found in the directory and every folder below it, ordered by N. Migrations written
//! in Rust (`V<N>__<name>.rs`) cannot be imported: they are reported, not converted. refinery
//! runs each migration in a transaction. Its table `refinery_schema_history` records the
//! version, the name and a checksum: SipHash-1-3 of the name, the version and the SQL.

use super::adopt::{RowStatus, SourceRow};
use super::report::Problem;
use super::source::{
    SourceFile, SourceMigration, SourceSet, TxMode, entries, join, read_text, skip,
};
use std::collections::BTreeMap;
use std::path::Path;

/// The table refinery records its migrations in (in the schema of the connection).
pub(crate) const TABLE: &str = "refinery_schema_history";

/// The columns read from it.
pub(crate) const COLUMNS: &[&str] = &["version", "name", "applied_on", "checksum"];

/// A file name's prefix (`U` or `V`), version text, name and extension, as refinery reads it:
/// `^[UV](\d+(?:\.\d+)?)__(\w+)\.(rs|sql)$`.
fn parse(file: &str) -> Option<(char, &str, &str, &str)> {
    let prefix = file.chars().next().filter(|c| *c == 'U' || *c == 'V')?;
    let rest = &file[1..];
    let (version, rest) = rest.split_once("__")?;
    let mut parts = version.splitn(2, '.');
    let whole = parts.next()?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || parts.next().is_some_and(|f| !digits(f)) {
        return None;
    }
    let (name, ext) = rest.rsplit_once('.')?;
    if !(ext == "sql" || ext == "rs") || name.is_empty() {
        return None;
    }
    if !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    Some((prefix, version, name, ext))
}

/// Reads a refinery migrations directory (and the folders below it).
pub(crate) fn read(dir: &Path) -> Result<SourceSet, Vec<Problem>> {
    let mut set = SourceSet::default();
    let mut problems = Vec::new();
    let mut found: BTreeMap<i64, SourceMigration> = BTreeMap::new();
    walk(dir, "", &mut set, &mut found, &mut problems);
    set.migrations = found.into_values().collect();
    set.problems = problems;
    Ok(set)
}

fn walk(
    dir: &Path,
    shown: &str,
    set: &mut SourceSet,
    found: &mut BTreeMap<i64, SourceMigration>,
    problems: &mut Vec<Problem>,
) {
    let list = match entries(dir, if shown.is_empty() { "." } else { shown }) {
        Ok(list) => list,
        Err(p) => {
            problems.push(p);
            return;
        }
    };
    for e in list {
        let path = join(shown, &e.name);
        if e.is_dir {
            walk(&e.path, &path, set, found, problems);
            continue;
        }
        let Some((prefix, version_text, name, ext)) = parse(&e.name) else {
            set.skipped.push(skip(
                &path,
                super::source::not_a_migration(
                    &e.name,
                    "`V<version>__<name>.sql` (or `U...`) files",
                ),
            ));
            continue;
        };
        if ext == "rs" {
            set.skipped.push(skip(
                &path,
                "not importable: a migration written in Rust (cargo-migrate imports SQL)",
            ));
            set.warnings.push(format!(
                "{path} is a refinery migration written in Rust, which cannot be imported: the \
                 imported migrations lack what it does; write it as SQL in a new migration \
                 (`cargo migrate new`), or run it from your application"
            ));
            continue;
        }
        let Ok(version) = version_text.parse::<i64>() else {
            problems.push(
                Problem::at(
                    &path,
                    None,
                    format!(
                        "refinery cannot read version `{version_text}` (it expects an integer)"
                    ),
                )
                .help("rename the file with an integer version"),
            );
            continue;
        };
        let sql = match read_text(&e.path, &path) {
            Ok(sql) => sql,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        let mut notes = Vec::new();
        if prefix == 'U' {
            notes.push(
                "refinery's `U` (unversioned) migration: imported at its version, in order with \
                 the others"
                    .to_string(),
            );
        }
        let mut checksums = Vec::new();
        if let Ok(v32) = i32::try_from(version) {
            checksums.push(checksum(name, &v32.to_le_bytes(), &sql).to_string());
        }
        // With refinery's `int8-versions` feature the version is hashed as an i64.
        checksums.push(checksum(name, &version.to_le_bytes(), &sql).to_string());
        let migration = SourceMigration {
            origin: path.clone(),
            key: version.to_string(),
            version_text: version_text.to_string(),
            name: name.to_string(),
            up: SourceFile {
                origin: path.clone(),
                sql,
                mode: TxMode::Wrapped,
                directive_line: None,
            },
            down: None,
            checksums,
            notes,
        };
        if let Some(other) = found.insert(version, migration) {
            problems.push(
                Problem::at(
                    &path,
                    None,
                    format!(
                        "a second migration with version {version} ({})",
                        other.origin
                    ),
                )
                .help("refinery keeps one migration per version: rename one of them"),
            );
        }
    }
}

/// refinery's checksum: SipHash-1-3 (keys 0) of the name, the version and the SQL, each
/// written as Rust's `Hash` writes them (a string's bytes then `0xff`; an integer's bytes).
fn checksum(name: &str, version: &[u8], sql: &str) -> u64 {
    let mut bytes = Vec::with_capacity(name.len() + sql.len() + 10);
    bytes.extend_from_slice(name.as_bytes());
    bytes.push(0xff);
    bytes.extend_from_slice(version);
    bytes.extend_from_slice(sql.as_bytes());
    bytes.push(0xff);
    siphash13(&bytes)
}

/// SipHash-1-3 with both keys 0 (what Rust's `DefaultHasher` used when refinery wrote it).
fn siphash13(data: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = siphasher::sip::SipHasher13::new_with_keys(0, 0);
    h.write(data);
    h.finish()
}

/// What refinery's table records for an imported file: its version and its name.
pub(crate) fn key_of(origin: &str) -> Option<(String, Option<String>)> {
    let (_, version, name, _) = parse(origin.rsplit('/').next()?)?;
    Some((
        version.parse::<i64>().ok()?.to_string(),
        Some(name.to_string()),
    ))
}

/// Reads `refinery_schema_history`: a row is an applied migration (refinery records it in the
/// migration's transaction).
pub(crate) fn history(
    client: &mut impl postgres::GenericClient,
    table: &str,
) -> Result<Vec<SourceRow>, postgres::Error> {
    let rows = client.query(
        &format!(
            "SELECT version::bigint, name::text, applied_on::text, checksum::text
             FROM {table} ORDER BY version"
        ),
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| SourceRow {
            key: r.get::<_, i64>(0).to_string(),
            name: r.get(1),
            checksum: r.get(3),
            applied_at: r.get::<_, Option<String>>(2).map(|t| utc(&t)),
            status: RowStatus::Applied,
            through: false,
        })
        .collect())
}

/// refinery's `applied_on` (RFC 3339 text) as the other tools' times are shown.
fn utc(text: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(|t| {
            let t = t.to_offset(time::UtcOffset::UTC);
            let t = time::PrimitiveDateTime::new(t.date(), t.time());
            format!(
                "{} UTC",
                crate::timestamp::written(t, ["-", "-", " ", ":", ":"])
            )
        })
        .unwrap_or_else(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_refinery() {
        // Values printed by the `siphasher` crate refinery uses, hashing as refinery does (the
        // integration tests compare with refinery itself).
        assert_eq!(siphash13(b""), 0xd1fb_a762_150c_532c);
        assert_eq!(
            siphash13(b"hello world, this is sip"),
            0x04c6_4b2b_fef3_a884
        );
        assert_eq!(
            checksum("initial", &1i32.to_le_bytes(), "CREATE TABLE t (id int);\n"),
            1_459_393_547_224_997_786
        );
    }

    #[test]
    fn applied_on_is_shown_in_utc() {
        assert_eq!(
            utc("2024-05-01T12:00:00.123456+02:00"),
            "2024-05-01 10:00:00 UTC"
        );
        assert_eq!(utc("yesterday"), "yesterday");
    }

    #[test]
    fn file_names() {
        assert_eq!(parse("V1__initial.sql"), Some(('V', "1", "initial", "sql")));
        assert_eq!(parse("U3__seed.rs"), Some(('U', "3", "seed", "rs")));
        assert_eq!(parse("V1.1__x.sql"), Some(('V', "1.1", "x", "sql")));
        assert_eq!(parse("V1_x.sql"), None);
        assert_eq!(parse("mod.rs"), None);
        assert_eq!(parse("V2__a.txt"), None);
    }
}
