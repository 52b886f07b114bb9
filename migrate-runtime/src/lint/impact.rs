//! The impact of each statement of a migration, from its kind (read with squawk's parser, as
//! the lint rules are): the lock it takes on the table it touches, and whether it rewrites the
//! table or scans it. `apply --dry-run` adds each table's size and estimated rows.
//!
//! The levels are PostgreSQL's (see "Explicit Locking" in its manual); where a statement's
//! effect depends on things the text does not show (a type change that happens to be
//! binary-coercible), the stronger effect is reported.
//!
//! ```
//! use migrate_runtime::lint::impact::{Effect, LockLevel, impact};
//! let found = impact("CREATE INDEX CONCURRENTLY users_email ON users (email);\nALTER TABLE users ALTER COLUMN id TYPE bigint;\n");
//! assert_eq!(found[0].lock, Some(LockLevel::ShareUpdateExclusive));
//! assert_eq!((found[0].table.as_deref(), found[0].effect), (Some("users"), Effect::Scan));
//! assert_eq!((found[1].lock, found[1].effect), (Some(LockLevel::AccessExclusive), Effect::Rewrite));
//! assert_eq!(found[1].line, 2);
//! ```

use squawk_syntax::ast::{self, AstNode};

/// A table lock level, weakest first.
///
/// ```
/// use migrate_runtime::lint::impact::LockLevel;
/// assert_eq!(LockLevel::ShareUpdateExclusive.as_str(), "SHARE UPDATE EXCLUSIVE");
/// assert!(LockLevel::Share.blocks_writes() && !LockLevel::Share.blocks_reads());
/// assert!(LockLevel::AccessExclusive > LockLevel::RowExclusive);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum LockLevel {
    /// `SELECT`: conflicts only with ACCESS EXCLUSIVE.
    #[serde(rename = "ACCESS SHARE")]
    AccessShare,
    /// `SELECT ... FOR UPDATE`.
    #[serde(rename = "ROW SHARE")]
    RowShare,
    /// `INSERT`, `UPDATE`, `DELETE`, `MERGE`: blocks index builds and table changes, not
    /// reads or other writes.
    #[serde(rename = "ROW EXCLUSIVE")]
    RowExclusive,
    /// `CREATE INDEX CONCURRENTLY`, `VALIDATE CONSTRAINT`, `ANALYZE`: reads and writes go on.
    #[serde(rename = "SHARE UPDATE EXCLUSIVE")]
    ShareUpdateExclusive,
    /// `CREATE INDEX`: blocks writes, not reads.
    #[serde(rename = "SHARE")]
    Share,
    /// `ADD FOREIGN KEY`, `CREATE TRIGGER`: blocks writes, not reads.
    #[serde(rename = "SHARE ROW EXCLUSIVE")]
    ShareRowExclusive,
    /// `REFRESH MATERIALIZED VIEW CONCURRENTLY`: blocks writes.
    #[serde(rename = "EXCLUSIVE")]
    Exclusive,
    /// Most `ALTER TABLE`, `DROP`, `TRUNCATE`, `VACUUM FULL`: blocks everything, reads too.
    #[serde(rename = "ACCESS EXCLUSIVE")]
    AccessExclusive,
}

impl LockLevel {
    /// PostgreSQL's name, e.g. `ACCESS EXCLUSIVE`.
    pub fn as_str(self) -> &'static str {
        match self {
            LockLevel::AccessShare => "ACCESS SHARE",
            LockLevel::RowShare => "ROW SHARE",
            LockLevel::RowExclusive => "ROW EXCLUSIVE",
            LockLevel::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockLevel::Share => "SHARE",
            LockLevel::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockLevel::Exclusive => "EXCLUSIVE",
            LockLevel::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// Whether it blocks the application's reads (`SELECT`).
    pub fn blocks_reads(self) -> bool {
        self == LockLevel::AccessExclusive
    }

    /// Whether it blocks the application's writes.
    pub fn blocks_writes(self) -> bool {
        self >= LockLevel::Share
    }
}

/// What a statement does to the table's data, beyond its lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Catalog only (or bounded rows): as fast on a big table as on a small one.
    None,
    /// Reads the whole table (an index build, a constraint check, an unbounded UPDATE or
    /// DELETE), holding its lock meanwhile.
    Scan,
    /// Writes a new copy of the table and its indexes, holding its lock meanwhile.
    Rewrite,
}

/// One statement's impact.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatementImpact {
    /// 1-based statement index in the file.
    pub index: usize,
    /// 1-based line it starts at.
    pub line: usize,
    /// What it is, e.g. `ALTER TABLE ADD COLUMN`.
    pub kind: String,
    /// The lock it takes on `table` (`None`: no lock on an existing table).
    pub lock: Option<LockLevel>,
    /// The table it touches, as written (an index for `DROP INDEX`).
    pub table: Option<String>,
    /// A table this migration (or, in `apply --dry-run`, an earlier one of the same run)
    /// creates: nobody waits for its lock, and its size is zero.
    pub new_table: bool,
    /// Scan or rewrite.
    pub effect: Effect,
}

/// The impact of every statement of `sql` (a whole `migration.sql`).
pub fn impact(sql: &str) -> Vec<StatementImpact> {
    // A backfill's placeholders read as the parameters they are bound as (same offsets).
    let parse = squawk_syntax::SourceFile::parse(&crate::model::bind_placeholders(sql));
    let mut created: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (i, stmt) in parse.tree().stmts().enumerate() {
        let start: usize = stmt.syntax().text_range().start().into();
        let (kind, lock, table, effect) = classify(&stmt);
        if let (ast::Stmt::CreateTable(_), Some(t)) = (&stmt, &table) {
            created.push(t.clone());
        }
        let new_table = table.as_ref().is_some_and(|t| created.contains(t));
        out.push(StatementImpact {
            index: i + 1,
            line: sql[..start.min(sql.len())].matches('\n').count() + 1,
            kind,
            lock,
            table,
            new_table,
            effect,
        });
    }
    out
}

/// A relation name as written, without `ONLY` and `*`.
fn name(node: &impl AstNode) -> String {
    let text = node.syntax().text().to_string();
    let text = text.trim();
    let text = text
        .strip_prefix("ONLY ")
        .or_else(|| text.strip_prefix("only "))
        .unwrap_or(text);
    text.trim_end_matches('*').trim().to_string()
}

/// Upper-cased text with white space collapsed, for keyword checks within one clause.
fn words(node: &impl AstNode) -> String {
    node.syntax()
        .text()
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase()
}

type Classified = (String, Option<LockLevel>, Option<String>, Effect);

fn classify(stmt: &ast::Stmt) -> Classified {
    use Effect::{None as Quick, Rewrite, Scan};
    use LockLevel::*;
    let k = |s: &str| s.to_string();
    match stmt {
        ast::Stmt::AlterTable(t) => {
            let table = t.table_relation_name().map(|n| name(&n));
            let (kind, lock, effect) = alter_table(t);
            (kind, Some(lock), table, effect)
        }
        ast::Stmt::CreateIndex(c) => {
            let table = c.table_relation_name().map(|n| name(&n));
            if c.concurrently_token().is_some() {
                (
                    k("CREATE INDEX CONCURRENTLY"),
                    Some(ShareUpdateExclusive),
                    table,
                    Scan,
                )
            } else {
                (k("CREATE INDEX"), Some(Share), table, Scan)
            }
        }
        ast::Stmt::DropIndex(d) => {
            let index = d.index_refs().next().map(|n| name(&n));
            if d.concurrently_token().is_some() {
                (
                    k("DROP INDEX CONCURRENTLY"),
                    Some(ShareUpdateExclusive),
                    index,
                    Quick,
                )
            } else {
                (k("DROP INDEX"), Some(AccessExclusive), index, Quick)
            }
        }
        ast::Stmt::CreateTable(c) => {
            let table = c.table_name().map(|p| name(&p));
            (k("CREATE TABLE"), Some(AccessExclusive), table, Quick)
        }
        ast::Stmt::DropTable(d) => {
            let table = d.table_name_refs().next().map(|n| name(&n));
            (k("DROP TABLE"), Some(AccessExclusive), table, Quick)
        }
        ast::Stmt::Truncate(t) => {
            let table = t.table_list().and_then(|l| {
                l.syntax()
                    .text()
                    .to_string()
                    .split(',')
                    .next()
                    .map(|s| s.trim().trim_start_matches("ONLY ").to_string())
            });
            (k("TRUNCATE"), Some(AccessExclusive), table, Quick)
        }
        ast::Stmt::Insert(i) => {
            let table = i.relation_name_ref().map(|n| name(&n));
            (k("INSERT"), Some(RowExclusive), table, Quick)
        }
        ast::Stmt::Update(u) => {
            let table = u.relation_name().map(|n| name(&n));
            let effect = if u.where_clause_or_current_of().is_none() {
                Scan
            } else {
                Quick
            };
            (k("UPDATE"), Some(RowExclusive), table, effect)
        }
        ast::Stmt::Delete(d) => {
            let table = d.relation_name().map(|n| name(&n));
            let effect = if d.where_clause_or_current_of().is_none() {
                Scan
            } else {
                Quick
            };
            (k("DELETE"), Some(RowExclusive), table, effect)
        }
        ast::Stmt::Select(_) => (k("SELECT"), Some(AccessShare), None, Quick),
        ast::Stmt::Vacuum(v) => {
            let table = v.table_and_columns_list().map(|l| {
                l.syntax()
                    .text()
                    .to_string()
                    .split(['(', ','])
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string()
            });
            let full = v.full_token().is_some() || words(v).contains("FULL");
            if full {
                (k("VACUUM FULL"), Some(AccessExclusive), table, Rewrite)
            } else {
                (k("VACUUM"), Some(ShareUpdateExclusive), table, Scan)
            }
        }
        other => {
            let w = words(other);
            let kind: String = w.split([' ', '(']).take(2).collect::<Vec<_>>().join(" ");
            if w.starts_with("REFRESH MATERIALIZED VIEW CONCURRENTLY") {
                (
                    k("REFRESH MATERIALIZED VIEW CONCURRENTLY"),
                    Some(Exclusive),
                    None,
                    Rewrite,
                )
            } else if w.starts_with("REFRESH MATERIALIZED VIEW") {
                (
                    k("REFRESH MATERIALIZED VIEW"),
                    Some(AccessExclusive),
                    None,
                    Rewrite,
                )
            } else if w.starts_with("CLUSTER") {
                (k("CLUSTER"), Some(AccessExclusive), None, Rewrite)
            } else if w.starts_with("REINDEX") && w.contains("CONCURRENTLY") {
                (
                    k("REINDEX CONCURRENTLY"),
                    Some(ShareUpdateExclusive),
                    None,
                    Scan,
                )
            } else if w.starts_with("REINDEX") {
                (k("REINDEX"), Some(Share), None, Scan)
            } else if w.starts_with("CREATE TRIGGER") || w.starts_with("CREATE OR REPLACE TRIGGER")
            {
                (k("CREATE TRIGGER"), Some(ShareRowExclusive), None, Quick)
            } else if w.starts_with("ANALYZE") || w.starts_with("ANALYSE") {
                (k("ANALYZE"), Some(ShareUpdateExclusive), None, Scan)
            } else {
                // CREATE FUNCTION, CREATE TYPE, SET, COMMENT ON, GRANT, ...: no table lock
                // that the application's queries wait for.
                (kind, None, None, Quick)
            }
        }
    }
}

/// An `ALTER TABLE`: the strongest lock and effect of its actions.
fn alter_table(t: &ast::AlterTable) -> (String, LockLevel, Effect) {
    let mut kinds = Vec::new();
    let mut lock = LockLevel::ShareUpdateExclusive;
    let mut effect = Effect::None;
    for action in t.actions() {
        let (kind, l, e) = alter_action(&action);
        kinds.push(kind);
        lock = lock.max(l);
        effect = effect.max(e);
    }
    kinds.dedup();
    let kind = if kinds.is_empty() {
        "ALTER TABLE".to_string()
    } else {
        format!("ALTER TABLE {}", kinds.join(", "))
    };
    (kind, lock, effect)
}

fn alter_action(action: &ast::AlterTableAction) -> (&'static str, LockLevel, Effect) {
    use Effect::{None as Quick, Rewrite, Scan};
    use LockLevel::*;
    let w = words(action);
    match action {
        ast::AlterTableAction::AddColumn(_) => {
            // A volatile default or a stored generated column fills every row.
            let volatile = [
                "RANDOM()",
                "CLOCK_TIMESTAMP()",
                "GEN_RANDOM_UUID()",
                "UUID_GENERATE",
                "NEXTVAL(",
            ]
            .iter()
            .any(|f| w.contains(f))
                || w.contains(" SERIAL")
                || w.contains("BIGSERIAL")
                || w.contains("SMALLSERIAL");
            let stored = w.contains("GENERATED") && w.contains("STORED");
            let effect = if volatile || stored { Rewrite } else { Quick };
            ("ADD COLUMN", AccessExclusive, effect)
        }
        ast::AlterTableAction::AddConstraint(_) => {
            let not_valid = w.contains("NOT VALID");
            if w.contains("FOREIGN KEY") || w.contains(" REFERENCES ") {
                let e = if not_valid { Quick } else { Scan };
                ("ADD FOREIGN KEY", ShareRowExclusive, e)
            } else if w.contains("USING INDEX") {
                ("ADD CONSTRAINT USING INDEX", AccessExclusive, Quick)
            } else if w.contains("PRIMARY KEY") || w.contains("UNIQUE") || w.contains("EXCLUDE") {
                ("ADD CONSTRAINT", AccessExclusive, Scan)
            } else {
                let e = if not_valid { Quick } else { Scan };
                ("ADD CHECK", AccessExclusive, e)
            }
        }
        ast::AlterTableAction::ValidateConstraint(_) => {
            ("VALIDATE CONSTRAINT", ShareUpdateExclusive, Scan)
        }
        ast::AlterTableAction::AlterColumn(_) => {
            if w.contains(" TYPE ") || w.contains("SET DATA TYPE") {
                ("ALTER COLUMN TYPE", AccessExclusive, Rewrite)
            } else if w.contains("SET NOT NULL") {
                ("SET NOT NULL", AccessExclusive, Scan)
            } else if w.contains("SET STATISTICS") {
                ("SET STATISTICS", ShareUpdateExclusive, Quick)
            } else {
                ("ALTER COLUMN", AccessExclusive, Quick)
            }
        }
        ast::AlterTableAction::DropColumn(_) => ("DROP COLUMN", AccessExclusive, Quick),
        ast::AlterTableAction::DropConstraint(_) => ("DROP CONSTRAINT", AccessExclusive, Quick),
        ast::AlterTableAction::RenameColumn(_) => ("RENAME COLUMN", AccessExclusive, Quick),
        ast::AlterTableAction::TableRenameTo(_) => ("RENAME", AccessExclusive, Quick),
        ast::AlterTableAction::SetOptions(_) | ast::AlterTableAction::ResetOptions(_) => {
            ("SET (storage parameters)", ShareUpdateExclusive, Quick)
        }
        ast::AlterTableAction::SetTablespace(_) => ("SET TABLESPACE", AccessExclusive, Rewrite),
        ast::AlterTableAction::SetLogged(_) | ast::AlterTableAction::SetUnlogged(_) => {
            ("SET LOGGED/UNLOGGED", AccessExclusive, Rewrite)
        }
        ast::AlterTableAction::SetAccessMethod(_) => {
            ("SET ACCESS METHOD", AccessExclusive, Rewrite)
        }
        ast::AlterTableAction::AttachPartition(_) => {
            ("ATTACH PARTITION", ShareUpdateExclusive, Scan)
        }
        ast::AlterTableAction::DetachPartition(_) => {
            if w.contains("CONCURRENTLY") {
                ("DETACH PARTITION CONCURRENTLY", ShareUpdateExclusive, Quick)
            } else {
                ("DETACH PARTITION", AccessExclusive, Quick)
            }
        }
        ast::AlterTableAction::EnableTrigger(_)
        | ast::AlterTableAction::DisableTrigger(_)
        | ast::AlterTableAction::EnableAlwaysTrigger(_)
        | ast::AlterTableAction::EnableReplicaTrigger(_) => {
            ("ENABLE/DISABLE TRIGGER", ShareRowExclusive, Quick)
        }
        _ => ("ALTER TABLE", AccessExclusive, Quick),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(kind, lock, table, effect)` of each statement.
    fn table(sql: &str) -> Vec<(String, Option<&'static str>, Option<String>, Effect)> {
        impact(sql)
            .into_iter()
            .map(|s| (s.kind, s.lock.map(LockLevel::as_str), s.table, s.effect))
            .collect()
    }

    #[test]
    fn lock_levels_tables_and_effects_by_statement_kind() {
        let sql = "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);
ALTER TABLE users ADD COLUMN nickname text;
ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();
ALTER TABLE ONLY users ALTER COLUMN id TYPE bigint;
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
ALTER TABLE users ADD CONSTRAINT age_ok CHECK (age > 0);
CREATE INDEX users_email_idx ON users (email);
CREATE INDEX CONCURRENTLY users_name_idx ON public.users (name);
DROP INDEX users_email_idx;
DROP INDEX CONCURRENTLY users_name_idx;
UPDATE users SET nickname = name;
UPDATE users SET nickname = name WHERE id = 1;
DELETE FROM users WHERE id < 10;
INSERT INTO users (id) VALUES (1);
TRUNCATE audit_log;
DROP TABLE old_things;
ALTER TABLE users RENAME COLUMN name TO full_name;
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
VACUUM FULL users;
";
        let s = |x: &str| Some(x.to_string());
        use Effect::{None as Quick, Rewrite, Scan};
        let ae = Some("ACCESS EXCLUSIVE");
        assert_eq!(
            table(sql),
            [
                (k("CREATE TABLE"), ae, s("orders"), Quick),
                (k("ALTER TABLE ADD COLUMN"), ae, s("users"), Quick),
                (k("ALTER TABLE ADD COLUMN"), ae, s("users"), Rewrite),
                (k("ALTER TABLE ALTER COLUMN TYPE"), ae, s("users"), Rewrite),
                (k("ALTER TABLE SET NOT NULL"), ae, s("users"), Scan),
                (
                    k("ALTER TABLE ADD FOREIGN KEY"),
                    Some("SHARE ROW EXCLUSIVE"),
                    s("orders"),
                    Quick
                ),
                (
                    k("ALTER TABLE VALIDATE CONSTRAINT"),
                    Some("SHARE UPDATE EXCLUSIVE"),
                    s("orders"),
                    Scan
                ),
                (k("ALTER TABLE ADD CONSTRAINT"), ae, s("users"), Scan),
                (k("ALTER TABLE ADD CHECK"), ae, s("users"), Scan),
                (k("CREATE INDEX"), Some("SHARE"), s("users"), Scan),
                (
                    k("CREATE INDEX CONCURRENTLY"),
                    Some("SHARE UPDATE EXCLUSIVE"),
                    s("public.users"),
                    Scan
                ),
                (k("DROP INDEX"), ae, s("users_email_idx"), Quick),
                (
                    k("DROP INDEX CONCURRENTLY"),
                    Some("SHARE UPDATE EXCLUSIVE"),
                    s("users_name_idx"),
                    Quick
                ),
                (k("UPDATE"), Some("ROW EXCLUSIVE"), s("users"), Scan),
                (k("UPDATE"), Some("ROW EXCLUSIVE"), s("users"), Quick),
                (k("DELETE"), Some("ROW EXCLUSIVE"), s("users"), Quick),
                (k("INSERT"), Some("ROW EXCLUSIVE"), s("users"), Quick),
                (k("TRUNCATE"), ae, s("audit_log"), Quick),
                (k("DROP TABLE"), ae, s("old_things"), Quick),
                (k("ALTER TABLE RENAME COLUMN"), ae, s("users"), Quick),
                (k("CREATE FUNCTION"), None, None, Quick),
                (k("VACUUM FULL"), ae, s("users"), Rewrite),
            ]
        );
    }

    fn k(s: &str) -> String {
        s.to_string()
    }

    #[test]
    fn a_table_created_in_the_same_migration_is_marked_new() {
        let found = impact(
            "CREATE TABLE t (id int);\nCREATE INDEX t_id ON t (id);\nCREATE INDEX u_id ON u (id);\n",
        );
        let new: Vec<bool> = found.iter().map(|s| s.new_table).collect();
        assert_eq!(new, [true, true, false]);
        assert_eq!(found.iter().map(|s| s.line).collect::<Vec<_>>(), [1, 2, 3]);
    }
}
