//! Linting a file a chunk at a time, so a huge migration never has one syntax tree of the whole
//! file. Each chunk is parsed together with the statements of the rest of the file that rules
//! look across to (the table created earlier, `BEGIN`/`COMMIT`, `SET lock_timeout`, the schema
//! change later in the file, squawk's comments): every statement but the `INSERT`s, which no
//! rule reads when judging another statement. Findings inside those borrowed statements are
//! dropped (their own chunk reports them); the others are moved back to their place in the file.
//!
//! When a chunk does not parse as the lexer cut it (a syntax error, or a construct the lexer
//! misread), the caller lints the whole file at once instead: the same findings, more memory.

use crate::model::chunks::{self, Chunks, SpanKind};
use crate::model::{LineIndex, Statement, bind_placeholders};
use squawk_syntax::ast::AstNode;
use squawk_syntax::{Parse, SourceFile};
use std::ops::Range;

/// A run of the chunk's text copied from the file.
#[derive(Debug, Clone, Copy)]
struct Piece {
    /// Where it starts in the file.
    file: usize,
    /// Where it starts in the chunk's text.
    chunk: usize,
    len: usize,
    /// Part of the chunk itself (not borrowed for context).
    own: bool,
}

/// One chunk's text to parse: the chunk, with the other statements rules need around it.
#[derive(Debug)]
pub(crate) struct ChunkText {
    text: String,
    pieces: Vec<Piece>,
    /// Where, in `text`, the parser must find statements starting.
    starts: Vec<usize>,
}

impl ChunkText {
    /// The text to parse.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The file range of a range of the chunk's text, when it lies in the chunk itself.
    pub fn to_file(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        let i = self
            .pieces
            .partition_point(|p| p.chunk <= start)
            .checked_sub(1)?;
        let p = self.pieces[i];
        if !p.own || start > p.chunk + p.len {
            return None;
        }
        let end = end.clamp(start, p.chunk + p.len);
        Some((p.file + start - p.chunk, p.file + end - p.chunk))
    }

    /// Whether the parse found exactly the statements the lexer cut, and no error.
    fn parsed_as_cut(&self, parse: &Parse<SourceFile>) -> bool {
        parse.errors().is_empty()
            && parse
                .tree()
                .stmts()
                .map(|s| usize::from(s.syntax().text_range().start()))
                .eq(self.starts.iter().copied())
    }

    /// The chunk's own statements, located in the file.
    fn own_statements(
        &self,
        parse: &Parse<SourceFile>,
        sql: &str,
        lines: &LineIndex,
    ) -> Vec<Statement> {
        parse
            .tree()
            .stmts()
            .filter_map(|s| {
                let r = s.syntax().text_range();
                let (start, end) = self.to_file(r.start().into(), r.end().into())?;
                Some(crate::model::located_statement(sql, lines, start, end))
            })
            .collect()
    }
}

/// Builds chunk `range`'s text, borrowing the statements rules look across to (`context`:
/// indexes of non-`INSERT` spans).
fn chunk_text(sql: &str, cut: &Chunks, context: &[usize], range: Range<usize>) -> ChunkText {
    let mut out = ChunkText {
        text: String::with_capacity(range.len() + 2),
        pieces: Vec::new(),
        starts: Vec::new(),
    };
    let push = |out: &mut ChunkText, file: Range<usize>, own: bool| {
        out.pieces.push(Piece {
            file: file.start,
            chunk: out.text.len(),
            len: file.len(),
            own,
        });
        out.text.push_str(&sql[file]);
        // A blank line between pieces: a `-- squawk-ignore` in one piece (which covers its
        // line and the next) never reaches the next piece.
        out.text.push_str("\n\n");
    };
    let spans = &cut.spans;
    let before = context.partition_point(|&i| spans[i].start < range.start);
    let after = context.partition_point(|&i| spans[i].start < range.end);
    for &i in &context[..before] {
        let s = spans[i];
        if s.kind != SpanKind::SquawkComment {
            out.starts.push(out.text.len());
        }
        push(&mut out, s.start..s.end, false);
    }
    let own_at = out.text.len();
    let first = spans.partition_point(|s| s.start < range.start);
    let last = spans.partition_point(|s| s.start < range.end);
    out.starts.extend(
        spans[first..last]
            .iter()
            .filter(|s| s.kind != SpanKind::SquawkComment)
            .map(|s| own_at + s.start - range.start),
    );
    push(&mut out, range, true);
    for &i in &context[after..] {
        let s = spans[i];
        if s.kind != SpanKind::SquawkComment {
            out.starts.push(out.text.len());
        }
        push(&mut out, s.start..s.end, false);
    }
    out
}

/// Calls `each` with every chunk of `sql` (about `chunk_bytes` each) and its parse, in file
/// order, and returns the file's statements; `None` when a chunk did not parse as the lexer cut
/// it: the caller must then lint the whole file at once (and forget what `each` was told).
pub(crate) fn each_chunk(
    sql: &str,
    chunk_bytes: usize,
    mut each: impl FnMut(&ChunkText, &Parse<SourceFile>),
) -> Option<Vec<Statement>> {
    let cut = chunks::cut(sql, chunk_bytes);
    let context: Vec<usize> = (0..cut.spans.len())
        .filter(|&i| cut.spans[i].kind != SpanKind::Insert)
        .collect();
    let lines = LineIndex::new(sql);
    let mut statements = Vec::new();
    for range in cut.ranges() {
        let chunk = chunk_text(sql, &cut, &context, range);
        // A backfill's placeholders read as the parameters they are bound as (same offsets).
        let parse = SourceFile::parse(&bind_placeholders(chunk.text()));
        if !chunk.parsed_as_cut(&parse) {
            return None;
        }
        each(&chunk, &parse);
        statements.extend(chunk.own_statements(&parse, sql, &lines));
    }
    Some(statements)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_borrows_every_statement_but_the_inserts_and_maps_back() {
        let sql = "CREATE TABLE t (a int);\nINSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);\nCREATE INDEX i ON t (a);\n";
        let mut seen = Vec::new();
        let statements = each_chunk(sql, 1, |chunk, _| seen.push(chunk.text().to_string()))
            .expect("parses as cut");
        assert_eq!(statements.len(), 4);
        assert_eq!(
            seen[2],
            "CREATE TABLE t (a int);\n\nINSERT INTO t VALUES (2);\n\n\nCREATE INDEX i ON t (a);\n\n"
        );
    }

    #[test]
    fn a_syntax_error_asks_for_the_whole_file() {
        assert!(each_chunk("SELECT 1;\nCREATE TABL t ();\n", 1, |_, _| {}).is_none());
    }

    mod agreement {
        use crate::lint::tests::lint_in_chunks_with;
        use crate::model::chunks::tests::sql_files;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(120))]

            /// Linting a chunk at a time reports what linting the whole file at once reports,
            /// at the same places, in and out of a transaction.
            #[test]
            fn chunked_lint_agrees_with_one_parse(
                sql in sql_files(),
                chunk in 1..120usize,
                no_transaction in any::<bool>(),
            ) {
                let sql = if no_transaction { format!("-- migrate:no-transaction\n{sql}\nSELECT 0;") } else { format!("{sql}\nSELECT 0;") };
                prop_assert_eq!(
                    lint_in_chunks_with(&sql, chunk),
                    lint_in_chunks_with(&sql, usize::MAX)
                );
            }
        }
    }
}
