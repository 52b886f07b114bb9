//! Connection errors are one line naming user@host:port/db (never the password) with a hint
//! for the likely cause.

use migrate_runtime::devdb::ClusterOptions;
use migrate_tests::{PrivateCluster, Project};

#[test]
fn wrong_password_unknown_database_and_no_server_each_get_their_hint() {
    let options = ClusterOptions::default()
        .hba("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n");
    let cluster = PrivateCluster::start(options);
    let running = &cluster.running;
    let socket = running.socket_dir.clone().expect("socket");
    let mut admin = postgres::Config::new()
        .host_path(&socket)
        .port(running.port)
        .user("postgres")
        .dbname("postgres")
        .connect(postgres::NoTls)
        .expect("connect over the socket");
    admin
        .batch_execute("ALTER USER postgres PASSWORD 'right-one'")
        .expect("set a password");
    let port = running.port;

    let p = Project::new();
    p.migration("20260101000000_a", "SELECT 1;", Some("SELECT 1;"));
    let cases = [
        (
            format!("postgres://postgres:hunter2@127.0.0.1:{port}/postgres"),
            format!(
                "error: cannot connect to postgres@127.0.0.1:{port}/postgres: password authentication failed for user \"postgres\""
            ),
            "  help: check the user and password",
        ),
        (
            format!("postgres://postgres:right-one@127.0.0.1:{port}/nope"),
            format!(
                "error: cannot connect to postgres@127.0.0.1:{port}/nope: database \"nope\" does not exist"
            ),
            "  help: check the database name (create it with `createdb`)",
        ),
    ];
    for (url, first, help) in cases {
        let run = p.run(&["--database-url", &url, "status"]);
        assert_eq!(run.code, 1, "{run:?}");
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert!(lines[0].starts_with(&first), "{}", run.stderr);
        assert_eq!(lines[1], help, "{}", run.stderr);
        assert_eq!(lines.len(), 2, "one line and a hint: {}", run.stderr);
        assert!(!run.stderr.contains("hunter2") && !run.stderr.contains("right-one"));
    }

    cluster.db.destroy().expect("destroy");
    let url = format!("host=127.0.0.1 port={port} user=postgres password=hunter2 dbname=postgres");
    let run = p.run(&["--database-url", &url, "status"]);
    assert_eq!(run.code, 1, "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines[0].starts_with(&format!(
            "error: cannot connect to postgres@127.0.0.1:{port}/postgres: "
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        lines[1],
        format!(
            "  help: is the server running and reachable? (`pg_isready -h 127.0.0.1 -p {port}`); \
             does it require TLS (sslmode=require)?"
        )
    );
    assert!(!run.stderr.contains("hunter2"));
}
