//! How much the CLI says and in which colours: `--quiet` / `--verbose`, and `--color` (colour
//! only on a terminal, never with `NO_COLOR` set, unless `--color always`). Printing goes
//! through anstream, which strips the styles wherever colour is off.

use anstyle::{AnsiColor, Style};
use std::sync::atomic::{AtomicU8, Ordering};

/// `error:` labels.
pub const ERROR: Style = AnsiColor::Red.on_default().bold();
/// `warning:` labels.
pub const WARNING: Style = AnsiColor::Yellow.on_default().bold();
/// `help:` and `note:` labels.
pub const HELP: Style = AnsiColor::Cyan.on_default().bold();
/// Success words (`Applied`, `up to date`).
pub const GOOD: Style = AnsiColor::Green.on_default().bold();
/// Secondary text (durations, paths).
pub const DIM: Style = Style::new().dimmed();

const QUIET: u8 = 0;
const NORMAL: u8 = 1;
const VERBOSE: u8 = 2;

static LEVEL: AtomicU8 = AtomicU8::new(NORMAL);

/// Sets the verbosity and colour choice for the whole process.
pub fn init(quiet: bool, verbose: bool, color: crate::cli::ColorArg) {
    let level = if quiet {
        QUIET
    } else if verbose {
        VERBOSE
    } else {
        NORMAL
    };
    LEVEL.store(level, Ordering::Relaxed);
    let choice = match color {
        crate::cli::ColorArg::Auto => anstream::ColorChoice::Auto,
        crate::cli::ColorArg::Always => anstream::ColorChoice::Always,
        crate::cli::ColorArg::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
}

/// `--quiet`: only results, warnings and errors.
pub fn quiet() -> bool {
    LEVEL.load(Ordering::Relaxed) == QUIET
}

/// `--verbose`: also each step's detail.
pub fn verbose() -> bool {
    LEVEL.load(Ordering::Relaxed) == VERBOSE
}

/// Prints a progress line on stderr unless `--quiet`.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => {
        if !$crate::output::quiet() {
            anstream::eprintln!($($arg)*);
        }
    };
}

/// Prints a detail line on stderr with `--verbose`.
#[macro_export]
macro_rules! detail {
    ($($arg:tt)*) => {
        if $crate::output::verbose() {
            anstream::eprintln!($($arg)*);
        }
    };
}

/// Stdout for a long block of text (a line per migration): written a buffer at a time, not a
/// write per line, through one stream that keeps styles where colour is on and strips them
/// where it is off (as the text passes: it is never held whole). The buffer is below the
/// stripping (stdout itself is line-buffered: stripped pieces written to it directly would
/// make a write per line). Errors are the caller's to ignore: a closed pipe (`| head`) is
/// not one worth reporting.
pub fn block() -> impl std::io::Write {
    let stdout = std::io::stdout();
    let choice = anstream::AutoStream::choice(&stdout);
    let buffered: Box<dyn std::io::Write> =
        Box::new(std::io::BufWriter::with_capacity(64 * 1024, stdout.lock()));
    anstream::AutoStream::new(buffered, choice)
}

/// Prints a warning on stderr (also with `--quiet`: a warning is never progress).
pub fn warning(message: &str) {
    anstream::eprintln!("{WARNING}warning{WARNING:#}: {message}");
}

/// Prints `  <verb> <item>` for each item, or for the first `max` and a line saying how many
/// more there are and how to see them.
pub fn summarised(verb: &str, items: &[String], max: usize, see_all: &str) {
    print_summarised("  ", verb, items, max, see_all);
}

/// [`summarised`], not indented (a command's own result lines).
pub fn summarised_top(verb: &str, items: &[String], max: usize, see_all: &str) {
    print_summarised("", verb, items, max, see_all);
}

fn print_summarised(indent: &str, verb: &str, items: &[String], max: usize, see_all: &str) {
    let verb = if verb.is_empty() {
        String::new()
    } else {
        format!("{verb} ")
    };
    for item in items.iter().take(max) {
        crate::info!("{indent}{verb}{item}");
    }
    if items.len() > max {
        crate::info!("{indent}{verb}{} more ({see_all})", items.len() - max);
    }
}
