//! The database side of the CLI: which database (`--database-url`, `DATABASE_URL`, `.env`), the
//! engine settings (flags over `[package.metadata.migrate]` over defaults), connecting, and
//! the lock-file checks every command that applies migrations makes first.

use crate::cli::DbArgs;
use crate::context::Context;
use crate::dev_db;
use crate::report::{Error, finding_json};
use migrate_runtime::engine::connection::ConnInfo;
use migrate_runtime::engine::{Engine, EngineConfig, parse_duration};
use migrate_runtime::model::Migration;
use migrate_runtime::{
    Finding, LockEntry, LockFile, LockState, MigrationSet, Version, lockfile, verify,
};
use serde_json::json;
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
                "use postgres://user:password@host:port/dbname (percent-encode special characters) \
                 or `host=... user=... password=... dbname=...`; the URL is not shown since it may \
                 hold a password",
            )
            .note("nothing was changed")
    })?;
    Ok(cx.conninfo.get_or_init(|| info))
}

/// Connects to the configured database.
pub fn connect(cx: &Context, timeout: Option<Duration>) -> Result<Db, Error> {
    let info = conninfo(cx)?;
    let client = info
        .connect(timeout)
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

/// The engine with settings from the flags, then `[package.metadata.migrate]`, then defaults.
pub fn engine(cx: &Context, args: &DbArgs) -> Result<Engine, Error> {
    let s = &cx.settings;
    let mut config = EngineConfig::default();
    let bad = |what: &str, e: String| Error::new(format!("invalid {what}: {e}"));
    if let Some(t) = args.history_table.as_deref().or(s.history_table.as_deref()) {
        config.history = t.parse().map_err(|e| bad("history table", e))?;
    }
    if let Some(t) = args.lock_timeout.as_deref().or(s.lock_timeout.as_deref()) {
        config.lock_timeout = parse_duration(t).map_err(|e| bad("lock timeout", e))?;
    }
    if let Some(n) = args.lock_retries.or(s.lock_retries) {
        config.lock_retries = n;
    }
    if let Some(t) = args.lock_wait.as_deref().or(s.lock_wait.as_deref()) {
        config.lock_wait = parse_duration(t).map_err(|e| bad("lock wait", e))?;
    }
    if let Some(schemas) = &s.schemas {
        config.schemas = schemas.clone();
    }
    crate::detail!(
        "Settings: history {}, lock_timeout {:?}, {} retries, lock wait {:?}, schemas {}",
        config.history,
        config.lock_timeout,
        config.lock_retries,
        config.lock_wait,
        config.schemas.join(", ")
    );
    Ok(Engine::new(config))
}

/// Reads the directory and checks it against the lock file before anything touches the
/// database: edited, renamed or missing sealed migrations and a corrupt lock file refuse;
/// out-of-order drafts refuse unless allowed; with `locked`, any draft refuses.
pub fn preflight(
    cx: &Context,
    locked: bool,
    allow_out_of_order: bool,
) -> Result<(MigrationSet, LockState), Error> {
    let (set, state) = cx.read(Some("nothing was run"))?;
    let blocking: Vec<Finding> = verify(&set, &state)
        .into_iter()
        .filter(|f| match f {
            Finding::Unsealed { .. } => locked,
            Finding::OutOfOrder { .. } => locked || !allow_out_of_order,
            _ => true,
        })
        .collect();
    if !blocking.is_empty() {
        let message = if locked
            && blocking
                .iter()
                .all(|f| matches!(f, Finding::Unsealed { .. } | Finding::OutOfOrder { .. }))
        {
            "--locked: there are unsealed migrations".to_string()
        } else {
            "the migrations do not match migrations.lock".to_string()
        };
        let mut e = Error::new(message).note("nothing was run");
        e.problems = blocking
            .iter()
            .map(|f| (f.to_string(), Some(locked_help(f, locked))))
            .collect();
        e.json = json!({ "findings": blocking.iter().map(finding_json).collect::<Vec<_>>() });
        return Err(e);
    }
    Ok((set, state))
}

fn locked_help(f: &Finding, locked: bool) -> String {
    match f {
        Finding::Unsealed { .. } | Finding::OutOfOrder { .. } if locked => {
            "--locked applies sealed migrations only: seal it (`cargo migrate seal`), review and commit \
             migrations.lock, then deploy"
                .into()
        }
        _ => f.help(),
    }
}

/// Seals the drafts among `versions` (they were applied), keeping every existing entry.
/// Returns the folders sealed.
pub fn seal_applied(
    cx: &Context,
    set: &MigrationSet,
    state: &LockState,
    versions: &[Version],
) -> Result<Vec<String>, Error> {
    let existing = state.sealed().cloned().unwrap_or_default();
    let drafts: Vec<&Migration> = versions
        .iter()
        .filter(|v| existing.get(**v).is_none())
        .filter_map(|v| set.get(*v))
        .collect();
    if drafts.is_empty() {
        return Ok(Vec::new());
    }
    let mut entries = existing.entries().to_vec();
    entries.extend(drafts.iter().map(|m| LockEntry {
        version: m.version,
        name: m.name.clone(),
        up: m.up.checksum,
        down: m.down.as_ref().map(|d| d.checksum),
    }));
    lockfile::write(&cx.dir, &LockFile::new(entries)).map_err(|e| {
        Error::new(format!(
            "the migrations were applied, but {} could not be written: {e}",
            lockfile::path(&cx.dir).display()
        ))
        .help("run `cargo migrate seal` to seal them")
    })?;
    Ok(drafts.iter().map(|m| m.folder()).collect())
}

/// The connection for messages and JSON reports (password replaced by `***`), once resolved.
pub fn redacted(cx: &Context) -> Option<String> {
    cx.conninfo.get().map(ConnInfo::redacted)
}
