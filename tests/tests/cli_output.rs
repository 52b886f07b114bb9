//! How the CLI talks: shell completions, colour (only on a terminal, never with NO_COLOR,
//! always with `--color always`), `--quiet` and `--verbose`.

use migrate_tests::{Project, TestDb};

const ESC: &str = "\x1b[";

#[test]
fn completions_are_generated_for_each_shell() {
    let p = Project::new();
    let run = p.run(&["completions", "bash"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("_cargo__migrate()"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("complete -F _cargo__migrate -o bashdefault -o default cargo-migrate"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("dev-db"), "subcommands are completed");
    assert!(
        run.stdout.contains("--database-url"),
        "options are completed"
    );
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let run = p.run(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {run:?}");
        assert!(run.stdout.contains("apply"), "{shell}");
    }
    let run = p.run(&["completions", "tcsh"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("invalid value 'tcsh'"),
        "{}",
        run.stderr
    );
}

#[test]
fn colour_only_when_asked_or_on_a_terminal_without_no_color() {
    let mut p = Project::new();
    // An error to print: no migrations directory.
    let piped = p.run(&["seal", "--check"]);
    assert_eq!(piped.code, 1);
    assert!(piped.stderr.starts_with("error: "), "{}", piped.stderr);
    assert!(
        !piped.stderr.contains(ESC),
        "NO_COLOR is set: {:?}",
        piped.stderr
    );

    let forced = p.run(&["--color", "always", "seal", "--check"]);
    assert!(
        forced.stderr.contains(ESC),
        "--color always: {:?}",
        forced.stderr
    );
    assert!(
        forced.stderr.contains("\x1b[1m\x1b[31merror"),
        "{:?}",
        forced.stderr
    );

    // Without NO_COLOR, a pipe is not a terminal: still no colour.
    p.env.push(("NO_COLOR".into(), String::new()));
    let run = p.run(&["seal", "--check"]);
    assert!(!run.stderr.contains(ESC), "piped: {:?}", run.stderr);
    let run = p.run(&["--color", "never", "seal", "--check"]);
    assert!(!run.stderr.contains(ESC));
}

#[test]
fn quiet_prints_only_errors_and_verbose_prints_each_step() {
    let db = TestDb::new();
    let p = Project::with_db(&db);
    p.migration("20260101000000_a", "CREATE TABLE a (id int);", None);
    p.migration("20260101000100_b", "CREATE TABLE b (id int);", None);

    let run = p.run(&["--quiet", "apply", "--to", "20260101000000"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
    assert!(db.has_table("a"));

    let run = p.run(&["-v", "apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    let verbose_lines = [
        "Settings: history public._migrate_history, lock_timeout 200ms, statement_timeout 30s (backfill batches), \
         lock retries unlimited within 3m, \
         lock wait 1m, group commit on, schemas public",
        "Connected to ",
        "  Starting 20260101000100_b",
        "  Applied 20260101000100_b",
    ];
    for line in verbose_lines {
        assert!(
            run.stderr.lines().any(|l| l.starts_with(line)),
            "missing {line:?} in:\n{}",
            run.stderr
        );
    }
    // Results still print with --quiet; failures too.
    let run = p.run(&["-q", "status"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("2 applied"), "{}", run.stdout);
    assert_eq!(run.stderr, "");
    p.migration("20260101000200_c", "CREATE TABLE a (id int);", None);
    let run = p.run(&["-q", "apply"]);
    assert_eq!(run.code, 1);
    // The whole error, with its location and help, and nothing else.
    assert_eq!(
        run.stderr,
        "error: migration 20260101000200_c failed: 42P07: relation \"a\" already exists\n  \
         --> migrations/20260101000200_c/migration.sql:1:1\n    |\n  1 | CREATE TABLE a (id int);\n    \
         | ^\n  = statement 1 of 1\n  help: its transaction was rolled back: nothing of it is in the \
         database. Fix it and run `cargo migrate apply`, which retries it (a draft can be edited \
         freely; if 20260101000200 is sealed, fix what it depends on instead)\n"
    );
}
