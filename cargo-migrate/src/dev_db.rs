//! The project's dev database as the CLI uses it: which cluster and database (the target
//! directory's `migrate-dev-db`, one database per package), and the one line every command
//! that uses it prints.

use crate::context::Context;
use crate::output::DIM;
use crate::report::Error;
use migrate_runtime::devdb::{DevDb, DevDbError};

/// The project's dev database.
pub fn for_project(cx: &Context) -> DevDb {
    // Outside a package, name the database after the folder holding the migrations directory
    // (`examples/quickstart/migrations` → `quickstart`).
    let name = cx.package.clone().or_else(|| {
        std::path::absolute(&cx.dir).ok().and_then(|d| {
            d.parent()?
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
    });
    DevDb::new(&cx.target_dir, name.as_deref().unwrap_or("dev"))
}

/// Creates and starts the dev database as needed and returns its URL, saying which database
/// the command uses.
pub fn use_for_command(cx: &Context) -> Result<String, Error> {
    let db = for_project(cx);
    let running = db.ensure().map_err(error)?;
    let what = match (running.created, running.started) {
        (true, _) => format!("created with PostgreSQL {}", running.major),
        (false, true) => "started".into(),
        (false, false) => "running".into(),
    };
    crate::info!(
        "Using the dev database {} {DIM}({what}; `cargo migrate dev-db stop` stops it){DIM:#}",
        running.url
    );
    crate::detail!(
        "  data in {}, server running as `{}`",
        db.dir().display(),
        running.server_user
    );
    Ok(running.url)
}

/// A dev database error as a CLI error.
pub fn error(e: DevDbError) -> Error {
    let mut err = Error::new(e.message);
    if let Some(detail) = e.detail {
        err.body = detail.lines().map(|l| format!("  | {l}")).collect();
    }
    if !e.help.is_empty() {
        err = err.help(e.help);
    }
    err
}

/// The dev database's URL when it exists and runs (nothing is created or started).
pub fn running_url(cx: &Context) -> Option<String> {
    for_project(cx).status().ok()?.url
}
