//! Schema snapshots: a canonical, deterministic text model of a database's schema, and the
//! diff of two snapshots. The foundation of `verify` (snapshot a shadow database before and
//! after each migration) and of drift detection (compare a database with what its migrations
//! build).
//!
//! - `object`: the model, [`Snapshot`] and [`Object`], sorted and rendered as text (pure);
//! - `diff`: [`SchemaDiff`], what was added, removed, changed, reordered (pure).
#![cfg(feature = "postgres")]

mod diff;
mod object;

pub use diff::{Change, ObjectChange, SchemaDiff, diff};
pub use object::{Object, ObjectKind, Snapshot};
