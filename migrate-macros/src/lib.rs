//! Compile-time embedding of cargo-migrate migrations.
