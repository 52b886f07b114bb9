//! The version of a migration: the 14-digit UTC timestamp that starts its folder name.

use std::fmt;
use std::str::FromStr;

/// A migration's version: the `YYYYMMDDHHMMSS` UTC timestamp of its folder name, as an `i64`
/// (an `i32` is too small for timestamps).
///
/// Versions order migrations. They print as 14 digits, zero-padded.
///
/// ```
/// use migrate_runtime::Version;
/// let v: Version = "20261121093000".parse().unwrap();
/// assert_eq!(v.get(), 20261121093000);
/// assert_eq!(v.to_string(), "20261121093000");
/// assert!("2026112109300".parse::<Version>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(i64);

impl Version {
    /// Wraps a raw version number. No calendar check is made (diesel-style
    /// `00000000000000` versions are legal), but the number must fit in 14 digits.
    ///
    /// ```
    /// use migrate_runtime::Version;
    /// assert_eq!(Version::new(20261121093000).unwrap().get(), 20261121093000);
    /// assert!(Version::new(-1).is_none());
    /// ```
    pub const fn new(raw: i64) -> Option<Version> {
        if raw >= 0 && raw <= 99_999_999_999_999 {
            Some(Version(raw))
        } else {
            None
        }
    }

    /// Wraps a raw version in a constant (generated code); panics at compile time if it does
    /// not fit in 14 digits.
    ///
    /// ```
    /// use migrate_runtime::Version;
    /// const V: Version = Version::new_const(20261121093000);
    /// assert_eq!(V.to_string(), "20261121093000");
    /// ```
    pub const fn new_const(raw: i64) -> Version {
        match Version::new(raw) {
            Some(v) => v,
            None => panic!("a migration version has at most 14 digits"),
        }
    }

    /// The raw number, as stored in the history table.
    ///
    /// ```
    /// # use migrate_runtime::Version;
    /// assert_eq!(Version::new(1).unwrap().get(), 1);
    /// ```
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:014}", self.0)
    }
}

/// Why a string is not a version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a version: expected 14 digits (a UTC timestamp YYYYMMDDHHMMSS)")]
pub struct ParseVersionError(pub String);

impl FromStr for Version {
    type Err = ParseVersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseVersionError(s.to_string());
        let digits = s.as_bytes();
        if digits.len() != 14 {
            return Err(err());
        }
        // One plain loop (fourteen digits cannot overflow): this runs unoptimized in the
        // macro, for every migration folder and lock-file entry.
        let mut raw: i64 = 0;
        for &digit in digits {
            if !digit.is_ascii_digit() {
                return Err(err());
            }
            raw = raw * 10 + i64::from(digit - b'0');
        }
        Version::new(raw).ok_or_else(err)
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_fourteen_digits() {
        let v: Version = "00000000000001".parse().unwrap();
        assert_eq!(v.get(), 1);
        assert_eq!(v.to_string(), "00000000000001");
    }

    #[test]
    fn rejects_wrong_lengths_and_signs() {
        for bad in [
            "",
            "2026",
            "202611210930001",
            "+2026112109300",
            "2026112109300a",
        ] {
            assert!(bad.parse::<Version>().is_err(), "{bad}");
        }
    }
}
