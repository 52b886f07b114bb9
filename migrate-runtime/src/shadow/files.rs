//! Running a migration's file on the shadow database, with no history: a transactional file
//! in a transaction of its own (committed) or in the caller's, a no-transaction file
//! statement by statement. Every file starts from the session's defaults (`RESET ALL`), as
//! the engine gives every migration a clean session. A failure names the file, line and
//! column, as `apply` does.
//!
//! A backfill's statement runs with its batch bounds `NULL` ([`null_placeholders`]): checked
//! against the schema, it changes no row (a shadow database compares schemas, not data).

use crate::engine::execute::{RunError, Script};
use crate::engine::{Direction, Failure};
use crate::model::null_placeholders;
use crate::{Migration, SqlFile, Version};
use postgres::{Client, GenericClient, SimpleQueryRow};
use std::borrow::Cow;

/// The file of `m` that runs in `direction`, and whether it runs outside a transaction.
pub(super) fn file(m: &Migration, direction: Direction) -> Option<(&SqlFile, bool)> {
    match direction {
        Direction::Up => Some((&m.up, m.directives.no_transaction)),
        Direction::Down => m.down.as_ref().map(|d| (d, m.down_no_transaction)),
    }
}

/// Runs the file as a migration runs it: a transactional file in a transaction of its own,
/// committed; a no-transaction file statement by statement. `Ok(false)`: there is no such
/// file (no `down.sql`).
pub(super) fn run_committed(
    client: &mut Client,
    m: &Migration,
    direction: Direction,
) -> Result<bool, Box<Failure>> {
    let Some((sql, no_transaction)) = file(m, direction) else {
        return Ok(false);
    };
    run_sql_committed(client, (m.version, &m.name), sql, direction, no_transaction).map(|()| true)
}

/// Runs the file as [`run_committed`] does, and `inside` before the commit: in a
/// transactional file's own transaction, once its deferred constraints are checked (as the
/// commit checks them), so that what `inside` reads (a snapshot) costs no transaction of its
/// own; after a no-transaction file. `then` is SQL for a transactional file's last round
/// trip, after the check: its settings part (may be empty, e.g. `inside`'s settings) and its
/// query ahead (may be empty, e.g. `inside`'s first query; see [`Script::run_located`]:
/// never taken for the file's). `inside` gets the rows of that query's last statement when
/// it ran (`None` when it did not: it runs it itself). `opening`
/// (SQL, may be empty, e.g. the `ROLLBACK; ` of what ran before) goes first in a
/// transactional file's first round trip (before a no-transaction file, in one of its own).
/// The outer error is `inside`'s (the transaction is rolled back), the inner one the file's.
pub(super) fn run_committed_then<T, E>(
    client: &mut Client,
    m: &Migration,
    direction: Direction,
    opening: &str,
    (then, inside): (
        (&str, &str),
        impl FnOnce(&mut Client, Option<Vec<SimpleQueryRow>>) -> Result<T, E>,
    ),
) -> Result<Result<T, Box<Failure>>, E> {
    match file(m, direction) {
        Some((sql, no_transaction)) => run_file_then(
            client,
            (m.version, &m.name),
            (sql, direction, no_transaction, opening),
            (then, inside),
        ),
        None => inside(client, None).map(Ok),
    }
}

/// Runs one file of migration `(version, name)` as [`run_committed`] does: `sql` may be a
/// file on disk or the text a history recorded.
pub(super) fn run_sql_committed(
    client: &mut Client,
    (version, name): (Version, &str),
    sql: &SqlFile,
    direction: Direction,
    no_transaction: bool,
) -> Result<(), Box<Failure>> {
    let nothing = |_: &mut Client, _| Ok::<(), std::convert::Infallible>(());
    let done = run_file_then(
        client,
        (version, name),
        (sql, direction, no_transaction, ""),
        (("", ""), nothing),
    );
    match done {
        Ok(ran) => ran,
        Err(never) => match never {},
    }
}

/// [`run_committed_then`] for a file given by its text.
fn run_file_then<T, E>(
    client: &mut Client,
    (version, name): (Version, &str),
    (sql, direction, no_transaction, opening): (&SqlFile, Direction, bool, &str),
    ((then, ahead), inside): (
        (&str, &str),
        impl FnOnce(&mut Client, Option<Vec<SimpleQueryRow>>) -> Result<T, E>,
    ),
) -> Result<Result<T, Box<Failure>>, E> {
    let sql = for_shadow(sql);
    let script = match script((version, name), &sql, direction, no_transaction) {
        Ok(script) => script,
        Err(refused) => {
            // What `opening` ends is ended all the same (its failure is the connection's).
            if !opening.is_empty() {
                let _ = client.batch_execute(opening);
            }
            return Ok(Err(refused));
        }
    };
    let fail = |run: RunError| Box::new(script.failure(version, name, direction, &run));
    if no_transaction {
        if !opening.is_empty()
            && let Err(error) = client.batch_execute(opening)
        {
            return Ok(Err(fail(RunError::unlocated(error))));
        }
        if let Err(f) = run_statements(client, &script, fail) {
            return Ok(Err(f));
        }
        return inside(client, None).map(Ok);
    }
    // The file, its deferred constraints checked, and a failure located statement by
    // statement (after a rollback) when a batch of several failed.
    let prefix = format!("{opening}BEGIN; RESET ALL; SET LOCAL synchronous_commit = off; ");
    let suffix = after_file(then);
    let rows = match script.run_located(client, (&prefix, &suffix, ahead), "ROLLBACK") {
        Ok(rows) => rows,
        Err(run) => {
            let _ = client.batch_execute("ROLLBACK");
            return Ok(Err(fail(run)));
        }
    };
    let value = match inside(client, rows) {
        Ok(value) => value,
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK");
            return Err(e);
        }
    };
    match client.batch_execute("COMMIT") {
        Ok(()) => Ok(Ok(value)),
        Err(error) => {
            let _ = client.batch_execute("ROLLBACK");
            Ok(Err(fail(RunError::unlocated(error))))
        }
    }
}

/// A no-transaction file, statement by statement from a clean session.
fn run_statements(
    client: &mut Client,
    script: &Script<'_>,
    fail: impl Fn(RunError) -> Box<Failure>,
) -> Result<(), Box<Failure>> {
    // A statement that cannot run in a transaction block cannot share its query with
    // another statement either: the reset goes first, on its own.
    client
        .batch_execute("RESET ALL")
        .map_err(|error| fail(RunError::unlocated(error)))?;
    for i in 0..script.len().unwrap_or(0) {
        if let Err(run) = script.run_one(client, i, "") {
            let mut f = fail(run);
            f.transactional = false;
            f.statements_applied = f.statement.map_or(0, |s| s - 1);
            return Err(f);
        }
    }
    Ok(())
}

/// Checks deferred constraints now, as a commit would.
const IMMEDIATE: &str = "SET CONSTRAINTS ALL IMMEDIATE";

/// What follows a transactional file in its last round trip: the check of its deferred
/// constraints, then `then`.
fn after_file(then: &str) -> String {
    match then {
        "" => IMMEDIATE.to_string(),
        _ => format!("{IMMEDIATE};\n{then}"),
    }
}

/// Runs a transactional file inside the caller's transaction (which `opening`, e.g.
/// `BEGIN; `, may start in the same round trip); deferred constraints are checked at its
/// end, as its commit would check them, then `then` (SQL, may be empty) and `ahead` (a query
/// of the caller's, may be empty) run in the same round trip. When a batch of several
/// statements fails, `restart` goes back to where `opening` starts from (`ROLLBACK` with a
/// `BEGIN`, else `ROLLBACK TO SAVEPOINT` of a savepoint made before this call, in an earlier
/// round trip: a batch PostgreSQL rejects as a whole runs nothing, not even a savepoint it
/// holds) and the file runs again statement by statement, to name the one that failed, then
/// `then`, without `ahead` (see [`Script::run_located`]). Returns the rows of `ahead`'s last
/// statement when it ran; `Ok(None)` when it did not (or there is no such file).
pub(super) fn run_in(
    tx: &mut impl GenericClient,
    m: &Migration,
    direction: Direction,
    (opening, restart, (then, ahead)): (&str, &str, (&str, &str)),
) -> Result<Option<Vec<SimpleQueryRow>>, Box<Failure>> {
    let Some((sql, no_transaction)) = file(m, direction) else {
        return Ok(None);
    };
    let sql = for_shadow(sql);
    let script = script((m.version, &m.name), &sql, direction, no_transaction)?;
    let opening = format!("{opening}RESET ALL; ");
    script
        .run_located(tx, (&opening, &after_file(then), ahead), restart)
        .map_err(|run| Box::new(script.failure(m.version, &m.name, direction, &run)))
}

/// Whether a file controls transactions itself (`BEGIN`, `COMMIT`, `ROLLBACK`, savepoints,
/// two-phase commit), or cannot be split to tell: it cannot run inside a transaction of the
/// shadow's (its `COMMIT` would end it), so it runs in one of its own, committed, and what is
/// read after it is read in a transaction of its own too.
pub(super) fn controls_transaction(sql: &SqlFile) -> bool {
    const CONTROL: [&str; 9] = [
        "BEGIN",
        "START",
        "COMMIT",
        "END",
        "ROLLBACK",
        "ABORT",
        "SAVEPOINT",
        "RELEASE",
        "PREPARE",
    ];
    let Ok(statements) = sql.statements() else {
        return true;
    };
    statements.iter().any(|s| {
        let text = s.text(&sql.sql);
        let word = text
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or_default();
        CONTROL.iter().any(|k| word.eq_ignore_ascii_case(k))
    })
}

/// The file as a shadow database runs it: a backfill's bounds `NULL`, other files as they
/// are.
fn for_shadow(sql: &SqlFile) -> Cow<'_, SqlFile> {
    match null_placeholders(&sql.sql) {
        Cow::Borrowed(_) => Cow::Borrowed(sql),
        Cow::Owned(text) => Cow::Owned(SqlFile::new(sql.path.clone(), text)),
    }
}

fn script<'a>(
    (version, name): (Version, &str),
    sql: &'a SqlFile,
    direction: Direction,
    no_transaction: bool,
) -> Result<Script<'a>, Box<Failure>> {
    Script::new(version, sql, no_transaction).map_err(|refusal| {
        Box::new(Failure {
            version,
            name: name.to_string(),
            direction,
            file: sql.path.clone(),
            statement: None,
            statements_total: None,
            line: None,
            column: None,
            source_line: None,
            code: None,
            message: refusal.message,
            detail: None,
            hint: Some(refusal.help),
            transactional: !no_transaction,
            statements_applied: 0,
            blocked_by: None,
            not_recorded: None,
        })
    })
}
