//! `seed-insert-without-on-conflict`: a plain `INSERT` in a seed file. Seeds are idempotent by
//! contract (seeding twice must be harmless), so every `INSERT` says what happens to a row that
//! is already there. Seed files only: it finds nothing in migrations.

use super::{Context, OwnRule, Scope, raw};
use crate::lint::{Raw, Severity};
use squawk_syntax::ast::{self, AstNode};

pub(super) const RULE: OwnRule = OwnRule {
    id: "seed-insert-without-on-conflict",
    severity: Severity::Warning,
    summary: "an INSERT without ON CONFLICT in a seed file (seeds must be safe to run twice)",
    scope: Scope::Statements,
    check,
};

/// Migrations: nothing (the rule is about seed files, linted by [`findings`]).
fn check(_: &Context<'_>) -> Vec<Raw> {
    Vec::new()
}

/// The plain `INSERT`s of a seed file.
pub(crate) fn findings(file: &squawk_syntax::SourceFile) -> Vec<Raw> {
    file.stmts()
        .filter_map(|s| match s {
            ast::Stmt::Insert(i) if i.on_conflict_clause().is_none() => {
                let r = i.syntax().text_range();
                Some(raw(
                    RULE.id,
                    r.start().into(),
                    r.end().into(),
                    "INSERT without ON CONFLICT in a seed file: seeding twice fails or duplicates rows",
                    "add `ON CONFLICT DO NOTHING` (or `ON CONFLICT (...) DO UPDATE SET ...`), so the \
                     seeds can run again on a seeded database",
                ))
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::findings;

    fn ids(sql: &str) -> usize {
        findings(&squawk_syntax::SourceFile::parse(sql).tree()).len()
    }

    #[test]
    fn a_plain_insert_is_reported_and_one_with_on_conflict_is_not() {
        assert_eq!(ids("INSERT INTO users VALUES (1, 'a');\n"), 1);
        assert_eq!(
            ids("INSERT INTO users VALUES (1, 'a') ON CONFLICT DO NOTHING;\n"),
            0
        );
        assert_eq!(
            ids(
                "INSERT INTO users (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET id = 1;\nUPDATE users SET id = 2;\n"
            ),
            0
        );
    }
}
