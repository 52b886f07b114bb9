//! Backfill migrations: `-- migrate:backfill table=<table> key=<column> ...` in the header,
//! then exactly one `UPDATE`, `DELETE` or `INSERT ... SELECT` whose batch bounds are the
//! placeholders `:batch_start` and `:batch_end`. Parsed once, into a [`Backfill`], when the
//! file is read; the engine walks the key in batches and binds the bounds as `$1` and `$2`.
//!
//! A Rust backfill says `rust` in its directive and holds no statement: its batch body is code
//! registered on the engine by version (see `engine::RustBackfill`); everything else (the
//! walk, checkpoints, throttling, reporting) is the same.
//!
//! Placeholders are found with squawk's lexer, so `:batch_start` inside a string, a comment, a
//! dollar-quoted body or a quoted identifier is text, and `x::batch_start` is a cast. Each one
//! is replaced by `$1`/`$2` padded with spaces to its own length, so every byte offset (and so
//! every line and column of a message) stays where it was in the file.

use super::Problem;
use super::nice::NiceRatio;
use crate::{Ident, QualifiedName};
use squawk_lexer::TokenKind;
use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{SourceFile, SyntaxKind};
use std::borrow::Cow;
use std::time::Duration;

/// The batch size when the directive does not say (`batch=`).
pub const DEFAULT_BATCH: u32 = 1000;
/// The pause between batches when the directive does not say (`pause=`).
pub const DEFAULT_PAUSE: Duration = Duration::ZERO;
/// The largest batch size accepted.
pub const MAX_BATCH: u32 = 1_000_000;
/// The placeholder of a batch's first key (bound as `$1`).
pub const BATCH_START: &str = ":batch_start";
/// The placeholder of a batch's last key (bound as `$2`).
pub const BATCH_END: &str = ":batch_end";
/// The options of the directive, for messages.
pub const BACKFILL_OPTIONS: &[&str] = &[
    "table",
    "key",
    "batch",
    "pause",
    "nice",
    "max_replica_lag",
    "rust",
];
/// The directive as it reads, for messages.
pub const BACKFILL_USAGE: &str = "backfill table=<table> key=<column> [batch=<n>] \
    [pause=<duration>] [nice=<ratio>] [max_replica_lag=<duration>] [rust]";

/// A backfill migration, as its file declares it.
///
/// ```
/// use migrate_runtime::model::Backfill;
/// let sql = "-- migrate:backfill table=users key=id batch=500 pause=20ms nice=0.5\n\
///            UPDATE users SET display_name = split_part(email, '@', 1)\n\
///            WHERE display_name IS NULL AND id BETWEEN :batch_start AND :batch_end;\n";
/// let b = Backfill::parse(sql).unwrap().unwrap();
/// assert_eq!((b.table.to_string().as_str(), b.key.as_str(), b.batch), ("users", "id", 500));
/// assert_eq!(b.pause, std::time::Duration::from_millis(20));
/// assert_eq!(b.nice.to_string(), "0.5");
/// assert!(b.statement.contains("BETWEEN $1           AND $2        ;"));
/// assert!(Backfill::parse("SELECT 1;").unwrap().is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Backfill {
    /// The table whose key is walked.
    #[serde(serialize_with = "display")]
    pub table: QualifiedName,
    /// The key column: it needs a unique index (or the primary key) on the table.
    #[serde(serialize_with = "display")]
    pub key: Ident,
    /// Keys per batch.
    pub batch: u32,
    /// Pause between batches.
    pub pause: Duration,
    /// After each batch, also sleep this many times as long as the batch took.
    #[serde(serialize_with = "display")]
    pub nice: NiceRatio,
    /// Before each batch, wait while a replica's `replay_lag` exceeds this.
    pub max_replica_lag: Option<Duration>,
    /// `rust`: each batch runs code registered for this migration (`engine::RustBackfill`),
    /// not a statement; the file holds none (`statement` is empty, its lines 0).
    pub rust: bool,
    /// The statement with its placeholders replaced by `$1` and `$2` (padded), as it is sent.
    pub statement: String,
    /// 1-based line of the directive.
    pub line: usize,
    /// 1-based line of the statement.
    pub statement_line: usize,
    /// Byte offset of the statement in the file.
    pub statement_start: usize,
}

fn display<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// What is wrong with a backfill migration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackfillProblem {
    /// An option the directive does not know.
    #[error("unknown backfill option `{option}` (known: {})", BACKFILL_OPTIONS.join(", "))]
    UnknownOption {
        /// As written.
        option: String,
    },
    /// An option without `=value`, or given twice.
    #[error("backfill option `{option}` {why}")]
    BadOption {
        /// As written.
        option: String,
        /// What is wrong.
        why: &'static str,
    },
    /// `table=` or `key=` is missing.
    #[error("the backfill directive needs `{option}=<name>`")]
    MissingOption {
        /// The missing option.
        option: &'static str,
    },
    /// A value that does not parse.
    #[error("backfill option `{option}`: {message}")]
    BadValue {
        /// The option.
        option: &'static str,
        /// Why.
        message: String,
    },
    /// The statement does not use a placeholder.
    #[error("the backfill statement does not use `{placeholder}`")]
    MissingPlaceholder {
        /// `:batch_start` or `:batch_end`.
        placeholder: &'static str,
    },
    /// `$1` written by hand.
    #[error(
        "positional parameters (`$1`) are not allowed in a backfill; use `:batch_start` and `:batch_end`"
    )]
    PositionalParameter,
    /// Not exactly one statement.
    #[error("a backfill holds exactly one statement, this file has {count}")]
    StatementCount {
        /// How many.
        count: usize,
    },
    /// Schema changes in a backfill.
    #[error("a backfill cannot change the schema ({what})")]
    Ddl {
        /// The statement's kind.
        what: String,
    },
    /// Something else than UPDATE, DELETE or INSERT ... SELECT.
    #[error("a backfill's statement is an UPDATE, DELETE or INSERT ... SELECT, not {what}")]
    NotData {
        /// The statement's kind.
        what: String,
    },
    /// The statement does not parse.
    #[error("cannot parse the backfill statement: {message}")]
    Syntax {
        /// The parser's message.
        message: String,
    },
    /// A Rust backfill (`rust`) whose file holds a statement.
    #[error("a Rust backfill (`rust`) holds no statement, this file has {count}")]
    RustWithStatement {
        /// How many.
        count: usize,
    },
    /// An UPDATE of the walked table that sets the walked key: rows it moves past the walk's
    /// position are met again, and run again, batch after batch.
    #[error(
        "the backfill statement sets its own key `{key}`: the walk would meet the rows it moves \
         again, and change them again"
    )]
    SetsKey {
        /// The key, as in the directive.
        key: String,
    },
    /// `-- migrate:backfill` with a transaction directive.
    #[error("`-- migrate:backfill` and `{directive}` together")]
    TransactionDirective {
        /// The other directive.
        directive: String,
    },
}

impl BackfillProblem {
    /// What to do about it.
    pub fn help(&self) -> String {
        match self {
            BackfillProblem::TransactionDirective { .. } => "remove it: a backfill always runs \
                outside a transaction, each batch in a short transaction of its own"
                .into(),
            BackfillProblem::Ddl { .. } => "put schema changes in a migration of their own \
                (before the backfill: expand; after it: contract)"
                .into(),
            BackfillProblem::SetsKey { .. } => "walk a key the statement does not change (a \
                backfill visits each key once, in key order); to change keys, copy the rows into \
                a new table and switch to it"
                .into(),
            BackfillProblem::StatementCount { .. } => {
                "split it: one backfill migration per statement".into()
            }
            BackfillProblem::RustWithStatement { .. } => "its batches run the code registered \
                for it (`MIGRATOR.with_backfill(<version>, <impl RustBackfill>)`): leave only \
                comments, or remove `rust` to make it a SQL backfill"
                .into(),
            _ => format!(
                "a backfill reads `-- migrate:{BACKFILL_USAGE}`, then one UPDATE, DELETE or \
                 INSERT ... SELECT bounded by `:batch_start` and `:batch_end` (e.g. `WHERE id \
                 BETWEEN :batch_start AND :batch_end`)"
            ),
        }
    }
}

/// The text after `-- migrate:` on a comment line of the header, split into the directive's
/// name and what follows it; `None` for any other line.
pub(crate) fn directive_of(line: &str) -> Option<(&str, &str)> {
    let comment = line.trim().strip_prefix("--")?;
    let rest = comment.trim_start().strip_prefix("migrate:")?.trim_start();
    // The name ends at anything but letters, digits, `-` and `_`: a reason may follow
    // (`-- migrate:irreversible: drops the legacy table`).
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(rest.len());
    Some(rest.split_at(end))
}

/// The SQL with `:batch_start` and `:batch_end` replaced by `$1` and `$2`, each padded with
/// spaces to its own length (offsets, lines and columns are unchanged). Text without
/// placeholders is borrowed as it is.
///
/// ```
/// use migrate_runtime::model::bind_placeholders;
/// assert_eq!(bind_placeholders("id >= :batch_start AND ':batch_end' <> x::batch_end -- :batch_end"),
///            "id >= $1           AND ':batch_end' <> x::batch_end -- :batch_end");
/// ```
pub fn bind_placeholders(sql: &str) -> Cow<'_, str> {
    replace_placeholders(sql, |n| format!("${n}"))
}

/// The SQL with `:batch_start` and `:batch_end` replaced by `NULL` (padded the same way): the
/// statement is planned against the schema, so a wrong column or type fails as it would in a
/// batch, and it matches no key, so no row changes. What a shadow database runs of a backfill
/// (`verify`, `diff`): only the schema is compared there.
///
/// ```
/// use migrate_runtime::model::null_placeholders;
/// assert_eq!(null_placeholders("WHERE id BETWEEN :batch_start AND :batch_end;"),
///            "WHERE id BETWEEN NULL         AND NULL      ;");
/// ```
pub fn null_placeholders(sql: &str) -> Cow<'_, str> {
    replace_placeholders(sql, |_| "NULL".to_string())
}

/// The SQL with each placeholder replaced by `with(n)` (1: start, 2: end), padded with spaces
/// to the placeholder's length.
fn replace_placeholders(sql: &str, with: impl Fn(u8) -> String) -> Cow<'_, str> {
    let found = placeholders(sql);
    if found.is_empty() {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut at = 0;
    for (start, end, n) in found {
        out.push_str(&sql[at..start]);
        let text = with(n);
        out.push_str(&text);
        out.push_str(&" ".repeat(end - start - text.len()));
        at = end;
    }
    out.push_str(&sql[at..]);
    Cow::Owned(out)
}

/// The placeholders of `sql`: byte range and parameter number (1: start, 2: end).
fn placeholders(sql: &str) -> Vec<(usize, usize, u8)> {
    if !sql.contains(":batch_") && !sql.contains(":BATCH_") && !sql.contains(":Batch_") {
        return Vec::new();
    }
    let mut found = Vec::new();
    let mut offset = 0;
    let mut previous = TokenKind::Whitespace;
    let mut colon_at: Option<usize> = None;
    for token in squawk_lexer::tokenize(sql) {
        let len = token.len as usize;
        let text = &sql[offset..offset + len];
        if token.kind == TokenKind::Ident
            && let Some(colon) = colon_at
            && colon + 1 == offset
        {
            let n = match text.to_ascii_lowercase().as_str() {
                "batch_start" => Some(1),
                "batch_end" => Some(2),
                _ => None,
            };
            if let Some(n) = n {
                found.push((colon, offset + len, n));
            }
        }
        colon_at =
            (token.kind == TokenKind::Colon && previous != TokenKind::Colon).then_some(offset);
        previous = token.kind;
        offset += len;
    }
    found
}

/// One problem with its 1-based line.
type Located = (usize, Problem);

impl Backfill {
    /// The backfill a file declares: `None` without a `-- migrate:backfill` directive; an
    /// error (with its 1-based line) when the directive or the statement is not right.
    ///
    /// ```
    /// use migrate_runtime::model::Backfill;
    /// let (line, problem) = Backfill::parse("-- migrate:backfill table=t key=id batch=0\nDELETE FROM t WHERE id BETWEEN :batch_start AND :batch_end;").unwrap_err();
    /// assert_eq!(line, 1);
    /// assert_eq!(problem.to_string(), "backfill option `batch`: `0` is not a batch size (a whole number from 1 to 1000000)");
    /// ```
    pub fn parse(sql: &str) -> Result<Option<Backfill>, Located> {
        let bad = |line: usize, p: BackfillProblem| (line, Problem::Backfill(p));
        let sql_nobom = sql.strip_prefix('\u{feff}').unwrap_or(sql);
        let mut directive = None;
        let mut transaction = None;
        for (index, line) in sql_nobom.lines().enumerate() {
            let trimmed = line.trim();
            if !trimmed.is_empty() && !trimmed.starts_with("--") {
                break;
            }
            match directive_of(line) {
                Some(("backfill", rest)) if directive.is_none() => {
                    directive = Some((index + 1, rest));
                }
                Some((word @ ("no-transaction" | "transaction"), _)) => {
                    transaction = Some((index + 1, format!("-- migrate:{word}")));
                }
                _ => {}
            }
        }
        let Some((line, options)) = directive else {
            return Ok(None);
        };
        if let Some((at, directive)) = transaction {
            return Err(bad(at, BackfillProblem::TransactionDirective { directive }));
        }
        let mut b = Backfill::options(options).map_err(|p| bad(line, p))?;
        b.line = line;
        if b.rust {
            let statements = SourceFile::parse(sql_nobom)
                .tree()
                .stmts()
                .filter(|s| s.syntax().kind() != SyntaxKind::EMPTY_STMT)
                .count();
            return match statements {
                0 => Ok(Some(b)),
                count => Err(bad(line, BackfillProblem::RustWithStatement { count })),
            };
        }
        let (statement, statement_line, start) = the_statement(sql)?;
        if sets_key(&statement, &b) {
            return Err(bad(
                statement_line,
                BackfillProblem::SetsKey {
                    key: b.key.to_string(),
                },
            ));
        }
        b.statement = statement;
        b.statement_line = statement_line;
        b.statement_start = start;
        Ok(Some(b))
    }

    /// The sleep after a batch that took `batch`: `pause`, plus `nice` times the batch (the
    /// two add up, so each keeps its meaning: a fixed rest, and a share of the time).
    ///
    /// ```
    /// use migrate_runtime::model::Backfill;
    /// use std::time::Duration;
    /// let sql = "-- migrate:backfill table=t key=id pause=10ms nice=2\n\
    ///            DELETE FROM t WHERE id BETWEEN :batch_start AND :batch_end;\n";
    /// let b = Backfill::parse(sql).unwrap().unwrap();
    /// assert_eq!(b.pause_after(Duration::from_millis(25)), Duration::from_millis(60));
    /// ```
    pub fn pause_after(&self, batch: Duration) -> Duration {
        self.pause.saturating_add(self.nice.after(batch))
    }

    /// The directive's options: `name=value` separated by white space.
    fn options(text: &str) -> Result<Backfill, BackfillProblem> {
        let mut table = None;
        let mut key = None;
        let mut batch = None;
        let mut pause = None;
        let mut nice = None;
        let mut lag = None;
        let mut rust = false;
        for word in text.split_whitespace() {
            if word == "rust" {
                if rust {
                    return Err(BackfillProblem::BadOption {
                        option: word.into(),
                        why: "is given twice",
                    });
                }
                rust = true;
                continue;
            }
            let Some((name, value)) = word.split_once('=') else {
                return Err(BackfillProblem::BadOption {
                    option: word.into(),
                    why: "has no value (write `name=value`)",
                });
            };
            let slot_given = match name {
                "table" => table.is_some(),
                "key" => key.is_some(),
                "batch" => batch.is_some(),
                "pause" => pause.is_some(),
                "nice" => nice.is_some(),
                "max_replica_lag" => lag.is_some(),
                _ => {
                    return Err(BackfillProblem::UnknownOption {
                        option: name.into(),
                    });
                }
            };
            if slot_given {
                return Err(BackfillProblem::BadOption {
                    option: name.into(),
                    why: "is given twice",
                });
            }
            let value_error = |option: &'static str, message: String| BackfillProblem::BadValue {
                option,
                message,
            };
            match name {
                "table" => {
                    table = Some(
                        value
                            .parse::<QualifiedName>()
                            .map_err(|e| value_error("table", e.to_string()))?,
                    );
                }
                "key" => {
                    key = Some(
                        value
                            .parse::<Ident>()
                            .map_err(|e| value_error("key", e.to_string()))?,
                    );
                }
                "batch" => {
                    let n = value
                        .parse::<u32>()
                        .ok()
                        .filter(|n| (1..=MAX_BATCH).contains(n))
                        .ok_or_else(|| {
                            value_error(
                                "batch",
                                format!(
                                    "`{value}` is not a batch size (a whole number from 1 to {MAX_BATCH})"
                                ),
                            )
                        })?;
                    batch = Some(n);
                }
                "pause" => {
                    pause = Some(
                        crate::parse_duration(value)
                            .map_err(|e| value_error("pause", e.to_string()))?,
                    );
                }
                "nice" => {
                    nice = Some(
                        value
                            .parse::<NiceRatio>()
                            .map_err(|e| value_error("nice", e))?,
                    );
                }
                _ => {
                    lag = Some(
                        crate::parse_duration(value)
                            .map_err(|e| value_error("max_replica_lag", e.to_string()))?,
                    );
                }
            }
        }
        Ok(Backfill {
            table: table.ok_or(BackfillProblem::MissingOption { option: "table" })?,
            key: key.ok_or(BackfillProblem::MissingOption { option: "key" })?,
            batch: batch.unwrap_or(DEFAULT_BATCH),
            pause: pause.unwrap_or(DEFAULT_PAUSE),
            nice: nice.unwrap_or_default(),
            max_replica_lag: lag,
            rust,
            statement: String::new(),
            line: 0,
            statement_line: 0,
            statement_start: 0,
        })
    }
}

/// The file's one statement, bound (`$1`, `$2`), with its line; checked to be a data change
/// that uses both placeholders.
fn the_statement(sql: &str) -> Result<(String, usize, usize), Located> {
    let bad = |line: usize, p: BackfillProblem| (line, Problem::Backfill(p));
    let mut offset = 0;
    for token in squawk_lexer::tokenize(sql) {
        if matches!(token.kind, TokenKind::PositionalParam { .. }) {
            let (line, _) = super::line_column(sql, offset);
            return Err(bad(line, BackfillProblem::PositionalParameter));
        }
        offset += token.len as usize;
    }
    let bound = bind_placeholders(sql);
    let parse = SourceFile::parse(&bound);
    if let Some(error) = parse.errors().first() {
        let (line, _) = super::line_column(sql, error.range().start().into());
        return Err(bad(
            line,
            BackfillProblem::Syntax {
                message: error.message().to_string(),
            },
        ));
    }
    // A stray `;` (`...;;`) is no statement.
    let stmts: Vec<ast::Stmt> = parse
        .tree()
        .stmts()
        .filter(|s| s.syntax().kind() != SyntaxKind::EMPTY_STMT)
        .collect();
    let line_of = |s: &ast::Stmt| super::line_column(sql, s.syntax().text_range().start().into()).0;
    let Some(first) = stmts.first() else {
        let last = sql.lines().count().max(1);
        return Err(bad(last, BackfillProblem::StatementCount { count: 0 }));
    };
    let line = line_of(first);
    if let Some(what) = ddl_kind(first) {
        return Err(bad(line, BackfillProblem::Ddl { what }));
    }
    if let Some(what) = not_data(first) {
        return Err(bad(line, BackfillProblem::NotData { what }));
    }
    if let Some(second) = stmts.get(1) {
        return Err(bad(
            line_of(second),
            BackfillProblem::StatementCount { count: stmts.len() },
        ));
    }
    let range = first.syntax().text_range();
    let (start, end): (usize, usize) = (range.start().into(), range.end().into());
    let used: Vec<u8> = placeholders(&sql[start..end]).iter().map(|p| p.2).collect();
    for (n, placeholder) in [(1, BATCH_START), (2, BATCH_END)] {
        if !used.contains(&n) {
            return Err(bad(
                line,
                BackfillProblem::MissingPlaceholder { placeholder },
            ));
        }
    }
    Ok((bound[start..end].to_string(), line, start))
}

/// Whether `statement` (bound) is an UPDATE of the walked table whose `SET` writes the key.
fn sets_key(statement: &str, b: &Backfill) -> bool {
    let file = SourceFile::parse(statement).tree();
    let Some(ast::Stmt::Update(u)) = file.stmts().next() else {
        return false;
    };
    let Some(table) = u
        .relation_name()
        .and_then(|r| r.relation_name_ref())
        .and_then(|n| n.syntax().text().to_string().parse::<QualifiedName>().ok())
    else {
        return false;
    };
    let schema = |q: &QualifiedName| {
        q.schema
            .as_ref()
            .map_or("public", |s| s.as_str())
            .to_string()
    };
    let same_schema = schema(&table) == schema(&b.table);
    if table.name != b.table.name || !same_schema {
        return false;
    }
    let is_key = |text: &str| {
        let last = text.trim().rsplit('.').next().unwrap_or("");
        last.parse::<Ident>().ok().as_ref() == Some(&b.key)
    };
    let targets_key = |t: Option<ast::ColumnTarget>| {
        t.and_then(|t| t.name())
            .is_some_and(|n| is_key(&n.syntax().text().to_string()))
    };
    let Some(list) = u.set_clause().and_then(|s| s.set_column_list()) else {
        return false;
    };
    list.set_columns().any(|c| match c {
        // `SET id = id` (a touch, e.g. for triggers) moves nothing.
        ast::SetColumn::SetSingleColumn(c) => {
            targets_key(c.column_target())
                && !c
                    .set_expr()
                    .is_some_and(|e| is_key(&e.syntax().text().to_string()))
        }
        ast::SetColumn::SetMultipleColumns(c) => c.column_target_list().is_some_and(|l| {
            l.syntax()
                .descendants()
                .filter_map(ast::ColumnTarget::cast)
                .any(|t| targets_key(Some(t)))
        }),
    })
}

/// The kind of a schema-changing statement (`ALTER TABLE`, ...).
pub(crate) fn ddl_kind(stmt: &ast::Stmt) -> Option<String> {
    let kind = format!("{:?}", stmt.syntax().kind());
    [
        "CREATE_",
        "ALTER_",
        "DROP_",
        "COMMENT_ON",
        "TRUNCATE",
        "GRANT",
        "REVOKE",
    ]
    .iter()
    .any(|p| kind.starts_with(p))
    .then(|| kind_words(&kind))
}

/// `Some(kind)` unless the statement is an UPDATE, a DELETE or an INSERT ... SELECT.
fn not_data(stmt: &ast::Stmt) -> Option<String> {
    match stmt {
        ast::Stmt::Update(_) | ast::Stmt::Delete(_) => None,
        ast::Stmt::Insert(i) => {
            let source = i
                .insert_source()
                .map(|s| s.syntax().text().to_string())
                .unwrap_or_default();
            let head = source.trim_start().to_ascii_uppercase();
            (head.starts_with("VALUES") || head.starts_with("DEFAULT") || head.is_empty())
                .then(|| "INSERT ... VALUES".to_string())
        }
        other => Some(kind_words(&format!("{:?}", other.syntax().kind()))),
    }
}

/// `ALTER_TABLE` → `ALTER TABLE`.
fn kind_words(kind: &str) -> String {
    kind.replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(sql: &str) -> (usize, String) {
        let (line, p) = Backfill::parse(sql).unwrap_err();
        (line, p.to_string())
    }

    const BODY: &str = "UPDATE t SET v = 1 WHERE id BETWEEN :batch_start AND :batch_end;\n";

    #[test]
    fn an_update_that_moves_the_key_is_refused_and_a_touch_is_not() {
        let file = |stmt: &str| format!("-- migrate:backfill table=items key=id\n{stmt}\n");
        for moves in [
            "UPDATE items SET id = id + 1000 WHERE id BETWEEN :batch_start AND :batch_end;",
            "UPDATE public.items SET n = 1, \"id\" = -id WHERE id BETWEEN :batch_start AND :batch_end;",
            "UPDATE items SET (n, ID) = (1, 2) WHERE id BETWEEN :batch_start AND :batch_end;",
        ] {
            let (line, problem) = Backfill::parse(&file(moves)).expect_err(moves);
            assert_eq!(line, 2);
            assert!(
                matches!(problem, Problem::Backfill(BackfillProblem::SetsKey { .. })),
                "{moves}"
            );
        }
        for fine in [
            "UPDATE items SET id = id WHERE id BETWEEN :batch_start AND :batch_end;",
            "UPDATE items i SET id = i.id, n = 1 WHERE id BETWEEN :batch_start AND :batch_end;",
            "UPDATE other SET id = 1 WHERE id BETWEEN :batch_start AND :batch_end;",
            "UPDATE app.items SET id = 1 WHERE id BETWEEN :batch_start AND :batch_end;",
            "UPDATE items SET \"ID\" = 1 WHERE id BETWEEN :batch_start AND :batch_end;",
        ] {
            assert!(Backfill::parse(&file(fine)).is_ok(), "{fine}");
        }
    }

    #[test]
    fn defaults_and_every_option() {
        let b = Backfill::parse(&format!("-- migrate:backfill table=app.t key=id\n{BODY}"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (b.batch, b.pause, b.nice, b.max_replica_lag),
            (1000, Duration::ZERO, crate::model::DEFAULT_NICE, None)
        );
        assert_eq!((b.line, b.statement_line), (1, 2));
        assert_eq!(b.table.to_string(), "app.t");
        let b = Backfill::parse(&format!(
            "\u{feff}\n-- note\n-- migrate:backfill table=t key=\"Id\" batch=10 pause=1s nice=1.5 max_replica_lag=2s\n\n{BODY}"
        ))
        .unwrap()
        .unwrap();
        assert_eq!(b.key.as_str(), "Id");
        assert_eq!((b.batch, b.line, b.statement_line), (10, 3, 5));
        assert_eq!(b.max_replica_lag, Some(Duration::from_secs(2)));
        assert_eq!(b.nice.to_string(), "1.5");
        assert_eq!(
            b.pause_after(Duration::from_millis(100)),
            Duration::from_millis(1150),
            "pause, plus nice times the batch"
        );
        assert_eq!(
            b.statement,
            "UPDATE t SET v = 1 WHERE id BETWEEN $1           AND $2        ;"
        );
    }

    #[test]
    fn every_error_names_its_line() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "-- migrate:backfill key=id\n",
                1,
                "the backfill directive needs `table=<name>`",
            ),
            (
                "-- migrate:backfill table=t\n",
                1,
                "the backfill directive needs `key=<name>`",
            ),
            (
                "-- migrate:backfill table=t key=id size=5\n",
                1,
                "unknown backfill option `size` (known: table, key, batch, pause, nice, max_replica_lag, rust)",
            ),
            (
                "-- migrate:backfill table=t key=id batch\n",
                1,
                "backfill option `batch` has no value (write `name=value`)",
            ),
            (
                "-- migrate:backfill table=t key=id key=x\n",
                1,
                "backfill option `key` is given twice",
            ),
            (
                "-- migrate:backfill table=t key=id batch=many\n",
                1,
                "backfill option `batch`: `many` is not a batch size (a whole number from 1 to 1000000)",
            ),
            (
                "-- migrate:backfill table=t key=id pause=soon\n",
                1,
                "backfill option `pause`: `soon` is not a duration: it does not start with a number (examples: 500ms, 5s, 1.5s, 2m, 1h, 0)",
            ),
            (
                "-- migrate:backfill table=t key=id nice=-1\n",
                1,
                "backfill option `nice`: `-1` is not a ratio (a decimal number from 0 to 100, e.g. 0.5)",
            ),
            (
                "-- migrate:backfill table=t key=id nice=abc\n",
                1,
                "backfill option `nice`: `abc` is not a ratio (a decimal number from 0 to 100, e.g. 0.5)",
            ),
            (
                "-- migrate:backfill table=t key=id nice=\n",
                1,
                "backfill option `nice`: `` is not a ratio (a decimal number from 0 to 100, e.g. 0.5)",
            ),
            (
                "-- migrate:backfill table=t key=id nice=101\n",
                1,
                "backfill option `nice`: `101` is not a ratio (a decimal number from 0 to 100, e.g. 0.5)",
            ),
            (
                "-- migrate:backfill table=t key=id nice=1 nice=2\n",
                1,
                "backfill option `nice` is given twice",
            ),
            (
                "-- migrate:backfill table=t key=id nice\n",
                1,
                "backfill option `nice` has no value (write `name=value`)",
            ),
            (
                "-- migrate:backfill table=t key=a;b\n",
                1,
                "backfill option `key`: `a;b` is not a valid name: only letters, digits, `_` and `$` may appear in an unquoted name (quote it: \"...\")",
            ),
        ];
        for (header, line, message) in cases {
            assert_eq!(
                err(&format!("{header}{BODY}")),
                (*line, message.to_string()),
                "{header}"
            );
        }
        let h = "-- migrate:backfill table=t key=id\n";
        for (body, line, message) in [
            (
                "UPDATE t SET v = 1 WHERE id >= :batch_start;\n",
                2,
                "the backfill statement does not use `:batch_end`",
            ),
            (
                "UPDATE t SET v = ':batch_start' WHERE id <= :batch_end; -- :batch_start\n",
                2,
                "the backfill statement does not use `:batch_start`",
            ),
            (
                "\nUPDATE t SET v = 1 WHERE id BETWEEN $1 AND $2;\n",
                3,
                "positional parameters (`$1`) are not allowed in a backfill; use `:batch_start` and `:batch_end`",
            ),
            (
                "UPDATE t SET v = 1 WHERE id BETWEEN :batch_start AND :batch_end;\nUPDATE t SET w = 1;\n",
                3,
                "a backfill holds exactly one statement, this file has 2",
            ),
            (
                "ALTER TABLE t ADD COLUMN v int;\n",
                2,
                "a backfill cannot change the schema (ALTER TABLE)",
            ),
            (
                "SELECT * FROM t WHERE id BETWEEN :batch_start AND :batch_end;\n",
                2,
                "a backfill's statement is an UPDATE, DELETE or INSERT ... SELECT, not SELECT",
            ),
            (
                "INSERT INTO t VALUES (1);\n",
                2,
                "a backfill's statement is an UPDATE, DELETE or INSERT ... SELECT, not INSERT ... VALUES",
            ),
            (
                "-- nothing\n",
                2,
                "a backfill holds exactly one statement, this file has 0",
            ),
            (
                "UPDATE t SET WHERE id BETWEEN :batch_start AND :batch_end;\n",
                2,
                "cannot parse the backfill statement: Expected at least one column assignment after SET",
            ),
        ] {
            let (got_line, got) = err(&format!("{h}{body}"));
            assert_eq!(got_line, line, "{body}");
            assert!(got.starts_with(message), "{body}: {got}");
        }
        assert_eq!(
            err(&format!("-- migrate:no-transaction\n{h}{BODY}")),
            (
                1,
                "`-- migrate:backfill` and `-- migrate:no-transaction` together".into()
            )
        );
    }

    #[test]
    fn a_rust_backfill_holds_no_statement() {
        let b = Backfill::parse(
            "-- Derives display_name in Rust.\n-- migrate:backfill table=users key=id batch=50 nice=0.5 rust\n-- (code: src/display_name.rs)\n",
        )
        .unwrap()
        .unwrap();
        assert!(b.rust);
        assert_eq!(b.nice.to_string(), "0.5", "the same options as SQL's");
        assert_eq!((b.batch, b.line, b.statement.as_str()), (50, 2, ""));
        assert_eq!(
            err(&format!("-- migrate:backfill table=t key=id rust\n{BODY}")),
            (
                1,
                "a Rust backfill (`rust`) holds no statement, this file has 1".into()
            )
        );
        assert_eq!(
            err("-- migrate:backfill table=t key=id rust rust\n"),
            (1, "backfill option `rust` is given twice".into())
        );
    }

    #[test]
    fn insert_select_and_delete_are_backfills() {
        for body in [
            "INSERT INTO archive SELECT * FROM t WHERE id BETWEEN :batch_start AND :batch_end;",
            "DELETE FROM t WHERE id >= :BATCH_START AND id <= :batch_end;",
        ] {
            assert!(
                Backfill::parse(&format!("-- migrate:backfill table=t key=id\n{body}"))
                    .unwrap()
                    .is_some()
            );
        }
    }

    #[test]
    fn placeholders_in_text_and_casts_are_left_alone() {
        let sql = "SELECT ':batch_start', $$ :batch_end $$, \":batch_end\", 1::batch_start /* :batch_end */";
        assert_eq!(bind_placeholders(sql), sql);
    }
}
