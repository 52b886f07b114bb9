//! Durations as people write them in settings and flags (`5s`, `250ms`, `1.5s`, `2m`, `1h`,
//! `0`), parsed with integer arithmetic into a [`Duration`]: no rounding surprises, no
//! overflow panics.

use crate::decimal::Decimal;
use std::fmt;
use std::time::Duration;

/// Why a duration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    input: String,
    why: &'static str,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a duration: {} (examples: 500ms, 5s, 1.5s, 2m, 1h, 0)",
            self.input, self.why
        )
    }
}

impl std::error::Error for DurationError {}

/// Parses a duration: a decimal number and a unit (`ms`, `s`, `m` or `min`, `h`); `0` needs no
/// unit.
///
/// ```
/// use migrate_runtime::parse_duration;
/// use std::time::Duration;
/// assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
/// assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
/// assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
/// assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
/// assert!(parse_duration("soon").is_err());
/// assert!(parse_duration("99999999999999999999h").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let fail = |why| DurationError {
        input: s.to_string(),
        why,
    };
    let text = s.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number = Decimal::parse(number).map_err(fail)?;
    let nanos_per_unit: u128 = match unit.trim() {
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "" if number.is_zero() => 0,
        "" => return Err(fail("it has no unit")),
        _ => return Err(fail("unknown unit (use ms, s, m or h)")),
    };
    let too_large = || fail("it is too large");
    let nanos = number.scaled(nanos_per_unit).ok_or_else(too_large)?;
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| too_large())?;
    Ok(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

/// A duration as people write it: `250ms`, `5s`, `1.5s`, `2m`, `0`.
///
/// ```
/// use migrate_runtime::format_duration;
/// use std::time::Duration;
/// assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
/// assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
/// assert_eq!(format_duration(Duration::from_secs(180)), "3m");
/// ```
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        "0".into()
    } else if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        let fraction = format!("{:03}", ms % 1000);
        format!("{}.{}s", ms / 1000, fraction.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn units_fractions_and_errors() {
        assert_eq!(parse_duration(" 5s ").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("0.25s").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("3min").unwrap(), Duration::from_secs(180));
        assert_eq!(parse_duration("0ms").unwrap(), Duration::ZERO);
        assert_eq!(
            parse_duration("5").unwrap_err().to_string(),
            "`5` is not a duration: it has no unit (examples: 500ms, 5s, 1.5s, 2m, 1h, 0)"
        );
        assert!(parse_duration("1.2.3s").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(
            parse_duration("99999999999999999999s")
                .unwrap_err()
                .to_string()
                .contains("too large")
        );
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,30}") {
            let _ = parse_duration(&s);
        }

        #[test]
        fn formatted_durations_parse_back(ms in 0u64..10_000_000) {
            let d = Duration::from_millis(ms);
            prop_assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
        }
    }
}
