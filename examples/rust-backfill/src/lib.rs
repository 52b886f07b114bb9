//! A backfill whose batches run Rust code: `users.display_name` derived from the email
//! (`jane.doe@example.com` → `Jane Doe`). Its migration,
//! `migrations/20261201090100_fill_display_name/migration.sql`, holds only the directive
//! (`-- migrate:backfill table=users key=id batch=500 pause=10ms rust`); the engine walks
//! `users.id` in batches, each in its own transaction with its checkpoint, and calls
//! [`DisplayName::up`] for each. Interrupted (an error, Ctrl-C, a crash), it resumes after the
//! last committed batch.
//!
//! ```no_run
//! let mut client = postgres::Client::connect("postgres://postgres@localhost/app", postgres::NoTls)?;
//! let report = rust_backfill::migrate(&mut client)?;
//! println!("{} migrations applied", report.applied.len());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use migrate_runtime::engine::{ApplyReport, Batch, BatchError, EngineError, RustBackfill};
use postgres::{Client, Transaction};

/// The embedded migrations: `MIGRATOR`, and one constant per migration.
pub mod migrations {
    migrate_macros::embed_migrations!("migrations");
}

/// Applies every pending migration, the Rust backfill with its code.
pub fn migrate(client: &mut Client) -> Result<ApplyReport, EngineError> {
    migrations::MIGRATOR
        .with_backfill(migrations::FILL_DISPLAY_NAME, DisplayName)
        .apply(client)
}

/// The display name an email gives: its local part, without a `+tag`, split at `.`, `_` and
/// `-`, each word capitalised.
///
/// ```
/// assert_eq!(rust_backfill::display_name("jane.doe+news@example.com"), "Jane Doe");
/// assert_eq!(rust_backfill::display_name("ÉLODIE_martin@example.fr"), "Élodie Martin");
/// ```
pub fn display_name(email: &str) -> String {
    let local = email.split('@').next().unwrap_or_default();
    let local = local.split('+').next().unwrap_or_default();
    local
        .split(['.', '_', '-'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
            first.unwrap_or_default() + &chars.as_str().to_lowercase()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The backfill's code: each batch reads the users of its key range that have no display name
/// yet, derives theirs, and writes them back in one statement.
#[derive(Debug, Clone, Copy)]
pub struct DisplayName;

impl RustBackfill for DisplayName {
    fn up(&self, tx: &mut Transaction<'_>, batch: &Batch<'_>) -> Result<u64, BatchError> {
        let rows = tx.query(
            "SELECT id, email FROM users \
             WHERE id BETWEEN $1 AND $2 AND display_name IS NULL",
            &[batch.start(), batch.end()],
        )?;
        let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        let names: Vec<String> = rows.iter().map(|r| display_name(r.get(1))).collect();
        let updated = tx.execute(
            "UPDATE users SET display_name = v.name \
             FROM unnest($1::bigint[], $2::text[]) AS v(id, name) WHERE users.id = v.id",
            &[&ids, &names],
        )?;
        Ok(updated)
    }

    fn down(&self, tx: &mut Transaction<'_>, batch: &Batch<'_>) -> Result<u64, BatchError> {
        Ok(tx.execute(
            "UPDATE users SET display_name = NULL WHERE id BETWEEN $1 AND $2",
            &[batch.start(), batch.end()],
        )?)
    }
}
