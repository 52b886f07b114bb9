//! Shadow databases: scratch databases where migrations are rehearsed, never the target.
//!
//! - [`ShadowDb`]: a database of its own on a server, dropped afterwards;
//! - `files`: running a migration's file there, with no history;
//! - [`verify()`]: each migration applied, reverted and applied again, the schema compared at
//!   each step ([`Verdict`] per migration);
//! - [`drift()`]: the history's migrations replayed, the schema compared with a live
//!   database's;
//! - `report`: the verdicts and progress events (pure).
//!
//! ```no_run
//! use migrate_runtime::MigrationSet;
//! use migrate_runtime::engine::connection::ConnInfo;
//! use migrate_runtime::shadow::{ShadowDb, VerifyRequest, verify};
//! let set = MigrationSet::read("migrations".as_ref())?;
//! let mut shadow = ShadowDb::create(&ConnInfo::parse("postgres://postgres@localhost/app")?, None)?;
//! let check = set.migrations.iter().map(|m| m.version).collect();
//! let request = VerifyRequest { set: &set, check, snapshot: Default::default() };
//! let failing = verify(&mut shadow, &request, &mut |_| {})?
//!     .into_iter()
//!     .filter(|c| !c.verdict.passes())
//!     .count();
//! println!("{failing} migration(s) cannot be reverted safely");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg(feature = "postgres")]

mod database;
mod drift;
mod files;
mod rehearse;
mod report;

pub use database::{SHADOW_PREFIX, ShadowDb, ShadowError};
pub use drift::{DriftRequest, Recorded, drift};
pub use rehearse::{VerifyError, VerifyRequest, verify};
pub use report::{Checked, DriftEvent, Verdict, VerifyEvent};
