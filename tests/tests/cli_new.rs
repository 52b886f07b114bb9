//! `cargo migrate new`: folder layout, names, collisions, errors that create nothing.

use migrate_tests::Project;

#[test]
fn new_creates_a_timestamped_folder_with_both_files_and_prints_its_path() {
    let p = Project::new();
    let run = p.run(&["new", "create_users"]);
    assert_eq!(run.code, 0, "{run:?}");
    let folders = p.migration_folders();
    assert_eq!(folders.len(), 1);
    let folder = &folders[0];
    assert_eq!(run.stdout, format!("migrations/{folder}\n"));
    assert!(
        folder.ends_with("_create_users") && folder.len() == 14 + 1 + 12,
        "{folder}"
    );
    let up = p.read(&format!("migrations/{folder}/migration.sql"));
    assert!(up.starts_with(&format!("-- Migration {folder}\n")), "{up}");
    assert!(!up.contains("migrate:"), "no directive unless asked: {up}");
    assert!(
        p.read(&format!("migrations/{folder}/down.sql"))
            .starts_with("-- Reverts ")
    );
    assert!(run.stderr.contains("cargo migrate seal"), "{}", run.stderr);
}

#[test]
fn new_twice_in_the_same_second_does_not_collide() {
    let p = Project::new();
    for _ in 0..3 {
        assert_eq!(p.run(&["new", "same_name"]).code, 0);
    }
    let folders = p.migration_folders();
    assert_eq!(folders.len(), 3, "{folders:?}");
    let versions: std::collections::BTreeSet<&str> = folders.iter().map(|f| &f[..14]).collect();
    assert_eq!(versions.len(), 3, "{folders:?}");
    assert_eq!(
        p.run(&["seal", "--check"]).code,
        3,
        "drafts are reported, not duplicates"
    );
}

#[test]
fn new_with_directives_writes_them_and_irreversible_has_no_down() {
    let p = Project::new();
    let run = p.run(&[
        "new",
        "add_index",
        "--no-transaction",
        "--irreversible",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["name"], "add_index");
    let folder = &p.migration_folders()[0];
    assert_eq!(json["version"], folder[..14]);
    assert_eq!(json["files"].as_array().unwrap().len(), 1);
    let up = p.read(&format!("migrations/{folder}/migration.sql"));
    assert!(
        up.contains("\n-- migrate:no-transaction\n") && up.contains("\n-- migrate:irreversible\n")
    );
    assert!(
        !p.path()
            .join("migrations")
            .join(folder)
            .join("down.sql")
            .exists()
    );
}

#[test]
fn invalid_name_is_rejected_with_a_suggestion_and_creates_nothing() {
    let p = Project::new();
    let run = p.run(&["new", "Add Users-Email"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: `Add Users-Email` is not a valid migration name: use lowercase snake_case \
         (letters, digits and single underscores, starting with a letter); try `add_users_email`\n  \
         note: nothing was created\n"
    );
    assert!(!p.path().join("migrations").exists() || p.migration_folders().is_empty());
}

#[test]
fn dir_comes_from_package_metadata_then_flag() {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [package.metadata.migrate]\ndir = \"db/migrations\"\n\n[workspace]\n",
    );
    let run = p.run(&["new", "a"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("db/migrations/"), "{}", run.stdout);
    let run = p.run(&["--dir", "elsewhere", "new", "b"]);
    assert!(run.stdout.starts_with("elsewhere/"), "{}", run.stdout);
    // Run from a subdirectory: the package root is found above it.
    std::fs::create_dir_all(p.path().join("src/deep")).unwrap();
    let out = std::process::Command::new(migrate_tests::binary())
        .args(["migrate", "new", "c"])
        .current_dir(p.path().join("src/deep"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_dir(p.path().join("db/migrations"))
            .unwrap()
            .count(),
        2
    );
}

#[test]
fn unknown_metadata_key_is_an_error_naming_the_manifest() {
    let p = Project::new();
    p.file(
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [package.metadata.migrate]\ndirectory = \"db\"\n\n[workspace]\n",
    );
    let run = p.run(&["new", "a"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("Cargo.toml: invalid [package.metadata.migrate]: unknown field `directory`"),
        "{}",
        run.stderr
    );
}
