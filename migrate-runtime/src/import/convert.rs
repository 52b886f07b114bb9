//! The SQL conversion: a tool's file becomes one that our engine runs the way the tool did,
//! with every change reported. Also the header of an imported file (`-- imported from ...`),
//! written here and read back here, so the mapping stays visible and the history adoption can
//! find the tool's migration later without the tool's directory.
//!
//! - A file that wraps itself in `BEGIN; ... COMMIT;` loses those two statements (commented
//!   out in place): our engine runs every transactional migration in a transaction of its
//!   own, and a `COMMIT` inside it would end ours early. Transaction control anywhere else
//!   (a `COMMIT` in the middle, `ROLLBACK`, `BEGIN ISOLATION LEVEL ...`) cannot keep its
//!   meaning inside one migration and is refused.
//! - The tool's own directive (`-- no-transaction`, `-- atlas:txmode none`) becomes ours.
//! - A statement PostgreSQL refuses inside a transaction (`CREATE INDEX CONCURRENTLY`, ...)
//!   makes the file `-- migrate:no-transaction`: the tools that sent it as one script ran it
//!   outside a transaction too.

use super::Tool;
use super::report::{Conversion, Problem};
use super::source::{SourceFile, TxMode};
use crate::model::{LineIndex, needs_no_transaction};
use squawk_syntax::ast::AstNode;
use squawk_syntax::{SourceFile as Parsed, SyntaxKind};

/// A converted file: its text without our header, and how it must run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Converted {
    pub(crate) body: String,
    pub(crate) no_transaction: bool,
    pub(crate) conversions: Vec<Conversion>,
}

/// Transaction control found in a file.
enum OwnTransaction {
    /// None.
    Absent,
    /// One `BEGIN` first and one `COMMIT` last: byte ranges of both statements.
    Wrapping {
        begin: (usize, usize),
        commit: (usize, usize),
    },
    /// Anything else: the statement's line and what it is.
    Other { line: usize, what: String },
}

/// Converts one file of the tool; `ours` names our file (`migration.sql`, `down.sql`).
pub(crate) fn convert(tool: Tool, file: &SourceFile, ours: &str) -> Result<Converted, Problem> {
    let mut conversions = Vec::new();
    let mut note = |line: Option<usize>, message: String| {
        conversions.push(Conversion {
            file: ours.to_string(),
            line,
            message,
        })
    };
    let text = match file.sql.strip_prefix('\u{feff}') {
        Some(rest) => {
            note(Some(1), "removed the byte-order mark".into());
            rest
        }
        None => file.sql.as_str(),
    };
    let lines = LineIndex::new(text);
    let line_of = |offset: usize| lines.line_column(text, offset).0;
    // Edits on `text`: byte range and replacement, applied from the end.
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut no_transaction = file.mode == TxMode::NoTransaction;

    if let Some(line) = file.directive_line {
        let directive = lines.line(text, line).trim().to_string();
        edits.push(line_range(text, line));
        note(
            Some(line),
            format!(
                "`{directive}` (line {line}), {tool}'s directive, became `-- migrate:no-transaction`"
            ),
        );
    }

    match own_transaction(text) {
        OwnTransaction::Absent => {}
        OwnTransaction::Wrapping { begin, commit } => {
            let (begin_line, commit_line) = (line_of(begin.0), line_of(commit.0));
            let was = if no_transaction {
                format!(" (it ran without {tool}'s transaction, inside its own)")
            } else {
                String::new()
            };
            note(
                Some(begin_line),
                format!(
                    "removed its own `{}` (line {begin_line}) and `{}` (line {commit_line}): \
                     cargo-migrate runs the migration in a transaction{was}",
                    one_line(&text[begin.0..begin.1]),
                    one_line(&text[commit.0..commit.1]),
                ),
            );
            edits.push(comment_out(text, begin));
            edits.push(comment_out(text, commit));
            no_transaction = false;
        }
        OwnTransaction::Other { line, what } => {
            return Err(Problem::at(
                file.origin.clone(),
                Some(line),
                format!(
                    "{what}: the file controls its transactions in a way one migration cannot \
                     keep"
                ),
            )
            .help(
                "cargo-migrate runs a migration in one transaction (or, with \
                 `-- migrate:no-transaction`, statement by statement outside one); split the \
                 file into migrations that each fit one of those, or wrap all of it in a single \
                 BEGIN ... COMMIT, then import again",
            ));
        }
    }

    if !no_transaction && let Some(found) = needs_no_transaction(text).first() {
        let line = line_of(found.start);
        note(
            Some(line),
            format!(
                "`{}` (line {line}) cannot run inside a transaction: the migration runs \
                 statement by statement outside one (`-- migrate:no-transaction`)",
                found.what
            ),
        );
        no_transaction = true;
    }

    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut body = text.to_string();
    for (start, end, with) in edits {
        body.replace_range(start..end, &with);
    }
    Ok(Converted {
        body,
        no_transaction,
        conversions,
    })
}

/// Finds `BEGIN`, `COMMIT`, `ROLLBACK` and two-phase statements.
fn own_transaction(text: &str) -> OwnTransaction {
    let parse = Parsed::parse(text);
    let statements: Vec<(SyntaxKind, usize, usize)> = parse
        .tree()
        .stmts()
        .map(|s| {
            let node = s.syntax();
            let range = node.text_range();
            let start = node
                .children_with_tokens()
                .find(|t| !t.kind().is_trivia())
                .map_or(range.start(), |t| t.text_range().start());
            (node.kind(), start.into(), range.end().into())
        })
        .collect();
    let control = |kind: SyntaxKind| {
        matches!(
            kind,
            SyntaxKind::BEGIN
                | SyntaxKind::COMMIT_TRANSACTION
                | SyntaxKind::COMMIT_PREPARED
                | SyntaxKind::ROLLBACK_TRANSACTION
                | SyntaxKind::ROLLBACK_PREPARED
                | SyntaxKind::PREPARE_TRANSACTION
        )
    };
    let found: Vec<usize> = (0..statements.len())
        .filter(|&i| control(statements[i].0))
        .collect();
    if found.is_empty() {
        return OwnTransaction::Absent;
    }
    let lines = LineIndex::new(text);
    let describe = |i: usize| {
        let (_, start, end) = statements[i];
        let line = lines.line_column(text, start).0;
        (line, format!("`{}`", one_line(&text[start..end])))
    };
    let last = statements.len() - 1;
    let plain_begin = |i: usize| {
        statements[i].0 == SyntaxKind::BEGIN
            && matches!(
                words(&text[statements[i].1..statements[i].2])
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .as_slice(),
                ["BEGIN"] | ["BEGIN", "WORK" | "TRANSACTION"] | ["START", "TRANSACTION"]
            )
    };
    let plain_commit = |i: usize| {
        statements[i].0 == SyntaxKind::COMMIT_TRANSACTION
            && matches!(
                words(&text[statements[i].1..statements[i].2])
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .as_slice(),
                ["COMMIT" | "END"] | ["COMMIT" | "END", "WORK" | "TRANSACTION"]
            )
    };
    if found == [0, last] && plain_begin(0) && plain_commit(last) {
        return OwnTransaction::Wrapping {
            begin: (statements[0].1, statements[0].2),
            commit: (statements[last].1, statements[last].2),
        };
    }
    // Name the first statement that breaks the pattern.
    let (line, what) = if found[0] == 0 && statements[0].0 == SyntaxKind::BEGIN {
        if !plain_begin(0) {
            let (line, what) = describe(0);
            (
                line,
                format!("{what} sets options cargo-migrate's transaction cannot take"),
            )
        } else {
            match found.get(1) {
                Some(&i) if i != last || !plain_commit(i) || found.len() > 2 => {
                    let (line, what) = describe(i);
                    (line, format!("{what} comes before the end of the file"))
                }
                _ => {
                    let (line, what) = describe(0);
                    (
                        line,
                        format!("{what} has no `COMMIT` at the end of the file"),
                    )
                }
            }
        }
    } else {
        let (line, what) = describe(found[0]);
        if found[0] == last && found.len() == 1 {
            (
                line,
                format!("{what} ends a transaction the file never began"),
            )
        } else {
            (line, format!("{what} is in the middle of the file"))
        }
    };
    OwnTransaction::Other { line, what }
}

/// The words of a statement, upper case, without its `;`.
fn words(statement: &str) -> Vec<String> {
    statement
        .trim_end_matches(';')
        .split_whitespace()
        .map(str::to_ascii_uppercase)
        .collect()
}

fn one_line(statement: &str) -> String {
    statement.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The edit that comments out a statement: its whole lines when it has them to itself (so
/// line numbers stay as in the tool's file), else just its text.
fn comment_out(text: &str, (start, end): (usize, usize)) -> (usize, usize, String) {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let rest = &text[end..];
    let line_end = rest.find('\n').map_or(text.len(), |i| end + i);
    let before = &text[line_start..start];
    let after = text[end..line_end].trim_end_matches('\r');
    if before.trim().is_empty() && (after.trim().is_empty() || after.trim().starts_with("--")) {
        let cr = if text[..line_end].ends_with('\r') {
            "\r"
        } else {
            ""
        };
        (
            line_start,
            line_end,
            format!(
                "{before}-- {} (removed on import: cargo-migrate runs the migration in a transaction){cr}",
                one_line(&text[start..end])
            ),
        )
    } else {
        (start, end, String::new())
    }
}

/// The edit that removes 1-based line `line` (with its line break).
fn line_range(text: &str, line: usize) -> (usize, usize, String) {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return (offset, offset + l.len(), String::new());
        }
        offset += l.len();
    }
    (text.len(), text.len(), String::new())
}

/// The line break a file uses.
pub(crate) fn eol(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// What the header of an imported file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// The tool.
    pub(crate) tool: Tool,
    /// The tool's file, relative to its directory.
    pub(crate) origin: String,
    /// What the tool's history may hold as the migration's checksum.
    pub(crate) checksums: Vec<String>,
}

const IMPORTED_FROM: &str = "-- imported from ";

/// The header lines of an imported file: where it came from, the checksums the tool may have
/// recorded, and our directive.
pub(crate) fn header(
    tool: Tool,
    origin: &str,
    checksums: &[String],
    directive: Option<&str>,
    eol: &str,
) -> String {
    let mut out = format!("{IMPORTED_FROM}{tool} {origin}{eol}");
    if !checksums.is_empty() {
        out.push_str(&format!("-- {tool} checksum: {}{eol}", checksums.join(" ")));
    }
    if let Some(d) = directive {
        out.push_str(&format!("-- migrate:{d}{eol}"));
    }
    out
}

/// Reads the header of an imported file (`None` when it has none).
pub(crate) fn read_header(sql: &str) -> Option<Header> {
    let mut header: Option<Header> = None;
    let sql = sql.strip_prefix('\u{feff}').unwrap_or(sql);
    for line in sql.lines() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if !t.starts_with("--") {
            break;
        }
        if let Some(rest) = t.strip_prefix(IMPORTED_FROM.trim_end()) {
            if header.is_some() {
                continue;
            }
            let (tool, origin) = rest.trim().split_once(' ')?;
            header = Some(Header {
                tool: tool.parse().ok()?,
                origin: origin.trim().to_string(),
                checksums: Vec::new(),
            });
        } else if let Some(h) = &mut header
            && let Some(values) = t.strip_prefix(&format!("-- {} checksum:", h.tool))
        {
            h.checksums = values.split_whitespace().map(String::from).collect();
        }
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(sql: &str, mode: TxMode) -> SourceFile {
        SourceFile {
            origin: "7_add_index.up.sql".into(),
            sql: sql.into(),
            mode,
            directive_line: None,
        }
    }

    fn run(sql: &str, mode: TxMode) -> Result<Converted, Problem> {
        convert(Tool::GolangMigrate, &file(sql, mode), "migration.sql")
    }

    #[test]
    fn own_begin_and_commit_are_commented_out_in_place() {
        let sql = "-- add a table\nBEGIN;\nCREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\nCOMMIT;\n";
        let c = run(sql, TxMode::Script).unwrap();
        assert_eq!(
            c.body,
            "-- add a table\n\
             -- BEGIN; (removed on import: cargo-migrate runs the migration in a transaction)\n\
             CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n\
             -- COMMIT; (removed on import: cargo-migrate runs the migration in a transaction)\n"
        );
        assert!(!c.no_transaction);
        assert_eq!(
            c.conversions[0].message,
            "removed its own `BEGIN;` (line 2) and `COMMIT;` (line 5): cargo-migrate runs the \
             migration in a transaction"
        );
        assert_eq!(c.conversions[0].line, Some(2));
    }

    #[test]
    fn start_transaction_end_and_crlf() {
        let sql = "start transaction;\r\nSELECT 1;\r\nEND;\r\n";
        let c = run(sql, TxMode::Wrapped).unwrap();
        assert!(
            c.body
                .starts_with("-- start transaction; (removed on import"),
            "{}",
            c.body
        );
        assert!(c.body.ends_with("in a transaction)\r\n"), "{:?}", c.body);
        assert_eq!(c.body.lines().count(), 3);
    }

    #[test]
    fn a_statement_sharing_its_line_is_cut_out_alone() {
        let c = run("BEGIN; CREATE TABLE t (id int); COMMIT;", TxMode::Script).unwrap();
        assert_eq!(c.body, " CREATE TABLE t (id int); ");
    }

    #[test]
    fn transaction_control_elsewhere_is_refused_with_its_line() {
        let cases = [
            (
                "BEGIN;\nSELECT 1;\nCOMMIT;\nSELECT 2;\n",
                3,
                "`COMMIT;` comes before the end of the file",
            ),
            (
                "BEGIN;\nSELECT 1;\n",
                1,
                "`BEGIN;` has no `COMMIT` at the end of the file",
            ),
            (
                "SELECT 1;\nROLLBACK;\nSELECT 2;",
                2,
                "`ROLLBACK;` is in the middle of the file",
            ),
            (
                "BEGIN ISOLATION LEVEL SERIALIZABLE;\nSELECT 1;\nCOMMIT;",
                1,
                "`BEGIN ISOLATION LEVEL SERIALIZABLE;` sets options cargo-migrate's \
                 transaction cannot take",
            ),
            (
                "SELECT 1;\nCOMMIT;",
                2,
                "`COMMIT;` ends a transaction the file never began",
            ),
        ];
        for (sql, line, what) in cases {
            let p = run(sql, TxMode::Script).unwrap_err();
            assert_eq!(p.line, Some(line), "{sql}");
            assert!(p.message.starts_with(what), "{sql}: {}", p.message);
        }
    }

    #[test]
    fn savepoints_and_function_bodies_are_not_transaction_control() {
        let sql = "SAVEPOINT a;\nROLLBACK TO SAVEPOINT a;\nCREATE FUNCTION f() RETURNS void AS $$ BEGIN PERFORM 1; END $$ LANGUAGE plpgsql;\n";
        let c = run(sql, TxMode::Wrapped).unwrap();
        assert_eq!(c.body, sql);
        assert!(c.conversions.is_empty());
    }

    #[test]
    fn concurrent_index_runs_without_a_transaction() {
        let c = run(
            "-- index\nCREATE INDEX CONCURRENTLY i ON t (a);\n",
            TxMode::Script,
        )
        .unwrap();
        assert!(c.no_transaction);
        assert_eq!(
            c.conversions[0].message,
            "`CREATE INDEX CONCURRENTLY` (line 2) cannot run inside a transaction: the \
             migration runs statement by statement outside one (`-- migrate:no-transaction`)"
        );
    }

    #[test]
    fn a_tool_directive_is_replaced_and_a_bom_dropped() {
        let mut f = file(
            "\u{feff}-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n",
            TxMode::NoTransaction,
        );
        f.directive_line = Some(1);
        let c = convert(Tool::Sqlx, &f, "migration.sql").unwrap();
        assert_eq!(c.body, "CREATE INDEX CONCURRENTLY i ON t (a);\n");
        assert!(c.no_transaction);
        let messages: Vec<_> = c.conversions.iter().map(|c| c.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "removed the byte-order mark",
                "`-- no-transaction` (line 1), sqlx's directive, became `-- migrate:no-transaction`"
            ]
        );
    }

    #[test]
    fn headers_round_trip() {
        let h = header(
            Tool::Sqlx,
            "1_create users.up.sql",
            &["ab".into(), "cd".into()],
            Some("no-transaction"),
            "\n",
        );
        assert_eq!(
            h,
            "-- imported from sqlx 1_create users.up.sql\n-- sqlx checksum: ab cd\n-- migrate:no-transaction\n"
        );
        let read = read_header(&format!("{h}SELECT 1;\n-- imported from diesel x\n")).unwrap();
        assert_eq!(
            read,
            Header {
                tool: Tool::Sqlx,
                origin: "1_create users.up.sql".into(),
                checksums: vec!["ab".into(), "cd".into()],
            }
        );
        assert_eq!(
            read_header("SELECT 1;\n-- imported from sqlx 1_a.sql\n"),
            None
        );
        assert_eq!(read_header("-- imported from flyway V1__a.sql\n"), None);
    }
}
