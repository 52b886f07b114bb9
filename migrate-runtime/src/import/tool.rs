//! The tools an import knows, and what is particular to each, dispatched to its module: how
//! its directory is read, what its table is called and which of its columns are read, how its
//! history names a migration.

use super::report::Problem;
use super::source::SourceSet;
use super::{SourceRow, atlas, diesel, golang_migrate, prisma, refinery, sqlx};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// A tool whose projects can be imported.
///
/// ```
/// use migrate_runtime::import::Tool;
/// let tool: Tool = "golang-migrate".parse().unwrap();
/// assert_eq!(tool, Tool::GolangMigrate);
/// assert_eq!(tool.to_string(), "golang-migrate");
/// assert!("flyway".parse::<Tool>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    /// Prisma Migrate.
    Prisma,
    /// diesel (diesel_migrations, diesel CLI).
    Diesel,
    /// sqlx (sqlx-cli, `sqlx::migrate!`).
    Sqlx,
    /// golang-migrate.
    GolangMigrate,
    /// refinery.
    Refinery,
    /// Atlas (versioned migrations).
    Atlas,
}

impl Tool {
    /// Every tool, in the order `--help` lists them.
    ///
    /// ```
    /// # use migrate_runtime::import::Tool;
    /// assert_eq!(Tool::ALL.len(), Tool::NAMES.len());
    /// ```
    pub const ALL: [Tool; 6] = [
        Tool::Prisma,
        Tool::Diesel,
        Tool::Sqlx,
        Tool::GolangMigrate,
        Tool::Refinery,
        Tool::Atlas,
    ];

    /// The names `--from` takes.
    ///
    /// ```
    /// # use migrate_runtime::import::Tool;
    /// assert!(Tool::NAMES.contains(&"golang-migrate"));
    /// ```
    pub const NAMES: [&'static str; 6] = [
        "prisma",
        "diesel",
        "sqlx",
        "golang-migrate",
        "refinery",
        "atlas",
    ];

    /// Its name, as `--from` takes it.
    ///
    /// ```
    /// assert_eq!(migrate_runtime::import::Tool::Sqlx.name(), "sqlx");
    /// ```
    pub fn name(self) -> &'static str {
        Tool::NAMES[Tool::ALL.iter().position(|t| *t == self).unwrap_or(0)]
    }

    /// The table the tool keeps its history in, as it creates it by default.
    ///
    /// ```
    /// use migrate_runtime::import::Tool;
    /// assert_eq!(Tool::Diesel.history_table(), "__diesel_schema_migrations");
    /// ```
    pub fn history_table(self) -> &'static str {
        match self {
            Tool::Prisma => prisma::TABLE,
            Tool::Diesel => diesel::TABLE,
            Tool::Sqlx => sqlx::TABLE,
            Tool::GolangMigrate => golang_migrate::TABLE,
            Tool::Refinery => refinery::TABLE,
            Tool::Atlas => atlas::TABLE,
        }
    }

    /// Whether the tool has down migrations (diesel, sqlx, golang-migrate); Prisma, refinery
    /// and Atlas have none, so a missing one is not worth a note per migration.
    pub(crate) fn keeps_downs(self) -> bool {
        matches!(self, Tool::Diesel | Tool::Sqlx | Tool::GolangMigrate)
    }

    /// What its migrations look like, for messages.
    pub(crate) fn layout(self) -> &'static str {
        match self {
            Tool::Prisma => "folders `<timestamp>_<name>/` holding migration.sql",
            Tool::Diesel => "folders `<version>_<name>/` holding up.sql (and down.sql)",
            Tool::Sqlx => "`<version>_<description>.sql` files (or `.up.sql` and `.down.sql`)",
            Tool::GolangMigrate => "`<version>_<name>.up.sql` and `.down.sql` files",
            Tool::Refinery => "`V<version>__<name>.sql` files",
            Tool::Atlas => "`<version>_<name>.sql` files with their atlas.sum",
        }
    }

    pub(crate) fn read(self, dir: &Path) -> Result<SourceSet, Vec<Problem>> {
        match self {
            Tool::Prisma => prisma::read(dir),
            Tool::Diesel => diesel::read(dir),
            Tool::Sqlx => sqlx::read(dir),
            Tool::GolangMigrate => golang_migrate::read(dir),
            Tool::Refinery => refinery::read(dir),
            Tool::Atlas => atlas::read(dir),
        }
    }

    /// What the tool's history records for one of its files (named as in an import header),
    /// and the name it records when it checks names.
    pub(crate) fn key_of(self, origin: &str) -> Option<(String, Option<String>)> {
        match self {
            Tool::Prisma => prisma::key_of(origin),
            Tool::Diesel => diesel::key_of(origin),
            Tool::Sqlx => sqlx::key_of(origin),
            Tool::GolangMigrate => golang_migrate::key_of(origin),
            Tool::Refinery => refinery::key_of(origin),
            Tool::Atlas => atlas::key_of(origin),
        }
    }

    /// The tool's name for the migration a file belongs to: the folder for the tools that
    /// keep one folder per migration (`2019-01-01-000000_create_users/up.sql` →
    /// `2019-01-01-000000_create_users`), else the file.
    pub(crate) fn migration_origin(self, file: &str) -> String {
        match self {
            Tool::Prisma | Tool::Diesel => file.split('/').next().unwrap_or(file).to_string(),
            _ => file.to_string(),
        }
    }

    /// The tables to look for when none is given: the default, then (Atlas) the name it uses
    /// in a connection bound to a schema. Unqualified names are looked up on the search path.
    pub(crate) fn table_candidates(self) -> Vec<crate::QualifiedName> {
        let mut names = vec![self.history_table()];
        if self == Tool::Atlas {
            names.push(atlas::TABLE_IN_SCHEMA);
        }
        names.into_iter().filter_map(|s| s.parse().ok()).collect()
    }

    /// The columns read from its table.
    pub(crate) fn columns(self) -> &'static [&'static str] {
        match self {
            Tool::Prisma => prisma::COLUMNS,
            Tool::Diesel => diesel::COLUMNS,
            Tool::Sqlx => sqlx::COLUMNS,
            Tool::GolangMigrate => golang_migrate::COLUMNS,
            Tool::Refinery => refinery::COLUMNS,
            Tool::Atlas => atlas::COLUMNS,
        }
    }

    /// Reads the tool's table (`table` quoted and qualified).
    pub(crate) fn history(
        self,
        client: &mut impl postgres::GenericClient,
        table: &str,
    ) -> Result<Vec<SourceRow>, postgres::Error> {
        match self {
            Tool::Prisma => prisma::history(client, table),
            Tool::Diesel => diesel::history(client, table),
            Tool::Sqlx => sqlx::history(client, table),
            Tool::GolangMigrate => golang_migrate::history(client, table),
            Tool::Refinery => refinery::history(client, table),
            Tool::Atlas => atlas::history(client, table),
        }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of [`Tool::NAMES`].
///
/// ```
/// # use migrate_runtime::import::Tool;
/// let e = "flyway".parse::<Tool>().unwrap_err();
/// assert!(e.to_string().starts_with("unknown tool `flyway`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown tool `{0}`: expected one of prisma, diesel, sqlx, golang-migrate, refinery, atlas"
)]
pub struct UnknownTool(pub String);

impl FromStr for Tool {
    type Err = UnknownTool;

    fn from_str(s: &str) -> Result<Tool, UnknownTool> {
        Tool::NAMES
            .iter()
            .position(|n| *n == s)
            .map(|i| Tool::ALL[i])
            .ok_or_else(|| UnknownTool(s.to_string()))
    }
}
