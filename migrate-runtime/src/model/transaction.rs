//! Statements PostgreSQL refuses to run inside a transaction block. Shared by the lint rule
//! `requires-no-transaction` and by `apply`, which refuses such a migration before anything
//! runs unless it says `-- migrate:no-transaction`.

use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{SourceFile, SyntaxKind};

/// What to do about such a statement (shared by the lint rule and `apply`).
pub const NO_TRANSACTION_HELP: &str = "put `-- migrate:no-transaction` at the top of migration.sql: it then runs \
    statement by statement outside a transaction (make each statement re-runnable with IF NOT EXISTS, since a \
    failed run resumes at the failed statement); keep other changes in a separate, transactional migration";

/// One statement that cannot run in a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedsNoTransaction {
    /// Byte offset of the statement in the file.
    pub start: usize,
    /// Byte offset past its end.
    pub end: usize,
    /// What it is, e.g. `CREATE INDEX CONCURRENTLY`.
    pub what: &'static str,
}

/// Finds the statements of `sql` that cannot run inside a transaction block.
///
/// ```
/// use migrate_runtime::model::needs_no_transaction;
/// let found = needs_no_transaction("CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY i ON t (a);\nVACUUM t;");
/// let what: Vec<_> = found.iter().map(|f| f.what).collect();
/// assert_eq!(what, ["CREATE INDEX CONCURRENTLY", "VACUUM"]);
/// ```
pub fn needs_no_transaction(sql: &str) -> Vec<NeedsNoTransaction> {
    in_chunks(sql, super::chunks::CHUNK_BYTES)
}

/// [`needs_no_transaction`], parsing about `chunk_bytes` at a time: a huge file never has one
/// syntax tree of all of it.
fn in_chunks(sql: &str, chunk_bytes: usize) -> Vec<NeedsNoTransaction> {
    let mut found = Vec::new();
    super::statements::each_parsed_chunk(sql, chunk_bytes, |offset, parse| {
        found.extend(needs_no_transaction_in(&parse.tree()).into_iter().map(|f| {
            NeedsNoTransaction {
                start: offset + f.start,
                end: offset + f.end,
                ..f
            }
        }));
    });
    found
}

/// [`needs_no_transaction`] on a file already parsed.
pub fn needs_no_transaction_in(file: &SourceFile) -> Vec<NeedsNoTransaction> {
    let mut found = Vec::new();
    for stmt in file.stmts() {
        let concurrently = || {
            stmt.syntax()
                .descendants_with_tokens()
                .any(|t| t.kind() == SyntaxKind::CONCURRENTLY_KW)
        };
        let what = match &stmt {
            ast::Stmt::CreateIndex(i) if i.concurrently_token().is_some() => {
                "CREATE INDEX CONCURRENTLY"
            }
            ast::Stmt::DropIndex(i) if i.concurrently_token().is_some() => {
                "DROP INDEX CONCURRENTLY"
            }
            ast::Stmt::Reindex(_) if concurrently() => "REINDEX CONCURRENTLY",
            ast::Stmt::AlterTable(t)
                if t.actions()
                    .any(|a| matches!(a, ast::AlterTableAction::DetachPartition(_)))
                    && concurrently() =>
            {
                "DETACH PARTITION CONCURRENTLY"
            }
            ast::Stmt::Vacuum(_) => "VACUUM",
            ast::Stmt::CreateDatabase(_) => "CREATE DATABASE",
            ast::Stmt::DropDatabase(_) => "DROP DATABASE",
            ast::Stmt::CreateTablespace(_) => "CREATE TABLESPACE",
            ast::Stmt::DropTablespace(_) => "DROP TABLESPACE",
            ast::Stmt::AlterSystem(_) => "ALTER SYSTEM",
            _ => continue,
        };
        let range = stmt.syntax().text_range();
        let start = stmt
            .syntax()
            .children_with_tokens()
            .find(|t| !t.kind().is_trivia())
            .map_or(range.start(), |t| t.text_range().start());
        found.push(NeedsNoTransaction {
            start: start.into(),
            end: range.end().into(),
            what,
        });
    }
    found
}

/// The index a `CREATE INDEX CONCURRENTLY` statement builds, as SQL text: its name as written,
/// qualified with the table's schema when the table's name is qualified (an index always lives
/// in its table's schema). `None` for any other statement, or an unnamed index.
///
/// A failed concurrent build leaves an INVALID index behind; `apply` uses this to find and drop
/// it before the statement runs again, since `IF NOT EXISTS` would otherwise skip the rebuild.
///
/// ```
/// use migrate_runtime::model::concurrent_index;
/// assert_eq!(concurrent_index("CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON app.t (a);").as_deref(), Some("app.i"));
/// assert_eq!(concurrent_index("CREATE UNIQUE INDEX CONCURRENTLY \"Users_Key\" ON users (email)").as_deref(), Some("\"Users_Key\""));
/// assert_eq!(concurrent_index("CREATE INDEX i ON t (a)"), None);
/// ```
pub fn concurrent_index(statement: &str) -> Option<String> {
    let file = SourceFile::parse(statement).tree();
    let index = file.stmts().find_map(|s| match s {
        ast::Stmt::CreateIndex(i) if i.concurrently_token().is_some() => Some(i),
        _ => None,
    })?;
    let name = index.index()?.syntax().text().to_string();
    let schema = index
        .table_relation_name()
        .and_then(|t| t.table_name_ref())
        .and_then(|t| t.path_ref())
        .and_then(|p| {
            p.syntax()
                .children()
                .find(|c| c.kind() == SyntaxKind::PATH_REF)
        })
        .map(|q| q.text().to_string());
    Some(match schema {
        Some(schema) => format!("{schema}.{name}"),
        None => name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_index_operations_and_maintenance_statements() {
        let sql = "DROP INDEX CONCURRENTLY IF EXISTS a;\nREINDEX INDEX CONCURRENTLY b;\nALTER SYSTEM SET work_mem = '64MB';\n\
                   ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY;\nCREATE INDEX plain ON t (a);\nREINDEX INDEX c;\nDROP INDEX d;\n";
        let what: Vec<_> = needs_no_transaction(sql).iter().map(|f| f.what).collect();
        assert_eq!(
            what,
            [
                "DROP INDEX CONCURRENTLY",
                "REINDEX CONCURRENTLY",
                "ALTER SYSTEM",
                "DETACH PARTITION CONCURRENTLY"
            ]
        );
    }

    #[test]
    fn ranges_point_at_the_statement_not_its_comments() {
        let sql = "-- index\nCREATE INDEX CONCURRENTLY i ON t (a);";
        let f = &needs_no_transaction(sql)[0];
        assert_eq!(
            &sql[f.start..f.end],
            "CREATE INDEX CONCURRENTLY i ON t (a);"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

        /// A chunk at a time finds what one parse of the whole file finds.
        #[test]
        fn chunked_search_agrees_with_one_parse(
            sql in crate::model::chunks::tests::sql_files(),
            chunk in 1..120usize,
        ) {
            let whole = needs_no_transaction_in(
                &SourceFile::parse(&crate::model::bind_placeholders(&sql)).tree(),
            );
            proptest::prop_assert_eq!(in_chunks(&sql, chunk), whole);
        }
    }
}
