//! Which rules run and how severe they are: defaults suited to this tool, changed by
//! `[package.metadata.migrate.lint]`.

use super::Severity;
use super::rules::OWN_RULES;
use std::collections::BTreeSet;

pub use crate::project::LintSettings;

/// squawk rules we turn off by default, and why.
pub const OFF_BY_DEFAULT: &[(&str, &str)] = &[
    (
        "require-lock-timeout",
        "the engine sets lock_timeout for every migration",
    ),
    (
        "require-statement-timeout",
        "a statement_timeout would cancel legitimate long index builds",
    ),
    (
        "ban-concurrent-index-creation-in-transaction",
        "replaced by requires-no-transaction, which knows the directive",
    ),
    (
        "prefer-bigint-over-int",
        "a type preference, not a zero-downtime rule (opt in with warn/deny)",
    ),
    ("prefer-bigint-over-smallint", "a type preference (opt in)"),
    ("prefer-identity", "a type preference (opt in)"),
    ("prefer-text-field", "a type preference (opt in)"),
    ("prefer-timestamp-tz", "a type preference (opt in)"),
    ("ban-char-field", "a type preference (opt in)"),
];

/// The resolved lint configuration.
///
/// ```
/// use migrate_runtime::lint::{LintConfig, LintSettings, Severity};
/// let c = LintConfig::from_settings(&LintSettings { allow: vec!["ban-drop-column".into()], ..Default::default() }).unwrap();
/// assert_eq!(c.severity("ban-drop-column"), None);
/// assert_eq!(c.severity("ban-drop-table"), Some(Severity::Error));
/// assert_eq!(c.severity("require-lock-timeout"), None);
/// assert!(LintConfig::from_settings(&LintSettings { deny: vec!["no-such-rule".into()], ..Default::default() }).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintConfig {
    allow: BTreeSet<String>,
    warn: BTreeSet<String>,
    deny: BTreeSet<String>,
    /// PostgreSQL version for squawk's version-dependent rules.
    pub pg_version: Option<String>,
    /// Minimum migrations between creating and dropping a table or column.
    pub contract_after: usize,
}

impl Default for LintConfig {
    fn default() -> Self {
        LintConfig {
            allow: BTreeSet::new(),
            warn: BTreeSet::new(),
            deny: BTreeSet::new(),
            pg_version: None,
            contract_after: 1,
        }
    }
}

/// Whether `id` names a rule (ours or squawk's), spelt as its findings carry it.
///
/// squawk also parses a few other spellings (`prefer-timestamptz` for `prefer-timestamp-tz`),
/// but findings, settings and suppressions are matched by id, so another spelling would
/// silently match nothing: only the id counts.
pub fn is_rule(id: &str) -> bool {
    OWN_RULES.iter().any(|r| r.id == id) || squawk_rule(id).is_some()
}

/// squawk's rule with exactly this id.
fn squawk_rule(id: &str) -> Option<squawk_linter::Rule> {
    enum_iterator::all::<squawk_linter::Rule>().find(|r| r.to_string() == id)
}

/// For another spelling squawk accepts for a rule, ` (squawk's id for it is `...`)`; else
/// nothing.
pub(crate) fn alias_hint(id: &str) -> String {
    match id.parse::<squawk_linter::Rule>() {
        Ok(rule) => format!(" (squawk's id for it is `{rule}`)"),
        Err(_) => String::new(),
    }
}

/// Findings of the linter itself rather than of a rule: always errors, and not configurable.
pub(crate) const LINTER_FINDINGS: &[&str] = &["syntax-error", "invalid-suppression"];

impl LintConfig {
    /// Validates the settings: every rule id must exist; the version must parse.
    pub fn from_settings(s: &LintSettings) -> Result<LintConfig, String> {
        for id in s.allow.iter().chain(&s.warn).chain(&s.deny) {
            if !is_rule(id) {
                return Err(format!(
                    "[package.metadata.migrate.lint]: unknown rule `{id}`{}",
                    alias_hint(id)
                ));
            }
        }
        if let Some(v) = &s.pg_version {
            v.parse::<squawk_linter::Version>()
                .map_err(|e| format!("[package.metadata.migrate.lint] pg_version `{v}`: {e:?}"))?;
        }
        Ok(LintConfig {
            allow: s.allow.iter().cloned().collect(),
            warn: s.warn.iter().cloned().collect(),
            deny: s.deny.iter().cloned().collect(),
            pg_version: s.pg_version.clone(),
            contract_after: s.contract_after.unwrap_or(1),
        })
    }

    /// How a rule reports: `None` when it is off.
    pub fn severity(&self, id: &str) -> Option<Severity> {
        if LINTER_FINDINGS.contains(&id) {
            return Some(Severity::Error);
        }
        if self.allow.contains(id) {
            return None;
        }
        if self.deny.contains(id) {
            return Some(Severity::Error);
        }
        if self.warn.contains(id) {
            return Some(Severity::Warning);
        }
        if let Some(own) = OWN_RULES.iter().find(|r| r.id == id) {
            return Some(own.severity);
        }
        if OFF_BY_DEFAULT.iter().any(|(r, _)| *r == id) {
            return None;
        }
        match id.parse::<squawk_linter::Rule>() {
            Ok(rule) if rule.is_opt_in() => None,
            // squawk's default rules, and any finding we do not know: reported, never lost.
            _ => Some(Severity::Error),
        }
    }

    /// Whether squawk should run this rule at all.
    pub(crate) fn squawk_enabled(&self, rule: squawk_linter::Rule) -> bool {
        self.severity(&rule.to_string()).is_some()
    }
}
