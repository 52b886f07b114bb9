//! TLS as libpq's `sslmode` and `sslrootcert` describe it, with rustls (no system OpenSSL):
//!
//! | `sslmode` | encrypted | certificate checked | host name checked |
//! |---|---|---|---|
//! | `disable` | no | | |
//! | `allow`, `prefer` (default) | if the server offers it | no | no |
//! | `require` | yes | only with `sslrootcert` (then as `verify-ca`) | no |
//! | `verify-ca` | yes | yes | no |
//! | `verify-full` | yes | yes | yes |
//!
//! The certificates trusted are those in `sslrootcert` (PEM), else `~/.postgresql/root.crt`
//! when it exists, else the system's; `sslrootcert=system` means the system's. A self-signed
//! server certificate listed in `sslrootcert` is trusted as itself (as libpq does).
//!
//! The `postgres` crate knows only `disable`, `prefer` and `require`, so the TLS options are
//! taken out of the connection string here and the rest is parsed by the crate.

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS if the server offers it (treated as `prefer`).
    Allow,
    /// TLS if the server offers it, certificate not checked.
    #[default]
    Prefer,
    /// TLS or nothing, certificate not checked (unless `sslrootcert` is given).
    Require,
    /// TLS, certificate signed by a trusted authority.
    VerifyCa,
    /// TLS, trusted certificate issued for the host connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode, String> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "invalid sslmode `{other}` (use disable, allow, prefer, require, verify-ca or verify-full)"
                ));
            }
        })
    }

    /// The mode the `postgres` crate is given.
    fn for_driver(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow | SslMode::Prefer => "prefer",
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => "require",
        }
    }

    /// Whether the certificate chain is checked.
    fn verifies(self, root_cert: bool) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
            || (self == SslMode::Require && root_cert)
    }
}

/// The TLS options of a connection string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// `sslmode`.
    pub mode: SslMode,
    /// `sslrootcert`.
    pub root_cert: Option<PathBuf>,
}

/// Splits the TLS options off a connection string (URL or key=value). Returns the string the
/// `postgres` crate can parse (with `sslmode` mapped to what it knows) and the options.
///
/// ```
/// use migrate_runtime::engine::tls::{split_tls_options, SslMode};
/// let (rest, tls) = split_tls_options("postgres://u@db/app?sslmode=verify-full&sslrootcert=%2Fca.pem").unwrap();
/// assert_eq!(rest, "postgres://u@db/app?sslmode=require");
/// assert_eq!(tls.mode, SslMode::VerifyFull);
/// assert_eq!(tls.root_cert.unwrap(), std::path::Path::new("/ca.pem"));
/// let (rest, tls) = split_tls_options("host=db sslmode='verify-ca' sslrootcert=/ca.pem user=u").unwrap();
/// assert_eq!(rest, "host=db user=u sslmode=require");
/// assert_eq!(tls.mode, SslMode::VerifyCa);
/// ```
pub fn split_tls_options(conn: &str) -> Result<(String, TlsOptions), String> {
    let mut tls = TlsOptions::default();
    let mut mode_given = false;
    let mut take = |key: &str, value: &str| -> Result<bool, String> {
        match key {
            "sslmode" => {
                tls.mode = SslMode::parse(value)?;
                mode_given = true;
            }
            "sslrootcert" => tls.root_cert = Some(PathBuf::from(value)),
            "sslcert" | "sslkey" | "sslpassword" => {
                return Err(format!(
                    "`{key}`: client certificates are not supported; authenticate with a password"
                ));
            }
            _ => return Ok(false),
        }
        Ok(true)
    };
    let rest = if conn.starts_with("postgres://") || conn.starts_with("postgresql://") {
        match conn.split_once('?') {
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    let value = percent_encoding::percent_decode_str(v).decode_utf8_lossy();
                    if !take(k, &value)? {
                        kept.push(pair.to_string());
                    }
                }
                let mut out = base.to_string();
                let mut sep = '?';
                for pair in &kept {
                    out.push(sep);
                    out.push_str(pair);
                    sep = '&';
                }
                if mode_given {
                    out.push(sep);
                    out.push_str("sslmode=");
                    out.push_str(tls.mode.for_driver());
                }
                out
            }
            None => conn.to_string(),
        }
    } else {
        let mut kept = Vec::new();
        for (key, value, raw) in key_values(conn)? {
            if !take(&key, &value)? {
                kept.push(raw);
            }
        }
        if mode_given {
            kept.push(format!("sslmode={}", tls.mode.for_driver()));
        }
        kept.join(" ")
    };
    Ok((rest, tls))
}

/// The `key=value` pairs of a libpq key=value string: key, unquoted value, and the pair as
/// written.
fn key_values(conn: &str) -> Result<Vec<(String, String, String)>, String> {
    let mut out = Vec::new();
    let mut chars = conn.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        if chars.next_if(|(_, c)| *c == '=').is_none() {
            return Err(format!("missing `=` after `{key}`"));
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if(|(_, c)| *c == '\'').is_some() {
            let mut closed = false;
            while let Some((_, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, e)) = chars.next() {
                            value.push(e);
                        }
                    }
                    '\'' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(format!("unterminated quoted value for `{key}`"));
            }
        } else {
            while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some((_, e)) = chars.next() {
                        value.push(e);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        let end = chars.peek().map_or(conn.len(), |(i, _)| *i);
        out.push((key, value, conn[start..end].trim_end().to_string()));
    }
    Ok(out)
}

/// The rustls connector for these options.
pub fn connector(tls: &TlsOptions) -> Result<MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let check = if tls.mode.verifies(tls.root_cert.is_some()) {
        let (roots, pinned) = trusted(tls.root_cert.as_deref())?;
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| format!("cannot use the trusted certificates: {e}"))?;
        Some(Check {
            webpki,
            pinned,
            check_name: tls.mode == SslMode::VerifyFull,
        })
    } else {
        None
    };
    let verifier = Arc::new(Verifier {
        provider: provider.clone(),
        check,
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// The trusted certificates, and those of them that are not authorities (self-signed server
/// certificates, trusted as themselves).
fn trusted(
    root_cert: Option<&Path>,
) -> Result<(RootCertStore, Vec<CertificateDer<'static>>), String> {
    let default = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".postgresql/root.crt"))
        .filter(|p| p.is_file());
    let file = match root_cert {
        Some(p) if p == Path::new("system") => None,
        Some(p) => Some(p.to_path_buf()),
        None => default,
    };
    let certs: Vec<CertificateDer<'static>> = match &file {
        Some(path) => {
            let iter = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read sslrootcert {}: {e}", path.display()))?;
            iter.collect::<Result<_, _>>()
                .map_err(|e| format!("cannot read sslrootcert {}: {e}", path.display()))?
        }
        None => rustls_native_certs::load_native_certs().certs,
    };
    if certs.is_empty() {
        return Err(match &file {
            Some(path) => format!("sslrootcert {} holds no PEM certificate", path.display()),
            None => "no trusted certificates: set sslrootcert to the server's CA certificate (PEM)"
                .into(),
        });
    }
    let mut roots = RootCertStore::empty();
    let mut pinned = Vec::new();
    for cert in certs {
        if roots.add(cert.clone()).is_err() || file.is_some() {
            pinned.push(cert);
        }
    }
    Ok((roots, pinned))
}

/// How the server's certificate is judged. Without a [`Check`] (`prefer`, `require` without
/// `sslrootcert`) the connection is encrypted and the certificate not checked, as libpq does;
/// the handshake signatures are verified either way.
#[derive(Debug)]
struct Verifier {
    provider: Arc<CryptoProvider>,
    check: Option<Check>,
}

/// `verify-ca` / `verify-full`: the chain must lead to a trusted certificate (or the server's
/// certificate must be one of the trusted ones); `verify-full` also checks the host name.
#[derive(Debug)]
struct Check {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
    check_name: bool,
}

impl Check {
    fn verify(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result =
            self.webpki
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
        match result {
            Ok(v) => Ok(v),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            Err(e)
                if self
                    .pinned
                    .iter()
                    .any(|p| p.as_ref() == end_entity.as_ref()) =>
            {
                if self.check_name {
                    let cert =
                        webpki::EndEntityCert::try_from(end_entity).map_err(|_| e.clone())?;
                    cert.verify_is_valid_for_subject_name(server_name)
                        .map_err(|_| {
                            rustls::Error::InvalidCertificate(CertificateError::NotValidForName)
                        })?;
                }
                Ok(ServerCertVerified::assertion())
            }
            Err(e) => Err(e),
        }
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.check {
            Some(check) => check.verify(end_entity, intermediates, server_name, ocsp, now),
            None => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
