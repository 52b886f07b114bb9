//! Printing the engine's progress on stderr (text mode only; JSON prints one report at the end).

use crate::context::Format;
use migrate_runtime::engine::Event;

/// A printer for engine events.
pub fn printer(format: Format) -> impl FnMut(Event<'_>) {
    move |event| {
        if format != Format::Text {
            return;
        }
        match event {
            Event::WaitingForLock(holder) => match holder {
                Some(h) => eprintln!("Waiting for the migration lock, held by {h}"),
                None => eprintln!("Waiting for the migration lock"),
            },
            Event::Starting { .. } => {}
            Event::Resuming { version, at, total } => {
                eprintln!("  Resuming {version} at statement {at} of {total}")
            }
            Event::Retrying {
                version,
                attempt,
                delay,
                ..
            } => eprintln!(
                "  Lock timeout in {version}; retry {attempt} in {:.1}s",
                delay.as_secs_f64()
            ),
            Event::Applied(a) => {
                let mode = if a.no_transaction {
                    ", no transaction"
                } else {
                    ""
                };
                let stmts = match a.statements {
                    Some(1) => ", 1 statement".to_string(),
                    Some(n) => format!(", {n} statements"),
                    None => String::new(),
                };
                eprintln!(
                    "  Applied {}_{} ({}{mode}{stmts})",
                    a.version,
                    a.name,
                    ms(a.duration_ms)
                );
            }
            Event::UsingRecordedDown { version, name } => eprintln!(
                "  {version}_{name}: its folder is gone; using the down.sql recorded when it was applied"
            ),
            Event::RolledBack(r) => eprintln!(
                "  Reverted {}_{} ({})",
                r.version,
                r.name,
                ms(r.duration_ms)
            ),
            Event::Dropped { schemas } => {
                eprintln!("  Dropped and recreated schema(s) {}", schemas.join(", "))
            }
            _ => {}
        }
    }
}

/// A duration in milliseconds, human-sized.
pub fn ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}
