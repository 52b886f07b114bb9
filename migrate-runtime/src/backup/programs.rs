//! `pg_dump` and `pg_restore`: found where the dev database finds the server programs
//! (`MIGRATE_PG_BINDIR`, `PATH`, `pg_config --bindir`, the usual package locations), the
//! first one whose major version is at least the server's (an older `pg_dump` refuses to dump
//! a newer server, and an older `pg_restore` may not read its archives).

use super::BackupError;
use crate::devdb::Search;
use std::path::PathBuf;

/// The server's major version from `server_version_num`: `150004` → `(15, 0)`,
/// `90624` → `(9, 6)`.
pub(crate) fn server_major(server_version_num: i32) -> (u32, u32) {
    let n = server_version_num.max(0) as u32;
    if n >= 100_000 {
        (n / 10_000, 0)
    } else {
        (n / 10_000, (n / 100) % 100)
    }
}

/// `"15"` → `(15, 0)`, `"9.6"` → `(9, 6)`.
fn parse_major(major: &str) -> (u32, u32) {
    let mut parts = major.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

fn show((major, minor): (u32, u32)) -> String {
    if major < 10 {
        format!("{major}.{minor}")
    } else {
        major.to_string()
    }
}

/// The first `name` in search order whose major version is at least the server's.
pub(crate) fn find(name: &str, server_version_num: i32) -> Result<PathBuf, BackupError> {
    find_in(&Search::from_env(), name, server_version_num)
}

pub(crate) fn find_in(
    search: &Search,
    name: &str,
    server_version_num: i32,
) -> Result<PathBuf, BackupError> {
    let server = server_major(server_version_num);
    let found = search.programs(name);
    if let Some((path, _)) = found.iter().find(|(_, m)| parse_major(m) >= server) {
        return Ok(path.clone());
    }
    let install = format!(
        "install PostgreSQL {}'s client programs (Debian/Ubuntu: `sudo apt install \
         postgresql-client-{}`; macOS: `brew install postgresql@{}`), or set MIGRATE_PG_BINDIR \
         to their bin directory",
        show(server),
        show(server),
        show(server)
    );
    match found.iter().max_by_key(|(_, m)| parse_major(m)) {
        Some((path, major)) => Err(BackupError::new(format!(
            "{name} {major} ({}) is older than the server (PostgreSQL {}): it cannot {} it",
            path.display(),
            show(server),
            if name == "pg_dump" {
                "dump"
            } else {
                "restore into"
            }
        ))
        .help(install)),
        None => Err(BackupError::new(format!(
            "no {name} found (looked in {}PATH, `pg_config --bindir` and \
             /usr/lib/postgresql/<version>/bin)",
            if search.explicit.is_some() {
                "MIGRATE_PG_BINDIR only, not "
            } else {
                ""
            }
        ))
        .help(install)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_majors() {
        assert_eq!(server_major(150004), (15, 0));
        assert_eq!(server_major(180000), (18, 0));
        assert_eq!(server_major(90624), (9, 6));
    }

    #[test]
    fn an_older_pg_dump_is_refused_by_name() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("pg_dump");
        std::fs::write(&fake, "#!/bin/sh\necho 'pg_dump (PostgreSQL) 14.11'\n").unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let search = Search {
            explicit: Some(dir.path().to_path_buf()),
            ..Search::default()
        };
        assert_eq!(find_in(&search, "pg_dump", 140011).unwrap(), fake);
        let e = find_in(&search, "pg_dump", 150004).unwrap_err();
        assert_eq!(
            e.message,
            format!(
                "pg_dump 14 ({}) is older than the server (PostgreSQL 15): it cannot dump it",
                fake.display()
            )
        );
        assert!(e.help.unwrap().contains("postgresql-client-15"));
        let empty = tempfile::tempdir().unwrap();
        let search = Search {
            explicit: Some(empty.path().to_path_buf()),
            ..Search::default()
        };
        assert_eq!(
            find_in(&search, "pg_restore", 150004).unwrap_err().message,
            "no pg_restore found (looked in MIGRATE_PG_BINDIR only, not PATH, `pg_config \
             --bindir` and /usr/lib/postgresql/<version>/bin)"
        );
    }
}
