//! The fleet reports: one line per database (text: a table on stdout, each failure in full on
//! stderr as `apply` on that database alone prints it; JSON: one document), its progress
//! events, and the fleet file's errors.

use super::error::{CliError, Problem};
use super::{Format, ms, plural, print_json};
use crate::exit::Exit;
use crate::output::{DIM, ERROR, GOOD, WARNING};
use anstream::println;
use migrate_runtime::engine::State;
use migrate_runtime::ops::fleet::{
    FleetEntry, FleetEvent, FleetFileError, FleetOutcome, FleetReport, FleetStatusReport, Skipped,
};
use migrate_runtime::ops::{OpError, StatusReport, StatusVerdict};
use serde_json::{Value, json};

/// One word for what became of a database.
fn result_word(o: &FleetOutcome) -> &'static str {
    match o {
        FleetOutcome::Applied(a) if a.report.dry_run => "dry_run",
        FleetOutcome::Applied(a) if a.report.applied.is_empty() => "up_to_date",
        FleetOutcome::Applied(_) => "applied",
        FleetOutcome::Failed { .. } => "failed",
        FleetOutcome::Skipped(_) => "skipped",
    }
}

fn skipped_word(s: Skipped) -> &'static str {
    match s {
        Skipped::FailFast => "fail_fast",
        Skipped::Canary => "canary",
    }
}

/// The first line of an error (the table's cell; the full error follows the table).
fn first_line(e: &OpError) -> String {
    e.to_string().lines().next().unwrap_or("").to_string()
}

/// The width of the database column: the longest label, at least the header's.
fn label_width<'a>(labels: impl Iterator<Item = &'a str>) -> usize {
    labels
        .map(str::len)
        .max()
        .unwrap_or(0)
        .max("database".len())
}

/// Prints `apply --fleet`'s report.
pub fn print_apply(format: Format, report: FleetReport) {
    match format {
        Format::Text => apply_text(report),
        Format::Json => apply_json(report),
    }
}

fn apply_text(report: FleetReport) {
    let width = label_width(report.entries.iter().map(|e| e.member.label.as_str()));
    println!(
        "{:<width$}  {:<11}  {:>7}  {:<14}  time",
        "database", "result", "applied", "version"
    );
    for e in &report.entries {
        let (style, word) = match &e.outcome {
            FleetOutcome::Failed { .. } => (ERROR, "failed".to_string()),
            FleetOutcome::Skipped(_) => (WARNING, "skipped".to_string()),
            FleetOutcome::Applied(a) if a.report.dry_run => {
                (DIM, format!("would apply {}", a.report.plan.len()))
            }
            FleetOutcome::Applied(a) if a.report.applied.is_empty() => {
                (GOOD, "up to date".to_string())
            }
            FleetOutcome::Applied(_) => (GOOD, "applied".to_string()),
        };
        let version = e
            .outcome
            .version()
            .map_or_else(|| "-".to_string(), |v| v.to_string());
        let time = if e.outcome.skipped() {
            "-".to_string()
        } else {
            ms(e.duration_ms)
        };
        println!(
            "{:<width$}  {style}{word:<11}{style:#}  {:>7}  {version:<14}  {time}",
            e.member.label,
            e.outcome.applied().len(),
        );
    }
    let count = |word: &str| {
        report
            .entries
            .iter()
            .filter(|e| result_word(&e.outcome) == word)
            .count()
    };
    let mut summary = vec![format!("{} applied", count("applied"))];
    for (word, label) in [
        ("up_to_date", "up to date"),
        ("dry_run", "dry run"),
        ("failed", "failed"),
        ("skipped", "skipped"),
    ] {
        if count(word) > 0 {
            summary.push(format!("{} {label}", count(word)));
        }
    }
    println!(
        "{}: {} in {}",
        plural(report.entries.len(), "database"),
        summary.join(", "),
        ms(report.duration_ms)
    );
    let file = report.file.display().to_string();
    let mut skipped = None;
    for e in report.entries {
        match e.outcome {
            FleetOutcome::Failed { error, .. } => {
                let mut err = CliError::from(*error);
                err.message = format!(
                    "{file}:{} {}: {}",
                    e.member.line, e.member.label, err.message
                );
                err.print(Format::Text);
            }
            FleetOutcome::Skipped(why) => skipped = Some(why),
            FleetOutcome::Applied(_) => {}
        }
    }
    if let Some(why) = skipped {
        let because = match why {
            Skipped::FailFast => "--fail-fast: a database failed",
            Skipped::Canary => "a canary database failed",
        };
        crate::info!(
            "Skipped databases were not touched ({because}); fix the failure and run the same \
             command again: it applies only what is pending where it is pending."
        );
    }
}

fn entry_json(e: FleetEntry) -> Value {
    let word = result_word(&e.outcome);
    let mut v = json!({
        "line": e.member.line,
        "database": e.member.database,
        "result": word,
        "applied": e.outcome.applied(),
        "version": e.outcome.version(),
        "duration_ms": e.duration_ms,
        "error": null,
        "skipped": null,
    });
    match e.outcome {
        FleetOutcome::Applied(a) if a.report.dry_run => v["plan"] = json!(a.report.plan),
        FleetOutcome::Applied(_) => {}
        FleetOutcome::Failed { error, .. } => v["error"] = CliError::from(*error).to_json(),
        FleetOutcome::Skipped(why) => v["skipped"] = json!(skipped_word(why)),
    }
    v
}

fn apply_json(report: FleetReport) {
    let ok = report.ok();
    let mut summary = serde_json::Map::new();
    for word in ["applied", "up_to_date", "dry_run", "failed", "skipped"] {
        let n = report
            .entries
            .iter()
            .filter(|e| result_word(&e.outcome) == word)
            .count();
        summary.insert(word.into(), json!(n));
    }
    print_json(&json!({
        "ok": ok,
        "fleet": report.file,
        "jobs": report.schedule.jobs,
        "fail_fast": report.schedule.fail_fast,
        "canary": report.schedule.canary,
        "duration_ms": report.duration_ms,
        "summary": summary,
        "databases": report.entries.into_iter().map(entry_json).collect::<Vec<_>>(),
    }));
}

/// The exit code of `status --fleet`: 1 when a database could not be read, else 3 when one
/// has problems, else 4 when one has pending migrations, else 0.
pub fn status_exit(report: &FleetStatusReport) -> Exit {
    let verdicts: Vec<Option<StatusVerdict>> = report
        .entries
        .iter()
        .map(|e| e.result.as_ref().ok().map(|r| r.verdict))
        .collect();
    if verdicts.iter().any(Option::is_none) {
        Exit::Error
    } else if verdicts.contains(&Some(StatusVerdict::Problems)) {
        Exit::Problems
    } else if verdicts.contains(&Some(StatusVerdict::Pending)) {
        Exit::Pending
    } else {
        Exit::Success
    }
}

/// The newest applied version in a status report.
fn newest(r: &StatusReport) -> Option<migrate_runtime::Version> {
    r.entries
        .iter()
        .filter(|e| matches!(e.state, State::Applied | State::Edited | State::Missing))
        .map(|e| e.version)
        .max()
}

fn count(r: &StatusReport, state: State) -> usize {
    r.entries.iter().filter(|e| e.state == state).count()
}

/// The problems of one database in a few words: `1 failed, 2 edited, 1 lock-file problem`.
fn problems(r: &StatusReport) -> String {
    let mut out: Vec<String> = r
        .summary
        .iter()
        .filter(|(s, n)| s.is_problem() && *n > 0)
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    if !r.lock_findings.is_empty() {
        out.push(plural(r.lock_findings.len(), "lock-file problem"));
    }
    out.join(", ")
}

fn verdict_word(v: StatusVerdict) -> &'static str {
    match v {
        StatusVerdict::UpToDate => "up_to_date",
        StatusVerdict::Pending => "pending",
        StatusVerdict::Problems => "problems",
    }
}

/// Prints `status --fleet`'s report.
pub fn print_status(format: Format, report: FleetStatusReport) {
    match format {
        Format::Text => status_text(report),
        Format::Json => status_json(report),
    }
}

fn status_text(report: FleetStatusReport) {
    let width = label_width(report.entries.iter().map(|e| e.member.label.as_str()));
    println!(
        "{:<width$}  {:<14}  {:>7}  {:>7}  problems",
        "database", "version", "applied", "pending"
    );
    let (mut up, mut pending, mut bad, mut unreadable) = (0, 0, 0, 0);
    for e in &report.entries {
        match &e.result {
            Ok(r) => {
                let version = newest(r).map_or_else(|| "-".to_string(), |v| v.to_string());
                let p = problems(r);
                let (style, p) = match r.verdict {
                    StatusVerdict::UpToDate => {
                        up += 1;
                        (GOOD, "-".to_string())
                    }
                    StatusVerdict::Pending => {
                        pending += 1;
                        (WARNING, "-".to_string())
                    }
                    StatusVerdict::Problems => {
                        bad += 1;
                        (ERROR, p)
                    }
                };
                println!(
                    "{:<width$}  {version:<14}  {:>7}  {:>7}  {style}{p}{style:#}",
                    e.member.label,
                    count(r, State::Applied),
                    count(r, State::Pending),
                );
            }
            Err(err) => {
                unreadable += 1;
                println!(
                    "{:<width$}  {:<14}  {:>7}  {:>7}  {ERROR}error{ERROR:#}: {}",
                    e.member.label,
                    "-",
                    "-",
                    "-",
                    first_line(err)
                );
            }
        }
    }
    let mut summary = vec![format!("{up} up to date")];
    for (n, what) in [
        (pending, "with pending migrations"),
        (bad, "with problems"),
        (unreadable, "unreadable"),
    ] {
        if n > 0 {
            summary.push(format!("{n} {what}"));
        }
    }
    println!(
        "{}: {}",
        plural(report.entries.len(), "database"),
        summary.join(", ")
    );
    if bad > 0 {
        crate::info!(
            "`cargo migrate status` on one database lists its migrations; `cargo migrate apply` \
             explains each problem and what to do."
        );
    } else if pending > 0 {
        crate::info!("Pending migrations: run `cargo migrate apply --fleet`.");
    }
}

fn status_json(report: FleetStatusReport) {
    let exit = status_exit(&report);
    let databases: Vec<Value> = report
        .entries
        .into_iter()
        .map(|e| match e.result {
            Ok(r) => {
                let summary: serde_json::Map<String, Value> = r
                    .summary
                    .iter()
                    .map(|(s, n)| (s.as_str().to_string(), json!(n)))
                    .collect();
                let problems: Vec<Value> = r
                    .entries
                    .iter()
                    .filter(|m| m.state.is_problem())
                    .map(|m| {
                        json!({
                            "version": m.version, "name": m.name, "state": m.state.as_str(),
                            "error": m.error,
                        })
                    })
                    .collect();
                json!({
                    "line": e.member.line,
                    "database": e.member.database,
                    "verdict": verdict_word(r.verdict),
                    "version": newest(&r),
                    "summary": summary,
                    "problems": problems,
                    "lock_findings": r.lock_findings.iter().map(super::error::finding_json).collect::<Vec<_>>(),
                    "error": null,
                })
            }
            Err(err) => json!({
                "line": e.member.line,
                "database": e.member.database,
                "verdict": "error",
                "version": null,
                "error": CliError::from(err).to_json(),
            }),
        })
        .collect();
    print_json(&json!({
        "ok": exit == Exit::Success,
        "exit_code": exit as u8,
        "fleet": report.file,
        "databases": databases,
    }));
}

/// The fleet file's error: each bad line as `file:line: what`.
pub fn file_error(e: FleetFileError) -> CliError {
    let help = "one database per line: a connection string (postgres://user:password@host/db or \
                `host=... dbname=...`) or `env:VAR`; blank lines and lines starting with `#` are \
                skipped. Lines are never shown: they may hold a password";
    let mut err = match &e {
        FleetFileError::Lines { path, problems } => {
            let mut err = CliError::new(format!(
                "the fleet file {} has {}",
                path.display(),
                plural(problems.len(), "bad line")
            ));
            err.problems = problems
                .iter()
                .map(|p| Problem {
                    place: Some(format!("{}:{}: {}", path.display(), p.line, p.message)),
                    help: None,
                })
                .collect();
            err.json = json!({ "problems": problems.iter().map(|p| json!({
                "path": path, "line": p.line, "message": p.message, "help": help,
            })).collect::<Vec<_>>() });
            err.help(help)
        }
        FleetFileError::Empty { .. } => CliError::new(e.to_string()).help(help),
        _ => CliError::new(e.to_string()),
    };
    err.notes.push("nothing was run".into());
    err
}

/// Prints a fleet run's progress: on a terminal a bar over the databases with the failures
/// above it; with `--format json`, one object per line.
#[derive(Default)]
pub struct FleetProgress {
    bar: Option<indicatif::ProgressBar>,
    failed: usize,
}

impl Drop for FleetProgress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl FleetProgress {
    fn print(&self, f: impl FnOnce()) {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Shows one event.
    pub fn event(&mut self, format: Format, event: FleetEvent<'_>) {
        if format == Format::Json {
            if let Some(v) = event_json(&event) {
                anstream::eprintln!("{v}");
            }
            return;
        }
        match event {
            FleetEvent::Started {
                file,
                databases,
                schedule,
            } => {
                let mut how = vec![format!("{} at a time", schedule.jobs)];
                if let Some(n) = schedule.canary {
                    how.push(format!("canary: the first {n}"));
                }
                if schedule.fail_fast {
                    how.push("fail-fast".into());
                }
                crate::info!(
                    "Applying to {} from {} ({})",
                    plural(databases, "database"),
                    file.display(),
                    how.join(", ")
                );
                if !crate::output::quiet() {
                    let bar = indicatif::ProgressBar::with_draw_target(
                        Some(databases as u64),
                        indicatif::ProgressDrawTarget::stderr(),
                    );
                    let style = indicatif::ProgressStyle::with_template(
                        "{bar:30} {pos}/{len} databases, ETA {eta} {msg}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
                    bar.set_style(style);
                    self.bar = Some(bar);
                }
            }
            FleetEvent::DatabaseStarted(m) => {
                self.print(|| crate::detail!("  Starting {}", m.label));
            }
            FleetEvent::Applied { member, migration } => self.print(|| {
                crate::detail!(
                    "  {}: {GOOD}applied{GOOD:#} {} {DIM}({}){DIM:#}",
                    member.label,
                    migration.folder(),
                    ms(migration.duration_ms)
                )
            }),
            FleetEvent::Waiting { member, message } => {
                self.print(|| crate::info!("  {}: {message}", member.label));
            }
            FleetEvent::DatabaseDone(entry) => {
                if let FleetOutcome::Failed { error, .. } = &entry.outcome {
                    self.failed += 1;
                    self.print(|| {
                        crate::info!(
                            "  {ERROR}failed{ERROR:#} {}: {}",
                            entry.member.label,
                            first_line(error)
                        )
                    });
                } else {
                    self.print(|| {
                        crate::detail!(
                            "  {} {}: {} applied",
                            result_word(&entry.outcome),
                            entry.member.label,
                            entry.outcome.applied().len()
                        )
                    });
                }
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                    if self.failed > 0 {
                        bar.set_message(format!("{} failed", self.failed));
                    }
                }
            }
            FleetEvent::CanaryFailed { failed } => self.print(|| {
                crate::output::warning(&format!(
                    "{} of the canary databases failed: the others are not touched",
                    failed
                ))
            }),
            FleetEvent::Stopping(m) => self.print(|| {
                crate::output::warning(&format!(
                    "--fail-fast: {} failed; no other database is started",
                    m.label
                ))
            }),
            _ => {}
        }
    }
}

fn event_json(event: &FleetEvent<'_>) -> Option<Value> {
    Some(match event {
        FleetEvent::Started {
            file,
            databases,
            schedule,
        } => json!({
            "event": "fleet_started", "fleet": file, "databases": databases,
            "jobs": schedule.jobs, "fail_fast": schedule.fail_fast, "canary": schedule.canary,
        }),
        FleetEvent::DatabaseStarted(m) => {
            json!({ "event": "database_started", "line": m.line, "database": m.database })
        }
        FleetEvent::Applied { member, migration } => json!({
            "event": "applied", "database": member.database, "migration": migration,
        }),
        FleetEvent::Waiting { member, message } => json!({
            "event": "waiting", "database": member.database, "message": message,
        }),
        FleetEvent::DatabaseDone(e) => json!({
            "event": "database_done", "line": e.member.line, "database": e.member.database,
            "result": result_word(&e.outcome), "applied": e.outcome.applied().len(),
            "version": e.outcome.version(), "duration_ms": e.duration_ms,
            "error": match &e.outcome {
                FleetOutcome::Failed { error, .. } => Some(first_line(error)),
                _ => None,
            },
        }),
        FleetEvent::CanaryFailed { failed } => {
            json!({ "event": "canary_failed", "failed": failed })
        }
        FleetEvent::Stopping(m) => json!({ "event": "fail_fast_stopping", "database": m.database }),
        _ => return None,
    })
}
