//! Cutting a SQL file into chunks of whole statements, so a huge migration is parsed a chunk at a
//! time: squawk's syntax tree takes about 14 bytes per byte of SQL, and a tree of a whole 50 MB
//! file would be the largest thing the process holds.
//!
//! squawk's lexer finds where statements end: a `;` outside parentheses and outside a
//! `BEGIN ATOMIC ... END` body (strings, dollar quotes and comments are single tokens, so their
//! semicolons never count). The parser has the last word: a chunk cut in the wrong place leaves
//! an unfinished statement, which does not parse, and the caller then parses it together with
//! the next chunk.

use squawk_lexer::TokenKind;

/// The size a chunk grows to before it is cut (at the next statement end).
pub(crate) const CHUNK_BYTES: usize = 256 * 1024;

/// What a statement (or comment) found by the lexer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpanKind {
    /// `INSERT ...`: nothing in it matters to the lint rules looking at other statements.
    Insert,
    /// Any other statement.
    Other,
    /// A comment between statements that speaks to squawk (`squawk-ignore-file`, ...).
    SquawkComment,
}

/// A statement (or a comment for squawk) as the lexer sees it: byte offsets of its first
/// character and just past its `;` (or its last token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
    pub kind: SpanKind,
}

/// A file's statements as the lexer sees them, and where its chunks end.
#[derive(Debug)]
pub(crate) struct Chunks {
    /// Statements and comments for squawk, in file order (the linter's).
    #[cfg_attr(not(feature = "lint"), allow(dead_code))]
    pub spans: Vec<Span>,
    /// Byte offsets where chunks end (just past a statement's `;`); the last is the file's
    /// length. Chunk `i` is `ends[i - 1]..ends[i]` (from 0 for the first).
    pub ends: Vec<usize>,
}

impl Chunks {
    /// The chunk byte ranges, in order.
    #[cfg_attr(not(feature = "lint"), allow(dead_code))]
    pub fn ranges(&self) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        std::iter::once(0)
            .chain(self.ends.iter().copied())
            .zip(self.ends.iter().copied())
            .map(|(start, end)| start..end)
    }
}

/// Cuts `sql` into chunks of about `chunk_bytes` (at least one statement each). A chunk ends at
/// the end of a line that ends a statement, so squawk's line comments
/// (`-- squawk-ignore <rule>`, which also covers the next line) stay with what they cover: no
/// cut after a line with a comment for squawk, nor after one where another statement starts.
///
/// ```ignore
/// let c = cut("SELECT 1;\nSELECT 2; SELECT 3; -- end\nSELECT 4;", 1);
/// assert_eq!(c.ends, [10, 37, 46]);
/// ```
pub(crate) fn cut(sql: &str, chunk_bytes: usize) -> Chunks {
    let mut spans = Vec::new();
    let mut ends = Vec::new();
    let mut chunk_start = 0;
    // A statement ended the chunk: cut at the end of its line.
    let mut pending = false;
    let mut lexer = Lexer::default();
    let mut offset = 0;
    for token in squawk_lexer::tokenize(sql) {
        let (start, end) = (offset, offset + token.len as usize);
        offset = end;
        let text = &sql[start..end];
        if pending {
            match token.kind {
                TokenKind::Whitespace => {
                    if let Some(newline) = text.find('\n') {
                        chunk_start = start + newline + 1;
                        ends.push(chunk_start);
                        pending = false;
                    }
                }
                TokenKind::LineComment if !mentions_squawk(text) => {}
                _ => pending = false,
            }
        }
        if let Some(span) = lexer.token(token.kind, start, text) {
            spans.push(span);
            pending = span.kind != SpanKind::SquawkComment && span.end - chunk_start >= chunk_bytes;
        }
    }
    if let Some(span) = lexer.finish() {
        spans.push(span);
    }
    if ends.last() != Some(&sql.len()) {
        ends.push(sql.len());
    }
    Chunks { spans, ends }
}

/// The lexer's state inside a statement.
#[derive(Debug, Default)]
struct Lexer {
    /// Where the current statement started, and its first word.
    current: Option<(usize, bool)>,
    /// End of its last token so far.
    last_end: usize,
    parens: usize,
    /// Depth inside `BEGIN ATOMIC ... END` (`CASE ... END` nests).
    atomic: usize,
    /// The previous word was `BEGIN`.
    after_begin: bool,
    /// A comment inside the statement speaks to squawk.
    squawk_comment: bool,
}

impl Lexer {
    /// Takes one token; returns a span when one is complete.
    fn token(&mut self, kind: TokenKind, start: usize, text: &str) -> Option<Span> {
        let is_comment = matches!(
            kind,
            TokenKind::LineComment | TokenKind::BlockComment { .. }
        );
        if kind == TokenKind::Whitespace || is_comment {
            if is_comment && mentions_squawk(text) {
                if self.current.is_none() {
                    return Some(Span {
                        start,
                        end: start + text.len(),
                        kind: SpanKind::SquawkComment,
                    });
                }
                self.squawk_comment = true;
            }
            return None;
        }
        if self.current.is_none() {
            let insert = kind == TokenKind::Ident && text.eq_ignore_ascii_case("insert");
            self.current = Some((start, insert));
        }
        self.last_end = start + text.len();
        match kind {
            TokenKind::OpenParen => self.parens += 1,
            TokenKind::CloseParen => self.parens = self.parens.saturating_sub(1),
            TokenKind::Ident => {
                let after_begin = std::mem::take(&mut self.after_begin);
                if text.eq_ignore_ascii_case("begin") {
                    self.after_begin = true;
                } else if text.eq_ignore_ascii_case("atomic") && after_begin && self.atomic == 0 {
                    self.atomic = 1;
                } else if self.atomic > 0 && text.eq_ignore_ascii_case("case") {
                    self.atomic += 1;
                } else if self.atomic > 0 && text.eq_ignore_ascii_case("end") {
                    self.atomic -= 1;
                }
            }
            TokenKind::Semi if self.parens == 0 && self.atomic == 0 => return self.finish(),
            _ => self.after_begin = false,
        }
        None
    }

    /// Ends the current statement (at a `;` or the end of the file).
    fn finish(&mut self) -> Option<Span> {
        let (start, insert) = self.current.take()?;
        let kind = if insert && !self.squawk_comment {
            SpanKind::Insert
        } else {
            SpanKind::Other
        };
        let end = self.last_end;
        *self = Lexer::default();
        Some(Span { start, end, kind })
    }
}

fn mentions_squawk(comment: &str) -> bool {
    comment.to_ascii_lowercase().contains("squawk")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        cut(sql, usize::MAX)
            .spans
            .iter()
            .map(|s| &sql[s.start..s.end])
            .collect()
    }

    #[test]
    fn statements_end_at_semicolons_outside_quotes_parentheses_and_atomic_bodies() {
        let sql = "SELECT ';' /* ; */ -- ;\n;\nCREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2);\n\
            CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END;\n\
            DO $$ BEGIN PERFORM 1; END $$;\nSELECT 3";
        assert_eq!(
            texts(sql),
            [
                "SELECT ';' /* ; */ -- ;\n;",
                "CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2);",
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END;",
                "DO $$ BEGIN PERFORM 1; END $$;",
                "SELECT 3",
            ]
        );
    }

    #[test]
    fn inserts_and_comments_for_squawk_are_told_apart() {
        let c = cut(
            "-- squawk-ignore-file\ninsert into t values (1);\nINSERT /* squawk-ignore */ INTO t VALUES (2);\nBEGIN;\n",
            usize::MAX,
        );
        let kinds: Vec<SpanKind> = c.spans.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                SpanKind::SquawkComment,
                SpanKind::Insert,
                SpanKind::Other,
                SpanKind::Other
            ]
        );
    }

    #[test]
    fn chunks_end_after_whole_statements() {
        let sql = "SELECT 1;\nSELECT 2; SELECT 3; -- end\nSELECT 4;";
        assert_eq!(cut(sql, 1).ends, [10, 37, 46]);
        assert_eq!(cut(sql, 12).ends, [37, 46]);
        assert_eq!(cut(sql, usize::MAX).ends, [46]);
        // Not after a line with a comment for squawk.
        let sql = "SELECT 1; -- squawk-ignore\nSELECT 2;\n";
        assert_eq!(cut(sql, 1).ends, [sql.len()]);
        assert_eq!(cut("", 1).ends, [0]);
    }

    /// SQL files made of pieces that hold semicolons in every way a file can (strings, dollar
    /// quotes, comments, parentheses, `BEGIN ATOMIC` bodies), statements that rules look across
    /// to, comments for squawk, and now and then a syntax error.
    pub(crate) fn sql_files() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        const PIECES: &[&str] = &[
            "CREATE TABLE t (a int);",
            "INSERT INTO t VALUES (1, ';');",
            "insert into t (a, a) values (2);",
            "INSERT INTO t SELECT a FROM u;",
            "DO $$ BEGIN PERFORM 1; END $$;",
            "DO $x$ SELECT ';' $x$;",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END;",
            "CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2);",
            "SELECT 'a;b' -- x;\n;",
            "/* ; */",
            "-- a comment;",
            "-- squawk-ignore require-concurrent-index-creation",
            "BEGIN;",
            "COMMIT;",
            "SET lock_timeout = '1s';",
            "CREATE INDEX i ON t (a);",
            "CREATE INDEX CONCURRENTLY j ON u (a);",
            "ALTER TABLE u ADD COLUMN b int NOT NULL;",
            "ALTER TABLE t DROP COLUMN a;",
            "UPDATE u SET a = 1;",
            "DELETE FROM t;",
            "UPDATE t SET a = :batch_start WHERE a < :batch_end;",
            "SELECT 1",
            "CREATE TABL oops ();",
        ];
        const GLUE: &[&str] = &["\n", " ", "\r\n", "\n\n-- between\n", ""];
        proptest::collection::vec(
            (
                prop::sample::select(PIECES),
                prop::sample::select(GLUE),
                0..20u8,
            ),
            0..14,
        )
        .prop_map(|parts| {
            parts
                .into_iter()
                // Syntax errors rarely.
                .filter(|(p, _, roll)| !p.starts_with("CREATE TABL ") || *roll == 0)
                .map(|(p, g, _)| format!("{p}{g}"))
                .collect()
        })
    }
}
