//! `seed`'s report and its failure.

use super::error::{CliError, Problem};
use super::{Format, ms, plural, print_json, snippet};
use migrate_runtime::engine::Failure;
use migrate_runtime::ops::SeedOutcome;
use serde_json::json;
use std::path::PathBuf;

/// Prints the outcome.
pub fn print(format: Format, o: &SeedOutcome) {
    match format {
        Format::Text => {
            print_files(&o.files);
            crate::info!(
                "Seeded {} from {} in {}.",
                o.label,
                plural(o.files.len(), "file"),
                ms(o.duration_ms)
            );
        }
        Format::Json => print_json(&json!({
            "ok": true,
            "database": o.database,
            "files": o.files,
            "duration_ms": o.duration_ms,
            "lint": o.lint.iter().map(super::lint::finding_json).collect::<Vec<_>>(),
        })),
    }
}

/// `  Seeded <file>` for each file.
pub fn print_files(files: &[PathBuf]) {
    for f in files {
        crate::info!("  Seeded {}", f.display());
    }
}

/// A seed file failed: where (file:line:column, the SQL line with a caret), PostgreSQL's
/// error, and that nothing was written.
pub fn error(f: Failure) -> CliError {
    let mut err = CliError::new(format!(
        "seed file {} failed: {}",
        f.file.display(),
        f.error_text()
    ));
    err.problems.push(Problem {
        place: Some(f.location()),
        help: None,
    });
    if let (Some(line), Some(src)) = (f.line, &f.source_line) {
        err.body.extend(snippet(line, src, f.column, None));
    }
    if let Some(d) = &f.detail {
        err.body.push(format!("  = detail: {d}"));
    }
    if let Some(h) = &f.hint {
        err.body.push(format!("  = hint: {h}"));
    }
    err.json = json!({ "failure": {
        "file": f.file, "line": f.line, "column": f.column, "statement": f.statement,
        "code": f.code, "message": f.message, "detail": f.detail, "hint": f.hint,
    }});
    err.note("the seed transaction was rolled back: nothing of any seed file was written")
}
