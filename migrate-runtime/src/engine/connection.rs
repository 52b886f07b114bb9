//! Connection strings: parsing (URL or key=value), describing and redacting them so a password
//! never reaches a message, a log or a JSON report, and telling whether a host is local.

use super::tls::{self, TlsOptions, split_tls_options};
use postgres::config::Host;
use postgres::{Client, Config};
use std::str::FromStr;

/// Replaces the password of a connection string (URL userinfo, `password=` in a URL query or a
/// key=value string) with `***`.
///
/// ```
/// use migrate_runtime::engine::connection::redact;
/// assert_eq!(redact("postgres://app:s3cret@db:5432/app"), "postgres://app:***@db:5432/app");
/// assert_eq!(redact("postgresql://db/app?user=app&password=s3cret"), "postgresql://db/app?user=app&password=***");
/// assert_eq!(redact("host=db password='s e c' user=app"), "host=db password=*** user=app");
/// assert_eq!(redact("postgres://app@db/app"), "postgres://app@db/app");
/// ```
pub fn redact(conn: &str) -> String {
    if let Some(rest) = conn
        .strip_prefix("postgres://")
        .or_else(|| conn.strip_prefix("postgresql://"))
    {
        let scheme = &conn[..conn.len() - rest.len()];
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let authority = match authority.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:***@{host}"),
                None => authority.to_string(),
            },
            None => authority.to_string(),
        };
        let tail = match tail.split_once('?') {
            Some((path, query)) => {
                let query: Vec<String> = query
                    .split('&')
                    .map(|kv| {
                        if kv.starts_with("password=") {
                            "password=***".to_string()
                        } else {
                            kv.to_string()
                        }
                    })
                    .collect();
                format!("{path}?{}", query.join("&"))
            }
            None => tail.to_string(),
        };
        return format!("{scheme}{authority}{tail}");
    }
    redact_key_value(conn)
}

fn redact_key_value(conn: &str) -> String {
    let mut out = String::new();
    let mut rest = conn;
    while let Some(i) = rest.find("password") {
        let after = rest[i + "password".len()..].trim_start();
        let at_word_start = i == 0 || rest[..i].ends_with(char::is_whitespace);
        if !at_word_start || !after.starts_with('=') {
            out.push_str(&rest[..i + "password".len()]);
            rest = &rest[i + "password".len()..];
            continue;
        }
        out.push_str(&rest[..i]);
        out.push_str("password=***");
        let value = after[1..].trim_start();
        let end = if let Some(quoted) = value.strip_prefix('\'') {
            let mut escaped = false;
            let mut end = quoted.len();
            for (j, c) in quoted.char_indices() {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '\'' {
                    end = j + 1;
                    break;
                }
            }
            1 + end
        } else {
            value.find(char::is_whitespace).unwrap_or(value.len())
        };
        rest = &value[end.min(value.len())..];
    }
    out.push_str(rest);
    out
}

/// Redacts every occurrence of the connection string's password in a message (for errors that
/// might quote it).
///
/// ```
/// use migrate_runtime::engine::connection::scrub;
/// assert_eq!(scrub("failed: s3cret", "postgres://u:s3cret@h/db"), "failed: ***");
/// ```
pub fn scrub(message: &str, conn: &str) -> String {
    match parse(conn)
        .ok()
        .map(|(config, _)| config)
        .and_then(|c| c.get_password().map(<[u8]>::to_vec))
    {
        Some(pw) if !pw.is_empty() => message.replace(&*String::from_utf8_lossy(&pw), "***"),
        _ => message.to_string(),
    }
}

/// The text of a `postgres::Error`: the server's message and SQLSTATE for database errors, the
/// chain of causes otherwise (the crate's own `Display` says only "db error").
pub fn error_text(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} (SQLSTATE {})", db.message(), db.code().code());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// `user@host:port/dbname` for messages (never the password).
///
/// ```
/// use migrate_runtime::engine::connection::describe;
/// let c: postgres::Config = "postgres://app:pw@db.internal:6432/shop".parse().unwrap();
/// assert_eq!(describe(&c), "app@db.internal:6432/shop");
/// ```
pub fn describe(config: &Config) -> String {
    let host = config
        .get_hosts()
        .iter()
        .map(host_text)
        .collect::<Vec<_>>()
        .join(",");
    let host = if host.is_empty() {
        "localhost".to_string()
    } else {
        host
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("(default user)");
    let db = config.get_dbname().or(config.get_user()).unwrap_or("");
    format!("{user}@{host}:{port}/{db}")
}

/// Whether every host is local: `localhost`, a loopback address, or a unix socket.
///
/// ```
/// use migrate_runtime::engine::connection::is_local;
/// assert!(is_local(&"postgres://u@127.0.0.1/db".parse().unwrap()));
/// assert!(is_local(&"host=/var/run/postgresql dbname=db".parse().unwrap()));
/// assert!(!is_local(&"postgres://u@db.prod.internal/db".parse().unwrap()));
/// ```
pub fn is_local(config: &Config) -> bool {
    let hosts = config.get_hosts();
    !hosts.is_empty()
        && hosts.iter().all(|h| match h {
            Host::Tcp(h) => {
                h == "localhost"
                    || h.parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
            #[cfg(unix)]
            Host::Unix(_) => true,
        })
}

/// Why a connection could not be made; the message never holds the password.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    /// One line: what failed, where.
    pub message: String,
    /// What to check.
    pub hint: String,
}

/// Parses a connection string (URL or key=value, with libpq's `sslmode` and `sslrootcert`).
///
/// ```
/// use migrate_runtime::engine::connection::parse;
/// use migrate_runtime::engine::tls::SslMode;
/// let (config, tls) = parse("postgres://app@db/shop?sslmode=verify-full").unwrap();
/// assert_eq!(config.get_dbname(), Some("shop"));
/// assert_eq!(tls.mode, SslMode::VerifyFull);
/// ```
pub fn parse(conn: &str) -> Result<(Config, TlsOptions), String> {
    let (rest, tls) = split_tls_options(conn)?;
    let config = Config::from_str(&rest).map_err(|e| e.to_string())?;
    Ok((config, tls))
}

/// Parses a connection string (URL or key=value) and connects (with TLS as `sslmode` says),
/// naming the session `cargo-migrate` so other sessions can see who holds the migration lock.
pub fn connect(conn: &str) -> Result<(Client, Config), ConnectError> {
    let invalid = |e: String| ConnectError {
        message: format!(
            "invalid database URL `{}`: {}",
            redact(conn),
            scrub(&e, conn)
        ),
        hint: "use postgres://user:password@host:port/dbname or `host=... user=... dbname=...`"
            .into(),
    };
    let (mut config, tls) = parse(conn).map_err(invalid)?;
    let connector = tls::connector(&tls).map_err(|e| ConnectError {
        message: format!("cannot set up TLS for {}: {e}", describe(&config)),
        hint: "check sslrootcert (a PEM file with the server's CA certificate)".into(),
    })?;
    if config.get_application_name().is_none() {
        config.application_name("cargo-migrate");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(std::time::Duration::from_secs(10));
    }
    match config.connect(connector) {
        Ok(client) => Ok((client, config)),
        Err(e) => {
            let detail = scrub(&error_text(&e), conn).replace('\n', " ");
            Err(ConnectError {
                message: format!("cannot connect to {}: {detail}", describe(&config)),
                hint: hint(&detail, &config),
            })
        }
    }
}

/// A host name, address or socket directory as text.
fn host_text(host: &Host) -> String {
    match host {
        Host::Tcp(h) => h.clone(),
        #[cfg(unix)]
        Host::Unix(p) => p.display().to_string(),
    }
}

/// What to check, from the text of a connection error.
fn hint(detail: &str, config: &Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map_or("<host>".to_string(), host_text);
    if detail.contains("password") {
        "check the user and password".into()
    } else if detail.contains("no encryption") {
        "the server accepts only TLS connections: add sslmode=require (or verify-full with \
         sslrootcert=<CA file>)"
            .into()
    } else if detail.contains("server does not support TLS") {
        "the server does not offer TLS: use sslmode=prefer, or enable ssl on the server".into()
    } else if detail.contains("not valid for name") || detail.contains("NotValidForName") {
        format!(
            "the server's certificate is not issued for `{host}`: connect with a host name the \
             certificate names, or use sslmode=verify-ca"
        )
    } else if detail.contains("certificate") {
        "the server's certificate is not trusted: set sslrootcert to the CA certificate (PEM) \
         that signed it, or use sslmode=require to encrypt without checking it"
            .into()
    } else if detail.contains("does not exist") {
        "check the database name (create it with `createdb`)".into()
    } else {
        let port = config.get_ports().first().copied().unwrap_or(5432);
        format!(
            "is the server running and reachable? (`pg_isready -h {host} -p {port}`); does it \
             require TLS (sslmode=require)?"
        )
    }
}
