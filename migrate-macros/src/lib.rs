//! `embed_migrations!`: embeds a cargo-migrate migrations directory in the binary at compile
//! time, and **fails the build** when a sealed migration was edited or deleted, the lock file is
//! corrupt, or (in release builds) a migration is not sealed yet.
//!
//! This crate only parses the macro input; reading, verifying and generating are done by
//! `migrate_runtime::compile`, the same code the CLI's model and the build-script helper use.
//!
//! ```no_run
//! mod migrations {
//!     // Relative to the crate root; here the repository's example project.
//!     migrate_macros::embed_migrations!("../examples/quickstart/migrations");
//! }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let mut client = postgres::Client::connect("postgres://postgres@localhost/app", postgres::NoTls)?;
//!     migrations::MIGRATOR.apply(&mut client)?;
//!     migrations::MIGRATOR.require(&mut client, migrations::CREATE_USERS)?;
//!     Ok(())
//! }
//! ```
//!
//! (`no_run`: compiled, so the macro verifies the example's migrations, and not run, as it
//! needs a server; `tests/tests/downstream.rs` runs such a crate end to end.)
//!
//! Generated items: one `pub const <NAME>: migrate_runtime::Version` per migration (the name
//! in UPPER_SNAKE_CASE; `_<version>` appended when names repeat), `pub const LATEST`, and
//! `pub static MIGRATOR: migrate_runtime::embedded::Migrator`. The calling crate must depend on
//! `migrate-runtime`.

use proc_macro::TokenStream;
use proc_macro2::Span;
use std::path::PathBuf;
use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Token, parse_macro_input};

/// The macro input: nothing, or one string literal (optionally followed by a comma).
struct Input {
    dir: Option<LitStr>,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Ok(Input { dir: None });
        }
        let dir: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the migrations directory as a string literal, relative to the crate \
                 root: `embed_migrations!(\"migrations\")` (or no argument for the default)",
            )
        })?;
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the directory: `embed_migrations!` takes one string literal"));
        }
        Ok(Input { dir: Some(dir) })
    }
}

/// Embeds and verifies a migrations directory. See the crate documentation.
///
/// The path is relative to the calling crate's `CARGO_MANIFEST_DIR`; with no argument it is
/// `[package.metadata.migrate] dir`, else `migrations`, as for the CLI.
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as Input);
    let Some(root) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) else {
        return syn::Error::new(
            Span::call_site(),
            "CARGO_MANIFEST_DIR is not set: build with cargo",
        )
        .to_compile_error()
        .into();
    };
    let (dir, display) = match &input.dir {
        Some(lit) => (root.join(lit.value()), lit.value()),
        None => match migrate_runtime::project::Project::for_package(&root) {
            Ok(project) => {
                let dir = project.migrations_dir();
                let display = dir
                    .strip_prefix(&root)
                    .unwrap_or(&dir)
                    .display()
                    .to_string();
                (dir, display)
            }
            Err(e) => {
                return syn::Error::new(Span::call_site(), format!("cargo-migrate: {e}"))
                    .to_compile_error()
                    .into();
            }
        },
    };
    let source = migrate_runtime::compile::expand(&dir, display.trim_end_matches('/'));
    // The compiler's own parser, in one call (proc_macro2's would first check the whole text
    // with its own lexer, unoptimized in a dev build). Every token gets the call site's span,
    // as `quote!` gives them.
    match source.parse::<TokenStream>() {
        Ok(tokens) => tokens,
        Err(e) => syn::Error::new(
            Span::call_site(),
            format!("cargo-migrate: the generated code does not parse ({e}); please report this"),
        )
        .to_compile_error()
        .into(),
    }
}
