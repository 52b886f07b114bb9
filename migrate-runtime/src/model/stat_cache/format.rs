//! The stat cache's file, little-endian binary:
//!
//! ```text
//! "cargo-migrate <version> stat cache\n"  magic (the tool's version included)
//! u32                           format version
//! i64                           records stamped at or after this (ns) are racy
//! u32, bytes                    the migrations directory (absolute)
//! records, in folder-name order:
//!   u16, bytes                  folder name
//!   stamp                       the folder's (its listing: no stray file)
//!   u8                          flags (has down.sql, the up directives, down's transaction)
//!   stamp, [u8; 32]             migration.sql's stamp and checksum
//!   [stamp, [u8; 32]]           down.sql's, when it has one
//! [u8; 32]                      SHA-256 of everything before
//! ```
//!
//! A stamp is device, inode, size, modification and change time (ns): five 64-bit numbers.
//!
//! The file is never held whole (ten thousand migrations make two megabytes): it is read once
//! to check its hash, then again a record at a time through the same open file, as the folders
//! are asked for. A writer never changes a cache file in place (it renames a new one over it),
//! so the second read sees the bytes the first one checked.

use super::stamp::Stamp;
use crate::Checksum;
use crate::model::Directives;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::ops::Range;

/// The tool's version is part of it: a cache written by another version (which may hash,
/// parse or check differently) is ignored.
const MAGIC: &[u8] =
    concat!("cargo-migrate ", env!("CARGO_PKG_VERSION"), " stat cache\n").as_bytes();
/// Bumped whenever the layout or the meaning of a field changes: another version is ignored.
pub(super) const FORMAT: u32 = 2;
const STAMP_LEN: usize = 40;
const HASH_LEN: usize = 32;

const HAS_DOWN: u8 = 1;
const NO_TRANSACTION: u8 = 1 << 1;
const IRREVERSIBLE: u8 = 1 << 2;
const TRANSACTION: u8 = 1 << 3;
const BACKFILL: u8 = 1 << 4;
const DOWN_NO_TRANSACTION: u8 = 1 << 5;

/// A file's stamp and what it hashed to.
pub(super) type Hashed = (Stamp, Checksum);

/// One migration folder as the cache remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Record<'a> {
    pub name: &'a str,
    pub folder: Stamp,
    pub directives: Directives,
    pub down_no_transaction: bool,
    pub up: Hashed,
    pub down: Option<Hashed>,
}

/// How much of the file is read at a time (checking the hash, copying records back).
const CHUNK: usize = 64 * 1024;

/// A cache file whose hash is right, its header read, positioned at its first record.
#[derive(Debug)]
pub(super) struct Opened {
    /// Records whose stamps are at or after this (ns, the file system's clock) prove nothing:
    /// fixed when the cache was written.
    pub racy_from_ns: i64,
    /// The migrations directory the file is the cache of.
    pub dir: Vec<u8>,
    /// Its records.
    pub records: RecordStream,
}

/// `file` when it is a whole cache file of this format: a hash that matches (a torn or corrupt
/// file is not one), right magic, right version.
pub(super) fn open(mut file: fs::File) -> Option<Opened> {
    let body_len = hashed_body_len(&mut file)?;
    file.seek(SeekFrom::Start(0)).ok()?;
    let mut src = BufReader::with_capacity(CHUNK, file).take(body_len);
    let mut fixed = [0; MAGIC.len() + 16];
    src.read_exact(&mut fixed).ok()?;
    let mut r = Reader {
        bytes: &fixed,
        pos: 0,
    };
    if r.take(MAGIC.len())? != MAGIC || r.u32()? != FORMAT {
        return None;
    }
    let racy_from_ns = r.u64()? as i64;
    let dir_len = u64::from(r.u32()?);
    let mut dir = Vec::new();
    (&mut src).take(dir_len).read_to_end(&mut dir).ok()?;
    if dir.len() as u64 != dir_len {
        return None;
    }
    Some(Opened {
        racy_from_ns,
        dir,
        records: RecordStream {
            pos: body_len - src.limit(),
            end: body_len,
            src,
            held: None,
            buf: Vec::new(),
        },
    })
}

/// The length of the file's body (all but its trailer) when the trailer is the SHA-256 of the
/// body; read from the start, a chunk at a time.
fn hashed_body_len(file: &mut fs::File) -> Option<u64> {
    let body_len = file.metadata().ok()?.len().checked_sub(HASH_LEN as u64)?;
    let mut hasher = Sha256::new();
    let mut chunk = vec![0; CHUNK];
    let mut body = (&mut *file).take(body_len);
    let mut read = 0;
    loop {
        match body.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&chunk[..n]);
                read += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    let mut hash = [0; HASH_LEN];
    file.read_exact(&mut hash).ok()?;
    // Nothing after the trailer: a file that grew is not the one that was measured.
    let at_end = matches!(file.read(&mut [0]), Ok(0));
    (read == body_len && at_end && hasher.finalize().as_slice() == hash).then_some(body_len)
}

/// The header's bytes, up to the records.
pub(super) fn encode_header(racy_from_ns: i64, dir: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAGIC.len() + 16 + dir.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&racy_from_ns.to_le_bytes());
    out.extend_from_slice(&(dir.len() as u32).to_le_bytes());
    out.extend_from_slice(dir);
    out
}

/// Appends a record to `out`; `false` (and nothing appended) when its name is too long.
pub(super) fn encode_record(out: &mut Vec<u8>, record: &Record<'_>) -> bool {
    let Ok(name_len) = u16::try_from(record.name.len()) else {
        return false;
    };
    out.extend_from_slice(&name_len.to_le_bytes());
    out.extend_from_slice(record.name.as_bytes());
    stamp(out, &record.folder);
    let d = &record.directives;
    let flags = [
        (record.down.is_some(), HAS_DOWN),
        (d.no_transaction, NO_TRANSACTION),
        (d.irreversible, IRREVERSIBLE),
        (d.transaction, TRANSACTION),
        (d.backfill, BACKFILL),
        (record.down_no_transaction, DOWN_NO_TRANSACTION),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .fold(0, |flags, (_, bit)| flags | bit);
    out.push(flags);
    for (s, checksum) in std::iter::once(&record.up).chain(record.down.as_ref()) {
        stamp(out, s);
        out.extend_from_slice(&checksum.0);
    }
    true
}

fn stamp(out: &mut Vec<u8>, s: &Stamp) {
    for n in [s.dev, s.ino, s.size, s.mtime_ns as u64, s.ctime_ns as u64] {
        out.extend_from_slice(&n.to_le_bytes());
    }
}

/// The records of a cache file, read one at a time, each with where it is in the file.
#[derive(Debug)]
pub(super) struct RecordStream {
    src: io::Take<BufReader<fs::File>>,
    /// Where the next record to read starts.
    pos: u64,
    /// Where the records end (the trailer starts).
    end: u64,
    /// A record read but not consumed (after the folder asked for): where it is; its bytes
    /// are in `buf`.
    held: Option<Range<u64>>,
    /// The bytes of the record read last.
    buf: Vec<u8>,
}

impl RecordStream {
    /// The record of `name`, consumed, with where it is in the file, and whether records
    /// before it were passed over (their folders are gone). Records are in name order, and
    /// names are asked for in that order: a record after `name` is kept for the next call.
    pub fn find(&mut self, name: &str) -> (Option<(Range<u64>, Record<'_>)>, bool) {
        let mut skipped = false;
        loop {
            let Some(range) = self.held.take().or_else(|| self.advance()) else {
                return (None, skipped);
            };
            let order = Reader::record_of(&self.buf).map(|r| r.name.cmp(name));
            match order {
                Some(std::cmp::Ordering::Less) => skipped = true,
                Some(std::cmp::Ordering::Equal) => {
                    return (Reader::record_of(&self.buf).map(|r| (range, r)), skipped);
                }
                Some(std::cmp::Ordering::Greater) => {
                    self.held = Some(range);
                    return (None, skipped);
                }
                None => {
                    self.pos = self.end;
                    return (None, skipped);
                }
            }
        }
    }

    /// Whether records are left that no folder asked for.
    pub fn has_more(&self) -> bool {
        self.held.is_some() || self.pos < self.end
    }

    /// Reads the next record's bytes into `buf`: where it is, or `None` at the end, or where
    /// the bytes are not a record (the rest is then not used).
    fn advance(&mut self) -> Option<Range<u64>> {
        let start = self.pos;
        if start >= self.end {
            return None;
        }
        if read_record(&mut self.src, &mut self.buf).is_err() {
            self.pos = self.end;
            return None;
        }
        self.pos += self.buf.len() as u64;
        Some(start..self.pos)
    }

    /// Passes the bytes of `range` (records of this file) to `out`, a chunk at a time. Ends
    /// the reading of records: for writing the file back.
    pub fn copy(
        &mut self,
        range: Range<u64>,
        out: &mut impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        self.pos = self.end;
        self.held = None;
        let file = self.src.get_mut().get_mut();
        file.seek(SeekFrom::Start(range.start))?;
        let mut left = range.end.saturating_sub(range.start);
        let mut chunk = vec![0; CHUNK];
        while left > 0 {
            let n = usize::try_from(left).map_or(CHUNK, |l| l.min(CHUNK));
            file.read_exact(&mut chunk[..n])?;
            out(&chunk[..n])?;
            left -= n as u64;
        }
        Ok(())
    }
}

/// Reads one record's bytes from `src` into `buf` (replacing what it held): its name's length
/// and the flags tell how long it is.
fn read_record(src: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<()> {
    let mut more = |buf: &mut Vec<u8>, n: usize| {
        let at = buf.len();
        buf.resize(at + n, 0);
        src.read_exact(&mut buf[at..])
    };
    buf.clear();
    more(buf, 2)?;
    let name_len = usize::from(u16::from_le_bytes([buf[0], buf[1]]));
    more(buf, name_len + STAMP_LEN + 1)?;
    let files = if buf[buf.len() - 1] & HAS_DOWN != 0 {
        2
    } else {
        1
    };
    more(buf, files * (STAMP_LEN + HASH_LEN))
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// The record that `bytes` are, exactly.
    fn record_of(bytes: &'a [u8]) -> Option<Record<'a>> {
        let mut r = Reader { bytes, pos: 0 };
        r.record().filter(|_| r.pos == bytes.len())
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let bytes = self.bytes.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(bytes)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }

    fn stamp(&mut self) -> Option<Stamp> {
        let bytes: [u8; STAMP_LEN] = self.array()?;
        let n = |i: usize| {
            let mut b = [0; 8];
            b.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            u64::from_le_bytes(b)
        };
        Some(Stamp {
            dev: n(0),
            ino: n(1),
            size: n(2),
            mtime_ns: n(3) as i64,
            ctime_ns: n(4) as i64,
        })
    }

    fn hashed(&mut self) -> Option<Hashed> {
        Some((self.stamp()?, Checksum(self.array()?)))
    }

    fn record(&mut self) -> Option<Record<'a>> {
        let name_len = u16::from_le_bytes(self.array()?);
        let name = std::str::from_utf8(self.take(usize::from(name_len))?).ok()?;
        let folder = self.stamp()?;
        let [flags] = self.array()?;
        let on = |bit: u8| flags & bit != 0;
        let up = self.hashed()?;
        let down = if on(HAS_DOWN) {
            Some(self.hashed()?)
        } else {
            None
        };
        Some(Record {
            name,
            folder,
            directives: Directives {
                no_transaction: on(NO_TRANSACTION),
                irreversible: on(IRREVERSIBLE),
                transaction: on(TRANSACTION),
                backfill: on(BACKFILL),
            },
            down_no_transaction: on(DOWN_NO_TRANSACTION),
            up,
            down,
        })
    }
}

/// The trailer: the SHA-256 of everything written before it.
pub(super) fn trailer(hasher: Sha256) -> [u8; HASH_LEN] {
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(n: u64) -> Stamp {
        Stamp {
            dev: n,
            ino: n + 1,
            size: n + 2,
            mtime_ns: -(n as i64),
            ctime_ns: n as i64 * 1_000_000_000,
        }
    }

    fn file(records: &[Record<'_>]) -> Vec<u8> {
        let mut bytes = encode_header(7, b"/app/migrations");
        for r in records {
            assert!(encode_record(&mut bytes, r));
        }
        let hash = trailer(Sha256::new_with_prefix(&bytes));
        bytes.extend_from_slice(&hash);
        bytes
    }

    fn records() -> Vec<Record<'static>> {
        vec![
            Record {
                name: "20261121093000_a",
                folder: stamp(1),
                directives: Directives {
                    no_transaction: true,
                    backfill: true,
                    ..Directives::default()
                },
                down_no_transaction: true,
                up: (stamp(2), Checksum::of_sql(b"SELECT 1;")),
                down: Some((stamp(3), Checksum::of_sql(b"SELECT -1;"))),
            },
            Record {
                name: "20261121093001_b",
                folder: stamp(4),
                directives: Directives {
                    irreversible: true,
                    transaction: true,
                    ..Directives::default()
                },
                down_no_transaction: false,
                up: (stamp(5), Checksum::of_sql(b"SELECT 2;")),
                down: None,
            },
        ]
    }

    /// `bytes` as a cache file, opened.
    fn opened(bytes: &[u8]) -> Option<Opened> {
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, bytes).unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        open(file)
    }

    #[test]
    fn records_read_back_as_written_one_at_a_time() {
        let bytes = file(&records());
        let mut opened = opened(&bytes).unwrap();
        assert_eq!(
            (opened.racy_from_ns, opened.dir.as_slice()),
            (7, &b"/app/migrations"[..])
        );
        let read = &mut opened.records;
        for expected in records() {
            let (Some((range, record)), false) = read.find(expected.name) else {
                panic!("{} not found in order", expected.name);
            };
            assert_eq!(record, expected);
            let at = usize::try_from(range.start).unwrap()..usize::try_from(range.end).unwrap();
            assert_eq!(Reader::record_of(&bytes[at]), Some(expected));
        }
        assert!(!read.has_more());
    }

    #[test]
    fn a_record_after_the_name_asked_for_waits_and_one_before_it_is_skipped() {
        let bytes = file(&records());
        let read = &mut opened(&bytes).unwrap().records;
        assert_eq!(read.find("20261121093000_0").0, None);
        assert!(read.has_more());
        let (found, skipped) = read.find("20261121093001_b");
        assert_eq!(found.map(|(_, r)| r.name), Some("20261121093001_b"));
        assert!(skipped, "a's folder is gone");
        assert!(!read.has_more());
    }

    #[test]
    fn records_are_copied_back_from_the_file() {
        let bytes = file(&records());
        let read = &mut opened(&bytes).unwrap().records;
        let (range, _) = read.find("20261121093001_b").0.unwrap();
        let mut copied = Vec::new();
        read.copy(range.clone(), &mut |b: &[u8]| {
            copied.extend_from_slice(b);
            Ok(())
        })
        .unwrap();
        let at = usize::try_from(range.start).unwrap()..usize::try_from(range.end).unwrap();
        assert_eq!(copied, &bytes[at]);
    }

    #[test]
    fn a_flipped_byte_a_torn_file_or_another_version_is_no_cache() {
        let bytes = file(&records());
        for i in [0, MAGIC.len() + 5, bytes.len() / 2, bytes.len() - 1] {
            let mut corrupt = bytes.clone();
            corrupt[i] ^= 0x40;
            assert!(opened(&corrupt).is_none(), "byte {i} flipped");
        }
        assert!(opened(&bytes[..bytes.len() - 1]).is_none());
        assert!(opened(&[bytes.as_slice(), b"\n"].concat()).is_none());
        assert!(opened(&[]).is_none());
        let mut other = encode_header(7, b"/app/migrations");
        other[MAGIC.len()] = FORMAT as u8 + 1;
        let hash = trailer(Sha256::new_with_prefix(&other));
        other.extend_from_slice(&hash);
        assert!(opened(&other).is_none());
    }

    #[test]
    fn a_name_too_long_for_its_length_field_is_not_recorded() {
        let long = "x".repeat(70_000);
        let record = Record {
            name: &long,
            ..records()[1].clone()
        };
        let mut out = Vec::new();
        assert!(!encode_record(&mut out, &record));
        assert!(out.is_empty());
    }
}
