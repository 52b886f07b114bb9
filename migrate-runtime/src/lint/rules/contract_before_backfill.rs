//! `contract-before-backfill`: a contract (`SET NOT NULL`, `DROP COLUMN`) of a column that a
//! backfill writes, while that backfill is not sealed yet (the same release). The backfill
//! must have run everywhere before its column is contracted: `SET NOT NULL` would fail on the
//! rows it has not reached yet, `DROP COLUMN` would throw its work away.

use super::{
    Context, OwnRule, Scope, altered_table_text, normalize_name, qualified_name, raw,
    relation_text, search_path_schema,
};
use crate::lint::{Raw, Severity};
use crate::model::bind_placeholders;
use squawk_syntax::SourceFile;
use squawk_syntax::ast::{self, AstNode};

pub(super) const RULE: OwnRule = OwnRule {
    id: "contract-before-backfill",
    severity: Severity::Error,
    summary: "SET NOT NULL or DROP COLUMN of a column an unsealed backfill writes",
    scope: Scope::Statements,
    check,
};

/// `(table, column)` pairs a backfill's statement writes: the `SET` targets of an `UPDATE`,
/// the column list of an `INSERT ... SELECT`.
fn written(sql: &str) -> Vec<(String, String)> {
    let file = SourceFile::parse(&bind_placeholders(sql)).tree();
    let mut out = Vec::new();
    for stmt in file.stmts() {
        let (table, targets) = match &stmt {
            ast::Stmt::Update(u) => (
                u.relation_name().map(|n| relation_text(&n)),
                u.set_clause().map(|s| s.syntax().clone()),
            ),
            ast::Stmt::Insert(i) => (
                i.relation_name_ref().map(|n| n.syntax().text().to_string()),
                i.column_target_list().map(|l| l.syntax().clone()),
            ),
            _ => continue,
        };
        let (Some(table), Some(targets)) = (table, targets) else {
            continue;
        };
        // `UPDATE t AS x`: the relation's text holds only the name.
        let table = qualified_name(table.split_whitespace().next().unwrap_or(""), "public");
        for target in targets.descendants().filter_map(ast::ColumnTarget::cast) {
            if let Some(name) = target.name() {
                out.push((
                    table.clone(),
                    normalize_name(&name.syntax().text().to_string()),
                ));
            }
        }
    }
    out
}

fn check(cx: &Context<'_>) -> Vec<Raw> {
    // Backfills before this migration that are not sealed yet, with what they write.
    let backfills: Vec<(String, Vec<(String, String)>)> = cx.set.migrations[..cx.index]
        .iter()
        .filter(|m| m.directives.backfill && !cx.sealed.contains(&m.version))
        .map(|m| (m.folder(), written(&m.up.sql)))
        .collect();
    if backfills.is_empty() {
        return Vec::new();
    }
    let mut findings = Vec::new();
    // Unqualified names land in `public`, until a `SET search_path` says otherwise.
    let mut schema = String::from("public");
    for stmt in cx.stmts() {
        if let ast::Stmt::Set(_) = &stmt
            && let Some(s) = search_path_schema(&stmt.syntax().text().to_string())
        {
            schema = s;
        }
        let ast::Stmt::AlterTable(t) = stmt else {
            continue;
        };
        let Some(table) = t
            .table_relation_name()
            .map(|n| qualified_name(&altered_table_text(&n), &schema))
        else {
            continue;
        };
        for action in t.actions() {
            let (column, what) = match &action {
                ast::AlterTableAction::DropColumn(c) => (c.column_name_ref(), "DROP COLUMN"),
                ast::AlterTableAction::AlterColumn(c)
                    if matches!(c.option(), Some(ast::AlterColumnOption::SetNotNull(_))) =>
                {
                    (c.column_name_ref(), "SET NOT NULL")
                }
                _ => continue,
            };
            let Some(column) = column.map(|c| normalize_name(&c.syntax().text().to_string()))
            else {
                continue;
            };
            let pair = (table.clone(), column.clone());
            if let Some((folder, _)) = backfills.iter().find(|(_, w)| w.contains(&pair)) {
                let r = action.syntax().text_range();
                findings.push(raw(
                    RULE.id,
                    r.start().into(),
                    r.end().into(),
                    format!(
                        "{what} of `{table}.{column}`, which the backfill {folder} writes and \
                         which is not sealed yet (the same release)"
                    ),
                    "contract in a later release, once the backfill has run everywhere: ship the \
                     expand and the backfill, then the contract",
                ));
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use crate::lint::tests::{ids_with_allow, lint_set};

    const FILL: &str = "-- migrate:backfill table=users key=id\nUPDATE users SET display_name = email \
                        WHERE id BETWEEN :batch_start AND :batch_end;\n";

    #[test]
    fn contracting_what_an_unsealed_backfill_writes_is_an_error() {
        for contract in [
            "ALTER TABLE users ALTER COLUMN display_name SET NOT NULL;\n",
            "-- migrate:allow(ban-drop-column) reason: test\nALTER TABLE users DROP COLUMN display_name;\n",
        ] {
            let findings = lint_set(&[("fill", FILL), ("contract", contract)], &[], 1);
            assert!(
                ids_with_allow(&findings).contains(&"contract-before-backfill"),
                "{contract}: {findings:?}"
            );
        }
        let findings = lint_set(
            &[
                ("fill", FILL),
                (
                    "contract",
                    "ALTER TABLE users ALTER COLUMN display_name SET NOT NULL;\n",
                ),
            ],
            &[],
            1,
        );
        let f = findings
            .iter()
            .find(|f| f.rule == "contract-before-backfill")
            .unwrap();
        assert_eq!(
            f.message,
            "SET NOT NULL of `public.users.display_name`, which the backfill 20261121090000_fill \
             writes and which is not sealed yet (the same release)"
        );
    }

    #[test]
    fn sealed_backfills_and_other_columns_are_fine() {
        let contract = "ALTER TABLE users ALTER COLUMN display_name SET NOT NULL;\n";
        let sealed = lint_set(&[("fill", FILL), ("contract", contract)], &[0], 1);
        assert!(
            !ids_with_allow(&sealed).contains(&"contract-before-backfill"),
            "{sealed:?}"
        );
        let other = lint_set(
            &[
                ("fill", FILL),
                (
                    "contract",
                    "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n",
                ),
            ],
            &[],
            1,
        );
        assert!(
            !ids_with_allow(&other).contains(&"contract-before-backfill"),
            "{other:?}"
        );
    }
}
