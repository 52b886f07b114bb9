//! Directives: SQL comments of the form `-- migrate:<name>` in the header of `migration.sql`.
//!
//! The header is everything before the first line that is neither blank nor a `--` comment. A
//! UTF-8 byte-order mark or leading blank lines never hide a directive (unlike a `starts_with`
//! check). A directive after the header, or one we do not know, is an error: silently ignoring
//! `-- migrate:no-transaction` would run `CREATE INDEX CONCURRENTLY` in a transaction.

use super::Problem;

/// What the header of a `migration.sql` (or `down.sql`) asks for.
///
/// ```
/// use migrate_runtime::model::Directives;
/// let d = Directives::parse("\u{feff}\n-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);\n").unwrap();
/// assert!(d.no_transaction);
/// assert!(!d.irreversible);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Directives {
    /// `-- migrate:no-transaction`: run statement by statement, outside a transaction.
    pub no_transaction: bool,
    /// `-- migrate:irreversible`: there is no `down.sql`, on purpose.
    pub irreversible: bool,
    /// `-- migrate:transaction` (in `down.sql`): run in a transaction even though the
    /// migration runs without one.
    pub transaction: bool,
    /// `-- migrate:backfill table=<table> key=<column> ...`: a batched data change; its
    /// options and statement are read by [`super::Backfill::parse`].
    pub backfill: bool,
}

/// The directives cargo-migrate knows, for messages.
pub const KNOWN_DIRECTIVES: &[&str] = &[
    "no-transaction",
    "irreversible",
    "transaction",
    super::BACKFILL_USAGE,
    "allow(<rule>) reason: <why>",
];

/// Each directive found, with its 1-based line.
type Found = Vec<(usize, &'static str)>;

impl Directives {
    /// Parses the directives of a `migration.sql`. Errors carry the 1-based line number.
    ///
    /// ```
    /// use migrate_runtime::model::Directives;
    /// let (line, problem) = Directives::parse("-- migrate:no-transactions\n").unwrap_err();
    /// assert_eq!(line, 1);
    /// assert!(problem.to_string().contains("unknown directive"));
    /// ```
    pub fn parse(sql: &str) -> Result<Directives, (usize, Problem)> {
        Directives::parse_lines(sql).map(|(d, _)| d)
    }

    /// The directives of a `migration.sql`: `-- migrate:transaction` is refused there (it is
    /// the default).
    ///
    /// ```
    /// use migrate_runtime::model::Directives;
    /// assert!(Directives::for_up("-- migrate:transaction\nSELECT 1;").is_err());
    /// ```
    pub fn for_up(sql: &str) -> Result<Directives, (usize, Problem)> {
        Directives::checked(sql, "migration.sql", &["transaction"])
    }

    /// The directives of a `down.sql`: `-- migrate:no-transaction` or `-- migrate:transaction`
    /// (`-- migrate:irreversible` belongs in migration.sql).
    ///
    /// ```
    /// use migrate_runtime::model::Directives;
    /// assert!(Directives::for_down("-- migrate:transaction\nDROP TABLE t;").unwrap().transaction);
    /// assert!(Directives::for_down("-- migrate:irreversible\n").is_err());
    /// ```
    pub fn for_down(sql: &str) -> Result<Directives, (usize, Problem)> {
        Directives::checked(sql, "down.sql", &["irreversible"])
    }

    fn checked(
        sql: &str,
        file: &'static str,
        refused: &[&str],
    ) -> Result<Directives, (usize, Problem)> {
        let (directives, lines) = Directives::parse_lines(sql)?;
        if let Some((line, word)) = lines.iter().find(|(_, w)| refused.contains(w)) {
            return Err((
                *line,
                Problem::DirectiveNotForFile {
                    directive: format!("-- migrate:{word}"),
                    file,
                },
            ));
        }
        if directives.transaction && directives.no_transaction {
            let line = lines.iter().map(|(l, _)| *l).max().unwrap_or(1);
            return Err((line, Problem::ConflictingDirectives));
        }
        Ok(directives)
    }

    /// The directives and the line each was found on.
    fn parse_lines(sql: &str) -> Result<(Directives, Found), (usize, Problem)> {
        let sql = sql.strip_prefix('\u{feff}').unwrap_or(sql);
        let mut directives = Directives::default();
        let mut found = Vec::new();
        let mut in_header = true;
        for (index, line) in sql.lines().enumerate() {
            let line_no = index + 1;
            let trimmed = line.trim();
            let Some((word, after)) = super::backfill::directive_of(line) else {
                if !trimmed.is_empty() && !trimmed.starts_with("--") {
                    in_header = false;
                }
                continue;
            };
            let directive = format!("-- migrate:{word}");
            let (flag, name) = match word {
                "no-transaction" => (&mut directives.no_transaction, "no-transaction"),
                "irreversible" => (&mut directives.irreversible, "irreversible"),
                "transaction" => (&mut directives.transaction, "transaction"),
                "backfill" => (&mut directives.backfill, "backfill"),
                // Statement-level lint suppressions, read by the linter.
                "allow" if after.starts_with('(') => continue,
                _ => return Err((line_no, Problem::UnknownDirective { directive })),
            };
            if !in_header {
                return Err((line_no, Problem::DirectiveNotInHeader { directive }));
            }
            *flag = true;
            found.push((line_no, name));
        }
        Ok((directives, found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_blank_lines_and_comments_do_not_hide_directives() {
        let sql = "\u{feff}\r\n\n-- a comment first\n   --migrate:irreversible: drops data\n-- migrate: no-transaction\nSELECT 1;\n";
        let d = Directives::parse(sql).unwrap();
        assert!(d.no_transaction && d.irreversible);
    }

    #[test]
    fn no_directives_is_the_default() {
        assert_eq!(
            Directives::parse("CREATE TABLE t ();").unwrap(),
            Directives::default()
        );
    }

    #[test]
    fn a_directive_after_sql_is_an_error_with_its_line() {
        let (line, problem) =
            Directives::parse("CREATE TABLE t ();\n-- migrate:no-transaction\n").unwrap_err();
        assert_eq!(line, 2);
        assert_eq!(
            problem,
            Problem::DirectiveNotInHeader {
                directive: "-- migrate:no-transaction".into()
            }
        );
    }

    #[test]
    fn lint_suppressions_are_statement_level_and_not_errors() {
        let sql = "CREATE TABLE t ();\n-- migrate:allow(ban-drop-column) reason: unused since v2\nALTER TABLE t DROP COLUMN c;\n";
        assert_eq!(Directives::parse(sql).unwrap(), Directives::default());
        assert!(
            Directives::parse("-- migrate:allow\n").is_err(),
            "allow needs its rule list"
        );
    }

    #[test]
    fn unknown_directive_is_named() {
        let (line, problem) = Directives::parse("\n\n-- migrate:notransaction\n").unwrap_err();
        assert_eq!(line, 3);
        assert_eq!(
            problem,
            Problem::UnknownDirective {
                directive: "-- migrate:notransaction".into()
            }
        );
    }
}
