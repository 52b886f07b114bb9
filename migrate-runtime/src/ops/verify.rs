//! `verify`: the lock-file checks, then each migration asked for (by default the drafts, what
//! is about to ship) applied, reverted and applied again on a shadow database of its own,
//! with the schema compared at each step. Nothing is written to the project's database or to
//! any history.

use super::database::{self, DbOptions};
use super::error::OpError;
use super::event::OpEvent;
use super::preflight::preflight;
use super::workspace::Workspace;
use crate::engine::HistoryTable;
use crate::engine::connection::ConnInfo;
use crate::schema::SnapshotOptions;
use crate::shadow::{self, Checked, ShadowDb, Verdict, VerifyRequest as Replay};
use crate::{Finding, MigrationSet, Version, verify as lock_verify};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// Which migrations `verify` checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Selection {
    /// The drafts: migrations not sealed yet (what is about to ship).
    #[default]
    Drafts,
    /// Every migration.
    All,
    /// These versions.
    Versions(Vec<Version>),
}

/// What `verify` was asked.
#[derive(Debug, Clone, Default)]
pub struct VerifyRequest {
    /// Which migrations.
    pub selection: Selection,
    /// `--shadow-url`: the server to make the shadow database on.
    pub shadow_url: Option<String>,
    /// Database options (the connect timeout).
    pub db: DbOptions,
}

/// What `verify` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifyOutcome {
    /// `user@host:port/db` of the server the shadow database was made on (none when there
    /// was nothing to check).
    pub shadow: Option<String>,
    /// `drafts`, `all` or `versions`.
    pub selection: &'static str,
    /// One verdict per migration checked (and `up_failed` for one that stopped the replay),
    /// in version order.
    pub migrations: Vec<Checked>,
    /// How many of each verdict.
    pub summary: BTreeMap<Verdict, usize>,
    /// Every verdict passes (`ok`, `column_order`, `irreversible`).
    pub passed: bool,
    /// Wall time.
    pub duration_ms: f64,
}

/// Verifies migrations on a shadow database.
pub fn verify(
    ws: &Workspace,
    request: &VerifyRequest,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<VerifyOutcome, OpError> {
    let (set, state) = preflight(ws, &request.db)?;
    let check = selected(&set, &lock_verify(&set, &state), &request.selection)?;
    let selection = match request.selection {
        Selection::Drafts => "drafts",
        Selection::All => "all",
        Selection::Versions(_) => "versions",
    };
    rehearse(ws, &set, check, request, selection, events)
}

/// Verifies `check` (nothing when empty) on a shadow database; the part `seal --verify`
/// shares.
pub(crate) fn rehearse(
    ws: &Workspace,
    set: &MigrationSet,
    check: BTreeSet<Version>,
    request: &VerifyRequest,
    selection: &'static str,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<VerifyOutcome, OpError> {
    let started = Instant::now();
    if check.is_empty() {
        return Ok(outcome(None, selection, Vec::new(), started));
    }
    let settings = database::db_settings(ws, &request.db, events)?;
    let server = shadow_server(ws, request.shadow_url.as_deref(), events)?;
    let mut shadow = shadow_db(&server, settings.connect_timeout, events)?;
    let replay = Replay {
        set,
        check,
        snapshot: snapshot_options(&settings.engine.config.history),
    };
    let checked = shadow::verify(&mut shadow, &replay, &mut |e| events(OpEvent::Verify(e)))?;
    shadow.drop_now()?;
    Ok(outcome(Some(server.label()), selection, checked, started))
}

/// A new shadow database on `server`, saying which ones left by killed runs were dropped.
pub(crate) fn shadow_db(
    server: &ConnInfo,
    timeout: Option<std::time::Duration>,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<ShadowDb, OpError> {
    let shadow = ShadowDb::create(server, timeout)?;
    if !shadow.swept().is_empty() {
        events(OpEvent::ShadowsSwept {
            server: &server.label(),
            databases: shadow.swept(),
        });
    }
    Ok(shadow)
}

/// The snapshots leave out the history table, as `diff` does (a shadow database has none).
pub(crate) fn snapshot_options(history: &HistoryTable) -> SnapshotOptions {
    SnapshotOptions {
        exclude_table: Some(history.clone()),
        schemas: None,
    }
}

/// The server shadow databases are made on: `--shadow-url`, else `shadow_url` in the
/// settings, else the project's database's server (or the dev database's).
pub(crate) fn shadow_server(
    ws: &Workspace,
    shadow_url: Option<&str>,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<ConnInfo, OpError> {
    let given = match (shadow_url, ws.settings.shadow_url.as_deref()) {
        (Some(url), _) => Some((url, "--shadow-url")),
        (None, Some(url)) => Some((url, "`shadow_url` in [package.metadata.migrate]")),
        (None, None) => None,
    };
    match given {
        Some((url, source)) => ConnInfo::parse(url).map_err(|error| OpError::Url {
            source: source.to_string(),
            error,
        }),
        None => Ok(database::conninfo(ws, events)?.clone()),
    }
}

/// The versions to check.
fn selected(
    set: &MigrationSet,
    findings: &[Finding],
    selection: &Selection,
) -> Result<BTreeSet<Version>, OpError> {
    match selection {
        Selection::All => Ok(set.migrations.iter().map(|m| m.version).collect()),
        Selection::Drafts => Ok(findings.iter().filter_map(Finding::draft).collect()),
        Selection::Versions(versions) => {
            let missing: Vec<String> = versions
                .iter()
                .filter(|v| set.get(**v).is_none())
                .map(Version::to_string)
                .collect();
            if !missing.is_empty() {
                return Err(OpError::Invalid {
                    message: format!(
                        "no migration {} in {}",
                        missing.join(", "),
                        set.dir.display()
                    ),
                    help: Some("`cargo migrate status` lists the migrations".into()),
                });
            }
            Ok(versions.iter().copied().collect())
        }
    }
}

fn outcome(
    shadow: Option<String>,
    selection: &'static str,
    migrations: Vec<Checked>,
    started: Instant,
) -> VerifyOutcome {
    let mut summary = BTreeMap::new();
    for c in &migrations {
        *summary.entry(c.verdict).or_insert(0) += 1;
    }
    VerifyOutcome {
        shadow,
        selection,
        passed: migrations.iter().all(|c| c.verdict.passes()),
        migrations,
        summary,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
    }
}
