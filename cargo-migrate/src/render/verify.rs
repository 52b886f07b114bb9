//! `verify`'s report: one line per migration with its verdict, and under a failing one the
//! PostgreSQL error at file:line:column with the SQL line, or the schema difference.

use super::{Format, ms, plural, print_json, snippet};
use crate::exit::Exit;
use crate::output::{DIM, ERROR, GOOD, HELP, WARNING};
use anstream::println;
use anstyle::Style;
use migrate_runtime::ops::VerifyOutcome;
use migrate_runtime::shadow::{Checked, Verdict};
use serde_json::json;

/// The exit code: 0 when every verdict passes, 3 otherwise.
pub fn exit(outcome: &VerifyOutcome) -> Exit {
    if outcome.passed {
        Exit::Success
    } else {
        Exit::Problems
    }
}

/// Prints the report.
pub fn print(format: Format, outcome: &VerifyOutcome) {
    match format {
        Format::Text => text(outcome),
        Format::Json => print_json(&to_json(outcome)),
    }
}

/// How a verdict is shown.
pub fn style(verdict: Verdict) -> Style {
    match verdict {
        Verdict::Ok => GOOD,
        Verdict::ColumnOrder | Verdict::Irreversible => WARNING,
        _ => ERROR,
    }
}

/// `1 ok, 2 not_restored`, in the order of [`Verdict::ALL`].
pub fn summary(outcome: &VerifyOutcome) -> String {
    Verdict::ALL
        .iter()
        .filter_map(|v| outcome.summary.get(v).map(|n| format!("{n} {v}")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn text(o: &VerifyOutcome) {
    let Some(shadow) = &o.shadow else {
        println!(
            "Nothing to verify: {}",
            if o.selection == "drafts" {
                "every migration is sealed (verify sealed ones with --all, or name their versions)"
            } else {
                "there are no migrations"
            }
        );
        return;
    };
    let what = match o.selection {
        "drafts" => " (the drafts)",
        "all" => " (the whole history)",
        _ => "",
    };
    println!(
        "Verified {}{what} on a shadow database on {shadow} {DIM}({}, dropped afterwards){DIM:#}",
        plural(o.migrations.len(), "migration"),
        ms(o.duration_ms)
    );
    for c in &o.migrations {
        line(c, "");
    }
    let style = if o.passed { GOOD } else { ERROR };
    println!("{style}{}{style:#}", summary(o));
}

/// One migration's verdict, and under a failing one its error or schema difference.
pub fn line(c: &Checked, indent: &str) {
    let style = style(c.verdict);
    println!(
        "{indent}  {style}{:<14}{style:#} {} {DIM}({}){DIM:#}",
        c.verdict.as_str(),
        c.folder(),
        ms(c.duration_ms)
    );
    if c.verdict == Verdict::Ok || c.verdict == Verdict::Irreversible {
        return;
    }
    if let Some(e) = &c.error {
        println!(
            "{indent}    {ERROR}{}{ERROR:#}: {}{}",
            e.location(),
            match c.verdict {
                Verdict::DownFailed => "down.sql failed: ",
                Verdict::ReapplyFailed => "applied again after down.sql, migration.sql failed: ",
                _ => "",
            },
            e.message
        );
        if let (Some(l), Some(source)) = (e.line, &e.source_line) {
            for s in snippet(l, source, e.column, None) {
                println!("{indent}  {s}");
            }
        }
        if let Some(d) = &e.detail {
            println!("{indent}    {DIM}detail:{DIM:#} {d}");
        }
        if let Some(h) = &e.hint {
            println!("{indent}    {HELP}hint{HELP:#}: {h}");
        }
        return;
    }
    if let Some(detail) = &c.detail {
        println!("{indent}    {detail}");
    }
    if let Some(d) = &c.diff {
        for l in d.to_string().lines() {
            println!("{indent}    {l}");
        }
    }
}

/// The report as JSON.
pub fn to_json(o: &VerifyOutcome) -> serde_json::Value {
    let migrations: Vec<_> = o
        .migrations
        .iter()
        .map(|c| {
            json!({
                "version": c.version,
                "name": c.name,
                "verdict": c.verdict,
                "detail": c.detail,
                "diff": c.diff.as_ref().map(|d| &d.changes),
                "file": c.file,
                "line": c.line,
                "column": c.column,
                "error": c.error.as_ref().map(|e| json!({
                    "code": e.code,
                    "message": e.message,
                    "detail": e.detail,
                    "hint": e.hint,
                    "statement": e.statement,
                    "source_line": e.source_line,
                })),
                "duration_ms": c.duration_ms,
            })
        })
        .collect();
    let summary: serde_json::Map<String, serde_json::Value> = o
        .summary
        .iter()
        .map(|(v, n)| (v.as_str().to_string(), json!(n)))
        .collect();
    json!({
        "ok": o.passed,
        "exit_code": exit(o) as u8,
        "shadow": o.shadow,
        "selection": o.selection,
        "migrations": migrations,
        "summary": summary,
        "duration_ms": o.duration_ms,
    })
}
