//! Versions as calendar timestamps, `YYYYMMDDhhmmss` in UTC: written and read by hand, as
//! `time`'s format descriptions `[year][month][day][hour][minute][second]` would. Without
//! `time`'s `macros` feature, its proc-macro (one more package in the dependency graph of
//! every crate using this one) is left out.

use time::{Date, Month, PrimitiveDateTime, Time};

/// `t` as 14 digits, `YYYYMMDDhhmmss` (the year zero-padded to four digits): for years 0 to
/// 9999, which a clock or a version gives (outside them it is not 14 digits, as `time`
/// would write it, which has a sign there).
pub(crate) fn digits(t: PrimitiveDateTime) -> String {
    written(t, ["", "", "", "", ""])
}

/// `t`'s year (four digits), month, day, hour, minute and second (two digits each), with
/// `between[i]` between the `i`th field and the next: `["-", "-", " ", ":", ":"]` gives
/// `2026-11-21 09:30:05`.
pub(crate) fn written(t: PrimitiveDateTime, between: [&str; 5]) -> String {
    let [a, b, c, d, e] = between;
    format!(
        "{:04}{a}{:02}{b}{:02}{c}{:02}{d}{:02}{e}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// 14 ASCII digits `YYYYMMDDhhmmss` as a date and time; `None` for anything else, or a date
/// or time that does not exist (month 13, February 30, second 60).
pub(crate) fn parse_digits(text: &str) -> Option<PrimitiveDateTime> {
    if text.len() != 14 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Two to four ASCII digits: always a number that fits.
    let n = |at: std::ops::Range<usize>| text[at].parse::<u16>().ok();
    let two = |at: std::ops::Range<usize>| n(at).and_then(|v| u8::try_from(v).ok());
    let month = Month::try_from(two(4..6)?).ok()?;
    let date = Date::from_calendar_date(i32::from(n(0..4)?), month, two(6..8)?).ok()?;
    let time = Time::from_hms(two(8..10)?, two(10..12)?, two(12..14)?).ok()?;
    Some(PrimitiveDateTime::new(date, time))
}

#[cfg(test)]
mod tests {
    use super::{digits, parse_digits, written};
    use proptest::prelude::*;
    use time::PrimitiveDateTime;
    use time::macros::{datetime, format_description};

    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] =
        format_description!("[year][month][day][hour][minute][second]");

    #[test]
    fn writes_and_reads_fourteen_digits() {
        assert_eq!(digits(datetime!(2026-11-21 09:30:05)), "20261121093005");
        assert_eq!(digits(datetime!(0042-01-02 03:04:05)), "00420102030405");
        assert_eq!(
            written(datetime!(2026-11-21 09:30:05), ["-", "-", " ", ":", ":"]),
            "2026-11-21 09:30:05"
        );
        assert_eq!(
            parse_digits("20261121093005"),
            Some(datetime!(2026-11-21 09:30:05))
        );
        for bad in [
            "20261321093005",
            "20260230093005",
            "20261121243005",
            "20261121093060",
            "2026112109300",
            "202611210930055",
            "2026112109300a",
            "+2026112109300",
            "00000000000000",
        ] {
            assert_eq!(parse_digits(bad), None, "{bad}");
        }
    }

    proptest! {
        /// The same text as `time`'s format description, both ways, for every 14 digits.
        #[test]
        fn agrees_with_time(text in "[0-9]{4}[0-1][0-9][0-3][0-9][0-2][0-9][0-6][0-9][0-6][0-9]") {
            let theirs = PrimitiveDateTime::parse(&text, FORMAT).ok();
            prop_assert_eq!(parse_digits(&text), theirs);
            if let Some(t) = theirs {
                prop_assert_eq!(digits(t), t.format(FORMAT).unwrap());
            }
        }
    }
}
