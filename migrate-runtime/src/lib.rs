//! The runtime of cargo-migrate: the model of a migrations directory, the integrity lock file,
//! and (with the default `postgres` feature) the engine that applies migrations.
//!
//! Layout:
//! - [`model`]: reading `migrations/<version>_<name>/{migration.sql,down.sql}`, directives,
//!   checksums, creating new migrations;
//! - [`lockfile`]: `migrations.lock`, verification and sealing;
//! - `project` (feature `manifest`): finding the package and its `[package.metadata.migrate]`;
//! - `engine` (feature `postgres`, default): apply, status, down, resolve, reset on a client;
//! - `schema` (feature `postgres`): a canonical snapshot of a database's schema, and diffs;
//! - `shadow` (feature `postgres`): scratch databases where `verify` rehearses migrations;
//! - `ops` (feature `ops`): one operation per `cargo migrate` command, from a project to a
//!   typed report (what the CLI renders as text or JSON).
//!
//! ```
//! use migrate_runtime::{LockState, MigrationSet, verify};
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::create_dir(dir.path().join("20261121093000_create_users")).unwrap();
//! std::fs::write(
//!     dir.path().join("20261121093000_create_users/migration.sql"),
//!     "CREATE TABLE users (id bigint PRIMARY KEY);\n",
//! ).unwrap();
//! let set = MigrationSet::read(dir.path()).unwrap();
//! let lock = LockState::load(dir.path()).unwrap();
//! for finding in verify(&set, &lock) {
//!     println!("{finding}");
//! }
//! ```

#[cfg(all(unix, feature = "dev-db"))]
pub mod backup;
mod checksum;
mod counted;
mod decimal;
#[cfg(all(unix, feature = "dev-db"))]
pub mod devdb;
mod duration;
pub mod embedded;
#[cfg(feature = "postgres")]
pub mod engine;
mod ident;
pub mod import;
#[cfg(feature = "lint")]
pub mod lint;
pub mod lockfile;
pub mod model;
#[cfg(all(unix, feature = "ops"))]
pub mod ops;
#[cfg(feature = "manifest")]
pub mod project;
pub mod schema;
pub mod shadow;
#[cfg(feature = "write")]
mod timestamp;
mod version;

pub use checksum::{Checksum, ParseChecksumError};
pub use counted::counted;
pub use lockfile::{
    Finding, LockEntry, LockFile, LockState, SealOptions, SealOutcome, SealRefused, seal, verify,
};
pub use model::{Migration, MigrationSet, SqlFile};
#[cfg(feature = "codegen")]
pub mod build;
#[cfg(feature = "codegen")]
pub mod compile;
pub use duration::{DurationError, format_duration, parse_duration};
pub use ident::{Ident, IdentError, MAX_IDENT_BYTES, QualifiedName, quote_ident};
pub use version::{ParseVersionError, Version};
