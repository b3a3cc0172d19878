//! What every integration test needs: a stand-in PiecesOS on loopback and a client for it, and ranges of
//! free loopback ports that the tests control.
//!
//! The discovery tests never look at what happens to listen on 39300–39399 of the machine they run on.
//! They scan ranges of their own instead, taken from 20000–31999: below the ephemeral ports (32768 and up
//! on Linux) that servers started on port 0, by these tests or by anything else, are given.
#![allow(dead_code)] // each test crate uses its own part of this module

pub mod counting;

use std::hash::{BuildHasher, Hasher};
use std::net::TcpListener;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pieces_os_client::discovery::PortRange;
use pieces_os_client::server::{Server, ServerConfig};
use pieces_os_client::{Client, ClientConfig, DiscoveryConfig};

/// A stand-in server on an ephemeral port, with `seed` realistic messages.
pub fn server_with(seed: usize) -> Server {
    Server::start(ServerConfig::default().with_seed_messages(seed))
        .expect("the stand-in server starts on 127.0.0.1")
}

/// A client for `server` with default settings.
pub fn client_for(server: &Server) -> Client {
    Client::new(ClientConfig::default().with_base_url(server.url())).expect("valid config")
}

/// A seed for a user message in conversation `conversation`.
pub fn user_seed(conversation: &str, text: &str) -> pieces_os_client::models::SeededConversationMessage {
    pieces_os_client::models::SeededConversationMessage::user_text(conversation, text)
}

const LOWEST: u16 = 20_000;
const HIGHEST: u16 = 31_999;

/// The next port a window may start at; windows of one process never overlap.
static NEXT: Mutex<Option<u16>> = Mutex::new(None);

/// `count` consecutive ports of 127.0.0.1 that nothing listens on now, disjoint from every other window
/// of this process.
pub fn free_ports(count: u16) -> PortRange {
    let mut next = NEXT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let start = next.get_or_insert_with(|| {
        // Another test process (the other test file, another checkout) starts elsewhere.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        LOWEST + (hasher.finish() % u64::from(HIGHEST - LOWEST - 1000)) as u16
    });
    for _ in 0..500 {
        if *start > HIGHEST - count {
            *start = LOWEST;
        }
        let first = *start;
        *start += count;
        let all_free = (first..first + count).all(|port| TcpListener::bind(("127.0.0.1", port)).is_ok());
        if all_free {
            return PortRange::new(first, first + count - 1).unwrap();
        }
    }
    panic!("no {count} free consecutive ports in {LOWEST}-{HIGHEST}");
}

/// The `index`th port of `range`.
pub fn port_at(range: PortRange, index: u16) -> u16 {
    assert!(usize::from(index) < range.len());
    range.first() + index
}

/// A stand-in PiecesOS on `port`.
pub fn start_on(port: u16, config: ServerConfig) -> Server {
    Server::start(config.with_port(port)).unwrap_or_else(|err| panic!("stand-in on port {port}: {err}"))
}

/// A client configuration that scans `ports` and nothing else, whatever the environment says.
pub fn scanning(ports: PortRange) -> ClientConfig {
    ClientConfig::default().with_discovery(
        DiscoveryConfig::default()
            .with_ports(ports)
            .with_use_environment(false),
    )
}

/// Polls `condition` every 10 ms until it holds or `limit` has passed; returns whether it held.
pub fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How many threads this process has (Linux).
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").expect("Linux /proc").count()
}

/// The thread count once it holds still with no WebSocket open on `server` (the stand-in's connection
/// threads end a moment after their sockets close), waiting at most 10 s.
pub fn settled_thread_count(server: &pieces_os_client::server::Server) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = thread_count();
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let now = thread_count();
        if (now == last && server.websocket_count() == 0) || Instant::now() > deadline {
            return now;
        }
        last = now;
    }
}

/// Waits (at most 10 s) for the thread count to fall back to `baseline`, and returns it.
pub fn thread_count_back_to(baseline: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    while thread_count() > baseline && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    thread_count()
}
