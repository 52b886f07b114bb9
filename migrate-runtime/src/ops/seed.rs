//! `seed`: development and test data. The seed SQL (a file, or every `.sql` file of a
//! directory in name order; default `seeds/` beside the migrations, setting `seeds_dir`) runs
//! in one transaction against a database at the latest version: pending or failed migrations
//! refuse, and a failing file leaves nothing of any file behind. Seeds are meant to be
//! idempotent (`INSERT ... ON CONFLICT DO NOTHING`), so seeding twice is harmless: the lint
//! warns about a plain `INSERT` (`seed-insert-without-on-conflict`). Guarded to local
//! databases like `reset`.

use super::database::{self, DbOptions};
use super::error::{OpError, Untouched};
use super::event::OpEvent;
use super::reset::local_only;
use super::workspace::Workspace;
use crate::SqlFile;
use crate::engine::execute::Script;
use crate::engine::status::compute;
use crate::engine::{Direction, Failure, State};
use crate::{MigrationSet, Version};
use postgres::Client;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What `seed` was asked.
#[derive(Debug, Clone, Default)]
pub struct SeedRequest {
    /// A seed file or directory (`None`: the `seeds_dir` setting, else `seeds/` beside the
    /// migrations).
    pub path: Option<PathBuf>,
    /// Allow a database that is not on this machine.
    pub force: bool,
    /// The database name, typed back.
    pub confirm: Option<String>,
    /// Database options.
    pub db: DbOptions,
}

/// What `seed` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SeedOutcome {
    /// The seed files, in the order they ran.
    pub files: Vec<PathBuf>,
    /// `user@host:port/db`.
    pub label: String,
    /// The connection, redacted.
    pub database: Option<String>,
    /// Wall time.
    pub duration_ms: f64,
    /// The lint's findings on the seed files (warnings: a plain `INSERT`).
    pub lint: Vec<crate::lint::LintFinding>,
}

/// The seed files: the one given, or the `.sql` files of the directory in name order.
pub(crate) fn seed_files(ws: &Workspace, path: Option<&Path>) -> Result<Vec<SqlFile>, OpError> {
    let default = ws
        .dir
        .parent()
        .map_or_else(|| PathBuf::from("seeds"), |p| p.join("seeds"));
    let path = path
        .map(Path::to_path_buf)
        .or_else(|| ws.settings.seeds_dir.clone())
        .unwrap_or(default);
    let unreadable = |e: std::io::Error| OpError::Io {
        message: format!("cannot read the seeds at {}: {e}", path.display()),
        help: Some(
            "give a seed file or directory (`cargo migrate seed db/seeds`), set `seeds_dir` in \
             [package.metadata.migrate], or create `seeds/` beside the migrations"
                .into(),
        ),
        untouched: Some(Untouched::NothingChanged),
    };
    if !path.exists() {
        return Err(unreadable(std::io::ErrorKind::NotFound.into()));
    }
    let paths = if path.is_dir() {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&path)
            .map_err(unreadable)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "sql"))
            .collect();
        paths.sort();
        paths
    } else {
        vec![path.clone()]
    };
    let files = paths
        .into_iter()
        .map(|p| {
            let sql = std::fs::read_to_string(&p).map_err(|e| OpError::Io {
                message: format!("cannot read the seed file {}: {e}", p.display()),
                help: None,
                untouched: Some(Untouched::NothingChanged),
            })?;
            Ok(SqlFile::new(p, sql))
        })
        .collect::<Result<Vec<_>, OpError>>()?;
    if files.is_empty() {
        return Err(OpError::Invalid {
            message: format!("no seed files (`*.sql`) in {}", path.display()),
            help: None,
        });
    }
    for file in &files {
        if let Some((offset, what)) = transaction_control(&file.sql) {
            let (line, column) = crate::model::line_column(&file.sql, offset);
            return Err(OpError::Invalid {
                message: format!(
                    "{}:{line}:{column}: `{what}` in a seed file: the seeds run in one \
                     transaction, which it would end halfway (what ran before it would stay \
                     when a later statement fails)",
                    file.path.display()
                ),
                help: Some(
                    "remove it: `seed` commits every seed file together, or none of them; \
                     nothing was run"
                        .into(),
                ),
            });
        }
    }
    Ok(files)
}

/// The first statement of `sql` that starts, ends or prepares a transaction (`BEGIN`,
/// `COMMIT`, `END`, `ROLLBACK`, `ABORT`, `PREPARE TRANSACTION`), which a seed file must not
/// hold: its byte offset and its first word. A `ROLLBACK TO SAVEPOINT` stays inside the
/// transaction and is fine.
fn transaction_control(sql: &str) -> Option<(usize, String)> {
    use squawk_syntax::ast::{self, AstNode};
    let file = squawk_syntax::SourceFile::parse(sql).tree();
    file.stmts().find_map(|stmt| {
        let ends = match &stmt {
            ast::Stmt::Begin(_) | ast::Stmt::PrepareTransaction(_) => true,
            ast::Stmt::Commit(c) => matches!(c, ast::Commit::CommitTransaction(_)),
            ast::Stmt::Rollback(r) => matches!(r, ast::Rollback::RollbackTransaction(_)),
            _ => false,
        };
        if !ends {
            return None;
        }
        let token = stmt
            .syntax()
            .descendants_with_tokens()
            .find(|t| !t.kind().is_trivia() && t.as_token().is_some())?;
        let word = token.as_token()?.text().to_ascii_uppercase();
        Some((usize::from(token.text_range().start()), word))
    })
}

/// Refuses a database that is not at the latest version.
fn at_latest(
    set: &MigrationSet,
    client: &mut Client,
    ws: &Workspace,
    db: &DbOptions,
) -> Result<(), OpError> {
    let settings = database::db_settings(ws, db, &mut |_| {})?;
    let rows = settings
        .engine
        .history(client)
        .map_err(OpError::engine("read the history", ws.redacted()))?;
    let behind: Vec<String> = compute(set, &rows)
        .iter()
        .filter(|e| e.state != State::Applied)
        .map(|e| format!("{}_{} ({})", e.version, e.name, e.state.as_str()))
        .collect();
    if behind.is_empty() {
        return Ok(());
    }
    Err(OpError::Invalid {
        message: format!(
            "refusing to seed: the database is not at the latest version: {}",
            behind.join(", ")
        ),
        help: Some(
            "run `cargo migrate apply` first (seeds are written for the latest schema); nothing \
             was changed"
                .into(),
        ),
    })
}

/// Runs the seed files in one transaction on a connected database.
pub(crate) fn run_seeds(client: &mut Client, files: &[SqlFile]) -> Result<(), OpError> {
    let mut tx = client
        .transaction()
        .map_err(|e| OpError::io(format!("cannot start the seed transaction: {e}")))?;
    for file in files {
        let script = Script {
            path: &file.path,
            sql: &file.sql,
            statements: file.statements().ok(),
        };
        if let Err(run) = script.run(&mut tx, "") {
            let failure: Failure =
                script.failure(Version::new_const(0), "seed", Direction::Up, &run);
            return Err(OpError::Seed(Box::new(failure)));
        }
    }
    tx.commit()
        .map_err(|e| OpError::io(format!("cannot commit the seeds: {e}")))
}

/// Seeds the database.
pub fn seed(
    ws: &Workspace,
    request: &SeedRequest,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<SeedOutcome, OpError> {
    let files = seed_files(ws, request.path.as_deref())?;
    let lint = crate::lint::lint_seeds(&files, &super::lint::config(ws)?);
    events(OpEvent::Lint {
        findings: &lint,
        overridden: None,
    });
    let set = ws.read_set(Untouched::NothingChanged)?;
    let settings = database::db_settings(ws, &request.db, events)?;
    local_only(
        database::conninfo(ws, events)?,
        "seed",
        request.force,
        request.confirm.as_deref(),
    )?;
    let started = Instant::now();
    let mut db = database::connect(ws, &settings, events)?;
    at_latest(&set, &mut db.client, ws, &request.db)?;
    run_seeds(&mut db.client, &files)?;
    Ok(SeedOutcome {
        files: files.into_iter().map(|f| f.path).collect(),
        label: db.label,
        database: ws.redacted(),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        lint,
    })
}

#[cfg(test)]
mod tests {
    use super::transaction_control;

    #[test]
    fn statements_that_end_the_seed_transaction_are_found() {
        for (sql, word, offset) in [
            ("INSERT INTO t VALUES (1);\nCOMMIT;\n", "COMMIT", 26),
            ("SELECT 1;\n  end;", "END", 12),
            ("rollback;", "ROLLBACK", 0),
            ("ABORT;", "ABORT", 0),
            ("BEGIN;\nSELECT 1;", "BEGIN", 0),
            ("START TRANSACTION;", "START", 0),
            ("PREPARE TRANSACTION 'x';", "PREPARE", 0),
            ("COMMIT AND CHAIN;", "COMMIT", 0),
        ] {
            assert_eq!(
                transaction_control(sql),
                Some((offset, word.to_string())),
                "{sql}"
            );
        }
        for sql in [
            "SAVEPOINT a; INSERT INTO t VALUES (1); ROLLBACK TO SAVEPOINT a; RELEASE a;",
            "DO $$ BEGIN PERFORM 1; END $$;",
            "INSERT INTO t (note) VALUES ('COMMIT;');",
            "-- COMMIT;\nSELECT 1;",
        ] {
            assert_eq!(transaction_control(sql), None, "{sql}");
        }
    }
}
