//! Printing the engine's progress on stderr (text mode only; JSON prints one report at the end):
//! a line per migration, and a spinner with the running migration and its elapsed time while
//! one runs (on a terminal only, and not with `--quiet`).

use crate::context::Format;
use crate::output::{DIM, GOOD};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use migrate_runtime::engine::Event;
use std::time::Duration;

/// The spinner shown while a migration runs. Hidden unless stderr is a terminal.
struct Spinner(Option<ProgressBar>);

impl Spinner {
    fn start(&mut self, what: String) {
        if crate::output::quiet() {
            return;
        }
        let bar = self.0.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        bar.reset_elapsed();
        bar.set_message(what);
    }

    /// Prints above the spinner.
    fn print(&self, f: impl FnOnce()) {
        match &self.0 {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// A printer for engine events.
pub fn printer(format: Format) -> impl FnMut(Event<'_>) {
    let mut spinner = Spinner(None);
    move |event| {
        if format != Format::Text {
            return;
        }
        if let Event::Starting { version, name, .. } = &event {
            spinner.start(format!("Applying {version}_{name}"));
            crate::detail!("  Starting {version}_{name}");
            return;
        }
        spinner.print(|| print_event(event));
    }
}

fn print_event(event: Event<'_>) {
    {
        match event {
            Event::WaitingForLock(holder) => match holder {
                Some(h) => crate::info!("Waiting for the migration lock, held by {h}"),
                None => crate::info!("Waiting for the migration lock"),
            },
            Event::Starting { .. } => {}
            Event::Resuming { version, at, total } => {
                crate::info!("  Resuming {version} at statement {at} of {total}")
            }
            Event::Retrying {
                version,
                attempt,
                delay,
                ..
            } => crate::info!(
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
                crate::info!(
                    "  {GOOD}Applied{GOOD:#} {}_{} {DIM}({}{mode}{stmts}){DIM:#}",
                    a.version,
                    a.name,
                    ms(a.duration_ms)
                );
            }
            Event::UsingRecordedDown { version, name } => crate::info!(
                "  {version}_{name}: its folder is gone; using the down.sql recorded when it was applied"
            ),
            Event::RolledBack(r) => crate::info!(
                "  {GOOD}Reverted{GOOD:#} {}_{} {DIM}({}){DIM:#}",
                r.version,
                r.name,
                ms(r.duration_ms)
            ),
            Event::DroppedInvalidIndex { version, index } => crate::info!(
                "  {version}: dropped the invalid index {index} left by an earlier failed build; building it again"
            ),
            Event::Dropped { schemas } => {
                crate::info!("  Dropped and recreated schema(s) {}", schemas.join(", "))
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
