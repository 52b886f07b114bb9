//! `update-without-backfill`: an `UPDATE` (or `DELETE`) without `WHERE` in a migration that is
//! not a backfill and changes no schema (next to schema changes, `mixed-data-and-ddl` reports
//! it). One statement over a whole table holds its row locks, and bloats it, for as long as it
//! runs; a backfill does the same work in short batches. To keep false positives low, a
//! `WHERE` clause of any kind (a bounded change of a few rows) or a table created in the same
//! migration (no one else uses it yet) is not reported.

use super::{Context, OwnRule, Scope, qualified_name, raw, relation_text};
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
    if stmts
        .iter()
        .any(|s| crate::model::ddl_kind(s).is_some() && !matches!(s, ast::Stmt::CreateTable(_)))
    {
        return Vec::new();
    }
    let created: Vec<String> = stmts
        .iter()
        .filter_map(|s| match s {
            ast::Stmt::CreateTable(t) => t
                .table_name()
                .map(|n| qualified_name(&n.syntax().text().to_string(), "public")),
            _ => None,
        })
        .collect();
    stmts
        .iter()
        .filter_map(|s| {
            let (what, table) = match s {
                ast::Stmt::Update(u) if u.where_clause_or_current_of().is_none() => {
                    ("UPDATE", relation_text(&u.relation_name()?))
                }
                ast::Stmt::Delete(d) if d.where_clause_or_current_of().is_none() => {
                    ("DELETE", relation_text(&d.relation_name()?))
                }
                _ => return None,
            };
            let table = qualified_name(table.split_whitespace().next().unwrap_or(""), "public");
            if created.contains(&table) {
                return None;
            }
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
        let new_table = lint_sql(
            "CREATE TABLE kinds (id bigint PRIMARY KEY, n int);\nUPDATE kinds SET n = 1;\n",
        );
        assert!(
            !ids(&new_table).contains(&"update-without-backfill"),
            "{new_table:?}"
        );
        assert!(
            lint_sql(
                "-- migrate:backfill table=users key=id\nUPDATE users SET n = 1 WHERE id BETWEEN :batch_start AND :batch_end;\n"
            )
            .is_empty()
        );
    }
}
