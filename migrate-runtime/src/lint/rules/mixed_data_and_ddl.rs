//! `mixed-data-and-ddl`: an unbounded data change (`UPDATE`/`DELETE` without `WHERE`,
//! `INSERT ... SELECT`) in the same migration as schema changes. The runbooks require data
//! migrations to be separate: a backfill holds the DDL's locks for as long as it runs. An
//! `UPDATE`/`DELETE` of a table the same migration creates is not reported: its rows are the
//! ones this migration put there, and no one else uses it yet (an `INSERT ... SELECT` into one
//! still is: it reads another table for as long as it runs).

use super::{Context, OwnRule, Scope, created_tables, raw, schemas_in_effect, whole_table_change};
use crate::lint::{Raw, Severity};

use squawk_syntax::ast::{self, AstNode};

pub(super) const RULE: OwnRule = OwnRule {
    id: "mixed-data-and-ddl",
    severity: Severity::Error,
    summary: "an unbounded UPDATE/DELETE or an INSERT ... SELECT in a migration that also changes the schema",
    scope: Scope::Statements,
    check,
};

/// A schema change, as this rule and `update-without-backfill` (which leaves migrations with
/// one to this rule) count them.
pub(super) fn is_ddl(stmt: &ast::Stmt) -> bool {
    let kind = format!("{:?}", stmt.syntax().kind());
    ["CREATE_", "ALTER_", "DROP_", "COMMENT_ON", "TRUNCATE"]
        .iter()
        .any(|p| kind.starts_with(p))
}

fn unbounded_data_change(
    stmt: &ast::Stmt,
    schema: &str,
    created: &[String],
) -> Option<&'static str> {
    if let Some((what, table)) = whole_table_change(stmt, schema) {
        return (!created.contains(&table)).then_some(match what {
            "UPDATE" => "UPDATE without WHERE",
            _ => "DELETE without WHERE",
        });
    }
    match stmt {
        ast::Stmt::Insert(i) => {
            let source = i.insert_source()?.syntax().text().to_string();
            let head = source.trim_start().to_ascii_uppercase();
            (!head.starts_with("VALUES") && !head.starts_with("DEFAULT"))
                .then_some("INSERT ... SELECT")
        }
        _ => None,
    }
}

fn check(cx: &Context<'_>) -> Vec<Raw> {
    let stmts: Vec<ast::Stmt> = cx.stmts().collect();
    if !stmts.iter().any(is_ddl) {
        return Vec::new();
    }
    let created = created_tables(&stmts);
    stmts
        .iter()
        .zip(schemas_in_effect(&stmts))
        .filter_map(|(s, schema)| {
            let what = unbounded_data_change(s, &schema, &created)?;
            let r = s.syntax().text_range();
            Some(raw(
                RULE.id,
                r.start().into(),
                r.end().into(),
                format!("{what} in a migration that also changes the schema"),
                "move the data change into a migration of its own (or a batched backfill job): schema \
                 changes take locks that a long data change would hold for its whole run",
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::lint::tests::{ids, lint_sql};

    #[test]
    fn backfill_next_to_ddl_is_reported() {
        let sql =
            "ALTER TABLE users ADD COLUMN full_name text;\nUPDATE users SET full_name = name;\n";
        assert_eq!(ids(&lint_sql(sql)), ["mixed-data-and-ddl"]);
        let sql = "CREATE TABLE archive (id bigint);\nINSERT INTO archive SELECT id FROM users;\n";
        assert_eq!(ids(&lint_sql(sql)), ["mixed-data-and-ddl"]);
    }

    #[test]
    fn bounded_changes_and_data_only_migrations_are_clean() {
        assert!(
            lint_sql(
                "CREATE TABLE kinds (id bigint PRIMARY KEY);\nINSERT INTO kinds VALUES (1), (2);\n"
            )
            .is_empty()
        );
        assert!(lint_sql("ALTER TABLE users ADD COLUMN flag boolean;\nUPDATE users SET flag = true WHERE id = 1;\n").is_empty());
        // A table the migration creates: its rows are the migration's own.
        assert!(
            lint_sql(
                "CREATE TABLE kinds (id bigint PRIMARY KEY, n int);\nINSERT INTO kinds VALUES (1, 0);\nUPDATE kinds SET n = 1;\nDELETE FROM Kinds;\n"
            )
            .is_empty()
        );
        // Unless it may exist already, or another schema's table of that name is changed.
        for sql in [
            "CREATE TABLE IF NOT EXISTS kinds (id bigint);\nUPDATE kinds SET n = 1;\n",
            "SET search_path = app;\nCREATE TABLE kinds (id bigint);\nUPDATE public.kinds SET n = 1;\n",
        ] {
            assert_eq!(ids(&lint_sql(sql)), ["mixed-data-and-ddl"], "{sql}");
        }
        assert!(
            lint_sql("SET search_path = app;\nCREATE TABLE kinds (id bigint);\nUPDATE app.kinds SET n = 1;\n")
                .is_empty()
        );
        // Another table next to it still is reported.
        assert_eq!(
            ids(&lint_sql(
                "CREATE TABLE kinds (id bigint PRIMARY KEY);\nUPDATE users SET n = 1;\n"
            )),
            ["mixed-data-and-ddl"]
        );
        // Without schema changes, `update-without-backfill` warns instead.
        assert_eq!(
            ids(&lint_sql("UPDATE users SET full_name = name;\n")),
            ["update-without-backfill"]
        );
    }
}
