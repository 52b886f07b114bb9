//! `update-without-backfill`: an `UPDATE` (or `DELETE`) without `WHERE` in a migration that is
//! not a backfill and changes no schema (next to schema changes, `mixed-data-and-ddl` decides,
//! so a statement is reported once; it leaves out tables the migration creates). One statement
//! over a whole table holds its row locks, and bloats it, for as long as it runs; a backfill
//! does the same work in short batches. To keep false positives low, a `WHERE` clause of any
//! kind (a bounded change of a few rows) is not reported.

use super::mixed_data_and_ddl::is_ddl;
use super::{Context, OwnRule, Scope, raw, schemas_in_effect, whole_table_change};
use crate::lint::{Raw, Severity};
use squawk_syntax::ast::{self, AstNode};

pub(super) const RULE: OwnRule = OwnRule {
    id: "update-without-backfill",
    severity: Severity::Warning,
    summary: "an UPDATE or DELETE of a whole table outside a backfill migration",
    scope: Scope::Statements,
    check,
};

fn check(cx: &Context<'_>) -> Vec<Raw> {
    if cx.migration.directives.backfill {
        return Vec::new();
    }
    let stmts: Vec<ast::Stmt> = cx.stmts().collect();
    if stmts.iter().any(is_ddl) {
        return Vec::new();
    }
    stmts
        .iter()
        .zip(schemas_in_effect(&stmts))
        .filter_map(|(s, schema)| {
            let (what, table) = whole_table_change(s, &schema)?;
            let r = s.syntax().text_range();
            Some(raw(
                RULE.id,
                r.start().into(),
                r.end().into(),
                format!("{what} of every row of `{table}` in one statement"),
                "make it a backfill migration (`cargo migrate new --backfill <name>`): the same \
                 change in short batches, resumable, without long row locks",
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::lint::tests::{ids, lint_sql};

    #[test]
    fn a_whole_table_update_points_at_the_backfill_kind() {
        let findings = lint_sql("UPDATE users SET full_name = name;\n");
        assert_eq!(ids(&findings), ["update-without-backfill"]);
        assert_eq!(
            findings[0].message,
            "UPDATE of every row of `public.users` in one statement"
        );
        assert_eq!(
            ids(&lint_sql("DELETE FROM sessions;\n")),
            ["update-without-backfill"]
        );
    }

    #[test]
    fn bounded_changes_new_tables_and_backfills_are_not_reported() {
        assert!(lint_sql("UPDATE users SET flag = true WHERE id = 1;\n").is_empty());
        assert!(
            lint_sql(
                "CREATE TABLE kinds (id bigint PRIMARY KEY, n int);\nUPDATE kinds SET n = 1;\n"
            )
            .is_empty()
        );
        // Next to a schema change `mixed-data-and-ddl` reports it, once.
        assert_eq!(
            ids(&lint_sql(
                "CREATE TABLE kinds (id bigint);\nUPDATE users SET n = 1;\n"
            )),
            ["mixed-data-and-ddl"]
        );
        assert!(
            lint_sql(
                "-- migrate:backfill table=users key=id\nUPDATE users SET n = 1 WHERE id BETWEEN :batch_start AND :batch_end;\n"
            )
            .is_empty()
        );
    }
}
