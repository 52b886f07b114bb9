//! `cargo migrate`: the command-line front end of cargo-migrate. It parses arguments and
//! dispatches; every command is a thin call into migrate-runtime.

mod cli;
mod commands;
mod context;
mod exit;
mod report;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Installed as `cargo-migrate`, cargo runs it as `cargo-migrate migrate <args>`; run
    // directly, it gets `<args>`. Accept both.
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "migrate") {
        args.remove(1);
    }
    let cli = cli::Cli::parse_from(args);
    let format = cli.global.format;
    match commands::run(cli) {
        Ok(exit) => exit.into(),
        Err(e) => {
            report::print_error(format, &e);
            exit::Exit::Error.into()
        }
    }
}
