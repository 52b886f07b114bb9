//! Splitting a migration into statements with squawk's PostgreSQL-grammar parser (never naive
//! `;` splitting: dollar-quoted bodies, strings and comments hold semicolons).

use squawk_syntax::SourceFile;
use squawk_syntax::ast::AstNode;

/// One statement of a SQL file: its byte range and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Byte offset of its first character in the file.
    pub start: usize,
    /// Byte offset just past its last character (the `;` when there is one).
    pub end: usize,
    /// 1-based line of its first character.
    pub line: usize,
    /// 1-based column (in characters) of its first character.
    pub column: usize,
}

impl Statement {
    /// Its text in `sql` (the file it was split from).
    ///
    /// ```
    /// use migrate_runtime::model::split_statements;
    /// let sql = "SELECT 1; SELECT 2;";
    /// let s = split_statements(sql).unwrap();
    /// assert_eq!(s[1].text(sql), "SELECT 2;");
    /// ```
    pub fn text<'a>(&self, sql: &'a str) -> &'a str {
        &sql[self.start..self.end]
    }
}

/// The parser could not make sense of the file, so it cannot be split reliably.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct SplitError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// The parser's message.
    pub message: String,
}

/// Splits SQL into statements. Comments between statements belong to none of them. Fails on a
/// syntax error, with its line and column.
///
/// ```
/// use migrate_runtime::model::split_statements;
/// let sql = "-- header\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\nSELECT ';';\n";
/// let statements = split_statements(sql).unwrap();
/// assert_eq!(statements.len(), 2);
/// assert_eq!((statements[0].line, statements[1].line), (2, 3));
/// assert!(split_statements("CREATE TABL t ();").is_err());
/// ```
pub fn split_statements(sql: &str) -> Result<Vec<Statement>, SplitError> {
    split_in_chunks(sql, super::chunks::CHUNK_BYTES)
}

/// [`split_statements`], parsing about `chunk_bytes` at a time.
pub(crate) fn split_in_chunks(sql: &str, chunk_bytes: usize) -> Result<Vec<Statement>, SplitError> {
    let lines = LineIndex::new(sql);
    let mut statements = Vec::new();
    let mut error = None;
    each_parsed_chunk(sql, chunk_bytes, |start, parse| {
        if let Some(e) = parse.errors().first() {
            let (line, column) = lines.line_column(sql, start + usize::from(e.range().start()));
            error = Some(SplitError {
                line,
                column,
                message: e.message().to_string(),
            });
            return;
        }
        statements.extend(parse.tree().stmts().map(|stmt| {
            let range = stmt.syntax().text_range();
            let (s, e): (usize, usize) = (range.start().into(), range.end().into());
            located(sql, &lines, start + s, start + e)
        }));
    });
    error.map_or(Ok(statements), Err)
}

/// Parses `sql` about `chunk_bytes` at a time, in file order, and calls `each` with where each
/// chunk starts in the file and its parse (each syntax tree is dropped before the next is
/// built). A chunk that does not parse is parsed again with the chunks after it (one, then
/// two, four, ...): a cut in the wrong place is mended, and a real syntax error ends in a last
/// call with the parse (errors included) of the rest of the file from a statement boundary,
/// which is what a parse of the whole file says about that rest.
pub(crate) fn each_parsed_chunk(
    sql: &str,
    chunk_bytes: usize,
    mut each: impl FnMut(usize, &squawk_syntax::Parse<SourceFile>),
) {
    let ends = super::chunks::cut(sql, chunk_bytes).ends;
    let (mut start, mut next) = (0, 0);
    while next < ends.len() {
        let (mut last, mut step) = (next, 1);
        loop {
            // A backfill's `:batch_start`/`:batch_end` parse as the parameters they are
            // bound as (same offsets).
            let parse = SourceFile::parse(&super::bind_placeholders(&sql[start..ends[last]]));
            if !parse.errors().is_empty() && last + 1 < ends.len() {
                last = (last + step).min(ends.len() - 1);
                step *= 2;
                continue;
            }
            each(start, &parse);
            break;
        }
        start = ends[last];
        next = last + 1;
    }
}

/// The statement at `start..end` of `sql`, with its line and column.
pub(crate) fn located(sql: &str, lines: &LineIndex, start: usize, end: usize) -> Statement {
    let (line, column) = lines.line_column(sql, start);
    Statement {
        start,
        end,
        line,
        column,
    }
}

/// The statements of `sql` from a parse of the whole of it made for something else (the
/// linter's, when it had to parse the file at once), so the file is parsed once.
#[cfg(feature = "lint")]
pub(crate) fn statements_of(
    sql: &str,
    parse: &squawk_syntax::Parse<SourceFile>,
) -> Result<Vec<Statement>, SplitError> {
    if let Some(error) = parse.errors().first() {
        let offset: usize = error.range().start().into();
        let (line, column) = line_column(sql, offset);
        return Err(SplitError {
            line,
            column,
            message: error.message().to_string(),
        });
    }
    let lines = LineIndex::new(sql);
    Ok(parse
        .tree()
        .stmts()
        .map(|stmt| {
            let range = stmt.syntax().text_range();
            located(sql, &lines, range.start().into(), range.end().into())
        })
        .collect())
}

/// Line starts of a text, for locating many offsets quickly (binary search instead of a scan
/// from the start for each).
///
/// ```
/// use migrate_runtime::model::LineIndex;
/// let text = "ab\ncé d\n";
/// let index = LineIndex::new(text);
/// assert_eq!(index.line_column(text, 7), (2, 4));
/// assert_eq!(index.line(text, 2), "cé d");
/// ```
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the line starts of `text`.
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// The 1-based line and column (characters) of a byte offset of the indexed `text`.
    pub fn line_column(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|s| *s <= offset);
        let start = self.starts[line - 1];
        (line, text[start..offset].chars().count() + 1)
    }

    /// The text of 1-based line `line`, without its line break.
    pub fn line<'a>(&self, text: &'a str, line: usize) -> &'a str {
        let start = self.starts.get(line - 1).copied().unwrap_or(text.len());
        let end = self.starts.get(line).map_or(text.len(), |e| e - 1);
        text[start..end.max(start)].trim_end_matches('\r')
    }
}

/// The 1-based line and column (in characters) of a byte offset.
///
/// ```
/// use migrate_runtime::model::line_column;
/// assert_eq!(line_column("ab\ncé d", 7), (2, 4));
/// ```
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollar_quotes_strings_and_comments_do_not_split() {
        let sql = "/* a; */ CREATE TABLE t (id int);\nDO $body$ BEGIN PERFORM 1; END $body$;\nSELECT 'x;y' -- ;\n;\n";
        let s = split_statements(sql).unwrap();
        let texts: Vec<&str> = s.iter().map(|s| s.text(sql)).collect();
        assert_eq!(
            texts,
            [
                "CREATE TABLE t (id int);",
                "DO $body$ BEGIN PERFORM 1; END $body$;",
                "SELECT 'x;y' -- ;\n;"
            ]
        );
        assert_eq!((s[0].line, s[0].column), (1, 10));
    }

    #[test]
    fn comment_only_file_has_no_statements() {
        assert_eq!(
            split_statements("-- nothing here\n/* still nothing */\n").unwrap(),
            vec![]
        );
    }

    #[test]
    fn several_concurrent_indexes_split() {
        let sql = "CREATE INDEX CONCURRENTLY a ON t (a);\nCREATE INDEX CONCURRENTLY b ON t (b);\n";
        assert_eq!(split_statements(sql).unwrap().len(), 2);
    }

    #[test]
    fn syntax_error_has_its_place() {
        let err = split_statements("SELECT 1;\nCREATE TABL t ();").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[cfg(feature = "lint")]
    mod chunked {
        use super::*;
        use crate::model::chunks::tests::sql_files;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(300))]

            /// Splitting a chunk at a time finds the statements (or the first syntax error)
            /// a parse of the whole file finds.
            #[test]
            fn chunked_split_agrees_with_one_parse(sql in sql_files(), chunk in 1..120usize) {
                let whole = statements_of(&sql, &SourceFile::parse(&crate::model::bind_placeholders(&sql)));
                prop_assert_eq!(split_in_chunks(&sql, chunk), whole);
            }
        }
    }
}
