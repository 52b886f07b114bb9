//! `lint`: zero-downtime checks of the drafts (by default), the named migrations, or all; and
//! the lint gate `apply` and `seal` run on the drafts they are about to apply or seal.

use super::error::{OpError, Untouched};
use super::event::OpEvent;
use super::workspace::Workspace;
use crate::lint::{LintConfig, LintFinding, Severity, lint};
use crate::{LockState, MigrationSet, Version};

/// What to lint.
#[derive(Debug, Clone, Default)]
pub struct LintRequest {
    /// These migrations (none: the drafts).
    pub versions: Vec<Version>,
    /// Every migration.
    pub all: bool,
}

/// What `lint` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LintReport {
    /// The folders linted.
    pub linted: Vec<String>,
    /// The seed files linted (with the drafts or `--all`, when there are any).
    pub seeds: Vec<std::path::PathBuf>,
    /// Whether the drafts were linted (no versions named, not `--all`).
    pub drafts: bool,
    /// The findings, in version, file and position order.
    pub findings: Vec<LintFinding>,
    /// Error-level findings.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
}

/// The lint configuration of the workspace.
pub fn config(ws: &Workspace) -> Result<LintConfig, OpError> {
    LintConfig::from_settings(&ws.settings.lint.clone().unwrap_or_default())
        .map_err(OpError::LintConfig)
}

/// The versions sealed in the lock file.
pub fn sealed(state: &LockState) -> Vec<Version> {
    state
        .sealed()
        .map(|l| l.entries().iter().map(|e| e.version).collect())
        .unwrap_or_default()
}

/// The drafts: migrations not sealed yet.
pub fn drafts(set: &MigrationSet, sealed: &[Version]) -> Vec<Version> {
    set.migrations
        .iter()
        .map(|m| m.version)
        .filter(|v| !sealed.contains(v))
        .collect()
}

/// Counts errors and warnings.
pub fn counts(findings: &[LintFinding]) -> (usize, usize) {
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    (errors, findings.len() - errors)
}

/// Lints what was asked.
pub fn run(ws: &Workspace, request: &LintRequest) -> Result<LintReport, OpError> {
    let (set, state) = ws.read(Untouched::NothingChanged)?;
    let config = config(ws)?;
    let sealed = sealed(&state);
    let targets: Vec<Version> = if request.all {
        set.migrations.iter().map(|m| m.version).collect()
    } else if !request.versions.is_empty() {
        if let Some(v) = request.versions.iter().find(|v| set.get(**v).is_none()) {
            return Err(OpError::Invalid {
                message: format!("there is no migration {v} in {}", ws.dir.display()),
                help: None,
            });
        }
        request.versions.clone()
    } else {
        drafts(&set, &sealed)
    };
    let mut findings = lint(&set, &targets, &sealed, &config);
    let linted: Vec<String> = targets
        .iter()
        .filter_map(|v| set.get(*v))
        .map(|m| m.folder())
        .collect();
    // The seed files too (when there are any), unless migrations were named.
    let seeds = if request.versions.is_empty() {
        super::seed::seed_files(ws, None).unwrap_or_default()
    } else {
        Vec::new()
    };
    findings.extend(crate::lint::lint_seeds(&seeds, &config));
    let (errors, warnings) = counts(&findings);
    Ok(LintReport {
        linted,
        seeds: seeds.into_iter().map(|f| f.path).collect(),
        drafts: !request.all && request.versions.is_empty(),
        findings,
        errors,
        warnings,
    })
}

/// The lint gate of `apply`: lints the drafts up to `to`, reports them as an event, and refuses
/// error-level findings unless `allow_unsafe`.
pub(crate) fn gate(
    ws: &Workspace,
    set: &MigrationSet,
    state: &LockState,
    to: Option<Version>,
    allow_unsafe: bool,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<(), OpError> {
    let sealed = sealed(state);
    let findings: Vec<LintFinding> = lint(set, &drafts(set, &sealed), &sealed, &config(ws)?)
        .into_iter()
        .filter(|f| to.is_none_or(|to| f.version <= to))
        .collect();
    let (errors, _) = counts(&findings);
    let overridden = (errors > 0 && allow_unsafe).then_some(errors);
    events(OpEvent::Lint {
        findings: &findings,
        overridden,
    });
    if errors == 0 || allow_unsafe {
        return Ok(());
    }
    Err(OpError::Lint { findings, errors })
}
