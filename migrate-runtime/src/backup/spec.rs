//! The `backup` setting: `pg_dump:<dir>` (the built-in dump, custom format, into `<dir>`,
//! relative to the package root) or `command:<shell command>` (anything, run with `sh -c`).

use std::path::{Path, PathBuf};

/// How backups are made.
///
/// ```
/// use migrate_runtime::backup::BackupSpec;
/// use std::path::Path;
/// let root = Path::new("/app");
/// assert_eq!(
///     BackupSpec::parse("pg_dump:backups", root).unwrap(),
///     BackupSpec::PgDump { dir: "/app/backups".into() }
/// );
/// assert_eq!(
///     BackupSpec::parse("command:./snapshot.sh", root).unwrap(),
///     BackupSpec::Command("./snapshot.sh".into())
/// );
/// assert!(BackupSpec::parse("backups", root).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupSpec {
    /// `pg_dump --format=custom` into this directory (created if missing).
    PgDump {
        /// The directory.
        dir: PathBuf,
    },
    /// A shell command (`sh -c`), run in the package root.
    Command(String),
}

impl BackupSpec {
    /// What it does, for messages: `pg_dump into /app/backups`, `the command `./snap.sh``.
    ///
    /// ```
    /// use migrate_runtime::backup::BackupSpec;
    /// assert_eq!(BackupSpec::PgDump { dir: "/app/backups".into() }.describe(), "pg_dump into /app/backups");
    /// assert_eq!(BackupSpec::Command("./snap.sh".into()).describe(), "the command `./snap.sh`");
    /// ```
    pub fn describe(&self) -> String {
        match self {
            BackupSpec::PgDump { dir } => format!("pg_dump into {}", dir.display()),
            BackupSpec::Command(c) => format!("the command `{c}`"),
        }
    }

    /// Parses the setting; a relative directory is relative to `root` (the package root).
    pub fn parse(text: &str, root: &Path) -> Result<BackupSpec, String> {
        let text = text.trim();
        if let Some(dir) = text.strip_prefix("pg_dump:") {
            let dir = dir.trim();
            if dir.is_empty() {
                return Err("`pg_dump:` needs a directory, e.g. `pg_dump:backups`".into());
            }
            return Ok(BackupSpec::PgDump {
                dir: root.join(dir),
            });
        }
        if let Some(command) = text.strip_prefix("command:") {
            let command = command.trim();
            if command.is_empty() {
                return Err("`command:` needs a shell command, e.g. `command:./backup.sh`".into());
            }
            return Ok(BackupSpec::Command(command.to_string()));
        }
        Err("expected `pg_dump:<directory>` or `command:<shell command>`".into())
    }
}
