//! A backfill's `nice=<ratio>`: after each batch, sleep `ratio` times as long as that batch
//! took (pt-archiver's `--sleep-coef`, gh-ost's `--nice-ratio`). A batch takes longer when
//! the server is busy, so the sleep grows with the load by itself; `nice=1` gives the backfill
//! at most about half of the time. Kept in millionths, so the model stays exact (and `Eq`).
//!
//! The default is [`DEFAULT_NICE`], 0.4: a backfill works at most about 70 % of the time and
//! leaves the rest to the application and to the server's WAL writer and checkpoints (see the
//! README's backfill benchmark: without it, on a 2-core machine, the p99 of a one-client
//! workload rose 2.4-3.2x during a 10-million-row backfill; with it, 1.03-1.6x). `nice=0`
//! turns it off.

use crate::decimal::Decimal;
use std::fmt;
use std::time::Duration;

/// The largest ratio accepted: beyond it, a fixed `pause` says more plainly what is meant.
pub const MAX_NICE: u32 = 100;

/// Millionths in one.
const PER_ONE: u32 = 1_000_000;

/// The ratio of a backfill that does not give one: 0.4 (see the module's documentation).
///
/// ```
/// assert_eq!(migrate_runtime::model::DEFAULT_NICE.to_string(), "0.4");
/// ```
pub const DEFAULT_NICE: NiceRatio = NiceRatio {
    millionths: 400_000,
};

/// How many times a batch's duration a backfill sleeps after it (`nice=`, default
/// [`DEFAULT_NICE`]; `Default` is that default).
///
/// ```
/// use migrate_runtime::model::NiceRatio;
/// use std::time::Duration;
/// let nice: NiceRatio = "0.5".parse().unwrap();
/// assert_eq!(nice.after(Duration::from_millis(30)), Duration::from_millis(15));
/// assert_eq!(nice.to_string(), "0.5");
/// assert_eq!(
///     "-1".parse::<NiceRatio>().unwrap_err(),
///     "`-1` is not a ratio (a decimal number from 0 to 100, e.g. 0.5)"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct NiceRatio {
    millionths: u32,
}

impl Default for NiceRatio {
    fn default() -> NiceRatio {
        DEFAULT_NICE
    }
}

impl NiceRatio {
    /// No sleep after a batch (`nice=0`).
    pub const ZERO: NiceRatio = NiceRatio { millionths: 0 };

    /// Whether it adds no sleep.
    pub fn is_zero(self) -> bool {
        self.millionths == 0
    }

    /// The sleep after a batch that took `batch`.
    pub fn after(self, batch: Duration) -> Duration {
        let nanos = batch.as_nanos() * u128::from(self.millionths) / u128::from(PER_ONE);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

impl std::str::FromStr for NiceRatio {
    type Err = String;

    /// A decimal number from 0 to [`MAX_NICE`] (digits finer than a millionth are dropped).
    fn from_str(text: &str) -> Result<NiceRatio, String> {
        let millionths = Some(text)
            .filter(|t| t.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
            .and_then(|t| Decimal::parse(t).ok())
            .and_then(|d| d.scaled(u128::from(PER_ONE)))
            .filter(|m| *m <= u128::from(MAX_NICE * PER_ONE))
            .and_then(|m| u32::try_from(m).ok());
        match millionths {
            Some(millionths) => Ok(NiceRatio { millionths }),
            None => Err(format!(
                "`{text}` is not a ratio (a decimal number from 0 to {MAX_NICE}, e.g. 0.5)"
            )),
        }
    }
}

impl fmt::Display for NiceRatio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, fraction) = (self.millionths / PER_ONE, self.millionths % PER_ONE);
        if fraction == 0 {
            return write!(f, "{whole}");
        }
        let digits = format!("{fraction:06}");
        write!(f, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nice(text: &str) -> Result<NiceRatio, String> {
        text.parse()
    }

    #[test]
    fn ratios_parse_exactly_and_print_back() {
        for (text, printed) in [
            ("0", "0"),
            ("0.5", "0.5"),
            ("1", "1"),
            ("2.25", "2.25"),
            (".5", "0.5"),
            ("100", "100"),
            ("100.000", "100"),
            ("0.000001", "0.000001"),
        ] {
            assert_eq!(nice(text).map(|n| n.to_string()), Ok(printed.into()));
        }
        assert!(nice("0.0000001").expect("below a millionth").is_zero());
        assert_eq!(NiceRatio::default(), DEFAULT_NICE);
        assert!(!DEFAULT_NICE.is_zero());
        assert!(nice("0").expect("zero").is_zero());
    }

    #[test]
    fn anything_else_is_refused_with_the_same_words() {
        for text in [
            "-1",
            "abc",
            "",
            ".",
            "1.2.3",
            "100.5",
            "101",
            "1e3",
            "+1",
            "NaN",
            "inf",
            " 1",
            "99999999999999999999999",
        ] {
            assert_eq!(
                nice(text),
                Err(format!(
                    "`{text}` is not a ratio (a decimal number from 0 to 100, e.g. 0.5)"
                )),
                "{text}"
            );
        }
    }

    #[test]
    fn the_sleep_is_the_ratio_times_the_batch() {
        let ms = Duration::from_millis;
        assert_eq!(nice("0").expect("0").after(ms(40)), Duration::ZERO);
        assert_eq!(nice("1").expect("1").after(ms(40)), ms(40));
        assert_eq!(nice("2.5").expect("2.5").after(ms(40)), ms(100));
        assert_eq!(
            nice("100").expect("100").after(Duration::MAX),
            Duration::from_nanos(u64::MAX),
            "saturates"
        );
    }
}
