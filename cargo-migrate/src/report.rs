//! Printing: text for people (results on stdout, notes and errors on stderr) or one JSON
//! document on stdout for machines. Every error is an [`Error`]: a message, the places it
//! concerns, and what to do.

use crate::cli::Format;
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
    /// What happened to the files (e.g. "nothing was written").
    pub note: Option<String>,
    /// Extra fields for the JSON report.
    pub json: Value,
}

impl Error {
    /// A plain error.
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            problems: Vec::new(),
            note: None,
            json: json!({}),
        }
    }

    /// Adds the closing note.
    pub fn note(mut self, note: impl Into<String>) -> Error {
        self.note = Some(note.into());
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
        eprintln!("{label}: {f}");
        eprintln!("  help: {}", f.help());
    }
}

/// Prints a command's failure in the chosen format.
pub fn print_error(format: Format, e: &Error) {
    match format {
        Format::Text => {
            eprintln!("error: {}", e.message);
            for (place, help) in &e.problems {
                if !place.is_empty() {
                    eprintln!("  --> {place}");
                }
                if let Some(help) = help {
                    eprintln!("  help: {help}");
                }
            }
            if let Some(note) = &e.note {
                eprintln!("  note: {note}");
            }
        }
        Format::Json => {
            let mut v = json!({ "ok": false, "error": e.message, "note": e.note });
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
