//! Lint findings: rustc-style text, a per-rule summary of many, JSON, or GitHub workflow
//! annotations. Used by `lint`, and for the lint gate of `apply` and `seal`.

use super::snippet;
use migrate_runtime::lint::{LintFinding, Severity};
use serde_json::{Value, json};

/// One finding as rustc-style text lines.
pub fn text(f: &LintFinding) -> Vec<String> {
    let level = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut out = vec![
        format!("{level}[{}]: {}", f.rule, f.message),
        format!("  --> {}:{}:{}", f.path.display(), f.line, f.column),
    ];
    let end = (f.end_line == f.line).then_some(f.end_column);
    out.extend(snippet(f.line, &f.source_line, Some(f.column), end));
    out.push(format!("  = help: {}", f.help));
    out
}

/// How many findings are printed in full before they are summarised.
const SHOWN_IN_FULL: usize = 10;

/// Prints findings in full when there are few; else a summary per rule.
pub fn print_text_or_summary(findings: &[LintFinding]) {
    if findings.len() <= SHOWN_IN_FULL {
        print_text(findings);
    } else {
        for line in summary(findings) {
            eprintln!("{line}");
        }
    }
}

/// One line per rule: how many findings, the first few locations, and the command that shows
/// them all.
///
/// ```ignore
/// "  ban-drop-column (error): 120, at m/a.sql:3, m/b.sql:5, m/c.sql:1 and 117 more"
/// ```
pub fn summary(findings: &[LintFinding]) -> Vec<String> {
    let mut rules: Vec<(&str, Severity, Vec<&LintFinding>)> = Vec::new();
    for f in findings {
        match rules
            .iter_mut()
            .find(|(r, s, _)| *r == f.rule && *s == f.severity)
        {
            Some((_, _, list)) => list.push(f),
            None => rules.push((&f.rule, f.severity, vec![f])),
        }
    }
    let mut lines: Vec<String> = rules
        .iter()
        .map(|(rule, severity, list)| {
            let level = match severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let first: Vec<String> = list
                .iter()
                .take(3)
                .map(|f| format!("{}:{}", f.path.display(), f.line))
                .collect();
            let more = match list.len().saturating_sub(3) {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            format!(
                "  {rule} ({level}): {}, at {}{more}",
                list.len(),
                first.join(", ")
            )
        })
        .collect();
    lines.push("  `cargo migrate lint` shows each one with its help".into());
    lines
}

/// Prints findings as text on stderr.
pub fn print_text(findings: &[LintFinding]) {
    for f in findings {
        for line in text(f) {
            eprintln!("{line}");
        }
        eprintln!();
    }
}

/// A finding as JSON.
pub fn finding_json(f: &LintFinding) -> Value {
    serde_json::to_value(f).unwrap_or_else(|_| json!({}))
}

pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A finding as a GitHub Actions workflow command.
pub fn github(f: &LintFinding) -> String {
    let level = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    format!(
        "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
        escape_property(&f.path.display().to_string()),
        f.line,
        f.column,
        f.end_line,
        f.end_column,
        escape_property(&f.rule),
        escape_data(&format!("{}\nhelp: {}", f.message, f.help))
    )
}

/// Prints findings as text, or as GitHub annotations on stdout.
pub fn print(github_annotations: bool, findings: &[LintFinding]) {
    if github_annotations {
        for f in findings {
            println!("{}", github(f));
        }
    } else {
        print_text(findings);
    }
}

/// Prints `lint`'s report; returns the exit code (3 with error-level findings).
pub fn print_report(
    format: super::Format,
    github_annotations: bool,
    r: &migrate_runtime::ops::LintReport,
) -> crate::exit::Exit {
    use super::plural;
    let exit = if r.errors > 0 {
        crate::exit::Exit::Problems
    } else {
        crate::exit::Exit::Success
    };
    let what = if r.drafts {
        "draft migration"
    } else {
        "migration"
    };
    let what = match r.seeds.len() {
        0 => plural(r.linted.len(), what),
        n => format!(
            "{} and {}",
            plural(r.linted.len(), what),
            plural(n, "seed file")
        ),
    };
    match format {
        super::Format::Json => super::print_json(&json!({
            "ok": r.errors == 0,
            "exit_code": exit as u8,
            "linted": r.linted,
            "seeds": r.seeds,
            "findings": r.findings.iter().map(finding_json).collect::<Vec<_>>(),
            "summary": { "errors": r.errors, "warnings": r.warnings },
        })),
        super::Format::Text => {
            print(github_annotations, &r.findings);
            if !github_annotations {
                if r.findings.is_empty() {
                    crate::info!("No problems in {what}.");
                } else {
                    crate::info!(
                        "{}, {} in {}.",
                        plural(r.errors, "error"),
                        plural(r.warnings, "warning"),
                        what
                    );
                }
            }
        }
    }
    exit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_annotations_escape_their_data() {
        let f = LintFinding {
            rule: "ban-drop-column".into(),
            severity: Severity::Error,
            message: "Dropping a column: 100% bad".into(),
            help: "a,b".into(),
            version: "20261121090000".parse().unwrap(),
            name: "x".into(),
            path: "migrations/20261121090000_x/migration.sql".into(),
            line: 3,
            column: 19,
            end_line: 3,
            end_column: 36,
            source_line: String::new(),
        };
        assert_eq!(
            github(&f),
            "::error file=migrations/20261121090000_x/migration.sql,line=3,col=19,endLine=3,endColumn=36,\
             title=ban-drop-column::Dropping a column: 100%25 bad%0Ahelp: a,b"
        );
    }
}
