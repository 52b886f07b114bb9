//! History adoption, the pure part: what the tool's table says of each imported migration,
//! checked against the files (checksums, names) and against our own history, gives one verdict
//! per migration. Tested without a database; `Engine::import_history` reads the tables and
//! records the result.

use super::Tool;
use super::convert::read_header;
use super::report::{Adoption, AdoptionState, Problem};
use crate::model::{Migration, MigrationSet};
use crate::{Checksum, Version};
use std::collections::HashMap;

/// One row of the tool's history, in tool-neutral terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceRow {
    /// What the tool records as the migration's identity (a version, Prisma's folder name).
    pub(crate) key: String,
    /// The name the tool recorded, when it checks names (refinery).
    pub(crate) name: Option<String>,
    /// The checksum the tool recorded, when it keeps one.
    pub(crate) checksum: Option<String>,
    /// When it ran, as the tool recorded it.
    pub(crate) applied_at: Option<String>,
    /// Applied, or failed.
    pub(crate) status: RowStatus,
    /// The row also stands for every migration before it (golang-migrate's single version,
    /// Atlas's baseline).
    pub(crate) through: bool,
}

/// What a tool's row says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RowStatus {
    /// Applied.
    Applied,
    /// Failed or unfinished, in the tool's words.
    Failed(String),
}

/// A migration of ours imported from the tool, with what the tool knows it by.
#[derive(Debug, Clone)]
pub(crate) struct Imported<'a> {
    pub(crate) migration: &'a Migration,
    /// The tool's file, relative to its directory.
    pub(crate) origin: String,
    /// What the tool's history records for it.
    pub(crate) key: String,
    /// The name the tool records (refinery).
    pub(crate) name: Option<String>,
    /// What the tool may have recorded as its checksum.
    pub(crate) checksums: Vec<String>,
}

/// A version our history records, in its newest state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recorded {
    pub(crate) version: Version,
    /// `applied`, `failed`, `rolled_back`.
    pub(crate) state: &'static str,
    pub(crate) checksum: Checksum,
}

/// The migrations of a directory that were imported from `tool`, read from their headers. A
/// Prisma directory used as it is (no headers) counts as imported from Prisma: its folders are
/// Prisma's own.
pub(crate) fn imported(tool: Tool, set: &MigrationSet) -> Result<Vec<Imported<'_>>, Vec<Problem>> {
    let mut out: Vec<Imported<'_>> = Vec::new();
    let mut problems = Vec::new();
    for m in &set.migrations {
        let (origin, checksums) = match read_header(&m.up.sql) {
            Some(h) if h.tool == tool => (h.origin, h.checksums),
            Some(_) => continue,
            None if tool == Tool::Prisma => (
                format!("{}/migration.sql", m.folder()),
                super::prisma::checksums_of(&m.up.sql),
            ),
            None => continue,
        };
        let Some((key, name)) = tool.key_of(&origin) else {
            problems.push(Problem::at(
                format!("{}/migration.sql", m.folder()),
                None,
                format!("its header names `{origin}`, which is not a {tool} migration file"),
            ));
            continue;
        };
        if let Some(other) = out.iter().find(|o| o.key == key) {
            problems.push(Problem::at(
                m.folder(),
                None,
                format!(
                    "imported from {tool} {origin}, which {tool} records as {key}, like {}",
                    other.migration.folder()
                ),
            ));
            continue;
        }
        out.push(Imported {
            migration: m,
            origin: tool.migration_origin(&origin),
            key,
            name,
            checksums,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// What the tool's row says of one imported migration.
#[derive(Clone, Copy)]
enum Says<'r> {
    Nothing,
    Applied(&'r SourceRow),
    /// Applied by a row that stands for the migrations before it.
    Covered(&'r SourceRow),
    Failed(&'r SourceRow, &'r str),
}

/// One verdict per imported migration (in order), then one per row of the tool that has no
/// imported migration.
pub(crate) fn decide(
    tool: Tool,
    imported: &[Imported<'_>],
    rows: &[SourceRow],
    ours: &[Recorded],
) -> Vec<Adoption> {
    let index: HashMap<&str, usize> = imported
        .iter()
        .enumerate()
        .map(|(i, m)| (m.key.as_str(), i))
        .collect();
    let mut says = vec![Says::Nothing; imported.len()];
    let mut orphans = Vec::new();
    for row in rows {
        let Some(&i) = index.get(row.key.as_str()) else {
            orphans.push(row);
            continue;
        };
        if row.through {
            for s in says.iter_mut().take(i) {
                if matches!(s, Says::Nothing) {
                    *s = Says::Covered(row);
                }
            }
        }
        says[i] = match &row.status {
            RowStatus::Applied => Says::Applied(row),
            RowStatus::Failed(why) => Says::Failed(row, why),
        };
    }
    let last = says.iter().rposition(|s| !matches!(s, Says::Nothing));
    let mut out = Vec::with_capacity(imported.len() + orphans.len());
    for (i, m) in imported.iter().enumerate() {
        let mut a = Adoption {
            version: Some(m.migration.version),
            migration: m.migration.folder(),
            source: Some(m.origin.clone()),
            state: AdoptionState::Import,
            applied_at: None,
            message: None,
            help: None,
        };
        match says[i] {
            Says::Nothing if last.is_some_and(|l| i < l) => refuse(
                &mut a,
                AdoptionState::NotApplied,
                format!("{tool} did not apply it, though it applied a later migration"),
                format!(
                    "apply it with {tool} first (or remove it, if it is not wanted), then import \
                     the history again"
                ),
            ),
            Says::Nothing => a.state = AdoptionState::Pending,
            Says::Covered(row) => a.applied_at = row.applied_at.clone(),
            Says::Failed(row, why) => {
                a.applied_at = row.applied_at.clone();
                refuse(
                    &mut a,
                    AdoptionState::Failed,
                    why.to_string(),
                    failed_help(tool),
                );
            }
            Says::Applied(row) => {
                a.applied_at = row.applied_at.clone();
                check(tool, m, row, &mut a);
            }
        }
        if let Some(r) = ours.iter().find(|r| r.version == m.migration.version) {
            let same = r.state == "applied" && r.checksum == m.migration.up.checksum;
            match a.state {
                AdoptionState::Import | AdoptionState::Pending | AdoptionState::NotApplied
                    if same =>
                {
                    a.state = AdoptionState::AlreadyRecorded;
                    a.message = None;
                    a.help = None;
                }
                AdoptionState::Import | AdoptionState::Pending if !same => {
                    let state = if r.state == "applied" {
                        "applied with other SQL"
                    } else {
                        r.state
                    };
                    refuse(
                        &mut a,
                        AdoptionState::Conflict,
                        format!("cargo-migrate's history already records it as {state}"),
                        "`cargo migrate status` shows it; settle it there first (`cargo migrate \
                         resolve`), then import the history again"
                            .into(),
                    );
                }
                _ => {}
            }
        }
        out.push(a);
    }
    for row in orphans {
        let mut a = Adoption {
            version: None,
            migration: format!("{tool} {}", row.key),
            source: None,
            state: AdoptionState::NoFile,
            applied_at: row.applied_at.clone(),
            message: None,
            help: None,
        };
        let did = match row.status {
            RowStatus::Applied => "applied",
            RowStatus::Failed(_) => "ran",
        };
        refuse(
            &mut a,
            AdoptionState::NoFile,
            format!("{tool} {did} {}, but no imported migration has it", row.key),
            format!(
                "import the files this database was migrated with (a {tool} migration that \
                 cannot be imported, such as one written in Rust, shows here too); cargo-migrate \
                 cannot adopt a migration it has no file for"
            ),
        );
        out.push(a);
    }
    out
}

fn refuse(a: &mut Adoption, state: AdoptionState, message: String, help: String) {
    a.state = state;
    a.message = Some(message);
    a.help = Some(help);
}

/// Name and checksum of an applied migration.
fn check(tool: Tool, m: &Imported<'_>, row: &SourceRow, a: &mut Adoption) {
    if let (Some(recorded), Some(ours)) = (&row.name, &m.name)
        && recorded != ours
    {
        refuse(
            a,
            AdoptionState::NameMismatch,
            format!(
                "{tool} applied {} as `{recorded}`, but the imported {} is `{ours}`",
                m.key, m.origin
            ),
            format!(
                "{tool} itself would refuse this (a divergent migration): import the files this \
                 database was migrated with"
            ),
        );
        return;
    }
    let Some(recorded) = &row.checksum else {
        return;
    };
    if m.checksums.iter().any(|c| same_checksum(tool, recorded, c)) {
        return;
    }
    let message = match m.checksums.first() {
        Some(expected) => format!(
            "{tool} recorded checksum {}, but the imported {} has {}",
            short(recorded),
            m.origin,
            short(expected)
        ),
        None => format!(
            "{tool} recorded checksum {}, but the imported {} keeps none to compare with (was \
             its header edited?)",
            short(recorded),
            m.origin
        ),
    };
    refuse(
        a,
        AdoptionState::ChecksumMismatch,
        message,
        format!(
            "{} changed after {tool} applied it: import the version that was applied (from \
             version control), or apply the change with {tool} first; then import again",
            m.origin
        ),
    );
}

/// Whether a recorded checksum is one of ours; Prisma's table may hold checksums written
/// without zero padding by old Prisma versions.
fn same_checksum(tool: Tool, recorded: &str, ours: &str) -> bool {
    let recorded = recorded.trim();
    recorded.eq_ignore_ascii_case(ours)
        || (tool == Tool::Prisma
            && recorded.len() != ours.len()
            && recorded.eq_ignore_ascii_case(&unpadded(ours)))
}

fn unpadded(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).unwrap_or("");
            s.strip_prefix('0')
                .filter(|r| !r.is_empty())
                .unwrap_or(s)
                .to_string()
        })
        .collect()
}

/// The first 12 characters, for messages.
fn short(checksum: &str) -> String {
    if checksum.chars().count() > 12 {
        format!("{}…", checksum.chars().take(12).collect::<String>())
    } else {
        checksum.to_string()
    }
}

fn failed_help(tool: Tool) -> String {
    let how = match tool {
        Tool::Prisma => {
            "finish it by hand and run `prisma migrate resolve --applied <name>`, or undo it and \
             run `prisma migrate resolve --rolled-back <name>`"
        }
        Tool::Sqlx => {
            "repair the database by hand, then set `success = true` on its row (or delete the row \
             and run `sqlx migrate run`)"
        }
        Tool::GolangMigrate => {
            "repair the database by hand, then `migrate force <version>` (the last version that \
             is fully applied)"
        }
        Tool::Atlas => "finish it with `atlas migrate apply`, or mark it with `atlas migrate set`",
        Tool::Diesel | Tool::Refinery => "finish or undo it with the tool",
    };
    format!(
        "{how}; then import the history again (the tool's table is never changed by cargo-migrate)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Directives, SqlFile};

    fn migration(v: i64) -> Migration {
        Migration {
            version: Version::new(v).unwrap(),
            name: format!("m{v}"),
            dir: format!("migrations/{v:014}_m{v}").into(),
            up: SqlFile::new("migration.sql".into(), format!("SELECT {v};")),
            down: None,
            directives: Directives::default(),
            down_no_transaction: false,
        }
    }

    fn row(key: &str, status: RowStatus) -> SourceRow {
        SourceRow {
            key: key.into(),
            name: None,
            checksum: None,
            applied_at: None,
            status,
            through: false,
        }
    }

    fn states(adoptions: &[Adoption]) -> Vec<(String, &'static str)> {
        adoptions
            .iter()
            .map(|a| (a.migration.clone(), a.state.as_str()))
            .collect()
    }

    #[test]
    fn applied_pending_gaps_and_rows_without_files() {
        let ms: Vec<Migration> = (1..=5).map(migration).collect();
        let imported: Vec<Imported<'_>> = ms
            .iter()
            .map(|m| Imported {
                migration: m,
                origin: format!("{}_m.up.sql", m.version.get()),
                key: m.version.get().to_string(),
                name: None,
                checksums: vec![],
            })
            .collect();
        let rows = vec![
            row("1", RowStatus::Applied),
            row("3", RowStatus::Applied),
            row("9", RowStatus::Applied),
        ];
        let a = decide(Tool::Diesel, &imported, &rows, &[]);
        assert_eq!(
            states(&a),
            [
                ("00000000000001_m1".into(), "import"),
                ("00000000000002_m2".into(), "not_applied"),
                ("00000000000003_m3".into(), "import"),
                ("00000000000004_m4".into(), "pending"),
                ("00000000000005_m5".into(), "pending"),
                ("diesel 9".into(), "no_file"),
            ]
        );
        assert_eq!(
            a[5].message.as_deref(),
            Some("diesel applied 9, but no imported migration has it")
        );
    }

    #[test]
    fn a_version_row_covers_what_comes_before_it_and_dirty_refuses() {
        let ms: Vec<Migration> = (1..=3).map(migration).collect();
        let imported: Vec<Imported<'_>> = ms
            .iter()
            .map(|m| Imported {
                migration: m,
                origin: String::new(),
                key: m.version.get().to_string(),
                name: None,
                checksums: vec![],
            })
            .collect();
        let mut r = row("2", RowStatus::Applied);
        r.through = true;
        let a = decide(Tool::GolangMigrate, &imported, &[r.clone()], &[]);
        assert_eq!(
            a.iter().map(|a| a.state.as_str()).collect::<Vec<_>>(),
            ["import", "import", "pending"]
        );
        r.status = RowStatus::Failed("dirty".into());
        let a = decide(Tool::GolangMigrate, &imported, &[r], &[]);
        assert_eq!(
            a.iter().map(|a| a.state.as_str()).collect::<Vec<_>>(),
            ["import", "failed", "pending"]
        );
    }

    #[test]
    fn checksums_names_and_our_history() {
        let ms: Vec<Migration> = (1..=3).map(migration).collect();
        let imported: Vec<Imported<'_>> = ms
            .iter()
            .map(|m| Imported {
                migration: m,
                origin: format!("V{}__m.sql", m.version.get()),
                key: m.version.get().to_string(),
                name: Some("m".into()),
                checksums: vec!["00ab".into()],
            })
            .collect();
        let mut rows: Vec<SourceRow> = (1..=3)
            .map(|v| SourceRow {
                name: Some("m".into()),
                checksum: Some("00AB".into()),
                ..row(&v.to_string(), RowStatus::Applied)
            })
            .collect();
        rows[1].checksum = Some("ffff".into());
        rows[2].name = Some("other".into());
        let ours = vec![Recorded {
            version: ms[0].version,
            state: "applied",
            checksum: ms[0].up.checksum,
        }];
        let a = decide(Tool::Refinery, &imported, &rows, &ours);
        assert_eq!(
            a.iter().map(|a| a.state.as_str()).collect::<Vec<_>>(),
            ["already_recorded", "checksum_mismatch", "name_mismatch"]
        );
        assert_eq!(
            a[1].message.as_deref(),
            Some("refinery recorded checksum ffff, but the imported V2__m.sql has 00ab")
        );
    }

    #[test]
    fn prisma_accepts_old_unpadded_checksums() {
        assert_eq!(unpadded("0a0b10ff"), "ab10ff");
        assert!(same_checksum(Tool::Prisma, "ab10ff", "0a0b10ff"));
        assert!(!same_checksum(Tool::Sqlx, "ab10ff", "0a0b10ff"));
    }
}
