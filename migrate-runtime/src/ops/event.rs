//! Progress of an operation, in the order it happens: the engine's own events, and what the
//! operation does around them (which database, what it seals, what the lint gate found). A
//! front end prints these as they come (the CLI: lines on a terminal, or JSON lines).

use crate::engine::{EngineConfig, Event};
use crate::lint::LintFinding;
use std::path::Path;

/// One step of an operation.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpEvent<'a> {
    /// The engine's progress.
    Engine(Event<'a>),
    /// The dev database is used (no database is configured).
    UsingDevDb {
        /// Its URL (no password: trust on loopback).
        url: &'a str,
        /// What was done to it: `created with PostgreSQL 15`, `started`, `running`.
        what: &'a str,
        /// Where its data lives.
        dir: &'a Path,
        /// The user its server runs as.
        server_user: &'a str,
    },
    /// The engine settings in effect.
    Settings(&'a EngineConfig),
    /// Connected.
    Connected {
        /// `user@host:port/db`.
        label: &'a str,
        /// `server_version`.
        server_version: &'a str,
        /// Whether the connection is encrypted.
        tls: bool,
    },
    /// Drafts an earlier, interrupted run applied were sealed.
    SealedRecovered(&'a [String]),
    /// The lint gate's findings on the drafts about to be applied (or sealed); `overridden`:
    /// error-level ones were accepted with `--allow-unsafe`.
    Lint {
        /// The findings.
        findings: &'a [LintFinding],
        /// How many errors `--allow-unsafe` overrides, when it does.
        overridden: Option<usize>,
    },
    /// `apply` starts.
    Applying {
        /// The migrations directory.
        dir: &'a Path,
        /// `user@host:port/db`.
        label: &'a str,
        /// The history table.
        history: &'a str,
    },
    /// `down` starts reverting (sent before its first migration starts, so never with
    /// `--dry-run` or after a refusal).
    Reverting {
        /// `user@host:port/db`.
        label: &'a str,
        /// The history table.
        history: &'a str,
    },
    /// A backup is being taken (before `apply`'s first pending migration, or on demand).
    BackingUp,
    /// The backup was taken.
    BackedUp(&'a crate::backup::BackupRecord),
    /// `apply --no-backup` with pending migrations: no backup is taken.
    NoBackup,
    /// `verify`'s progress on the shadow database.
    Verify(crate::shadow::VerifyEvent<'a>),
    /// `diff`'s progress: the history replayed on a shadow database, then the comparison.
    Drift(crate::shadow::DriftEvent<'a>),
    /// A fleet run's progress (`apply --fleet`, `status --fleet`).
    Fleet(super::fleet::FleetEvent<'a>),
    /// Shadow databases that killed runs left on the server were dropped before a new one was
    /// made ([`ShadowDb::swept`](crate::shadow::ShadowDb::swept)).
    ShadowsSwept {
        /// `user@host:port/db` of the server.
        server: &'a str,
        /// Their names.
        databases: &'a [String],
    },
    /// `reset` starts.
    Resetting {
        /// `user@host:port/db`.
        label: &'a str,
        /// The schemas it drops.
        schemas: &'a [String],
    },
}

/// Discards every event (for callers that want only the report).
///
/// ```
/// # use migrate_runtime::ops::{OpEvent, quiet};
/// let mut events = quiet();
/// events(OpEvent::SealedRecovered(&[]));
/// ```
pub fn quiet() -> impl FnMut(OpEvent<'_>) {
    |_| {}
}
