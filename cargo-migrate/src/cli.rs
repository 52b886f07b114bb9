//! The command line: arguments only. Each command's work lives in `commands/<name>.rs`, which
//! calls into migrate-runtime.

use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use migrate_runtime::Version;
use migrate_runtime::import::Tool;
use migrate_runtime::ops::DbOptions;
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
    #[arg(long, global = true, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// PostgreSQL connection URL (used by commands that talk to a database)
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,
    /// Print only results, warnings and errors
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail (settings, connection, each migration as it starts)
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// When to use colour [default: auto: on a terminal, unless NO_COLOR is set]
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto, hide_default_value = true)]
    pub color: ColorArg,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// On a terminal, unless NO_COLOR is set
    Auto,
    /// Always (also when piped)
    Always,
    /// Never
    Never,
}

/// How results are printed (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Human-readable text
    Text,
    /// One JSON document on stdout (errors too)
    Json,
    /// GitHub Actions annotations (`lint` and `check`)
    Github,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new migration folder `<timestamp>_<name>/` with migration.sql and down.sql
    New(NewArgs),
    /// Seal the draft migrations into migrations.lock (or check the seals with --check)
    Seal(SealArgs),
    /// Apply pending migrations (one runner at a time; drafts are sealed once applied)
    Apply(ApplyArgs),
    /// Show the state of every migration; exit 0 up to date, 4 pending, 3 problems, 1 error
    #[command(
        after_help = "Exit codes: 0 up to date; 4 pending migrations only; 3 problems \
(edited, missing, failed, out of order, lock-file problems, or with --drift drift); 1 error \
(e.g. no connection)."
    )]
    Status(StatusArgs),
    /// Revert the newest applied migrations with their down.sql
    Down(DownArgs),
    /// Mark a migration applied (baselining, fixed by hand) or a failed one rolled back
    Resolve(ResolveArgs),
    /// Drop the schemas and apply every migration again (development databases only)
    Reset(ResetArgs),
    /// Run the seed SQL in one transaction on a database at the latest version (development
    /// databases only)
    Seed(SeedArgs),
    /// Check migrations for zero-downtime problems (drafts by default); needs no database
    #[command(
        after_help = "Exit codes: 0 no error-level finding (warnings allowed); 3 error-level \
findings; 1 error (e.g. unreadable directory)."
    )]
    Lint(LintArgs),
    /// Prove migrations reversible on a shadow database: apply, revert, compare the schema,
    /// apply again (the drafts by default)
    #[command(
        after_help = "Verdicts: ok, column_order (a warning), irreversible (by directive) pass; \
no_down, down_failed, not_restored, reapply_failed, up_failed, not_run fail. Exit codes: 0 every \
verdict passes (or nothing to verify); 3 a verdict fails; 1 error (e.g. no server to make the \
shadow database on). Nothing is written to the project's database or any history."
    )]
    Verify(VerifyArgs),
    /// Find drift: compare the database's schema with the one its applied migrations make
    /// (replayed on a shadow database); the database is only read
    #[command(
        after_help = "Shows objects made (added), dropped (removed) or changed outside \
migrations, grouped by table. The applied migrations are replayed as they ran: a file edited \
since it was applied is replayed from the text the history recorded. Exit codes: 0 no drift; 3 \
drift; 1 error (e.g. a recorded migration fails on an empty database, no server for the shadow \
database)."
    )]
    Diff(DiffArgs),
    /// One CI gate: the lock file (everything sealed and intact), lint and verify of the new
    /// migrations, and the configured database's status
    #[command(
        after_help = "The new migrations are the drafts and, when a database is configured, the \
migrations pending on it (what its next deploy applies); --all checks every migration. Every \
step runs and is reported even when another fails; verify is skipped when the lock file has \
problems. Exit codes: 0 every step passed (skipped steps allowed); 3 a step found problems; 1 a \
step could not run (e.g. no connection). --format github prints annotations on the files at \
fault, then the report."
    )]
    Check(CheckArgs),
    /// Adopt a project from another tool: convert its migrations, adopt its database history
    #[command(
        after_help = "Without a source directory, adopts the database history of migrations \
imported before. Exit codes: 0 imported (or, with --dry-run, importable); 1 refused or failed \
(nothing was written)."
    )]
    Import(ImportArgs),
    /// Back up the database now (pg_dump or the backup command) and print what identifies the
    /// backup (e.g. the file's path) on stdout
    Backup(BackupArgs),
    /// Restore a backup (pg_dump custom format) into a NEW database on the same server and
    /// print its URL (redacted) on stdout; never writes over an existing database
    Restore(RestoreArgs),
    /// Manage the project's dev database (used when no database is configured)
    #[command(subcommand, name = "dev-db")]
    DevDb(DevDbCommand),
    /// Print a shell completion script (e.g. `cargo migrate completions bash > ~/.local/share/bash-completion/completions/cargo-migrate`)
    Completions(CompletionsArgs),
}

/// `cargo migrate dev-db <action>`.
#[derive(Debug, Subcommand)]
pub enum DevDbCommand {
    /// Show whether it exists and runs, its URL and where its data lives
    Status,
    /// Print its URL (creating and starting it if needed), e.g. `export DATABASE_URL=$(cargo migrate dev-db url)`
    Url,
    /// Stop the server (the data stays; the next command that needs it starts it again)
    Stop,
    /// Stop the server and delete the cluster with all its data
    Destroy,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Lint these migrations (a version or a folder name) instead of the drafts
    #[arg(value_name = "VERSION", value_parser = parse_version_arg, conflicts_with = "all")]
    pub versions: Vec<Version>,
    /// Lint every migration, sealed ones too
    #[arg(long)]
    pub all: bool,
}

/// Database options of the commands that talk to PostgreSQL.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// The history table, `schema.table` [default: public._migrate_history]
    #[arg(long, value_name = "TABLE")]
    pub history_table: Option<String>,
    /// lock_timeout of each migration statement: the longest any query of the application
    /// waits behind it, e.g. 200ms, 1s; 0 leaves the server's [default: 200ms]
    #[arg(long, value_name = "DURATION")]
    pub lock_timeout: Option<String>,
    /// statement_timeout of each backfill batch: a longer batch is rolled back and the
    /// backfill stops at its last checkpoint, e.g. 30s, 2m; 0 leaves the server's
    /// [default: 30s]
    #[arg(long, value_name = "DURATION")]
    pub statement_timeout: Option<String>,
    /// How long a migration keeps retrying after lock timeouts [default: 3m]
    #[arg(long, value_name = "DURATION")]
    pub lock_retry_budget: Option<String>,
    /// At most this many retries after lock timeouts [default: as many as the budget allows]
    #[arg(long, value_name = "N")]
    pub lock_retries: Option<u32>,
    /// How long to wait for another runner's migration lock [default: 60s]
    #[arg(long, value_name = "DURATION")]
    pub lock_wait: Option<String>,
    /// How long connecting may take (TCP, TLS, authentication) [default: 10s, or the
    /// connection string's connect_timeout]
    #[arg(long, value_name = "DURATION")]
    pub connect_timeout: Option<String>,
    /// Flush the WAL at every migration's commit instead of once at the end of the run
    #[arg(long)]
    pub no_group_commit: bool,
}

impl DbArgs {
    /// The runtime's options (parsed and checked there).
    pub fn options(&self) -> DbOptions {
        DbOptions {
            history_table: self.history_table.clone(),
            lock_timeout: self.lock_timeout.clone(),
            statement_timeout: self.statement_timeout.clone(),
            lock_retry_budget: self.lock_retry_budget.clone(),
            lock_retries: self.lock_retries,
            lock_wait: self.lock_wait.clone(),
            connect_timeout: self.connect_timeout.clone(),
            no_group_commit: self.no_group_commit,
        }
    }
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Stop after this version
    #[arg(long, value_name = "VERSION", value_parser = parse_version_arg)]
    pub to: Option<Version>,
    /// Print the plan (migrations, statements, transaction mode) and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Apply all pending migrations in one transaction (not with no-transaction migrations)
    #[arg(long)]
    pub single_transaction: bool,
    /// Production mode: refuse unsealed migrations
    #[arg(long)]
    pub locked: bool,
    /// Apply pending migrations older than the newest applied one
    #[arg(long)]
    pub allow_out_of_order: bool,
    /// Apply drafts despite error-level lint findings (they are printed)
    #[arg(long)]
    pub allow_unsafe: bool,
    #[command(flatten)]
    pub backup: BackupFlags,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub fleet_apply: FleetApplyArgs,
    #[command(flatten)]
    pub db: DbArgs,
}

/// `apply`'s backup options.
#[derive(Debug, Args)]
pub struct BackupFlags {
    /// Before the first pending migration, run this shell command as the backup (instead of
    /// the `backup` setting); the connection is in PG* variables, never on its command line
    #[arg(long, value_name = "COMMAND", conflicts_with = "no_backup")]
    pub backup_command: Option<String>,
    /// Take no backup, even if one is configured (required to skip it with --locked)
    #[arg(long)]
    pub no_backup: bool,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Run this shell command as the backup (instead of the `backup` setting)
    #[arg(long, value_name = "COMMAND")]
    pub backup_command: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup: a `pg_dump --format=custom` file (what `cargo migrate backup` made)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The new database's name [default: <database>_restore_<UTC time>]; it must not exist
    #[arg(long, value_name = "DBNAME")]
    pub into: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Versions to verify [default: the drafts, i.e. the migrations not sealed yet]
    #[arg(value_name = "VERSION", value_parser = parse_version_arg, conflicts_with = "all")]
    pub versions: Vec<Version>,
    /// Verify every migration, the whole history
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub shadow: ShadowArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Also compare the schema with the one the applied migrations make (as `diff` does);
    /// drift is a problem (exit 3)
    #[arg(long)]
    pub drift: bool,
    /// With --drift: the server to make the shadow database on [default: the project's
    /// database's server, or the dev database]
    #[arg(long, value_name = "URL", requires = "drift")]
    pub shadow_url: Option<String>,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Where shadow databases are made, and the database options (`verify`, `diff`, `check`).
#[derive(Debug, Args)]
pub struct ShadowArgs {
    /// The server to make the shadow database on [default: the project's database's server,
    /// or the dev database]
    #[arg(long, value_name = "URL")]
    pub shadow_url: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Lint and verify every migration, not only the new ones
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub shadow: ShadowArgs,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub shadow: ShadowArgs,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// How many of the newest applied migrations to revert [default: 1]
    #[arg(long, value_name = "N", conflicts_with = "to")]
    pub steps: Option<usize>,
    /// Revert every migration newer than this version (it stays applied)
    #[arg(long, value_name = "VERSION", value_parser = parse_version_arg)]
    pub to: Option<Version>,
    /// Print what would be reverted and change nothing
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args)]
#[group(id = "resolution", required = true, multiple = false)]
pub struct ResolveArgs {
    /// Mark this migration applied without running it
    #[arg(long, value_name = "VERSION", value_parser = parse_version_arg, group = "resolution")]
    pub applied: Option<Version>,
    /// Mark this failed migration rolled back, so it can be retried
    #[arg(long, value_name = "VERSION", value_parser = parse_version_arg, group = "resolution")]
    pub rolled_back: Option<Version>,
    /// Baseline: mark every migration up to and including this one applied without running
    /// it (for a database that already has their schema)
    #[arg(long, value_name = "VERSION", value_parser = parse_version_arg, group = "resolution")]
    pub applied_through: Option<Version>,
    /// With --applied-through: list what would be marked, change nothing
    #[arg(long, requires = "applied_through")]
    pub dry_run: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Allow a database that is not on this machine (needs --confirm)
    #[arg(long)]
    pub force: bool,
    /// The database name, typed back, to confirm --force
    #[arg(long, value_name = "DBNAME", requires = "force")]
    pub confirm: Option<String>,
    /// Then run the seeds (as `cargo migrate seed`), in the same run
    #[arg(long)]
    pub seed: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// A seed file, or a directory of `.sql` files run in name order [default: the
    /// `seeds_dir` setting, else `seeds/` beside the migrations]
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Allow a database that is not on this machine (needs --confirm)
    #[arg(long)]
    pub force: bool,
    /// The database name, typed back, to confirm --force
    #[arg(long, value_name = "DBNAME", requires = "force")]
    pub confirm: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
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
    /// A batched data change: write a `-- migrate:backfill` template (and a backfill down.sql)
    #[arg(long, conflicts_with = "no_transaction")]
    pub backfill: bool,
    /// With --backfill: its batches run Rust code registered for it (`-- migrate:backfill ...
    /// rust`), not a statement
    #[arg(long, requires = "backfill")]
    pub rust: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The tool the project comes from
    #[arg(
        long,
        value_name = "TOOL",
        value_parser = clap::builder::PossibleValuesParser::new(Tool::NAMES)
            .try_map(|s| s.parse::<Tool>())
    )]
    pub from: Tool,
    /// The tool's migrations directory: its files are converted into --dir and sealed
    #[arg(value_name = "SOURCE_DIR")]
    pub source: Option<std::path::PathBuf>,
    /// Also adopt the database history in the same run (implied without SOURCE_DIR)
    #[arg(long)]
    pub history: bool,
    /// Check everything and print the mapping; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// The tool's history table, `schema.table` [default: where the tool keeps it]
    #[arg(long, value_name = "TABLE")]
    pub source_table: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
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
    /// Verify what is sealed first (as `verify` does, on a shadow database), refuse if a
    /// verdict fails, and record the migrations as verified in migrations.lock
    /// (`require_verified` needs it)
    #[arg(long, conflicts_with = "check")]
    pub verify: bool,
    /// With --verify: the server to make the shadow database on
    #[arg(long, value_name = "URL", requires = "verify")]
    pub shadow_url: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

/// `--fleet` and `--jobs` (`apply`, `status`).
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// Every database of a fleet file (one connection string or `env:VAR` per line; `#`
    /// comments) instead of one [default FILE: the `fleet` setting]
    #[arg(long, value_name = "FILE")]
    #[allow(clippy::option_option)]
    pub fleet: Option<Option<PathBuf>>,
    /// With --fleet: how many databases at once [default: 4]
    #[arg(long, value_name = "N", requires = "fleet", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

impl FleetArgs {
    /// `Some(None)`: `--fleet` without a file (the setting's).
    pub fn file(&self) -> Option<Option<PathBuf>> {
        self.fleet.clone()
    }

    /// `--jobs`, else the default.
    pub fn jobs(&self) -> usize {
        self.jobs
            .map_or(migrate_runtime::ops::fleet::DEFAULT_JOBS, |n| {
                usize::from(n)
            })
    }
}

/// How `apply --fleet` goes on after a failure.
#[derive(Debug, Args)]
pub struct FleetApplyArgs {
    /// With --fleet: start no new database after one fails [default: go on with the others]
    #[arg(long, requires = "fleet")]
    pub fail_fast: bool,
    /// With --fleet: apply to the first N databases, and to the rest only if none of them failed
    #[arg(long, value_name = "N", requires = "fleet", value_parser = clap::value_parser!(u32).range(1..))]
    pub canary: Option<u32>,
}

/// Accepts a version (`20261121093000`) or a folder name (`20261121093000_create_users`).
pub fn parse_version_arg(s: &str) -> Result<Version, String> {
    let digits = match s.split_once('_') {
        Some((digits, _)) => digits,
        None => s,
    };
    digits.parse::<Version>().map_err(|e| e.to_string())
}
