//! The CLI's one error: what could not be done, each problem with its place and help, lines
//! printed as they are (a SQL snippet, a diff), closing notes, and the JSON fields. Built from
//! the operations' typed [`OpError`] (and its findings, refusals and reading errors) by `From`.

use super::{Format, print_json, snippet};
use crate::output::{ERROR, HELP};
use anstream::eprintln;
use migrate_runtime::Finding;
use migrate_runtime::devdb::DevDbError;
use migrate_runtime::engine::{Completed, Direction, EngineError, Refusal};
use migrate_runtime::model::{CreateError, ReadError, ReadErrors};
use migrate_runtime::ops::{EditedDiff, OpError};
use serde_json::{Value, json};

/// One problem: where (`path:line: what`), and what to do.
#[derive(Debug, Clone, Default)]
pub struct Problem {
    /// The place and what is wrong there.
    pub place: Option<String>,
    /// What to do.
    pub help: Option<String>,
}

impl From<&Finding> for Problem {
    fn from(f: &Finding) -> Problem {
        Problem {
            place: Some(f.to_string()),
            help: Some(f.help()),
        }
    }
}

impl From<&Refusal> for Problem {
    fn from(r: &Refusal) -> Problem {
        Problem {
            place: Some(r.message.clone()),
            help: Some(r.help.clone()),
        }
    }
}

impl From<&ReadError> for Problem {
    fn from(r: &ReadError) -> Problem {
        Problem {
            place: Some(r.to_string()),
            help: r.problem.help(),
        }
    }
}

/// A command's failure.
#[derive(Debug, Clone)]
pub struct CliError {
    /// One line: what could not be done.
    pub message: String,
    /// Each problem with its help.
    pub problems: Vec<Problem>,
    /// Lines printed as they are after the problems.
    pub body: Vec<String>,
    /// What happened (e.g. "nothing was written"), in order.
    pub notes: Vec<String>,
    /// Extra fields for the JSON report.
    pub json: Value,
}

impl CliError {
    /// A plain error.
    pub fn new(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            problems: Vec::new(),
            body: Vec::new(),
            notes: Vec::new(),
            json: json!({}),
        }
    }

    /// Adds a help line.
    pub fn help(mut self, help: impl Into<String>) -> CliError {
        self.problems.push(Problem {
            place: None,
            help: Some(help.into()),
        });
        self
    }

    /// Adds a closing note.
    pub fn note(mut self, note: impl Into<String>) -> CliError {
        self.notes.push(note.into());
        self
    }

    /// Prints the failure in the chosen format.
    pub fn print(&self, format: Format) {
        match format {
            Format::Text => {
                for line in self.lines() {
                    eprintln!("{line}");
                }
            }
            Format::Json => print_json(&self.to_json()),
        }
    }

    /// The failure as text lines: `error: ...`, then its places, help, body and notes.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!("{ERROR}error{ERROR:#}: {}", self.message)];
        for p in &self.problems {
            if let Some(place) = &p.place {
                lines.push(format!("  --> {place}"));
            }
            if let Some(help) = &p.help {
                lines.push(format!("  {HELP}help{HELP:#}: {help}"));
            }
        }
        lines.extend(self.body.iter().cloned());
        for note in &self.notes {
            lines.push(format!("  {HELP}note{HELP:#}: {note}"));
        }
        lines
    }

    /// The failure as JSON: `{ok: false, error, note, help, ...}`.
    pub fn to_json(&self) -> Value {
        let note = (!self.notes.is_empty()).then(|| self.notes.join("; "));
        let mut v = json!({ "ok": false, "error": self.message, "note": note });
        if let (Value::Object(map), Value::Object(extra)) = (&mut v, &self.json) {
            map.extend(extra.clone());
        }
        if !self.problems.is_empty() && !v.as_object().is_some_and(|m| m.contains_key("problems")) {
            v["help"] = json!(
                self.problems
                    .iter()
                    .filter_map(|p| p.help.clone())
                    .collect::<Vec<_>>()
            );
        }
        v
    }
}

/// A lock-file finding as JSON: its fields, plus `message` and `help`.
pub fn finding_json(f: &Finding) -> Value {
    let mut v = serde_json::to_value(f).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut v {
        map.insert("message".into(), Value::String(f.to_string()));
        map.insert("help".into(), Value::String(f.help()));
    }
    v
}

fn read_error(errors: &ReadErrors) -> CliError {
    let n = errors.0.len();
    let mut e = CliError::new(if n == 1 {
        "the migrations directory has a problem".to_string()
    } else {
        format!("the migrations directory has {n} problems")
    });
    e.problems = errors.0.iter().map(Problem::from).collect();
    e.json = json!({ "problems": errors.0.iter().map(|r| json!({
        "path": r.path, "line": r.line, "message": r.problem.to_string(), "help": r.problem.help(),
    })).collect::<Vec<_>>() });
    e
}

fn locked_help(f: &Finding, locked: bool) -> String {
    match f {
        Finding::Unsealed { .. } | Finding::OutOfOrder { .. } if locked => {
            "--locked applies sealed migrations only: seal it (`cargo migrate seal`), review and \
             commit migrations.lock, then deploy"
                .into()
        }
        _ => f.help(),
    }
}

fn dev_db_error(e: DevDbError) -> CliError {
    let mut err = CliError::new(e.message);
    if let Some(detail) = e.detail {
        err.body = detail.lines().map(|l| format!("  | {l}")).collect();
    }
    if !e.help.is_empty() {
        err = err.help(e.help);
    }
    err
}

impl From<OpError> for CliError {
    fn from(e: OpError) -> CliError {
        match e {
            OpError::Project(message) => CliError::new(message),
            OpError::Read { errors, untouched } => {
                let mut e = read_error(&errors);
                if let Some(u) = untouched {
                    e = e.note(u.as_str());
                }
                e
            }
            OpError::Io {
                message,
                help,
                untouched,
            } => {
                let mut e = CliError::new(message);
                if let Some(h) = help {
                    e = e.help(h);
                }
                if let Some(u) = untouched {
                    e = e.note(u.as_str());
                }
                e
            }
            OpError::Lock {
                message,
                findings,
                locked,
                diffs,
            } => {
                let mut e = CliError::new(message).note("nothing was run");
                e.problems = findings
                    .iter()
                    .map(|f| Problem {
                        place: Some(f.to_string()),
                        help: Some(locked_help(f, locked)),
                    })
                    .collect();
                for d in &diffs {
                    match d {
                        EditedDiff::Diff { diff, .. } => {
                            e.body.extend(diff.lines().map(|l| format!("    {l}")));
                        }
                        EditedDiff::NotRecorded { version, path } => e.body.push(format!(
                            "  = note: {version} is not recorded in a reachable database; \
                             `git diff -- {}` shows what changed since the last commit",
                            path.display()
                        )),
                    }
                }
                e.json =
                    json!({ "findings": findings.iter().map(finding_json).collect::<Vec<_>>() });
                if !diffs.is_empty() {
                    e.json["diffs"] = json!(diffs);
                }
                e
            }
            OpError::SealRefused {
                lock_path,
                refused,
                intact,
            } => {
                let mut e = CliError::new("nothing was sealed")
                    .note(format!("{} was not changed", lock_path.display()));
                e.problems = refused.findings.iter().map(Problem::from).collect();
                for v in &refused.useless_force {
                    let why = if intact.contains(v) {
                        format!("--force {v}: migration {v} is intact; there is nothing to re-seal")
                    } else {
                        format!("--force {v}: no migration {v} in the directory or the lock file")
                    };
                    e.problems.push(Problem {
                        place: Some(why),
                        help: None,
                    });
                }
                e.json = json!({
                    "findings": refused.findings.iter().map(finding_json).collect::<Vec<_>>(),
                    "useless_force": refused.useless_force,
                });
                e
            }
            OpError::Lint { findings, errors } => {
                let mut e = CliError::new(format!(
                    "refusing to apply: lint found {errors} error(s) in the draft migrations"
                ))
                .help(
                    "fix them; or, where it is safe, suppress one with `-- migrate:allow(<rule>) \
                     reason: <why>` on the line before the statement; or pass --allow-unsafe",
                )
                .note("nothing was run");
                e.json = json!({ "lint": findings.iter().map(super::lint::finding_json).collect::<Vec<_>>() });
                e
            }
            OpError::LintConfig(message) => CliError::new(message),
            OpError::Setting { source, message } => {
                CliError::new(format!("invalid {source}: {message}")).note("nothing was changed")
            }
            OpError::Url { source, error } => {
                CliError::new(format!("invalid database URL (from {source}): {error}"))
                    .help(
                        "use postgres://user:password@host:port/dbname (percent-encode special \
                         characters) or `host=... user=... password=... dbname=...`; the URL is \
                         not shown since it may hold a password",
                    )
                    .note("nothing was changed")
            }
            OpError::Connect(e) => CliError::new(e.message).help(e.hint),
            OpError::DevDb(e) => dev_db_error(e),
            OpError::Engine {
                error,
                what,
                database,
                sealed,
            } => {
                let mut e = engine_error(error, what);
                if !sealed.is_empty() {
                    e.json["sealed"] = json!(sealed);
                }
                if let Some(db) = database {
                    e.json["database"] = json!(db);
                }
                e
            }
            OpError::NotLocal {
                what,
                label,
                address,
                dbname,
            } => CliError::new(format!(
                "refusing to {what} {label}: it connects to {address}, which is not on this \
                 machine, and {}",
                if what == "seed" {
                    "seed writes data into it"
                } else {
                    "reset drops every table"
                }
            ))
            .help(format!("if you really mean it: --force --confirm {dbname}"))
            .note("nothing was changed"),
            OpError::Unconfirmed {
                what,
                label,
                dbname,
            } => CliError::new(format!(
                "--confirm must repeat the database name `{dbname}` to {what} {label}"
            ))
            .note("nothing was changed"),
            OpError::Create(e) => match e {
                CreateError::InvalidName(message) => CliError::new(message),
                CreateError::Io { .. } => {
                    CliError::new(format!("cannot create the migration: {e}"))
                }
            }
            .note("nothing was created"),
            OpError::Import { error, database } => super::import::error(*error, database),
            OpError::Shadow(e) => shadow_error(*e),
            OpError::Unverified(outcome) => super::seal::unverified(&outcome),
            OpError::Backup {
                error,
                help,
                untouched,
            } => {
                let mut e = CliError::new(error.message);
                e.body = error.detail.iter().map(|l| format!("  | {l}")).collect();
                for h in error.help.into_iter().chain(help) {
                    e = e.help(h);
                }
                e.json = json!({ "detail": error.detail });
                e.note(untouched.as_str())
            }
            OpError::Invalid { message, help } => {
                let mut e = CliError::new(message);
                if let Some(h) = help {
                    e = e.help(h);
                }
                e
            }
            OpError::Fleet(e) => super::fleet::file_error(e),
            OpError::Seed(failure) => super::seed::error(*failure),
            other => CliError::new(format!("{other:?}")),
        }
    }
}

/// `verify` or `diff` could not be completed on the shadow database.
fn shadow_error(e: migrate_runtime::shadow::VerifyError) -> CliError {
    use migrate_runtime::shadow::VerifyError as V;
    let error = match e {
        V::Shadow(s) => CliError::new(s.message).help(s.help),
        V::Inconsistent { diff } => {
            let mut error = CliError::new(
                "the schema read step by step differs from a full read at the end; this is a \
                 defect of cargo-migrate, please report it with your migrations",
            );
            error.body = diff.to_string().lines().map(str::to_string).collect();
            error
        }
        V::Replay { failure } => CliError::new(format!(
            "migration {} as recorded in the history fails on an empty database: {}",
            failure.folder(),
            failure.error_text()
        ))
        .note(format!("at {}", failure.location()))
        .help(
            "the applied migrations cannot rebuild the schema, so drift cannot be measured: \
             fix the cause (e.g. a migration depending on something made by hand, or an \
             extension missing on the shadow database's server), or use --shadow-url",
        ),
        other => CliError::new(other.to_string()),
    };
    error.note("nothing was written to the project's database")
}

/// An engine error: rustc-style for a failed migration (file:line:col, the SQL line with a
/// caret, the PostgreSQL error, what remains in the database, what to do), and for a run that
/// stopped part-way, exactly what committed before it.
fn engine_error(e: EngineError, what: &str) -> CliError {
    use EngineError as E;
    let done_key = |d: Direction| match d {
        Direction::Up => "applied",
        Direction::Down => "reverted",
    };
    let done_note = |err: &mut CliError, done: &[Completed], d: Direction| {
        if !done.is_empty() {
            err.notes.push(format!(
                "{} migration(s) before it were {}: {}",
                done.len(),
                done_key(d),
                done.iter()
                    .map(|a| a.folder())
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
            let mut err = CliError::new(message).note("nothing was changed");
            if let Some(h) = help {
                err = err.help(h);
            }
            err
        }
        E::LockBusy { waited, holder } => {
            let mut err = CliError::new(format!(
                "another migration runner holds the migration lock (waited {}s)",
                waited.as_secs()
            ))
            .note("nothing was changed");
            if let Some(h) = &holder {
                err.problems.push(Problem {
                    place: Some(format!("held by {h}")),
                    help: None,
                });
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
            let mut err = CliError::new(format!(
                "refusing to {what}: {n} problem{} {place}",
                if n == 1 { "" } else { "s" }
            ))
            .note("nothing was run");
            err.problems = refusals.iter().map(Problem::from).collect();
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
            let mut err =
                CliError::new(format!("{verb} {} failed: {}", f.folder(), f.error_text()));
            err.problems.push(Problem {
                place: Some(f.location()),
                help: None,
            });
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
            let mut err = CliError::new(format!("{}: {}", stopped.context, stopped.error));
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
        other => CliError::new(other.to_string()),
    }
}
