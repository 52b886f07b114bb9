//! `cargo migrate seal` and `seal --check`: sealing drafts, refusing edits, deletions and
//! corrupt lock files with clear messages, and changing nothing when refusing.

use migrate_tests::{Project, Run};

const A: &str = "20261121090000_create_users";
const B: &str = "20261121090100_add_email";

fn sealed_project() -> Project {
    let p = Project::new();
    p.file(
        &format!("migrations/{A}/migration.sql"),
        "CREATE TABLE users (id bigint PRIMARY KEY);\n",
    )
    .file(&format!("migrations/{A}/down.sql"), "DROP TABLE users;\n")
    .file(
        &format!("migrations/{B}/migration.sql"),
        "ALTER TABLE users ADD COLUMN email text;\n",
    )
    .file(
        &format!("migrations/{B}/down.sql"),
        "ALTER TABLE users DROP COLUMN email;\n",
    );
    let run = p.run(&["seal"]);
    assert_eq!(run.code, 0, "{run:?}");
    p
}

fn lock(p: &Project) -> String {
    p.read("migrations/migrations.lock")
}

fn assert_refused_unchanged(p: &Project, before: &str, run: &Run) {
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.starts_with("error: nothing was sealed\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .ends_with("note: migrations/migrations.lock was not changed\n"),
        "{}",
        run.stderr
    );
    assert_eq!(lock(p), before, "the lock file must not change");
}

#[test]
fn seal_seals_drafts_and_check_passes_then() {
    let p = sealed_project();
    let text = lock(&p);
    assert!(
        text.contains(&format!("\n{} create_users ", &A[..14])),
        "{text}"
    );
    let check = p.run(&["seal", "--check"]);
    assert_eq!(
        (check.code, check.stderr.as_str()),
        (0, "All 2 migrations sealed and intact\n")
    );
    let again = p.run(&["seal"]);
    assert_eq!(again.code, 0);
    assert_eq!(
        again.stderr,
        "Nothing to seal: 2 migrations sealed and intact\n"
    );
}

#[test]
fn check_reports_drafts_and_exits_3_without_writing() {
    let p = Project::new();
    p.file(&format!("migrations/{A}/migration.sql"), "SELECT 1;");
    let run = p.run(&["seal", "--check"]);
    assert_eq!(run.code, 3);
    assert_eq!(
        run.stderr,
        format!(
            "note: migrations/{A}: draft, not sealed yet\n  help: a draft: run `cargo migrate seal` \
             once it is ready (apply seals it too)\n1 problem(s) in migrations\n"
        )
    );
    assert!(!p.path().join("migrations/migrations.lock").exists());
}

#[test]
fn edited_sealed_migration_is_refused_then_forced() {
    let p = sealed_project();
    let before = lock(&p);
    p.file(
        &format!("migrations/{A}/migration.sql"),
        "CREATE TABLE users (id int);\n",
    );
    let run = p.run(&["seal"]);
    assert_refused_unchanged(&p, &before, &run);
    assert!(
        run.stderr.contains(&format!(
            "--> migrations/{A}/migration.sql: edited after it was sealed (sealed "
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("cargo migrate seal --force 20261121090000"),
        "{}",
        run.stderr
    );
    let check = p.run(&["seal", "--check", "--format", "json"]);
    assert_eq!(check.code, 3);
    let json = check.json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["findings"][0]["kind"], "edited");
    assert_eq!(json["findings"][0]["file"], "migration.sql");
    assert_eq!(json["findings"][0]["version"], "20261121090000");
    // Forcing the wrong version is refused, the right one (by folder name) re-seals.
    let wrong = p.run(&["seal", "--force", &B[..14]]);
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(
        wrong
            .stderr
            .contains("--force 20261121090100: migration 20261121090100 is intact"),
        "{}",
        wrong.stderr
    );
    assert_eq!(lock(&p), before);
    let forced = p.run(&["seal", "--force", A]);
    assert_eq!(forced.code, 0, "{forced:?}");
    assert_eq!(forced.stderr, format!("Re-sealed {A} (--force)\n"));
    assert_eq!(p.run(&["seal", "--check"]).code, 0);
}

#[test]
fn deleted_sealed_migration_is_refused_then_dropped_with_force() {
    let p = sealed_project();
    let before = lock(&p);
    std::fs::remove_dir_all(p.path().join("migrations").join(B)).unwrap();
    let run = p.run(&["seal"]);
    assert_refused_unchanged(&p, &before, &run);
    assert!(
        run.stderr.contains(&format!(
            "--> migrations/{B}: sealed migration is missing (its folder was deleted)"
        )),
        "{}",
        run.stderr
    );
    let forced = p.run(&["seal", "--force", &B[..14]]);
    assert_eq!(forced.code, 0, "{forced:?}");
    // Only the deleted migration's entry is gone: the other one is sealed as before.
    let entries = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("2026"))
            .map(str::to_string)
            .collect()
    };
    let kept: Vec<String> = entries(&before)
        .into_iter()
        .filter(|l| l.starts_with(&A[..14]))
        .collect();
    assert_eq!(kept.len(), 1, "{before}");
    assert_eq!(entries(&lock(&p)), kept);
    assert_eq!(p.run(&["seal", "--check"]).code, 0);
}

#[test]
fn edited_down_sql_is_named_as_such() {
    let p = sealed_project();
    p.file(&format!("migrations/{B}/down.sql"), "-- nothing\n");
    let run = p.run(&["seal", "--check"]);
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.contains(&format!(
            "error: migrations/{B}/down.sql: edited after it was sealed"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn merge_conflict_markers_are_corrupt_and_seal_rewrites_from_both_sides() {
    let p = sealed_project();
    let base = lock(&p);
    // Branch "ours" seals C, branch "theirs" seals D; git leaves conflict markers behind.
    let branch = |folder: &str, sql: &str| {
        let q = Project::new();
        q.file("migrations/migrations.lock", &base);
        for f in [A, B] {
            for file in ["migration.sql", "down.sql"] {
                q.file(
                    &format!("migrations/{f}/{file}"),
                    p.read(&format!("migrations/{f}/{file}")),
                );
            }
        }
        q.file(&format!("migrations/{folder}/migration.sql"), sql);
        assert_eq!(q.run(&["seal"]).code, 0);
        lock(&q)
    };
    let c = "20261121100000_ours";
    let d = "20261121110000_theirs";
    let (ours, theirs) = (branch(c, "SELECT 1;"), branch(d, "SELECT 2;"));
    let conflicted = format!("<<<<<<< HEAD\n{ours}=======\n{theirs}>>>>>>> theirs\n");
    p.file("migrations/migrations.lock", &conflicted)
        .file(&format!("migrations/{c}/migration.sql"), "SELECT 1;")
        .file(&format!("migrations/{d}/migration.sql"), "SELECT 2;");
    let check = p.run(&["seal", "--check"]);
    assert_eq!(check.code, 3);
    assert!(
        check.stderr.starts_with(
            "error: migrations/migrations.lock:1: lock file is corrupt: git merge conflict markers: \
             migrations were sealed on two branches\n  help: if git reported a conflict here, resolve \
             the conflicts in the migration folders (not in this file), then run `cargo migrate seal`"
        ),
        "{}",
        check.stderr
    );
    let run = p.run(&["seal"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr,
        "Rewrote migrations/migrations.lock (it was corrupt, e.g. after a merge conflict)\n"
    );
    let text = lock(&p);
    assert!(
        !text.contains("<<<<<<<") && text.contains(" ours ") && text.contains(" theirs "),
        "{text}"
    );
    assert_eq!(p.run(&["seal", "--check"]).code, 0);
}

#[test]
fn out_of_order_draft_is_refused_unless_allowed() {
    let p = sealed_project();
    let before = lock(&p);
    p.file(
        "migrations/20261121080000_from_other_branch/migration.sql",
        "SELECT 1;",
    );
    let run = p.run(&["seal"]);
    assert_refused_unchanged(&p, &before, &run);
    assert!(run.stderr.contains(
        "--> migrations/20261121080000_from_other_branch: draft is older than the newest sealed migration 20261121090100"
    ), "{}", run.stderr);
    assert_eq!(p.run(&["seal", "--allow-out-of-order"]).code, 0);
    assert_eq!(p.run(&["seal", "--check"]).code, 0);
}

#[test]
fn hand_edited_lock_file_is_corrupt_with_its_line() {
    let p = sealed_project();
    let text = lock(&p);
    let edited = text.replace(" create_users ", " create_user ");
    p.file("migrations/migrations.lock", &edited);
    let run = p.run(&["seal", "--check"]);
    assert_eq!(run.code, 3);
    let line = edited
        .lines()
        .position(|l| l.contains(" create_user "))
        .unwrap()
        + 1;
    assert!(
        run.stderr.contains(&format!(
            "error: migrations/migrations.lock:{line}: lock file is corrupt: chain hash does not match: this or an earlier entry was edited by hand"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn read_errors_are_reported_all_at_once_and_nothing_is_written() {
    let p = Project::new();
    p.file("migrations/20261121_bad/migration.sql", "SELECT 1;")
        .file("migrations/20261121090000_a/migration.sql", "SELECT 1;")
        .file("migrations/20261121090000_b/migration.sql", "SELECT 1;")
        .file(
            "migrations/20261121090001_c/migration.sql",
            b"SELECT '\xfe';",
        )
        .file("migrations/20261121090002_d/migration.sql", "  \n")
        .file("migrations/20261121090003_e/down.sql", "SELECT 1;")
        .file(
            "migrations/20261121090004_f/migration.sql",
            "-- migrate:transactionless\nSELECT 1;",
        )
        .file("migrations/schema.sql", "SELECT 1;");
    let run = p.run(&["seal"]);
    assert_eq!(run.code, 1);
    let places: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("  --> "))
        .collect();
    assert_eq!(
        places,
        [
            "migrations/20261121090000_b: duplicate version 20261121090000: `20261121090000_a` has it too",
            "migrations/20261121090001_c/migration.sql:1: not valid UTF-8 (first bad byte at column 9)",
            "migrations/20261121090002_d/migration.sql: migration.sql is empty",
            "migrations/20261121090003_e/migration.sql: missing migration.sql",
            "migrations/20261121090004_f/migration.sql:1: unknown directive `-- migrate:transactionless`",
            "migrations/20261121_bad: folder name `20261121_bad` does not match `<14-digit UTC timestamp>_<snake_case_name>`",
            "migrations/schema.sql: stray file in the migrations directory",
        ]
    );
    assert!(
        run.stderr
            .starts_with("error: the migrations directory has 7 problems\n")
    );
    assert!(run.stderr.ends_with("note: nothing was written\n"));
    assert!(!p.path().join("migrations/migrations.lock").exists());
    let json = p.run(&["seal", "--format", "json"]).json();
    assert_eq!(json["problems"].as_array().unwrap().len(), 7);
    assert_eq!(json["problems"][1]["line"], 1);
}

#[test]
fn missing_directory_says_how_to_start() {
    let p = Project::new();
    let run = p.run(&["seal", "--check"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("--> migrations: no migrations directory here"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("cargo migrate new <name>"),
        "{}",
        run.stderr
    );
}

#[test]
fn prisma_project_reads_and_seals_as_is() {
    let p = Project::new();
    p.file(
        "migrations/migration_lock.toml",
        "provider = \"postgresql\"\n",
    )
    .file(
        "migrations/20241101000000_init/migration.sql",
        "-- CreateTable\nCREATE TABLE \"User\" (id TEXT);\n",
    )
    .file(
        "migrations/20241201000000_add_database_indexes/migration.sql",
        "CREATE INDEX a ON \"User\" (id);\n",
    )
    .file(
        "migrations/20250101000000_add_database_indexes/migration.sql",
        "CREATE INDEX b ON \"User\" (id);\n",
    );
    let run = p.run(&["seal"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr
            .lines()
            .filter(|l| l.starts_with("Sealed 20"))
            .count(),
        3,
        "{}",
        run.stderr
    );
    // Sealing shows what the linter thinks of what it seals (Prisma has no down migrations).
    assert_eq!(
        run.stderr.matches("error[missing-down-migration]").count(),
        3,
        "{}",
        run.stderr
    );
}

#[test]
fn usage_errors_exit_2() {
    let p = Project::new();
    assert_eq!(
        p.run(&["seal", "--check", "--force", "20261121090000"])
            .code,
        2
    );
    assert_eq!(p.run(&["seal", "--force", "yesterday"]).code, 2);
    assert_eq!(p.run(&["frobnicate"]).code, 2);
}
