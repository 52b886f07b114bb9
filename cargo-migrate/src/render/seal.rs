//! `seal`'s and `seal --check`'s reports.

use super::error::finding_json;
use super::{Format, print_json};
use crate::exit::Exit;
use crate::output::{ERROR, HELP};
use anstream::eprintln;
use migrate_runtime::Finding;
use migrate_runtime::ops::{CheckReport, SealReport};
use serde_json::json;

/// Prints what sealing did.
pub fn print(format: Format, r: &SealReport) {
    match format {
        Format::Text => {
            if r.repaired {
                crate::info!(
                    "Rewrote {} (it was corrupt, e.g. after a merge conflict)",
                    r.lock_path.display()
                );
            }
            crate::output::summarised_top(
                "Sealed",
                &r.sealed_folders,
                10,
                "`cargo migrate status` lists them",
            );
            for f in &r.resealed_folders {
                crate::info!("Re-sealed {f} (--force)");
            }
            for v in &r.dropped {
                crate::info!("Removed {v} from the lock file (--force; its folder is gone)");
            }
            if !r.verified.is_empty() {
                crate::info!(
                    "Recorded {} as verified in {}",
                    super::plural(r.verified.len(), "migration"),
                    r.lock_path.display()
                );
            }
            if !r.written {
                crate::info!("Nothing to seal: {} migrations sealed and intact", r.total);
            }
        }
        Format::Json => print_json(&json!({
            "ok": true,
            "written": r.written,
            "repaired": r.repaired,
            "sealed": r.sealed,
            "resealed": r.resealed,
            "dropped": r.dropped,
            "total": r.total,
            "verified": r.verified,
            "lint": r.lint.iter().map(super::lint::finding_json).collect::<Vec<_>>(),
        })),
    }
}

/// `seal --verify` refused: which migrations failed verify (the JSON carries the verify
/// report).
pub fn unverified(outcome: &migrate_runtime::ops::VerifyOutcome) -> super::error::CliError {
    let failed: Vec<String> = outcome
        .migrations
        .iter()
        .filter(|c| !c.verdict.passes())
        .map(|c| format!("{} ({})", c.folder(), c.verdict))
        .collect();
    let mut e = super::error::CliError::new(format!(
        "not sealed: {} did not verify: {}",
        super::plural(failed.len(), "migration"),
        failed.join(", ")
    ))
    .help("fix them (`cargo migrate verify` shows why), then seal again")
    .note("nothing was sealed: migrations.lock is unchanged");
    e.json = json!({ "verify": super::verify::to_json(outcome) });
    e
}

/// Prints what `--check` found; returns the exit code (3 when anything is not sealed and
/// intact).
pub fn print_check(format: Format, dir: &std::path::Path, r: &CheckReport) -> Exit {
    match format {
        Format::Text if r.findings.is_empty() => {
            crate::info!("All {} migrations sealed and intact", r.migrations);
        }
        Format::Text => {
            for f in &r.findings {
                let (label, style) = if matches!(f, Finding::Unsealed { .. }) {
                    ("note", HELP)
                } else {
                    ("error", ERROR)
                };
                eprintln!("{style}{label}{style:#}: {f}");
                eprintln!("  {HELP}help{HELP:#}: {}", f.help());
            }
            eprintln!("{} problem(s) in {}", r.findings.len(), dir.display());
        }
        Format::Json => print_json(&json!({
            "ok": r.findings.is_empty(),
            "migrations": r.migrations,
            "findings": r.findings.iter().map(finding_json).collect::<Vec<_>>(),
        })),
    }
    if r.findings.is_empty() {
        Exit::Success
    } else {
        Exit::Problems
    }
}
