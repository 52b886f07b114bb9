//! Connecting: TLS as `sslmode` says, the session named `cargo-migrate` (so other sessions can
//! see who holds the migration lock), and the whole handshake (TCP, TLS, startup,
//! authentication) bounded in time, since the driver's own `connect_timeout` covers only the
//! TCP connect and a server that accepts and never answers would hang forever.

use super::ConnInfo;
use super::target::host_text;
use crate::engine::tls;
use postgres::Client;
use std::sync::mpsc;
use std::time::Duration;

/// How long connecting may take when neither the connection string (`connect_timeout`) nor the
/// caller says otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a connection could not be made; the message never holds the password.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    /// One line: what failed, where.
    pub message: String,
    /// What to check.
    pub hint: String,
}

impl ConnInfo {
    /// Connects, bounding the whole handshake by the connection string's `connect_timeout`, else
    /// `timeout`, else [`DEFAULT_CONNECT_TIMEOUT`].
    ///
    /// ```no_run
    /// use migrate_runtime::engine::connection::ConnInfo;
    /// let info = ConnInfo::parse("postgres://postgres@localhost/app")?;
    /// let mut client = info.connect(None)?;
    /// client.batch_execute("SELECT 1")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn connect(&self, timeout: Option<Duration>) -> Result<Client, ConnectError> {
        let timeout = self
            .connect_timeout()
            .or(timeout)
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let connector = tls::connector(&self.tls).map_err(|e| ConnectError {
            message: format!("cannot set up TLS for {}: {e}", self.label()),
            hint: "check sslrootcert (a PEM file with the server's CA certificate)".into(),
        })?;
        let mut config = self.config.clone();
        if config.get_application_name().is_none() {
            config.application_name("cargo-migrate");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(timeout);
        }
        // The driver blocks until the server answers; a thread of its own lets the wait end.
        // After a timeout the thread is left to finish (or not) on its own; its result is
        // dropped.
        let (send, receive) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("cargo-migrate-connect".into())
            .spawn(move || {
                let _ = send.send(config.connect(connector));
            })
            .map_err(|e| ConnectError {
                message: format!("cannot connect to {}: {e}", self.label()),
                hint: String::new(),
            })?;
        match receive.recv_timeout(timeout) {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(e)) => {
                let detail = self.scrub(&error_text(&e)).replace('\n', " ");
                Err(ConnectError {
                    message: format!("cannot connect to {}: {detail}", self.label()),
                    hint: self.hint(&detail),
                })
            }
            Err(_) => Err(ConnectError {
                message: format!(
                    "cannot connect to {}: no answer from the server within {} s",
                    self.label(),
                    timeout.as_secs_f64()
                ),
                hint: format!(
                    "the address accepts connections but no PostgreSQL answered (a proxy or \
                     load balancer without a server behind it, or the wrong port?); raise \
                     connect_timeout if the server is just slow ({})",
                    self.pg_isready()
                ),
            }),
        }
    }

    /// Sends PostgreSQL a cancel request for the running statement of a session this
    /// connection opened (`token`: [`Client::cancel_token`]), connecting the same way: TLS as
    /// `sslmode` and `sslrootcert` say. The error never holds the password.
    pub fn cancel(&self, token: &postgres::CancelToken) -> Result<(), String> {
        let connector = tls::connector(&self.tls)
            .map_err(|e| format!("cannot set up TLS for {}: {e}", self.label()))?;
        token
            .cancel_query(connector)
            .map_err(|e| self.scrub(&error_text(&e)).replace('\n', " "))
    }

    fn pg_isready(&self) -> String {
        let target = self.targets().into_iter().next();
        let host = target
            .as_ref()
            .map_or("<host>".to_string(), |t| t.address());
        let port = target.map_or(5432, |t| t.port);
        format!("`pg_isready -h {host} -p {port}`")
    }

    /// What to check, from the text of a connection error.
    fn hint(&self, detail: &str) -> String {
        let host = self
            .config
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
            format!(
                "is the server running and reachable? ({}); does it require TLS \
                 (sslmode=require)?",
                self.pg_isready()
            )
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_follows_the_error() {
        let c = ConnInfo::parse("postgres://app@db.internal:6432/shop").unwrap();
        let name = "the server's certificate is not issued for `db.internal`: connect with a host \
                    name the certificate names, or use sslmode=verify-ca";
        let cases = [
            (
                "password authentication failed for user \"app\"",
                "check the user and password",
            ),
            ("invalid peer certificate: NotValidForName", name),
            ("certificate not valid for name \"other\"", name),
            (
                "invalid peer certificate: UnknownIssuer",
                "the server's certificate is not trusted: set sslrootcert to the CA certificate \
                 (PEM) that signed it, or use sslmode=require to encrypt without checking it",
            ),
            (
                "database \"shop\" does not exist",
                "check the database name (create it with `createdb`)",
            ),
            (
                "Connection refused (os error 111)",
                "is the server running and reachable? (`pg_isready -h db.internal -p 6432`); \
                 does it require TLS (sslmode=require)?",
            ),
        ];
        for (detail, hint) in cases {
            assert_eq!(c.hint(detail), hint, "{detail}");
        }
    }
}
