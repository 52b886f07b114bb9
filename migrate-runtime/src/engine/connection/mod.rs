//! Connection strings, parsed once into a [`ConnInfo`]: what the driver will connect with, the
//! TLS options, and every form of it that is ever shown (a redacted URL, a `user@host:port/db`
//! label), whether it is on this machine (from every host *and* `hostaddr` the driver would
//! use), and connecting with the whole handshake bounded in time.
//!
//! - `tokens`: the text split into parameters the way the `postgres` crate reads it;
//! - `target`: the addresses the driver connects to, and which are local;
//! - `connect`: connecting, error text and hints.
//!
//! Nothing derived from the raw text is ever displayed: a string that does not parse is
//! reported without any of its text, since it may hold a password.

mod connect;
mod target;
mod tokens;

pub use connect::{ConnectError, DEFAULT_CONNECT_TIMEOUT, error_text};
pub use target::Target;

use super::tls::{SslMode, TlsOptions};
use postgres::Config;
use postgres::config::Host;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Why a connection string was refused. The message never contains text of the connection
/// string (only option names, which are the driver's or libpq's own).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The text does not follow the URL or key=value syntax.
    #[error("{0}")]
    Syntax(&'static str),
    /// A URL with an `@` the driver would read differently from its author.
    #[error(
        "the URL has more than one `@`, or one after its host: percent-encode `@` in a user \
         name, password or option value as `%40`"
    )]
    AmbiguousAt,
    /// A percent-encoded part is not UTF-8.
    #[error("the {0} is not valid UTF-8 once percent-decoded")]
    NotUtf8(&'static str),
    /// An option neither the driver nor cargo-migrate knows.
    #[error("unknown option{}", .suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownOption {
        /// A known option close to the one given.
        suggestion: Option<&'static str>,
    },
    /// A libpq option cargo-migrate does not support.
    #[error("`{option}` is not supported: {why}")]
    Unsupported {
        /// The option.
        option: &'static str,
        /// Why, and what to do instead.
        why: &'static str,
    },
    /// A host name that cannot be one (it holds `@`, `/` or white space), typically part of
    /// a password that was not percent-encoded.
    #[error(
        "a host name holds `@`, `/` or white space: if the password contains `@`, percent-encode \
         it as `%40`"
    )]
    InvalidHost,
    /// An option with a value it cannot have.
    #[error("invalid value for `{option}`{}", .expected.map(|e| format!(" (expected {e})")).unwrap_or_default())]
    InvalidValue {
        /// The option.
        option: &'static str,
        /// What it accepts.
        expected: Option<&'static str>,
    },
}

/// The options the `postgres` crate reads (besides the TLS ones handled here).
const DRIVER_OPTIONS: &[&str] = &[
    "user",
    "password",
    "dbname",
    "options",
    "application_name",
    "sslnegotiation",
    "host",
    "hostaddr",
    "port",
    "connect_timeout",
    "tcp_user_timeout",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_retries",
    "target_session_attrs",
    "channel_binding",
    "load_balance_hosts",
];

/// The TLS options cargo-migrate reads itself (the driver knows fewer `sslmode`s).
const TLS_OPTIONS: &[&str] = &["sslmode", "sslrootcert"];

/// libpq options that are recognised but refused, with why.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "sslcert",
        "client certificates are not supported; authenticate with a password",
    ),
    (
        "sslkey",
        "client certificates are not supported; authenticate with a password",
    ),
    (
        "sslpassword",
        "client certificates are not supported; authenticate with a password",
    ),
    ("sslcrl", "certificate revocation lists are not supported"),
    (
        "sslcrldir",
        "certificate revocation lists are not supported",
    ),
    (
        "service",
        "service files are not read; give the host, port, user and dbname",
    ),
    (
        "passfile",
        "password files are not read; give the password in the URL or DATABASE_URL",
    ),
    (
        "gssencmode",
        "GSSAPI is not supported; use sslmode for encryption",
    ),
    ("krbsrvname", "Kerberos is not supported"),
    ("requirepeer", "peer checks are not supported"),
];

/// A connection string, parsed once with the `postgres` crate's parser (the TLS options it
/// does not know are read here). Every display, locality check and redaction derives from this
/// value, never from the text.
///
/// ```
/// use migrate_runtime::engine::connection::ConnInfo;
/// let c: ConnInfo = "postgres://app:s3/cr?t@db.internal:6432/shop?sslmode=verify-full".parse().unwrap();
/// assert_eq!(c.label(), "app@db.internal:6432/shop");
/// assert_eq!(c.redacted(), "postgres://app:***@db.internal:6432/shop?sslmode=verify-full");
/// assert!(!c.is_local());
/// let kv: ConnInfo = "host=localhost hostaddr=10.1.2.3 user=app password='x y' dbname=shop".parse().unwrap();
/// assert_eq!(kv.label(), "app@localhost (10.1.2.3):5432/shop");
/// assert!(!kv.is_local(), "the driver connects to 10.1.2.3");
/// ```
#[derive(Clone)]
pub struct ConnInfo {
    config: Config,
    tls: TlsOptions,
}

impl FromStr for ConnInfo {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<ConnInfo, ParseError> {
        ConnInfo::parse(s)
    }
}

impl ConnInfo {
    /// Parses a connection string (URL or key=value).
    ///
    /// ```
    /// use migrate_runtime::engine::connection::{ConnInfo, ParseError};
    /// assert!(ConnInfo::parse("postgres://u@h/db").is_ok());
    /// assert_eq!(
    ///     ConnInfo::parse("host=h PASSWORD=x").unwrap_err().to_string(),
    ///     "unknown option (did you mean `password`?)"
    /// );
    /// assert_eq!(ConnInfo::parse("postgres://u:a@b@h/db").unwrap_err(), ParseError::AmbiguousAt);
    /// ```
    pub fn parse(text: &str) -> Result<ConnInfo, ParseError> {
        let params = tokens::split(text)?;
        let mut tls = TlsOptions::default();
        let mut mode_given = false;
        let mut canonical = String::new();
        for (key, value) in &params.pairs {
            let key = key.as_str();
            if let Some((option, why)) = UNSUPPORTED.iter().find(|(k, _)| *k == key) {
                return Err(ParseError::Unsupported { option, why });
            }
            match key {
                "sslmode" => {
                    tls.mode = SslMode::parse(value).ok_or(ParseError::InvalidValue {
                        option: "sslmode",
                        expected: Some("disable, allow, prefer, require, verify-ca or verify-full"),
                    })?;
                    mode_given = true;
                }
                "sslrootcert" => tls.root_cert = Some(value.into()),
                _ if DRIVER_OPTIONS.contains(&key) => {
                    canonical.push_str(key);
                    canonical.push('=');
                    canonical.push_str(&tokens::quote(value));
                    canonical.push(' ');
                }
                _ => {
                    return Err(ParseError::UnknownOption {
                        suggestion: suggest(key),
                    });
                }
            }
        }
        if mode_given {
            canonical.push_str("sslmode=");
            canonical.push_str(tls.mode.for_driver());
        }
        let mut config = Config::from_str(&canonical).map_err(driver_error)?;
        if let Some(password) = &params.password {
            config.password(password);
        }
        let info = ConnInfo { config, tls };
        info.check_hosts()?;
        Ok(info)
    }

    /// A host name holding `@`, `/` or white space comes from a password or option that was
    /// not percent-encoded: connecting to it would show part of the secret in every message.
    fn check_hosts(&self) -> Result<(), ParseError> {
        let suspicious = self.config.get_hosts().iter().any(|h| match h {
            Host::Tcp(name) => name.contains(['@', '/']) || name.contains(char::is_whitespace),
            #[cfg(unix)]
            Host::Unix(_) => false,
        });
        if suspicious {
            return Err(ParseError::InvalidHost);
        }
        Ok(())
    }

    /// The driver's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The TLS options (`sslmode`, `sslrootcert`).
    pub fn tls(&self) -> &TlsOptions {
        &self.tls
    }

    /// The database the server will use: `dbname`, else the user name (as PostgreSQL does).
    ///
    /// ```
    /// # use migrate_runtime::engine::connection::ConnInfo;
    /// assert_eq!(ConnInfo::parse("host=h user=app").unwrap().dbname(), "app");
    /// ```
    pub fn dbname(&self) -> &str {
        self.config
            .get_dbname()
            .or(self.config.get_user())
            .unwrap_or("")
    }

    /// The same connection with another database name (shadow and test databases).
    ///
    /// ```
    /// # use migrate_runtime::engine::connection::ConnInfo;
    /// let c = ConnInfo::parse("postgres://u:pw@h/app").unwrap().with_dbname("app_shadow");
    /// assert_eq!(c.redacted(), "postgres://u:***@h:5432/app_shadow");
    /// ```
    pub fn with_dbname(&self, dbname: &str) -> ConnInfo {
        let mut copy = self.clone();
        copy.config.dbname(dbname);
        copy
    }

    /// Every address the driver may connect to, in order.
    pub fn targets(&self) -> Vec<Target> {
        target::targets(&self.config)
    }

    /// Whether every address the driver may connect to is on this machine (a loopback
    /// address, `localhost`, or a unix socket); decided without connecting.
    ///
    /// ```
    /// # use migrate_runtime::engine::connection::ConnInfo;
    /// assert!(ConnInfo::parse("postgres://u@127.0.0.1/db").unwrap().is_local());
    /// assert!(ConnInfo::parse("host=/var/run/postgresql dbname=db").unwrap().is_local());
    /// assert!(!ConnInfo::parse("postgres://u@localhost/db?hostaddr=192.0.2.7").unwrap().is_local());
    /// ```
    pub fn is_local(&self) -> bool {
        self.first_remote().is_none() && !self.targets().is_empty()
    }

    /// The first address the driver may connect to that is not on this machine.
    pub fn first_remote(&self) -> Option<Target> {
        self.targets().into_iter().find(|t| !t.is_local())
    }

    /// `user@host:port/dbname` for messages (with `host (hostaddr)` when both are given).
    pub fn label(&self) -> String {
        let hosts = self
            .targets()
            .iter()
            .map(Target::label)
            .collect::<Vec<_>>()
            .join(",");
        let user = self.config.get_user().unwrap_or("(default user)");
        format!("{user}@{hosts}/{}", self.dbname())
    }

    /// The connection as a URL with the password replaced by `***`, built from the parsed
    /// configuration (user, hosts, ports, `hostaddr`, database and `sslmode`).
    pub fn redacted(&self) -> String {
        use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
        /// Everything but the URL's unreserved characters is encoded.
        const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'.')
            .remove(b'_')
            .remove(b'~');
        let enc = |s: &str| utf8_percent_encode(s, COMPONENT).to_string();
        let mut out = String::from("postgres://");
        if let Some(user) = self.config.get_user() {
            out.push_str(&enc(user));
            if self.config.get_password().is_some() {
                out.push_str(":***");
            }
            out.push('@');
        }
        let targets = self.targets();
        let hosts: Vec<String> = targets
            .iter()
            .map(|t| {
                let host = match &t.host {
                    Some(Host::Tcp(h)) if h.contains(':') => format!("[{h}]"),
                    Some(Host::Tcp(h)) => enc(h),
                    #[cfg(unix)]
                    Some(Host::Unix(p)) => enc(&p.to_string_lossy()),
                    None => String::new(),
                };
                format!("{host}:{}", t.port)
            })
            .collect();
        out.push_str(&hosts.join(","));
        out.push('/');
        out.push_str(&enc(self.config.get_dbname().unwrap_or("")));
        let mut query = Vec::new();
        let addrs: Vec<String> = targets
            .iter()
            .filter_map(|t| t.hostaddr.map(|a| a.to_string()))
            .collect();
        if !addrs.is_empty() {
            query.push(format!("hostaddr={}", addrs.join(",")));
        }
        if self.tls.mode != SslMode::default() {
            query.push(format!("sslmode={}", self.tls.mode.as_str()));
        }
        if !query.is_empty() {
            out.push('?');
            out.push_str(&query.join("&"));
        }
        out
    }

    /// `text` with every occurrence of the password replaced by `***` (for messages that quote
    /// what a server or library said).
    ///
    /// ```
    /// # use migrate_runtime::engine::connection::ConnInfo;
    /// let c = ConnInfo::parse("postgres://u:s3cret@h/db").unwrap();
    /// assert_eq!(c.scrub("failed: s3cret"), "failed: ***");
    /// ```
    pub fn scrub(&self, text: &str) -> String {
        match self.config.get_password() {
            Some(pw) if !pw.is_empty() => text.replace(&*String::from_utf8_lossy(pw), "***"),
            _ => text.to_string(),
        }
    }

    /// The connect timeout given in the connection string, if any.
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.config.get_connect_timeout().copied()
    }
}

impl fmt::Display for ConnInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for ConnInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnInfo({})", self.redacted())
    }
}

/// The driver's own refusal of the canonical text (which holds no password and only values
/// already split out): its message names the option, never the value.
fn driver_error(e: postgres::Error) -> ParseError {
    let text = error_text(&e);
    for option in DRIVER_OPTIONS {
        if text.contains(&format!("`{option}`")) {
            return ParseError::InvalidValue {
                option,
                expected: expected(option),
            };
        }
    }
    ParseError::Syntax("the driver cannot read this connection string")
}

fn expected(option: &str) -> Option<&'static str> {
    Some(match option {
        "port" => "a port number, or a comma-separated list of them",
        "hostaddr" => "an IP address, or a comma-separated list of them",
        "connect_timeout" | "tcp_user_timeout" | "keepalives_idle" | "keepalives_interval" => {
            "a whole number of seconds"
        }
        "keepalives" | "keepalives_retries" => "a whole number",
        "target_session_attrs" => "any, read-write or read-only",
        "channel_binding" => "disable, prefer or require",
        "load_balance_hosts" => "disable or random",
        "sslnegotiation" => "postgres or direct",
        _ => return None,
    })
}

/// A known option close to `key` (case, or one or two edits away), without echoing `key`.
fn suggest(key: &str) -> Option<&'static str> {
    let lower = key.to_ascii_lowercase();
    let known = DRIVER_OPTIONS
        .iter()
        .chain(TLS_OPTIONS)
        .chain(UNSUPPORTED.iter().map(|(k, _)| k));
    known
        .map(|k| (*k, edit_distance(&lower, k)))
        .filter(|(_, d)| *d <= 2)
        .min_by_key(|(_, d)| *d)
        .map(|(k, _)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests;
