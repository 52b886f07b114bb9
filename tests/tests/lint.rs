//! `cargo migrate lint`, and the lint gate of `apply`: drafts by default (sealed history is not
//! re-litigated), text/JSON/GitHub output, configuration, suppression, exit codes.

use migrate_tests::{Project, TestDb};

const SEALED: &str = "20261121090000_drop_legacy";
const DRAFT: &str = "20261121090100_drop_email";

fn project() -> Project {
    let p = Project::new();
    p.migration(
        SEALED,
        "ALTER TABLE users DROP COLUMN legacy;\n",
        Some("ALTER TABLE users ADD COLUMN legacy text;\n"),
    );
    assert_eq!(p.run(&["seal"]).code, 0);
    p.migration(
        DRAFT,
        "-- drop the old column\nALTER TABLE users DROP COLUMN email;\n",
        Some("ALTER TABLE users ADD COLUMN email text;\n"),
    );
    p
}

#[test]
fn lints_the_drafts_by_default_in_rustc_style_and_exits_3() {
    let p = project();
    let run = p.run(&["lint"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "error[ban-drop-column]: Dropping a column may break existing clients.\n  \
             --> migrations/{DRAFT}/migration.sql:2:19\n    |\n  2 | ALTER TABLE users DROP COLUMN email;\n    \
             |                   ^^^^^^^^^^^^^^^^^\n  = help: expand/contract: first deploy code that no longer reads or writes the column, then drop it in a later migration; once no code uses it, suppress with `-- migrate:allow(ban-drop-column) reason: <why>`\n\n\
             1 error, 0 warnings in 1 draft migration.\n"
        )
    );
}

#[test]
fn named_versions_and_all_include_sealed_migrations() {
    let p = project();
    let one = p.run(&["lint", SEALED, "--format", "json"]);
    assert_eq!(one.code, 3);
    let json = one.json();
    assert_eq!(json["linted"], serde_json::json!([SEALED]));
    let all = p.run(&["lint", "--all", "--format", "json"]).json();
    assert_eq!(all["summary"]["errors"], 2);
    let unknown = p.run(&["lint", "20991231000000"]);
    assert_eq!(unknown.code, 1);
    assert_eq!(
        unknown.stderr,
        "error: there is no migration 20991231000000 in migrations\n"
    );
}

#[test]
fn json_has_a_stable_shape() {
    let p = project();
    let run = p.run(&["lint", "--format", "json"]);
    assert_eq!(run.code, 3);
    let json = run.json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["exit_code"], 3);
    assert_eq!(
        json["summary"],
        serde_json::json!({"errors": 1, "warnings": 0})
    );
    let f = &json["findings"][0];
    for key in [
        "rule",
        "severity",
        "message",
        "help",
        "version",
        "name",
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "source_line",
    ] {
        assert!(f.get(key).is_some(), "missing {key}: {f}");
    }
    assert_eq!(f["rule"], "ban-drop-column");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["version"], "20261121090100");
    assert_eq!(f["path"], format!("migrations/{DRAFT}/migration.sql"));
    assert_eq!(
        (
            f["line"].as_u64(),
            f["column"].as_u64(),
            f["end_column"].as_u64()
        ),
        (Some(2), Some(19), Some(36))
    );
}

#[test]
fn github_format_prints_workflow_annotations() {
    let p = project();
    let run = p.run(&["lint", "--format", "github"]);
    assert_eq!(run.code, 3);
    assert_eq!(
        run.stdout,
        format!(
            "::error file=migrations/{DRAFT}/migration.sql,line=2,col=19,endLine=2,endColumn=36,title=ban-drop-column::\
             Dropping a column may break existing clients.%0Ahelp: expand/contract: first deploy code that no longer reads or writes the column, then drop it in a later migration; once no code uses it, suppress with `-- migrate:allow(ban-drop-column) reason: <why>`\n"
        )
    );
    // Other commands refuse the format before doing anything (no connection is tried).
    let status = p.run(&[
        "status",
        "--format",
        "github",
        "--database-url",
        "postgres://x@127.0.0.1:1/x",
    ]);
    assert_eq!(
        (status.code, status.stdout.as_str(), status.stderr.as_str()),
        (
            1,
            "",
            "error: --format github is for `cargo migrate lint` and `check` only; use text or json\n"
        )
    );
}

#[test]
fn configuration_allows_warns_and_denies_rules() {
    let p = project();
    let manifest = |lint: &str| {
        format!(
            "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[package.metadata.migrate.lint]\n{lint}\n\n[workspace]\n"
        )
    };
    p.file("Cargo.toml", manifest("allow = [\"ban-drop-column\"]"));
    let run = p.run(&["lint"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (0, "No problems in 1 draft migration.\n")
    );
    p.file("Cargo.toml", manifest("warn = [\"ban-drop-column\"]"));
    let run = p.run(&["lint"]);
    assert_eq!(run.code, 0, "warnings do not fail");
    assert!(
        run.stderr.starts_with("warning[ban-drop-column]"),
        "{}",
        run.stderr
    );
    p.migration(
        "20261121090200_add_code",
        "ALTER TABLE users ADD COLUMN code varchar(10);\n",
        Some("ALTER TABLE users DROP COLUMN code;\n"),
    );
    p.file(
        "Cargo.toml",
        manifest("allow = [\"ban-drop-column\"]\ndeny = [\"prefer-text-field\"]"),
    );
    let run = p.run(&["lint"]);
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.starts_with("error[prefer-text-field]"),
        "{}",
        run.stderr
    );
    p.file("Cargo.toml", manifest("deny = [\"ban-everything\"]"));
    let run = p.run(&["lint"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: [package.metadata.migrate.lint]: unknown rule `ban-everything`\n"
    );
}

#[test]
fn a_reasoned_suppression_silences_a_statement() {
    let p = project();
    p.migration(DRAFT, "-- migrate:allow(ban-drop-column) reason: unused since v2.3\nALTER TABLE users DROP COLUMN email;\n", Some("SELECT 1;\n"));
    assert_eq!(p.run(&["lint"]).code, 0);
    p.migration(
        DRAFT,
        "-- migrate:allow(ban-drop-column)\nALTER TABLE users DROP COLUMN email;\n",
        Some("SELECT 1;\n"),
    );
    let run = p.run(&["lint"]);
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.starts_with(
            "error[invalid-suppression]: the suppression of ban-drop-column gives no reason"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn apply_refuses_unsafe_drafts_then_accepts_them_with_allow_unsafe() {
    let db = TestDb::new();
    db.client()
        .batch_execute("CREATE TABLE users (id bigint, legacy text, email text)")
        .unwrap();
    let mut p = project();
    p.env.push(("DATABASE_URL".into(), db.url.clone()));
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("error[ban-drop-column]"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("error: refusing to apply: lint found 1 error(s) in the draft migrations\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with("note: nothing was run\n"),
        "{}",
        run.stderr
    );
    assert!(
        !db.has_table("_migrate_history"),
        "nothing touched the database"
    );
    let run = p.run(&["apply", "--allow-unsafe"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "warning: applying despite 1 lint error(s) (--allow-unsafe):\n  \
             ban-drop-column (error): 1, at migrations/{DRAFT}/migration.sql:2\n"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        db.count("SELECT count(*) FROM information_schema.columns WHERE table_name = 'users'"),
        1
    );
}

#[test]
fn sealed_migrations_are_not_re_linted_so_replaying_history_is_never_blocked() {
    let db = TestDb::new();
    db.client()
        .batch_execute("CREATE TABLE users (id bigint, legacy text)")
        .unwrap();
    let p = Project::new();
    p.migration(
        SEALED,
        "ALTER TABLE users DROP COLUMN legacy;\n",
        Some("SELECT 1;\n"),
    );
    assert_eq!(p.run(&["seal"]).code, 0);
    let run = p.run(&["--database-url", &db.url, "apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stderr.contains("ban-drop-column"), "{}", run.stderr);
}

/// The rules that follow a table see it through `ONLY` and `*` (`ALTER TABLE ONLY t`, as
/// pg_dump writes it; `UPDATE ONLY t`).
#[test]
fn only_and_star_do_not_hide_the_table_from_the_backfill_rules() {
    let p = Project::new();
    p.migration(
        "20261121090000_fill_display_name",
        "-- migrate:backfill table=users key=id\n\
         UPDATE ONLY users SET display_name = email WHERE id BETWEEN :batch_start AND :batch_end;\n",
        Some(
            "-- migrate:backfill table=users key=id\n\
             UPDATE users SET display_name = NULL WHERE id BETWEEN :batch_start AND :batch_end;\n",
        ),
    );
    for contract in [
        "ALTER TABLE ONLY users ALTER COLUMN display_name SET NOT NULL;\n",
        "ALTER TABLE users * ALTER COLUMN display_name SET NOT NULL;\n",
        "ALTER TABLE IF EXISTS ONLY public.users DROP COLUMN display_name;\n",
    ] {
        p.migration("20261121090100_contract", contract, Some("SELECT 1;\n"));
        let run = p.run(&["lint", "--format", "json"]);
        let rules: Vec<String> = run.json()["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| f["rule"].as_str().unwrap_or_default().to_string())
            .collect();
        assert!(
            rules.iter().any(|r| r == "contract-before-backfill"),
            "{contract}: {rules:?}"
        );
        assert_eq!(run.code, 3);
    }
    // After `SET search_path`, an unqualified table is in that schema: `app.users` is not
    // the backfill's `public.users`, and back in `public` it is.
    p.migration(
        "20261121090100_contract",
        "SET search_path = app;\nALTER TABLE users ALTER COLUMN display_name SET NOT NULL;\n",
        Some("SELECT 1;\n"),
    );
    let run = p.run(&["lint", "--format", "json"]);
    assert!(
        !run.stdout.contains("contract-before-backfill"),
        "{}",
        run.stdout
    );
    p.migration(
        "20261121090100_contract",
        "SET search_path = app;\nSET search_path TO public;\n\
         ALTER TABLE users ALTER COLUMN display_name SET NOT NULL;\n",
        Some("SELECT 1;\n"),
    );
    let run = p.run(&["lint", "--format", "json"]);
    assert!(
        run.stdout.contains("contract-before-backfill"),
        "{}",
        run.stdout
    );
    // The whole-table UPDATE warning names the table, not `ONLY`.
    p.migration(
        "20261121090100_contract",
        "UPDATE ONLY users SET display_name = email;\n",
        Some("SELECT 1;\n"),
    );
    let run = p.run(&["lint", "20261121090100", "--format", "json"]);
    assert_eq!(
        run.json()["findings"][0]["message"],
        "UPDATE of every row of `public.users` in one statement",
        "{run:?}"
    );
}
