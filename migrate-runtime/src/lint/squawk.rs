//! The adapter to squawk's linter: every squawk rule that is on, told whether the migration
//! runs in a transaction (our directive) and the PostgreSQL version.

use super::{LintConfig, Raw};
use squawk_linter::{Linter, LinterSettings, Rule};
use squawk_syntax::{Parse, SourceFile};

/// squawk's findings for one file, told whether it runs in a transaction.
pub(crate) fn lint(
    sql: &str,
    parse: &Parse<SourceFile>,
    config: &LintConfig,
    in_transaction: bool,
) -> Vec<Raw> {
    let mut raw = Vec::new();
    if let Some(e) = parse.errors().first() {
        let at: usize = e.range().start().into();
        raw.push(Raw {
            rule: "syntax-error".into(),
            message: format!("the PostgreSQL parser cannot read this: {}", e.message()),
            help: "fix the SQL; statements the parser cannot read are not linted".into(),
            start: at,
            end: (at + 1).min(sql.len()).max(at),
        });
    }
    let rules: Vec<Rule> = enabled_rules(config);
    let mut linter = Linter::from(rules);
    linter.settings = LinterSettings {
        pg_version: config
            .pg_version
            .as_deref()
            .and_then(|v| v.parse().ok())
            .unwrap_or_default(),
        // A transactional file is known to run in a transaction.
        assume_in_transaction: in_transaction,
    };
    for v in linter.lint(parse, sql) {
        let rule = v.code.to_string();
        if rule == "adding-field-with-default"
            && is_virtual_generated(
                parse,
                v.text_range.start().into(),
                v.text_range.end().into(),
            )
        {
            continue;
        }
        let help = match (help_for(&rule), v.help) {
            (Some(ours), _) => ours.to_string(),
            (None, Some(theirs)) => theirs,
            (None, None) => format!("see https://squawkhq.com/docs/{rule}"),
        };
        raw.push(Raw {
            rule,
            message: v.message,
            help,
            start: v.text_range.start().into(),
            end: v.text_range.end().into(),
        });
    }
    raw
}

/// Whether squawk's finding points at a `GENERATED ALWAYS AS (...)` column that is not
/// `STORED`: PostgreSQL 18's virtual columns are computed when read, so adding one rewrites
/// nothing (squawk reports any generated column). Servers before 18 refuse `VIRTUAL`, so this
/// holds whatever the `pg_version` setting says.
fn is_virtual_generated(parse: &Parse<SourceFile>, start: usize, end: usize) -> bool {
    use squawk_syntax::{SyntaxKind, ast::AstNode};
    parse
        .syntax_node()
        .descendants()
        .filter_map(squawk_syntax::ast::GeneratedConstraint::cast)
        .find(|g| {
            let r = g.syntax().text_range();
            usize::from(r.start()) <= start && end <= usize::from(r.end())
        })
        .is_some_and(|g| {
            !g.syntax()
                .descendants_with_tokens()
                .any(|e| matches!(e.kind(), SyntaxKind::STORED_KW | SyntaxKind::IDENTITY_KW))
        })
}

/// The safe alternative (the expand/contract steps), in this tool's terms, for squawk's rules
/// about zero-downtime changes.
fn help_for(rule: &str) -> Option<&'static str> {
    Some(match rule {
        "ban-drop-column" => {
            "expand/contract: first deploy code that no longer reads or writes the column, then drop it in a \
            later migration; once no code uses it, suppress with `-- migrate:allow(ban-drop-column) reason: <why>`"
        }
        "ban-drop-table" => {
            "expand/contract: first deploy code that no longer uses the table (keep a backup or archive \
            it), then drop it in a later migration with `-- migrate:allow(ban-drop-table) reason: <why>`"
        }
        "renaming-column" => {
            "expand/contract: add the new column, deploy code that writes both, backfill in batches, \
            switch reads to the new column, and drop the old one in a later release"
        }
        "renaming-table" => {
            "expand/contract: create the new table (or a view with the new name), write both, backfill, \
            switch reads, and drop the old table in a later release"
        }
        "changing-column-type" => {
            "expand/contract: add a column of the new type, write both, backfill in batches, switch \
            reads, and drop the old column later (only binary-coercible changes such as varchar widening are safe)"
        }
        "adding-required-field" => {
            "add the column nullable (or with a constant default), backfill in batches, then add \
            `CHECK (col IS NOT NULL) NOT VALID`, `VALIDATE CONSTRAINT` it, and `SET NOT NULL`, each in its own migration"
        }
        "adding-not-nullable-field" => {
            "add `CHECK (col IS NOT NULL) NOT VALID`, `VALIDATE CONSTRAINT` it in a separate \
            migration, then `SET NOT NULL` (PostgreSQL 12+ uses the valid check and skips the full scan)"
        }
        "adding-foreign-key-constraint" | "constraint-missing-not-valid" => {
            "add the constraint `NOT VALID` (no scan, \
            brief lock), then `ALTER TABLE ... VALIDATE CONSTRAINT` in a separate migration"
        }
        "require-concurrent-index-creation" => {
            "use `CREATE INDEX CONCURRENTLY IF NOT EXISTS` in a migration that starts \
            with `-- migrate:no-transaction` (a new table's index needs nothing: create it in the same migration)"
        }
        "require-concurrent-index-deletion" => {
            "use `DROP INDEX CONCURRENTLY IF EXISTS` in a migration that starts with \
            `-- migrate:no-transaction`"
        }
        "disallowed-unique-constraint" | "adding-serial-primary-key-field" => {
            "build a unique index with `CREATE UNIQUE \
            INDEX CONCURRENTLY` in a `-- migrate:no-transaction` migration, then `ADD CONSTRAINT ... USING INDEX` in the next"
        }
        "adding-field-with-default" => {
            "add the column without a volatile default, then `SET DEFAULT` separately and \
            backfill existing rows in batches"
        }
        "transaction-nesting" => {
            "the migration already runs in a transaction: remove BEGIN/COMMIT (or start it with \
            `-- migrate:no-transaction` to control transactions yourself)"
        }
        "prefer-robust-stmts" => {
            "this migration runs outside a transaction, and after a failure `apply` resumes by \
            running the failed statement again: make it re-runnable (`IF NOT EXISTS`, `IF EXISTS`)"
        }
        _ => return None,
    })
}

fn enabled_rules(config: &LintConfig) -> Vec<Rule> {
    // Every rule squawk knows; opt-in ones run when the config turns them on.
    enum_iterator::all::<Rule>()
        .filter(|r| config.squawk_enabled(*r))
        .collect()
}
