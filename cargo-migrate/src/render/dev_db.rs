//! `dev-db`'s reports.

use super::{Format, print_json};
use crate::output::{DIM, GOOD};
use anstream::println;
use migrate_runtime::devdb::Running;
use migrate_runtime::ops::DevDbReport;
use serde_json::json;
use std::path::Path;

/// `dev-db status`.
pub fn status(format: Format, r: &DevDbReport) {
    match format {
        Format::Json => print_json(&json!({
            "ok": true, "state": r.state, "dir": r.dir, "url": r.url, "port": r.port,
            "database": r.database, "postgres_version": r.postgres_version,
            "record": r.record,
        })),
        Format::Text => {
            println!("Dev database: {}", r.state);
            println!("  data      {}", r.dir.display());
            if let Some(record) = &r.record {
                println!("  record    {}", record.display());
            }
            println!("  database  {}", r.database);
            if let Some(major) = &r.postgres_version {
                println!("  version   PostgreSQL {major}");
            }
            if let Some(url) = &r.url {
                println!("  url       {url}");
            }
            if r.state == "not created" {
                println!("  {DIM}created on first use by any command that needs a database{DIM:#}");
            }
        }
    }
}

/// `dev-db url`.
pub fn url(format: Format, running: &Running, dir: &Path) {
    match format {
        Format::Json => print_json(&json!({ "ok": true, "url": running.url })),
        Format::Text => {
            if running.created || running.started {
                crate::info!(
                    "{GOOD}{}{GOOD:#} the dev database in {}",
                    if running.created {
                        "Created"
                    } else {
                        "Started"
                    },
                    dir.display()
                );
            }
            println!("{}", running.url);
        }
    }
}

/// `dev-db stop` and `dev-db destroy`.
pub fn changed(format: Format, changed: bool, key: &str, done: &str, nothing: &str) {
    match format {
        Format::Json => print_json(&json!({ "ok": true, key: changed })),
        Format::Text => crate::info!("{}.", if changed { done } else { nothing }),
    }
}
