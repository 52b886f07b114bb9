//! One module per command, each a thin call into migrate-runtime.

mod new;
mod seal;

use crate::cli::{Cli, Command};
use crate::context::Context;
use crate::exit::Exit;
use crate::report::Error;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<Exit, Error> {
    let cx = Context::resolve(&cli.global)?;
    match cli.command {
        Command::New(args) => new::run(&cx, args),
        Command::Seal(args) => seal::run(&cx, args),
    }
}
