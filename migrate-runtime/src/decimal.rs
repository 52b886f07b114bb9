//! Decimal numbers as people write them (`5`, `1.5`, `.25`), read with integer arithmetic: a
//! value is counted in a unit chosen by its reader (nanoseconds for a duration, millionths for
//! a ratio), so there is no float rounding and no overflow panic.

/// A number's digits before and after its `.` (both only ASCII digits, not both empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decimal<'a> {
    whole: &'a str,
    fraction: &'a str,
}

impl<'a> Decimal<'a> {
    /// Reads `text`, which holds only digits and dots (the caller splits off anything else).
    /// The error says why it is not a number.
    pub(crate) fn parse(text: &'a str) -> Result<Decimal<'a>, &'static str> {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err("it does not start with a number");
        }
        if !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
        {
            return Err("the number has more than one `.`");
        }
        Ok(Decimal { whole, fraction })
    }

    /// Whether every digit is `0`.
    pub(crate) fn is_zero(&self) -> bool {
        self.whole
            .bytes()
            .chain(self.fraction.bytes())
            .all(|b| b == b'0')
    }

    /// The number counted in `per_one` units to one (`1.5` with 1000 is 1500); digits finer
    /// than one unit are dropped. `None` when it does not fit.
    pub(crate) fn scaled(&self, per_one: u128) -> Option<u128> {
        let digits = |d: &str| {
            d.bytes().try_fold(0u128, |acc, b| {
                acc.checked_mul(10)?.checked_add(u128::from(b - b'0'))
            })
        };
        let whole = digits(self.whole)?.checked_mul(per_one)?;
        if self.fraction.is_empty() {
            return Some(whole);
        }
        let scale = 10u128.checked_pow(u32::try_from(self.fraction.len()).ok()?)?;
        whole.checked_add(digits(self.fraction)?.checked_mul(per_one)? / scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_fraction_and_errors() {
        let scaled = |s: &str, per: u128| Decimal::parse(s).ok().and_then(|d| d.scaled(per));
        assert_eq!(scaled("1.5", 1000), Some(1500));
        assert_eq!(scaled(".25", 100), Some(25));
        assert_eq!(scaled("7.", 10), Some(70));
        assert_eq!(scaled("0.0000001", 1_000_000), Some(0), "finer than a unit");
        assert_eq!(scaled("99999999999999999999999999999999999999999", 1), None);
        assert!(Decimal::parse("0.000").expect("zero").is_zero());
        assert!(!Decimal::parse("0.001").expect("number").is_zero());
        assert_eq!(Decimal::parse("."), Err("it does not start with a number"));
        assert_eq!(Decimal::parse(""), Err("it does not start with a number"));
        assert_eq!(
            Decimal::parse("1.2.3"),
            Err("the number has more than one `.`")
        );
    }
}
