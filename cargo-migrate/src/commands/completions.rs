//! `cargo migrate completions <shell>`: a completion script for `cargo-migrate`, generated from
//! the same clap definition that parses the arguments, so it never goes stale.

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::Exit;
use crate::render::error::CliError;
use clap::CommandFactory;

pub fn run(args: CompletionsArgs) -> Result<Exit, CliError> {
    let mut cmd = Cli::command().bin_name("cargo-migrate");
    clap_complete::generate(
        args.shell,
        &mut cmd,
        "cargo-migrate",
        &mut std::io::stdout(),
    );
    Ok(Exit::Success)
}
