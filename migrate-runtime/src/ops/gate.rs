//! `check`: one CI gate over the migrations a change ships. Four steps, each reported even
//! when another fails: the lock file (`seal --check`: everything sealed and intact), lint and
//! verify of the new migrations, and, when a database is configured, its `status`.
//!
//! The new migrations are the drafts, and the migrations pending on the configured database
//! (what its next deploy applies); `all` checks every migration instead.

use super::database::DbOptions;
use super::error::{OpError, Untouched};
use super::event::OpEvent;
use super::lint::{LintReport, LintRequest, run as lint};
use super::seal::{CheckReport, check as sealed};
use super::status::{StatusReport, StatusRequest, status};
use super::verify::{Selection, VerifyOutcome, VerifyRequest, verify};
use super::workspace::Workspace;
use crate::engine::State;
use crate::{Finding, Version};
use std::collections::BTreeSet;

/// What `check` was asked.
#[derive(Debug, Clone, Default)]
pub struct GateRequest {
    /// Lint and verify every migration, not only the new ones.
    pub all: bool,
    /// `--shadow-url`: the server for verify's shadow database.
    pub shadow_url: Option<String>,
    /// Database options (the connect timeout).
    pub db: DbOptions,
}

/// How one step ended.
#[derive(Debug)]
pub enum Step<T> {
    /// It ran; its report says whether it passed.
    Ran(T),
    /// It did not run, for this reason (nothing to check, no database configured, or another
    /// step's problem makes it meaningless).
    Skipped(String),
    /// It could not run.
    Failed(OpError),
}

impl<T> Step<T> {
    /// `Some(true)` ran and passed, `Some(false)` ran and found problems or failed, `None`
    /// skipped.
    fn passed(&self, pass: impl Fn(&T) -> bool) -> Option<bool> {
        match self {
            Step::Ran(report) => Some(pass(report)),
            Step::Skipped(_) => None,
            Step::Failed(_) => Some(false),
        }
    }

    /// It could not run.
    pub fn failed(&self) -> bool {
        matches!(self, Step::Failed(_))
    }
}

/// What `check` found.
#[derive(Debug)]
pub struct GateReport {
    /// The new migrations (the drafts and the pending ones), or every one with `all`.
    pub checked: Vec<String>,
    /// Every migration was checked (`all`).
    pub all: bool,
    /// `seal --check`.
    pub sealed: Step<CheckReport>,
    /// `lint` of the new migrations.
    pub lint: Step<LintReport>,
    /// `verify` of the new migrations.
    pub verify: Step<VerifyOutcome>,
    /// `status` of the configured database.
    pub status: Step<StatusReport>,
    /// The configured database's pending migrations that are Rust backfills (folder names):
    /// `cargo migrate apply` refuses to run them; the application applies them with its code.
    pub rust_backfills: Vec<String>,
}

impl GateReport {
    /// Every step that ran passed, and none failed to run.
    pub fn passed(&self) -> bool {
        self.results().iter().all(|r| r.unwrap_or(true))
    }

    /// A step could not run (the verdict is unknown).
    pub fn errored(&self) -> bool {
        self.sealed.failed() || self.lint.failed() || self.verify.failed() || self.status.failed()
    }

    /// Each step's result, in order: sealed, lint, verify, status.
    pub fn results(&self) -> [Option<bool>; 4] {
        [
            self.sealed.passed(|r| r.findings.is_empty()),
            self.lint.passed(|r| r.errors == 0),
            self.verify.passed(|r| r.passed),
            self.status
                .passed(|r| r.verdict != super::StatusVerdict::Problems),
        ]
    }
}

/// Runs the gate.
///
/// ```no_run
/// use migrate_runtime::ops::{self, GateRequest, Workspace, WorkspaceOptions};
/// let ws = Workspace::locate(&WorkspaceOptions::default(), &std::env::current_dir()?)?;
/// let report = ops::gate(&ws, &GateRequest::default(), &mut |_| {})?;
/// std::process::exit(if report.passed() { 0 } else { 3 });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn gate(
    ws: &Workspace,
    request: &GateRequest,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<GateReport, OpError> {
    // An unreadable directory stops everything: there is nothing to check.
    let (set, _) = ws.read(Untouched::NothingChanged)?;
    let sealed = match sealed(ws) {
        Ok(report) => Step::Ran(report),
        Err(e) => Step::Failed(e),
    };
    let status = if ws.database_url.is_none() && ws.settings.database_url.is_none() {
        Step::Skipped("no database configured (DATABASE_URL or `database_url`)".into())
    } else {
        let request = StatusRequest {
            db: request.db.clone(),
            ..StatusRequest::default()
        };
        match status(ws, &request, events) {
            Ok(report) => Step::Ran(report),
            Err(e) => Step::Failed(e),
        }
    };
    // What the configured database's next deploy applies, as this directory has it.
    let pending: Vec<&crate::Migration> = match &status {
        Step::Ran(r) => (r.entries.iter())
            .filter(|e| matches!(e.state, State::Pending | State::OutOfOrder))
            .filter_map(|e| set.get(e.version))
            .collect(),
        _ => Vec::new(),
    };
    let rust_backfills = (pending.iter())
        .filter(|m| m.up.is_rust_backfill())
        .map(|m| m.folder())
        .collect();
    let mut new: BTreeSet<Version> = pending.iter().map(|m| m.version).collect();
    if let Step::Ran(r) = &sealed {
        new.extend(r.findings.iter().filter_map(Finding::draft));
    }
    let checked: Vec<String> = if request.all {
        set.migrations.iter().map(|m| m.folder()).collect()
    } else {
        new.iter()
            .filter_map(|v| set.get(*v))
            .map(|m| m.folder())
            .collect()
    };
    let nothing_new = !request.all && new.is_empty();
    let lint = if nothing_new {
        Step::Skipped("no new migrations".into())
    } else {
        let request = LintRequest {
            versions: if request.all {
                Vec::new()
            } else {
                new.iter().copied().collect()
            },
            all: request.all,
        };
        match lint(ws, &request) {
            Ok(report) => Step::Ran(report),
            Err(e) => Step::Failed(e),
        }
    };
    let broken_lock = match &sealed {
        Step::Ran(r) => r
            .findings
            .iter()
            .any(|f| !matches!(f, Finding::Unsealed { .. } | Finding::OutOfOrder { .. })),
        _ => true,
    };
    let verify = if nothing_new {
        Step::Skipped("no new migrations".into())
    } else if broken_lock {
        Step::Skipped("the lock file has problems (see above)".into())
    } else {
        let request = VerifyRequest {
            selection: if request.all {
                Selection::All
            } else {
                Selection::Versions(new.iter().copied().collect())
            },
            shadow_url: request.shadow_url.clone(),
            db: request.db.clone(),
        };
        match verify(ws, &request, events) {
            Ok(report) => Step::Ran(report),
            Err(e) => Step::Failed(e),
        }
    };
    Ok(GateReport {
        checked,
        all: request.all,
        sealed,
        lint,
        verify,
        status,
        rust_backfills,
    })
}
