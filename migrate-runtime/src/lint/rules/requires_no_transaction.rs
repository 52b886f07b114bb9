//! `requires-no-transaction`: a statement that cannot run inside a transaction block
//! (`CREATE INDEX CONCURRENTLY`, `VACUUM`, ...) in a migration that runs in one.

use super::{Context, OwnRule, Scope, raw};
use crate::lint::{Raw, Severity};
use crate::model::{NO_TRANSACTION_HELP, needs_no_transaction_in};
use squawk_syntax::SourceFile;

pub(super) const RULE: OwnRule = OwnRule {
    id: "requires-no-transaction",
    severity: Severity::Error,
    summary: "a statement that cannot run in a transaction, in a migration without `-- migrate:no-transaction`",
    scope: Scope::Statements,
    check,
};

fn check(cx: &Context<'_>) -> Vec<Raw> {
    let Some(file) = cx.file else {
        return Vec::new();
    };
    if cx.migration.directives.no_transaction {
        return Vec::new();
    }
    findings(file, "this migration", NO_TRANSACTION_HELP)
}

/// The findings for a file that runs in a transaction (`what`: "this migration", "this
/// down.sql").
pub(crate) fn findings(file: &SourceFile, what: &str, help: &str) -> Vec<Raw> {
    needs_no_transaction_in(file)
        .into_iter()
        .map(|f| {
            raw(
                RULE.id,
                f.start,
                f.end,
                format!(
                    "`{}` cannot run inside a transaction, and {what} runs in one",
                    f.what
                ),
                help,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::lint::tests::{ids, lint_sql};

    #[test]
    fn concurrently_in_a_transactional_migration_is_an_error() {
        assert_eq!(
            ids(&lint_sql(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);\n"
            )),
            ["requires-no-transaction"]
        );
    }

    #[test]
    fn concurrently_in_a_no_transaction_migration_is_clean() {
        assert!(
            lint_sql(
                "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);\n"
            )
            .is_empty()
        );
    }
}
