//! Our own rules: the ones squawk cannot see because they need the migration set, the
//! directives or the lock file. One file per rule; adding a rule touches one new file and
//! [`OWN_RULES`].

mod contract_too_soon;
mod empty_migration;
mod missing_down_migration;
mod mixed_data_and_ddl;
mod requires_no_transaction;

use super::{LintConfig, Raw, Severity};
use crate::Version;
use crate::model::{Migration, MigrationSet};

/// What a rule sees.
pub(crate) struct Context<'a> {
    /// Every migration of the directory.
    pub set: &'a MigrationSet,
    /// The position of the linted migration in `set`.
    pub index: usize,
    /// The linted migration.
    pub migration: &'a Migration,
    /// Versions sealed in the lock file.
    pub sealed: &'a [Version],
    /// The configuration.
    pub config: &'a LintConfig,
    /// The linted migration's `migration.sql`, parsed once for every rule.
    pub file: &'a squawk_syntax::SourceFile,
}

/// One of our rules.
#[derive(Debug)]
pub struct OwnRule {
    /// Stable kebab-case id.
    pub id: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// What it checks, for documentation.
    pub summary: &'static str,
    pub(crate) check: fn(&Context<'_>) -> Vec<Raw>,
}

/// Our rules, in the order they run.
pub const OWN_RULES: &[OwnRule] = &[
    requires_no_transaction::RULE,
    missing_down_migration::RULE,
    empty_migration::RULE,
    mixed_data_and_ddl::RULE,
    contract_too_soon::RULE,
];

/// `requires-no-transaction` for any file (a down.sql too).
pub(crate) fn requires_no_transaction_in(
    file: &squawk_syntax::SourceFile,
    what: &str,
    help: &str,
) -> Vec<Raw> {
    requires_no_transaction::findings(file, what, help)
}

pub(crate) fn run(cx: &Context<'_>) -> Vec<Raw> {
    OWN_RULES
        .iter()
        .filter(|r| cx.config.severity(r.id).is_some())
        .flat_map(|r| (r.check)(cx))
        .collect()
}

/// A finding of rule `id` over `start..end`.
pub(crate) fn raw(
    id: &str,
    start: usize,
    end: usize,
    message: impl Into<String>,
    help: impl Into<String>,
) -> Raw {
    Raw {
        rule: id.into(),
        message: message.into(),
        help: help.into(),
        start,
        end,
    }
}

/// The unquoted, case-folded last part of a (possibly schema-qualified) SQL name: how
/// PostgreSQL compares names.
pub(crate) fn normalize_name(name: &str) -> String {
    let last = name.trim().rsplit('.').next().unwrap_or("").trim();
    match last.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => last.to_ascii_lowercase(),
    }
}
