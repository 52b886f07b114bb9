//! The text format of `migrations.lock`: line-oriented, deterministic, diff-friendly.
//!
//! ```text
//! # (comment lines explaining the file)
//! format 1
//! sum <chain hash of the last entry>
//! <version> <name> <sha256 migration.sql> <sha256 down.sql or -> <chain>
//! ```
//!
//! Each entry's chain hash covers the entry and every entry before it, and the header's `sum`
//! repeats the last one, as Atlas's `atlas.sum` does: two branches that each seal a migration
//! both change the header line, so git reports a conflict instead of merging silently.

use crate::{Checksum, Version};
use std::fmt;

/// The format version written in the header.
pub const FORMAT: u32 = 1;

const HEADER: &str = "\
# migrations.lock: seals the migrations of this directory (cargo-migrate).
# Written by `cargo migrate seal` and `cargo migrate apply`; do not edit by hand.
# Sealed migrations are immutable: write a new migration instead of editing one.
# After a git conflict in this file, resolve the migration folders, then run
# `cargo migrate seal`: it rewrites this file from both sides.
# columns: version name sha256(migration.sql) sha256(down.sql)|- chain
";

/// One sealed migration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LockEntry {
    /// The migration's version.
    pub version: Version,
    /// The migration's name.
    pub name: String,
    /// Checksum of `migration.sql`.
    pub up: Checksum,
    /// Checksum of `down.sql`, `None` when the migration had none.
    pub down: Option<Checksum>,
}

impl LockEntry {
    /// The entry that seals a migration as it is now.
    ///
    /// ```
    /// # use migrate_runtime::{LockEntry, MigrationSet};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::fs::create_dir(dir.path().join("20261121093000_a")).unwrap();
    /// # std::fs::write(dir.path().join("20261121093000_a/migration.sql"), "SELECT 1;").unwrap();
    /// let set = MigrationSet::read(dir.path()).unwrap();
    /// let entry = LockEntry::of(&set.migrations[0]);
    /// assert_eq!((entry.name.as_str(), entry.down), ("a", None));
    /// ```
    pub fn of(m: &crate::Migration) -> LockEntry {
        LockEntry {
            version: m.version,
            name: m.name.clone(),
            up: m.up.checksum,
            down: m.down.as_ref().map(|d| d.checksum),
        }
    }

    fn core(&self) -> String {
        let down = self.down.map_or_else(|| "-".to_string(), |d| d.to_string());
        format!("{} {} {} {}", self.version, self.name, self.up, down)
    }
}

/// The parsed lock file: sealed entries in version order.
///
/// ```
/// use migrate_runtime::{Checksum, LockEntry, LockFile, Version};
/// let lock = LockFile::new(vec![LockEntry {
///     version: Version::new(20261121093000).unwrap(),
///     name: "create_users".into(),
///     up: Checksum::of_sql(b"CREATE TABLE users ();"),
///     down: None,
/// }]);
/// let text = lock.render();
/// assert_eq!(LockFile::parse(&text).unwrap(), lock);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockFile {
    entries: Vec<LockEntry>,
}

/// Why a lock file cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Corrupt {
    /// The 1-based line, where there is one.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

fn corrupt(line: usize, message: impl Into<String>) -> Corrupt {
    Corrupt {
        line: Some(line),
        message: message.into(),
    }
}

fn is_conflict_marker(line: &str) -> bool {
    ["<<<<<<<", "=======", ">>>>>>>", "|||||||"]
        .iter()
        .any(|m| line.starts_with(m))
}

impl LockFile {
    /// A lock file sealing these entries (sorted by version).
    ///
    /// ```
    /// # use migrate_runtime::LockFile;
    /// assert!(LockFile::new(vec![]).entries().is_empty());
    /// ```
    pub fn new(mut entries: Vec<LockEntry>) -> LockFile {
        entries.sort_by_key(|e| e.version);
        LockFile { entries }
    }

    /// The sealed entries, oldest first.
    ///
    /// ```
    /// # use migrate_runtime::LockFile;
    /// assert_eq!(LockFile::default().entries().len(), 0);
    /// ```
    pub fn entries(&self) -> &[LockEntry] {
        &self.entries
    }

    /// The entry sealing this version.
    ///
    /// ```
    /// # use migrate_runtime::{LockFile, Version};
    /// assert!(LockFile::default().get(Version::new(1).unwrap()).is_none());
    /// ```
    pub fn get(&self, version: Version) -> Option<&LockEntry> {
        self.entries
            .binary_search_by_key(&version, |e| e.version)
            .ok()
            .map(|i| &self.entries[i])
    }

    /// The newest sealed version.
    ///
    /// ```
    /// # use migrate_runtime::LockFile;
    /// assert_eq!(LockFile::default().newest(), None);
    /// ```
    pub fn newest(&self) -> Option<Version> {
        self.entries.last().map(|e| e.version)
    }

    /// The chain hashes, one per entry; the last is the file's `sum`.
    fn chain(&self) -> Vec<Checksum> {
        let mut prev = Checksum::of_bytes(format!("cargo-migrate lock format {FORMAT}").as_bytes());
        self.entries
            .iter()
            .map(|e| {
                let mut bytes = prev.0.to_vec();
                bytes.extend_from_slice(e.core().as_bytes());
                prev = Checksum::of_bytes(&bytes);
                prev
            })
            .collect()
    }

    /// The total hash in the header: covers every entry.
    ///
    /// ```
    /// # use migrate_runtime::LockFile;
    /// assert_eq!(LockFile::default().sum(), LockFile::default().sum());
    /// ```
    pub fn sum(&self) -> Checksum {
        self.chain().last().copied().unwrap_or_else(|| {
            Checksum::of_bytes(format!("cargo-migrate lock format {FORMAT}").as_bytes())
        })
    }

    /// The file's text. Deterministic: the same entries always give the same bytes.
    ///
    /// ```
    /// # use migrate_runtime::LockFile;
    /// assert!(LockFile::default().render().contains("\nformat 1\nsum "));
    /// ```
    pub fn render(&self) -> String {
        let mut out = String::from(HEADER);
        out.push_str(&format!("format {FORMAT}\nsum {}\n", self.sum()));
        for (entry, chain) in self.entries.iter().zip(self.chain()) {
            out.push_str(&format!("{} {chain}\n", entry.core()));
        }
        out
    }

    /// Parses a lock file strictly: every chain hash and the `sum` must match, so a hand edit,
    /// a bad merge or conflict markers are reported as corrupt, with the line.
    ///
    /// ```
    /// # use migrate_runtime::LockFile;
    /// let err = LockFile::parse("<<<<<<< HEAD\n").unwrap_err();
    /// assert_eq!(err.line, Some(1));
    /// assert!(err.message.contains("merge conflict"));
    /// ```
    pub fn parse(text: &str) -> Result<LockFile, Corrupt> {
        let mut format_seen = false;
        let mut sum: Option<(usize, Checksum)> = None;
        let mut entries = Vec::new();
        let mut chains = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = line.strip_suffix('\r').unwrap_or(line);
            if is_conflict_marker(line) {
                return Err(corrupt(
                    line_no,
                    "git merge conflict markers: migrations were sealed on two branches",
                ));
            }
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split(' ').collect();
            match words.as_slice() {
                ["format", n] if !format_seen => {
                    if *n != FORMAT.to_string() {
                        return Err(corrupt(
                            line_no,
                            format!(
                                "lock file format {n} is not supported by this cargo-migrate \
                                 (it writes format {FORMAT}); upgrade cargo-migrate"
                            ),
                        ));
                    }
                    format_seen = true;
                }
                _ if !format_seen => {
                    return Err(corrupt(line_no, "expected the header line `format 1`"));
                }
                ["sum", hash] if sum.is_none() => {
                    let hash = hash
                        .parse()
                        .map_err(|e: crate::checksum::ParseChecksumError| {
                            corrupt(line_no, e.to_string())
                        })?;
                    sum = Some((line_no, hash));
                }
                _ if sum.is_none() => {
                    return Err(corrupt(line_no, "expected the header line `sum <hash>`"));
                }
                _ => {
                    let (entry, chain) = parse_entry(line_no, &words)?;
                    let chain = chain.ok_or_else(|| {
                        corrupt(
                            line_no,
                            "entry has 4 columns; expected 5 (the chain hash is missing)",
                        )
                    })?;
                    if let Some(prev) = entries.last().map(|e: &LockEntry| e.version)
                        && entry.version <= prev
                    {
                        return Err(corrupt(
                            line_no,
                            format!("version {} is not after version {prev}", entry.version),
                        ));
                    }
                    entries.push(entry);
                    chains.push((line_no, chain));
                }
            }
        }
        let Some((sum_line, sum)) = sum else {
            return Err(Corrupt {
                line: None,
                message: "the header (`format 1` and `sum <hash>`) is missing".into(),
            });
        };
        let lock = LockFile { entries };
        for ((line_no, written), expected) in chains.iter().zip(lock.chain()) {
            if *written != expected {
                return Err(corrupt(
                    *line_no,
                    "chain hash does not match: this or an earlier entry was edited by hand",
                ));
            }
        }
        if sum != lock.sum() {
            return Err(corrupt(
                sum_line,
                "sum does not match the entries: an entry was added, removed or edited by hand",
            ));
        }
        Ok(lock)
    }

    /// Recovers the entries of a corrupt lock file, typically one with merge-conflict markers:
    /// every entry line from both sides is kept, chain hashes and headers are ignored. Fails
    /// when two lines seal the same version differently.
    ///
    /// ```
    /// # use migrate_runtime::LockFile;
    /// let text = "<<<<<<< HEAD\n=======\n>>>>>>> branch\n";
    /// assert!(LockFile::salvage(text).unwrap().entries().is_empty());
    /// ```
    pub fn salvage(text: &str) -> Result<LockFile, Corrupt> {
        let mut entries: Vec<(usize, LockEntry)> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let words: Vec<&str> = line.split(' ').collect();
            if line.trim().is_empty()
                || line.starts_with('#')
                || is_conflict_marker(line)
                || matches!(words.first(), Some(&"format") | Some(&"sum"))
            {
                continue;
            }
            let (entry, _) = parse_entry(index + 1, &words)?;
            match entries.iter().find(|(_, e)| e.version == entry.version) {
                Some((_, e)) if *e == entry => {}
                Some((first, _)) => {
                    return Err(corrupt(
                        index + 1,
                        format!(
                            "version {} is sealed differently here and on line {first}",
                            entry.version
                        ),
                    ));
                }
                None => entries.push((index + 1, entry)),
            }
        }
        Ok(LockFile::new(entries.into_iter().map(|(_, e)| e).collect()))
    }
}

fn parse_entry(line_no: usize, words: &[&str]) -> Result<(LockEntry, Option<Checksum>), Corrupt> {
    if !(4..=5).contains(&words.len()) {
        return Err(corrupt(
            line_no,
            format!(
                "expected `version name sha256 sha256|- chain`, found {} columns",
                words.len()
            ),
        ));
    }
    let bad = |e: &dyn fmt::Display| corrupt(line_no, e.to_string());
    let version: Version = words[0].parse().map_err(|e| bad(&e))?;
    let name = words[1];
    if crate::model::parse_folder_name(&format!("{version}_{name}")).is_none() {
        return Err(corrupt(
            line_no,
            format!("`{name}` is not a migration name"),
        ));
    }
    let up: Checksum = words[2].parse().map_err(|e| bad(&e))?;
    let down = match words[3] {
        "-" => None,
        hash => Some(hash.parse().map_err(|e| bad(&e))?),
    };
    let chain = match words.get(4) {
        Some(hash) => Some(hash.parse().map_err(|e| bad(&e))?),
        None => None,
    };
    Ok((
        LockEntry {
            version,
            name: name.to_string(),
            up,
            down,
        },
        chain,
    ))
}
