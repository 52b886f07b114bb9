//! `cargo migrate apply`: lock-file checks, then the engine; drafts that applied are sealed.

use crate::cli::ApplyArgs;
use crate::context::Context;
use crate::context::Format;
use crate::database::{self, redacted};
use crate::events::{ms, printer};
use crate::exit::Exit;
use crate::lint_report::{self, counts};

use crate::report::{Error, engine_error, print_json};
use migrate_runtime::engine::status::newest_applied;
use migrate_runtime::engine::{ApplyOptions, ApplyReport};
use migrate_runtime::lint::Severity;
use migrate_runtime::{LockState, MigrationSet};
use serde_json::json;
use std::time::Instant;

pub fn run(cx: &Context, args: ApplyArgs) -> Result<Exit, Error> {
    let (set, state) = database::preflight(cx, &args.db)?;
    lint_gate(cx, &set, &state, &args)?;
    let settings = database::settings(cx, &args.db)?;
    let mut db = database::connect(cx, &settings)?;
    let engine = database::watching(cx, &settings)?;
    // Drafts an interrupted run applied are sealed first, so they are not refused as drafts.
    let rows = engine
        .history(&mut db.client)
        .map_err(|e| engine_error(e, "apply"))?;
    let (state, recovered) = database::seal_recorded(cx, &set, &state, &rows)?;
    for s in &recovered {
        crate::info!(
            "  Sealed {s} (applied by an earlier run that was interrupted before sealing it)"
        );
    }
    database::check_drafts(&set, &state, args.locked, args.allow_out_of_order)?;
    let options = ApplyOptions {
        to: args.to,
        dry_run: args.dry_run,
        single_transaction: args.single_transaction,
        allow_out_of_order: args.allow_out_of_order,
    };
    if cx.format == Format::Text && !args.dry_run {
        crate::info!(
            "Applying migrations from {} to {} (history {})",
            cx.dir.display(),
            db.label,
            engine.config.history
        );
    }
    let started = Instant::now();
    let result = engine.apply(&mut db.client, &set, &options, &mut printer(cx.format));
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            // What committed before the failure is sealed and reported.
            let versions: Vec<_> = e.completed().iter().map(|a| a.version).collect();
            let (_, sealed) = database::seal_applied(cx, &set, &state, &versions)?;
            let mut e = engine_error(e, "apply");
            let sealed: Vec<String> = recovered.iter().cloned().chain(sealed).collect();
            if !sealed.is_empty() {
                e.json["sealed"] = json!(sealed);
            }
            e.json["database"] = json!(redacted(cx));
            return Err(e);
        }
    };
    if report.dry_run {
        print_plan(cx, &report, &db.label);
        return Ok(Exit::Success);
    }
    let versions: Vec<_> = report.applied.iter().map(|a| a.version).collect();
    let (_, sealed) = database::seal_applied(cx, &set, &state, &versions)?;
    let total_ms = started.elapsed().as_secs_f64() * 1000.0;
    let at = engine
        .history(&mut db.client)
        .ok()
        .and_then(|rows| newest_applied(&rows));
    match cx.format {
        Format::Text => {
            crate::output::summarised("Sealed", &sealed, 10, "`cargo migrate status` lists them");
            let at = at.map_or("no migration".to_string(), |v| v.to_string());
            match report.applied.len() {
                0 => crate::info!("Nothing to apply; the database is at {at}."),
                n => crate::info!(
                    "Applied {n} migration{} in {}; the database is at {at}.",
                    if n == 1 { "" } else { "s" },
                    ms(total_ms)
                ),
            }
        }
        Format::Json => print_json(&json!({
            "ok": true,
            "dry_run": false,
            "database": redacted(cx),
            "history_table": engine.config.history.to_string(),
            "single_transaction": report.single_transaction,
            "applied": report.applied,
            "sealed": recovered.iter().chain(&sealed).collect::<Vec<_>>(),
            "duration_ms": total_ms,
            "version": at,
        })),
    }
    Ok(Exit::Success)
}

/// Lints the drafts this run would seal and apply: error-level findings refuse, unless
/// `--allow-unsafe`, which prints what it overrides.
fn lint_gate(
    cx: &Context,
    set: &MigrationSet,
    state: &LockState,
    args: &ApplyArgs,
) -> Result<(), Error> {
    let findings: Vec<_> = lint_report::lint_drafts(cx, set, state)?
        .into_iter()
        .filter(|f| args.to.is_none_or(|to| f.version <= to))
        .collect();
    let (errors, _) = counts(&findings);
    if cx.format == Format::Text {
        lint_report::print_text_or_summary(&findings);
    }
    if errors == 0 {
        return Ok(());
    }
    if args.allow_unsafe {
        let errors_only: Vec<_> = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .cloned()
            .collect();
        crate::output::warning(&format!(
            "applying despite {errors} lint error(s) (--allow-unsafe):\n{}",
            lint_report::summary(&errors_only).join("\n")
        ));
        return Ok(());
    }
    let mut e = Error::new(format!("refusing to apply: lint found {errors} error(s) in the draft migrations"))
        .help(
            "fix them; or, where it is safe, suppress one with `-- migrate:allow(<rule>) reason: <why>` on the line \
             before the statement; or pass --allow-unsafe",
        )
        .note("nothing was run");
    e.json = json!({ "lint": findings.iter().map(lint_report::finding_json).collect::<Vec<_>>() });
    Err(e)
}

fn print_plan(cx: &Context, report: &ApplyReport, label: &str) {
    match cx.format {
        Format::Text => {
            if report.plan.is_empty() {
                crate::info!("Dry run: nothing to apply to {label}.");
                return;
            }
            println!(
                "Dry run: {} migration(s) would be applied to {label}; nothing was changed.",
                report.plan.len()
            );
            for p in &report.plan {
                let mode = if p.no_transaction {
                    "no transaction, statement by statement"
                } else if report.single_transaction {
                    "in the single transaction"
                } else {
                    "in a transaction"
                };
                println!("{}_{} ({mode})", p.version, p.name);
                if let Some(at) = p.resume_at {
                    println!("  resumes at statement {at}");
                }
                for s in &p.statements {
                    let first = s.sql.lines().next().unwrap_or("");
                    let more = if s.sql.lines().count() > 1 {
                        " …"
                    } else {
                        ""
                    };
                    println!("  {:>3}. line {:<4} {first}{more}", s.index, s.line);
                }
            }
        }
        Format::Json => print_json(&json!({
            "ok": true,
            "dry_run": true,
            "database": redacted(cx),
            "plan": report.plan,
        })),
    }
}
