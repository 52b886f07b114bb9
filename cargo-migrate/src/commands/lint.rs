//! `cargo migrate lint [<version>...] [--all] [--format text|json|github]`: zero-downtime checks
//! of the drafts (by default), the named migrations, or all of them. Needs no database.

use crate::cli::LintArgs;
use crate::context::Context;
use crate::context::Format;
use crate::exit::Exit;
use crate::lint_report::{self, counts, finding_json};
use crate::report::{Error, print_json};
use migrate_runtime::Version;
use migrate_runtime::lint::lint;
use serde_json::json;

pub fn run(cx: &Context, args: LintArgs) -> Result<Exit, Error> {
    let (set, state) = cx.read(None)?;
    let config = lint_report::config(cx)?;
    let sealed = lint_report::sealed(&state);
    let (targets, what): (Vec<Version>, &str) = if args.all {
        (
            set.migrations.iter().map(|m| m.version).collect(),
            "migration",
        )
    } else if !args.versions.is_empty() {
        if let Some(v) = args.versions.iter().find(|v| set.get(**v).is_none()) {
            return Err(Error::new(format!(
                "there is no migration {v} in {}",
                cx.dir.display()
            )));
        }
        (args.versions.clone(), "migration")
    } else {
        (lint_report::drafts(&set, &sealed), "draft migration")
    };
    let findings = lint(&set, &targets, &sealed, &config);
    let (errors, warnings) = counts(&findings);
    let exit = if errors > 0 {
        Exit::Problems
    } else {
        Exit::Success
    };
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match cx.format {
        Format::Json => print_json(&json!({
            "ok": errors == 0,
            "exit_code": exit as u8,
            "linted": targets.iter().filter_map(|v| set.get(*v)).map(|m| m.folder()).collect::<Vec<_>>(),
            "findings": findings.iter().map(finding_json).collect::<Vec<_>>(),
            "summary": { "errors": errors, "warnings": warnings },
        })),
        Format::Text => {
            lint_report::print(cx.github, &findings);
            if !cx.github {
                if findings.is_empty() {
                    crate::info!("No problems in {}.", plural(targets.len(), what));
                } else {
                    crate::info!(
                        "{}, {} in {}.",
                        plural(errors, "error"),
                        plural(warnings, "warning"),
                        plural(targets.len(), what)
                    );
                }
            }
        }
    }
    Ok(exit)
}
