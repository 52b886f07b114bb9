//! Splitting a connection string into its parameters the way the `postgres` crate's own parser
//! reads it (its URL form and libpq's key=value form), so that the options it does not know
//! (`sslrootcert`, libpq's stricter `sslmode`s) can be taken out without reading the text a
//! second, different way. A property test checks that, for strings the crate accepts, the
//! parameters found here rebuild exactly the configuration the crate parses.
//!
//! Nothing here ever puts text of the input into an error: a string that does not parse may
//! hold a password.

use super::ParseError;
use std::borrow::Cow;

/// The parameters of a connection string, in the order they appear. The password is kept
/// apart (as bytes: a percent-encoded URL password need not be UTF-8) and never rejoins the
/// text handed to the driver.
#[derive(Debug, Default)]
pub(super) struct Params {
    /// `(key, value)` pairs, values decoded. `host` appears once per host, `port` once per port.
    pub pairs: Vec<(String, String)>,
    /// The last password given.
    pub password: Option<Vec<u8>>,
}

impl Params {
    fn push(&mut self, key: &str, value: impl Into<String>) {
        self.pairs.push((key.to_string(), value.into()));
    }

    fn set(&mut self, key: &str, value: String) {
        if key == "password" {
            self.password = Some(value.into_bytes());
        } else {
            self.push(key, value);
        }
    }
}

/// The URL schemes the driver knows; matched without regard to case (URL schemes are
/// case-insensitive), which the driver itself does not do.
const SCHEMES: [&str; 2] = ["postgresql://", "postgres://"];

/// Whether `conn` is in URL form (`postgres://` or `postgresql://`, any case).
pub(super) fn url_rest(conn: &str) -> Option<&str> {
    SCHEMES.iter().find_map(|scheme| {
        conn.get(..scheme.len())
            .filter(|head| head.eq_ignore_ascii_case(scheme))
            .map(|_| &conn[scheme.len()..])
    })
}

/// Splits a connection string into its parameters.
pub(super) fn split(conn: &str) -> Result<Params, ParseError> {
    match url_rest(conn) {
        Some(rest) => split_url(rest),
        None => split_key_values(conn),
    }
}

/// The driver's URL reading: credentials up to the first `@` anywhere, then hosts up to `/` or
/// `?`, the database name up to `?`, then `key=value` pairs separated by `&`.
fn split_url(mut s: &str) -> Result<Params, ParseError> {
    let mut params = Params::default();
    // The driver ends the credentials at the first `@`; a second one means a password (or a
    // value) that was not percent-encoded, and the driver would read a host or database name
    // out of the secret.
    if s.matches('@').count() > 1 {
        return Err(ParseError::AmbiguousAt);
    }
    if let Some(at) = s.find('@') {
        let creds = &s[..at];
        s = &s[at + 1..];
        let mut parts = creds.splitn(2, ':');
        let user = parts.next().unwrap_or_default();
        // A user name holding `/` or `?` means the first `@` belongs to a later part (a query
        // value, or an unencoded `@` in a password): the driver would read a different URL
        // than its author wrote.
        if user.contains(['/', '?']) {
            return Err(ParseError::AmbiguousAt);
        }
        params.push("user", decode(user, "user name")?);
        if let Some(password) = parts.next() {
            params.password = Some(percent_encoding::percent_decode(password.as_bytes()).collect());
        }
    }
    let hosts = match s.find(['/', '?']) {
        Some(end) => {
            let (hosts, rest) = s.split_at(end);
            s = rest;
            hosts
        }
        None => std::mem::take(&mut s),
    };
    if !hosts.is_empty() {
        for chunk in hosts.split(',') {
            let (host, port) = match chunk.strip_prefix('[') {
                Some(bracketed) => {
                    let end = bracketed.find(']').ok_or(ParseError::Syntax(
                        "an IPv6 address in brackets has no closing `]`",
                    ))?;
                    let port =
                        match &bracketed[end + 1..] {
                            "" => None,
                            rest => Some(rest.strip_prefix(':').ok_or(ParseError::Syntax(
                                "text after the `]` of an IPv6 address",
                            ))?),
                        };
                    (&bracketed[..end], port)
                }
                None => {
                    let mut it = chunk.splitn(2, ':');
                    (it.next().unwrap_or_default(), it.next())
                }
            };
            params.push("host", decode_host(host)?);
            params.push("port", decode(port.unwrap_or("5432"), "port")?);
        }
    }
    if let Some(path) = s.strip_prefix('/') {
        let (dbname, rest) = match path.find('?') {
            Some(end) => path.split_at(end),
            None => (path, ""),
        };
        s = rest;
        if !dbname.is_empty() {
            params.push("dbname", decode(dbname, "database name")?);
        }
    }
    if let Some(mut query) = s.strip_prefix('?') {
        while !query.is_empty() {
            let eq = query
                .find('=')
                .ok_or(ParseError::Syntax("a query parameter has no `=`"))?;
            let key = decode(&query[..eq], "option name")?;
            query = &query[eq + 1..];
            let value = match query.find('&') {
                Some(amp) => {
                    let value = &query[..amp];
                    query = &query[amp + 1..];
                    value
                }
                None => std::mem::take(&mut query),
            };
            if key == "host" {
                params.push("host", decode_host(value)?);
            } else {
                params.set(&key, decode(value, "option value")?.into_owned());
            }
        }
    }
    Ok(params)
}

fn decode<'a>(s: &'a str, what: &'static str) -> Result<Cow<'a, str>, ParseError> {
    percent_encoding::percent_decode(s.as_bytes())
        .decode_utf8()
        .map_err(|_| ParseError::NotUtf8(what))
}

fn decode_host(s: &str) -> Result<String, ParseError> {
    Ok(decode(s, "host")?.into_owned())
}

/// libpq's key=value form as the driver reads it: `key = value` pairs separated by white
/// space; a value is a run of non-space characters or a single-quoted string, and a backslash
/// takes the next character literally in both.
fn split_key_values(conn: &str) -> Result<Params, ParseError> {
    let mut params = Params::default();
    let mut chars = conn.chars().peekable();
    let skip_ws = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
    };
    loop {
        skip_ws(&mut chars);
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        if key.is_empty() {
            if chars.peek().is_some() {
                return Err(ParseError::Syntax("an option has no name before `=`"));
            }
            break;
        }
        skip_ws(&mut chars);
        if chars.next_if_eq(&'=').is_none() {
            return Err(ParseError::Syntax(
                "an option has no `=` (key=value strings are `host=... user=... dbname=...`; \
                 URLs start with postgres://)",
            ));
        }
        skip_ws(&mut chars);
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    None => return Err(ParseError::Syntax("a quoted value has no closing `'`")),
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
            if value.is_empty() {
                return Err(ParseError::Syntax("an option has no value after `=`"));
            }
        }
        if key == "host" {
            // The driver splits hosts (and ports) on commas; keep one pair per host.
            for host in value.split(',') {
                params.push("host", host);
            }
        } else if key == "port" {
            for port in value.split(',') {
                params.push("port", port);
            }
        } else {
            params.set(&key, value);
        }
    }
    Ok(params)
}

/// A value quoted for libpq's key=value form: single quotes, with `\` and `'` escaped.
pub(super) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\\' || c == '\'' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(conn: &str) -> Vec<(String, String)> {
        split(conn).unwrap().pairs
    }

    #[test]
    fn url_credentials_end_at_the_first_at_sign_as_the_driver_reads_them() {
        let p = split("postgres://app:pa/ss?w#rd@db:6432/shop?sslmode=require").unwrap();
        assert_eq!(p.password.as_deref(), Some(&b"pa/ss?w#rd"[..]));
        assert_eq!(
            p.pairs,
            [
                ("user".into(), "app".into()),
                ("host".into(), "db".into()),
                ("port".into(), "6432".into()),
                ("dbname".into(), "shop".into()),
                ("sslmode".into(), "require".into())
            ]
        );
    }

    #[test]
    fn an_at_sign_that_cannot_start_the_host_is_refused() {
        assert!(matches!(
            split("postgres://db/app?application_name=a@b"),
            Err(ParseError::AmbiguousAt)
        ));
    }

    #[test]
    fn key_values_with_quotes_escapes_and_host_lists() {
        let p = split("host=a,b port=1,2 password='it\\'s me' dbname=x\\ y").unwrap();
        assert_eq!(p.password.as_deref(), Some(&b"it's me"[..]));
        assert_eq!(
            pairs("host=a,b port=1,2 dbname=x\\ y"),
            [
                ("host".into(), "a".into()),
                ("host".into(), "b".into()),
                ("port".into(), "1".into()),
                ("port".into(), "2".into()),
                ("dbname".into(), "x y".into())
            ]
        );
    }

    #[test]
    fn upper_case_schemes_are_urls() {
        assert_eq!(url_rest("POSTGRES://u@h/db"), Some("u@h/db"));
        assert_eq!(url_rest("PostgreSQL://h"), Some("h"));
        assert_eq!(url_rest("host=h"), None);
    }

    #[test]
    fn quoting_round_trips() {
        let p = split(&format!("dbname={}", quote("a b'c\\d"))).unwrap();
        assert_eq!(p.pairs, [("dbname".into(), "a b'c\\d".into())]);
    }
}
