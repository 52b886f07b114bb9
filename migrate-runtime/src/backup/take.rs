//! Taking a backup: `pg_dump --format=custom` into the configured directory, or the
//! configured command; what identifies it (path, size) and how long it took.

use super::{BackupError, BackupRecord, BackupSpec, env, programs};
use crate::Version;
use crate::engine::connection::ConnInfo;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

/// What to back up.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The connection.
    pub info: &'a ConnInfo,
    /// The server's `server_version_num` (picks a `pg_dump` at least as new).
    pub server_version_num: i32,
    /// The database's version (its newest applied migration) when the backup is taken.
    pub version: Option<Version>,
    /// The package root: where a command runs, and what a relative path it prints is
    /// relative to.
    pub root: &'a Path,
}

impl Source<'_> {
    /// `<database>-<version>-<UTC time>`, e.g. `shop-20261121090300-20261122T050102Z`
    /// (`none` for a database with no migration applied): the dump's file name, and
    /// `MIGRATE_BACKUP_NAME` for a command.
    pub fn stem(&self) -> String {
        let db: String = self
            .info
            .dbname()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let version = self
            .version
            .map_or_else(|| "none".to_string(), |v| v.to_string());
        let now = time::OffsetDateTime::now_utc();
        let now = time::PrimitiveDateTime::new(now.date(), now.time());
        let at = crate::timestamp::written(now, ["", "", "T", "", ""]);
        format!("{db}-{version}-{at}Z")
    }
}

/// Takes a backup: the dump (or the command) runs with the connection in `PG*` variables.
///
/// ```no_run
/// use migrate_runtime::backup::{BackupSpec, Source, take};
/// use migrate_runtime::engine::connection::ConnInfo;
/// let info = ConnInfo::parse("postgres://postgres@localhost/app")?;
/// let spec = BackupSpec::Command("pg_dump -Fc -f \"$MIGRATE_BACKUP_NAME.dump\" && echo \"$MIGRATE_BACKUP_NAME.dump\"".into());
/// let source = Source { info: &info, server_version_num: 150000, version: None, root: ".".as_ref() };
/// println!("{}", take(&spec, &source)?.id);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn take(spec: &BackupSpec, source: &Source<'_>) -> Result<BackupRecord, BackupError> {
    let started = Instant::now();
    let (id, bytes) = match spec {
        BackupSpec::PgDump { dir } => {
            let path = pg_dump(dir, source)?;
            let bytes = std::fs::metadata(&path).ok().map(|m| m.len());
            (path.display().to_string(), bytes)
        }
        BackupSpec::Command(command) => {
            let id = run_command(command, source)?;
            let bytes = std::fs::metadata(source.root.join(&id))
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len());
            (id, bytes)
        }
    };
    Ok(BackupRecord {
        id,
        bytes,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

/// Dumps into `dir`; the file appears under its final name only once complete.
fn pg_dump(dir: &Path, source: &Source<'_>) -> Result<PathBuf, BackupError> {
    let program = programs::find("pg_dump", source.server_version_num)?;
    std::fs::create_dir_all(dir).map_err(|e| {
        BackupError::new(format!(
            "cannot create the backup directory {}: {e}",
            dir.display()
        ))
    })?;
    let stem = source.stem();
    let mut path = dir.join(format!("{stem}.dump"));
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = dir.join(format!("{stem}-{n}.dump"));
    }
    let partial = path.with_extension("dump.partial");
    let mut command = Command::new(&program);
    command
        .arg("--format=custom")
        .arg("--no-password")
        .arg("--file")
        .arg(&partial);
    env::apply(&mut command, source.info);
    let out = output(&mut command, &program.display().to_string())?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&partial);
        return Err(BackupError::new(format!(
            "the backup failed: {} ended {}",
            program.display(),
            super::ended(out.status)
        ))
        .detail(&out.stderr, source.info));
    }
    std::fs::rename(&partial, &path).map_err(|e| {
        BackupError::new(format!(
            "the backup failed: cannot rename {} to {}: {e}",
            partial.display(),
            path.display()
        ))
    })?;
    Ok(path)
}

/// Runs the command (`sh -c`, in the package root) with the connection in `PG*` variables and
/// the redacted URL in `MIGRATE_DATABASE_URL`; what identifies the backup is the last line it
/// prints.
fn run_command(command: &str, source: &Source<'_>) -> Result<String, BackupError> {
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(command)
        .current_dir(source.root)
        .env("MIGRATE_DATABASE_URL", source.info.redacted())
        .env("MIGRATE_BACKUP_NAME", source.stem())
        .env_remove("DATABASE_URL");
    env::apply(&mut sh, source.info);
    let out = output(&mut sh, "the backup command")?;
    if !out.status.success() {
        return Err(BackupError::new(format!(
            "the backup failed: the backup command ended {}",
            super::ended(out.status)
        ))
        .detail(&out.stderr, source.info));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    Ok(stdout
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map_or_else(
            || "(the backup command printed no identifier)".to_string(),
            |l| source.info.scrub(l),
        ))
}

fn output(command: &mut Command, what: &str) -> Result<Output, BackupError> {
    command
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| BackupError::new(format!("the backup failed: cannot run {what}: {e}")))
}
