//! Exit codes, the contract scripts and CI rely on (documented in `--help` and the README).

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Did what was asked.
    Success = 0,
    /// Could not do what was asked (bad input, refused, failed).
    Error = 1,
    /// A check found problems (`seal --check`, `status`).
    Problems = 3,
    /// `status`: pending migrations, nothing wrong.
    Pending = 4,
    /// A backfill stopped on Ctrl-C after a committed batch (128 + SIGINT, as shells report
    /// a command ended by Ctrl-C); running the command again resumes it.
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}
