//! PostgreSQL identifiers as written in settings (`--history-table`, `schemas`), parsed the way
//! PostgreSQL reads them: an unquoted name is folded to lower case and may hold letters, digits,
//! `_` and `$` (not first); a `"quoted"` name is taken as written (`""` for a quote). Names
//! longer than PostgreSQL's 63 bytes are refused rather than silently truncated.

use std::fmt;
use std::str::FromStr;

/// PostgreSQL's limit on identifier length (NAMEDATALEN - 1).
pub const MAX_IDENT_BYTES: usize = 63;

/// An SQL identifier: the name PostgreSQL will use.
///
/// ```
/// use migrate_runtime::Ident;
/// let plain: Ident = "Migrations".parse().unwrap();
/// assert_eq!(plain.as_str(), "migrations");
/// let quoted: Ident = "\"Odd \"\"Name\"\"\"".parse().unwrap();
/// assert_eq!(quoted.as_str(), "Odd \"Name\"");
/// assert_eq!(quoted.quoted(), "\"Odd \"\"Name\"\"\"");
/// assert!("x;drop".parse::<Ident>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ident(String);

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a valid name: {why}")]
pub struct IdentError {
    input: String,
    why: String,
}

impl Ident {
    /// An identifier from a name already known to be what PostgreSQL uses (e.g. read from the
    /// catalog). Refuses empty names, NUL and names over 63 bytes.
    ///
    /// ```
    /// # use migrate_runtime::Ident;
    /// assert_eq!(Ident::from_name("Users").unwrap().quoted(), "\"Users\"");
    /// ```
    pub fn from_name(name: &str) -> Result<Ident, IdentError> {
        check_name(name, name)?;
        Ok(Ident(name.to_string()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name quoted for SQL.
    pub fn quoted(&self) -> String {
        quote_ident(&self.0)
    }

    /// Whether it can be written without quotes (and reads back the same).
    fn is_plain(&self) -> bool {
        let mut chars = self.0.chars();
        chars
            .next()
            .is_some_and(|c| c == '_' || (c.is_alphabetic() && !c.is_ascii_uppercase()))
            && chars
                .all(|c| c == '_' || c == '$' || (c.is_alphanumeric() && !c.is_ascii_uppercase()))
    }
}

/// `text` as an SQL string literal: an escape string (`E'...'`), which reads the same whatever
/// `standard_conforming_strings` is (a query is parsed before any setting in it runs).
#[cfg(feature = "postgres")]
pub(crate) fn quote_literal(text: &str) -> String {
    format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// Quotes an SQL identifier.
///
/// ```
/// assert_eq!(migrate_runtime::quote_ident("a\"b"), "\"a\"\"b\"");
/// ```
pub fn quote_ident(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn check_name(input: &str, name: &str) -> Result<(), IdentError> {
    let fail = |why: String| IdentError {
        input: input.to_string(),
        why,
    };
    if name.is_empty() {
        return Err(fail("it is empty".into()));
    }
    if name.contains('\0') {
        return Err(fail("it contains a NUL character".into()));
    }
    if name.len() > MAX_IDENT_BYTES {
        return Err(fail(format!(
            "it is {} bytes long; PostgreSQL names have at most {MAX_IDENT_BYTES}",
            name.len()
        )));
    }
    Ok(())
}

/// Reads one identifier from the front of `s`; returns it and the rest.
fn take_ident<'a>(input: &str, s: &'a str) -> Result<(Ident, &'a str), IdentError> {
    let fail = |why: &str| IdentError {
        input: input.to_string(),
        why: why.to_string(),
    };
    if let Some(rest) = s.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if rest[i + 1..].starts_with('"') {
                    name.push('"');
                    chars.next();
                    continue;
                }
                check_name(input, &name)?;
                return Ok((Ident(name), &rest[i + 1..]));
            }
            name.push(c);
        }
        return Err(fail("a quoted name has no closing `\"`"));
    }
    let end = s
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '$'))
        .map_or(s.len(), |(i, _)| i);
    let (word, rest) = s.split_at(end);
    match word.chars().next() {
        None if s.is_empty() => Err(fail(
            "expected a name (letters, digits and `_`, or a \"quoted\" name)",
        )),
        None => Err(fail(
            "an unquoted name starts with a letter or `_` (quote it: \"...\")",
        )),
        Some(c) if !(c.is_alphabetic() || c == '_') => Err(fail(
            "an unquoted name starts with a letter or `_` (quote it: \"...\")",
        )),
        Some(_) => {
            let name = word.to_ascii_lowercase();
            check_name(input, &name)?;
            Ok((Ident(name), rest))
        }
    }
}

impl FromStr for Ident {
    type Err = IdentError;

    fn from_str(s: &str) -> Result<Ident, IdentError> {
        match take_ident(s, s.trim())? {
            (ident, "") => Ok(ident),
            _ => Err(IdentError {
                input: s.to_string(),
                why: "only letters, digits, `_` and `$` may appear in an unquoted name (quote \
                      it: \"...\")"
                    .into(),
            }),
        }
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_plain() {
            f.write_str(&self.0)
        } else {
            f.write_str(&self.quoted())
        }
    }
}

/// `[schema.]name`, each part an [`Ident`].
///
/// ```
/// use migrate_runtime::QualifiedName;
/// let q: QualifiedName = "Ops.\"History\"".parse().unwrap();
/// assert_eq!(q.schema.as_ref().map(|s| s.as_str()), Some("ops"));
/// assert_eq!(q.name.as_str(), "History");
/// assert_eq!(q.to_string(), "ops.\"History\"");
/// assert!("a.b.c".parse::<QualifiedName>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualifiedName {
    /// The schema, when given.
    pub schema: Option<Ident>,
    /// The name.
    pub name: Ident,
}

impl FromStr for QualifiedName {
    type Err = IdentError;

    fn from_str(s: &str) -> Result<QualifiedName, IdentError> {
        let text = s.trim();
        let (first, rest) = take_ident(s, text)?;
        let trailing = |rest: &str| IdentError {
            input: s.to_string(),
            why: if rest.starts_with('.') {
                "expected `name` or `schema.name`, not more parts".into()
            } else {
                "only letters, digits, `_` and `$` may appear in an unquoted name (quote it: \
                 \"...\")"
                    .into()
            },
        };
        match rest.strip_prefix('.') {
            None if rest.is_empty() => Ok(QualifiedName {
                schema: None,
                name: first,
            }),
            None => Err(trailing(rest)),
            Some(after) => {
                let (second, rest) = take_ident(s, after)?;
                if !rest.is_empty() {
                    return Err(trailing(rest));
                }
                Ok(QualifiedName {
                    schema: Some(first),
                    name: second,
                })
            }
        }
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "{schema}.")?;
        }
        write!(f, "{}", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(quote_literal(r"it's a \ path"), r"E'it''s a \\ path'");
        assert_eq!(quote_literal(""), "E''");
    }

    #[test]
    fn refusals_say_why() {
        for (input, why) in [
            ("x;drop", "only letters, digits"),
            ("'x'", "starts with a letter"),
            ("", "expected a name"),
            ("\"\"", "it is empty"),
            ("\"open", "no closing"),
            ("1abc", "starts with a letter"),
            (&"a".repeat(64), "64 bytes long"),
        ] {
            let e = input.parse::<Ident>().unwrap_err().to_string();
            assert!(e.contains(why), "{input}: {e}");
        }
        assert!(
            "a.b.c"
                .parse::<QualifiedName>()
                .unwrap_err()
                .to_string()
                .contains("not more parts")
        );
        assert!("a.".parse::<QualifiedName>().is_err());
        assert!(".a".parse::<QualifiedName>().is_err());
    }

    #[test]
    fn display_quotes_only_when_needed() {
        for (input, shown) in [
            ("public._migrate_history", "public._migrate_history"),
            ("\"My Schema\".t", "\"My Schema\".t"),
            ("\"lower\"", "lower"),
            ("ABC", "abc"),
        ] {
            assert_eq!(input.parse::<QualifiedName>().unwrap().to_string(), shown);
        }
    }

    proptest! {
        #[test]
        fn never_panics_and_displays_back(s in "\\PC{0,70}") {
            if let Ok(q) = s.parse::<QualifiedName>() {
                prop_assert_eq!(q.to_string().parse::<QualifiedName>().unwrap(), q);
            }
        }

        #[test]
        fn any_name_survives_quoting(name in "[^\\x00]{1,20}") {
            prop_assume!(name.len() <= MAX_IDENT_BYTES);
            let ident = Ident::from_name(&name).unwrap();
            prop_assert_eq!(ident.quoted().parse::<Ident>().unwrap(), ident);
        }
    }
}
