//! A fresh database per test, so tests run in parallel without seeing each other.

use crate::target_dir;
use migrate_runtime::devdb::DevDb;
use postgres::{Client, NoTls};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

const LOCAL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The server to create test databases on: `DATABASE_URL`, else the local server on port
/// 5432, else (no server answers there) a private cluster under `target/migrate-test-db`,
/// started with the same mechanism as the dev database (so `cargo test` passes on a machine
/// that has the PostgreSQL programs but no running server).
///
/// ```
/// assert!(!migrate_tests::admin_url().is_empty());
/// ```
pub fn admin_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            return url;
        }
        if Client::connect(LOCAL, NoTls).is_ok() {
            return LOCAL.into();
        }
        // Under root, when the server's user cannot reach the target directory, the cluster
        // lives elsewhere and `target/migrate-test-db` records where (`DevDb::record`).
        let db = DevDb::at(&target_dir().join("migrate-test-db"), "postgres");
        match db.ensure() {
            Ok(running) => running.url,
            Err(e) => panic!(
                "\n\nThe tests need a PostgreSQL server: none answered at {LOCAL}, and a private one \
                 could not be started in {}: {}\n{}\n{}\n",
                db.dir().display(),
                e.message,
                e.detail.unwrap_or_default(),
                e.help
            ),
        }
    })
    .clone()
}

/// The same connection string with another database name (URL or key=value form).
///
/// ```
/// use migrate_tests::with_dbname;
/// assert_eq!(with_dbname("postgres://u@h:5432/postgres?sslmode=disable", "t1"), "postgres://u@h:5432/t1?sslmode=disable");
/// assert_eq!(with_dbname("postgres://u@h", "t1"), "postgres://u@h/t1");
/// assert_eq!(with_dbname("host=h user=u dbname=x", "t1"), "host=h user=u dbname=t1");
/// assert_eq!(with_dbname("host=h user=u", "t1"), "host=h user=u dbname=t1");
/// ```
pub fn with_dbname(url: &str, dbname: &str) -> String {
    if let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    {
        let scheme = &url[..url.len() - rest.len()];
        let (before_query, query) = match rest.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (rest, None),
        };
        let authority = before_query
            .split_once('/')
            .map_or(before_query, |(a, _)| a);
        let mut out = format!("{scheme}{authority}/{dbname}");
        if let Some(q) = query {
            out.push('?');
            out.push_str(q);
        }
        out
    } else {
        let mut parts: Vec<String> = url
            .split_whitespace()
            .filter(|p| !p.starts_with("dbname="))
            .map(String::from)
            .collect();
        parts.push(format!("dbname={dbname}"));
        parts.join(" ")
    }
}

/// A database of its own for one test; dropped (with its connections) when this is dropped.
pub struct TestDb {
    /// The database name.
    pub name: String,
    /// A connection string for it (pass it to `--database-url`).
    pub url: String,
    admin: String,
}

impl TestDb {
    /// Creates a fresh database. Panics with instructions when no server is reachable.
    pub fn new() -> TestDb {
        TestDb::on(&admin_url())
    }

    /// Creates a fresh database on the server `admin` connects to (as a user who may
    /// `CREATE DATABASE`), e.g. one of the version matrix's servers.
    pub fn on(admin: &str) -> TestDb {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let admin = admin.to_string();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "cm_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let mut client = connect(&admin);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        TestDb {
            url: with_dbname(&admin, &name),
            name,
            admin,
        }
    }

    /// A new connection to the test database.
    pub fn client(&self) -> Client {
        connect(&self.url)
    }

    /// The history, oldest row first: `(version, action, state)`.
    pub fn history(&self) -> Vec<(String, String, String)> {
        self.client()
            .query(
                "SELECT version, action, state FROM public._migrate_history ORDER BY id",
                &[],
            )
            .unwrap_or_else(|e| panic!("cannot read the history: {e}"))
            .iter()
            .map(|r| (format!("{:014}", r.get::<_, i64>(0)), r.get(1), r.get(2)))
            .collect()
    }

    /// Whether a table exists in `public`.
    pub fn has_table(&self, name: &str) -> bool {
        self.client()
            .query_one(
                "SELECT to_regclass($1) IS NOT NULL",
                &[&format!("public.{name}")],
            )
            .map(|r| r.get(0))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs a query returning one i64.
    pub fn count(&self, sql: &str) -> i64 {
        self.client()
            .query_one(sql, &[])
            .map(|r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

impl Default for TestDb {
    fn default() -> Self {
        TestDb::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut c) = Client::connect(&self.admin, NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

fn connect(url: &str) -> Client {
    Client::connect(url, NoTls).unwrap_or_else(|e| {
        panic!(
            "\n\nThe tests need a PostgreSQL server and none answered ({e}).\n\
             Start the local one:  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n\
             or set DATABASE_URL to a server where this user may CREATE DATABASE.\n\
             (Tried {}.)\n",
            redact(url)
        )
    })
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if url[s + 3..at].contains(':') => {
            let user_end = s + 3 + url[s + 3..at].find(':').unwrap_or(0);
            format!("{}:***{}", &url[..user_end], &url[at..])
        }
        _ => url.to_string(),
    }
}
