//! Where a dev database's cluster lives: in the project (`<target>/migrate-dev-db`), unless
//! cargo-migrate runs as root and the server's unprivileged user cannot reach that directory (a
//! project under `/root`, or in a `mktemp -d` directory: mode 700). The permissions of the
//! user's own directories are never changed; the cluster then lives in a directory of the
//! server user's own, `/var/lib/cargo-migrate/dev-db-<user>/<hash of the project's directory>`,
//! and a record in the project (`<target>/migrate-dev-db/location`) names it.
//!
//! Why `/var/lib`: it survives reboots (`/tmp` is often a tmpfs) and nothing ages files out of
//! it (systemd-tmpfiles deletes files in `/var/tmp` unused for 30 days, which would take a
//! stopped cluster apart file by file). Only root can create entries in it, so no other user
//! can plant a directory or a symlink where we create ours (anyone can in `/var/tmp`). The
//! hash is of the canonical path, so the place is the same for every command of the project,
//! and found again if the record is lost (`cargo clean`).

use super::{DevDbError, ServerUser};
use sha2::{Digest, Sha256};
use std::fs::DirBuilder;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Where clusters that cannot live in their project live.
const BASE: &str = "/var/lib/cargo-migrate";

/// The record's file name, in the project's dev database directory.
const RECORD: &str = "location";

/// Where the cluster of the project directory `home` lives: the recorded place, else `home`
/// when a cluster is already there or the server's user can reach it, else a place of that
/// user's own.
pub(super) fn resolve(home: &Path) -> PathBuf {
    if let Some(dir) = recorded(home) {
        return dir;
    }
    if home.join("data").join("PG_VERSION").is_file() {
        return home.to_path_buf();
    }
    match ServerUser::pick() {
        Ok(user) if user.blocked_ancestor(home).is_some() => elsewhere(home, &user),
        _ => home.to_path_buf(),
    }
}

/// The record in the project that names where its cluster lives.
pub(super) fn record(home: &Path) -> PathBuf {
    home.join(RECORD)
}

/// The place the record names, if it is one this module would choose for `home`: root
/// deletes what it names (`destroy`), so a record edited to name anything else is ignored.
fn recorded(home: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(record(home)).ok()?;
    let dir = PathBuf::from(text.lines().next()?.trim());
    let user_dir = dir.parent()?;
    let ours = user_dir.parent() == Some(Path::new(BASE))
        && user_dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("dev-db-"))
            .is_some_and(|user| !user.is_empty() && !user.starts_with('.'))
        && dir.file_name().and_then(|n| n.to_str()) == Some(project_hash(home).as_str());
    ours.then_some(dir)
}

/// `/var/lib/cargo-migrate/dev-db-<user>/<hash>` for the project directory `home`.
fn elsewhere(home: &Path, user: &ServerUser) -> PathBuf {
    Path::new(BASE)
        .join(format!("dev-db-{}", user.name))
        .join(project_hash(home))
}

/// 16 hex digits of the SHA-256 of the canonical path: short enough for the unix socket's
/// path limit, long enough never to collide on one machine.
fn project_hash(home: &Path) -> String {
    let digest = Sha256::digest(canonical(home).as_os_str().as_encoded_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The canonical form of `path`, whose last parts may not exist yet (the project's directory
/// before its first build): the existing part canonicalized, the rest appended.
fn canonical(path: &Path) -> PathBuf {
    let mut missing = Vec::new();
    let mut existing = path;
    loop {
        if let Ok(mut dir) = existing.canonicalize() {
            dir.extend(missing.iter().rev());
            return dir;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name);
                existing = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// Creates the cluster's directory `dir` (chosen by [`resolve`], not `home`) for `user`:
/// `/var/lib/cargo-migrate` (root's, mode 755), the user's directory in it and `dir` (the
/// user's, mode 700). Directories already there must be what we would have made.
pub(super) fn prepare(dir: &Path, user: &ServerUser) -> Result<(), DevDbError> {
    let user_dir = dir.parent().unwrap_or(dir);
    let fail = |e: io::Error| {
        DevDbError::io(
            format!(
                "cannot prepare {} for the dev database's server user `{}`",
                dir.display(),
                user.name
            ),
            e,
        )
        .help(
            "fix or remove that directory, run cargo-migrate as a non-root user, or set \
             DATABASE_URL to a server you already have",
        )
    };
    // `tidy` of another project may remove an empty parent between our steps: try again.
    let mut attempts = 0;
    loop {
        let made = private_dir(Path::new(BASE), 0o755, None)
            .and_then(|()| private_dir(user_dir, 0o700, Some(user)))
            .and_then(|()| private_dir(dir, 0o700, Some(user)));
        match made {
            Err(e) if e.kind() == io::ErrorKind::NotFound && attempts < 3 => attempts += 1,
            other => return other.map_err(fail),
        }
    }
}

/// Makes `path` a directory with `mode`, owned by `owner` (root when `None`), or checks that
/// the existing one is a real directory of that owner that no one else can write to. It is
/// made complete under another name and renamed into place, so a concurrent command never
/// sees it half made (still root's, or with the umask's mode).
fn private_dir(path: &Path, mode: u32, owner: Option<&ServerUser>) -> io::Result<()> {
    let uid = owner.map_or(0, ServerUser::uid);
    let check = || {
        let meta = std::fs::symlink_metadata(path)?;
        if meta.is_dir() && meta.uid() == uid && meta.mode() & 0o022 == 0 {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "{} exists but is not a directory of {} that only it can write to",
                path.display(),
                owner.map_or("root", |u| u.name.as_str())
            )))
        }
    };
    if std::fs::symlink_metadata(path).is_ok() {
        return check();
    }
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return check();
    };
    if owner.is_none() && !parent.exists() {
        DirBuilder::new()
            .mode(0o755)
            .recursive(true)
            .create(parent)?;
    }
    let mut temporary = std::ffi::OsString::from(".");
    temporary.push(name);
    temporary.push(format!(".{}", std::process::id()));
    let temporary = parent.join(temporary);
    let _ = std::fs::remove_dir(&temporary);
    let made = DirBuilder::new()
        .mode(mode)
        .create(&temporary)
        // The umask may have taken bits the server's user needs.
        .and_then(|()| std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(mode)))
        .and_then(|()| owner.map_or(Ok(()), |user| user.give(&temporary)))
        .and_then(|()| std::fs::rename(&temporary, path));
    if made.is_err() {
        let _ = std::fs::remove_dir(&temporary);
        // Another command made it first.
        if std::fs::symlink_metadata(path).is_ok() {
            return check();
        }
    }
    made
}

/// Writes the record in `home` naming `dir`, unless it already does.
pub(super) fn write_record(home: &Path, dir: &Path, user: &ServerUser) -> Result<(), DevDbError> {
    if recorded(home).as_deref() == Some(dir) {
        return Ok(());
    }
    let why = match user.blocked_ancestor(home) {
        Some(blocked) => format!("who cannot enter {}", blocked.display()),
        None => "who could not enter the project's directory".to_string(),
    };
    let text = format!(
        "{}\n\
         # This project's dev database (data, server log, socket) lives in the directory above:\n\
         # PostgreSQL refuses to run as root, so its server runs as `{}`, {why}.\n\
         # `cargo migrate dev-db destroy` deletes it and this file.\n",
        dir.display(),
        user.name
    );
    let path = record(home);
    std::fs::write(&path, text)
        .map_err(|e| DevDbError::io(format!("cannot write {}", path.display()), e))
}

/// After `dir` was deleted: removes the user's directory and the base when they are empty.
pub(super) fn tidy(dir: &Path) {
    if let Some(user_dir) = dir.parent() {
        let _ = std::fs::remove_dir(user_dir);
    }
    let _ = std::fs::remove_dir(BASE);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_parts_of_a_path_are_kept_after_its_canonical_part() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().canonicalize().unwrap();
        let link = real.join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(
            canonical(&link.join("target/migrate-dev-db")),
            real.join("target/migrate-dev-db")
        );
        assert_eq!(
            project_hash(&link.join("target/migrate-dev-db")),
            project_hash(&real.join("target/migrate-dev-db"))
        );
        assert_eq!(project_hash(&real).len(), 16);
    }

    #[test]
    fn a_record_is_trusted_only_for_a_place_made_for_its_project() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("migrate-dev-db");
        std::fs::create_dir(&home).unwrap();
        let ours = Path::new(BASE)
            .join("dev-db-postgres")
            .join(project_hash(&home));
        let write = |text: String| std::fs::write(record(&home), text).unwrap();
        write(format!("{}\n# comment\n", ours.display()));
        assert_eq!(recorded(&home), Some(ours.clone()));
        for other in [
            "/etc".to_string(),
            format!("{BASE}/dev-db-postgres/0123456789abcdef"),
            format!("{BASE}/dev-db-/{}", project_hash(&home)),
            format!("{BASE}/x/../dev-db-postgres/{}", project_hash(&home)),
            format!("/tmp/dev-db-postgres/{}", project_hash(&home)),
        ] {
            write(format!("{other}\n"));
            assert_eq!(recorded(&home), None, "{other}");
        }
    }
}
