//! Prisma: `<timestamp>_<name>/migration.sql` folders (our own layout) and
//! `migration_lock.toml`. Prisma orders migrations by folder name and sends each file as one
//! script, without a transaction of its own. Its table `_prisma_migrations` keeps the SHA-256
//! of each `migration.sql` and, per attempt, when it started, finished or was rolled back.

use super::adopt::{RowStatus, SourceRow};
use super::report::Problem;
use super::source::{
    SourceFile, SourceMigration, SourceSet, TxMode, entries, hex, join, not_a_migration, read_text,
    skip,
};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The table Prisma records its migrations in (in the schema of the connection).
pub(crate) const TABLE: &str = "_prisma_migrations";

/// The columns read from it.
pub(crate) const COLUMNS: &[&str] = &[
    "migration_name",
    "checksum",
    "finished_at",
    "rolled_back_at",
    "logs",
    "started_at",
];

/// Reads a Prisma migrations directory.
pub(crate) fn read(dir: &Path) -> Result<SourceSet, Vec<Problem>> {
    let mut set = SourceSet::default();
    let mut problems = Vec::new();
    for e in entries(dir, ".").map_err(|p| vec![p])? {
        if !e.is_dir {
            if e.name == "migration_lock.toml" {
                match read_text(&e.path, &e.name).map(|t| provider(&t)) {
                    Ok(Some(p)) if p != "postgresql" && p != "postgres" => problems.push(
                        Problem::at(
                            &e.name,
                            None,
                            format!("the provider is `{p}`, not PostgreSQL"),
                        )
                        .help("cargo-migrate applies PostgreSQL migrations only"),
                    ),
                    Ok(_) => set
                        .skipped
                        .push(skip(&e.name, "Prisma's lock file (not needed)")),
                    Err(p) => problems.push(p),
                }
            } else {
                let expected = "folders `<timestamp>_<name>/` holding migration.sql";
                set.skipped
                    .push(skip(&e.name, not_a_migration(&e.name, expected)));
            }
            continue;
        }
        let files = match entries(&e.path, &e.name) {
            Ok(files) => files,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        if !files.iter().any(|f| f.name == "migration.sql" && !f.is_dir) {
            set.skipped.push(skip(
                format!("{}/", e.name),
                "not a migration: no migration.sql",
            ));
            continue;
        }
        let mut up = None;
        let mut down = None;
        for f in files {
            let shown = join(&e.name, &f.name);
            match (f.name.as_str(), f.is_dir) {
                ("migration.sql", false) => match read_text(&f.path, &shown) {
                    Ok(sql) => up = Some((shown, sql)),
                    Err(p) => problems.push(p),
                },
                ("down.sql", false) => match read_text(&f.path, &shown) {
                    Ok(sql) => down = Some((shown, sql)),
                    Err(p) => problems.push(p),
                },
                _ => set.skipped.push(skip(
                    shown,
                    "not part of a Prisma migration (migration.sql)",
                )),
            }
        }
        let Some((origin, sql)) = up else { continue };
        let (digits, name) = match e.name.split_once('_') {
            Some((d, n)) if d.bytes().all(|b| b.is_ascii_digit()) => (d, n),
            _ => ("", e.name.as_str()),
        };
        let mut notes = Vec::new();
        if down.is_some() {
            notes.push("its down.sql, which Prisma never runs, is `cargo migrate down`'s".into());
        }
        set.migrations.push(SourceMigration {
            origin: e.name.clone(),
            key: e.name.clone(),
            version_text: digits.to_string(),
            name: name.to_string(),
            checksums: checksums(&sql),
            up: SourceFile {
                origin,
                sql,
                mode: TxMode::Script,
                directive_line: None,
            },
            down: down.map(|(origin, sql)| SourceFile {
                origin,
                sql,
                mode: TxMode::Script,
                directive_line: None,
            }),
            notes,
        });
    }
    set.problems = problems;
    Ok(set)
}

/// The `provider = "..."` of `migration_lock.toml`.
fn provider(toml: &str) -> Option<String> {
    toml.lines().find_map(|line| {
        let (key, value) = line.split('#').next()?.split_once('=')?;
        (key.trim() == "provider").then(|| value.trim().trim_matches('"').to_string())
    })
}

/// What Prisma may have recorded: the SHA-256 of the file as it is, with CRLF turned into LF,
/// or with LF turned into CRLF (Prisma accepts all three, for checkouts on Windows).
fn checksums(sql: &str) -> Vec<String> {
    let lf = sql.replace("\r\n", "\n");
    let crlf = sql.replace('\n', "\r\n");
    let mut out: Vec<String> = Vec::new();
    for text in [sql, &lf, &crlf] {
        let hex = hex(&Sha256::digest(text.as_bytes()));
        if !out.contains(&hex) {
            out.push(hex);
        }
    }
    out
}

/// What Prisma's table records for an imported file (`<folder>/migration.sql`).
pub(crate) fn key_of(origin: &str) -> Option<(String, Option<String>)> {
    let folder = origin.split('/').next()?;
    (!folder.is_empty()).then(|| (folder.to_string(), None))
}

/// Prisma's checksums for a file of ours that was never converted (a Prisma directory used as
/// it is): the file is the one Prisma ran.
pub(crate) fn checksums_of(sql: &str) -> Vec<String> {
    checksums(sql)
}

/// Reads `_prisma_migrations`: one row per attempt. A migration is applied when an attempt
/// finished and was not rolled back; failed when its last attempt neither finished nor was
/// rolled back (Prisma's P3009 state); attempts marked rolled back are history.
pub(crate) fn history(
    client: &mut impl postgres::GenericClient,
    table: &str,
) -> Result<Vec<SourceRow>, postgres::Error> {
    let rows = client.query(
        &format!(
            "SELECT migration_name::text, checksum::text, finished_at IS NOT NULL,
                    rolled_back_at IS NOT NULL, logs,
                    to_char(coalesce(finished_at, started_at) AT TIME ZONE 'UTC',
                            'YYYY-MM-DD HH24:MI:SS')
             FROM {table} ORDER BY started_at, migration_name"
        ),
        &[],
    )?;
    let mut out: Vec<SourceRow> = Vec::new();
    for r in &rows {
        let name: String = r.get(0);
        let (finished, rolled_back): (bool, bool) = (r.get(2), r.get(3));
        if rolled_back {
            continue;
        }
        let logs: Option<String> = r.get(4);
        let status = if finished {
            RowStatus::Applied
        } else {
            let first = logs
                .as_deref()
                .and_then(|l| l.lines().find(|l| !l.trim().is_empty()))
                .map(|l| format!(": {}", l.trim()))
                .unwrap_or_default();
            RowStatus::Failed(format!(
                "Prisma's last attempt did not finish (finished_at and rolled_back_at are empty){first}"
            ))
        };
        let row = SourceRow {
            key: name.clone(),
            name: None,
            checksum: Some(r.get(1)),
            applied_at: Some(format!("{} UTC", r.get::<_, String>(5))),
            status,
            through: false,
        };
        // A later attempt replaces an earlier one, except that an applied one stays applied.
        match out.iter_mut().find(|o| o.key == name) {
            Some(o) if o.status == RowStatus::Applied => {}
            Some(o) => *o = row,
            None => out.push(row),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_cover_both_line_endings() {
        // printf 'SELECT 1;\n' | sha256sum, and the same with \r\n
        let lf = "b4e0497804e46e0a0b0b8c31975b062152d551bac49c3c2e80932567b4085dcd";
        let crlf = "d3cd5042f97738960d802ad6b3a548dfa18152215118ba18f04493bc6944b0e4";
        assert_eq!(checksums("SELECT 1;\n"), [lf, crlf]);
        assert_eq!(checksums("SELECT 1;\r\n")[..2], [crlf, lf]);
    }

    #[test]
    fn provider_is_read() {
        assert_eq!(
            provider("# Please do not edit\nprovider = \"postgresql\"\n").as_deref(),
            Some("postgresql")
        );
    }
}
