//! Compile-time verification and code generation, shared by `embed_migrations!` and the
//! build-script helper ([`crate::build`]): one check, one generator, so the two can never
//! disagree.
//!
//! The check reads the directory with the model and verifies it against `migrations.lock`:
//! edited, renamed or deleted sealed migrations, a corrupt lock file and every reading error
//! fail the build (a sealed migration's folder is not listed, so a stray file there is left to
//! the CLI: see [`MigrationSet::read_for_build`]). Unsealed drafts are allowed in debug builds (with a warning) and refused in
//! release builds; that decision is emitted as `cfg(debug_assertions)` code, so it follows the
//! profile of the crate being built, not of the macro.

use crate::Version;
use crate::lockfile::{Finding, LockState, SqlKind, path as lock_path, verify};
pub use crate::model::constant_names;
use crate::model::{Migration, MigrationSet};
use std::path::{Path, PathBuf};

/// A directory that passed the compile-time check.
#[derive(Debug)]
pub struct Checked {
    /// The directory as written by the user (for messages and `MIGRATOR`).
    pub display_dir: String,
    /// The migrations.
    pub set: MigrationSet,
    /// The lock file, when there is one (its bytes are included so edits rebuild).
    pub lock_file: Option<PathBuf>,
    /// Drafts: unsealed (or out-of-order) migrations, as folder names.
    pub drafts: Vec<String>,
}

/// Reads and verifies `dir` (absolute), shown to the user as `display_dir`. The error holds one
/// message per problem.
///
/// ```
/// use migrate_runtime::compile::check;
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::create_dir(dir.path().join("20261121093000_a")).unwrap();
/// std::fs::write(dir.path().join("20261121093000_a/migration.sql"), "SELECT 1;").unwrap();
/// let checked = check(dir.path(), "migrations").unwrap();
/// assert_eq!(checked.drafts, ["20261121093000_a"]);
/// ```
pub fn check(dir: &Path, display_dir: &str) -> Result<Checked, Vec<String>> {
    let shown = |text: String| text.replace(&dir.display().to_string(), display_dir);
    // The lock file first: the folders of sealed migrations (by version and name, as sealed)
    // are read without listing them. Its errors are reported after the directory's.
    let state = LockState::load(dir);
    let sealed = |version: Version, name: &str| match &state {
        Ok(LockState::Valid(lock)) => lock.get(version).is_some_and(|e| e.name == name),
        _ => false,
    };
    let set = MigrationSet::read_for_build(dir, &sealed).map_err(|errors| {
        errors
            .0
            .iter()
            .map(|e| {
                let help = e
                    .problem
                    .help()
                    .map(|h| format!("\n  help: {h}"))
                    .unwrap_or_default();
                shown(format!("cargo-migrate: {e}{help}"))
            })
            .collect::<Vec<_>>()
    })?;
    let state = state.map_err(|e| {
        vec![shown(format!(
            "cargo-migrate: cannot read {}: {e}",
            lock_path(dir).display()
        ))]
    })?;
    let mut errors = Vec::new();
    let mut drafts = Vec::new();
    for finding in verify(&set, &state) {
        match &finding {
            Finding::Unsealed { version, name, .. } | Finding::OutOfOrder { version, name, .. } => {
                drafts.push(format!("{version}_{name}"));
            }
            _ => errors.push(shown(message(&finding))),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let lock_file = Some(lock_path(dir)).filter(|p| p.is_file());
    Ok(Checked {
        display_dir: display_dir.to_string(),
        set,
        lock_file,
        drafts,
    })
}

/// The compile-time message for a finding: which migration, which file, both hashes in full,
/// and what to do.
fn message(finding: &Finding) -> String {
    match finding {
        Finding::Edited {
            version,
            name,
            file,
            path,
            sealed,
            current,
        } => {
            let hash = |c: &Option<crate::Checksum>| {
                c.map_or("none (no such file)".to_string(), |c| c.to_string())
            };
            let what = match (file, sealed, current) {
                (SqlKind::Down, None, _) => "down.sql was added to",
                (_, _, None) => "a file was deleted from",
                _ => "a file changed in",
            };
            format!(
                "cargo-migrate: {what} the sealed migration {version}_{name}: {} (sealed sha256 {}, now {})\n  help: {}",
                path.display(),
                hash(sealed),
                hash(current),
                finding.help()
            )
        }
        Finding::Missing {
            version,
            name,
            path,
        } => format!(
            "cargo-migrate: the sealed migration {version}_{name} was deleted: {} is missing\n  help: {}",
            path.display(),
            finding.help()
        ),
        _ => format!("cargo-migrate: {finding}\n  help: {}", finding.help()),
    }
}

/// The generated items as Rust source: one `pub const` per migration, `LATEST`, `MIGRATOR`,
/// and the draft checks (`warn_drafts`: a deprecation warning in debug builds, for the macro;
/// a build script prints its own).
///
/// Written as text and handed to the compiler in one piece: the macro then makes one call
/// into the compiler, which lexes the text with its own (optimized) lexer, instead of one
/// call per token. Per migration the code is short: one doc line, the constant, and one
/// `const fn` call with positional arguments for its entry, which names the constant (so the
/// constant is used: it needs no `#[allow(dead_code)]`, and its version is written once).
/// This runs unoptimized in the macro: the text is appended piece by piece, without
/// formatting machinery where a piece is plain.
///
/// ```
/// use migrate_runtime::compile::{check, source};
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::create_dir(dir.path().join("20261121093000_create_users")).unwrap();
/// std::fs::write(dir.path().join("20261121093000_create_users/migration.sql"), "SELECT 1;").unwrap();
/// let code = source(&check(dir.path(), "migrations").unwrap(), false);
/// assert!(code.contains("pub const CREATE_USERS: ::migrate_runtime::Version"));
/// assert!(code.contains("M::new(CREATE_USERS, "));
/// assert!(code.contains("pub static MIGRATOR"));
/// ```
pub fn source(checked: &Checked, warn_drafts: bool) -> String {
    use std::fmt::Write;
    let migrations = &checked.set.migrations;
    let folders: Vec<String> = migrations.iter().map(Migration::folder).collect();
    let keys: Vec<(&str, &str)> = folders
        .iter()
        .zip(migrations)
        .map(|(f, m)| (&f[..14], m.name.as_str()))
        .collect();
    let names = constant_names(&keys);
    let dir = &checked.display_dir;
    // About 500 bytes per migration (its doc, its constant, its entry with an absolute path
    // and an escaped checksum).
    let mut out = String::with_capacity(1024 + migrations.len() * 512);
    // `write!` to a `String` cannot fail.
    for ((m, folder), name) in migrations.iter().zip(&folders).zip(&names) {
        let _ = write!(out, "#[doc = {:?}]\npub const ", constant_doc(m, folder));
        out.push_str(name);
        out.push_str(": ::migrate_runtime::Version = ::migrate_runtime::Version::new_const(");
        out.push_str(&folder[..14]);
        out.push_str(");\n");
    }
    let (latest_raw, latest_doc) = match (migrations.last(), folders.last()) {
        (Some(m), Some(folder)) => (
            m.version.get(),
            format!("The newest migration, `{folder}`."),
        ),
        _ => (0, "No migrations yet: version 0.".to_string()),
    };
    let _ = write!(
        out,
        "#[doc = {latest_doc:?}]\n#[allow(dead_code)]\npub const LATEST: ::migrate_runtime::Version = \
         ::migrate_runtime::Version::new_const({latest_raw});\n\
         #[doc = {:?}]\n#[allow(dead_code)]\n\
         pub static MIGRATOR: ::migrate_runtime::embedded::Migrator = {{\n\
         use ::migrate_runtime::embedded::EmbeddedMigration as M;\n\
         use ::core::include_str as s;\n{}\
         // An inline const, not a promoted temporary: its value is 'static as a whole, and it\n\
         // names nothing that could shadow a migration's constant (named in the entries) or\n\
         // trip a crate's naming lints.\n\
         ::migrate_runtime::embedded::Migrator::new({dir:?}, const {{ &[\n",
        format!("Every migration of `{dir}`, embedded at compile time."),
        // Only what the entries use: an unused import would warn.
        match (
            migrations.iter().any(|m| m.down.is_some()),
            migrations.iter().any(|m| m.down.is_none()),
        ) {
            (true, true) => "use ::core::option::Option::{None, Some};\n",
            (true, false) => "use ::core::option::Option::Some;\n",
            (false, true) => "use ::core::option::Option::None;\n",
            (false, false) => "",
        }
    );
    let mut path = String::new();
    for ((m, folder), name) in migrations.iter().zip(&folders).zip(&names) {
        path.clear();
        path.push_str(dir);
        path.push('/');
        path.push_str(folder);
        entry(&mut out, m, name, &path);
    }
    let _ = writeln!(out, "] }})\n}};");
    if let Some(lock) = &checked.lock_file {
        let _ = writeln!(
            out,
            "const _: &[u8] = ::core::include_bytes!({:?});",
            lock.display().to_string()
        );
    }
    if !checked.drafts.is_empty() {
        let list = checked.drafts.join(", ");
        let release = format!(
            "cargo-migrate: unsealed migrations in a release build: {list}. Seal them with \
             `cargo migrate seal` (review and commit migrations.lock) so no unsealed migration ships"
        );
        let _ = writeln!(
            out,
            "#[cfg(not(debug_assertions))]\n::core::compile_error!({release:?});"
        );
        if warn_drafts {
            let debug = format!(
                "unsealed migrations (drafts, allowed in debug builds only): {list}; seal them \
                 with `cargo migrate seal`"
            );
            // Stable Rust has no way for a macro to warn; using a deprecated item is one.
            let _ = writeln!(
                out,
                "#[cfg(debug_assertions)]\nconst _: () = {{\n#[deprecated(note = {debug:?})]\n\
                 const fn unsealed_migrations() {{}}\nunsealed_migrations()\n}};"
            );
        }
    }
    out
}

/// A constant's doc: its folder and the first lines of its SQL (what an editor shows on
/// hover). One string literal: its length costs the compiler next to nothing.
fn constant_doc(m: &Migration, folder: &str) -> String {
    let mut sql = String::with_capacity(m.up.sql.len().min(512));
    let mut lines =
        (m.up.sql.trim_start_matches('\u{feff}').lines()).filter(|l| !l.trim().is_empty());
    for line in lines.by_ref().take(8) {
        sql.push_str(line);
        sql.push('\n');
    }
    if lines.next().is_some() {
        sql.push_str("...\n");
    }
    // A fence inside the SQL would end the block early.
    if sql.contains("```") {
        sql = sql.replace("```", "` ` `");
    }
    format!(" Migration `{folder}`.\n\n```sql\n{sql}```")
}

/// One entry of the list `MIGRATOR` holds: an `EmbeddedMigration::new` call with the migration's constant (the
/// names `M`, `s!`, `Some` and `None` are the `use` items of [`source`]). `Debug` of a `str` is
/// a valid Rust string literal.
fn entry(out: &mut String, m: &Migration, name: &str, path: &str) {
    use std::fmt::Write;
    out.push_str("M::new(");
    out.push_str(name);
    let _ = write!(
        out,
        ", {:?}, {path:?}, s!({:?}), ",
        m.name,
        m.up.path.display().to_string()
    );
    push_bytes(out, &m.up.checksum.0);
    match &m.down {
        Some(d) => {
            let _ = write!(out, ", Some((s!({:?}), ", d.path.display().to_string());
            push_bytes(out, &d.checksum.0);
            out.push_str("))");
        }
        None => out.push_str(", None"),
    }
    use crate::embedded::{DOWN_NO_TRANSACTION, IRREVERSIBLE, NO_TRANSACTION};
    let flag = |on: bool, flag: u8| if on { flag } else { 0 };
    let flags = flag(m.directives.no_transaction, NO_TRANSACTION)
        | flag(m.directives.irreversible, IRREVERSIBLE)
        | flag(m.down_no_transaction, DOWN_NO_TRANSACTION);
    out.push_str(match flags {
        0 => ", 0),\n",
        1 => ", 1),\n",
        2 => ", 2),\n",
        3 => ", 3),\n",
        4 => ", 4),\n",
        5 => ", 5),\n",
        6 => ", 6),\n",
        _ => ", 7),\n",
    });
}

/// A checksum as a byte-string literal, dereferenced to an array: one token for 32 bytes.
/// Built in an array and appended once (byte by byte, unoptimized, it cost more than the
/// rest of the entry).
fn push_bytes(out: &mut String, bytes: &[u8; 32]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = *b"*b\"\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\"";
    let mut at = 5;
    for &b in bytes {
        text[at] = HEX[usize::from(b >> 4)];
        text[at + 1] = HEX[usize::from(b & 0xf)];
        at += 4;
    }
    // Only ASCII was written.
    out.push_str(std::str::from_utf8(&text).unwrap_or_default());
}

/// Check and generate: the generated source, or one `compile_error!` per problem.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let code = migrate_runtime::compile::expand(&dir.path().join("missing"), "missing");
/// assert!(code.starts_with("::core::compile_error!("), "{code}");
/// ```
pub fn expand(dir: &Path, display_dir: &str) -> String {
    match check(dir, display_dir) {
        Ok(checked) => source(&checked, true),
        Err(messages) => messages
            .iter()
            .map(|m| format!("::core::compile_error!({m:?});\n"))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::{check, source};

    /// The delimiters of Rust source, outside string literals and `//` comments, balance.
    /// (The compiler panics instead of reporting an error when a proc-macro's text does not
    /// lex, so the generator must never produce such text.)
    fn balanced(code: &str) -> bool {
        let mut stack = Vec::new();
        let mut chars = code.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    while let Some(c) = chars.next() {
                        match c {
                            '\\' => {
                                chars.next();
                            }
                            '"' => break,
                            _ => {}
                        }
                    }
                }
                '/' if chars.peek() == Some(&'/') => {
                    for c in chars.by_ref() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                '(' | '[' | '{' => stack.push(c),
                ')' | ']' | '}' => {
                    let open = match c {
                        ')' => '(',
                        ']' => '[',
                        _ => '{',
                    };
                    if stack.pop() != Some(open) {
                        return false;
                    }
                }
                _ => {}
            }
        }
        stack.is_empty()
    }

    #[test]
    fn generated_source_balances_with_down_files_drafts_and_odd_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("a \"quoted\" (dir) {x}");
        for (folder, down) in [("20240101000000_a", true), ("20240201000000_b", false)] {
            std::fs::create_dir_all(root.join(folder)).unwrap();
            let sql = if down {
                "SELECT 1;\n"
            } else {
                "-- migrate:no-transaction\nSELECT 1;\n"
            };
            std::fs::write(root.join(folder).join("migration.sql"), sql).unwrap();
            if down {
                std::fs::write(root.join(folder).join("down.sql"), "SELECT 2;\n").unwrap();
            }
        }
        let checked = check(&root, "a \"quoted\" (dir) {x}").unwrap();
        assert_eq!(checked.drafts.len(), 2);
        let code = source(&checked, true);
        assert!(balanced(&code), "{code}");
        assert!(
            code.contains("use ::core::option::Option::{None, Some};"),
            "{code}"
        );
        assert!(code.contains("compile_error!"), "{code}");
        // The flags: none for a; for b `NO_TRANSACTION`, and `DOWN_NO_TRANSACTION` as its
        // (absent) down.sql would run as migration.sql does.
        assert!(code.contains("\")), 0),\nM::new(B, \"b\""), "{code}");
        assert!(code.contains(", None, 5),"), "{code}");
        assert!(code.contains("deprecated(note"), "{code}");
        assert!(!balanced("M::new(1, Some((s!(\"x\"), *b\"\"), 0),"));
    }

    /// Sealed folders are read without a listing: their files still fail the build when
    /// edited, deleted or added, and a stray file is still an error in a draft's folder.
    #[test]
    fn sealed_folders_unlisted_still_fail_on_every_change_of_their_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let write = |rel: &str, text: &str| std::fs::write(root.join(rel), text).unwrap();
        for folder in ["20240101000000_a", "20240201000000_b"] {
            std::fs::create_dir(root.join(folder)).unwrap();
            write(&format!("{folder}/migration.sql"), "SELECT 1;\n");
        }
        write("20240101000000_a/down.sql", "SELECT 2;\n");
        let set = crate::MigrationSet::read(root).unwrap();
        let sealed = crate::seal(&set, &crate::LockState::Absent, &Default::default()).unwrap();
        crate::lockfile::write(root, &sealed.lock).unwrap();
        assert!(check(root, "m").unwrap().drafts.is_empty());
        let fails = |what: &str| {
            let errors = check(root, "m").unwrap_err();
            assert!(
                errors.iter().any(|e| e.contains(what)),
                "{what}: {errors:?}"
            );
        };

        // A stray file in a sealed folder is not looked for; in a draft's it is.
        write("20240101000000_a/notes.txt", "");
        assert!(check(root, "m").is_ok());
        std::fs::create_dir(root.join("20240301000000_c")).unwrap();
        write("20240301000000_c/migration.sql", "SELECT 3;\n");
        write("20240301000000_c/donw.sql", "SELECT 4;\n");
        fails("20240301000000_c/donw.sql");
        std::fs::remove_dir_all(root.join("20240301000000_c")).unwrap();

        write("20240201000000_b/migration.sql", "SELECT 5;\n");
        fails("a file changed in the sealed migration 20240201000000_b");
        write("20240201000000_b/migration.sql", "SELECT 1;\n");
        write("20240201000000_b/down.sql", "SELECT 6;\n");
        fails("down.sql was added to the sealed migration 20240201000000_b");
        std::fs::remove_file(root.join("20240201000000_b/down.sql")).unwrap();
        std::fs::remove_file(root.join("20240101000000_a/down.sql")).unwrap();
        fails("a file was deleted from the sealed migration 20240101000000_a");
        write("20240101000000_a/down.sql", "SELECT 2;\n");
        std::fs::remove_file(root.join("20240101000000_a/migration.sql")).unwrap();
        fails("20240101000000_a/migration.sql: ");
        write("20240101000000_a/migration.sql", "SELECT 1;\n");
        assert!(check(root, "m").is_ok());
    }

    #[test]
    fn each_constant_documents_its_folder_and_first_lines_of_sql() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("20240101000000_create_users");
        std::fs::create_dir(&folder).unwrap();
        let sql: String = (1..=10).map(|i| format!("SELECT {i};\n\n")).collect();
        std::fs::write(folder.join("migration.sql"), format!("\u{feff}{sql}")).unwrap();
        let code = source(&check(dir.path(), "migrations").unwrap(), false);
        let doc = " Migration `20240101000000_create_users`.\n\n```sql\nSELECT 1;\nSELECT 2;\n\
                   SELECT 3;\nSELECT 4;\nSELECT 5;\nSELECT 6;\nSELECT 7;\nSELECT 8;\n...\n```";
        assert!(
            code.contains(&format!("#[doc = {doc:?}]\npub const CREATE_USERS")),
            "{code}"
        );
    }
}
