//! `cargo migrate`: the command-line front end of cargo-migrate. It parses arguments and
//! dispatches; every command is a thin call into migrate-runtime.

// A command returns its error once, on the way out of the process: its size does not matter.
#![allow(clippy::result_large_err)]

mod cli;
mod commands;
mod exit;
mod output;
mod render;

use clap::Parser;
use std::process::ExitCode;

/// The `.env` file that supplied `DATABASE_URL`, if one did.
pub static DOTENV_FILE: std::sync::OnceLock<Option<std::path::PathBuf>> =
    std::sync::OnceLock::new();

fn main() -> ExitCode {
    // Installed as `cargo-migrate`, cargo runs it as `cargo-migrate migrate <args>`; run
    // directly, it gets `<args>`. Accept both.
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "migrate") {
        args.remove(1);
    }
    // `.env` (in this directory or above) fills in DATABASE_URL when it is not set; remember
    // whether it did, so messages can say where a URL came from.
    let env_had_url = std::env::var_os("DATABASE_URL").is_some();
    let dotenv_problem = match dotenvy::dotenv() {
        Ok(path) => {
            let _ = DOTENV_FILE.set((!env_had_url).then_some(path));
            None
        }
        Err(e) if !e.not_found() => Some(e.to_string()),
        _ => None,
    };
    let cli = cli::Cli::parse_from(args);
    output::init(cli.global.quiet, cli.global.verbose, cli.global.color);
    if let Some(problem) = dotenv_problem {
        output::warning(&format!("ignoring .env: {problem}"));
    }
    let format = if cli.global.format == cli::FormatArg::Json {
        render::Format::Json
    } else {
        render::Format::Text
    };
    match commands::run(cli, format) {
        Ok(exit) => exit.into(),
        Err(e) => {
            e.print(format);
            exit::Exit::Error.into()
        }
    }
}
