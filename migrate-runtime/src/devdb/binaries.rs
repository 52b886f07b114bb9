//! Finding the PostgreSQL server programs (`initdb`, `pg_ctl`, `postgres`) on this machine.

use super::DevDbError;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The programs every dev database needs.
const PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// A directory holding the PostgreSQL server programs, and their major version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    /// The directory (symlinks resolved, so all three programs come from one installation).
    pub bindir: PathBuf,
    /// The major version, e.g. `"15"` or `"9.6"`.
    pub major: String,
}

impl Binaries {
    /// The path of one program in [`Binaries::bindir`].
    pub fn program(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }
}

/// Where to look for the server programs, in order.
///
/// ```
/// use migrate_runtime::devdb::Search;
/// let search = Search::from_env();
/// assert!(search.lib_roots.iter().any(|p| p.ends_with("postgresql")));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// `MIGRATE_PG_BINDIR`: use exactly this directory.
    pub explicit: Option<PathBuf>,
    /// The `PATH` to search (also for `pg_config`).
    pub path: Option<OsString>,
    /// Directories holding one installation per version (`/usr/lib/postgresql/<version>/bin`,
    /// Homebrew's `postgresql@<version>/bin`, ...), newest version first.
    pub lib_roots: Vec<PathBuf>,
}

impl Search {
    /// The search this machine's environment describes: `MIGRATE_PG_BINDIR`, then `PATH`, then
    /// `pg_config --bindir`, then the usual package locations (Debian/Ubuntu
    /// `/usr/lib/postgresql`, Red Hat `/usr/pgsql-*`, Homebrew `/opt/homebrew/opt` and
    /// `/usr/local/opt`, Postgres.app).
    pub fn from_env() -> Search {
        Search {
            explicit: std::env::var_os("MIGRATE_PG_BINDIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            path: std::env::var_os("PATH"),
            lib_roots: vec![
                PathBuf::from("/usr/lib/postgresql"),
                PathBuf::from("/usr"),
                PathBuf::from("/opt/homebrew/opt"),
                PathBuf::from("/usr/local/opt"),
                PathBuf::from("/Applications/Postgres.app/Contents/Versions"),
            ],
        }
    }

    /// Every candidate directory, in search order (not yet checked for the programs).
    fn candidates(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Some(path) = &self.path {
            out.extend(std::env::split_paths(path));
            let pg_config = std::env::split_paths(path)
                .map(|d| d.join("pg_config"))
                .find(|p| p.is_file());
            if let Some(pg_config) = pg_config
                && let Ok(o) = Command::new(pg_config).arg("--bindir").output()
                && o.status.success()
            {
                out.push(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
            }
        }
        for root in &self.lib_roots {
            out.extend(versioned_bindirs(root));
        }
        out
    }

    /// Finds the server programs. With `major`, only an installation of that major version
    /// will do (an existing cluster can only be started by the version that created it).
    pub fn find(&self, major: Option<&str>) -> Result<Binaries, DevDbError> {
        if let Some(dir) = &self.explicit {
            let found = complete(dir).ok_or_else(|| {
                DevDbError::new(format!(
                    "MIGRATE_PG_BINDIR={} does not hold initdb, pg_ctl and postgres",
                    dir.display()
                ))
                .help("point it at PostgreSQL's bin directory (`pg_config --bindir`), or unset it")
            })?;
            return check_major(found, major);
        }
        let mut seen = Vec::new();
        for dir in self.candidates() {
            let Some(found) = complete(&dir) else {
                continue;
            };
            if seen.iter().any(|b: &Binaries| b.bindir == found.bindir) {
                continue;
            }
            if major.is_none_or(|m| m == found.major) {
                return Ok(found);
            }
            seen.push(found);
        }
        match (major, seen.first()) {
            (Some(m), Some(other)) => Err(DevDbError::new(format!(
                "the dev database was created by PostgreSQL {m}, but only PostgreSQL {} is installed ({})",
                other.major,
                other.bindir.display()
            ))
            .help(format!(
                "run `cargo migrate dev-db destroy` to recreate it with this version (its data is lost), \
                 or install PostgreSQL {m} again"
            ))),
            _ => Err(not_found()),
        }
    }
}

impl Search {
    /// Every copy of one client program (`pg_dump`, `pg_restore`) in search order, with its
    /// major version: `MIGRATE_PG_BINDIR` alone when set, else `PATH`, `pg_config --bindir`
    /// and the usual package locations, as for the server programs.
    pub fn programs(&self, name: &str) -> Vec<(PathBuf, String)> {
        let dirs = match &self.explicit {
            Some(dir) => vec![dir.clone()],
            None => self.candidates(),
        };
        let mut found: Vec<(PathBuf, String)> = Vec::new();
        for dir in dirs {
            let path = dir.join(name);
            if !path.is_file() || found.iter().any(|(p, _)| *p == path) {
                continue;
            }
            if let Some(major) = version(&path) {
                found.push((path, major));
            }
        }
        found
    }
}

/// The message when no server programs exist on this machine.
fn not_found() -> DevDbError {
    DevDbError::new(
        "no PostgreSQL server programs found for the dev database (looked for initdb, pg_ctl and \
         postgres in PATH, `pg_config --bindir` and /usr/lib/postgresql/<version>/bin)",
    )
    .help(
        "install PostgreSQL (Debian/Ubuntu: `sudo apt install postgresql`; Fedora/RHEL: \
         `sudo dnf install postgresql-server`; macOS: `brew install postgresql@17`), or set \
         MIGRATE_PG_BINDIR to its bin directory, or use a server you already have: \
         `--database-url postgres://user@host/db` or DATABASE_URL in the environment or .env",
    )
}

/// `dir` resolved to the real directory of its `initdb`, when all three programs are there.
fn complete(dir: &Path) -> Option<Binaries> {
    let initdb = dir.join("initdb").canonicalize().ok()?;
    let bindir = initdb.parent()?.to_path_buf();
    if !PROGRAMS.iter().all(|p| bindir.join(p).is_file()) {
        return None;
    }
    let major = version(&bindir.join("pg_ctl"))?;
    Some(Binaries { bindir, major })
}

fn check_major(found: Binaries, major: Option<&str>) -> Result<Binaries, DevDbError> {
    match major {
        Some(m) if m != found.major => Err(DevDbError::new(format!(
            "the dev database was created by PostgreSQL {m}, but MIGRATE_PG_BINDIR ({}) holds PostgreSQL {}",
            found.bindir.display(),
            found.major
        ))
        .help("point MIGRATE_PG_BINDIR at the matching version, or run `cargo migrate dev-db destroy`")),
        _ => Ok(found),
    }
}

/// The major version `pg_ctl --version` reports ("pg_ctl (PostgreSQL) 15.19 (Debian ...)"),
/// and likewise for the other programs.
pub(crate) fn version(pg_ctl: &Path) -> Option<String> {
    let out = Command::new(pg_ctl).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let number = text.split(") ").nth(1)?.split_whitespace().next()?;
    Some(major_of(number))
}

/// `"15.19"` → `"15"`, `"9.6.24"` → `"9.6"`, `"17beta1"` → `"17"`.
pub(crate) fn major_of(version: &str) -> String {
    let digits: String = version
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = digits.split('.');
    let first = parts.next().unwrap_or_default();
    match first.parse::<u32>() {
        Ok(n) if n < 10 => format!("{first}.{}", parts.next().unwrap_or("0")),
        _ => first.to_string(),
    }
}

/// `<root>/<version>/bin`, `<root>/postgresql@<version>/bin` and `<root>/pgsql-<version>/bin`
/// for every version under `root`, newest first.
fn versioned_bindirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut found: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let version = name
                .strip_prefix("postgresql@")
                .or_else(|| name.strip_prefix("pgsql-"))
                .or_else(|| name.strip_prefix("postgresql"))
                .unwrap_or(&name);
            let key: Vec<u32> = version
                .split('.')
                .map(|p| p.parse::<u32>().ok())
                .collect::<Option<_>>()?;
            Some((key, e.path().join("bin")))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_versions() {
        assert_eq!(major_of("15.19"), "15");
        assert_eq!(major_of("9.6.24"), "9.6");
        assert_eq!(major_of("17beta1"), "17");
    }

    #[test]
    fn newest_version_first() {
        let root = tempfile::tempdir().unwrap();
        for v in ["9.6", "15", "13", "notaversion"] {
            std::fs::create_dir_all(root.path().join(v).join("bin")).unwrap();
        }
        let dirs = versioned_bindirs(root.path());
        let names: Vec<_> = dirs
            .iter()
            .map(|d| d.parent().unwrap().file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, ["15", "13", "9.6"]);
    }

    #[test]
    fn no_binaries_names_the_package_to_install() {
        let empty = tempfile::tempdir().unwrap();
        let search = Search {
            explicit: None,
            path: Some(empty.path().as_os_str().to_owned()),
            lib_roots: vec![empty.path().to_path_buf()],
        };
        let e = search.find(None).unwrap_err();
        assert_eq!(
            e.message,
            "no PostgreSQL server programs found for the dev database (looked for initdb, pg_ctl and \
             postgres in PATH, `pg_config --bindir` and /usr/lib/postgresql/<version>/bin)"
        );
        assert!(
            e.help
                .contains("Debian/Ubuntu: `sudo apt install postgresql`"),
            "{}",
            e.help
        );
        assert!(e.help.contains("brew install"), "{}", e.help);
        assert!(e.help.contains("DATABASE_URL"), "{}", e.help);
    }

    #[test]
    fn explicit_bindir_without_programs_is_an_error() {
        let empty = tempfile::tempdir().unwrap();
        let search = Search {
            explicit: Some(empty.path().to_path_buf()),
            ..Search::default()
        };
        let e = search.find(None).unwrap_err();
        assert!(e.message.starts_with("MIGRATE_PG_BINDIR="), "{}", e.message);
    }
}
