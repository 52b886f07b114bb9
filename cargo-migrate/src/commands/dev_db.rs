//! `cargo migrate dev-db status|url|stop|destroy`: the project's dev database, the PostgreSQL
//! cluster under `target/migrate-dev-db` that commands use when no database is configured.

use crate::cli::DevDbCommand;
use crate::context::{Context, Format};
use crate::dev_db::{error, for_project};
use crate::exit::Exit;
use crate::output::{DIM, GOOD};
use crate::report::{Error, print_json};
use anstream::println;
use serde_json::json;

pub fn run(cx: &Context, action: DevDbCommand) -> Result<Exit, Error> {
    let db = for_project(cx);
    let dir = db.dir().display().to_string();
    match action {
        DevDbCommand::Status => {
            let s = db.status().map_err(error)?;
            let state = match (s.created, s.port) {
                (false, _) => "not created",
                (true, None) => "stopped",
                (true, Some(_)) => "running",
            };
            match cx.format {
                Format::Json => print_json(&json!({
                    "ok": true, "state": state, "dir": dir, "url": s.url, "port": s.port,
                    "database": db.database(), "postgres_version": s.major,
                    "record": db.record(),
                })),
                Format::Text => {
                    println!("Dev database: {state}");
                    println!("  data      {dir}");
                    if let Some(record) = db.record() {
                        println!("  record    {}", record.display());
                    }
                    println!("  database  {}", db.database());
                    if let Some(major) = &s.major {
                        println!("  version   PostgreSQL {major}");
                    }
                    if let Some(url) = &s.url {
                        println!("  url       {url}");
                    }
                    if !s.created {
                        println!(
                            "  {DIM}created on first use by any command that needs a database{DIM:#}"
                        );
                    }
                }
            }
        }
        DevDbCommand::Url => {
            let running = db.ensure().map_err(error)?;
            match cx.format {
                Format::Json => print_json(&json!({ "ok": true, "url": running.url })),
                Format::Text => {
                    if running.created || running.started {
                        crate::info!(
                            "{GOOD}{}{GOOD:#} the dev database in {dir}",
                            if running.created {
                                "Created"
                            } else {
                                "Started"
                            }
                        );
                    }
                    println!("{}", running.url);
                }
            }
        }
        DevDbCommand::Stop => {
            let stopped = db.stop().map_err(error)?;
            report(
                cx,
                stopped,
                "stopped",
                "Stopped the dev database",
                "The dev database is not running",
            );
        }
        DevDbCommand::Destroy => {
            let destroyed = db.destroy().map_err(error)?;
            let done = format!("Deleted the dev database ({dir})");
            report(
                cx,
                destroyed,
                "destroyed",
                &done,
                "There is no dev database",
            );
        }
    }
    Ok(Exit::Success)
}

fn report(cx: &Context, changed: bool, key: &str, done: &str, nothing: &str) {
    match cx.format {
        Format::Json => print_json(&json!({ "ok": true, key: changed })),
        Format::Text => crate::info!("{}.", if changed { done } else { nothing }),
    }
}
