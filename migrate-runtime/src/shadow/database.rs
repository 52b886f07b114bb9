//! The shadow database: a scratch database of its own, created on a server (the configured
//! one, the dev database's, or `--shadow-url`'s) and dropped afterwards, never the target
//! database itself. Made from `template1`, as `CREATE DATABASE` makes any database, so what a
//! server puts in every new database is there too.

use crate::engine::connection::{ConnInfo, error_text};
use postgres::Client;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why a shadow database could not be made or used.
///
/// ```
/// use migrate_runtime::shadow::ShadowError;
/// let e = ShadowError { message: "cannot create a database".into(), help: "grant CREATEDB".into() };
/// assert_eq!(e.to_string(), "cannot create a database");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ShadowError {
    /// What failed, where (never a password).
    pub message: String,
    /// What to do.
    pub help: String,
}

/// The prefix of every shadow database's name; what is left of an interrupted run can be
/// found (and dropped) by it.
pub const SHADOW_PREFIX: &str = "migrate_shadow_";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A scratch database on a server, dropped when this is dropped.
///
/// ```no_run
/// use migrate_runtime::engine::connection::ConnInfo;
/// use migrate_runtime::shadow::ShadowDb;
/// let server = ConnInfo::parse("postgres://postgres@localhost/app")?;
/// let mut shadow = ShadowDb::create(&server, None)?;
/// shadow.client().batch_execute("CREATE TABLE t (id integer)")?;
/// drop(shadow); // the database is gone
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ShadowDb {
    server: ConnInfo,
    timeout: Option<Duration>,
    name: String,
    client: Option<Client>,
    swept: Vec<String>,
}

/// A shadow database nobody is connected to is left over from a run that was killed (a run
/// stays connected to its shadow database until it drops it) once its name is this old: the
/// margin covers the moment between creating one and connecting to it, and clocks that differ
/// a little between machines.
const LEFT_OVER_AFTER: Duration = Duration::from_secs(10 * 60);

impl ShadowDb {
    /// Creates a new, empty database on `server`'s server (connecting through `server`'s own
    /// database), and connects to it. Shadow databases that runs killed before they could drop
    /// theirs left on the server are dropped first ([`ShadowDb::swept`]).
    pub fn create(server: &ConnInfo, timeout: Option<Duration>) -> Result<ShadowDb, ShadowError> {
        let name = fresh_name();
        let mut shadow = ShadowDb {
            server: server.clone(),
            timeout,
            name,
            client: None,
            swept: Vec::new(),
        };
        let mut admin = shadow.admin()?;
        shadow.swept = shadow.sweep(&mut admin)?;
        shadow.make(&mut admin)?;
        Ok(shadow)
    }

    /// The shadow databases left over from killed runs that [`ShadowDb::create`] dropped:
    /// named like one (`migrate_shadow_<seconds>_<pid>_<n>`), made more than ten minutes ago,
    /// and nobody connected to them. One that cannot be dropped (another owner, someone
    /// connected meanwhile) is left alone.
    pub fn swept(&self) -> &[String] {
        &self.swept
    }

    fn sweep(&self, admin: &mut Client) -> Result<Vec<String>, ShadowError> {
        let unused = admin
            .query(
                "SELECT d.datname::text FROM pg_catalog.pg_database d
                  WHERE starts_with(d.datname, $1)
                    AND NOT EXISTS (SELECT FROM pg_catalog.pg_stat_activity a
                                     WHERE a.datid = d.oid)",
                &[&SHADOW_PREFIX],
            )
            .map_err(|e| ShadowError {
                message: format!(
                    "cannot list the databases of {}: {}",
                    self.server.label(),
                    error_text(&e)
                ),
                help: "check the role's rights on the server".into(),
            })?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut swept = Vec::new();
        for row in unused {
            let name: String = row.get(0);
            if !left_over(&name, now) {
                continue;
            }
            // No FORCE: a run that connected meanwhile keeps its database.
            let drop = format!("DROP DATABASE IF EXISTS {}", crate::quote_ident(&name));
            if admin.batch_execute(&drop).is_ok() {
                swept.push(name);
            }
        }
        Ok(swept)
    }

    /// The session on the shadow database.
    pub fn client(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .expect("a shadow database is connected from creation until it is dropped")
    }

    /// `user@host:port/db` of the shadow database.
    pub fn label(&self) -> String {
        self.server.with_dbname(&self.name).label()
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database and makes a new, empty one in its place (a new name).
    pub fn recreate(&mut self) -> Result<(), ShadowError> {
        self.remove()?;
        self.name = fresh_name();
        let mut admin = self.admin()?;
        self.make(&mut admin)
    }

    fn admin(&self) -> Result<Client, ShadowError> {
        self.server.connect(self.timeout).map_err(|e| ShadowError {
            message: format!(
                "cannot connect to {} for a shadow database: {}",
                self.server.label(),
                e.message
            ),
            help: e.hint,
        })
    }

    fn make(&mut self, admin: &mut Client) -> Result<(), ShadowError> {
        let sql = format!("CREATE DATABASE {}", crate::quote_ident(&self.name));
        // Another session on template1 makes CREATE DATABASE fail for a moment.
        let mut tries = 0;
        loop {
            match admin.batch_execute(&sql) {
                Ok(()) => break,
                Err(e) if in_use(&e) && tries < 20 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(self.create_error(&e)),
            }
        }
        let info = self.server.with_dbname(&self.name);
        let mut client = info.connect(self.timeout).map_err(|e| ShadowError {
            message: format!(
                "cannot connect to the shadow database {}: {}",
                info.label(),
                e.message
            ),
            help: e.hint,
        })?;
        // Nothing here needs to survive a crash: no WAL flush per transaction.
        client
            .batch_execute("SET synchronous_commit = off")
            .map_err(|e| ShadowError {
                message: format!(
                    "cannot set up the shadow database {}: {}",
                    info.label(),
                    error_text(&e)
                ),
                help: "check the server's log".into(),
            })?;
        self.client = Some(client);
        Ok(())
    }

    fn create_error(&self, e: &postgres::Error) -> ShadowError {
        let denied = e.code() == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE);
        ShadowError {
            message: format!(
                "cannot create a shadow database on {}: {}",
                self.server.label(),
                error_text(e)
            ),
            help: if denied {
                "the role needs CREATEDB (`ALTER ROLE ... CREATEDB`), or pass `--shadow-url` \
                 (or set `shadow_url` in [package.metadata.migrate]) to a server where it can \
                 create databases"
                    .into()
            } else {
                "pass `--shadow-url` to a server where the role can create databases".into()
            },
        }
    }

    fn remove(&mut self) -> Result<(), ShadowError> {
        if let Some(client) = self.client.take() {
            drop(client);
        }
        let mut admin = self.admin()?;
        admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                crate::quote_ident(&self.name)
            ))
            .map_err(|e| ShadowError {
                message: format!(
                    "cannot drop the shadow database {}: {}",
                    self.name,
                    error_text(&e)
                ),
                help: format!(
                    "drop it by hand: DROP DATABASE {};",
                    crate::quote_ident(&self.name)
                ),
            })
    }

    /// Drops the database now, saying why not if it cannot be (dropping the value also drops
    /// it, ignoring errors).
    pub fn drop_now(mut self) -> Result<(), ShadowError> {
        let result = self.remove();
        self.name.clear();
        result
    }
}

impl Drop for ShadowDb {
    fn drop(&mut self) {
        if !self.name.is_empty() {
            let _ = self.remove();
        }
    }
}

/// `migrate_shadow_<seconds>_<pid>_<n>`: unique on the server for this process, and dated.
fn fresh_name() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{SHADOW_PREFIX}{seconds}_{}_{n}", std::process::id())
}

/// Whether `name` is a shadow database's made at least [`LEFT_OVER_AFTER`] before `now`
/// (since the Unix epoch).
fn left_over(name: &str, now: Duration) -> bool {
    let Some(rest) = name.strip_prefix(SHADOW_PREFIX) else {
        return false;
    };
    let mut parts = rest.split('_');
    let (Some(seconds), Some(pid), Some(n), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let numbers = [seconds, pid, n]
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    match seconds.parse::<u64>() {
        Ok(made) if numbers => now.as_secs().saturating_sub(made) >= LEFT_OVER_AFTER.as_secs(),
        _ => false,
    }
}

fn in_use(e: &postgres::Error) -> bool {
    e.code() == Some(&postgres::error::SqlState::OBJECT_IN_USE)
}

#[cfg(test)]
mod tests {
    use super::{LEFT_OVER_AFTER, fresh_name, left_over};
    use std::time::Duration;

    const NOW: Duration = Duration::from_secs(1_800_000_000);

    #[test]
    fn a_shadow_database_named_long_enough_ago_is_left_over() {
        let made = NOW.as_secs() - LEFT_OVER_AFTER.as_secs();
        assert!(left_over(&format!("migrate_shadow_{made}_4242_0"), NOW));
        assert!(left_over("migrate_shadow_1_1_1", NOW));
    }

    #[test]
    fn a_recent_one_is_not() {
        let made = NOW.as_secs() - LEFT_OVER_AFTER.as_secs() + 1;
        assert!(!left_over(&format!("migrate_shadow_{made}_4242_0"), NOW));
        // Made "in the future" by a machine whose clock is ahead.
        assert!(!left_over(
            &format!("migrate_shadow_{}_1_0", NOW.as_secs() + 60),
            NOW
        ));
        let fresh = fresh_name();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970");
        assert!(!left_over(&fresh, now));
    }

    #[test]
    fn a_database_not_named_like_ours_is_never_left_over() {
        for name in [
            "app",
            "migrate_shadow_",
            "migrate_shadow_1_2",
            "migrate_shadow_1_2_3_4",
            "migrate_shadow_x_2_3",
            "migrate_shadow_1__3",
            "migrate_shadow_1_2_3 ",
            "Migrate_shadow_1_2_3",
            "my_migrate_shadow_1_2_3",
        ] {
            assert!(!left_over(name, NOW), "{name}");
        }
    }
}
