//! `cargo migrate status`: every migration known to the directory or the database, with its
//! state, plus lock-file problems. Exit 0 up to date, 4 pending only, 3 problems, 1 error.

use crate::cli::StatusArgs;
use crate::context::Context;
use crate::context::Format;
use crate::database::{self, redacted};
use crate::events::ms;
use crate::exit::Exit;
use crate::output::{DIM, ERROR, GOOD, WARNING};
use crate::report::{Error, engine_error, finding_json, print_json};
use anstream::println;
use migrate_runtime::engine::State;
use migrate_runtime::engine::status::compute;
use migrate_runtime::{Finding, verify};
use serde_json::json;
use time::format_description::well_known::Rfc3339;

pub fn run(cx: &Context, args: StatusArgs) -> Result<Exit, Error> {
    let (set, state) = cx.read(None)?;
    let findings = verify(&set, &state);
    let lock_problems: Vec<&Finding> = findings
        .iter()
        .filter(|f| !matches!(f, Finding::Unsealed { .. }))
        .collect();
    let sealed = state.sealed().cloned().unwrap_or_default();
    let settings = database::settings(cx, &args.db)?;
    let mut db = database::connect(cx, &settings)?;
    let engine = settings.engine;
    let rows = engine
        .history(&mut db.client)
        .map_err(|e| engine_error(e, "read the status"))?;
    let entries = compute(&set, &rows);

    let count = |s: State| entries.iter().filter(|e| e.state == s).count();
    let problems = entries.iter().any(|e| e.state.is_problem()) || !lock_problems.is_empty();
    let exit = if problems {
        Exit::Problems
    } else if count(State::Pending) > 0 {
        Exit::Pending
    } else {
        Exit::Success
    };
    match cx.format {
        Format::Text => {
            println!("Database {} (history {})", db.label, engine.config.history);
            let width = entries.iter().map(|e| e.name.len() + 15).max().unwrap_or(0);
            for e in &entries {
                let folder = format!("{}_{}", e.version, e.name);
                let mut detail = String::new();
                if let Some(row) = e.row {
                    if e.state != State::Pending && e.state != State::OutOfOrder {
                        let when = row.finished_at.unwrap_or(row.started_at);
                        detail.push_str(&format!(
                            "{} UTC",
                            when.format(&time::macros::format_description!(
                                "[year]-[month]-[day] [hour]:[minute]:[second]"
                            ))
                            .unwrap_or_default()
                        ));
                        if let Some(t) = row.execution_ms {
                            detail.push_str(&format!(", {}", ms(t)));
                        }
                    }
                    if e.state == State::Applied && row.is_failed_down() {
                        detail.push_str(&format!(
                            ", its down.sql failed and was rolled back: {}",
                            row.error.as_deref().unwrap_or_default()
                        ));
                    }
                    if e.state == State::DownFailed {
                        detail.push_str(&format!(
                            ", down.sql: {} of {} statements done",
                            row.statements_applied,
                            row.statements_total.unwrap_or(0)
                        ));
                        if let Some(err) = &row.error {
                            detail.push_str(&format!(": {err}"));
                        }
                    }
                    if e.state == State::Failed {
                        if row.no_transaction {
                            detail.push_str(&format!(
                                ", {} of {} statements applied",
                                row.statements_applied,
                                row.statements_total.unwrap_or(0)
                            ));
                        }
                        if let Some(err) = &row.error {
                            detail.push_str(&format!(": {err}"));
                        }
                    }
                }
                if e.migration.is_some() && sealed.get(e.version).is_none() {
                    detail.push_str(if detail.is_empty() {
                        "draft"
                    } else {
                        " (draft)"
                    });
                }
                let style = match e.state {
                    State::Applied => GOOD,
                    State::Pending => WARNING,
                    _ => ERROR,
                };
                println!(
                    "  {style}{:<12}{style:#} {folder:<width$}  {DIM}{detail}{DIM:#}",
                    e.state.as_str()
                );
                // --verbose: what changed in an edited migration, against what was applied.
                if let (true, State::Edited, Some(m), Some(row)) =
                    (crate::output::verbose(), e.state, e.migration, e.row)
                {
                    let diff =
                        migrate_runtime::engine::unified_diff(&row.sql, &m.up.sql, &m.up.path);
                    for line in diff.lines() {
                        println!("      {line}");
                    }
                }
            }
            for f in &lock_problems {
                println!("  lock-file    {f}");
            }
            let mut summary = Vec::new();
            for s in State::ALL {
                let n = count(s);
                if n > 0 {
                    summary.push(format!("{n} {}", s.as_str()));
                }
            }
            if !lock_problems.is_empty() {
                summary.push(format!("{} lock-file problem(s)", lock_problems.len()));
            }
            if summary.is_empty() {
                summary.push("no migrations".into());
            }
            println!("{}", summary.join(", "));
            match exit {
                Exit::Problems => {
                    crate::info!(
                        "Problems found: `cargo migrate apply` explains each and what to do."
                    )
                }
                Exit::Pending => crate::info!("Pending migrations: run `cargo migrate apply`."),
                _ => {}
            }
        }
        Format::Json => {
            let rfc = |t: time::OffsetDateTime| t.format(&Rfc3339).ok();
            let migrations: Vec<_> = entries
                .iter()
                .map(|e| {
                    // History details describe the current state only when it came from a run.
                    let row = e.row.filter(|_| !matches!(e.state, State::Pending | State::OutOfOrder));
                    let e = migrate_runtime::engine::status::Entry { row, ..e.clone() };
                    json!({
                        "version": e.version,
                        "name": e.name,
                        "state": e.state.as_str(),
                        "sealed": sealed.get(e.version).is_some(),
                        "path": e.folder(&set),
                        "no_transaction": e.migration.map(|m| m.directives.no_transaction).or(e.row.map(|r| r.no_transaction)),
                        "applied_at": e.row.filter(|_| matches!(e.state, State::Applied | State::Edited | State::Missing)).and_then(|r| r.finished_at).and_then(rfc),
                        "duration_ms": e.row.and_then(|r| r.execution_ms),
                        "applied_by": e.row.map(|r| &r.applied_by),
                        "error": e.row.filter(|_| matches!(e.state, State::Failed | State::DownFailed)).and_then(|r| r.error.as_ref()),
                        "down_error": e.row.filter(|r| e.state == State::Applied && r.is_failed_down()).and_then(|r| r.error.as_ref()),
                        "statements_applied": e.row.filter(|r| r.no_transaction || e.state == State::DownFailed).map(|r| r.statements_applied),
                        "statements_total": e.row.and_then(|r| r.statements_total),
                        "recorded_sql": e.row.filter(|_| e.state == State::Missing || e.state == State::Edited).map(|r| &r.sql),
                    })
                })
                .collect();
            let summary: serde_json::Map<String, serde_json::Value> = State::ALL
                .iter()
                .map(|s| (s.as_str().to_string(), json!(count(*s))))
                .collect();
            print_json(&json!({
                "ok": exit == Exit::Success,
                "exit_code": exit as u8,
                "database": redacted(cx),
                "history_table": engine.config.history.to_string(),
                "migrations": migrations,
                "lock_findings": lock_problems.iter().map(|f| finding_json(f)).collect::<Vec<_>>(),
                "summary": summary,
            }));
        }
    }
    Ok(exit)
}
