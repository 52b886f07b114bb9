//! Our own rules: the ones squawk cannot see because they need the migration set, the
//! directives or the lock file. One file per rule; adding a rule touches one new file and
//! [`OWN_RULES`].

mod contract_before_backfill;
mod contract_too_soon;
mod empty_migration;
mod missing_down_migration;
mod mixed_data_and_ddl;
mod requires_no_transaction;
mod seed_insert_without_on_conflict;
mod update_without_backfill;

use super::{LintConfig, Raw, Severity};
use crate::Version;
use crate::model::{Migration, MigrationSet};

/// What a rule sees.
pub(crate) struct Context<'a> {
    /// Every migration of the directory.
    pub set: &'a MigrationSet,
    /// The position of the linted migration in `set`.
    pub index: usize,
    /// The linted migration.
    pub migration: &'a Migration,
    /// Versions sealed in the lock file.
    pub sealed: &'a [Version],
    /// The configuration.
    pub config: &'a LintConfig,
    /// The part of the linted migration's `migration.sql` being linted, parsed once for every
    /// rule (a chunk of a large file, with the statements around it that rules look across
    /// to); `None` for [`Scope::File`] rules.
    pub file: Option<&'a squawk_syntax::SourceFile>,
}

impl Context<'_> {
    /// The statements of [`Context::file`].
    pub fn stmts(&self) -> impl Iterator<Item = squawk_syntax::ast::Stmt> + '_ {
        self.file
            .into_iter()
            .flat_map(squawk_syntax::SourceFile::stmts)
    }
}

/// What a rule reads.
///
/// ```
/// use migrate_runtime::lint::{OWN_RULES, Scope};
/// let scope = |id: &str| OWN_RULES.iter().find(|r| r.id == id).map(|r| r.scope);
/// assert_eq!(scope("empty-migration"), Some(Scope::File));
/// assert_eq!(scope("mixed-data-and-ddl"), Some(Scope::Statements));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The statements' syntax trees: run on every chunk of a large file, findings placed in
    /// the chunk's text.
    Statements,
    /// The migration as a whole (its text, statements, directives, down.sql): run once,
    /// findings placed in the file.
    File,
}

/// One of our rules.
#[derive(Debug)]
pub struct OwnRule {
    /// Stable kebab-case id.
    pub id: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// What it checks, for documentation.
    pub summary: &'static str,
    /// What it reads.
    pub scope: Scope,
    pub(crate) check: fn(&Context<'_>) -> Vec<Raw>,
}

/// Our rules, in the order they run.
pub const OWN_RULES: &[OwnRule] = &[
    requires_no_transaction::RULE,
    missing_down_migration::RULE,
    empty_migration::RULE,
    mixed_data_and_ddl::RULE,
    contract_too_soon::RULE,
    contract_before_backfill::RULE,
    update_without_backfill::RULE,
    seed_insert_without_on_conflict::RULE,
];

/// `seed-insert-without-on-conflict` for a seed file.
pub(crate) fn seed_findings(file: &squawk_syntax::SourceFile) -> Vec<Raw> {
    seed_insert_without_on_conflict::findings(file)
}

/// `requires-no-transaction` for any file (a down.sql too).
pub(crate) fn requires_no_transaction_in(
    file: &squawk_syntax::SourceFile,
    what: &str,
    help: &str,
) -> Vec<Raw> {
    requires_no_transaction::findings(file, what, help)
}

/// The findings of our rules of `scope`.
pub(crate) fn run(cx: &Context<'_>, scope: Scope) -> Vec<Raw> {
    OWN_RULES
        .iter()
        .filter(|r| r.scope == scope && cx.config.severity(r.id).is_some())
        .flat_map(|r| (r.check)(cx))
        .collect()
}

/// A finding of rule `id` over `start..end`.
pub(crate) fn raw(
    id: &str,
    start: usize,
    end: usize,
    message: impl Into<String>,
    help: impl Into<String>,
) -> Raw {
    Raw {
        rule: id.into(),
        message: message.into(),
        help: help.into(),
        start,
        end,
    }
}

/// A table name qualified with its schema (`default_schema` when it has none), each part
/// unquoted and case-folded as PostgreSQL compares them: `App.Users` and `app."users"` are the
/// same table, `app.users` and `public.users` are not.
///
/// ```ignore
/// assert_eq!(qualified_name("Users", "public"), "public.users");
/// ```
pub(crate) fn qualified_name(name: &str, default_schema: &str) -> String {
    match name.trim().parse::<crate::QualifiedName>() {
        Ok(q) => format!(
            "{}.{}",
            q.schema.as_ref().map_or(default_schema, |s| s.as_str()),
            q.name.as_str()
        ),
        Err(_) => format!("{default_schema}.{}", normalize_name(name)),
    }
}

/// The schema unqualified names land in after `stmt`, when it is a `SET search_path`.
pub(crate) fn search_path_schema(stmt: &str) -> Option<String> {
    let text = stmt.trim().trim_end_matches(';');
    let lower = text.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("set ")?
        .trim_start()
        .strip_prefix("session ")
        .map_or_else(|| lower["set ".len()..].trim_start(), str::trim_start);
    let value = rest.strip_prefix("search_path")?.trim_start();
    let value = value
        .strip_prefix('=')
        .or_else(|| value.strip_prefix("to "))?
        .trim();
    // Keep the original case of a quoted first entry.
    let offset = text.len() - value.len();
    let first = text[offset..].split(',').next()?.trim();
    let first = first.trim_matches('\'');
    first
        .parse::<crate::Ident>()
        .ok()
        .map(|i| i.as_str().to_string())
}

/// The table an `ALTER TABLE [ONLY] t [*]` changes, as written, without `ONLY` and `*`.
pub(crate) fn altered_table_text(t: &squawk_syntax::ast::TableRelationName) -> String {
    use squawk_syntax::ast::AstNode;
    t.table_name_ref().map_or_else(
        || t.syntax().text().to_string(),
        |n| n.syntax().text().to_string(),
    )
}

/// The table of an `UPDATE [ONLY] t [*]` or `DELETE FROM [ONLY] t [*]`, as written, without
/// `ONLY`, `*` and an alias.
pub(crate) fn relation_text(r: &squawk_syntax::ast::RelationName) -> String {
    use squawk_syntax::ast::AstNode;
    let text = r.relation_name_ref().map_or_else(
        || r.syntax().text().to_string(),
        |n| n.syntax().text().to_string(),
    );
    text.split_whitespace().next().unwrap_or("").to_string()
}

/// The schema unqualified names land in at each of `stmts`: `public`, then whatever the
/// last `SET search_path` before it named first.
pub(crate) fn schemas_in_effect(stmts: &[squawk_syntax::ast::Stmt]) -> Vec<String> {
    use squawk_syntax::ast::AstNode;
    let mut schema = "public".to_string();
    stmts
        .iter()
        .map(|s| {
            let now = schema.clone();
            if let Some(set) = search_path_schema(&s.syntax().text().to_string()) {
                schema = set;
            }
            now
        })
        .collect()
}

/// The tables `stmts` create, qualified as [`qualified_name`] does (following `SET
/// search_path`): no one else uses them yet, so changing every row of one locks nothing the
/// application uses. A `CREATE TABLE IF NOT EXISTS` does not count: the table may be there
/// already, with its rows.
pub(crate) fn created_tables(stmts: &[squawk_syntax::ast::Stmt]) -> Vec<String> {
    use squawk_syntax::ast::{AstNode, Stmt};
    stmts
        .iter()
        .zip(schemas_in_effect(stmts))
        .filter_map(|(s, schema)| match s {
            Stmt::CreateTable(t) if t.if_not_exists().is_none() => t
                .table_name()
                .map(|n| qualified_name(&n.syntax().text().to_string(), &schema)),
            _ => None,
        })
        .collect()
}

/// A change of every row of one table: an `UPDATE` or `DELETE` without `WHERE`, as `("UPDATE",
/// "public.users")`, unqualified names in `schema`; `None` for any other statement.
pub(crate) fn whole_table_change(
    stmt: &squawk_syntax::ast::Stmt,
    schema: &str,
) -> Option<(&'static str, String)> {
    use squawk_syntax::ast::Stmt;
    let (what, table) = match stmt {
        Stmt::Update(u) if u.where_clause_or_current_of().is_none() => {
            ("UPDATE", relation_text(&u.relation_name()?))
        }
        Stmt::Delete(d) if d.where_clause_or_current_of().is_none() => {
            ("DELETE", relation_text(&d.relation_name()?))
        }
        _ => return None,
    };
    Some((what, qualified_name(&table, schema)))
}

/// The unquoted, case-folded last part of a (possibly schema-qualified) SQL name: how
/// PostgreSQL compares names.
pub(crate) fn normalize_name(name: &str) -> String {
    let last = name.trim().rsplit('.').next().unwrap_or("").trim();
    match last.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => last.to_ascii_lowercase(),
    }
}
