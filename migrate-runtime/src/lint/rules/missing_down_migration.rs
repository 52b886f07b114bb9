//! `missing-down-migration`: no down.sql (or one with no statements) without
//! `-- migrate:irreversible`. Every migration is reversible, or says why it is not. A down.sql
//! that is a Rust backfill has no statement on purpose (its batches run registered code).

use super::{Context, OwnRule, Scope, raw};
use crate::lint::{Raw, Severity};

pub(super) const RULE: OwnRule = OwnRule {
    id: "missing-down-migration",
    severity: Severity::Error,
    summary: "no down.sql, or an empty one, without `-- migrate:irreversible`",
    scope: Scope::File,
    check,
};

fn check(cx: &Context<'_>) -> Vec<Raw> {
    let m = cx.migration;
    if m.directives.irreversible {
        return Vec::new();
    }
    let end = m.up.sql.lines().next().map_or(0, str::len);
    let message = match &m.down {
        None => "there is no down.sql, and the migration is not marked irreversible",
        Some(d) if !d.is_rust_backfill() && d.statements().is_ok_and(<[_]>::is_empty) => {
            "down.sql has no statements: `cargo migrate down` would change nothing"
        }
        Some(_) => return Vec::new(),
    };
    vec![raw(
        RULE.id,
        0,
        end,
        message,
        "write down.sql so the migration can be reverted (and test it), or, if it cannot be, put \
         `-- migrate:irreversible: <why>` at the top of migration.sql and delete down.sql",
    )]
}

#[cfg(test)]
mod tests {
    use crate::lint::tests::{ids, lint_migration};

    #[test]
    fn missing_or_empty_down_is_reported_irreversible_is_not() {
        assert_eq!(
            ids(&lint_migration("CREATE TABLE t (id bigint);\n", None)),
            ["missing-down-migration"]
        );
        assert_eq!(
            ids(&lint_migration(
                "CREATE TABLE t (id bigint);\n",
                Some("-- nothing yet\n")
            )),
            ["missing-down-migration"]
        );
        let rust = "-- migrate:backfill table=t key=id rust\n";
        assert!(lint_migration(rust, Some(rust)).is_empty());
        assert!(
            lint_migration(
                "-- migrate:irreversible: data\nCREATE TABLE t (id bigint);\n",
                None
            )
            .is_empty()
        );
        assert!(
            lint_migration("CREATE TABLE t (id bigint);\n", Some("DROP TABLE t;\n")).is_empty()
        );
    }
}
