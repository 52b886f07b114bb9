//! `import`'s report (the mapping table and the history verdicts) and its errors.

use super::error::{CliError, Problem, finding_json};
use super::{Format, print_json};
use anstream::println;
use migrate_runtime::import::{
    AdoptionState, FilesReport, HistoryReport, ImportError, ImportReport, Problem as ImportProblem,
};
use migrate_runtime::ops::{OpError, Untouched};
use serde_json::json;
use std::path::Path;

/// Prints the report.
pub fn print(format: Format, report: &ImportReport, database: Option<String>) {
    match format {
        Format::Text => {
            if let Some(files) = &report.files {
                print_files(report, files);
            }
            if let Some(history) = &report.history {
                print_history(report, history);
            }
        }
        Format::Json => {
            let mut v = serde_json::to_value(report).unwrap_or_else(|_| json!({}));
            v["ok"] = json!(true);
            v["database"] = json!(database);
            print_json(&v);
        }
    }
}

/// The mapping table on stdout (one line per migration, with what changed below it), then a
/// summary on stderr.
fn print_files(report: &ImportReport, files: &FilesReport) {
    let width = files
        .migrations
        .iter()
        .map(|m| m.source.chars().count())
        .max()
        .unwrap_or(0);
    for m in &files.migrations {
        let kept = if m.already_imported {
            "  (already imported)"
        } else {
            ""
        };
        println!("{:<width$}  ->  {}{kept}", m.source, m.folder);
        if let Some(why) = &m.mapping {
            println!("    version: {why}");
        }
        for c in &m.conversions {
            println!("    converted {}: {}", c.file, c.message);
        }
        for n in &m.notes {
            println!("    note: {n}");
        }
    }
    for s in &files.skipped {
        println!("skipped {}: {}", s.path, s.reason);
    }
    for n in &files.notes {
        println!("note: {n}");
    }
    for w in &files.warnings {
        crate::output::warning(w);
    }
    let tool = report.tool;
    let source = report
        .source
        .as_deref()
        .map_or_else(String::new, |s| format!(" from {}", s.display()));
    let dir = report.dir.display();
    let new = files
        .migrations
        .iter()
        .filter(|m| !m.already_imported)
        .count();
    let kept = files.migrations.len() - new;
    let kept = if kept > 0 {
        format!(" ({kept} already there)")
    } else {
        String::new()
    };
    if new == 0 {
        crate::info!(
            "Nothing new to import: all {} {tool} migrations{source} are in {dir} already.",
            files.migrations.len()
        );
    } else if report.dry_run {
        crate::info!(
            "Dry run: {new} {tool} migration{} would be imported{source} into {dir}{kept}; \
             nothing was written.",
            plural(new)
        );
    } else {
        crate::info!(
            "Imported {new} {tool} migration{}{source} into {dir}{kept}; sealed {} in {}.",
            plural(new),
            files.sealed.len(),
            migrate_runtime::lockfile::path(Path::new(&report.dir)).display()
        );
    }
}

/// Each migration's verdict on stdout, then a summary on stderr.
fn print_history(report: &ImportReport, history: &HistoryReport) {
    let tool = report.tool;
    let width = history
        .migrations
        .iter()
        .map(|a| a.migration.chars().count())
        .max()
        .unwrap_or(0);
    for a in &history.migrations {
        let detail = match a.state {
            AdoptionState::Import => match &a.applied_at {
                Some(at) => format!("applied by {tool} {at}"),
                None => format!("applied by {tool}"),
            },
            AdoptionState::AlreadyRecorded => "already in cargo-migrate's history".into(),
            AdoptionState::Pending => {
                format!("not applied by {tool}: `cargo migrate apply` runs it")
            }
            _ => a.message.clone().unwrap_or_default(),
        };
        println!("{:<16} {:<width$}  {detail}", a.state.as_str(), a.migration);
    }
    let count = |s: AdoptionState| history.migrations.iter().filter(|a| a.state == s).count();
    let pending = match count(AdoptionState::Pending) {
        0 => String::new(),
        n => format!(
            " {n} pending migration{} not applied by {tool} (`cargo migrate apply` runs {}).",
            plural(n),
            if n == 1 { "it" } else { "them" }
        ),
    };
    if report.dry_run {
        let n = count(AdoptionState::Import);
        crate::info!(
            "Dry run: {n} migration{} would be recorded as applied in {}; nothing was \
             written.{pending}",
            plural(n),
            history.history_table
        );
    } else {
        crate::info!(
            "Recorded {} migration{} as applied in {} (action import); {tool}'s table {} was \
             only read.{pending}",
            history.recorded,
            plural(history.recorded),
            history.history_table,
            history.table
        );
        if !history.sealed.is_empty() {
            crate::info!(
                "Sealed {} migration{} now recorded as applied.",
                history.sealed.len(),
                plural(history.sealed.len())
            );
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// An import error as a CLI error: what went wrong, each problem (file and line, or
/// migration) with what to do.
pub fn error(e: ImportError, database: Option<String>) -> CliError {
    let headline = e.to_string();
    let problems = |dir: Option<&Path>, problems: &[ImportProblem]| -> Vec<Problem> {
        problems
            .iter()
            .map(|p| {
                let place = match (dir, &p.path) {
                    (Some(dir), Some(_)) => format!("{}/{p}", dir.display()),
                    _ => p.to_string(),
                };
                Problem {
                    place: Some(place),
                    help: p.help.clone(),
                }
            })
            .collect()
    };
    let mut err = match e {
        ImportError::Read(errors) => {
            return CliError::from(OpError::Read {
                errors,
                untouched: Some(Untouched::NothingWritten),
            });
        }
        ImportError::Lock(findings) => {
            let mut err = CliError::new(headline);
            err.problems = findings.iter().map(Problem::from).collect();
            err.json = json!({ "findings": findings.iter().map(finding_json).collect::<Vec<_>>() });
            err
        }
        ImportError::Source { dir, problems: p } => {
            let mut err = CliError::new(headline);
            err.problems = problems(Some(&dir), &p);
            err.json = json!({ "problems": p });
            err
        }
        ImportError::Target { dir, problems: p } => {
            let mut err = CliError::new(headline);
            err.problems = problems(Some(&dir), &p);
            err.json = json!({ "problems": p });
            err
        }
        ImportError::Invalid {
            message,
            problems: p,
        } => {
            let mut err = CliError::new(message);
            err.problems = p
                .iter()
                .map(|p| match &p.path {
                    Some(_) => Problem {
                        place: Some(p.to_string()),
                        help: p.help.clone(),
                    },
                    None => Problem {
                        place: None,
                        help: Some(p.message.clone()),
                    },
                })
                .collect();
            err.json = json!({ "problems": p });
            err
        }
        ImportError::Refused(report) => {
            let mut err = CliError::new(headline);
            if let Some(h) = &report.history {
                err.problems = h
                    .refusals()
                    .map(|a| Problem {
                        place: Some(format!(
                            "{}: {}",
                            a.migration,
                            a.message.clone().unwrap_or_default()
                        )),
                        help: a.help.clone(),
                    })
                    .collect();
                err.notes
                    .push(format!("{}'s table {} was only read", report.tool, h.table));
            }
            let mut v = serde_json::to_value(&*report).unwrap_or_else(|_| json!({}));
            v["database"] = json!(database);
            err.json = v;
            err
        }
        ImportError::SourceTable { message, help } => CliError::new(message).help(help),
        other => CliError::new(other.to_string()),
    };
    err.notes.insert(0, "nothing was written".into());
    err
}
