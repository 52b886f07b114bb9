//! `status`'s report: one line per migration with its state and the run that put it there.

use super::{Format, ms, print_json};
use crate::exit::Exit;
use crate::output::{DIM, ERROR, GOOD, WARNING};
use anstream::println;
use migrate_runtime::engine::State;
use migrate_runtime::model::folder_name;
use migrate_runtime::ops::{StatusEntry, StatusReport, StatusVerdict, Unfinished};
use serde_json::json;
use time::format_description::well_known::Rfc3339;

/// The exit code a report ends with.
pub fn exit(report: &StatusReport) -> Exit {
    match report.verdict {
        StatusVerdict::UpToDate => Exit::Success,
        StatusVerdict::Pending => Exit::Pending,
        StatusVerdict::Problems => Exit::Problems,
    }
}

/// Prints the report.
pub fn print(format: Format, r: &StatusReport) {
    match format {
        Format::Text => text(r),
        Format::Json => print_json(&to_json(r)),
    }
}

/// Why a failed entry is in its state: its run's error, or, for a run that never ended,
/// whether it is going on (who holds the migration lock) or was cut off (what resumes it).
fn push_why(detail: &mut String, e: &StatusEntry) {
    let why = match &e.unfinished {
        Some(Unfinished::Running(runner)) => {
            format!("running now (the migration lock is held by {runner})")
        }
        Some(Unfinished::Interrupted) => {
            let command = if e.state == State::DownFailed {
                "down"
            } else {
                "apply"
            };
            let after = if e.backfill.is_some() {
                "after the last committed batch"
            } else {
                "at the statement that did not finish"
            };
            format!(
                "interrupted (the session that ran it has ended): `cargo migrate {command}` resumes it {after}"
            )
        }
        None => match &e.error {
            Some(err) => err.clone(),
            None => return,
        },
    };
    detail.push_str(&format!(": {why}"));
}

/// What follows the state and folder on a line.
pub fn detail(e: &StatusEntry) -> String {
    let mut detail = String::new();
    if let Some(at) = e.at {
        detail.push_str(&format!(
            "{} UTC",
            at.format(&time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .unwrap_or_default()
        ));
        if let Some(t) = e.duration_ms {
            detail.push_str(&format!(", {}", ms(t)));
        }
    }
    if let Some(err) = &e.down_error {
        detail.push_str(&format!(", its down.sql failed and was rolled back: {err}"));
    }
    if let Some(b) = &e.backfill {
        let done = if matches!(e.unfinished, Some(Unfinished::Running(_))) {
            "committed"
        } else {
            "stopped after"
        };
        detail.push_str(&format!(
            ", backfill {done} {} ({}, {}, last key {})",
            migrate_runtime::counted(b.batches, "batch", "batches"),
            migrate_runtime::counted(b.keys, "key", "keys"),
            migrate_runtime::counted(b.rows, "row", "rows"),
            b.last_key.as_deref().unwrap_or("none")
        ));
        push_why(&mut detail, e);
    } else if e.state == State::DownFailed {
        detail.push_str(&format!(
            ", down.sql: {} of {} statements done",
            e.statements_applied.unwrap_or(0),
            e.statements_total.unwrap_or(0)
        ));
        push_why(&mut detail, e);
    }
    if e.state == State::Failed && e.backfill.is_none() {
        if let Some(done) = e.statements_applied {
            detail.push_str(&format!(
                ", {done} of {} statements applied",
                e.statements_total.unwrap_or(0)
            ));
        }
        push_why(&mut detail, e);
    }
    if e.draft {
        detail.push_str(if detail.is_empty() {
            "draft"
        } else {
            " (draft)"
        });
    }
    detail
}

fn text(r: &StatusReport) {
    use std::io::Write as _;
    // One line per migration, tens of thousands of them: written a buffer at a time, not one
    // write (and one terminal check) per line, and never held whole.
    let mut out = crate::output::block();
    let _ = writeln!(out, "Database {} (history {})", r.label, r.history_table);
    let width = r
        .entries
        .iter()
        .map(|e| e.name.len() + 15)
        .max()
        .unwrap_or(0);
    for e in &r.entries {
        let folder = folder_name(e.version, &e.name);
        let style = match e.state {
            State::Applied => GOOD,
            State::Pending => WARNING,
            _ => ERROR,
        };
        let _ = writeln!(
            out,
            "  {style}{:<12}{style:#} {folder:<width$}  {DIM}{}{DIM:#}",
            e.state.as_str(),
            detail(e)
        );
        // --verbose: what changed in an edited migration, against what was applied; the
        // backup taken before the run that applied it.
        if let (true, Some(diff)) = (crate::output::verbose(), &e.diff) {
            for line in diff.lines() {
                let _ = writeln!(out, "      {line}");
            }
        }
        if let (true, Some(b)) = (crate::output::verbose(), &e.backup) {
            let _ = writeln!(out, "      {DIM}{}{DIM:#}", super::backup::line(b));
        }
    }
    for f in &r.lock_findings {
        let _ = writeln!(out, "  lock-file    {f}");
    }
    // Before the summary, which is printed on its own.
    drop(out);
    let mut summary: Vec<String> = r
        .summary
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    if !r.lock_findings.is_empty() {
        summary.push(format!("{} lock-file problem(s)", r.lock_findings.len()));
    }
    if summary.is_empty() {
        summary.push("no migrations".into());
    }
    if let Some(d) = &r.drift {
        super::drift::text(d);
        if d.drifted {
            summary.push(format!(
                "drift in {}",
                super::plural(d.diff.changes.len(), "object")
            ));
        }
    }
    println!("{}", summary.join(", "));
    match r.verdict {
        StatusVerdict::Problems
            if r.entries
                .iter()
                .any(|e| matches!(e.unfinished, Some(Unfinished::Running(_)))) =>
        {
            crate::info!(
                "A migration is running now: run `cargo migrate status` again once it ends \
                 (`cargo migrate apply` waits for it)."
            )
        }
        StatusVerdict::Problems => {
            crate::info!("Problems found: `cargo migrate apply` explains each and what to do.")
        }
        StatusVerdict::Pending => crate::info!("Pending migrations: run `cargo migrate apply`."),
        StatusVerdict::UpToDate => {}
    }
}

/// The report as JSON.
pub fn to_json(r: &StatusReport) -> serde_json::Value {
    let rfc = |t: time::OffsetDateTime| t.format(&Rfc3339).ok();
    let migrations: Vec<_> = r
        .entries
        .iter()
        .map(|e| {
            let mut v = json!({
                "version": e.version,
                "name": e.name,
                "state": e.state.as_str(),
                "sealed": e.sealed,
                "path": e.path,
                "no_transaction": e.no_transaction,
                "applied_at": e.applied_at.and_then(rfc),
                "duration_ms": e.duration_ms,
                "applied_by": e.applied_by,
                "error": e.error,
                "down_error": e.down_error,
                "statements_applied": e.statements_applied,
                "statements_total": e.statements_total,
                "recorded_sql": e.recorded_sql,
                "backup": e.backup,
            });
            // Only for a backfill that did not finish, so other entries keep their shape.
            if let Some(b) = &e.backfill {
                v["backfill"] = json!(b);
            }
            // Only for a run that never ended: going on (and who runs it) or cut off.
            if let Some(u) = &e.unfinished {
                v["unfinished"] = json!(u.as_str());
                if let Unfinished::Running(runner) = u {
                    v["runner"] = json!(runner);
                }
            }
            v
        })
        .collect();
    let summary: serde_json::Map<String, serde_json::Value> = r
        .summary
        .iter()
        .map(|(s, n)| (s.as_str().to_string(), json!(n)))
        .collect();
    let exit = exit(r);
    let mut report = json!({
        "ok": exit == Exit::Success,
        "exit_code": exit as u8,
        "database": r.database,
        "history_table": r.history_table,
        "migrations": migrations,
        "lock_findings": r.lock_findings.iter().map(super::error::finding_json).collect::<Vec<_>>(),
        "summary": summary,
    });
    if let (Some(d), serde_json::Value::Object(map)) = (&r.drift, &mut report) {
        map.insert("drift".into(), super::drift::json(d));
    }
    report
}
