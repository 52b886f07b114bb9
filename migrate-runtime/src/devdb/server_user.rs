//! Who runs the dev database's server. PostgreSQL refuses to run as root, so when cargo-migrate
//! runs as root (containers, CI) the server runs as an unprivileged user: `postgres` when the
//! machine has one (the distribution packages create it), else `nobody`.

use super::DevDbError;
use nix::unistd::{User, geteuid};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The user the server programs run as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUser {
    /// Its name, for messages.
    pub name: String,
    uid: u32,
    gid: u32,
    /// Whether programs must switch to it (we run as root).
    switch: bool,
}

impl ServerUser {
    /// The current user, or an unprivileged one when running as root.
    pub fn pick() -> Result<ServerUser, DevDbError> {
        let euid = geteuid();
        if !euid.is_root() {
            let name = User::from_uid(euid)
                .ok()
                .flatten()
                .map_or_else(|| euid.to_string(), |u| u.name);
            return Ok(ServerUser {
                name,
                uid: euid.as_raw(),
                gid: nix::unistd::getegid().as_raw(),
                switch: false,
            });
        }
        for name in ["postgres", "nobody"] {
            if let Ok(Some(u)) = User::from_name(name)
                && !u.uid.is_root()
            {
                return Ok(ServerUser {
                    name: u.name,
                    uid: u.uid.as_raw(),
                    gid: u.gid.as_raw(),
                    switch: true,
                });
            }
        }
        Err(DevDbError::new(
            "PostgreSQL refuses to run as root, and this machine has no unprivileged user \
             (`postgres` or `nobody`) to run the dev database as",
        )
        .help(
            "create one (`useradd --system postgres`), run cargo-migrate as a non-root user, \
             or set DATABASE_URL to a server you already have",
        ))
    }

    /// Its user id.
    pub(crate) fn uid(&self) -> u32 {
        self.uid
    }

    /// Makes `cmd` run as this user.
    pub fn run_as(&self, cmd: &mut Command) {
        if self.switch {
            cmd.uid(self.uid).gid(self.gid);
        }
    }

    /// Gives `path` to this user (when we are root and it is another user).
    pub fn give(&self, path: &Path) -> std::io::Result<()> {
        if self.switch {
            std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))?;
        }
        Ok(())
    }

    /// The first directory above `path` this user cannot enter (e.g. `/root`, mode 700), which
    /// would keep the server from reaching its data.
    pub fn blocked_ancestor(&self, path: &Path) -> Option<PathBuf> {
        if !self.switch {
            return None;
        }
        let mut ancestors: Vec<&Path> = path.ancestors().skip(1).collect();
        ancestors.reverse();
        ancestors.into_iter().find_map(|dir| {
            let meta = std::fs::metadata(dir).ok()?;
            let mode = meta.mode();
            let allowed = if meta.uid() == self.uid {
                mode & 0o100 != 0
            } else if meta.gid() == self.gid {
                mode & 0o010 != 0
            } else {
                mode & 0o001 != 0
            };
            (!allowed).then(|| dir.to_path_buf())
        })
    }

    /// The error for a directory the server user cannot enter.
    pub fn blocked_error(&self, blocked: &Path, dir: &Path) -> DevDbError {
        DevDbError::new(format!(
            "the dev database cannot live in {}: PostgreSQL refuses to run as root, so it runs as \
             user `{}`, who cannot enter {}",
            dir.display(),
            self.name,
            blocked.display()
        ))
        .help(format!(
            "let it in (`chmod o+x {}`), run cargo-migrate as a non-root user, or set \
             DATABASE_URL to a server you already have",
            blocked.display()
        ))
    }
}
