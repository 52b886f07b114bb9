//! A TCP proxy in front of the test server that counts the round trips its clients make: each
//! simple query (`Q`) and each extended-protocol `Sync` (`S`) a client sends is one, since the
//! client then waits for the server's `ReadyForQuery`. What a test asserts about a command's
//! conversation with the server (a batch that must stay one round trip) is counted here, not
//! timed.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The startup codes after which the client sends another startup message (the server
/// answers `N`: no encryption through this proxy).
const SSL_REQUEST: u32 = 80877103;
const GSSENC_REQUEST: u32 = 80877104;

/// A proxy on a loopback port, forwarding to the test server (over TCP); it runs until the
/// test process ends (its threads are detached).
///
/// ```no_run
/// let proxy = migrate_tests::CountingProxy::start();
/// let mut client = postgres::Client::connect(&proxy.url("postgres"), postgres::NoTls)?;
/// client.batch_execute("SELECT 1; SELECT 2")?;
/// assert!(proxy.round_trips() >= 1);
/// # Ok::<(), postgres::Error>(())
/// ```
pub struct CountingProxy {
    port: u16,
    user: String,
    round_trips: Arc<AtomicU64>,
}

impl CountingProxy {
    /// Listens on 127.0.0.1 (a free port) and forwards each connection to the server of
    /// [`admin_url`](crate::admin_url), which must be reachable over TCP.
    pub fn start() -> CountingProxy {
        let config: postgres::Config = crate::admin_url().parse().expect("the admin URL parses");
        let host = match config.get_hosts().first() {
            Some(postgres::config::Host::Tcp(host)) => host.clone(),
            other => panic!("the counting proxy needs a TCP server, not {other:?}"),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or("postgres").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let local = listener.local_addr().expect("the proxy's address").port();
        let round_trips = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&round_trips);
        std::thread::Builder::new()
            .name("counting-proxy".into())
            .spawn(move || {
                for client in listener.incoming().flatten() {
                    let Ok(server) = TcpStream::connect((host.as_str(), port)) else {
                        continue;
                    };
                    forward(client, server, Arc::clone(&counter));
                }
            })
            .expect("start the proxy");
        CountingProxy {
            port: local,
            user,
            round_trips,
        }
    }

    /// A connection string to `dbname` through the proxy (plain TCP: the proxy reads the
    /// protocol, so it refuses encryption).
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={} dbname={dbname} sslmode=disable",
            self.port, self.user
        )
    }

    /// Round trips counted so far, over every connection.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::SeqCst)
    }
}

/// Copies both ways on two threads, counting the client's round trips.
fn forward(client: TcpStream, server: TcpStream, counter: Arc<AtomicU64>) {
    let (Ok(client_reader), Ok(server_writer)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let mut from = client_reader;
        let mut to = server_writer;
        let mut stream = Frontend::default();
        let mut buf = [0u8; 64 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
            counter.fetch_add(stream.feed(&buf[..n]), Ordering::SeqCst);
        }
        let _ = to.shutdown(Shutdown::Write);
    });
    std::thread::spawn(move || {
        let (mut from, mut to) = (server, client);
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// The client's side of the protocol, read incrementally: startup messages (a length and a
/// code), then typed messages (a type byte and a length).
#[derive(Default)]
struct Frontend {
    started: bool,
    pending: Vec<u8>,
}

impl Frontend {
    /// Takes the next bytes the client sent; returns the round trips they complete.
    fn feed(&mut self, bytes: &[u8]) -> u64 {
        self.pending.extend_from_slice(bytes);
        let mut round_trips = 0;
        loop {
            let header = if self.started { 5 } else { 8 };
            if self.pending.len() < header {
                break;
            }
            let at = usize::from(self.started);
            let length = u32::from_be_bytes(
                self.pending[at..at + 4]
                    .try_into()
                    .expect("four bytes of length"),
            ) as usize;
            let total = at + length;
            if self.pending.len() < total {
                break;
            }
            if self.started {
                round_trips += u64::from(matches!(self.pending[0], b'Q' | b'S'));
            } else {
                let code = u32::from_be_bytes(self.pending[4..8].try_into().expect("a code"));
                self.started = !matches!(code, SSL_REQUEST | GSSENC_REQUEST);
            }
            self.pending.drain(..total);
        }
        round_trips
    }
}

#[cfg(test)]
mod tests {
    use super::Frontend;

    fn typed(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn queries_and_syncs_are_round_trips_however_the_bytes_arrive() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&8u32.to_be_bytes());
        bytes.extend_from_slice(&super::SSL_REQUEST.to_be_bytes());
        bytes.extend_from_slice(&9u32.to_be_bytes());
        bytes.extend_from_slice(&196608u32.to_be_bytes());
        bytes.push(0);
        bytes.extend(typed(b'Q', b"SELECT 1\0"));
        bytes.extend(typed(b'P', b"\0SELECT $1\0\0\0"));
        bytes.extend(typed(b'B', b"\0\0\0\0\0\0\0\0"));
        bytes.extend(typed(b'E', b"\0\0\0\0\0"));
        bytes.extend(typed(b'S', b""));
        bytes.extend(typed(b'X', b""));
        let mut whole = Frontend::default();
        assert_eq!(whole.feed(&bytes), 2);
        let mut bytewise = Frontend::default();
        let counted: u64 = bytes.iter().map(|b| bytewise.feed(&[*b])).sum();
        assert_eq!(counted, 2);
    }
}
