//! `contract-too-soon`: dropping a table or column created in the same migration, in a migration
//! that is not sealed yet (the same release), or fewer than `contract_after` migrations ago.
//! Expand and contract must be separate deploys: old code keeps using what the expand added
//! until the code that stops using it is deployed.

use super::{
    Context, OwnRule, Scope, altered_table_text, normalize_name, qualified_name, raw,
    search_path_schema,
};
use crate::lint::{Raw, Severity};
use squawk_syntax::SourceFile;
use squawk_syntax::ast::{self, AstNode};
use std::collections::HashSet;

pub(super) const RULE: OwnRule = OwnRule {
    id: "contract-too-soon",
    severity: Severity::Error,
    summary: "dropping a table or column created in the same release, or fewer than `contract_after` migrations ago",
    scope: Scope::Statements,
    check,
};

#[derive(PartialEq, Eq, Hash)]
enum Thing {
    Table(String),
    Column(String, String),
}

/// The table an `ALTER TABLE` changes, qualified.
fn altered_table(t: &ast::AlterTable, schema: &str) -> Option<String> {
    t.table_relation_name()
        .map(|n| qualified_name(&altered_table_text(&n), schema))
}

/// The schema unqualified names land in: `public`, until a `SET search_path` of the
/// migration says otherwise.
struct SearchPath(String);

impl SearchPath {
    fn new() -> SearchPath {
        SearchPath("public".into())
    }

    fn follow(&mut self, stmt: &ast::Stmt) {
        if let ast::Stmt::Set(_) = stmt
            && let Some(schema) = search_path_schema(&stmt.syntax().text().to_string())
        {
            self.0 = schema;
        }
    }
}

/// Tables and columns a migration creates.
fn created(stmts: impl Iterator<Item = ast::Stmt>) -> HashSet<Thing> {
    let mut out = HashSet::new();
    let mut path = SearchPath::new();
    for stmt in stmts {
        path.follow(&stmt);
        match stmt {
            ast::Stmt::CreateTable(t) => {
                let Some(table) = t
                    .table_name()
                    .map(|n| qualified_name(&n.syntax().text().to_string(), &path.0))
                else {
                    continue;
                };
                for arg in t.table_arg_list().into_iter().flat_map(|l| l.args()) {
                    if let ast::TableArg::Column(c) = arg
                        && let Some(name) = c.name()
                    {
                        out.insert(Thing::Column(
                            table.clone(),
                            normalize_name(&name.syntax().text().to_string()),
                        ));
                    }
                }
                out.insert(Thing::Table(table));
            }
            ast::Stmt::AlterTable(t) => {
                let Some(table) = altered_table(&t, &path.0) else {
                    continue;
                };
                for action in t.actions() {
                    if let ast::AlterTableAction::AddColumn(c) = action
                        && let Some(name) = c.column_name()
                    {
                        out.insert(Thing::Column(
                            table.clone(),
                            normalize_name(&name.syntax().text().to_string()),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn check(cx: &Context<'_>) -> Vec<Raw> {
    let mut findings = Vec::new();
    // The earliest migration (at or before this one) that is "too recent" to contract.
    let window_start = cx
        .index
        .saturating_sub(cx.config.contract_after.saturating_sub(1));
    // What each migration up to this one creates, parsed once (newest first) and only when
    // something is dropped.
    let created_by: std::cell::OnceCell<Vec<(usize, HashSet<Thing>)>> = std::cell::OnceCell::new();
    let recent = |thing: &Thing| -> Option<String> {
        let created_by = created_by.get_or_init(|| {
            (0..=cx.index)
                .rev()
                .map(|i| {
                    let things = if i == cx.index {
                        created(cx.stmts())
                    } else {
                        created(
                            SourceFile::parse(&cx.set.migrations[i].up.sql)
                                .tree()
                                .stmts(),
                        )
                    };
                    (i, things)
                })
                .collect()
        });
        for (position, things) in created_by {
            if !things.contains(thing) {
                continue;
            }
            let (position, m) = (*position, &cx.set.migrations[*position]);
            if m.version == cx.migration.version {
                return Some("in this same migration".into());
            }
            if !cx.sealed.contains(&m.version) {
                return Some(format!(
                    "in {}, which is not sealed yet (the same release)",
                    m.folder()
                ));
            }
            if position >= window_start {
                return Some(format!(
                    "in {}, {} migration(s) ago (contract_after = {})",
                    m.folder(),
                    cx.index - position,
                    cx.config.contract_after
                ));
            }
            return None;
        }
        None
    };
    let mut path = SearchPath::new();
    for stmt in cx.stmts() {
        path.follow(&stmt);
        match &stmt {
            ast::Stmt::DropTable(d) => {
                for name in d.table_name_refs() {
                    let table = qualified_name(&name.syntax().text().to_string(), &path.0);
                    if let Some(when) = recent(&Thing::Table(table.clone())) {
                        let r = d.syntax().text_range();
                        findings.push(report(
                            r.start().into(),
                            r.end().into(),
                            &format!("table `{table}`"),
                            &when,
                        ));
                    }
                }
            }
            ast::Stmt::AlterTable(t) => {
                let Some(table) = altered_table(t, &path.0) else {
                    continue;
                };
                for action in t.actions() {
                    if let ast::AlterTableAction::DropColumn(c) = action
                        && let Some(col) = c.column_name_ref()
                    {
                        let col = normalize_name(&col.syntax().text().to_string());
                        if let Some(when) = recent(&Thing::Column(table.clone(), col.clone())) {
                            let r = c.syntax().text_range();
                            findings.push(report(
                                r.start().into(),
                                r.end().into(),
                                &format!("column `{table}.{col}`"),
                                &when,
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    findings
}

fn report(start: usize, end: usize, what: &str, when: &str) -> Raw {
    raw(
        RULE.id,
        start,
        end,
        format!("dropping {what}, which was created {when}"),
        "expand and contract are separate deploys: ship the expand, deploy code that stops using it, and drop it \
         in a later release",
    )
}

#[cfg(test)]
mod tests {
    use crate::lint::tests::{ids_with_allow, lint_set};

    const DROP: &str =
        "-- migrate:allow(ban-drop-column) reason: test\nALTER TABLE users DROP COLUMN nickname;\n";

    #[test]
    fn dropping_a_column_added_in_the_same_release_is_reported() {
        let migrations = [
            (
                "create",
                "CREATE TABLE users (id bigint);\nALTER TABLE users ADD COLUMN nickname text;\n",
            ),
            ("drop", DROP),
        ];
        assert_eq!(
            ids_with_allow(&lint_set(&migrations, &[], 1)),
            ["contract-too-soon"]
        );
    }

    #[test]
    fn schema_qualified_names_match_their_table_and_only_it() {
        let same = [
            (
                "create",
                "CREATE TABLE app.\"Users\" (id bigint, nickname text);\n",
            ),
            (
                "drop",
                "-- migrate:allow(ban-drop-column) reason: test\nSET search_path = app;\nALTER TABLE \"Users\" DROP COLUMN nickname;\n",
            ),
        ];
        assert_eq!(
            ids_with_allow(&lint_set(&same, &[], 1)),
            ["contract-too-soon"]
        );
        let qualified = [
            ("create", "CREATE TABLE users (id bigint, nickname text);\n"),
            (
                "drop",
                "-- migrate:allow(ban-drop-column) reason: test\nALTER TABLE PUBLIC.users DROP COLUMN nickname;\n",
            ),
        ];
        assert_eq!(
            ids_with_allow(&lint_set(&qualified, &[], 1)),
            ["contract-too-soon"]
        );
        let other_schema = [
            (
                "create",
                "CREATE TABLE app.users (id bigint, nickname text);\n",
            ),
            ("drop", DROP),
        ];
        assert!(
            lint_set(&other_schema, &[], 1).is_empty(),
            "public.users is another table"
        );
    }

    #[test]
    fn dropping_after_the_expand_shipped_is_clean_unless_too_few_migrations_apart() {
        let migrations = [
            ("create", "CREATE TABLE users (id bigint, nickname text);\n"),
            ("other", "CREATE TABLE x (id bigint);\n"),
            ("drop", DROP),
        ];
        assert!(lint_set(&migrations, &[0, 1], 1).is_empty());
        assert_eq!(
            ids_with_allow(&lint_set(&migrations, &[0, 1], 3)),
            ["contract-too-soon"]
        );
    }
}
