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
//!
//! Format 2 adds a column before the chain, `verified` or `-`: whether `verify` proved the
//! migration reversible when it was sealed (`seal --verify`). It is written only when an entry
//! is verified, so projects that never verify keep format 1 byte for byte; the chain covers
//! the column, so a hand-added `verified` is corrupt.

use crate::{Checksum, Version};
use std::fmt;

/// The format version written in the header when no entry is verified.
pub const FORMAT: u32 = 1;

/// The format version written when an entry is verified (the `verified` column).
pub const FORMAT_VERIFIED: u32 = 2;

const HEADER: &str = "\
# migrations.lock: seals the migrations of this directory (cargo-migrate).
# Written by `cargo migrate seal` and `cargo migrate apply`; do not edit by hand.
# Sealed migrations are immutable: write a new migration instead of editing one.
# After a git conflict in this file, resolve the migration folders, then run
# `cargo migrate seal`: it rewrites this file from both sides.
# columns: version name sha256(migration.sql) sha256(down.sql)|- chain
";

/// The columns line of format 2 (replaces the header's last line).
const COLUMNS_VERIFIED: &str =
    "# columns: version name sha256(migration.sql) sha256(down.sql)|- verified|- chain\n";

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
    /// `verify` proved it reversible when it was sealed (`seal --verify`).
    pub verified: bool,
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
            verified: false,
        }
    }

    /// The same migration files (version, name, checksums), verified or not.
    ///
    /// ```
    /// # use migrate_runtime::{Checksum, LockEntry, Version};
    /// let a = LockEntry { version: Version::new(1).unwrap(), name: "a".into(), up: Checksum::of_sql(b""), down: None, verified: true };
    /// assert!(a.same_files(&LockEntry { verified: false, ..a.clone() }));
    /// assert!(!a.same_files(&LockEntry { name: "b".into(), ..a.clone() }));
    /// assert!(!a.same_files(&LockEntry { down: Some(Checksum::of_sql(b"")), ..a.clone() }));
    /// ```
    pub fn same_files(&self, other: &LockEntry) -> bool {
        (self.version, &self.name, self.up, self.down)
            == (other.version, &other.name, other.up, other.down)
    }

    /// The entry's columns before the chain hash, in `format`.
    fn core(&self, format: u32) -> String {
        let down = self.down.map_or_else(|| "-".to_string(), |d| d.to_string());
        let core = format!("{} {} {} {}", self.version, self.name, self.up, down);
        match (format, self.verified) {
            (FORMAT, _) => core,
            (_, true) => format!("{core} verified"),
            (_, false) => format!("{core} -"),
        }
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
///     verified: false,
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

    /// The format this lock is written in: 2 when an entry is verified, else 1.
    ///
    /// ```
    /// # use migrate_runtime::LockFile;
    /// assert_eq!(LockFile::default().format(), 1);
    /// ```
    pub fn format(&self) -> u32 {
        if self.entries.iter().any(|e| e.verified) {
            FORMAT_VERIFIED
        } else {
            FORMAT
        }
    }

    /// The chain hashes, one per entry; the last is the file's `sum`.
    fn chain(&self) -> Vec<Checksum> {
        let format = self.format();
        chain_of(format, self.entries.iter().map(|e| e.core(format)))
    }

    /// The total hash in the header: covers every entry.
    ///
    /// ```
    /// # use migrate_runtime::{Checksum, LockEntry, LockFile, Version};
    /// let entry = LockEntry { version: Version::new(1).unwrap(), name: "a".into(), up: Checksum::of_sql(b""), down: None, verified: false };
    /// let (empty, one) = (LockFile::default(), LockFile::new(vec![entry.clone()]));
    /// assert_ne!(one.sum(), empty.sum());
    /// assert_ne!(one.sum(), LockFile::new(vec![LockEntry { name: "b".into(), ..entry }]).sum());
    /// assert!(one.render().contains(&format!("\nsum {}\n", one.sum())));
    /// ```
    pub fn sum(&self) -> Checksum {
        self.sum_of(&self.chain())
    }

    /// The `sum` given the chain (computing the chain hashes every entry: do it once).
    fn sum_of(&self, chain: &[Checksum]) -> Checksum {
        chain.last().copied().unwrap_or_else(|| seed(self.format()))
    }

    /// The file's text. Deterministic: the same entries always give the same bytes.
    ///
    /// ```
    /// # use migrate_runtime::LockFile;
    /// assert!(LockFile::default().render().contains("\nformat 1\nsum "));
    /// ```
    pub fn render(&self) -> String {
        let format = self.format();
        let mut out = String::from(HEADER);
        if format == FORMAT_VERIFIED {
            let columns = out.rfind("# columns:").unwrap_or(out.len());
            out.truncate(columns);
            out.push_str(COLUMNS_VERIFIED);
        }
        let chain = self.chain();
        out.push_str(&format!("format {format}\nsum {}\n", self.sum_of(&chain)));
        for (entry, chain) in self.entries.iter().zip(chain) {
            out.push_str(&format!("{} {chain}\n", entry.core(format)));
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
        // Room for one entry a line, taken once: grown by doubling, the vectors of ten
        // thousand entries would hold half as much again, and twice that while they grow.
        let lines = text.bytes().filter(|b| *b == b'\n').count() + 1;
        LockFile::parse_lines(text.lines(), lines)
    }

    /// [`LockFile::parse`] of a text given line by line (without their line ends), with room
    /// for `capacity` entries: a lock file read from disk need not be held whole.
    pub(crate) fn parse_lines<L: AsRef<str>>(
        lines: impl Iterator<Item = L>,
        capacity: usize,
    ) -> Result<LockFile, Corrupt> {
        let mut format_seen: Option<u32> = None;
        let mut sum: Option<(usize, Checksum)> = None;
        let mut entries = Vec::with_capacity(capacity);
        // The chain is checked as the lines come, in the declared format. A format 2 file is
        // checked against format 1 when no entry turns out verified (the format its entries
        // are in): until one is, its written chain hashes are kept.
        let mut chain = ChainCheck::new(FORMAT);
        let mut unverified: Vec<(usize, Checksum)> = Vec::new();
        let mut verified = false;
        for (index, line) in lines.enumerate() {
            let line_no = index + 1;
            let line = line.as_ref();
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
                ["format", n] if format_seen.is_none() => match n.parse::<u32>() {
                    Ok(n @ (FORMAT | FORMAT_VERIFIED)) => {
                        format_seen = Some(n);
                        chain = ChainCheck::new(n);
                    }
                    _ => {
                        return Err(corrupt(
                            line_no,
                            format!(
                                "lock file format {n} is not supported by this cargo-migrate \
                                     (it reads formats {FORMAT} and {FORMAT_VERIFIED}); upgrade \
                                     cargo-migrate"
                            ),
                        ));
                    }
                },
                _ if format_seen.is_none() => {
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
                    let (entry, flagged, chain_hash) = parse_entry(line_no, &words)?;
                    let format = format_seen.unwrap_or(FORMAT);
                    let columns = if format == FORMAT { 5 } else { 6 };
                    if flagged != (format == FORMAT_VERIFIED) {
                        return Err(corrupt(
                            line_no,
                            format!(
                                "entry has {} columns; format {format} has {columns}",
                                words.len()
                            ),
                        ));
                    }
                    let chain_hash = chain_hash.ok_or_else(|| {
                        corrupt(
                            line_no,
                            format!(
                                "entry has {} columns; expected {columns} (the chain hash is \
                                 missing)",
                                words.len()
                            ),
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
                    // The chain in the declared format, from the columns before the chain
                    // hash as written (the line itself is not kept: it may be read from disk
                    // one line at a time).
                    let core = line.rsplit_once(' ').map_or(line, |(core, _)| core);
                    chain.link(line_no, core, chain_hash);
                    verified |= entry.verified;
                    if format == FORMAT_VERIFIED {
                        if verified {
                            unverified = Vec::new();
                        } else {
                            unverified.push((line_no, chain_hash));
                        }
                    }
                    entries.push(entry);
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
        // Every column of a line that parsed is canonical (14-digit versions, lowercase hex,
        // single spaces), so in the lock's own format the text before a chain hash is exactly
        // the entry's `core`: the chain is hashed from the lines, not formatted again (this
        // runs in the unoptimized macro on every build).
        if format_seen != Some(lock.format()) {
            chain = ChainCheck::new(lock.format());
            for ((line_no, written), entry) in unverified.iter().zip(lock.entries()) {
                chain.link(*line_no, &entry.core(lock.format()), *written);
            }
        }
        if let Some(line_no) = chain.first_mismatch {
            return Err(corrupt(
                line_no,
                "chain hash does not match: this or an earlier entry was edited by hand",
            ));
        }
        if format_seen == Some(FORMAT_VERIFIED) && lock.format() != FORMAT_VERIFIED {
            return Err(corrupt(
                sum_line,
                "format 2 without a verified entry: the file was edited by hand",
            ));
        }
        if sum != chain.last {
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
            let (entry, _, _) = parse_entry(index + 1, &words)?;
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

/// The chain hashes of a lock file's entry lines checked as they are read: the running hash
/// and the first line whose written hash differs.
struct ChainCheck {
    /// The chain hash of the entries so far (the seed before the first).
    last: Checksum,
    first_mismatch: Option<usize>,
}

impl ChainCheck {
    /// A chain in `format`.
    fn new(format: u32) -> ChainCheck {
        ChainCheck {
            last: seed(format),
            first_mismatch: None,
        }
    }

    /// Links the entry of line `line_no`, whose columns before the chain hash are `core` and
    /// whose chain hash is written as `written`.
    fn link(&mut self, line_no: usize, core: &str, written: Checksum) {
        self.last = self.last.link(core);
        if written != self.last && self.first_mismatch.is_none() {
            self.first_mismatch = Some(line_no);
        }
    }
}

/// The chain hashes of entries given as their `core` texts in `format`.
fn chain_of<T: AsRef<str>>(format: u32, cores: impl Iterator<Item = T>) -> Vec<Checksum> {
    let mut prev = seed(format);
    cores
        .map(|core| {
            prev = prev.link(core.as_ref());
            prev
        })
        .collect()
}

/// The seed of the chain in `format`.
fn seed(format: u32) -> Checksum {
    Checksum::of_bytes(format!("cargo-migrate lock format {format}").as_bytes())
}

/// An entry line: the entry, whether it has the `verified|-` column (format 2), and its chain
/// hash when present. The column is told from a chain hash by its value.
fn parse_entry(
    line_no: usize,
    words: &[&str],
) -> Result<(LockEntry, bool, Option<Checksum>), Corrupt> {
    let flagged = matches!(words.get(4), Some(&"verified") | Some(&"-"));
    let (lo, hi) = if flagged { (5, 6) } else { (4, 5) };
    if !(lo..=hi).contains(&words.len()) {
        return Err(corrupt(
            line_no,
            format!(
                "expected `version name sha256 sha256|- [verified|-] chain`, found {} columns",
                words.len()
            ),
        ));
    }
    let bad = |e: &dyn fmt::Display| corrupt(line_no, e.to_string());
    let version: Version = words[0].parse().map_err(|e| bad(&e))?;
    let name = words[1];
    if !crate::model::is_folder_name_part(name) {
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
    let chain = match words.get(if flagged { 5 } else { 4 }) {
        Some(hash) => Some(hash.parse().map_err(|e| bad(&e))?),
        None => None,
    };
    Ok((
        LockEntry {
            version,
            name: name.to_string(),
            up,
            down,
            verified: flagged && words[4] == "verified",
        },
        flagged,
        chain,
    ))
}
