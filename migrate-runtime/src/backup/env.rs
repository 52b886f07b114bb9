//! The connection as libpq's environment variables, so `pg_dump`, `pg_restore` and backup
//! commands connect where cargo-migrate does without the password ever being on a command
//! line (where `ps` shows it to every user of the machine).

use crate::engine::connection::ConnInfo;
use postgres::config::Host;

/// Every `PG*` variable libpq reads for the connection: `Some` sets it, `None` removes an
/// inherited one (it would override or contradict the connection).
///
/// ```
/// use migrate_runtime::backup::pg_env;
/// use migrate_runtime::engine::connection::ConnInfo;
/// let info = ConnInfo::parse("postgres://app:s3cret@db.internal:6432/shop?sslmode=require").unwrap();
/// let env = pg_env(&info);
/// let get = |k: &str| env.iter().find(|(n, _)| *n == k).and_then(|(_, v)| v.clone());
/// assert_eq!(get("PGHOST").as_deref(), Some("db.internal"));
/// assert_eq!(get("PGPORT").as_deref(), Some("6432"));
/// assert_eq!(get("PGUSER").as_deref(), Some("app"));
/// assert_eq!(get("PGPASSWORD").as_deref(), Some("s3cret"));
/// assert_eq!(get("PGDATABASE").as_deref(), Some("shop"));
/// assert_eq!(get("PGSSLMODE").as_deref(), Some("require"));
/// assert_eq!(get("PGSERVICE"), None);
/// ```
pub fn pg_env(info: &ConnInfo) -> Vec<(&'static str, Option<String>)> {
    let config = info.config();
    let targets = info.targets();
    let hosts: Vec<String> = targets
        .iter()
        .map(|t| match &t.host {
            Some(Host::Tcp(h)) => h.clone(),
            Some(Host::Unix(p)) => p.to_string_lossy().into_owned(),
            None => String::new(),
        })
        .collect();
    let ports: Vec<String> = targets.iter().map(|t| t.port.to_string()).collect();
    let addrs: Vec<String> = targets
        .iter()
        .map(|t| t.hostaddr.map(|a| a.to_string()).unwrap_or_default())
        .collect();
    let nonempty = |v: Vec<String>| Some(v.join(",")).filter(|s| !s.replace(',', "").is_empty());
    let password = config
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    vec![
        ("PGHOST", nonempty(hosts)),
        ("PGPORT", nonempty(ports)),
        ("PGHOSTADDR", nonempty(addrs)),
        ("PGUSER", config.get_user().map(str::to_string)),
        ("PGPASSWORD", password),
        ("PGDATABASE", Some(info.dbname().to_string())),
        ("PGSSLMODE", Some(info.tls().mode.as_str().to_string())),
        (
            "PGSSLROOTCERT",
            info.tls()
                .root_cert
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
        ),
        (
            "PGCONNECT_TIMEOUT",
            info.connect_timeout()
                .map(|d| d.as_secs().max(2).to_string()),
        ),
        ("PGOPTIONS", config.get_options().map(str::to_string)),
        ("PGAPPNAME", Some("cargo-migrate".into())),
        ("PGSERVICE", None),
        ("PGSERVICEFILE", None),
    ]
}

/// Applies [`pg_env`] to a command.
pub(crate) fn apply(command: &mut std::process::Command, info: &ConnInfo) {
    for (name, value) in pg_env(info) {
        match value {
            Some(v) => command.env(name, v),
            None => command.env_remove(name),
        };
    }
}
