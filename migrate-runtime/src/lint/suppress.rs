//! Per-statement suppression: `-- migrate:allow(rule-a, rule-b) reason: why it is safe here`
//! on a line before a statement silences those rules for that statement (in the header, before
//! the first statement, also for findings about the whole file). A suppression must give a
//! reason and name real rules; otherwise it is itself a finding (`invalid-suppression`) and
//! silences nothing.

use super::Raw;
use super::config::{alias_hint, is_rule};
use crate::model::SqlFile;
use std::collections::HashMap;

struct Allow {
    /// Byte offset of the comment.
    at: usize,
    rules: Vec<String>,
}

/// Parses the suppressions of a file: the valid ones, and findings for the invalid ones.
fn parse(sql: &str) -> (Vec<Allow>, Vec<Raw>) {
    let mut allows = Vec::new();
    let mut problems = Vec::new();
    let mut offset = 0;
    for line in sql.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim();
        let Some(rest) = trimmed
            .strip_prefix("--")
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix("migrate:"))
        else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix("allow(") else {
            continue;
        };
        let invalid = |message: String| {
            Raw {
            rule: "invalid-suppression".into(),
            message,
            help: "write `-- migrate:allow(<rule>[, <rule>...]) reason: <why this is safe here>` on the line before \
                   the statement"
                .into(),
            start,
            end: start + line.trim_end().len(),
        }
        };
        let Some((list, after)) = rest.split_once(')') else {
            problems.push(invalid("the suppression has no closing parenthesis".into()));
            continue;
        };
        let rules: Vec<String> = list
            .split(',')
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        if rules.is_empty() {
            problems.push(invalid("the suppression names no rule".into()));
            continue;
        }
        if let Some(unknown) = rules.iter().find(|r| !is_rule(r)) {
            problems.push(invalid(format!(
                "`{unknown}` is not a rule{}",
                alias_hint(unknown)
            )));
            continue;
        }
        let reason = after
            .trim()
            .strip_prefix("reason:")
            .map(str::trim)
            .unwrap_or("");
        if reason.is_empty() {
            problems.push(invalid(format!(
                "the suppression of {} gives no reason",
                rules.join(", ")
            )));
            continue;
        }
        allows.push(Allow { at: start, rules });
    }
    (allows, problems)
}

/// Removes the findings a valid suppression covers, and adds findings for invalid ones.
pub(crate) fn apply(file: &SqlFile, raw: Vec<Raw>) -> Vec<Raw> {
    let (allows, mut problems) = parse(&file.sql);
    let ranges: Vec<(usize, usize)> = file
        .statements()
        .map(|s| s.iter().map(|s| (s.start, s.end)).collect())
        .unwrap_or_default();
    // Each suppression covers the first statement that starts after it.
    let mut covered: HashMap<usize, Vec<&str>> = HashMap::new();
    for a in &allows {
        let target = ranges.partition_point(|(start, _)| *start <= a.at);
        covered
            .entry(target)
            .or_default()
            .extend(a.rules.iter().map(String::as_str));
    }
    // A finding belongs to the first statement that ends after its start.
    let mut kept: Vec<Raw> = raw
        .into_iter()
        .filter(|r| {
            let stmt = ranges.partition_point(|(_, end)| *end <= r.start);
            stmt >= ranges.len()
                || !covered
                    .get(&stmt)
                    .is_some_and(|rules| rules.contains(&r.rule.as_str()))
        })
        .collect();
    kept.append(&mut problems);
    kept
}

#[cfg(test)]
mod tests {
    use crate::lint::tests::{ids, lint_migration};

    const DOWN: Option<&str> = Some("SELECT 1;\n");

    #[test]
    fn a_reasoned_suppression_silences_that_rule_for_the_next_statement_only() {
        let sql = "-- migrate:allow(ban-drop-column) reason: unused since v2.3\nALTER TABLE t DROP COLUMN a;\nALTER TABLE t DROP COLUMN b;\n";
        let findings = lint_migration(sql, DOWN);
        assert_eq!(ids(&findings), ["ban-drop-column"]);
        assert_eq!(findings[0].line, 3);
    }

    #[test]
    fn a_suppression_without_reason_is_a_finding_and_silences_nothing() {
        let sql = "-- migrate:allow(ban-drop-column)\nALTER TABLE t DROP COLUMN a;\n";
        let findings = lint_migration(sql, DOWN);
        assert_eq!(ids(&findings), ["invalid-suppression", "ban-drop-column"]);
        assert_eq!(
            findings[0].message,
            "the suppression of ban-drop-column gives no reason"
        );
    }

    #[test]
    fn unknown_rules_and_malformed_suppressions_are_findings() {
        let findings = lint_migration(
            "-- migrate:allow(ban-everything) reason: x\nSELECT 1;\n",
            DOWN,
        );
        assert_eq!(findings[0].message, "`ban-everything` is not a rule");
        let findings = lint_migration(
            "-- migrate:allow(prefer-timestamptz) reason: x\nSELECT 1;\n",
            DOWN,
        );
        assert_eq!(
            findings[0].message,
            "`prefer-timestamptz` is not a rule (squawk's id for it is `prefer-timestamp-tz`)"
        );
        let findings = lint_migration(
            "-- migrate:allow(ban-drop-column reason: x\nSELECT 1;\n",
            DOWN,
        );
        assert_eq!(
            findings[0].message,
            "the suppression has no closing parenthesis"
        );
    }

    #[test]
    fn header_suppressions_cover_file_level_findings() {
        let sql = "-- migrate:allow(missing-down-migration) reason: reverted by restoring the backup\nCREATE TABLE t (id bigint);\n";
        assert!(lint_migration(sql, None).is_empty());
    }
}
