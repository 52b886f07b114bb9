//! The addresses the driver connects to, exactly as it picks them: for the i-th host, its
//! `hostaddr` when one is given (the host name then only names the server for TLS), else the
//! host itself; one port for all hosts, or one per host.

use postgres::Config;
use postgres::config::Host;
use std::net::IpAddr;

/// One address the driver may connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host (name, address or socket directory), when given.
    pub host: Option<Host>,
    /// The numeric address the driver connects to instead of looking the host up.
    pub hostaddr: Option<IpAddr>,
    /// The port.
    pub port: u16,
}

impl Target {
    /// Whether the address actually connected to is on this machine: a unix socket, a
    /// loopback address, or the name `localhost`.
    ///
    /// ```
    /// use migrate_runtime::engine::connection::ConnInfo;
    /// let c = ConnInfo::parse("host=/tmp hostaddr=192.0.2.1").unwrap();
    /// assert!(!c.targets()[0].is_local(), "hostaddr wins over the socket directory");
    /// ```
    pub fn is_local(&self) -> bool {
        if let Some(addr) = self.hostaddr {
            return is_loopback(addr);
        }
        match &self.host {
            Some(Host::Tcp(name)) => {
                let name = name.trim_end_matches('.');
                name.eq_ignore_ascii_case("localhost")
                    || name
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .parse::<IpAddr>()
                        .is_ok_and(is_loopback)
            }
            #[cfg(unix)]
            Some(Host::Unix(_)) => true,
            None => false,
        }
    }

    /// What the driver connects to, as text: the `hostaddr` if given, else the host.
    pub fn address(&self) -> String {
        match (self.hostaddr, &self.host) {
            (Some(addr), _) => addr.to_string(),
            (None, Some(host)) => host_text(host),
            (None, None) => String::new(),
        }
    }

    /// `host:port`, `host (hostaddr):port`, or `hostaddr:port`.
    pub fn label(&self) -> String {
        match (&self.host, self.hostaddr) {
            (Some(host), Some(addr)) => format!("{} ({addr}):{}", host_text(host), self.port),
            _ => format!("{}:{}", self.address(), self.port),
        }
    }
}

/// A host name, address or socket directory as text.
pub(super) fn host_text(host: &Host) -> String {
    match host {
        Host::Tcp(h) => h.clone(),
        #[cfg(unix)]
        Host::Unix(p) => p.display().to_string(),
    }
}

fn is_loopback(addr: IpAddr) -> bool {
    addr.to_canonical().is_loopback()
}

/// The driver's targets for a configuration.
pub(super) fn targets(config: &Config) -> Vec<Target> {
    let hosts = config.get_hosts();
    let addrs = config.get_hostaddrs();
    let ports = config.get_ports();
    let n = hosts.len().max(addrs.len());
    (0..n)
        .map(|i| Target {
            host: hosts.get(i).cloned(),
            hostaddr: addrs.get(i).copied(),
            port: match ports {
                [] => 5432,
                [one] => *one,
                many => many.get(i).copied().unwrap_or(5432),
            },
        })
        .collect()
}
