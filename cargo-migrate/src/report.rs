//! Printing: text for people (results on stdout, notes and errors on stderr) or one JSON
//! document on stdout for machines. Every error is an [`Error`]: a message, the places it
//! concerns, and what to do.

use crate::context::Format;
use crate::output::{ERROR, HELP};
use anstream::{eprintln, println};
use migrate_runtime::Finding;
use migrate_runtime::model::ReadErrors;
use serde_json::{Value, json};

/// A command's failure: what went wrong, each problem with its help, and a closing note.
#[derive(Debug)]
pub struct Error {
    /// One line: what could not be done.
    pub message: String,
    /// Each problem (`path:line: what`) with its help.
    pub problems: Vec<(String, Option<String>)>,
    /// Lines printed as they are after the problems (a SQL snippet, a diff).
    pub body: Vec<String>,
    /// What happened (e.g. "nothing was written"), in order.
    pub notes: Vec<String>,
    /// Extra fields for the JSON report.
    pub json: Value,
}

impl Error {
    /// A plain error.
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            problems: Vec::new(),
            body: Vec::new(),
            notes: Vec::new(),
            json: json!({}),
        }
    }

    /// Adds a help line.
    pub fn help(mut self, help: impl Into<String>) -> Error {
        self.problems.push((String::new(), Some(help.into())));
        self
    }

    /// Adds a closing note.
    pub fn note(mut self, note: impl Into<String>) -> Error {
        self.notes.push(note.into());
        self
    }

    /// Errors from reading the migrations directory.
    pub fn read(errors: ReadErrors) -> Error {
        let n = errors.0.len();
        let mut e = Error::new(if n == 1 {
            "the migrations directory has a problem".to_string()
        } else {
            format!("the migrations directory has {n} problems")
        });
        e.problems = errors
            .0
            .iter()
            .map(|r| (r.to_string(), r.problem.help()))
            .collect();
        e.json = json!({ "problems": errors.0.iter().map(|r| json!({
            "path": r.path, "line": r.line, "message": r.problem.to_string(), "help": r.problem.help(),
        })).collect::<Vec<_>>() });
        e
    }
}

/// A finding as JSON: its fields, plus `message` and `help`.
pub fn finding_json(f: &Finding) -> Value {
    let mut v = serde_json::to_value(f).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut v {
        map.insert("message".into(), Value::String(f.to_string()));
        map.insert("help".into(), Value::String(f.help()));
    }
    v
}

/// Prints findings as text on stderr, each with its help.
pub fn print_findings(findings: &[Finding]) {
    for f in findings {
        let label = if f.kind() == "unsealed" {
            "note"
        } else {
            "error"
        };
        let style = if label == "note" { HELP } else { ERROR };
        eprintln!("{style}{label}{style:#}: {f}");
        eprintln!("  {HELP}help{HELP:#}: {}", f.help());
    }
}

/// Prints a command's failure in the chosen format.
pub fn print_error(format: Format, e: &Error) {
    match format {
        Format::Text => {
            eprintln!("{ERROR}error{ERROR:#}: {}", e.message);
            for (place, help) in &e.problems {
                if !place.is_empty() {
                    eprintln!("  --> {place}");
                }
                if let Some(help) = help {
                    eprintln!("  {HELP}help{HELP:#}: {help}");
                }
            }
            for line in &e.body {
                eprintln!("{line}");
            }
            for note in &e.notes {
                eprintln!("  {HELP}note{HELP:#}: {note}");
            }
        }
        Format::Json => {
            let note = (!e.notes.is_empty()).then(|| e.notes.join("; "));
            let mut v = json!({ "ok": false, "error": e.message, "note": note });
            if let (Value::Object(map), Value::Object(extra)) = (&mut v, &e.json) {
                map.extend(extra.clone());
            }
            if !e.problems.is_empty() && !v.as_object().is_some_and(|m| m.contains_key("problems"))
            {
                v["help"] = json!(
                    e.problems
                        .iter()
                        .filter_map(|p| p.1.clone())
                        .collect::<Vec<_>>()
                );
            }
            print_json(&v);
        }
    }
}

/// Prints one JSON document on stdout.
pub fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// The rustc-style lines under a location: the source line with its number, and a caret (or
/// carets up to `end_column`) under `column`.
pub fn snippet(
    line: usize,
    source: &str,
    column: Option<usize>,
    end_column: Option<usize>,
) -> Vec<String> {
    let gutter = " ".repeat(line.to_string().len());
    let mut out = vec![format!("  {gutter} |"), format!("  {line} | {source}")];
    if let Some(col) = column {
        let width = end_column.filter(|e| *e > col).map_or(1, |e| e - col);
        out.push(format!(
            "  {gutter} | {}{}",
            " ".repeat(col.saturating_sub(1)),
            "^".repeat(width)
        ));
    }
    out
}

/// An engine error as a CLI error: rustc-style for a failed migration (file:line:col, the SQL
/// line with a caret, the PostgreSQL error, what remains in the database, what to do), and for
/// a run that stopped part-way, exactly what committed before it.
pub fn engine_error(e: migrate_runtime::engine::EngineError, what: &str) -> Error {
    use migrate_runtime::engine::{Direction, EngineError as E};
    let done_key = |d: Direction| match d {
        Direction::Up => "applied",
        Direction::Down => "reverted",
    };
    let done_note = |err: &mut Error, done: &[migrate_runtime::engine::Completed], d: Direction| {
        if !done.is_empty() {
            err.notes.push(format!(
                "{} migration(s) before it were {}: {}",
                done.len(),
                done_key(d),
                done.iter()
                    .map(|a| format!("{}_{}", a.version, a.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    };
    match e {
        E::Db { .. } | E::Invalid { .. } | E::History(_) => {
            let (message, help) = match &e {
                E::Invalid { message, help } => (message.clone(), help.clone()),
                _ => (e.to_string(), None),
            };
            let mut err = Error::new(message).note("nothing was changed");
            if let Some(h) = help {
                err = err.help(h);
            }
            err
        }
        E::LockBusy { waited, holder } => {
            let mut err = Error::new(format!(
                "another migration runner holds the migration lock (waited {}s)",
                waited.as_secs()
            ))
            .note("nothing was changed");
            if let Some(h) = &holder {
                err.problems.push((format!("held by {h}"), None));
            }
            err = err.help(
                "wait for it to finish or raise --lock-wait; if that session is stuck, end it with \
                 `SELECT pg_terminate_backend(<pid>)` (its lock is released with it)",
            );
            err.json = json!({ "holder": holder });
            err
        }
        E::Refused(refusals) => {
            let n = refusals.len();
            let in_files = refusals.iter().filter(|r| r.in_files).count();
            let place = if in_files == n {
                "in the migration files"
            } else if in_files == 0 {
                "in the database history"
            } else {
                "in the migration files and the database history"
            };
            let mut err = Error::new(format!(
                "refusing to {what}: {n} problem{} {place}",
                if n == 1 { "" } else { "s" }
            ))
            .note("nothing was run");
            err.problems = refusals
                .iter()
                .map(|r| (r.message.clone(), Some(r.help.clone())))
                .collect();
            for r in &refusals {
                if let Some(diff) = &r.diff {
                    err.body.extend(diff.lines().map(|l| format!("    {l}")));
                }
            }
            err.json = json!({ "refusals": refusals });
            err
        }
        E::Failed { failure, completed } => {
            let f = &failure;
            let verb = match f.direction {
                Direction::Up => "migration",
                Direction::Down => "reverting migration",
            };
            let mut err = Error::new(format!(
                "{verb} {}_{} failed: {}",
                f.version,
                f.name,
                f.error_text()
            ));
            err.problems.push((f.location(), None));
            if let (Some(line), Some(src)) = (f.line, &f.source_line) {
                err.body.extend(snippet(line, src, f.column, None));
            }
            if let (Some(i), Some(n)) = (f.statement, f.statements_total) {
                err.body.push(format!("  = statement {i} of {n}"));
            }
            if let Some(d) = &f.detail {
                err.body.push(format!("  = detail: {d}"));
            }
            if let Some(h) = &f.hint {
                err.body.push(format!("  = hint: {h}"));
            }
            err.body.push(format!("  help: {}", f.remedy()));
            done_note(&mut err, &completed, f.direction);
            if let Some(why) = &f.not_recorded {
                err.notes.push(format!(
                    "the failure could not be recorded in the history: {why}"
                ));
            }
            err.json = json!({ "failure": *failure, done_key(f.direction): completed });
            err
        }
        E::Stopped(stopped) => {
            let direction = stopped
                .during
                .as_ref()
                .map_or(Direction::Up, |d| d.direction);
            let mut err = Error::new(format!("{}: {}", stopped.context, stopped.error));
            err.body.push(format!("  help: {}", stopped.remedy()));
            done_note(&mut err, &stopped.completed, direction);
            if stopped.completed.is_empty() && stopped.during.is_none() {
                err.notes.push("nothing was changed".into());
            }
            if let Some(also) = &stopped.also {
                err.notes.push(format!("also: {also}"));
            }
            err.json = json!({
                "stopped": *stopped,
                done_key(direction): stopped.completed,
            });
            err
        }
        other => Error::new(other.to_string()),
    }
}
