//! One module per command, each a thin call into migrate-runtime.

mod apply;
mod completions;
mod dev_db;
mod down;
mod import;
mod lint;
mod new;
mod reset;
mod resolve;
mod seal;
mod status;

use crate::cli::{Cli, Command};
use crate::context::Context;
use crate::exit::Exit;
use crate::report::Error;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<Exit, Error> {
    // Completions need no project.
    if let Command::Completions(args) = cli.command {
        return completions::run(args);
    }
    let cx = Context::resolve(&cli.global)?;
    if cx.github && !matches!(cli.command, Command::Lint(_)) {
        return Err(Error::new(
            "--format github is for `cargo migrate lint` only; use text or json",
        ));
    }
    match cli.command {
        Command::New(args) => new::run(&cx, args),
        Command::Seal(args) => seal::run(&cx, args),
        Command::Apply(args) => apply::run(&cx, args),
        Command::Status(args) => status::run(&cx, args),
        Command::Down(args) => down::run(&cx, args),
        Command::Resolve(args) => resolve::run(&cx, args),
        Command::Reset(args) => reset::run(&cx, args),
        Command::Lint(args) => lint::run(&cx, args),
        Command::Import(args) => import::run(&cx, args),
        Command::DevDb(action) => dev_db::run(&cx, action),
        Command::Completions(args) => completions::run(args),
    }
}
