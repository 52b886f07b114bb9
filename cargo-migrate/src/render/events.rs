//! Printing an operation's progress on stderr: in text, a line per step and a spinner with the
//! running migration and its elapsed time (on a terminal only, not with `--quiet`); with
//! `--format json`, one JSON object per line (`{"event": ...}`), so the single JSON report on
//! stdout stays one document.

use super::{Format, ms};
use crate::output::{DIM, GOOD, WARNING};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use migrate_runtime::Version;
use migrate_runtime::engine::{Direction, Event, NextAttempt};
use migrate_runtime::format_duration;
use migrate_runtime::ops::OpEvent;
use migrate_runtime::shadow::{DriftEvent, VerifyEvent};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

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

/// A progress bar over the migrations of a long run (`verify`, `diff`), with its rate and ETA. Hidden
/// unless stderr is a terminal.
#[derive(Default)]
struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    started: Option<Instant>,
}

impl Progress {
    /// Starts counting `total` migrations; the bar shows on a terminal, not with `--quiet`.
    fn start(&mut self, total: usize) {
        self.total = total;
        self.started = Some(Instant::now());
        if !crate::output::quiet() {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{bar:30} {pos}/{len} migrations, {per_sec}, ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            self.bar = Some(bar);
        }
    }

    /// Milliseconds since the start, and the estimated time left when `index` of the `total`
    /// are done.
    fn times(&self, index: usize) -> (f64, Option<f64>) {
        let elapsed = self
            .started
            .map_or(0.0, |s| s.elapsed().as_secs_f64() * 1000.0);
        let eta = (index > 0).then(|| elapsed / index as f64 * (self.total - index) as f64);
        (elapsed.round(), eta.map(f64::round))
    }

    /// The JSON event of migration `index` starting: where the run is, and its ETA.
    fn position(&self, event: &str, version: Version, name: &str, index: usize) -> Value {
        let (elapsed, eta) = self.times(index);
        json!({
            "event": event, "version": version, "name": name, "index": index, "total": self.total,
            "elapsed_ms": elapsed, "eta_ms": eta,
        })
    }

    /// Moves the bar to `index`, naming the migration.
    fn at(&self, index: usize, what: String) {
        if let Some(bar) = &self.bar {
            bar.set_position(index as u64);
            bar.set_message(what);
        }
    }

    /// Prints above the bar.
    fn print(&self, f: impl FnOnce()) {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// A printer for an operation's events.
pub fn printer(format: Format) -> impl FnMut(OpEvent<'_>) {
    let mut spinner = Spinner(None);
    let mut progress = Progress::default();
    let mut fleet = super::fleet::FleetProgress::default();
    move |event| match event {
        OpEvent::Engine(event) => engine_event(format, &mut spinner, event),
        OpEvent::Verify(event) => verify_event(format, &mut progress, event),
        OpEvent::Drift(event) => drift_event(format, &mut progress, event),
        OpEvent::Fleet(event) => fleet.event(format, event),
        other if format == Format::Json => {
            if let Some(v) = op_json(&other) {
                anstream::eprintln!("{v}");
            }
        }
        other => spinner.print(|| op_text(other)),
    }
}

fn engine_event(format: Format, spinner: &mut Spinner, event: Event<'_>) {
    if format == Format::Json {
        if let Some(v) = event_json(&event) {
            anstream::eprintln!("{v}");
        }
        return;
    }
    if let Event::Starting {
        version,
        name,
        direction,
        ..
    } = &event
    {
        let verb = match direction {
            Direction::Up => "Applying",
            Direction::Down => "Reverting",
        };
        spinner.start(format!("{verb} {version}_{name}"));
        crate::detail!("  Starting {version}_{name}");
        return;
    }
    if let Event::BackfillProgress {
        version,
        progress,
        estimated_rows,
        keys_per_s,
        ..
    } = &event
    {
        let line = super::backfill::line(progress, *estimated_rows, *keys_per_s);
        spinner.start(format!("Backfilling {version}: {line}"));
        crate::detail!("  Backfill {version}: {line}");
        return;
    }
    spinner.print(|| print_event(event));
}

fn verify_event(format: Format, p: &mut Progress, event: VerifyEvent<'_>) {
    match event {
        VerifyEvent::Shadow {
            label,
            total,
            checking,
        } => {
            if format == Format::Json {
                p.total = total;
                p.started = Some(Instant::now());
                anstream::eprintln!(
                    "{}",
                    json!({ "event": "verify_started", "shadow": label, "total": total, "checking": checking })
                );
                return;
            }
            crate::info!(
                "Verifying {checking} of {total} migrations on the shadow database {label}"
            );
            p.start(total);
        }
        VerifyEvent::Starting {
            version,
            name,
            index,
            checking,
        } => {
            if format == Format::Json {
                let mut event = p.position("verifying", version, name, index);
                event["checking"] = json!(checking);
                anstream::eprintln!("{event}");
                return;
            }
            p.at(index, format!("{version}_{name}"));
        }
        VerifyEvent::Checked(c) => {
            if format == Format::Json {
                anstream::eprintln!(
                    "{}",
                    json!({
                        "event": "verified", "version": c.version, "name": c.name,
                        "verdict": c.verdict, "duration_ms": c.duration_ms,
                    })
                );
                return;
            }
            p.print(|| {
                let style = super::verify::style(c.verdict);
                crate::detail!("  {style}{}{style:#} {}", c.verdict, c.folder());
            });
        }
        VerifyEvent::Rebuilding { through } => {
            if format == Format::Json {
                anstream::eprintln!(
                    "{}",
                    json!({ "event": "rebuilding_shadow", "through": through })
                );
                return;
            }
            p.print(|| {
                crate::info!(
                    "  Building the shadow database again up to {through}: a file that runs outside a transaction changed it"
                );
            });
        }
        _ => {}
    }
}

fn drift_event(format: Format, p: &mut Progress, event: DriftEvent<'_>) {
    match event {
        DriftEvent::Replaying { label, total } => {
            if format == Format::Json {
                p.total = total;
                p.started = Some(Instant::now());
                anstream::eprintln!(
                    "{}",
                    json!({ "event": "replay_started", "shadow": label, "total": total })
                );
                return;
            }
            crate::info!(
                "Replaying {} on the shadow database {label}",
                super::plural(total, "applied migration")
            );
            p.start(total);
        }
        DriftEvent::Replayed {
            version,
            name,
            index,
        } => {
            if format == Format::Json {
                anstream::eprintln!("{}", p.position("replaying", version, name, index));
                return;
            }
            p.at(index, format!("{version}_{name}"));
        }
        DriftEvent::Comparing => {
            if let Some(bar) = p.bar.take() {
                bar.finish_and_clear();
            }
            if format == Format::Json {
                anstream::eprintln!("{}", json!({ "event": "comparing" }));
                return;
            }
            crate::detail!("Comparing the schemas");
        }
        _ => {}
    }
}

/// An operation's own step as text.
fn op_text(event: OpEvent<'_>) {
    match event {
        OpEvent::UsingDevDb {
            url,
            what,
            dir,
            server_user,
        } => {
            crate::info!(
                "Using the dev database {url} {DIM}({what}; `cargo migrate dev-db stop` stops it){DIM:#}"
            );
            crate::detail!(
                "  data in {}, server running as `{server_user}`",
                dir.display()
            );
        }
        OpEvent::Settings(config) => crate::detail!(
            "Settings: history {}, lock_timeout {}, statement_timeout {} (backfill batches), \
             lock retries {} within {}, lock wait {}, group commit {}, schemas {}",
            config.history,
            format_duration(config.lock_timeout),
            format_duration(config.statement_timeout),
            config
                .lock_retries
                .map_or_else(|| "unlimited".to_string(), |n| n.to_string()),
            format_duration(config.lock_retry_budget),
            format_duration(config.lock_wait),
            if config.group_commit { "on" } else { "off" },
            config.schemas.join(", ")
        ),
        OpEvent::Connected {
            label,
            server_version,
            tls,
        } => crate::detail!(
            "Connected to {label}: PostgreSQL {server_version}, TLS {}",
            if tls { "on" } else { "off" }
        ),
        OpEvent::SealedRecovered(folders) => {
            for s in folders {
                crate::info!(
                    "  Sealed {s} (applied by an earlier run that was interrupted before sealing it)"
                );
            }
        }
        OpEvent::Lint {
            findings,
            overridden,
        } => {
            super::lint::print_text_or_summary(findings);
            if let Some(errors) = overridden {
                let errors_only: Vec<_> = findings
                    .iter()
                    .filter(|f| f.severity == migrate_runtime::lint::Severity::Error)
                    .cloned()
                    .collect();
                crate::output::warning(&format!(
                    "applying despite {errors} lint error(s) (--allow-unsafe):\n{}",
                    super::lint::summary(&errors_only).join("\n")
                ));
            }
        }
        OpEvent::Applying {
            dir,
            label,
            history,
        } => crate::info!(
            "Applying migrations from {} to {label} (history {history})",
            dir.display()
        ),
        OpEvent::Reverting { label, history } => {
            crate::info!("Reverting migrations of {label} (history {history})")
        }
        OpEvent::BackingUp => crate::detail!("  Taking a backup"),
        OpEvent::BackedUp(b) => crate::info!("  {}", super::backup::line(b)),
        OpEvent::NoBackup => crate::info!("  No backup taken (--no-backup)"),
        OpEvent::ShadowsSwept { server, databases } => crate::info!(
            "Dropped {} shadow database{} on {server} that runs killed before they could drop \
             them: {}",
            databases.len(),
            if databases.len() == 1 { "" } else { "s" },
            databases.join(", ")
        ),
        OpEvent::Resetting { label, schemas } => crate::info!(
            "Resetting {label}: dropping schema(s) {} and applying every migration",
            schemas.join(", ")
        ),
        _ => {}
    }
}

/// An operation's own step as one JSON object (`None`: only a terminal needs it).
fn op_json(event: &OpEvent<'_>) -> Option<Value> {
    Some(match event {
        OpEvent::UsingDevDb { url, what, .. } => {
            json!({ "event": "using_dev_db", "url": url, "what": what })
        }
        OpEvent::BackedUp(b) => json!({ "event": "backed_up", "backup": b }),
        OpEvent::NoBackup => json!({ "event": "no_backup", "reason": "--no-backup" }),
        OpEvent::SealedRecovered(folders) => {
            json!({ "event": "sealed_recovered", "sealed": folders })
        }
        OpEvent::ShadowsSwept { server, databases } => {
            json!({ "event": "shadows_swept", "server": server, "databases": databases })
        }
        _ => return None,
    })
}

fn direction(d: Direction) -> &'static str {
    match d {
        Direction::Up => "up",
        Direction::Down => "down",
    }
}

/// An event as one JSON object (`None` for events only a terminal needs).
fn event_json(event: &Event<'_>) -> Option<Value> {
    Some(match event {
        Event::WaitingForLock(holder) => json!({ "event": "waiting_for_lock", "holder": holder }),
        Event::Starting {
            version,
            name,
            no_transaction,
            direction: d,
        } => json!({
            "event": "starting", "version": version, "name": name,
            "no_transaction": no_transaction, "direction": direction(*d),
        }),
        Event::RetryingFailed {
            version,
            name,
            error,
        } => {
            json!({ "event": "retrying_failed", "version": version, "name": name, "error": error })
        }
        Event::Resuming {
            version,
            direction: d,
            at,
            total,
        } => json!({
            "event": "resuming", "version": version, "direction": direction(*d),
            "at": at, "total": total,
        }),
        Event::LockTimeout {
            version,
            attempt,
            elapsed,
            blocked_by,
            next,
        } => json!({
            "event": "lock_timeout", "version": version, "attempt": attempt,
            "elapsed_ms": elapsed.as_millis() as u64, "blocked_by": blocked_by, "next": next,
        }),
        Event::Applied(a) => json!({ "event": "applied", "migration": a }),
        Event::RolledBack(r) => json!({ "event": "reverted", "migration": r }),
        Event::UsingRecordedDown { version, name } => {
            json!({ "event": "using_recorded_down", "version": version, "name": name })
        }
        Event::DroppedInvalidIndex { version, index } => {
            json!({ "event": "dropped_invalid_index", "version": version, "index": index })
        }
        Event::Dropped { schemas } => json!({ "event": "dropped_schemas", "schemas": schemas }),
        Event::BackfillProgress {
            version,
            direction: d,
            progress,
            estimated_rows,
            keys_per_s,
            ..
        } => super::backfill::event(
            *version,
            direction(*d),
            progress,
            *estimated_rows,
            *keys_per_s,
        ),
        Event::WaitingForReplicas { version, lag, max } => json!({
            "event": "waiting_for_replicas", "version": version,
            "lag_ms": lag.as_millis() as u64, "max_ms": max.as_millis() as u64,
        }),
        _ => return None,
    })
}

fn print_event(event: Event<'_>) {
    match event {
        Event::WaitingForLock(holder) => match holder {
            Some(h) => crate::info!("Waiting for the migration lock, held by {h}"),
            None => crate::info!("Waiting for the migration lock"),
        },
        Event::Starting { .. } => {}
        Event::RetryingFailed {
            version,
            name,
            error,
        } => crate::info!(
            "  Retrying {version}_{name}: it failed before and was rolled back ({error})"
        ),
        Event::Resuming {
            version, at, total, ..
        } => {
            crate::info!("  Resuming {version} at statement {at} of {total}")
        }
        Event::LockTimeout {
            version,
            attempt,
            elapsed,
            blocked_by,
            next,
        } => {
            let who = blocked_by.map_or_else(
                || "the blocking session is not known yet".to_string(),
                |b| b.to_string(),
            );
            let when = match next {
                NextAttempt::WhenBlockersFinish => "retrying as soon as it ends".to_string(),
                NextAttempt::After(ms) => {
                    format!("retrying in {}", format_duration(Duration::from_millis(ms)))
                }
            };
            crate::info!(
                "  {WARNING}Lock timeout{WARNING:#} in {version} (retry {attempt}, {} so far): {who}; {when}",
                format_duration(Duration::from_millis(elapsed.as_millis() as u64))
            );
        }
        Event::Applied(a) => crate::info!(
            "  {GOOD}Applied{GOOD:#} {} {DIM}({}){DIM:#}",
            a.folder(),
            run_details(a)
        ),
        Event::UsingRecordedDown { version, name } => crate::info!(
            "  {version}_{name}: its folder is gone; using the down.sql recorded when it was applied"
        ),
        Event::RolledBack(r) => crate::info!(
            "  {GOOD}Reverted{GOOD:#} {} {DIM}({}){DIM:#}",
            r.folder(),
            run_details(r)
        ),
        Event::WaitingForReplicas { version, lag, max } => crate::info!(
            "  Backfill {version}: waiting, a replica lags {} (more than {})",
            format_duration(Duration::from_millis(lag.as_millis() as u64)),
            format_duration(max)
        ),
        Event::DroppedInvalidIndex { version, index } => crate::info!(
            "  {version}: dropped the invalid index {index} left by an earlier failed build; building it again"
        ),
        Event::Dropped { schemas } => {
            let public = if schemas.iter().any(|s| s == "public") {
                "; public recreated empty"
            } else {
                ""
            };
            crate::info!("  Dropped schema(s) {}{public}", schemas.join(", "))
        }
        _ => {}
    }
}

/// What follows an applied or reverted migration: `14 ms, no transaction, 3 statements`, or
/// for a backfill `14 ms, backfill: 10 batches, 95 rows` (and where a stopped one resumed).
fn run_details(c: &migrate_runtime::engine::Completed) -> String {
    let mode = if c.no_transaction && c.backfill.is_none() {
        ", no transaction"
    } else {
        ""
    };
    let stmts = match (c.statements, &c.backfill) {
        (_, Some(b)) => format!(
            ", backfill: {}, {}{}",
            migrate_runtime::counted(b.batches, "batch", "batches"),
            migrate_runtime::counted(b.rows, "row", "rows"),
            c.backfill_resumed
                .as_ref()
                .map_or_else(String::new, |from| format!(
                    "; {}",
                    crate::render::backfill::resumes_after(from).replacen("resumes", "resumed", 1)
                ))
        ),
        (Some(1), _) => ", 1 statement".to_string(),
        (Some(n), _) => format!(", {n} statements"),
        (None, _) => String::new(),
    };
    format!("{}{mode}{stmts}", ms(c.duration_ms))
}
