//! Why the engine refuses to start, one constructor per reason: the one place each message and
//! its help are written. No help ever suggests renaming a migration that may have been
//! applied (that would apply it twice).

use super::error::{Direction, Refusal};
use super::history::Row;
use crate::Version;
use crate::model::{
    Migration, MigrationSet, NO_TRANSACTION_HELP, NeedsNoTransaction, SqlFile, constant_names,
    line_column,
};
use std::path::Path;

/// An applied migration whose `migration.sql` changed since.
pub(crate) fn edited(m: &Migration, row: &Row, previous: Option<Version>) -> Refusal {
    // Version 0 stands for "before every migration".
    let down_to = previous.unwrap_or(Version::new_const(0));
    Refusal {
        version: Some(m.version),
        message: format!(
            "{}: applied, but edited since (diff below)",
            m.up.path.display()
        ),
        help: format!(
            "an applied migration must not change: restore the SQL recorded in the database (the \
             `-` lines) and put the change in a new migration; if it was never shared, revert it \
             first with `cargo migrate down --to {down_to}`, then apply the edited version"
        ),
        diff: Some(super::unified_diff(&row.sql, &m.up.sql, &m.up.path)),
        in_files: false,
    }
}

/// An applied migration whose folder is gone.
pub(crate) fn missing(version: Version, folder: &Path) -> Refusal {
    Refusal {
        version: Some(version),
        message: format!("{}: applied, but its folder is missing", folder.display()),
        help: "restore the folder from git (every applied migration must stay in the \
               directory); `cargo migrate status --verbose` shows the SQL recorded in the history"
            .into(),
        diff: None,
        in_files: false,
    }
}

/// A pending migration older than the newest applied one.
pub(crate) fn out_of_order(m: &Migration, newest: Option<Version>) -> Refusal {
    Refusal {
        version: Some(m.version),
        message: format!(
            "{}: pending, but older than the applied migration {}",
            m.dir.display(),
            newest.map_or_else(String::new, |v| v.to_string())
        ),
        help: "it probably comes from a merged branch: check that it does not depend on newer \
               migrations, then apply it where it is with --allow-out-of-order"
            .into(),
        diff: None,
        in_files: false,
    }
}

/// A failed no-transaction migration that cannot resume.
pub(crate) fn not_resumable(m: &Migration, row: &Row, why: String, help: String) -> Refusal {
    Refusal {
        version: Some(m.version),
        message: format!(
            "{}: failed after {} of {} statements outside a transaction, and {why}",
            m.up.path.display(),
            row.statements_applied,
            row.statements_total.unwrap_or(0)
        ),
        help,
        diff: None,
        in_files: false,
    }
}

/// A migration whose `down.sql` failed part-way outside a transaction.
pub(crate) fn partly_reverted(version: Version, folder: &Path, row: &Row) -> Refusal {
    let error = row
        .error
        .as_deref()
        .map(|e| format!(" ({e})"))
        .unwrap_or_default();
    // A backfill down.sql stops between batches, not statements.
    if let Some(p) = &row.backfill {
        return Refusal {
            version: Some(version),
            message: format!(
                "{}: partly reverted: its backfill down.sql stopped after {} ({}, {}, last key \
                 {}){error}",
                folder.display(),
                crate::counted(p.batches, "batch", "batches"),
                crate::counted(p.keys, "key", "keys"),
                crate::counted(p.rows, "row", "rows"),
                p.last_key.as_deref().unwrap_or("-"),
            ),
            help: format!(
                "finish reverting it with `cargo migrate down` (it resumes after the last \
                 committed batch), or, if you fixed it by hand, `cargo migrate resolve \
                 --rolled-back {version}` (reverted) or `cargo migrate resolve --applied \
                 {version}` (restored)"
            ),
            diff: None,
            in_files: false,
        };
    }
    Refusal {
        version: Some(version),
        message: format!(
            "{}: partly reverted: its down.sql failed after {} of {} statements{}",
            folder.display(),
            row.statements_applied,
            row.statements_total.unwrap_or(0),
            error
        ),
        help: format!(
            "finish reverting it with `cargo migrate down` (it resumes at statement {}), or, if \
             you fixed it by hand, `cargo migrate resolve --rolled-back {version}` (reverted) or \
             `cargo migrate resolve --applied {version}` (restored)",
            row.statements_applied + 1
        ),
        diff: None,
        in_files: false,
    }
}

/// A statement PostgreSQL refuses inside a transaction block, in a file that runs in one.
pub(crate) fn needs_no_transaction(
    version: Version,
    file: &SqlFile,
    found: &NeedsNoTransaction,
    is_down: bool,
) -> Refusal {
    let (line, column) = line_column(&file.sql, found.start);
    let help = if is_down {
        "start down.sql with `-- migrate:no-transaction`: it then runs statement by statement \
         outside a transaction (make each statement re-runnable with IF EXISTS, since a failed \
         down resumes at the failed statement)"
            .to_string()
    } else {
        NO_TRANSACTION_HELP.to_string()
    };
    let what = if is_down {
        "this down.sql"
    } else {
        "this migration"
    };
    Refusal {
        version: Some(version),
        message: format!(
            "{}:{line}:{column}: `{}` cannot run inside a transaction, and {what} runs in one",
            file.path.display(),
            found.what
        ),
        help,
        diff: None,
        in_files: true,
    }
}

/// A Rust backfill about to run without its code: the `cargo migrate` CLI cannot run Rust, and
/// a program must register it.
pub(crate) fn unregistered_backfill(
    set: &MigrationSet,
    version: Version,
    name: &str,
    file: &SqlFile,
    direction: Direction,
) -> Refusal {
    let keys: Vec<(String, &str)> = set
        .migrations
        .iter()
        .map(|m| (m.version.to_string(), m.name.as_str()))
        .collect();
    let refs: Vec<(&str, &str)> = keys.iter().map(|(v, n)| (v.as_str(), *n)).collect();
    let constant = set
        .migrations
        .iter()
        .zip(constant_names(&refs))
        .find(|(m, _)| m.version == version)
        .map_or_else(
            || format!("Version::new_const({version})"),
            |(_, c)| format!("migrations::{c}"),
        );
    let (run, others) = match direction {
        Direction::Up => (
            format!("MIGRATOR.with_backfill({constant}, <your RustBackfill>).apply(&mut client)"),
            set.migrations
                .iter()
                .rev()
                .find(|m| m.version < version)
                .map_or_else(String::new, |m| {
                    format!(
                        "; to apply only the migrations before it: `cargo migrate apply --to {}`",
                        m.version
                    )
                }),
        ),
        Direction::Down => (
            format!("Engine::default().with_backfill({constant}, <your RustBackfill>).down(...)"),
            format!(
                "; to revert only the migrations after it: `cargo migrate down --to {version}`"
            ),
        ),
    };
    Refusal {
        version: Some(version),
        message: format!(
            "{}: {} is a Rust backfill (`rust`), and no code is registered for it",
            file.path.display(),
            crate::model::folder_name(version, name),
        ),
        help: format!(
            "its batches run Rust code, which the `cargo migrate` command cannot run: run it from \
             the program that embeds the migrations, with its code registered: \
             `{run}`{others}"
        ),
        diff: None,
        in_files: true,
    }
}

/// Code registered for a version that is not a Rust backfill.
pub(crate) fn not_a_rust_backfill(version: Version, m: Option<&Migration>) -> Refusal {
    let what = match m {
        Some(m) => format!(
            "{} is not a Rust backfill (its directive does not say `rust`)",
            m.folder()
        ),
        None => format!("there is no migration {version}"),
    };
    Refusal {
        version: Some(version),
        message: format!("Rust backfill code is registered for {version}, but {what}"),
        help: "register the code under the version of the migration whose header says \
               `-- migrate:backfill table=<table> key=<column> rust` (use the constant \
               `embed_migrations!` generates for it)"
            .into(),
        diff: None,
        in_files: true,
    }
}

/// An interrupted backfill whose directive now walks another table or key than the run that
/// committed its checkpoint: the checkpoint's last key is a key of the old walk, so resuming
/// the new one after it would run batches twice and skip others.
pub(crate) fn backfill_walk_changed(m: &Migration, row: &Row) -> Option<Refusal> {
    let v = m.version;
    walk_changed(
        v,
        &m.up,
        &row.sql,
        row,
        "apply",
        &format!("`cargo migrate resolve --rolled-back {v}`"),
    )
}

/// The same for a partly reverted backfill `down.sql` (`file`, the one `down` would run),
/// against the `down.sql` its stopped run recorded.
pub(crate) fn down_backfill_walk_changed(v: Version, file: &SqlFile, row: &Row) -> Option<Refusal> {
    walk_changed(
        v,
        file,
        row.down_sql.as_deref()?,
        row,
        "down",
        &format!("`cargo migrate resolve --applied {v}`"),
    )
}

/// `file` walks another table or key than `recorded` did, and `row` has a checkpoint: the
/// refusal, saying how to resume with `command` or start again (after `restart`).
fn walk_changed(
    v: Version,
    file: &SqlFile,
    recorded: &str,
    row: &Row,
    command: &str,
    restart: &str,
) -> Option<Refusal> {
    let progress = row.backfill.as_ref()?;
    let last = progress.last_key.as_deref()?;
    let before = crate::model::Backfill::parse(recorded).ok().flatten()?;
    let now = file.backfill().ok().flatten()?;
    if before.table == now.table && before.key == now.key {
        return None;
    }
    Some(Refusal {
        version: Some(v),
        message: format!(
            "{}: backfill stopped after {} walking {}.{} (last key {last}), but its directive now \
             walks {}.{}: that checkpoint is not a key of the new walk",
            file.path.display(),
            crate::counted(progress.batches, "batch", "batches"),
            before.table,
            before.key,
            now.table,
            now.key
        ),
        help: format!(
            "restore `table={} key={}` so `cargo migrate {command}` resumes after key {last}; \
             or, to start the new walk from its first key, first undo what the committed \
             batches did by hand, then {restart}",
            before.table, before.key
        ),
        diff: Some(super::unified_diff(recorded, &file.sql, &file.path)),
        in_files: false,
    })
}
