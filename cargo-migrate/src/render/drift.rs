//! Drift's report (`diff`, and the `drift` section of `status --drift`): the objects that
//! differ from the schema the applied migrations make, grouped by table.

use super::{Format, ms, plural, print_json};
use crate::exit::Exit;
use crate::output::{DIM, ERROR, GOOD, WARNING};
use anstream::println;
use migrate_runtime::ops::DriftOutcome;
use serde_json::{Value, json};

/// The exit code of `diff`: 0 no drift, 3 drift.
pub fn exit(outcome: &DriftOutcome) -> Exit {
    if outcome.drifted {
        Exit::Problems
    } else {
        Exit::Success
    }
}

/// Prints `diff`'s report.
pub fn print(format: Format, outcome: &DriftOutcome) {
    match format {
        Format::Text => text(outcome),
        Format::Json => {
            let exit = exit(outcome);
            let mut v = json(outcome);
            if let Value::Object(map) = &mut v {
                map.insert("ok".into(), json!(exit == Exit::Success));
                map.insert("exit_code".into(), json!(exit as u8));
            }
            print_json(&v);
        }
    }
}

/// The report as text (also the `status --drift` section).
pub fn text(o: &DriftOutcome) {
    let replayed = plural(o.replayed, "applied migration");
    if !o.drifted {
        println!(
            "{GOOD}No drift{GOOD:#}: the schema of {} is what its {replayed} make \
             {DIM}(replayed on a shadow database on {}, {}){DIM:#}",
            o.database,
            o.shadow,
            ms(o.duration_ms)
        );
    } else {
        println!(
            "{ERROR}Drift{ERROR:#}: {} of {} differ from what its {replayed} make \
             {DIM}(replayed on a shadow database on {}, {}){DIM:#}",
            plural(o.diff.changes.len(), "object"),
            o.database,
            o.shadow,
            ms(o.duration_ms)
        );
        println!(
            "  {DIM}added: only in the database; removed: made by the migrations but not in \
             the database; +/- lines: the database's definition against the migrations'{DIM:#}"
        );
        for line in o.diff.to_string().lines() {
            println!("  {line}");
        }
    }
    if o.from_history > 0 {
        println!(
            "  {DIM}{} replayed from the SQL the history recorded (the file was edited since, \
             or is gone){DIM:#}",
            plural(o.from_history, "migration")
        );
    }
    for n in &o.not_replayed {
        println!(
            "  {WARNING}not replayed{WARNING:#} {}_{} ({}): what it left in the database may \
             show as drift",
            n.version,
            n.name,
            n.state.as_str()
        );
    }
}

/// The report as JSON (also `status --drift`'s `drift` field).
pub fn json(o: &DriftOutcome) -> Value {
    json!({
        "database": o.database,
        "shadow": o.shadow,
        "drifted": o.drifted,
        "replayed": o.replayed,
        "from_history": o.from_history,
        "not_replayed": o.not_replayed.iter().map(|n| json!({
            "version": n.version, "name": n.name, "state": n.state.as_str(),
        })).collect::<Vec<_>>(),
        "changes": o.diff.changes,
        "duration_ms": o.duration_ms,
    })
}
