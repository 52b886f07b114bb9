//! `check`'s report: one line per step (lock file, lint, verify, status) with its result, the
//! details of a step that did not pass under it; as JSON, one document with every step; with
//! `--format github`, annotations on the offending files first.

use super::error::{CliError, finding_json};
use super::{Format, plural, print_json};
use crate::exit::Exit;
use crate::output::{DIM, ERROR, GOOD, HELP};
use anstream::println;
use anstyle::Style;
use migrate_runtime::Finding;
use migrate_runtime::engine::State;
use migrate_runtime::model::folder_name;
use migrate_runtime::ops::{
    CheckReport, GateReport, LintReport, StatusReport, StatusVerdict, Step, VerifyOutcome,
};
use serde_json::{Value, json};

/// The exit code: 0 every step passed (or was skipped); 3 a step found problems; 1 a step could
/// not run.
pub fn exit(r: &GateReport) -> Exit {
    if r.errored() {
        Exit::Error
    } else if r.passed() {
        Exit::Success
    } else {
        Exit::Problems
    }
}

/// A step as shown: its error rendered.
enum Shown<T> {
    Ran(T),
    Skipped(String),
    Failed(CliError),
}

impl<T> From<Step<T>> for Shown<T> {
    fn from(step: Step<T>) -> Shown<T> {
        match step {
            Step::Ran(report) => Shown::Ran(report),
            Step::Skipped(reason) => Shown::Skipped(reason),
            Step::Failed(e) => Shown::Failed(CliError::from(e)),
        }
    }
}

/// The report with its steps' errors rendered.
struct Report {
    checked: Vec<String>,
    all: bool,
    exit: Exit,
    /// `passed`, `failed`, `skipped` or `error`, per step.
    results: [&'static str; 4],
    sealed: Shown<CheckReport>,
    lint: Shown<LintReport>,
    verify: Shown<VerifyOutcome>,
    status: Shown<StatusReport>,
    rust_backfills: Vec<String>,
}

/// Prints the report; returns the exit code.
pub fn print(format: Format, github: bool, r: GateReport) -> Exit {
    let passed = r.results();
    let exit = exit(&r);
    let r = Report {
        results: [
            result(&r.sealed, passed[0]),
            result(&r.lint, passed[1]),
            result(&r.verify, passed[2]),
            result(&r.status, passed[3]),
        ],
        checked: r.checked,
        all: r.all,
        exit,
        sealed: r.sealed.into(),
        lint: r.lint.into(),
        verify: r.verify.into(),
        status: r.status.into(),
        rust_backfills: r.rust_backfills,
    };
    match format {
        Format::Json => print_json(&to_json(&r)),
        Format::Text => {
            if github {
                for a in annotations(&r) {
                    println!("{a}");
                }
            }
            text(&r);
        }
    }
    exit
}

const STEPS: [&str; 4] = ["lock file", "lint", "verify", "status"];

/// A step's result: `passed`, `failed`, `skipped` or `error`.
fn result<T>(step: &Step<T>, passed: Option<bool>) -> &'static str {
    match (step, passed) {
        (Step::Failed(_), _) => "error",
        (_, None) => "skipped",
        (_, Some(true)) => "passed",
        (_, Some(false)) => "failed",
    }
}

fn style(result: &str) -> Style {
    match result {
        "passed" => GOOD,
        "skipped" => DIM,
        _ => ERROR,
    }
}

fn text(r: &Report) {
    let what = if r.all {
        format!("all {}", plural(r.checked.len(), "migration"))
    } else if r.checked.is_empty() {
        "no new migrations".to_string()
    } else {
        format!(
            "{}: {}",
            plural(r.checked.len(), "new migration"),
            r.checked.join(", ")
        )
    };
    println!("Checked {what}");
    let names = r.results;
    let head = |i: usize, summary: String| {
        let s = style(names[i]);
        println!("  {s}{:<8}{s:#} {:<10} {summary}", names[i], STEPS[i]);
    };
    step(&r.sealed, head, 0, |c| {
        if c.findings.is_empty() {
            head(
                0,
                format!("{} sealed and intact", plural(c.migrations, "migration")),
            );
            return;
        }
        head(0, plural(c.findings.len(), "problem"));
        for f in &c.findings {
            println!("      {f}");
            println!("        {HELP}help{HELP:#}: {}", f.help());
        }
    });
    step(&r.lint, head, 1, |l| {
        head(
            1,
            if l.findings.is_empty() {
                format!("no problems in {}", plural(l.linted.len(), "migration"))
            } else {
                format!(
                    "{}, {} in {}",
                    plural(l.errors, "error"),
                    plural(l.warnings, "warning"),
                    plural(l.linted.len(), "migration")
                )
            },
        );
        for f in &l.findings {
            for line in super::lint::text(f) {
                println!("    {line}");
            }
        }
    });
    step(&r.verify, head, 2, |v| {
        head(2, super::verify::summary(v));
        for c in v.migrations.iter().filter(|c| !c.verdict.passes()) {
            super::verify::line(c, "    ");
        }
    });
    step(&r.status, head, 3, |s| {
        let pending = s
            .entries
            .iter()
            .filter(|e| e.state == State::Pending)
            .count();
        let summary = match s.verdict {
            StatusVerdict::Problems => "problems".to_string(),
            StatusVerdict::Pending => {
                format!("{} to apply", plural(pending, "pending migration"))
            }
            StatusVerdict::UpToDate => "up to date".to_string(),
        };
        head(3, format!("{}: {summary}", s.label));
        for e in s.entries.iter().filter(|e| e.state.is_problem()) {
            println!(
                "      {ERROR}{}{ERROR:#} {} {DIM}{}{DIM:#}",
                e.state.as_str(),
                folder_name(e.version, &e.name),
                super::status::detail(e)
            );
        }
        for f in &s.lock_findings {
            println!("      {f}");
        }
        for folder in &r.rust_backfills {
            println!(
                "      {folder} is a Rust backfill: the application applies it with its \
                 registered code (`cargo migrate apply` refuses to run it; `--to` applies \
                 the migrations before it)"
            );
        }
    });
    let failed = names
        .iter()
        .filter(|n| **n == "failed" || **n == "error")
        .count();
    let ran = names.iter().filter(|n| **n != "skipped").count();
    if failed == 0 {
        println!("{GOOD}All {} passed{GOOD:#}", plural(ran, "check"));
    } else {
        println!(
            "{ERROR}{failed} of {} failed{ERROR:#}",
            plural(ran, "check")
        );
    }
}

/// Prints a step: its report with `ran`, else a skipped or error line with `head`.
fn step<T>(step: &Shown<T>, head: impl Fn(usize, String), i: usize, ran: impl FnOnce(&T)) {
    match step {
        Shown::Ran(report) => ran(report),
        Shown::Skipped(reason) => head(i, reason.clone()),
        Shown::Failed(e) => {
            head(i, "could not run".into());
            for line in e.lines() {
                println!("      {line}");
            }
        }
    }
}

fn to_json(r: &Report) -> Value {
    let entry = |i: usize, step: Shown<Value>| {
        let (report, reason, error) = match step {
            Shown::Ran(v) => (Some(v), None, None),
            Shown::Skipped(reason) => (None, Some(reason), None),
            Shown::Failed(e) => (None, None, Some(e.to_json())),
        };
        json!({ "result": r.results[i], "reason": reason, "error": error, "report": report })
    };
    let sealed = map(&r.sealed, |c| {
        json!({
            "migrations": c.migrations,
            "findings": c.findings.iter().map(finding_json).collect::<Vec<_>>(),
        })
    });
    let lint = map(&r.lint, |l| {
        json!({
            "linted": l.linted,
            "findings": l.findings.iter().map(super::lint::finding_json).collect::<Vec<_>>(),
            "summary": { "errors": l.errors, "warnings": l.warnings },
        })
    });
    let verify = map(&r.verify, super::verify::to_json);
    let status = map(&r.status, super::status::to_json);
    json!({
        "ok": r.exit == Exit::Success,
        "exit_code": r.exit as u8,
        "all": r.all,
        "checked": r.checked,
        "rust_backfills": r.rust_backfills,
        "steps": {
            "lock_file": entry(0, sealed),
            "lint": entry(1, lint),
            "verify": entry(2, verify),
            "status": entry(3, status),
        },
    })
}

/// A step with its report turned into JSON.
fn map<T>(step: &Shown<T>, f: impl FnOnce(&T) -> Value) -> Shown<Value> {
    match step {
        Shown::Ran(report) => Shown::Ran(f(report)),
        Shown::Skipped(reason) => Shown::Skipped(reason.clone()),
        Shown::Failed(e) => Shown::Failed(e.clone()),
    }
}

/// GitHub Actions annotations for what did not pass, on the file (and line) at fault.
fn annotations(r: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let annotate = |file: Option<String>,
                    line: Option<usize>,
                    col: Option<usize>,
                    title: &str,
                    message: String| {
        let mut props = Vec::new();
        if let Some(f) = file {
            props.push(format!("file={}", super::lint::escape_property(&f)));
        }
        if let Some(l) = line {
            props.push(format!("line={l}"));
        }
        if let Some(c) = col {
            props.push(format!("col={c}"));
        }
        props.push(format!("title={}", super::lint::escape_property(title)));
        format!(
            "::error {}::{}",
            props.join(","),
            super::lint::escape_data(&message)
        )
    };
    if let Shown::Ran(c) = &r.sealed {
        for f in &c.findings {
            let file = match f {
                Finding::Edited { path, .. }
                | Finding::Missing { path, .. }
                | Finding::Renamed { path, .. }
                | Finding::Unsealed { path, .. }
                | Finding::OutOfOrder { path, .. }
                | Finding::Corrupt { path, .. } => Some(path.display().to_string()),
            };
            let line = match f {
                Finding::Corrupt { line, .. } => *line,
                _ => None,
            };
            out.push(annotate(
                file,
                line,
                None,
                &format!("migrations.lock: {}", f.kind()),
                format!("{f}\nhelp: {}", f.help()),
            ));
        }
    }
    if let Shown::Ran(l) = &r.lint {
        out.extend(l.findings.iter().map(super::lint::github));
    }
    if let Shown::Ran(v) = &r.verify {
        for c in v.migrations.iter().filter(|c| !c.verdict.passes()) {
            let message = match (&c.error, &c.detail) {
                (Some(e), _) => e.error_text(),
                (None, Some(d)) => d.clone(),
                (None, None) => c.verdict.to_string(),
            };
            let diff = c
                .diff
                .as_ref()
                .map(|d| format!("\n{d}"))
                .unwrap_or_default();
            out.push(annotate(
                c.file.as_ref().map(|f| f.display().to_string()),
                c.line,
                c.column,
                &format!("verify: {}", c.verdict),
                format!("{}: {message}{diff}", c.folder()),
            ));
        }
    }
    if let Shown::Ran(s) = &r.status {
        for e in s.entries.iter().filter(|e| e.state.is_problem()) {
            out.push(annotate(
                Some(e.path.display().to_string()),
                None,
                None,
                &format!("status: {}", e.state.as_str()),
                format!(
                    "{} is {} on {}",
                    folder_name(e.version, &e.name),
                    e.state.as_str(),
                    s.label
                ),
            ));
        }
    }
    for (i, failed) in [
        error_of(&r.sealed),
        error_of(&r.lint),
        error_of(&r.verify),
        error_of(&r.status),
    ]
    .into_iter()
    .enumerate()
    {
        if let Some(e) = failed {
            let title = format!("check: {}", STEPS[i]);
            out.push(annotate(None, None, None, &title, e.message.clone()));
        }
    }
    out
}

fn error_of<T>(step: &Shown<T>) -> Option<&CliError> {
    match step {
        Shown::Failed(e) => Some(e),
        _ => None,
    }
}
