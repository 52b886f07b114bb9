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

use super::stamp::Stamp;
use crate::Checksum;
use crate::model::Directives;
use sha2::{Digest, Sha256};
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

/// The header of a cache file whose hash is right.
#[derive(Debug)]
pub(super) struct Header<'a> {
    /// Records whose stamps are at or after this (ns, the file system's clock) prove nothing:
    /// fixed when the cache was written.
    pub racy_from_ns: i64,
    pub dir: &'a [u8],
    /// Where the records are in the file.
    pub records: Range<usize>,
}

/// The header of `bytes`, when they are a whole cache file of this format: right magic, right
/// version, and a hash that matches (a torn or corrupt file is not one).
pub(super) fn header(bytes: &[u8]) -> Option<Header<'_>> {
    let body_len = bytes.len().checked_sub(HASH_LEN)?;
    let (body, hash) = bytes.split_at(body_len);
    if Sha256::digest(body).as_slice() != hash {
        return None;
    }
    let mut r = Reader {
        bytes: body,
        pos: 0,
    };
    if r.take(MAGIC.len())? != MAGIC || r.u32()? != FORMAT {
        return None;
    }
    let racy_from_ns = r.u64()? as i64;
    let dir_len = r.u32()? as usize;
    let dir = r.take(dir_len)?;
    Some(Header {
        racy_from_ns,
        dir,
        records: r.pos..body.len(),
    })
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

/// The records of a file's record range, in order, each with where it is.
pub(super) struct Records<'a> {
    reader: Reader<'a>,
    end: usize,
}

impl<'a> Records<'a> {
    pub fn new(bytes: &'a [u8], records: Range<usize>) -> Records<'a> {
        Records {
            reader: Reader {
                bytes,
                pos: records.start,
            },
            end: records.end,
        }
    }

    /// The next record and its byte range; `None` at the end, or where the bytes are not a
    /// record (the rest is then not used).
    pub fn next_record(&mut self) -> Option<(Range<usize>, Record<'a>)> {
        let start = self.reader.pos;
        if start >= self.end {
            return None;
        }
        let record = self.reader.record();
        match record {
            Some(record) if self.reader.pos <= self.end => Some((start..self.reader.pos, record)),
            _ => {
                self.reader.pos = self.end;
                None
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
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

    #[test]
    fn records_read_back_as_written() {
        let bytes = file(&records());
        let header = header(&bytes).unwrap();
        assert_eq!(
            (header.racy_from_ns, header.dir),
            (7, &b"/app/migrations"[..])
        );
        let mut read = Records::new(&bytes, header.records);
        let mut back = Vec::new();
        while let Some((range, record)) = read.next_record() {
            assert_eq!(
                Reader {
                    bytes: &bytes,
                    pos: range.start
                }
                .record()
                .unwrap(),
                record
            );
            back.push(record);
        }
        assert_eq!(back, records());
    }

    #[test]
    fn a_flipped_byte_a_torn_file_or_another_version_is_no_cache() {
        let bytes = file(&records());
        for i in [0, MAGIC.len() + 5, bytes.len() / 2, bytes.len() - 1] {
            let mut corrupt = bytes.clone();
            corrupt[i] ^= 0x40;
            assert!(header(&corrupt).is_none(), "byte {i} flipped");
        }
        assert!(header(&bytes[..bytes.len() - 1]).is_none());
        assert!(header(&[]).is_none());
        let mut other = encode_header(7, b"/app/migrations");
        other[MAGIC.len()] = FORMAT as u8 + 1;
        let hash = trailer(Sha256::new_with_prefix(&other));
        other.extend_from_slice(&hash);
        assert!(header(&other).is_none());
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
