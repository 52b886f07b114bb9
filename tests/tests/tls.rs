//! TLS: `sslmode` and `sslrootcert` against a private cluster started with `ssl = on` and a
//! certificate made here (a CA of the test's own, and a server certificate it signs for
//! `localhost` only). The cluster accepts TCP connections with TLS only.

use migrate_runtime::devdb::ClusterOptions;
use migrate_tests::{PrivateCluster, Project, Run};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

/// A private cluster and the certificates a client may trust.
struct Cluster {
    /// Held so the cluster lives as long as the test uses it.
    _server: PrivateCluster,
    port: u16,
    ca: std::path::PathBuf,
    other_ca: std::path::PathBuf,
}

fn ca(name: &str) -> (CertificateParams, KeyPair, String) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("test setup");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let key = KeyPair::generate().expect("test setup");
    let pem = params.self_signed(&key).expect("test setup").pem();
    (params, key, pem)
}

/// How the test server's certificate is made.
#[derive(PartialEq)]
enum Cert {
    /// No TLS at all.
    None,
    /// Signed by a CA made here (`ca` is the CA).
    CaSigned,
    /// Self-signed with CA:TRUE, as `openssl req -x509` makes them (`ca` is the certificate).
    SelfSigned,
}

fn cluster(cert: Cert) -> Cluster {
    let (ca_params, ca_key, mut ca_pem) = ca("cargo-migrate test CA");
    let (_, _, other_pem) = ca("someone else's CA");
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().expect("test setup");
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).expect("test setup");
    let server = if cert == Cert::SelfSigned {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let server = params.self_signed(&server_key).expect("test setup");
        ca_pem = server.pem();
        server
    } else {
        params.signed_by(&server_key, &issuer).expect("test setup")
    };
    let mut options = ClusterOptions::default();
    if cert != Cert::None {
        options = options
            .setting("ssl", "on")
            .setting("ssl_cert_file", "server.crt")
            .setting("ssl_key_file", "server.key")
            .file("server.crt", server.pem().into_bytes())
            .file("server.key", server_key.serialize_pem().into_bytes())
            .hba("local all all trust\nhostssl all all 127.0.0.1/32 trust\n");
    }
    let server = PrivateCluster::start(options);
    let ca = server.path().join("ca.pem");
    let other_ca = server.path().join("other-ca.pem");
    std::fs::write(&ca, &ca_pem).expect("test setup");
    std::fs::write(&other_ca, &other_pem).expect("test setup");
    Cluster {
        port: server.port(),
        _server: server,
        ca,
        other_ca,
    }
}

/// `cargo migrate status` against `url` in a project with one pending migration.
fn status(url: &str) -> Run {
    let p = Project::new();
    p.migration(
        "20260101000000_a",
        "CREATE TABLE a (id int);",
        Some("DROP TABLE a;"),
    );
    p.run(&["--database-url", url, "status"])
}

#[test]
fn require_and_verify_full_connect_over_tls() {
    let c = cluster(Cert::CaSigned);
    let port = c.port;
    let ca = c.ca.display();
    for url in [
        format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=require"),
        format!(
            "postgres://postgres@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={ca}"
        ),
        format!("host=localhost port={port} user=postgres sslmode=verify-full sslrootcert='{ca}'"),
        // verify-ca checks the chain, not the name: 127.0.0.1 is not in the certificate.
        format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=verify-ca&sslrootcert={ca}"),
        // The default (prefer) uses TLS when the server offers it; this server insists.
        format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        // allow too, when plain is refused.
        format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=allow"),
    ] {
        let run = status(&url);
        assert_eq!(run.code, 4, "{url}: {run:?}");
        assert!(run.stdout.contains("1 pending"), "{url}: {}", run.stdout);
    }
}

#[test]
fn verification_failures_are_one_line_with_a_hint() {
    let c = cluster(Cert::CaSigned);
    let port = c.port;
    let cases = [
        (
            format!(
                "postgres://postgres@127.0.0.1:{port}/postgres?sslmode=verify-full&sslrootcert={}",
                c.ca.display()
            ),
            "certificate not valid for name \"127.0.0.1\"",
            "help: the server's certificate is not issued for `127.0.0.1`",
        ),
        (
            format!(
                "postgres://postgres:hunter2@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={}",
                c.other_ca.display()
            ),
            "invalid peer certificate: UnknownIssuer",
            "help: the server's certificate is not trusted: set sslrootcert",
        ),
        (
            format!("host=127.0.0.1 port={port} user=postgres password=hunter2 sslmode=disable"),
            "no encryption",
            "help: the server accepts only TLS connections: add sslmode=require",
        ),
        (
            // The system's certificates do not include the test's CA.
            format!(
                "postgres://postgres:hunter2@localhost:{port}/postgres?sslmode=verify-full&sslrootcert=system"
            ),
            "invalid peer certificate: UnknownIssuer",
            "help: the server's certificate is not trusted: set sslrootcert",
        ),
        (
            // require with sslrootcert checks the chain, as libpq does.
            format!(
                "postgres://postgres@localhost:{port}/postgres?sslmode=require&sslrootcert={}",
                c.other_ca.display()
            ),
            "UnknownIssuer",
            "help: the server's certificate is not trusted",
        ),
    ];
    for (url, error, hint) in cases {
        let run = status(&url);
        assert_eq!(run.code, 1, "{url}: {run:?}");
        let first = run.stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: cannot connect to postgres@") && first.contains(error),
            "{url}:\n{}",
            run.stderr
        );
        assert!(run.stderr.contains(hint), "{url}:\n{}", run.stderr);
        assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
        assert!(!run.stdout.contains("hunter2"), "{}", run.stdout);
    }
}

#[test]
fn require_fails_when_the_server_offers_no_tls() {
    let c = cluster(Cert::None);
    let url = format!(
        "postgres://postgres:hunter2@127.0.0.1:{}/postgres?sslmode=require",
        c.port
    );
    let run = status(&url);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.starts_with(&format!(
            "error: cannot connect to postgres@127.0.0.1:{}/postgres: ",
            c.port
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("server does not support TLS"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("help: the server does not offer TLS: use sslmode=prefer"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("hunter2"));
    // prefer and allow fall back to a plain connection.
    for mode in ["prefer", "allow"] {
        let url = format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode={mode}",
            c.port
        );
        assert_eq!(status(&url).code, 4, "{mode}");
    }
}

#[test]
fn unknown_sslmode_and_client_certificates_are_clear_errors() {
    let run = status("postgres://u:hunter2@db.invalid/app?sslmode=verify");
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr.lines().next(),
        Some(
            "error: invalid database URL (from --database-url): invalid value for `sslmode` \
             (expected disable, allow, prefer, require, verify-ca or verify-full)"
        ),
        "{}",
        run.stderr
    );
    let run = status("host=db.invalid user=u password=hunter2 sslcert=/c.pem");
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("`sslcert` is not supported: client certificates are not supported"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("hunter2"));
    let run = status("postgres://u:hunter2@db.invalid/app?sslkey=/k.pem");
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("`sslkey` is not supported: client certificates are not supported"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("hunter2"));
}

#[test]
fn a_self_signed_server_certificate_in_sslrootcert_is_trusted_as_itself() {
    let c = cluster(Cert::SelfSigned);
    let (port, cert) = (c.port, c.ca.display());
    let url = format!(
        "postgres://postgres@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={cert}"
    );
    let run = status(&url);
    assert_eq!(run.code, 4, "{run:?}");
    // The name is still checked.
    let url = format!(
        "postgres://postgres@127.0.0.1:{port}/postgres?sslmode=verify-full&sslrootcert={cert}"
    );
    let run = status(&url);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("is not issued for `127.0.0.1`"),
        "{}",
        run.stderr
    );
}

/// A cancel request (a backfill's batch cancelled by a second Ctrl-C) connects as the session
/// did: over TLS, checking the server's certificate against `sslrootcert` as `verify-full`
/// says, and refused when that certificate is not trusted.
#[test]
fn a_cancel_request_connects_with_the_session_s_tls_options() {
    use migrate_runtime::engine::connection::ConnInfo;
    let c = cluster(Cert::CaSigned);
    let url = |ca: &std::path::Path| {
        format!(
            "postgres://postgres@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
            c.port,
            ca.display()
        )
    };
    let info = ConnInfo::parse(&url(&c.ca)).expect("parses");
    let mut client = info.connect(None).expect("connects");
    let token = client.cancel_token();
    let sleeping = std::thread::spawn(move || client.batch_execute("SELECT pg_sleep(60)"));
    let mut admin = info.connect(None).expect("connects");
    let started = std::time::Instant::now();
    while admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'",
            &[],
        )
        .expect("pg_stat_activity")
        .get::<_, i64>(0)
        == 0
    {
        assert!(started.elapsed().as_secs() < 30, "the query never started");
        std::thread::yield_now();
    }
    // Another CA: the request is refused before it is sent, like a connection would be.
    let untrusted = ConnInfo::parse(&url(&c.other_ca)).expect("parses");
    let refused = untrusted
        .cancel(&token)
        .expect_err("the certificate is not trusted");
    assert!(refused.contains("certificate"), "{refused}");
    info.cancel(&token).expect("cancel request sent");
    let error = sleeping
        .join()
        .expect("the query's thread")
        .expect_err("cancelled");
    assert_eq!(
        error.code(),
        Some(&postgres::error::SqlState::QUERY_CANCELED),
        "{error}"
    );
    assert!(started.elapsed().as_secs() < 30, "cancelled at once");
}
