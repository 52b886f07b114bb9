use super::*;
use proptest::prelude::*;

fn parse(s: &str) -> ConnInfo {
    ConnInfo::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn hostaddr_decides_locality_in_every_form() {
    for s in [
        "host=localhost hostaddr=192.0.2.5 dbname=app",
        "postgres://u@localhost/app?hostaddr=192.0.2.5",
        "host=/var/run/postgresql hostaddr=192.0.2.5 dbname=app",
        "host=localhost,127.0.0.1 hostaddr=127.0.0.1,192.0.2.5",
        "postgres://u@[::1]:5432,db.example/app",
    ] {
        let c = parse(s);
        assert!(!c.is_local(), "{s}");
        assert!(c.first_remote().is_some(), "{s}");
    }
    let c = parse("host=localhost hostaddr=192.0.2.5 user=app dbname=app");
    assert_eq!(c.label(), "app@localhost (192.0.2.5):5432/app");
    assert_eq!(c.first_remote().unwrap().address(), "192.0.2.5");
    for s in [
        "postgres://u@localhost/app",
        "postgres://u@127.0.0.2:5433/app",
        "postgres://u@[::1]/app",
        "host=/tmp dbname=app",
        "postgres://u@%2Fvar%2Frun%2Fpostgresql/app",
        "host=db.example hostaddr=127.0.0.1 dbname=app",
        "host=LOCALHOST dbname=app",
        "hostaddr=::ffff:127.0.0.1 dbname=app",
    ] {
        assert!(parse(s).is_local(), "{s}");
    }
    assert!(
        !parse("user=app").is_local(),
        "no host: nothing local to decide on"
    );
}

#[test]
fn passwords_with_url_delimiters_are_the_drivers_and_never_shown() {
    for (s, pw) in [
        ("postgres://app:pa/ss@db/shop", "pa/ss"),
        ("postgres://app:pa?ss@db/shop", "pa?ss"),
        ("postgres://app:p#a&s=s@db/shop?sslmode=require", "p#a&s=s"),
        ("POSTGRES://app:s3cret@db/shop", "s3cret"),
        ("postgresql://app:%40t%2F@db/shop", "@t/"),
        (
            "host=db password='it\\'s a secret' user=app",
            "it's a secret",
        ),
        ("host=db password=s\\ 3 user=app", "s 3"),
    ] {
        let c = parse(s);
        assert_eq!(c.config().get_password(), Some(pw.as_bytes()), "{s}");
        for shown in [c.redacted(), c.label(), format!("{c}"), format!("{c:?}")] {
            assert!(!shown.contains(pw), "{s}: {shown}");
        }
    }
    assert_eq!(
        parse("postgres://app:pa/ss@db/shop").redacted(),
        "postgres://app:***@db:5432/shop"
    );
}

#[test]
fn a_bare_at_sign_or_upper_case_key_is_refused_without_echoing_anything() {
    let cases = [
        ("postgres://app:a@b@db/shop", ParseError::AmbiguousAt),
        ("postgres://app:a@b/c@db/shop", ParseError::AmbiguousAt),
        ("host='a@b' dbname=shop", ParseError::InvalidHost),
        (
            "postgres://db/shop?application_name=a@b",
            ParseError::AmbiguousAt,
        ),
        (
            "host=db PASSWORD=s3cret",
            ParseError::UnknownOption {
                suggestion: Some("password"),
            },
        ),
        (
            "host=db Password=s3cret",
            ParseError::UnknownOption {
                suggestion: Some("password"),
            },
        ),
        (
            "host=db zzzzzz=s3cret",
            ParseError::UnknownOption { suggestion: None },
        ),
        (
            "postgres://u@db/app?sslmode=verify",
            ParseError::InvalidValue {
                option: "sslmode",
                expected: Some("disable, allow, prefer, require, verify-ca or verify-full"),
            },
        ),
        (
            "postgres://u@db/app?sslcert=/c.pem",
            ParseError::Unsupported {
                option: "sslcert",
                why: "client certificates are not supported; authenticate with a password",
            },
        ),
        (
            "postgres://u:s3cret@db:port/app",
            ParseError::InvalidValue {
                option: "port",
                expected: Some("a port number, or a comma-separated list of them"),
            },
        ),
    ];
    for (s, expected) in cases {
        let e = ConnInfo::parse(s).unwrap_err();
        assert_eq!(e, expected, "{s}");
        let text = e.to_string();
        for secret in ["s3cret", "b@db", "a@b", "zzzzzz"] {
            assert!(!text.contains(secret), "{s}: {text}");
        }
    }
}

#[test]
fn tls_options_are_read_and_the_rest_goes_to_the_driver() {
    let c =
        parse("postgres://u@db/app?sslmode=verify-full&sslrootcert=%2Fca.pem&application_name=x");
    assert_eq!(c.tls().mode, SslMode::VerifyFull);
    assert_eq!(
        c.tls().root_cert.as_deref(),
        Some(std::path::Path::new("/ca.pem"))
    );
    assert_eq!(c.config().get_application_name(), Some("x"));
    let c = parse("host=db sslmode='verify-ca' sslrootcert=/ca.pem user=u");
    assert_eq!(c.tls().mode, SslMode::VerifyCa);
    assert_eq!(c.redacted(), "postgres://u@db:5432/?sslmode=verify-ca");
}

/// Characters that make connection strings interesting.
fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-z0-9 '\\\\@/?&=:,%#\\[\\]._-]{0,12}").expect("regex")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any input: no panic. (Errors cannot quote the input: every `ParseError` is built from
    /// static text only.)
    #[test]
    fn never_panics(s in "\\PC{0,60}") {
        if let Err(e) = ConnInfo::parse(&s) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    /// Whatever the driver accepts (without the TLS options we read ourselves) we read the same
    /// way, or refuse for a stated reason (an ambiguous `@`, a host that cannot be one, an
    /// option name we decline to guess about).
    #[test]
    fn agrees_with_the_driver(
        url in proptest::bool::ANY,
        a in text(), b in text(), c in text(), d in text(),
    ) {
        let s = if url {
            format!("postgres://{a}:{b}@{c}/{d}")
        } else {
            format!("host={a} password={b} user={c} dbname={d}")
        };
        let ours = ConnInfo::parse(&s);
        let theirs = Config::from_str(&s);
        match (ours, theirs) {
            (Ok(ours), Ok(theirs)) => {
                prop_assert_eq!(format!("{:?}", ours.config()), format!("{theirs:?}"), "{}", s);
                prop_assert_eq!(ours.config().get_password(), theirs.get_password(), "{}", s);
            }
            (Ok(_), Err(e)) => prop_assert!(false, "{s:?}: we accept what the driver refuses: {e}"),
            (Err(_), _) => {}
        }
    }

    /// Any printable password, properly written in either form: read back exactly, shown
    /// nowhere.
    #[test]
    fn any_password_round_trips_and_is_never_shown(pw in "[ -~\u{a0}-\u{17f}]{6,24}") {
        prop_assume!(!"postgres://app@db.example:5432/shop?sslmode=require".contains(pw.as_str()));
        let encoded = percent_encoding::utf8_percent_encode(&pw, percent_encoding::NON_ALPHANUMERIC);
        let quoted = tokens::quote(&pw);
        for s in [
            format!("postgres://app:{encoded}@db.example:5432/shop?sslmode=require"),
            format!("host=db.example port=5432 user=app password={quoted} dbname=shop sslmode=require"),
        ] {
            let c = ConnInfo::parse(&s).map_err(|e| TestCaseError::fail(format!("{s}: {e}")))?;
            prop_assert_eq!(c.config().get_password(), Some(pw.as_bytes()));
            for shown in [c.redacted(), c.label(), c.scrub(&format!("server said {pw}"))] {
                prop_assert!(!shown.contains(pw.as_str()), "{}", shown);
            }
        }
        // Spliced in raw, unencoded: read as the driver reads it, or refused; never shown.
        let raw = format!("postgres://app:{pw}@db.example:5432/shop");
        match ConnInfo::parse(&raw) {
            Ok(c) => {
                for shown in [c.redacted(), c.label()] {
                    prop_assert!(!shown.contains(pw.as_str()), "{}", shown);
                }
            }
            Err(e) => prop_assert!(!e.to_string().contains(pw.as_str())),
        }
    }
}
