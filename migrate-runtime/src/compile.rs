//! Compile-time verification and code generation, shared by `embed_migrations!` and the
//! build-script helper ([`crate::build`]): one check, one generator, so the two can never
//! disagree.
//!
//! The check reads the directory with the model and verifies it against `migrations.lock`:
//! edited, renamed or deleted sealed migrations, a corrupt lock file and every reading error
//! fail the build. Unsealed drafts are allowed in debug builds (with a warning) and refused in
//! release builds; that decision is emitted as `cfg(debug_assertions)` code, so it follows the
//! profile of the crate being built, not of the macro.

use crate::lockfile::{Finding, LockState, SqlKind, path as lock_path, verify};
pub use crate::model::constant_names;
use crate::model::{Migration, MigrationSet};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
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
    let set = MigrationSet::read(dir).map_err(|errors| {
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
    let state = LockState::load(dir).map_err(|e| {
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

/// The generated items: one `pub const` per migration, `LATEST`, `MIGRATOR`, and the draft
/// checks (`warn_drafts`: a deprecation warning in debug builds, for the macro; a build script
/// prints its own).
pub fn generate(checked: &Checked, warn_drafts: bool) -> TokenStream {
    let migrations = &checked.set.migrations;
    let keys: Vec<(String, &str)> = migrations
        .iter()
        .map(|m| (m.version.to_string(), m.name.as_str()))
        .collect();
    let refs: Vec<(&str, &str)> = keys.iter().map(|(v, n)| (v.as_str(), *n)).collect();
    let names = constant_names(&refs);
    let consts = migrations.iter().zip(&names).map(|(m, name)| {
        let ident = format_ident!("{}", name);
        let raw = m.version.get();
        let doc = constant_doc(m);
        quote! {
            #[doc = #doc]
            #[allow(dead_code)]
            pub const #ident: ::migrate_runtime::Version = ::migrate_runtime::Version::new_const(#raw);
        }
    });
    let latest_raw = migrations.last().map_or(0, |m| m.version.get());
    let latest_doc = match migrations.last() {
        Some(m) => format!("The newest migration, `{}`.", m.folder()),
        None => "No migrations yet: version 0.".to_string(),
    };
    let entries = migrations.iter().map(|m| entry(m, &checked.display_dir));
    let dir = &checked.display_dir;
    let lock = checked.lock_file.as_ref().map(|p| {
        let p = p.display().to_string();
        quote! { const _: &[u8] = ::core::include_bytes!(#p); }
    });
    let drafts = (!checked.drafts.is_empty()).then(|| {
        let list = checked.drafts.join(", ");
        let release = format!(
            "cargo-migrate: unsealed migrations in a release build: {list}. Seal them with \
             `cargo migrate seal` (review and commit migrations.lock) so no unsealed migration ships"
        );
        let debug = format!("unsealed migrations (drafts, allowed in debug builds only): {list}; seal them with `cargo migrate seal`");
        // Stable Rust has no way for a macro to warn; using a deprecated item is one.
        let warning = warn_drafts.then(|| {
            quote! {
                #[cfg(debug_assertions)]
                const _: () = {
                    #[deprecated(note = #debug)]
                    const fn unsealed_migrations() {}
                    unsealed_migrations()
                };
            }
        });
        quote! {
            #[cfg(not(debug_assertions))]
            ::core::compile_error!(#release);
            #warning
        }
    });
    let migrator_doc = format!("Every migration of `{dir}`, embedded at compile time.");
    quote! {
        #(#consts)*
        #[doc = #latest_doc]
        #[allow(dead_code)]
        pub const LATEST: ::migrate_runtime::Version = ::migrate_runtime::Version::new_const(#latest_raw);
        #[doc = #migrator_doc]
        #[allow(dead_code)]
        pub static MIGRATOR: ::migrate_runtime::embedded::Migrator = {
            // Short local names for what every entry spells: a thousand entries are then a
            // third fewer tokens for the compiler to take in, resolve and check.
            use ::migrate_runtime::embedded::EmbeddedMigration as M;
            use ::migrate_runtime::Version as V;
            use ::core::option::Option::{None, Some};
            use ::core::include_str as s;
            // A const item, not a promoted temporary: its value is 'static as a whole.
            const MIGRATIONS: &[M] = &[#(#entries),*];
            ::migrate_runtime::embedded::Migrator::new(#dir, MIGRATIONS)
        };
        #lock
        #drafts
    }
}

fn constant_doc(m: &Migration) -> String {
    let sql: Vec<&str> =
        m.up.sql
            .trim_start_matches('\u{feff}')
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(8)
            .collect();
    let more = if m.up.sql.lines().filter(|l| !l.trim().is_empty()).count() > 8 {
        "\n..."
    } else {
        ""
    };
    format!(
        " Migration `{}` (version {}).\n\n```sql\n{}{more}\n```",
        m.folder(),
        m.version,
        sql.join("\n").replace("```", "` ` `")
    )
}

fn entry(m: &Migration, display_dir: &str) -> TokenStream {
    let raw = m.version.get();
    let name = &m.name;
    let path = format!("{display_dir}/{}", m.folder());
    let up_path = m.up.path.display().to_string();
    // One byte-string token per checksum instead of 32 integer literals: far less to compile.
    let up_sum = proc_macro2::Literal::byte_string(&m.up.checksum.0);
    // The names `M`, `V`, `Some`, `None` and `s!` are the `use` items of `generate`.
    let (down, down_sum) = match &m.down {
        Some(d) => {
            let p = d.path.display().to_string();
            let sum = proc_macro2::Literal::byte_string(&d.checksum.0);
            (quote! { Some(s!(#p)) }, quote! { Some(*#sum) })
        }
        None => (quote! { None }, quote! { None }),
    };
    let no_transaction = m.directives.no_transaction;
    let irreversible = m.directives.irreversible;
    let down_no_transaction = m.down_no_transaction;
    quote! {
        M {
            version: V::new_const(#raw),
            name: #name,
            path: #path,
            up: s!(#up_path),
            up_checksum: *#up_sum,
            down: #down,
            down_checksum: #down_sum,
            no_transaction: #no_transaction,
            irreversible: #irreversible,
            down_no_transaction: #down_no_transaction,
        }
    }
}

/// Check and generate, or one `compile_error!` per problem, spanned at `span` (the macro call).
pub fn expand(dir: &Path, display_dir: &str, span: Span) -> TokenStream {
    match check(dir, display_dir) {
        Ok(checked) => generate(&checked, true),
        Err(messages) => {
            let errors = messages
                .iter()
                .map(|m| quote::quote_spanned! {span=> ::core::compile_error!(#m);});
            quote! { #(#errors)* }
        }
    }
}
