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
//! read by [`ConnInfo`](super::connection::ConnInfo) and the rest is parsed by the crate.

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
    /// Parses libpq's name of a mode.
    ///
    /// ```
    /// use migrate_runtime::engine::tls::SslMode;
    /// assert_eq!(SslMode::parse("verify-full"), Some(SslMode::VerifyFull));
    /// assert_eq!(SslMode::parse("verify"), None);
    /// ```
    pub fn parse(value: &str) -> Option<SslMode> {
        Some(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    /// libpq's name of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// The mode the `postgres` crate is given.
    pub(crate) fn for_driver(self) -> &'static str {
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
