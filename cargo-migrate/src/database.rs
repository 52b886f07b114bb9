//! The database side of the CLI: which database (`--database-url`, `DATABASE_URL`, `.env`), the
//! engine settings (flags over `[package.metadata.migrate]` over defaults), connecting, and
//! the lock-file checks every command that applies migrations makes first.

use crate::cli::DbArgs;
use crate::context::Context;
use crate::dev_db;
use crate::report::{Error, finding_json};
use migrate_runtime::engine::connection::{self, redact};
use migrate_runtime::engine::{Engine, EngineConfig, parse_duration};
use migrate_runtime::model::Migration;
use migrate_runtime::{
    Finding, LockEntry, LockFile, LockState, MigrationSet, Version, lockfile, verify,
};
use serde_json::json;

/// A connected database.
pub struct Db {
    pub client: postgres::Client,
    /// `user@host:port/db`, never the password.
    pub label: String,
}

/// The connection string: `--database-url` or `DATABASE_URL` (environment or `.env`), else
/// `database_url` in `[package.metadata.migrate]`, else the project's dev database, created
/// and started on demand (saying so in one line).
pub fn url(cx: &Context) -> Result<&str, Error> {
    if let Some(url) = cx.resolved_url.get() {
        return Ok(url);
    }
    let url = match cx
        .database_url
        .as_ref()
        .or(cx.settings.database_url.as_ref())
    {
        Some(url) => url.clone(),
        None => dev_db::use_for_command(cx)?,
    };
    Ok(cx.resolved_url.get_or_init(|| url))
}

/// Parses the configured connection string without connecting.
pub fn parse(cx: &Context) -> Result<postgres::Config, Error> {
    let url = url(cx)?;
    connection::parse(url)
        .map(|(config, _)| config)
        .map_err(|e| {
            Error::new(format!(
                "invalid database URL `{}`: {}",
                redact(url),
                connection::scrub(&e, url)
            ))
        })
}

/// Connects to the configured database.
pub fn connect(cx: &Context) -> Result<Db, Error> {
    let url = url(cx)?;
    let (client, config) =
        connection::connect(url).map_err(|e| Error::new(e.message).help(e.hint))?;
    let label = connection::describe(&config);
    let mut db = Db { client, label };
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

/// The connection string for messages.
pub fn redacted(cx: &Context) -> Option<String> {
    cx.resolved_url
        .get()
        .or(cx.database_url.as_ref())
        .map(|u| redact(u))
}
