//! One operation per `cargo migrate` command: a [`Workspace`] and a request in, a typed report
//! (or an [`OpError`]) out, with progress as [`OpEvent`]s. The CLI is a thin front end over
//! these: it turns arguments into a request, calls the operation, and renders the report as
//! text or JSON. Everything the commands decide lives here, so another front end (a deploy
//! tool, a test) gets the same behaviour.
//!
//! - [`workspace`]: the project (directory, settings, given database, dev database);
//! - [`database`]: which database, its settings checked before connecting, connecting;
//! - `preflight`: the lock-file checks before anything runs, and sealing what applied;
//! - one module per command: `new`, `seal`, `lint`, `apply`, `status`, `down`, `resolve`,
//!   `reset`, `seed`, `import`, `dev_db`, `verify`, `drift` (`diff`), `gate` (`check`),
//!   `backup` (with `restore`, and the backup `apply` takes);
//! - [`fleet`]: `apply` and `status` over many databases.
//!
//! ```no_run
//! use migrate_runtime::ops::{self, ApplyRequest, Workspace, WorkspaceOptions};
//! let ws = Workspace::locate(&WorkspaceOptions::default(), &std::env::current_dir()?)?;
//! let outcome = ops::apply(&ws, &ApplyRequest::default(), &mut |_| {})?;
//! println!("{} applied", outcome.report.applied.len());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod apply;
mod backup;
pub mod database;
pub mod dev_db;
mod down;
mod drift;
mod error;
mod event;
pub mod fleet;
mod gate;
mod impact;
mod import;
mod lint;
mod new;
mod preflight;
mod reset;
mod resolve;
mod seal;
mod seed;
mod status;
mod verify;
pub mod workspace;

pub use apply::{ApplyOutcome, ApplyRequest, apply};
pub use backup::{BackupOutcome, BackupRequest, RestoreOutcome, RestoreRequest, backup, restore};
pub use database::{DbOptions, DbSettings, db_settings};
pub use dev_db::DevDbReport;
pub use down::{DownOutcome, DownRequest, down};
pub use drift::{DriftOutcome, DriftRequest, NotReplayed, drift};
pub use error::{EditedDiff, OpError, Untouched};
pub use event::{OpEvent, quiet};
pub use gate::{GateReport, GateRequest, Step, gate};
pub use impact::{BackfillImpact, MigrationImpact, PlannedImpact};
pub use import::{ImportRequest, import};
pub use lint::{LintReport, LintRequest, counts as lint_counts, run as lint};
pub use new::{NewReport, new_migration};
pub use reset::{ResetOutcome, ResetRequest, reset};
pub use resolve::{ResolveOutcome, ResolveRequest, resolve};
pub use seal::{CheckReport, SealReport, SealRequest, check, seal_drafts};
pub use seed::{SeedOutcome, SeedRequest, seed};
pub use status::{StatusEntry, StatusReport, StatusRequest, StatusVerdict, Unfinished, status};
pub use verify::{Selection, VerifyOutcome, VerifyRequest, verify};
pub use workspace::{Workspace, WorkspaceOptions};
