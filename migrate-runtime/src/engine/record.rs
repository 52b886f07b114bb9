//! The values of a new history row, and the second way to write one: streamed with `COPY` when
//! its texts are large. The usual way, an `INSERT` with literal values sent with the `COMMIT`
//! (one round trip), holds the row's text in the query two or three times over (the query, the
//! client's buffer, the connection's); for a 50 MB migration that is most of the process's
//! memory. `COPY` sends the text in small messages, escaped on the way.

use super::HistoryTable;
use super::history::{NewRow, inserted_columns};
use crate::Checksum;
use postgres::Client;
use std::borrow::Cow;
use std::io::Write;

/// Rows whose texts are larger than this are written with `COPY`.
pub(crate) const STREAMED_BYTES: usize = 1 << 20;

/// One value of a new row.
#[derive(Debug)]
pub(crate) enum Value<'a> {
    Null,
    /// A number or a boolean, as written in SQL and in COPY.
    Plain(String),
    Text(Cow<'a, str>),
    /// Statement checksums, a `text[]` of hex strings.
    Checksums(&'a [Checksum]),
    /// The server's `clock_timestamp()`.
    Now,
}

impl Value<'_> {
    /// About how many bytes it takes written out.
    pub fn size(&self) -> usize {
        match self {
            Value::Null | Value::Now => 20,
            Value::Plain(p) => p.len(),
            Value::Text(t) => t.len() + 10,
            Value::Checksums(c) => c.len() * 74 + 20,
        }
    }
}

/// The values of `row`, in the order of [`inserted_columns`].
pub(crate) fn values<'a>(row: &'a NewRow<'a>, host: Option<&'a str>) -> Vec<Value<'a>> {
    let text = |t: Option<&'a str>| t.map_or(Value::Null, |t| Value::Text(t.into()));
    let plain = |p: Option<String>| p.map_or(Value::Null, Value::Plain);
    let error = if row.in_progress {
        Some("did not finish: running now, or interrupted")
    } else {
        row.error.as_deref()
    };
    vec![
        Value::Plain(row.version.get().to_string()),
        Value::Text(row.name.into()),
        Value::Text(row.action.as_str().into()),
        Value::Text(row.state.as_str().into()),
        Value::Text(row.checksum.to_string().into()),
        row.down_checksum
            .map_or(Value::Null, |c| Value::Text(c.to_string().into())),
        Value::Text(row.sql.into()),
        text(row.down_sql),
        Value::Plain(row.no_transaction.to_string()),
        Value::Plain(row.irreversible.to_string()),
        plain(row.statements_total.map(|n| n.to_string())),
        Value::Plain(row.statements_applied.to_string()),
        Value::Checksums(&row.statement_checksums),
        if row.in_progress {
            Value::Null
        } else {
            Value::Now
        },
        plain(
            row.execution_ms
                .filter(|ms| ms.is_finite())
                .map(|ms| format!("{ms}")),
        ),
        text(error),
        plain(row.error_statement.map(|n| n.to_string())),
        text(row.note.as_deref()),
        text(host),
        Value::Text(env!("CARGO_PKG_VERSION").into()),
        text(row.backup),
        text(row.backfill.as_deref()),
    ]
}

/// Whether `row` is large enough to be written with [`copy_row`].
pub(crate) fn streams(row: &NewRow<'_>) -> bool {
    row.sql.len() + row.down_sql.map_or(0, str::len) + row.statement_checksums.len() * 64
        > STREAMED_BYTES
}

/// Writes `row` with `COPY ... FROM STDIN` (in the caller's transaction), its texts sent in
/// small pieces. `clock_timestamp()` is read from the server first (`COPY` takes values, not
/// expressions).
pub(crate) fn copy_row(
    client: &mut Client,
    t: &HistoryTable,
    row: &NewRow<'_>,
) -> Result<(), postgres::Error> {
    let now: String = client
        .query_one("SELECT clock_timestamp()::text", &[])?
        .get(0);
    let host = super::history::client_host();
    let values = values(row, host.as_deref());
    let writer = client.copy_in(&format!(
        "COPY {} ({}) FROM STDIN",
        t.qualified(),
        inserted_columns().join(", ")
    ))?;
    let mut out = Escaper {
        w: writer,
        buf: String::with_capacity(PIECE + 8),
    };
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.raw("\t")?;
        }
        match v {
            Value::Null => out.raw("\\N")?,
            Value::Plain(p) => out.text(p)?,
            Value::Text(text) => out.text(text)?,
            Value::Checksums(checksums) => {
                // Hex digits need no quotes in an array, nor escapes in COPY.
                out.raw("{")?;
                for (i, c) in checksums.iter().enumerate() {
                    if i > 0 {
                        out.raw(",")?;
                    }
                    out.raw(&c.to_string())?;
                }
                out.raw("}")?;
            }
            Value::Now => out.text(&now)?,
        }
    }
    out.raw("\n")?;
    out.send()?;
    out.w.finish()?;
    Ok(())
}

/// A write error of the COPY stream: the postgres crate's writer wraps its own error in an
/// I/O error, and fails in no other way.
fn copy_failed(e: std::io::Error) -> postgres::Error {
    *e.into_inner()
        .and_then(|e| e.downcast::<postgres::Error>().ok())
        .expect("the COPY writer fails with PostgreSQL errors only")
}

/// The most text held before it is sent.
const PIECE: usize = 64 * 1024;

/// COPY's text format, written a piece at a time: `\`, tab, newline and carriage return in a
/// value are escaped.
struct Escaper<'a> {
    w: postgres::CopyInWriter<'a>,
    buf: String,
}

impl Escaper<'_> {
    /// Writes `s` as it is (separators, `\N`).
    fn raw(&mut self, s: &str) -> Result<(), postgres::Error> {
        self.buf.push_str(s);
        self.send_full()
    }

    /// Writes `s` escaped.
    fn text(&mut self, s: &str) -> Result<(), postgres::Error> {
        for c in s.chars() {
            match c {
                '\\' => self.buf.push_str("\\\\"),
                '\t' => self.buf.push_str("\\t"),
                '\n' => self.buf.push_str("\\n"),
                '\r' => self.buf.push_str("\\r"),
                c => self.buf.push(c),
            }
            self.send_full()?;
        }
        Ok(())
    }

    fn send_full(&mut self) -> Result<(), postgres::Error> {
        if self.buf.len() >= PIECE {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> Result<(), postgres::Error> {
        self.w.write_all(self.buf.as_bytes()).map_err(copy_failed)?;
        self.buf.clear();
        Ok(())
    }
}
