//! Restoring a backup into a database made for it on the same server: never over an existing
//! database (the live one least of all), so restoring is always safe to try.

use super::{BackupError, env, programs};
use crate::engine::connection::ConnInfo;
use postgres::Client;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// A restored backup.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Restored {
    /// The new database.
    pub dbname: String,
    /// Its URL, redacted.
    pub url: String,
    /// How long restoring took.
    pub duration_ms: f64,
}

/// The default name of the new database: `<database>_restore_<UTC time>`, at most 63 bytes.
fn default_name(dbname: &str) -> String {
    let now = time::OffsetDateTime::now_utc();
    let at = crate::timestamp::digits(time::PrimitiveDateTime::new(now.date(), now.time()));
    let suffix = format!("_restore_{at}");
    let base: String = dbname
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(63 - suffix.len())
        .collect();
    format!("{base}{suffix}")
}

/// Restores `file` (a `pg_dump --format=custom` archive) with `pg_restore` into a new
/// database `into` (default `<database>_restore_<time>`), created on the server `client` is
/// connected to. An existing database of that name is refused; when `pg_restore` fails, the
/// new database is dropped again.
///
/// ```no_run
/// use migrate_runtime::backup::restore;
/// use migrate_runtime::engine::connection::ConnInfo;
/// let info = ConnInfo::parse("postgres://postgres@localhost/app")?;
/// let mut client = info.connect(None)?;
/// let restored = restore("backups/app.dump".as_ref(), &info, &mut client, Some("app_check"))?;
/// assert_eq!(restored.url, "postgres://postgres@localhost:5432/app_check");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn restore(
    file: &Path,
    info: &ConnInfo,
    client: &mut Client,
    into: Option<&str>,
) -> Result<Restored, BackupError> {
    let started = Instant::now();
    if !file.is_file() {
        return Err(BackupError::new(format!(
            "cannot restore {}: no such file",
            file.display()
        )));
    }
    let dbname = into.map_or_else(|| default_name(info.dbname()), str::to_string);
    if dbname.is_empty()
        || dbname.len() > 63
        || !dbname
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(BackupError::new(format!(
            "cannot restore into `{dbname}`: use a database name of letters, digits, `_` and \
             `-` (at most 63 bytes)"
        )));
    }
    let db_error = |what: String| {
        move |e: postgres::Error| {
            BackupError::new(format!(
                "{what}: {}",
                info.scrub(&crate::engine::connection::error_text(&e))
            ))
        }
    };
    let version: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .map_err(db_error("cannot read the server's version".into()))?
        .get(0);
    let program = programs::find("pg_restore", version)?;
    let exists: bool = client
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = $1)",
            &[&dbname],
        )
        .map_err(db_error("cannot list the server's databases".into()))?
        .get(0);
    if exists {
        return Err(BackupError::new(format!(
            "refusing to restore into `{dbname}`: that database exists (restore never writes \
             over a database)"
        ))
        .help("name a new one with --into <name>, or drop that one first"));
    }
    client
        .batch_execute(&format!(
            "CREATE DATABASE {} TEMPLATE template0",
            crate::quote_ident(&dbname)
        ))
        .map_err(db_error(format!("cannot create the database `{dbname}`")))?;
    let target = info.with_dbname(&dbname);
    let mut command = Command::new(&program);
    command
        .arg("--no-password")
        .arg("--no-owner")
        .arg("--exit-on-error")
        .arg("--dbname")
        .arg(&dbname)
        .arg(file)
        .stdin(std::process::Stdio::null());
    env::apply(&mut command, &target);
    let out = command.output();
    let failed = match out {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(
            BackupError::new(format!(
                "the restore failed: {} ended {}",
                program.display(),
                super::ended(out.status)
            ))
            .detail(&out.stderr, info),
        ),
        Err(e) => Some(BackupError::new(format!(
            "the restore failed: cannot run {}: {e}",
            program.display()
        ))),
    };
    if let Some(mut e) = failed {
        let dropped = client.batch_execute(&format!(
            "DROP DATABASE IF EXISTS {}",
            crate::quote_ident(&dbname)
        ));
        e.help = Some(match dropped {
            Ok(()) => format!("the database `{dbname}` it was restoring into was dropped again"),
            Err(_) => format!("the database `{dbname}` it was restoring into is left; drop it"),
        });
        return Err(e);
    }
    Ok(Restored {
        url: target.redacted(),
        dbname,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}
