//! One module per command, each a thin front end: arguments into a request, one operation of
//! `migrate_runtime::ops`, the report rendered (`crate::render`).

mod apply;
mod backup;
mod check;
mod completions;
mod dev_db;
mod diff;
mod down;
mod fleet;
mod import;
mod lint;
mod new;
mod reset;
mod resolve;
mod restore;
mod seal;
mod seed;
mod status;
mod verify;

use crate::cli::{Cli, Command, FormatArg, Global};
use crate::exit::Exit;
use crate::render::Format;
use crate::render::error::CliError;
use migrate_runtime::ops::{Workspace, WorkspaceOptions};

/// Ctrl-C while a backfill runs stops it after its current batch; a second Ctrl-C cancels that
/// batch on the server (rolled back at once, its locks released), says so, and ends the process;
/// at any other time Ctrl-C ends the process at once. Exit code 130.
pub(crate) fn stop_on_ctrl_c() -> migrate_runtime::engine::Stop {
    use signal_hook::consts::SIGINT;
    use signal_hook::flag;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    let stop = migrate_runtime::engine::Stop::default();
    // A cancel request needs the network, which a signal handler cannot use: each Ctrl-C is
    // written to a socket a thread of its own reads. Registered in this order, the handlers
    // run in this order: one while the cancel request is on its way (a third Ctrl-C) or one
    // with no batch to finish exits; otherwise it is counted and the request is noted. If the
    // handlers cannot be installed, Ctrl-C keeps its default effect.
    let cancelling = Arc::new(AtomicBool::new(false));
    let Ok((ctrl_c, write)) = std::os::unix::net::UnixStream::pair() else {
        return stop;
    };
    let registered = flag::register_conditional_shutdown(SIGINT, 130, cancelling.clone())
        .and_then(|_| flag::register_conditional_shutdown(SIGINT, 130, stop.immediate.clone()))
        .and_then(|_| signal_hook::low_level::pipe::register(SIGINT, write))
        .and_then(|_| flag::register(SIGINT, stop.requested.clone()));
    if registered.is_ok() {
        let watched = stop.clone();
        let _ = std::thread::Builder::new()
            .name("cargo-migrate-ctrl-c".into())
            .spawn(move || cancel_on_second_ctrl_c(ctrl_c, &watched, &cancelling));
    }
    stop
}

/// Waits for the second Ctrl-C, then cancels the running batch on the server, says so on
/// stderr and exits (130).
fn cancel_on_second_ctrl_c(
    mut ctrl_c: std::os::unix::net::UnixStream,
    stop: &migrate_runtime::engine::Stop,
    cancelling: &std::sync::atomic::AtomicBool,
) {
    use std::io::Read;
    let mut byte = [0u8];
    for _ in 0..2 {
        if ctrl_c.read_exact(&mut byte).is_err() {
            return;
        }
    }
    cancelling.store(true, std::sync::atomic::Ordering::Release);
    for cancelled in stop.cancel_running() {
        crate::render::backfill::cancelled(&cancelled);
    }
    std::process::exit(130);
}

/// The end of a command a Ctrl-C can stop between a backfill's batches (`apply`, `down`): its
/// report printed (exit 0), the interruption said (exit 130), or its error.
pub(crate) fn report_or_interrupted<T>(
    format: Format,
    outcome: Result<T, migrate_runtime::ops::OpError>,
    print: impl FnOnce(Format, &T),
) -> Result<Exit, CliError> {
    use migrate_runtime::engine::EngineError;
    use migrate_runtime::ops::OpError;
    match outcome {
        Ok(report) => {
            print(format, &report);
            Ok(Exit::Success)
        }
        Err(OpError::Engine {
            error: EngineError::Interrupted(stopped),
            sealed,
            ..
        }) => {
            crate::render::backfill::interrupted(format, &stopped, &sealed);
            Ok(Exit::Interrupted)
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli, format: Format) -> Result<Exit, CliError> {
    // Completions need no project.
    if let Command::Completions(args) = cli.command {
        return completions::run(args);
    }
    let ws = workspace(&cli.global)?;
    for w in &ws.warnings {
        crate::output::warning(w);
    }
    let github = cli.global.format == FormatArg::Github;
    if github && !matches!(cli.command, Command::Lint(_) | Command::Check(_)) {
        return Err(CliError::new(
            "--format github is for `cargo migrate lint` and `check` only; use text or json",
        ));
    }
    match cli.command {
        Command::New(args) => new::run(&ws, format, args),
        Command::Seal(args) => seal::run(&ws, format, args),
        Command::Apply(args) => apply::run(&ws, format, args),
        Command::Status(args) => status::run(&ws, format, args),
        Command::Down(args) => down::run(&ws, format, args),
        Command::Resolve(args) => resolve::run(&ws, format, args),
        Command::Reset(args) => reset::run(&ws, format, args),
        Command::Seed(args) => seed::run(&ws, format, args),
        Command::Lint(args) => lint::run(&ws, format, github, args),
        Command::Verify(args) => verify::run(&ws, format, args),
        Command::Diff(args) => diff::run(&ws, format, args),
        Command::Check(args) => check::run(&ws, format, github, args),
        Command::Import(args) => import::run(&ws, format, args),
        Command::Backup(args) => backup::run(&ws, format, args),
        Command::Restore(args) => restore::run(&ws, format, args),
        Command::DevDb(action) => dev_db::run(&ws, format, action),
        Command::Completions(args) => completions::run(args),
    }
}

/// The workspace the global options describe, from the current directory.
fn workspace(global: &Global) -> Result<Workspace, CliError> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::new(format!("cannot read the current directory: {e}")))?;
    let options = WorkspaceOptions {
        dir: global.dir.clone(),
        manifest_path: global.manifest_path.clone(),
        database_url: global.database_url.clone(),
        database_url_source: database_url_source(global),
    };
    Ok(Workspace::locate(&options, &cwd)?)
}

/// Where `--database-url` / `DATABASE_URL` came from: the flag, the environment, or a `.env`
/// file (recorded by `main` before it loads `.env`).
fn database_url_source(global: &Global) -> String {
    let from_env = std::env::var("DATABASE_URL").ok();
    match (&global.database_url, from_env) {
        (Some(flag), Some(env)) if *flag == env => match crate::DOTENV_FILE.get() {
            Some(Some(path)) => format!("DATABASE_URL in {}", path.display()),
            _ => "DATABASE_URL".into(),
        },
        _ => "--database-url".into(),
    }
}
