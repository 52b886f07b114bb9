//! The end-to-end test harness of cargo-migrate:
//! - [`TestDb`]: a fresh PostgreSQL database per test (created, dropped after), on
//!   `DATABASE_URL` or the local server at 127.0.0.1:5432. No server reachable: the test fails
//!   loudly, it never skips.
//! - [`Project`]: a temporary project directory, and [`Project::run`] to run the real
//!   `cargo-migrate` binary in it.
//! - [`Fixture`]: a downstream fixture crate, copied and built with cargo (with the
//!   workspace's lock file, or none, as a user's new crate).
//! - [`PrivateCluster`]: a PostgreSQL cluster of one test's own (TLS, authentication), of
//!   the default programs or of a given major.
//! - [`CountingProxy`]: counts the round trips of the connections made through it.
//! - [`bench`]: what the benchmarks share (settings, medians, a child's time and peak memory).
//! - [`matrix`]: the version matrix, one server per supported PostgreSQL major (14-18), and
//!   [`each_major!`] to declare a test for each.

pub mod bench;
mod cluster;
mod db;
mod fixture;
pub mod matrix;
mod project;
mod proxy;

pub use cluster::{PrivateCluster, open_tempdir, open_up};
pub use db::{TestDb, admin_url, with_dbname};
pub use fixture::{Build, Fixture, cargo, copy_dir, target_dir, test_process_env};
pub use project::{Project, Run, binary};
pub use proxy::CountingProxy;
