//! The database side of the CLI: which database (`--database-url`, `DATABASE_URL`, `.env`,
//! settings, dev database), the engine settings (flags over `[package.metadata.migrate]` over
//! defaults, each parsed and range-checked before anything connects), connecting, and the
//! lock-file checks every command that applies migrations makes.

use crate::cli::DbArgs;
use crate::context::Context;
use crate::dev_db;
use crate::report::{Error, finding_json};
use migrate_runtime::engine::connection::ConnInfo;
use migrate_runtime::engine::history::Row;
use migrate_runtime::engine::status::applied_drafts;
use migrate_runtime::engine::{Engine, EngineConfig, check_lock_timeout, check_wait};
use migrate_runtime::lockfile::SqlKind;
use migrate_runtime::{
    Finding, Ident, LockState, MigrationSet, Version, format_duration, lockfile, parse_duration,
    verify,
};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// A connected database.
pub struct Db {
    pub client: postgres::Client,
    /// `user@host:port/db`, never the password.
    pub label: String,
}

/// The connection: `--database-url` or `DATABASE_URL` (environment or `.env`), else
/// `database_url` in `[package.metadata.migrate]`, else the project's dev database, created
/// and started on demand (saying so in one line). Parsed once; a string that does not parse is
/// reported without any of its text (it may hold a password).
pub fn conninfo(cx: &Context) -> Result<&ConnInfo, Error> {
    if let Some(info) = cx.conninfo.get() {
        return Ok(info);
    }
    let (text, source) = match (&cx.database_url, &cx.settings.database_url) {
        (Some(url), _) => (url.clone(), cx.database_url_source.as_str()),
        (None, Some(url)) => (url.clone(), "`database_url` in [package.metadata.migrate]"),
        (None, None) => (dev_db::use_for_command(cx)?, "the dev database"),
    };
    let info = ConnInfo::parse(&text).map_err(|e| {
        Error::new(format!("invalid database URL (from {source}): {e}"))
            .help(
                "use postgres://user:password@host:port/dbname (percent-encode special \
                 characters) or `host=... user=... password=... dbname=...`; the URL is not \
                 shown since it may hold a password",
            )
            .note("nothing was changed")
    })?;
    Ok(cx.conninfo.get_or_init(|| info))
}

/// Connects to the configured database.
pub fn connect(cx: &Context, settings: &DbSettings) -> Result<Db, Error> {
    let info = conninfo(cx)?;
    let client = info
        .connect(settings.connect_timeout)
        .map_err(|e| Error::new(e.message).help(e.hint))?;
    let mut db = Db {
        client,
        label: info.label(),
    };
    if crate::output::verbose() {
        describe_server(&mut db);
    }
    Ok(db)
}

/// `--verbose`: which server, and whether the connection is encrypted.
fn describe_server(db: &mut Db) {
    let sql = "SELECT current_setting('server_version'), \
               coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)";
    if let Ok(row) = db.client.query_one(sql, &[]) {
        let version: String = row.get(0);
        let tls: bool = row.get(1);
        crate::detail!(
            "Connected to {}: PostgreSQL {version}, TLS {}",
            db.label,
            if tls { "on" } else { "off" }
        );
    }
}

/// The settings of a command that talks to a database, checked before connecting.
pub struct DbSettings {
    /// The engine (without its second session yet: see [`watching`]).
    pub engine: Engine,
    /// How long connecting may take (the connection string's `connect_timeout` wins).
    pub connect_timeout: Option<Duration>,
}

/// A value from the flag, else the setting, with where it came from for messages.
fn pick<'a>(
    flag: Option<&'a str>,
    setting: Option<&'a str>,
    flag_name: &str,
    key: &str,
) -> Option<(&'a str, String)> {
    match (flag, setting) {
        (Some(v), _) => Some((v, flag_name.to_string())),
        (None, Some(v)) => Some((v, format!("`{key}` in [package.metadata.migrate]"))),
        (None, None) => None,
    }
}

fn duration(value: (&str, String)) -> Result<(Duration, String), Error> {
    let (text, source) = value;
    parse_duration(text)
        .map(|d| (d, source.clone()))
        .map_err(|e| Error::new(format!("invalid {source}: {e}")).note("nothing was changed"))
}

/// The engine settings from the flags, then `[package.metadata.migrate]`, then defaults; every
/// value parsed and range-checked here, so a bad setting is never blamed on a migration.
pub fn settings(cx: &Context, args: &DbArgs) -> Result<DbSettings, Error> {
    let s = &cx.settings;
    let mut config = EngineConfig::default();
    let invalid = |source: &str, e: String| {
        Error::new(format!("invalid {source}: {e}")).note("nothing was changed")
    };
    if let Some((t, source)) = pick(
        args.history_table.as_deref(),
        s.history_table.as_deref(),
        "--history-table",
        "history_table",
    ) {
        config.history = t.parse().map_err(|e| invalid(&source, format!("{e}")))?;
    }
    if let Some(v) = pick(
        args.lock_timeout.as_deref(),
        s.lock_timeout.as_deref(),
        "--lock-timeout",
        "lock_timeout",
    ) {
        let (d, source) = duration(v)?;
        config.lock_timeout = check_lock_timeout(d).map_err(|e| invalid(&source, e))?;
    }
    for (flag, setting, flag_name, key, target) in [
        (
            args.lock_wait.as_deref(),
            s.lock_wait.as_deref(),
            "--lock-wait",
            "lock_wait",
            &mut config.lock_wait,
        ),
        (
            args.lock_retry_budget.as_deref(),
            s.lock_retry_budget.as_deref(),
            "--lock-retry-budget",
            "lock_retry_budget",
            &mut config.lock_retry_budget,
        ),
    ] {
        if let Some(v) = pick(flag, setting, flag_name, key) {
            let (d, source) = duration(v)?;
            *target = check_wait(&source, d).map_err(|e| invalid(&source, e))?;
        }
    }
    let mut connect_timeout = None;
    if let Some(v) = pick(
        args.connect_timeout.as_deref(),
        s.connect_timeout.as_deref(),
        "--connect-timeout",
        "connect_timeout",
    ) {
        let (d, source) = duration(v)?;
        if d.is_zero() {
            return Err(invalid(&source, "it must be more than 0".into()));
        }
        connect_timeout = Some(check_wait(&source, d).map_err(|e| invalid(&source, e))?);
    }
    if let Some(n) = args.lock_retries.or(s.lock_retries) {
        config.lock_retries = Some(n);
    }
    if args.no_group_commit || s.group_commit == Some(false) {
        config.group_commit = false;
    }
    if let Some(schemas) = &s.schemas {
        config.schemas = schemas
            .iter()
            .map(|name| {
                name.parse::<Ident>()
                    .map(|i| i.as_str().to_string())
                    .map_err(|e| invalid("`schemas` in [package.metadata.migrate]", e.to_string()))
            })
            .collect::<Result<_, _>>()?;
    }
    crate::detail!(
        "Settings: history {}, lock_timeout {}, lock retries {} within {}, lock wait {}, \
         group commit {}, schemas {}",
        config.history,
        format_duration(config.lock_timeout),
        config
            .lock_retries
            .map_or_else(|| "unlimited".to_string(), |n| n.to_string()),
        format_duration(config.lock_retry_budget),
        format_duration(config.lock_wait),
        if config.group_commit { "on" } else { "off" },
        config.schemas.join(", ")
    );
    Ok(DbSettings {
        engine: Engine::new(config),
        connect_timeout,
    })
}

/// The engine with a second session to the same database, opened when a migration waits for
/// a lock (to say who blocks it, and to retry as soon as they finish).
pub fn watching(cx: &Context, settings: &DbSettings) -> Result<Engine, Error> {
    let info = conninfo(cx)?.clone();
    let timeout = settings.connect_timeout;
    Ok(settings.engine.clone().with_sessions(Arc::new(move || {
        info.connect(timeout).map_err(|e| e.message)
    })))
}

/// The lock-file problems that stop anything from running, found before any connection is
/// made: an edited, renamed or deleted sealed migration, or a corrupt lock file. An edited
/// `migration.sql` is shown as a diff against the SQL the database recorded, when a database
/// is reachable without starting one (see [`edited_diffs`]).
pub fn preflight(cx: &Context, args: &DbArgs) -> Result<(MigrationSet, LockState), Error> {
    let (set, state) = cx.read(Some("nothing was run"))?;
    let blocking: Vec<Finding> = verify(&set, &state)
        .into_iter()
        .filter(|f| !matches!(f, Finding::Unsealed { .. } | Finding::OutOfOrder { .. }))
        .collect();
    if !blocking.is_empty() {
        let mut e = lock_error(
            "the migrations do not match migrations.lock",
            &blocking,
            false,
        );
        e.body.extend(edited_diffs(cx, args, &set, &blocking));
        return Err(e);
    }
    Ok((set, state))
}

/// For sealed `migration.sql` files that were edited: the unified diff against the SQL the
/// database recorded when it applied them. Uses the configured database, or the dev database
/// only if it already runs (nothing is started or created for this); when none is reachable,
/// says how to see the change.
pub fn edited_diffs(
    cx: &Context,
    args: &DbArgs,
    set: &MigrationSet,
    findings: &[Finding],
) -> Vec<String> {
    let edited: Vec<(Version, &std::path::Path)> = findings
        .iter()
        .filter_map(|f| match f {
            Finding::Edited {
                version,
                file: SqlKind::Up,
                path,
                ..
            } => Some((*version, path.as_path())),
            _ => None,
        })
        .collect();
    if edited.is_empty() {
        return Vec::new();
    }
    let rows = recorded_history(cx, args);
    let mut body = Vec::new();
    for (version, path) in &edited {
        let recorded = rows
            .as_ref()
            .and_then(|rows| rows.iter().find(|r| r.version == *version));
        match (recorded, set.get(*version)) {
            (Some(row), Some(m)) => {
                let diff = migrate_runtime::engine::unified_diff(&row.sql, &m.up.sql, &m.up.path);
                body.extend(diff.lines().map(|l| format!("    {l}")));
            }
            _ => body.push(format!(
                "  = note: {} is not recorded in a reachable database; `git diff -- {}` shows \
                 what changed since the last commit",
                version,
                path.display()
            )),
        }
    }
    body
}

/// The history of the configured database (or of the dev database when it already runs),
/// read without creating or starting anything; `None` when there is none or it cannot be
/// read.
fn recorded_history(cx: &Context, args: &DbArgs) -> Option<Vec<Row>> {
    let url = match (&cx.database_url, &cx.settings.database_url) {
        (Some(url), _) | (None, Some(url)) => url.clone(),
        (None, None) => dev_db::running_url(cx)?,
    };
    let settings = settings(cx, args).ok()?;
    let info = ConnInfo::parse(&url).ok()?;
    let mut client = info.connect(settings.connect_timeout).ok()?;
    settings.engine.history(&mut client).ok()
}

/// The drafts checks, made once the history is known (so drafts an interrupted run applied
/// are sealed first, not refused): an out-of-order draft refuses unless allowed; with
/// `locked`, any draft refuses.
pub fn check_drafts(
    set: &MigrationSet,
    state: &LockState,
    locked: bool,
    allow_out_of_order: bool,
) -> Result<(), Error> {
    let blocking: Vec<Finding> = verify(set, state)
        .into_iter()
        .filter(|f| match f {
            Finding::Unsealed { .. } => locked,
            Finding::OutOfOrder { .. } => locked || !allow_out_of_order,
            _ => false,
        })
        .collect();
    if blocking.is_empty() {
        return Ok(());
    }
    let message = if locked {
        "--locked: there are unsealed migrations"
    } else {
        "the migrations do not match migrations.lock"
    };
    Err(lock_error(message, &blocking, locked))
}

fn lock_error(message: &str, findings: &[Finding], locked: bool) -> Error {
    let mut e = Error::new(message).note("nothing was run");
    e.problems = findings
        .iter()
        .map(|f| (f.to_string(), Some(locked_help(f, locked))))
        .collect();
    e.json = json!({ "findings": findings.iter().map(finding_json).collect::<Vec<_>>() });
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

/// Seals the drafts among `versions` (they were applied), keeping every existing entry, and
/// returns the new lock state with the folders sealed.
pub fn seal_applied(
    cx: &Context,
    set: &MigrationSet,
    state: &LockState,
    versions: &[Version],
) -> Result<(LockState, Vec<String>), Error> {
    let Some((lock, sealed)) = lockfile::seal_drafts(set, state, versions) else {
        return Ok((state.clone(), Vec::new()));
    };
    lockfile::write(&cx.dir, &lock).map_err(|e| {
        Error::new(format!(
            "the migrations were applied, but {} could not be written: {e}",
            lockfile::path(&cx.dir).display()
        ))
        .help(
            "run `cargo migrate apply` again: it seals the drafts the database records as applied",
        )
    })?;
    let folders = sealed
        .iter()
        .filter_map(|v| set.get(*v))
        .map(|m| m.folder())
        .collect();
    Ok((LockState::Valid(lock), folders))
}

/// Seals the drafts an earlier, interrupted run applied (the history records them with the
/// same SQL) before anything else looks at the lock file.
pub fn seal_recorded(
    cx: &Context,
    set: &MigrationSet,
    state: &LockState,
    rows: &[Row],
) -> Result<(LockState, Vec<String>), Error> {
    let drafts = applied_drafts(set, state.sealed(), rows);
    seal_applied(cx, set, state, &drafts)
}

/// The connection for messages and JSON reports (password replaced by `***`), once resolved.
pub fn redacted(cx: &Context) -> Option<String> {
    cx.conninfo.get().map(ConnInfo::redacted)
}
