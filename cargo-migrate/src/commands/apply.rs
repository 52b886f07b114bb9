//! `cargo migrate apply`: lock-file checks, then the engine; drafts that applied are sealed.

use crate::cli::ApplyArgs;
use crate::context::Context;
use crate::context::Format;
use crate::database::{self, redacted};
use crate::events::{ms, printer};
use crate::exit::Exit;
use crate::lint_report::{self, counts};

use crate::report::{Error, engine_error, print_json};
use migrate_runtime::engine::{ApplyOptions, ApplyReport, EngineError};
use migrate_runtime::lint::Severity;
use migrate_runtime::{LockState, MigrationSet};
use serde_json::json;
use std::time::Instant;

pub fn run(cx: &Context, args: ApplyArgs) -> Result<Exit, Error> {
    let (set, state) = database::preflight(cx, args.locked, args.allow_out_of_order)?;
    lint_gate(cx, &set, &state, &args)?;
    let engine = database::engine(cx, &args.db)?;
    let mut db = database::connect(cx, None)?;
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
    let (report, failure) = match result {
        Ok(report) => (Some(report), None),
        Err(EngineError::Failed { failure, applied }) => {
            let versions: Vec<_> = applied.iter().map(|a| a.version).collect();
            let sealed = database::seal_applied(cx, &set, &state, &versions)?;
            let mut e = engine_error(EngineError::Failed { failure, applied }, "apply");
            if !sealed.is_empty() {
                e.json["sealed"] = json!(sealed);
            }
            e.json["database"] = json!(redacted(cx));
            return Err(e);
        }
        Err(e) => (None, Some(e)),
    };
    if let Some(e) = failure {
        let mut e = engine_error(e, "apply");
        e.json["database"] = json!(redacted(cx));
        return Err(e);
    }
    let report: ApplyReport = report.expect("report");
    if report.dry_run {
        print_plan(cx, &report, &db.label);
        return Ok(Exit::Success);
    }
    let versions: Vec<_> = report.applied.iter().map(|a| a.version).collect();
    let sealed = database::seal_applied(cx, &set, &state, &versions)?;
    let total_ms = started.elapsed().as_secs_f64() * 1000.0;
    let at = engine.history(&mut db.client).ok().and_then(|rows| {
        rows.iter()
            .filter(|r| r.state == migrate_runtime::engine::history::RowState::Applied)
            .map(|r| r.version)
            .max()
    });
    match cx.format {
        Format::Text => {
            for s in &sealed {
                crate::info!("  Sealed {s}");
            }
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
            "sealed": sealed,
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
        lint_report::print_text(&findings);
    }
    if errors == 0 {
        return Ok(());
    }
    let rules: Vec<String> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{} at {}:{}", f.rule, f.path.display(), f.line))
        .collect();
    if args.allow_unsafe {
        crate::output::warning(&format!(
            "applying despite {errors} lint error(s) (--allow-unsafe): {}",
            rules.join(", ")
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
