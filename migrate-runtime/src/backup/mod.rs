//! Backups: one taken before `apply` runs its first pending migration, one on demand
//! (`cargo migrate backup`), and restoring one into a new database (`cargo migrate restore`),
//! so a team can prove its backups restore.
//!
//! - `spec`: the `backup` setting, `pg_dump:<dir>` or `command:<shell command>`;
//! - `env`: the connection as libpq's `PG*` environment variables (never on a command line);
//! - `programs`: `pg_dump` and `pg_restore`, found like the dev database's server programs,
//!   and no older than the server;
//! - `take`: running `pg_dump` or the command, with what identifies the backup;
//! - `restore`: `pg_restore` into a database it creates (never an existing one).
//!
//! ```no_run
//! use migrate_runtime::backup::{BackupSpec, Source, take};
//! use migrate_runtime::engine::connection::ConnInfo;
//! let info = ConnInfo::parse("postgres://postgres@localhost/app")?;
//! let spec = BackupSpec::parse("pg_dump:backups", std::path::Path::new("."))?;
//! let record = take(&spec, &Source { info: &info, server_version_num: 150000, version: None, root: ".".as_ref() })?;
//! println!("{}", record.id);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod env;
mod programs;
mod restore;
mod spec;
mod take;

pub use crate::engine::history::BackupRecord;
pub use env::pg_env;
pub use restore::{Restored, restore};
pub use spec::BackupSpec;
pub use take::{Source, take};

/// Why a backup or a restore could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BackupError {
    /// One line.
    pub message: String,
    /// What the program said (its last lines of standard error, password scrubbed).
    pub detail: Vec<String>,
    /// What to do.
    pub help: Option<String>,
}

/// How a program ended, for messages: `with code 3`, `by signal 9`.
pub(crate) fn ended(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("with code {code}"),
        (None, Some(signal)) => format!("by signal {signal}"),
        (None, None) => status.to_string(),
    }
}

impl BackupError {
    pub(crate) fn new(message: impl Into<String>) -> BackupError {
        BackupError {
            message: message.into(),
            detail: Vec::new(),
            help: None,
        }
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> BackupError {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn detail(
        mut self,
        stderr: &[u8],
        info: &crate::engine::connection::ConnInfo,
    ) -> BackupError {
        let text = info.scrub(&String::from_utf8_lossy(stderr));
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let from = lines.len().saturating_sub(20);
        self.detail = lines[from..].iter().map(|l| l.to_string()).collect();
        self
    }
}
