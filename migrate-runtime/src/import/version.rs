//! The version mapping: each tool version becomes one of our 14-digit versions, the same way
//! every time, in the tool's own order.
//!
//! 1. A version is its digits as a number (diesel's `2019-01-01-000000` loses its dashes):
//!    `20190101000000` stays `20190101000000`, golang-migrate's `7` becomes `00000000000007`.
//! 2. More than 14 digits: the first 14 when they are a timestamp (diesel's
//!    `2019-01-01-000000-0000`), else 19 digits read as Unix time in nanoseconds; anything else
//!    (and a version that is no number) takes the next free version, as in rule 3.
//! 3. Walking the migrations in the tool's order, a version that does not sort after the one
//!    before it (a clash, or an order the tool decides otherwise, such as diesel's text order)
//!    becomes the one before it plus one second (plus one for versions that are no
//!    timestamp). Nothing is ever reordered, and the report says why a version moved.

use super::Tool;
use super::report::Problem;
use super::source::SourceMigration;
use crate::Version;
use crate::timestamp;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Our version for one source migration, and why it is not simply the tool's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mapped {
    pub(crate) version: Version,
    pub(crate) note: Option<String>,
}

/// Maps every migration, in order.
pub(crate) fn map(tool: Tool, migrations: &[SourceMigration]) -> Result<Vec<Mapped>, Problem> {
    let mut out: Vec<Mapped> = Vec::with_capacity(migrations.len());
    for (i, m) in migrations.iter().enumerate() {
        let (candidate, how) = candidate(&m.version_text);
        let prev = i
            .checked_sub(1)
            .map(|p| (out[p].version, &migrations[p].origin));
        let (version, note) = match (candidate, prev) {
            (Some(c), None) => (c, how),
            (Some(c), Some((p, _))) if c > p => (c, how),
            (Some(c), Some((p, origin))) => {
                let next = next(p).ok_or_else(|| overflow(&m.origin))?;
                let from = how.map_or_else(String::new, |h| format!(" ({h})"));
                let clash = if c == p {
                    format!("{c}{from} is the version of {origin} too")
                } else {
                    format!(
                        "{c}{from} would come before {origin} ({p}), which {tool} applies first"
                    )
                };
                (
                    next,
                    Some(format!(
                        "{clash}, so it becomes {next}: {tool}'s order is kept"
                    )),
                )
            }
            (None, None) => (Version::new(1).expect("1 is a version"), how),
            (None, Some((p, origin))) => {
                let next = next(p).ok_or_else(|| overflow(&m.origin))?;
                let why = how.unwrap_or_default();
                (
                    next,
                    Some(format!(
                        "{why}: it becomes {next}, right after {origin} ({p})"
                    )),
                )
            }
        };
        out.push(Mapped { version, note });
    }
    Ok(out)
}

fn overflow(origin: &str) -> Problem {
    Problem::at(
        origin,
        None,
        "no 14-digit version is left after the one before it",
    )
}

/// The tool's version as a 14-digit version, when it can be read as one, and how it was read
/// when that is not obvious.
fn candidate(text: &str) -> (Option<Version>, Option<String>) {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return (None, Some(format!("`{text}` is not a number")));
    }
    let significant = text.trim_start_matches('0');
    if significant.len() <= 14 {
        let n = significant.parse::<i64>().unwrap_or(0);
        return (Version::new(n), None);
    }
    let first = &significant[..14];
    if is_timestamp(first)
        && let Some(v) = first.parse::<i64>().ok().and_then(Version::new)
    {
        return (
            Some(v),
            Some(format!("the timestamp in the first 14 digits of {text}")),
        );
    }
    if significant.len() == 19
        && let Ok(nanos) = significant.parse::<i128>()
        && let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(nanos)
        && let Some(v) = timestamp::digits(PrimitiveDateTime::new(t.date(), t.time()))
            .parse::<i64>()
            .ok()
            .and_then(Version::new)
    {
        return (
            Some(v),
            Some(format!("{text} read as Unix time in nanoseconds")),
        );
    }
    (
        None,
        Some(format!(
            "{text} has more than 14 digits and is no timestamp"
        )),
    )
}

/// Whether 14 digits are a calendar timestamp `YYYYMMDDHHMMSS`.
fn is_timestamp(digits: &str) -> bool {
    timestamp::parse_digits(digits).is_some()
}

/// The version right after `v` (one second later for a timestamp).
fn next(v: Version) -> Option<Version> {
    crate::model::next_version(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::source::{SourceFile, TxMode};

    fn m(version: &str) -> SourceMigration {
        SourceMigration {
            origin: format!("{version}_x"),
            key: version.to_string(),
            version_text: version.to_string(),
            name: "x".into(),
            up: SourceFile {
                origin: "up.sql".into(),
                sql: String::new(),
                mode: TxMode::Wrapped,
                directive_line: None,
            },
            down: None,
            checksums: vec![],
            notes: vec![],
        }
    }

    fn versions(texts: &[&str]) -> Vec<String> {
        let ms: Vec<_> = texts.iter().map(|t| m(t)).collect();
        map(Tool::Diesel, &ms)
            .unwrap()
            .iter()
            .map(|m| m.version.to_string())
            .collect()
    }

    #[test]
    fn numbers_and_timestamps_keep_their_value() {
        assert_eq!(
            versions(&["1", "2", "10", "20190101000000"]),
            [
                "00000000000001",
                "00000000000002",
                "00000000000010",
                "20190101000000"
            ]
        );
        assert_eq!(versions(&["00000000000000"]), ["00000000000000"]);
    }

    #[test]
    fn clashes_move_one_second_without_reordering() {
        // diesel's `-0000` and `-0001` suffixes of the same second, then a real timestamp of
        // the next second: each moves one second later than the one before.
        assert_eq!(
            versions(&[
                "201901010000590000",
                "201901010000590001",
                "20190101000100",
                "20191231235959",
                "20191231235959"
            ]),
            [
                "20190101000059",
                "20190101000100",
                "20190101000101",
                "20191231235959",
                "20200101000000"
            ]
        );
    }

    #[test]
    fn moves_say_why() {
        let ms = vec![
            m("201901010000590000"),
            m("201901010000590001"),
            m("20190101000000"),
        ];
        let notes: Vec<Option<String>> = map(Tool::Diesel, &ms)
            .unwrap()
            .into_iter()
            .map(|m| m.note)
            .collect();
        assert_eq!(
            notes,
            [
                Some("the timestamp in the first 14 digits of 201901010000590000".into()),
                Some(
                    "20190101000059 (the timestamp in the first 14 digits of 201901010000590001) \
                     is the version of 201901010000590000_x too, so it becomes 20190101000100: \
                     diesel's order is kept"
                        .into()
                ),
                Some(
                    "20190101000000 would come before 201901010000590001_x (20190101000100), \
                     which diesel applies first, so it becomes 20190101000101: diesel's order is \
                     kept"
                        .into()
                ),
            ]
        );
    }

    #[test]
    fn unreadable_versions_follow_the_one_before() {
        let ms = vec![
            m("5"),
            m("abc"),
            m("1700000000123456789"),
            m("123456789012345"),
        ];
        let mapped = map(Tool::GolangMigrate, &ms).unwrap();
        let v: Vec<String> = mapped.iter().map(|m| m.version.to_string()).collect();
        assert_eq!(
            v,
            [
                "00000000000005",
                "00000000000006",
                "20231114221320",
                "20231114221321"
            ]
        );
        assert_eq!(
            mapped[1].note.as_deref(),
            Some(
                "`abc` is not a number: it becomes 00000000000006, right after 5_x (00000000000005)"
            )
        );
        assert_eq!(
            mapped[2].note.as_deref(),
            Some("1700000000123456789 read as Unix time in nanoseconds")
        );
    }

    #[test]
    fn the_last_version_cannot_overflow() {
        let ms = vec![m("99999999999999"), m("1")];
        assert!(map(Tool::Sqlx, &ms).is_err());
    }
}
