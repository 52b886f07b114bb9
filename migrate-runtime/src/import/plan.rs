//! The file plan: the tool's directory read, every version mapped, every file converted and
//! given its header, the result read back by our own reader (in a scratch directory), and
//! checked against what `--dir` already holds. Nothing is written here.

use super::convert::{self, convert};
use super::report::{FilesReport, MappedMigration, Problem};
use super::version;
use super::{ImportError, Tool};
use crate::model::{DOWN_FILE, ReadErrors, UP_FILE};
use crate::{LockState, MigrationSet, Version, verify};
use std::fs;
use std::path::{Path, PathBuf};

/// One migration to write.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    pub(crate) mapped: MappedMigration,
    pub(crate) up: String,
    pub(crate) down: Option<String>,
}

/// Everything an import of files would write, checked.
#[derive(Debug)]
pub(crate) struct FilesPlan {
    pub(crate) migrations: Vec<Planned>,
    pub(crate) report: FilesReport,
    /// The planned migrations written to a scratch directory and read back by our reader.
    pub(crate) staged: MigrationSet,
    _scratch: tempfile::TempDir,
}

/// Plans the import of `source` (a `tool` directory) into `dir`.
pub(crate) fn plan(tool: Tool, source: &Path, dir: &Path) -> Result<FilesPlan, ImportError> {
    if !source.is_dir() {
        return Err(ImportError::Invalid {
            message: format!("{} is not a directory", source.display()),
            problems: vec![Problem::general(format!(
                "give the directory that holds {tool}'s migrations"
            ))],
        });
    }
    if let (Ok(a), Ok(b)) = (source.canonicalize(), dir.canonicalize())
        && a == b
    {
        let help = if tool == Tool::Prisma {
            "cargo-migrate reads a Prisma directory as it is: leave it where it is and adopt the \
             history with `cargo migrate import --from prisma` (no source directory)"
        } else {
            "import into another directory (--dir), then replace this one with it"
        };
        return Err(ImportError::Invalid {
            message: format!(
                "{} is both the source and the target (--dir): an import never changes the \
                 source's files",
                source.display()
            ),
            problems: vec![Problem::general(help)],
        });
    }
    let set = tool.read(source).map_err(|problems| ImportError::Source {
        dir: source.to_path_buf(),
        problems,
    })?;
    let source_error = |problems| ImportError::Source {
        dir: source.to_path_buf(),
        problems,
    };
    if set.migrations.is_empty() && set.problems.is_empty() {
        return Err(ImportError::Invalid {
            message: format!("there is no {tool} migration in {}", source.display()),
            problems: vec![Problem::general(format!(
                "{tool}'s migrations are {}",
                tool.layout()
            ))],
        });
    }
    let versions = version::map(tool, &set.migrations).map_err(|p| source_error(vec![p]))?;
    let mut problems = set.problems.clone();
    let mut migrations = Vec::new();
    for (m, mapped) in set.migrations.iter().zip(versions) {
        let up = convert(tool, &m.up, UP_FILE);
        let down = m
            .down
            .as_ref()
            .map(|d| convert(tool, d, DOWN_FILE))
            .transpose();
        let (up, down) = match (up, down) {
            (Ok(up), Ok(down)) => (up, down),
            (up, down) => {
                problems.extend(up.err());
                problems.extend(down.err());
                continue;
            }
        };
        let name = snake_case(&m.name);
        let folder = format!("{}_{name}", mapped.version);
        let up_text = format!(
            "{}{}",
            convert::header(
                tool,
                &m.up.origin,
                &m.checksums,
                up.no_transaction.then_some("no-transaction"),
                convert::eol(&m.up.sql),
            ),
            up.body
        );
        let down_text = match (&m.down, &down) {
            (Some(file), Some(d)) => {
                let directive = match (up.no_transaction, d.no_transaction) {
                    (false, true) => Some("no-transaction"),
                    (true, false) => Some("transaction"),
                    _ => None,
                };
                Some(format!(
                    "{}{}",
                    convert::header(tool, &file.origin, &[], directive, convert::eol(&file.sql)),
                    d.body
                ))
            }
            _ => None,
        };
        let mut notes = m.notes.clone();
        if down_text.is_none() && tool.keeps_downs() {
            notes
                .push("it has no down migration: `cargo migrate down` refuses to revert it".into());
        }
        let mut conversions = up.conversions;
        conversions.extend(down.into_iter().flat_map(|d| d.conversions));
        migrations.push(Planned {
            mapped: MappedMigration {
                source: m.origin.clone(),
                source_version: m.key.clone(),
                version: mapped.version,
                name,
                folder,
                mapping: mapped.note,
                no_transaction: up.no_transaction,
                down: down_text.is_some(),
                conversions,
                notes,
                already_imported: false,
            },
            up: up_text,
            down: down_text,
        });
    }
    if !problems.is_empty() {
        return Err(source_error(problems));
    }
    let scratch = tempfile::Builder::new()
        .prefix("cargo-migrate-import-")
        .tempdir()
        .map_err(|e| ImportError::Write {
            message: format!("cannot create a scratch directory: {e}"),
        })?;
    for p in &migrations {
        write_folder(&scratch.path().join(&p.mapped.folder), p).map_err(|e| {
            ImportError::Write {
                message: format!("cannot write to a scratch directory: {e}"),
            }
        })?;
    }
    let staged = MigrationSet::read(scratch.path())
        .map_err(|errors| source_error(read_back(&errors, &migrations, scratch.path())))?;
    let mut general = Vec::new();
    let without_down = migrations.iter().filter(|p| p.down.is_none()).count();
    if without_down > 0 && !tool.keeps_downs() {
        let which = if without_down == migrations.len() {
            format!("none of the {without_down} migrations has a down.sql")
        } else {
            format!(
                "{without_down} of the {} migrations have no down.sql",
                migrations.len()
            )
        };
        general.push(format!(
            "{which} ({tool} keeps no down migrations): `cargo migrate down` refuses to revert \
             them"
        ));
    }
    let mut plan = FilesPlan {
        report: FilesReport {
            migrations: Vec::new(),
            skipped: set.skipped,
            notes: general,
            warnings: set.warnings,
            sealed: Vec::new(),
            written: false,
        },
        migrations,
        staged,
        _scratch: scratch,
    };
    check_target(dir, &mut plan)?;
    plan.report.migrations = plan.migrations.iter().map(|p| p.mapped.clone()).collect();
    Ok(plan)
}

/// Writes one migration folder (creating it).
pub(crate) fn write_folder(folder: &Path, p: &Planned) -> std::io::Result<()> {
    fs::create_dir(folder)?;
    fs::write(folder.join(UP_FILE), &p.up)?;
    if let Some(down) = &p.down {
        fs::write(folder.join(DOWN_FILE), down)?;
    }
    Ok(())
}

/// Reading errors of the converted files, named after the tool's files they came from.
fn read_back(errors: &ReadErrors, planned: &[Planned], scratch: &Path) -> Vec<Problem> {
    errors
        .0
        .iter()
        .map(|e| {
            let rel = e.path.strip_prefix(scratch).unwrap_or(&e.path);
            let folder = rel
                .components()
                .next()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .unwrap_or_default();
            let source = planned
                .iter()
                .find(|p| p.mapped.folder == folder)
                .map_or(folder.clone(), |p| p.mapped.source.clone());
            Problem {
                path: Some(source),
                line: None,
                message: format!(
                    "once converted, {}{}: {}",
                    rel.display(),
                    e.line.map_or(String::new(), |l| format!(":{l}")),
                    e.problem
                ),
                help: e.problem.help(),
            }
        })
        .collect()
}

/// `--dir` must not exist, be empty, or hold only sealed migrations older than everything the
/// import adds; migrations it already holds exactly as this import writes them (an earlier
/// import) are kept. Nothing is ever overwritten.
fn check_target(dir: &Path, plan: &mut FilesPlan) -> Result<(), ImportError> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        return Err(ImportError::Target {
            dir: dir.to_path_buf(),
            problems: vec![Problem::general("it exists and is not a directory")],
        });
    }
    let existing = MigrationSet::read(dir).map_err(ImportError::Read)?;
    let state = LockState::load(dir).map_err(|e| ImportError::Write {
        message: format!("cannot read {}: {e}", crate::lockfile::path(dir).display()),
    })?;
    let findings = verify(&existing, &state);
    if !findings.is_empty() {
        return Err(ImportError::Lock(findings));
    }
    let mut problems = Vec::new();
    for p in &mut plan.migrations {
        let Some(e) = existing.get(p.mapped.version) else {
            continue;
        };
        let same = e.folder() == p.mapped.folder
            && e.up.sql == p.up
            && e.down.as_ref().map(|d| &d.sql) == p.down.as_ref();
        if same {
            p.mapped.already_imported = true;
        } else {
            let message = if e.folder() == p.mapped.folder {
                "already exists, with other content".to_string()
            } else {
                format!(
                    "its version {} is taken by {}",
                    p.mapped.version,
                    e.folder()
                )
            };
            problems.push(
                Problem::at(p.mapped.folder.clone(), None, message)
                    .help("an import never overwrites: import into an empty directory"),
            );
        }
    }
    let newest: Option<(Version, String)> =
        existing.migrations.last().map(|m| (m.version, m.folder()));
    if let Some((newest, folder)) = newest
        && let Some(p) = plan
            .migrations
            .iter()
            .find(|p| !p.mapped.already_imported && p.mapped.version <= newest)
        && problems.is_empty()
    {
        problems.push(
            Problem::at(
                p.mapped.folder.clone(),
                None,
                format!(
                    "would be added before {folder}, which --dir already holds: an import only \
                     adds migrations newer than the ones there"
                ),
            )
            .help("import into an empty directory"),
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ImportError::Target {
            dir: dir.to_path_buf(),
            problems,
        })
    }
}

/// A name in lowercase snake_case: words split at anything but letters and digits and at
/// lower-to-upper case changes (`AddPosts` → `add_posts`, `create users` → `create_users`);
/// `migration` when nothing is left.
pub(crate) fn snake_case(name: &str) -> String {
    match crate::model::snake_words(name) {
        words if words.is_empty() => "migration".into(),
        words => words,
    }
}

/// Where files go, for messages: the folder of one migration.
pub(crate) fn folder_path(dir: &Path, p: &Planned) -> PathBuf {
    dir.join(&p.mapped.folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_snake_case() {
        for (name, snake) in [
            ("create_users", "create_users"),
            ("AddPosts", "add_posts"),
            ("create users", "create_users"),
            ("add-index--on_Users", "add_index_on_users"),
            ("2fa", "2fa"),
            ("__", "migration"),
            ("", "migration"),
            ("créer_table", "cr_er_table"),
        ] {
            assert_eq!(snake_case(name), snake, "{name}");
        }
    }
}
