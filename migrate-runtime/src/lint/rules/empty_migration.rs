//! `empty-migration`: migration.sql has no statements (only comments), typically a draft from
//! `cargo migrate new` that was never written. A Rust backfill (`-- migrate:backfill ... rust`)
//! holds no statement on purpose: its batches run registered code.

use super::{Context, OwnRule, Scope, raw};
use crate::lint::{Raw, Severity};

pub(super) const RULE: OwnRule = OwnRule {
    id: "empty-migration",
    severity: Severity::Error,
    summary: "migration.sql has no statements",
    scope: Scope::File,
    check,
};

fn check(cx: &Context<'_>) -> Vec<Raw> {
    let up = &cx.migration.up;
    if up.is_rust_backfill() || !up.statements().is_ok_and(<[_]>::is_empty) {
        return Vec::new();
    }
    let end = up.sql.lines().next().map_or(0, str::len);
    vec![raw(
        RULE.id,
        0,
        end,
        "migration.sql has no statements",
        "write the migration's SQL, or delete the folder",
    )]
}

#[cfg(test)]
mod tests {
    use crate::lint::tests::{ids, lint_migration};

    #[test]
    fn comment_only_migration_is_reported() {
        assert_eq!(
            ids(&lint_migration(
                "-- Migration 20261121090000_x\n-- Write the up migration below.\n",
                Some("SELECT 1;\n")
            )),
            ["empty-migration"]
        );
        assert!(lint_migration("SELECT 1;\n", Some("SELECT 1;\n")).is_empty());
        let rust = "-- migrate:backfill table=users key=id rust\n-- The code: src/fill.rs.\n";
        assert!(lint_migration(rust, Some(rust)).is_empty());
    }
}
