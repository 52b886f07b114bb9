//! Session state between migrations. A `SET search_path` (or `SET ROLE`, a temporary table, a
//! `LISTEN`) in one migration must not change where the next one's objects land, or the same
//! migrations would give a different schema applied in one run or in two. So every migration
//! starts from the session state the run started with (the advisory lock, which is not session
//! *state*, is kept), and the run leaves the session that way.
//!
//! A failed no-transaction migration resumes in a new session: the session settings made by
//! the statements that already ran are replayed first, or the resume is refused when one of
//! them did something that cannot be replayed (a temporary table, `set_config`, ...).

use crate::model::Statement;
use postgres::GenericClient;
use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{SourceFile, SyntaxKind};

/// The session state every migration of a run starts from: what the session had when the run
/// began.
#[derive(Debug, Clone)]
pub(crate) struct Baseline {
    reset: String,
    identity: String,
    /// The session's backend pid (to watch its lock waits from another session).
    pub(crate) pid: i32,
}

impl Baseline {
    /// Reads the session's own settings (those made with `SET` before the run), its role, and
    /// whether it has temporary tables, listens or open cursors (which a reset must then keep).
    pub(crate) fn capture(client: &mut impl GenericClient) -> Result<Baseline, postgres::Error> {
        let row = client.query_one(
            "SELECT coalesce(array_agg(name::text ORDER BY name), '{}'),
                    coalesce(array_agg(setting ORDER BY name), '{}'),
                    session_user::text, current_user::text,
                    NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.pg_my_temp_schema()),
                    NOT EXISTS (SELECT 1 FROM pg_catalog.pg_listening_channels()),
                    NOT EXISTS (SELECT 1 FROM pg_catalog.pg_cursors),
                    pg_catalog.pg_backend_pid()
             FROM pg_catalog.pg_settings WHERE source = 'session'",
            &[],
        )?;
        let names: Vec<String> = row.get(0);
        let settings: Vec<String> = row.get(1);
        let session_user: String = row.get(2);
        let current_user: String = row.get(3);
        let mut reset = format!(
            "SET SESSION AUTHORIZATION {}; RESET ALL; ",
            crate::quote_ident(&session_user)
        );
        for (name, setting) in names.iter().zip(&settings) {
            reset.push_str(&format!(
                "SELECT pg_catalog.set_config({}, {}, false); ",
                crate::ident::quote_literal(name),
                crate::ident::quote_literal(setting)
            ));
        }
        if current_user != session_user {
            reset.push_str(&format!("SET ROLE {}; ", crate::quote_ident(&current_user)));
        }
        let (no_temp, no_listen, no_cursors): (bool, bool, bool) =
            (row.get(4), row.get(5), row.get(6));
        if no_temp {
            reset.push_str("DISCARD TEMP; ");
        }
        if no_listen {
            reset.push_str("UNLISTEN *; ");
        }
        if no_cursors {
            reset.push_str("CLOSE ALL; ");
        }
        let identity = format!(
            "SET LOCAL SESSION AUTHORIZATION {}; SET LOCAL ROLE {}; ",
            crate::quote_ident(&session_user),
            crate::quote_ident(&current_user)
        );
        Ok(Baseline {
            reset,
            identity,
            pid: row.get(7),
        })
    }

    /// SQL that, inside the transaction that writes the history, acts as the user the run
    /// started as: a migration that ends with `SET ROLE` (to create objects owned by another
    /// role) must not make the bookkeeping fail. `LOCAL`: the migration's own setting is back
    /// after the commit (the next migration starts from the baseline anyway).
    pub(crate) fn identity_sql(&self) -> &str {
        &self.identity
    }

    /// SQL that brings the session back to the baseline (sent with a migration's first
    /// statement, so it costs no round trip).
    pub(crate) fn reset_sql(&self) -> &str {
        &self.reset
    }
}

/// What resuming a no-transaction file after `done` statements needs first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Replay {
    /// These session statements (in order) re-create the session state the statements that
    /// already ran had made.
    Statements(Vec<String>),
    /// Statement `index` (1-based) changed the session in a way that cannot be replayed.
    Impossible {
        /// 1-based statement index.
        index: usize,
        /// What it does.
        what: &'static str,
    },
}

/// The session statements among the first `done` statements of `sql`.
pub(crate) fn replay(sql: &str, statements: &[Statement], done: usize) -> Replay {
    let mut replayed = Vec::new();
    for (i, s) in statements.iter().take(done).enumerate() {
        let text = s.text(sql);
        let file = SourceFile::parse(text).tree();
        for stmt in file.stmts() {
            let tokens = || stmt.syntax().descendants_with_tokens();
            let calls_set_config = tokens().any(|t| {
                t.kind() == SyntaxKind::IDENT
                    && t.as_token()
                        .is_some_and(|t| t.text().eq_ignore_ascii_case("set_config"))
            });
            if calls_set_config {
                return Replay::Impossible {
                    index: i + 1,
                    what: "calls set_config()",
                };
            }
            let temporary = || {
                tokens().any(|t| matches!(t.kind(), SyntaxKind::TEMP_KW | SyntaxKind::TEMPORARY_KW))
            };
            let impossible = match &stmt {
                ast::Stmt::Set(_)
                | ast::Stmt::Reset(_)
                | ast::Stmt::SetRole(_)
                | ast::Stmt::ResetRole(_)
                | ast::Stmt::SetSessionAuth(_)
                | ast::Stmt::ResetSessionAuth(_)
                | ast::Stmt::Discard(_) => {
                    replayed.push(text.to_string());
                    None
                }
                ast::Stmt::CreateTable(_)
                | ast::Stmt::CreateTableAs(_)
                | ast::Stmt::CreateSequence(_)
                | ast::Stmt::CreateView(_)
                    if temporary() =>
                {
                    Some("creates a temporary object")
                }
                ast::Stmt::Prepare(_) => Some("prepares a statement"),
                ast::Stmt::Declare(_) => Some("declares a cursor"),
                ast::Stmt::Listen(_) => Some("listens on a channel"),
                ast::Stmt::Load(_) => Some("loads a library"),
                _ => None,
            };
            if let Some(what) = impossible {
                return Replay::Impossible { index: i + 1, what };
            }
        }
    }
    Replay::Statements(replayed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::split_statements;

    fn replay_of(sql: &str, done: usize) -> Replay {
        replay(sql, &split_statements(sql).unwrap(), done)
    }

    #[test]
    fn session_settings_before_the_resume_point_are_replayed() {
        let sql = "SET search_path = app;\nCREATE INDEX CONCURRENTLY a ON t (a);\nSET ROLE owner;\n\
                   set local lock_timeout = '1s';\nCREATE INDEX CONCURRENTLY b ON t (b);\nSET x.y = 1;\n";
        assert_eq!(
            replay_of(sql, 4),
            Replay::Statements(vec![
                "SET search_path = app;".into(),
                "SET ROLE owner;".into(),
                "set local lock_timeout = '1s';".into()
            ])
        );
        assert_eq!(replay_of(sql, 0), Replay::Statements(vec![]));
    }

    #[test]
    fn state_that_cannot_be_replayed_refuses_the_resume() {
        assert_eq!(
            replay_of(
                "CREATE TEMP TABLE t (a int);\nCREATE INDEX CONCURRENTLY a ON u (a);",
                1
            ),
            Replay::Impossible {
                index: 1,
                what: "creates a temporary object"
            }
        );
        assert_eq!(
            replay_of(
                "SELECT pg_catalog.set_config('search_path', 'app', false);\nSELECT 1;",
                1
            ),
            Replay::Impossible {
                index: 1,
                what: "calls set_config()"
            }
        );
        assert_eq!(
            replay_of("CREATE TABLE t (a int);\nSELECT 1;", 1),
            Replay::Statements(vec![])
        );
    }
}
