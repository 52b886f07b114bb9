//! Backfills: the progress line (keys, rows, rate, ETA from `pg_class.reltuples`), its JSON
//! event, and the report of a backfill stopped by Ctrl-C (its batch cancelled by a second).

use super::{Format, print_json};
use crate::output::{HELP, WARNING};
use migrate_runtime::Version;
use migrate_runtime::engine::history::BackfillProgress;
use migrate_runtime::engine::{Cancelled, Direction, Interrupted};
use migrate_runtime::format_duration;
use serde_json::{Value, json};
use std::time::Duration;

/// The estimated time left, from the keys walked per second and the table's estimated rows;
/// none once the walk has passed the estimate (the table grew, or its statistics are old).
fn eta(p: &BackfillProgress, estimate: Option<u64>, keys_per_s: Option<f64>) -> Option<Duration> {
    let (total, rate) = (estimate?, keys_per_s.filter(|r| *r > 0.0)?);
    if p.keys >= total {
        return None;
    }
    let left = (total - p.keys) as f64;
    Some(Duration::from_millis((left / rate * 1000.0) as u64))
}

/// One line: `batch 12: 12000 of ~1000000 keys (1%), 11800 rows, 5400 keys/s, ETA 3m`.
pub fn line(p: &BackfillProgress, estimate: Option<u64>, keys_per_s: Option<f64>) -> String {
    let mut s = format!("batch {}: ", p.batches);
    match estimate {
        Some(total) => s.push_str(&format!(
            "{} of ~{total} keys ({}%)",
            p.keys,
            (p.keys * 100).checked_div(total).unwrap_or(0).min(100)
        )),
        None => s.push_str(&migrate_runtime::counted(p.keys, "key", "keys")),
    }
    s.push_str(&format!(
        ", {}",
        migrate_runtime::counted(p.rows, "row", "rows")
    ));
    if let Some(rate) = keys_per_s {
        s.push_str(&format!(", {rate:.0} keys/s"));
    }
    if let Some(left) = eta(p, estimate, keys_per_s) {
        if left.as_secs() == 0 {
            s.push_str(", ETA <1s");
        } else {
            s.push_str(&format!(
                ", ETA {}",
                format_duration(Duration::from_secs(left.as_secs()))
            ));
        }
    }
    s
}

/// Where an interrupted backfill resumes: `resumes after 5 batches (500 keys, 500 rows, last
/// key 500)`.
pub fn resumes_after(p: &BackfillProgress) -> String {
    format!(
        "resumes after {} ({}, {}, last key {})",
        migrate_runtime::counted(p.batches, "batch", "batches"),
        migrate_runtime::counted(p.keys, "key", "keys"),
        migrate_runtime::counted(p.rows, "row", "rows"),
        p.last_key.as_deref().unwrap_or("-")
    )
}

/// The `backfill_progress` JSON event.
pub fn event(
    version: Version,
    direction: &str,
    p: &BackfillProgress,
    estimate: Option<u64>,
    keys_per_s: Option<f64>,
) -> Value {
    json!({
        "event": "backfill_progress", "version": version, "direction": direction,
        "batches": p.batches, "keys": p.keys, "rows": p.rows, "last_key": p.last_key,
        "estimated_rows": estimate, "keys_per_s": keys_per_s.map(f64::round),
        "eta_ms": eta(p, estimate, keys_per_s).map(|d| d.as_millis() as u64),
    })
}

/// A backfill stopped by Ctrl-C: what committed, and how to resume (exit code 130).
pub fn interrupted(format: Format, i: &Interrupted, sealed: &[String]) {
    match format {
        Format::Text => {
            anstream::eprintln!("{WARNING}Stopped{WARNING:#}: {i}");
            anstream::eprintln!("  {HELP}help{HELP:#}: {}", i.remedy());
            if !i.completed.is_empty() {
                anstream::eprintln!(
                    "  {HELP}note{HELP:#}: {} migration(s) before it were applied: {}",
                    i.completed.len(),
                    i.completed
                        .iter()
                        .map(|c| c.folder())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        Format::Json => print_json(&json!({
            "ok": false,
            "exit_code": 130,
            "error": i.to_string(),
            "help": [i.remedy()],
            "interrupted": i,
            "applied": i.completed,
            "sealed": sealed,
        })),
    }
}

/// A backfill whose running batch a second Ctrl-C cancelled on the server, on one line of
/// stderr (any format: the process ends without its report).
pub fn cancelled(c: &Cancelled) {
    let command = match c.direction {
        Direction::Up => "apply",
        Direction::Down => "down",
    };
    match &c.error {
        None => anstream::eprintln!(
            "{WARNING}Stopped{WARNING:#}: backfill {} cancelled on the server: a batch that was \
             running is rolled back and its locks released; run `cargo migrate {command}` again \
             to resume after the last committed batch",
            c.folder()
        ),
        Some(e) => anstream::eprintln!(
            "{WARNING}warning{WARNING:#}: backfill {}: cannot cancel its running batch on the \
             server ({e}): it runs until it ends or reaches statement_timeout, then rolls back",
            c.folder()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(keys: u64) -> BackfillProgress {
        BackfillProgress {
            last_key: Some(keys.to_string()),
            keys,
            rows: keys,
            batches: keys / 1000,
        }
    }

    #[test]
    fn the_line_gives_the_time_left_in_whole_seconds_and_under_a_second_as_such() {
        assert_eq!(
            line(&at(12_000), Some(1_000_000), Some(5400.0)),
            "batch 12: 12000 of ~1000000 keys (1%), 12000 rows, 5400 keys/s, ETA 182s"
        );
        assert_eq!(
            line(&at(999_000), Some(1_000_000), Some(5400.0)),
            "batch 999: 999000 of ~1000000 keys (99%), 999000 rows, 5400 keys/s, ETA <1s"
        );
    }

    #[test]
    fn past_the_estimate_there_is_no_eta() {
        // The table grew (or its statistics are old): no "ETA 0" for the rest of the walk.
        assert_eq!(
            line(&at(1_200_000), Some(1_000_000), Some(5400.0)),
            "batch 1200: 1200000 of ~1000000 keys (100%), 1200000 rows, 5400 keys/s"
        );
        assert_eq!(
            event(
                "20261122090000".parse::<Version>().expect("version"),
                "up",
                &at(1_000_000),
                Some(1_000_000),
                Some(5400.0)
            )["eta_ms"],
            Value::Null
        );
    }
}
