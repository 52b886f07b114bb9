//! Schema snapshots: a canonical, deterministic text model of a database's schema, read from
//! `pg_catalog` (no pg_dump, no external program), and the diff of two snapshots. The
//! foundation of `verify` (snapshot a shadow database before and after each migration) and of
//! drift detection (compare a database with what its migrations build).
//!
//! - `object`: the model, [`Snapshot`] and [`Object`], sorted and rendered as text (pure);
//! - `diff`: [`SchemaDiff`], what was added, removed, changed, reordered (pure);
//! - `capture`: [`Snapshot::capture`], a handful of catalog queries in one transaction, with
//!   settings that make PostgreSQL print names and constants the same way every time;
//! - `catalog`: one reader per kind of object, each one query (two for tables and types);
//! - `builder`: gathers the objects and attaches comments and grants to them;
//! - `render`: the text of column, sequence and routine details (pure);
//! - `tracked`: [`TrackedSnapshot`], a snapshot refreshed by reading only what changed;
//! - `change_log`: [`record_changes`], event triggers that record a session's schema changes,
//!   so refreshes find them without scanning the catalogs.
//!
//! PostgreSQL prints the definitions (`pg_get_indexdef`, `pg_get_constraintdef`,
//! `pg_get_viewdef`, `pg_get_functiondef`, `pg_get_triggerdef`, `format_type`, `pg_get_expr`),
//! with an empty `search_path` so every name is schema-qualified.
//!
//! ```no_run
//! use migrate_runtime::schema::{Snapshot, SnapshotOptions, diff};
//! let mut client = postgres::Client::connect("postgres://postgres@localhost/app", postgres::NoTls)?;
//! let before = Snapshot::capture(&mut client, &SnapshotOptions::default())?;
//! client.batch_execute("ALTER TABLE users ADD COLUMN nickname text")?;
//! let after = Snapshot::capture(&mut client, &SnapshotOptions::default())?;
//! print!("{}", diff(&before, &after));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg(feature = "postgres")]

mod builder;
mod capture;
mod catalog;
mod change_log;
mod diff;
mod error;
mod object;
mod options;
mod queries;
mod render;
mod tracked;

pub(crate) use capture::REFRESH_SETTINGS;
pub use change_log::record_changes;
pub use diff::{Change, ObjectChange, SchemaDiff, diff};
pub use error::SnapshotError;
pub use object::{Object, ObjectKind, Snapshot};
pub use options::SnapshotOptions;
pub use queries::StatementCache;
pub use tracked::TrackedSnapshot;
