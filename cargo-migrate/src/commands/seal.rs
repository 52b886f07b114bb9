//! `cargo migrate seal [--check] [--force <version>]`: seals drafts into migrations.lock, or
//! checks the seals for CI.

use crate::cli::SealArgs;
use crate::context::Context;
use crate::context::Format;
use crate::exit::Exit;
use crate::lint_report;
use crate::report::{Error, finding_json, print_findings, print_json};
use migrate_runtime::{LockState, MigrationSet, SealOptions, lockfile, seal, verify};
use serde_json::json;

pub fn run(cx: &Context, args: SealArgs) -> Result<Exit, Error> {
    let (set, state) = cx.read(Some("nothing was written"))?;
    let lock_path = lockfile::path(&cx.dir);
    if args.check {
        return check(cx, &set, &state);
    }
    let options = SealOptions {
        force: args.force.iter().copied().collect(),
        allow_out_of_order: args.allow_out_of_order,
    };
    let outcome = match seal(&set, &state, &options) {
        Ok(outcome) => outcome,
        Err(refused) => {
            let mut e = Error::new("nothing was sealed")
                .note(format!("{} was not changed", lock_path.display()));
            e.problems = refused
                .findings
                .iter()
                .map(|f| (f.to_string(), Some(f.help())))
                .collect();
            for v in &refused.useless_force {
                let why = match set.get(*v) {
                    Some(_) => {
                        format!("--force {v}: migration {v} is intact; there is nothing to re-seal")
                    }
                    None => {
                        format!("--force {v}: no migration {v} in the directory or the lock file")
                    }
                };
                e.problems.push((why, None));
            }
            e.json = json!({
                "findings": refused.findings.iter().map(finding_json).collect::<Vec<_>>(),
                "useless_force": refused.useless_force,
            });
            return Err(e);
        }
    };
    // Sealing makes drafts immutable: show what the linter thinks of them first.
    let sealing: Vec<_> = outcome
        .sealed
        .iter()
        .chain(&outcome.resealed)
        .copied()
        .collect();
    let sealed_before = lint_report::sealed(&state);
    let findings =
        migrate_runtime::lint::lint(&set, &sealing, &sealed_before, &lint_report::config(cx)?);
    if cx.format == Format::Text {
        lint_report::print_text_or_summary(&findings);
    }
    let written = lockfile::write(&cx.dir, &outcome.lock)
        .map_err(|e| Error::new(format!("cannot write {}: {e}", lock_path.display())))?;
    let folder = |v| {
        set.get(v)
            .map(|m| m.folder())
            .unwrap_or_else(|| v.to_string())
    };
    match cx.format {
        Format::Text => {
            if outcome.repaired {
                crate::info!(
                    "Rewrote {} (it was corrupt, e.g. after a merge conflict)",
                    lock_path.display()
                );
            }
            let sealed: Vec<String> = outcome.sealed.iter().map(|v| folder(*v)).collect();
            crate::output::summarised_top(
                "Sealed",
                &sealed,
                10,
                "`cargo migrate status` lists them",
            );
            for v in &outcome.resealed {
                crate::info!("Re-sealed {} (--force)", folder(*v));
            }
            for v in &outcome.dropped {
                crate::info!("Removed {v} from the lock file (--force; its folder is gone)");
            }
            if !written {
                crate::info!(
                    "Nothing to seal: {} migrations sealed and intact",
                    outcome.lock.entries().len()
                );
            }
        }
        Format::Json => print_json(&json!({
            "ok": true,
            "written": written,
            "repaired": outcome.repaired,
            "sealed": outcome.sealed,
            "resealed": outcome.resealed,
            "dropped": outcome.dropped,
            "total": outcome.lock.entries().len(),
            "lint": findings.iter().map(lint_report::finding_json).collect::<Vec<_>>(),
        })),
    }
    Ok(Exit::Success)
}

fn check(cx: &Context, set: &MigrationSet, state: &LockState) -> Result<Exit, Error> {
    let findings = verify(set, state);
    match cx.format {
        Format::Text if findings.is_empty() => {
            crate::info!("All {} migrations sealed and intact", set.migrations.len());
        }
        Format::Text => {
            print_findings(&findings);
            eprintln!("{} problem(s) in {}", findings.len(), cx.dir.display());
        }
        Format::Json => print_json(&json!({
            "ok": findings.is_empty(),
            "migrations": set.migrations.len(),
            "findings": findings.iter().map(finding_json).collect::<Vec<_>>(),
        })),
    }
    Ok(if findings.is_empty() {
        Exit::Success
    } else {
        Exit::Problems
    })
}
