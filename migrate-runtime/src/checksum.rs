//! Checksums of migration files: SHA-256 of the text with CRLF normalised to LF, so that a
//! Windows checkout (git `autocrlf`) does not look like an edit.

mod sha256;

use sha256::Sha256;
use std::fmt;
use std::str::FromStr;

/// The SHA-256 of a migration file, after CRLF line endings were turned into LF.
///
/// Prints as 64 lowercase hex digits, which is what `sha256sum` prints for an LF file.
///
/// ```
/// use migrate_runtime::Checksum;
/// let lf = Checksum::of_sql(b"SELECT 1;\n");
/// let crlf = Checksum::of_sql(b"SELECT 1;\r\n");
/// assert_eq!(lf, crlf);
/// assert_eq!(lf.to_string().len(), 64);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Checksum(pub [u8; 32]);

impl Checksum {
    /// Hashes a migration file's bytes, CRLF normalised to LF.
    ///
    /// ```
    /// # use migrate_runtime::Checksum;
    /// assert_ne!(Checksum::of_sql(b"SELECT 1;"), Checksum::of_sql(b"SELECT 2;"));
    /// ```
    pub fn of_sql(bytes: &[u8]) -> Checksum {
        let mut hasher = Sha256::new();
        let mut rest = bytes;
        // Most files have no CR at all: one scan for it, then the whole rest in one update.
        while let Some(i) = rest.iter().position(|&b| b == b'\r') {
            if rest.get(i + 1) == Some(&b'\n') {
                hasher.update(&rest[..i]);
                rest = &rest[i + 1..];
            } else {
                hasher.update(&rest[..=i]);
                rest = &rest[i + 1..];
            }
        }
        hasher.update(rest);
        Checksum(hasher.finish())
    }

    /// Hashes raw bytes with no normalisation (used for the lock file's chain).
    ///
    /// ```
    /// # use migrate_runtime::Checksum;
    /// assert_ne!(Checksum::of_bytes(b"a\r\n"), Checksum::of_sql(b"a\r\n"));
    /// ```
    pub fn of_bytes(bytes: &[u8]) -> Checksum {
        let mut hasher = Sha256::new();
        hasher.update(bytes);
        Checksum(hasher.finish())
    }

    /// The hash of `prev`'s 32 bytes followed by `text`: one link of the lock file's chain.
    /// Hashed in two parts, so nothing is copied first.
    ///
    /// ```
    /// # use migrate_runtime::Checksum;
    /// let seed = Checksum::of_bytes(b"seed");
    /// let mut bytes = seed.0.to_vec();
    /// bytes.extend_from_slice(b"entry");
    /// assert_eq!(seed.link("entry"), Checksum::of_bytes(&bytes));
    /// ```
    pub fn link(&self, text: &str) -> Checksum {
        let mut hasher = Sha256::new();
        hasher.update(&self.0);
        hasher.update(text.as_bytes());
        Checksum(hasher.finish())
    }

    /// The first 12 hex digits, for messages where the full hash would be noise.
    ///
    /// ```
    /// # use migrate_runtime::Checksum;
    /// assert_eq!(Checksum::of_bytes(b"").short(), "e3b0c44298fc");
    /// ```
    pub fn short(&self) -> String {
        self.to_string()[..12].to_string()
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The value of each byte as a lowercase hex digit, or [`NOT_HEX`].
const HEX_VALUE: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut i = 0;
    while i < 16 {
        table[HEX[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// [`HEX_VALUE`] of a byte that is not a lowercase hex digit.
const NOT_HEX: u8 = 0x10;

impl Checksum {
    /// The 64 lowercase hex digits, built without the formatting machinery: lock files and
    /// histories print and parse thousands of these, also inside the (unoptimized) macro.
    fn hex(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = HEX[usize::from(b >> 4)];
            out[2 * i + 1] = HEX[usize::from(b & 0xf)];
        }
        out
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.hex();
        // Only ASCII hex digits were written.
        f.write_str(std::str::from_utf8(&hex).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Checksum({})", self.short())
    }
}

/// Why a string is not a checksum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a SHA-256 checksum (64 lowercase hex digits)")]
pub struct ParseChecksumError(pub String);

impl FromStr for Checksum {
    type Err = ParseChecksumError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return Err(ParseChecksumError(s.to_string()));
        }
        // A table and a plain loop: the lock file's thousands of hashes are parsed in the
        // unoptimized macro on every build, where each closure or iterator step is a call.
        let mut out = [0u8; 32];
        let mut invalid = 0;
        for (i, byte) in out.iter_mut().enumerate() {
            let high = HEX_VALUE[usize::from(bytes[2 * i])];
            let low = HEX_VALUE[usize::from(bytes[2 * i + 1])];
            invalid |= high | low;
            *byte = (high << 4) | (low & 0xf);
        }
        if invalid & NOT_HEX != 0 {
            return Err(ParseChecksumError(s.to_string()));
        }
        Ok(Checksum(out))
    }
}

impl serde::Serialize for Checksum {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_sha256sum_of_lf_text() {
        // printf 'SELECT 1;\n' | sha256sum
        assert_eq!(
            Checksum::of_sql(b"SELECT 1;\n").to_string(),
            Checksum::of_bytes(b"SELECT 1;\n").to_string()
        );
        assert_eq!(
            Checksum::of_bytes(b"").to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn crlf_and_lf_hash_alike_but_lone_cr_does_not() {
        assert_eq!(Checksum::of_sql(b"a\r\nb\r\n"), Checksum::of_sql(b"a\nb\n"));
        assert_ne!(Checksum::of_sql(b"a\rb"), Checksum::of_sql(b"a\nb"));
    }

    /// The reference: every CRLF pair replaced by LF, then hashed.
    fn normalised(bytes: &[u8]) -> Checksum {
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i..].starts_with(b"\r\n") {
                out.push(b'\n');
                i += 2;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        Checksum::of_bytes(&out)
    }

    #[test]
    fn carriage_returns_in_every_position() {
        for text in [
            &b"\r"[..],
            b"\r\r\n",
            b"\r\n\r",
            b"a\r\r\nb\r",
            b"\n\r\n\r\n",
            b"",
        ] {
            assert_eq!(Checksum::of_sql(text), normalised(text), "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn of_sql_is_the_hash_of_the_crlf_normalised_text(bytes in proptest::collection::vec(proptest::sample::select(vec![b'\r', b'\n', b'a']), 0..64)) {
            proptest::prop_assert_eq!(Checksum::of_sql(&bytes), normalised(&bytes));
        }

        #[test]
        fn hex_round_trips(bytes in proptest::array::uniform32(proptest::num::u8::ANY)) {
            let c = Checksum(bytes);
            proptest::prop_assert_eq!(c.to_string().parse::<Checksum>(), Ok(c));
        }
    }

    #[test]
    fn round_trips_through_hex() {
        let c = Checksum::of_sql(b"x");
        assert_eq!(c.to_string().parse::<Checksum>().unwrap(), c);
        assert!("ABC".parse::<Checksum>().is_err());
        // Each condition alone refuses: hex of another length, and 64 digits not all
        // lowercase hex (upper case included: the lock file is written in lower case).
        assert!("abc".parse::<Checksum>().is_err());
        assert!("ab".repeat(33).parse::<Checksum>().is_err());
        assert!(c.to_string().to_uppercase().parse::<Checksum>().is_err());
        assert!("g".repeat(64).parse::<Checksum>().is_err());
        assert!(format!("{}é", "a".repeat(62)).parse::<Checksum>().is_err());
    }
}
