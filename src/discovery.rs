//! Finding PiecesOS on this machine, the way the official clients do.
//!
//! Modern PiecesOS listens on IPv4 loopback, on the first free port from 39300 upward, so the port can
//! change from one start to the next. A [`Client`](crate::Client) built without a base URL therefore
//! finds it in this order:
//!
//! 1. [`ClientConfig::base_url`](crate::ClientConfig::base_url), when set: it always wins and nothing is
//!    scanned.
//! 2. The environment variable [`PIECES_OS_URL_ENV`](crate::config::PIECES_OS_URL_ENV)
//!    (`PIECES_OS_URL`), when set and not empty; nothing is scanned either.
//! 3. A scan of `127.0.0.1` (never `localhost`, which may resolve to IPv6): every port of
//!    [`DiscoveryConfig::ports`] (else [`PIECES_OS_PORTS_ENV`], else [`DEFAULT_PORTS`], 39300–39399) is
//!    tried at once by a small pool of threads. A port counts when it accepts a TCP connection within
//!    [`DiscoveryConfig::connect_timeout`] (50 ms) and answers `GET /.well-known/health` with HTTP 200
//!    within [`DiscoveryConfig::answer_timeout`]. The **lowest** such port wins. When none does, the
//!    result is [`Error::NotRunning`](crate::Error::NotRunning), which names the range scanned.
//!
//! Steps 2 and 3 read the environment only when [`DiscoveryConfig::use_environment`] is `true` (the
//! default).
//!
//! # When the scan runs
//!
//! Lazily: [`Client::new`](crate::Client::new) never scans, so a plugin may build its client before
//! PiecesOS has started. The first call that needs the URL scans, and the URL found is cached and shared
//! by every clone of the client. When a request to that URL is refused (PiecesOS stopped, or restarted on
//! another port), the client scans again and, if PiecesOS is now elsewhere, sends the request there (a
//! refused connection never carried the request, so this is safe for every method). A subscription
//! scans again before each reconnection. [`Client::base_url`](crate::Client::base_url) resolves the URL
//! (scanning if needed); [`Client::cached_base_url`](crate::Client::cached_base_url) only looks.
//!
//! With nothing listening, a scan of the default range takes a few milliseconds: a closed loopback port
//! refuses at once. Its worst case (a firewall that drops connection attempts on loopback) is
//! `ceil(ports / SCAN_THREADS) × connect_timeout`, 250 ms for the defaults.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub use crate::config::{
    DiscoveryConfig, DEFAULT_PROBE_ANSWER_TIMEOUT, DEFAULT_PROBE_CONNECT_TIMEOUT, PIECES_OS_PORTS_ENV,
};
use crate::operation::WELL_KNOWN_HEALTH;
pub use crate::ports::{PortRange, DEFAULT_PORTS, MAX_PORTS};

/// How many threads one scan uses at most. With the default range each thread tries at most 5 ports.
pub const SCAN_THREADS: usize = 20;

/// The path probed on each port, and answered by [`Client::health`](crate::Client::health).
pub const HEALTH_PATH: &str = WELL_KNOWN_HEALTH.path;

/// What one scan sends to each port.
pub(crate) struct Probe<'a> {
    pub connect_timeout: Duration,
    pub answer_timeout: Duration,
    pub user_agent: &'a str,
    /// The API-key header, sent when the client has an application id (a PiecesOS that requires it on
    /// every route would otherwise answer 401 and not be found).
    pub api_key: Option<(&'a str, &'a str)>,
}

/// Scans `ports` and returns the lowest one whose health answer is 200; `None` when none answers or
/// `cancel` was set. Every thread it starts has ended when it returns.
pub(crate) fn scan(ports: PortRange, probe: &Probe<'_>, cancel: Option<&AtomicBool>) -> Option<u16> {
    let next = AtomicU32::new(u32::from(ports.first()));
    let best = AtomicU32::new(u32::MAX);
    let cancelled = || cancel.is_some_and(|flag| flag.load(Ordering::Acquire));
    let work = || loop {
        let port = next.fetch_add(1, Ordering::Relaxed);
        // Ports are handed out in ascending order, so every later one is higher than a port found.
        if port > u32::from(ports.last()) || port >= best.load(Ordering::Acquire) || cancelled() {
            break;
        }
        let port = port as u16;
        if answers_health(port, probe) {
            best.fetch_min(u32::from(port), Ordering::AcqRel);
        }
    };
    std::thread::scope(|scope| {
        let wanted = ports.len().min(SCAN_THREADS);
        let started = (0..wanted)
            .filter(|_| {
                std::thread::Builder::new()
                    .name("pieces-discovery".to_owned())
                    .spawn_scoped(scope, work)
                    .is_ok()
            })
            .count();
        // Without a single thread the scan still runs, on the caller's.
        if started == 0 {
            work();
        }
    });
    match best.load(Ordering::Acquire) {
        u32::MAX => None,
        _ if cancelled() => None,
        port => Some(port as u16),
    }
}

/// Whether 127.0.0.1:`port` accepts a connection and answers the health path with HTTP 200.
fn answers_health(port: u16, probe: &Probe<'_>) -> bool {
    let address = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, probe.connect_timeout) else {
        return false;
    };
    let deadline = Instant::now() + probe.answer_timeout;
    let mut request = format!(
        "GET {HEALTH_PATH} HTTP/1.1\r\nHost: {address}\r\nUser-Agent: {}\r\nAccept: text/plain\r\n",
        probe.user_agent
    );
    if let Some((name, value)) = probe.api_key {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    let sent = stream
        .set_nodelay(true)
        .and_then(|()| stream.set_write_timeout(Some(probe.answer_timeout)))
        .and_then(|()| stream.write_all(request.as_bytes()));
    if sent.is_err() {
        return false;
    }
    // Only the status line matters: `HTTP/1.x 200 …`.
    let mut head = Vec::with_capacity(64);
    let mut buffer = [0u8; 64];
    while !head.contains(&b'\n') && head.len() < 256 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return false;
        }
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
    }
    is_status_200(&head)
}

fn is_status_200(head: &[u8]) -> bool {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|&b| b == b' ');
    let version = parts.next().unwrap_or_default();
    version.starts_with(b"HTTP/1.") && parts.next() == Some(b"200")
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::thread;

    use super::*;

    fn probe() -> Probe<'static> {
        Probe {
            connect_timeout: DEFAULT_PROBE_CONNECT_TIMEOUT,
            answer_timeout: Duration::from_millis(300),
            user_agent: "test",
            api_key: None,
        }
    }

    /// A listener that answers every connection with `status_line` and records the request heads.
    fn answering(status_line: &'static str) -> (u16, thread::JoinHandle<Vec<String>>, Arc<AtomicBool>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let handle = thread::spawn(move || {
            let mut heads = Vec::new();
            let until = Instant::now() + Duration::from_secs(10);
            while !stop_flag.load(Ordering::Acquire) && Instant::now() < until {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                        let mut head = Vec::new();
                        let mut byte = [0u8; 1];
                        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                            head.push(byte[0]);
                        }
                        heads.push(String::from_utf8_lossy(&head).into_owned());
                        let _ = stream
                            .write_all(format!("{status_line}\r\nContent-Length: 0\r\n\r\n").as_bytes());
                    }
                    Err(_) => thread::sleep(Duration::from_millis(2)),
                }
            }
            heads
        });
        (port, handle, stop)
    }

    #[test]
    fn status_line_must_say_200() {
        assert!(is_status_200(b"HTTP/1.1 200 OK\r\n"));
        assert!(is_status_200(b"HTTP/1.0 200\r\n"));
        assert!(!is_status_200(b"HTTP/1.1 2000 OK\r\n"));
        assert!(!is_status_200(b"HTTP/1.1 401 Unauthorized\r\n"));
        assert!(!is_status_200(b"SSH-2.0-OpenSSH\r\n"));
        assert!(!is_status_200(b""));
    }

    #[test]
    fn a_port_answering_200_is_found_and_gets_a_proper_request() {
        let (port, server, stop) = answering("HTTP/1.1 200 OK");
        let mut probe = probe();
        probe.api_key = Some(("X-Application-ID", "plugin"));
        let found = scan(PortRange::new(port, port).unwrap(), &probe, None);
        stop.store(true, Ordering::Release);
        let heads = server.join().unwrap();
        assert_eq!(found, Some(port));
        assert_eq!(heads.len(), 1);
        assert!(
            heads[0].starts_with("GET /.well-known/health HTTP/1.1\r\n"),
            "{}",
            heads[0]
        );
        assert!(
            heads[0].contains(&format!("Host: 127.0.0.1:{port}\r\n")),
            "{}",
            heads[0]
        );
        assert!(heads[0].contains("X-Application-ID: plugin\r\n"), "{}", heads[0]);
    }

    #[test]
    fn a_port_answering_anything_else_is_not_pieces_os() {
        let (port, server, stop) = answering("HTTP/1.1 404 Not Found");
        assert_eq!(scan(PortRange::new(port, port).unwrap(), &probe(), None), None);
        stop.store(true, Ordering::Release);
        server.join().unwrap();
    }

    #[test]
    fn a_silent_listener_costs_at_most_the_answer_timeout() {
        // Accepts (the kernel does, from the backlog) but never answers.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut probe = probe();
        probe.answer_timeout = Duration::from_millis(100);
        let started = Instant::now();
        assert_eq!(scan(PortRange::new(port, port).unwrap(), &probe, None), None);
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(100), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
        drop(listener);
    }

    #[test]
    fn a_set_cancel_flag_finds_nothing() {
        let (port, server, stop) = answering("HTTP/1.1 200 OK");
        let cancel = AtomicBool::new(true);
        assert_eq!(
            scan(PortRange::new(port, port).unwrap(), &probe(), Some(&cancel)),
            None
        );
        stop.store(true, Ordering::Release);
        server.join().unwrap();
    }
}
