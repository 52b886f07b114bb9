//! The command line: arguments only. Each command's work lives in `commands/<name>.rs`, which
//! calls into migrate-runtime.

use clap::{Args, Parser, Subcommand, ValueEnum};
use migrate_runtime::Version;
use std::path::PathBuf;

/// PostgreSQL migrations for Rust teams: sealed, reversible, zero-downtime.
#[derive(Debug, Parser)]
#[command(name = "cargo-migrate", bin_name = "cargo migrate", version)]
#[command(
    after_help = "Exit codes: 0 success; 1 error (nothing changed unless the message says \
otherwise); 2 invalid arguments; 3 a check found problems (e.g. `seal --check`)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// The migrations directory [default: `[package.metadata.migrate] dir`, else
    /// `<package root>/migrations`]
    #[arg(long, global = true, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// The Cargo.toml of the package that owns the migrations [default: the nearest one]
    #[arg(long, global = true, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// PostgreSQL connection URL (used by commands that talk to a database)
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable text
    Text,
    /// One JSON document on stdout (errors too)
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new migration folder `<timestamp>_<name>/` with migration.sql and down.sql
    New(NewArgs),
    /// Seal the draft migrations into migrations.lock (or check the seals with --check)
    Seal(SealArgs),
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The migration's name, in snake_case (e.g. add_users_email_index)
    pub name: String,
    /// Run it statement by statement outside a transaction (for CREATE INDEX CONCURRENTLY)
    #[arg(long)]
    pub no_transaction: bool,
    /// It cannot be reverted: write `-- migrate:irreversible` and no down.sql
    #[arg(long)]
    pub irreversible: bool,
}

#[derive(Debug, Args)]
pub struct SealArgs {
    /// Change nothing; exit 3 if anything is unsealed, edited, missing, out of order or corrupt
    #[arg(long, conflicts_with_all = ["force", "allow_out_of_order"])]
    pub check: bool,
    /// Re-seal an edited (or drop a deleted) sealed migration. Only for migrations that were
    /// never shared: not pushed, not applied anywhere but your machine
    #[arg(long, value_name = "VERSION", value_parser = parse_version_arg)]
    pub force: Vec<Version>,
    /// Seal drafts older than the newest sealed migration (e.g. after merging a branch)
    #[arg(long)]
    pub allow_out_of_order: bool,
}

/// Accepts a version (`20261121093000`) or a folder name (`20261121093000_create_users`).
pub fn parse_version_arg(s: &str) -> Result<Version, String> {
    let digits = match s.split_once('_') {
        Some((digits, _)) => digits,
        None => s,
    };
    digits.parse::<Version>().map_err(|e| e.to_string())
}
