//! The local stand-in PiecesOS: the conversation-messages API on 127.0.0.1, for tests, examples,
//! benchmarks and users' own tests (cargo feature `server`).
//!
//! It follows what PiecesOS puts on the wire (as the official SDKs' models and their users' reports show
//! it), not what any client expects: messages are stored and checked as raw JSON, every key a client sends is kept, and
//! errors are `500 text/plain` as PiecesOS sends them.
//!
//! ```
//! use pieces_os_client::server::{Server, ServerConfig};
//! use std::io::{Read, Write};
//!
//! let server = Server::start(ServerConfig::default().with_seed_messages(3)).unwrap();
//! assert_eq!(server.message_ids().len(), 3);
//!
//! let mut socket = std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
//! socket.write_all(b"GET /.well-known/version HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap();
//! let mut answer = String::new();
//! socket.read_to_string(&mut answer).unwrap();
//! assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(answer.ends_with("\r\n\r\n12.1.0"));
//! server.stop();
//! ```
//!
//! # Routes
//!
//! | request | answer |
//! |---|---|
//! | `GET /messages` | 200 ConversationMessages `{"iterable": […], "indices": {id: position}}` |
//! | `POST /messages/create` | 200 the new ConversationMessage; 500 when the body is not a JSON object or lacks `role`, `fragment` or `conversation.id` |
//! | `POST /messages/{id}/delete` | 204; 500 for an unknown id (the id is one percent-decoded path segment) |
//! | `POST /messages/search` | 200 SearchedConversationMessages; 500 when the body lacks `engines.iterable` |
//! | `GET /message/{id}` | 200 the ConversationMessage; 410 text/plain for an unknown id |
//! | `POST /message/update` | 200 the stored ConversationMessage; 500 when the body is not a whole ConversationMessage (`id`, `role`, `created`, `updated`, `conversation`) or its id is unknown. The stored `id`, `created` and `conversation` stay, the rest is replaced by what was sent, `updated` becomes now, and the stream announces the id |
//! | `GET /messages/stream/identifiers` | WebSocket of StreamedIdentifiers text frames; 426 without an upgrade |
//! | `GET`/`HEAD /.well-known/health` | 200 `ok` |
//! | `GET`/`HEAD /.well-known/version` | 200 the configured version |
//!
//! Any other path is 404, a known path with another method 405 (with `Allow`). `HEAD` works wherever `GET`
//! does, except on the WebSocket route. JSON answers are `application/json`, every other body
//! `text/plain; charset=utf-8`, always with a Content-Length.
//!
//! The query parameter `transferables` (snapshot, create, search, and one message's get and update) is `true` (the default when absent:
//! full messages) or `false` (each message without the heavy fragment content: `raw`, `base64`,
//! `base64_url` and `data_url` of `fragment.string` and `fragment.bytes`; everything else stays). Any other
//! value is refused with `400 text/plain` naming the parameter, as a server that validates its query
//! parameters before running the handler would do; the official SDKs only ever send `true` or `false`.
//!
//! Search is a case-insensitive substring match of each engine's `query` in `fragment.string.raw`.
//! `exact` is true when the case matched too; `similarity` is 1.0 for such a match and 0.8 for a match
//! that ignored case. `full_text.exact: true` keeps only exact matches, `full_text.similarity` is a lower
//! bound. Engines combine with `engines.type` (`AND`, otherwise OR), nested `operations` likewise; an
//! engine with no (or an empty) query and no operations matches nothing. Results are ordered by
//! similarity, then by store order.
//!
//! # HTTP details
//!
//! HTTP/1.1 with keep-alive and pipelining; bodies by Content-Length or chunked transfer coding (other
//! codings: 501); `Expect: 100-continue` answered. Malformed requests get 400, heads over 64 KiB 431,
//! bodies over [`ServerConfig::max_body_bytes`] (32 MiB by default) 413 before any of the body is read;
//! each closes the connection, and none stops the server. One thread per connection, up to
//! [`ServerConfig::max_connections`].
//!
//! When [`ServerConfig::application_id`] is set, every request (the WebSocket upgrade included) must carry
//! it in [`ServerConfig::api_key_header`], else the answer is 401 text/plain. The exceptions are the
//! routes under `/.well-known/` (health and version), which the official clients probe without
//! credentials while they look for PiecesOS.
//! Faults and the delay are applied before that check, so they hit unauthenticated requests too.
//!
//! # Abuse
//!
//! Users run the stand-in inside their test suites, so no client can take it down or lock others out:
//!
//! * A connection may wait [`ServerConfig::idle_timeout`] for a request to begin, and a request must
//!   arrive whole within [`ServerConfig::read_timeout`] of its first byte (else 408); each write may wait
//!   [`ServerConfig::write_timeout`] for the client to read.
//! * When every connection slot is taken, a new connection takes the place of one that waits for a
//!   request (one that never completed a request first, then the longest waiting), so a normal client is
//!   served while idle or half-sent connections wait; only when every connection is busy answering (or a
//!   WebSocket) is a new one answered 503 and closed.
//! * A body is buffered as its bytes arrive (never ahead of them), so an upload that stops halfway holds
//!   about what it sent; a request costs a small multiple of its body.
//! * A search reads the store without locking it, so writers never wait for one.
//! * Each WebSocket subscriber has at most [`ServerConfig::max_backlog_bytes`] of frames waiting for it;
//!   one further behind is closed with code 1008 and forgotten.
//!
//! Every thread is named `psrv<N>-…`, where `N` numbers the servers of the process, and every one is
//! joined by [`Server::stop`].

mod backlog;
mod faults;
mod http;
mod raw;
mod routes;
pub mod seed;
mod store;
mod websocket;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::sync::lock;

pub use faults::{DropMode, FaultConfig, Faults};

use store::Store;
use websocket::WsControl;

/// The version `GET /.well-known/version` answers by default: inside the range official plugins accept.
pub const DEFAULT_VERSION: &str = "12.1.0";

/// The port the `pieces-os-server` program listens on by default: the first one PiecesOS itself tries.
pub const DEFAULT_PORT: u16 = 39300;

/// The default limit on a request body: 32 MiB, far above any message a client creates, and low enough
/// that a few uploads cannot exhaust memory (a request costs a small multiple of its body).
pub const DEFAULT_MAX_BODY_BYTES: u64 = 32 << 20;

/// The default limit on simultaneous connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// The default of [`ServerConfig::idle_timeout`]: longer than clients keep idle pooled connections (ureq:
/// 15 s), so a client never sends a request on a connection the server has just closed.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The default of [`ServerConfig::read_timeout`].
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The default of [`ServerConfig::write_timeout`].
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The default of [`ServerConfig::max_backlog_bytes`]: 8 MiB of frames, thousands of changes.
pub const DEFAULT_MAX_BACKLOG_BYTES: usize = 8 << 20;

/// How many requests [`Server::requests`] remembers; older ones are forgotten first, so that a long run
/// does not grow without bound.
pub const REQUEST_LOG_CAPACITY: usize = 10_000;

/// How long `stop` lets WebSocket threads send their Close frame before it shuts every socket down.
const WEBSOCKET_GRACE: Duration = Duration::from_millis(300);

/// Numbers the servers of this process, for thread names.
static SERVER_NUMBER: AtomicU64 = AtomicU64::new(0);

/// Settings of a [`Server`]. Build it with [`ServerConfig::default`] and the `with_*` methods.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The port on 127.0.0.1; 0 picks a free one (see [`Server::port`]).
    pub port: u16,
    /// When set, every request but those under `/.well-known/` (health and version) must carry this value
    /// in [`Self::api_key_header`], else it gets 401.
    pub application_id: Option<String>,
    /// The header that carries [`Self::application_id`] (names compare case-insensitively).
    pub api_key_header: String,
    /// How many realistic messages (see [`seed`]) the store holds at start.
    pub seed_messages: usize,
    /// The seed of the realistic messages: the same seed gives the same messages.
    pub rng_seed: u64,
    /// What `GET /.well-known/version` answers.
    pub version: String,
    /// The faults injected from the start (they can be changed later through [`Server::faults`]).
    pub faults: FaultConfig,
    /// The largest request body accepted; larger ones get 413.
    pub max_body_bytes: u64,
    /// The most connections served at once. When all are taken, a new connection takes the place of
    /// the one that has waited longest for a request (one that never completed a request first); only
    /// when every connection is busy (answering, or a WebSocket) is it answered 503 and closed.
    pub max_connections: usize,
    /// How long a connection may wait for its next request to begin before it is closed.
    pub idle_timeout: Duration,
    /// How long a request may take to arrive, from its first byte to the last byte of its body; a slower
    /// one is answered 408 and its connection closed.
    pub read_timeout: Duration,
    /// How long one write to a client (an answer, a WebSocket frame) may wait for the client to read
    /// before the connection is given up.
    pub write_timeout: Duration,
    /// How many bytes of frames may wait for one WebSocket subscriber. A subscriber further behind is
    /// closed (code 1008) and its backlog dropped; its client's reconnection and full first frame
    /// repair what it missed.
    pub max_backlog_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            port: 0,
            application_id: None,
            api_key_header: crate::config::DEFAULT_API_KEY_HEADER.to_owned(),
            seed_messages: 0,
            rng_seed: 0,
            version: DEFAULT_VERSION.to_owned(),
            faults: FaultConfig::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            max_backlog_bytes: DEFAULT_MAX_BACKLOG_BYTES,
        }
    }
}

impl ServerConfig {
    /// Sets [`Self::port`].
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Sets [`Self::application_id`].
    pub fn with_application_id(mut self, id: impl Into<String>) -> Self {
        self.application_id = Some(id.into());
        self
    }

    /// Sets [`Self::api_key_header`].
    pub fn with_api_key_header(mut self, name: impl Into<String>) -> Self {
        self.api_key_header = name.into();
        self
    }

    /// Sets [`Self::seed_messages`].
    pub fn with_seed_messages(mut self, count: usize) -> Self {
        self.seed_messages = count;
        self
    }

    /// Sets [`Self::rng_seed`].
    pub fn with_rng_seed(mut self, seed: u64) -> Self {
        self.rng_seed = seed;
        self
    }

    /// Sets [`Self::version`].
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Sets [`Self::faults`].
    pub fn with_faults(mut self, faults: FaultConfig) -> Self {
        self.faults = faults;
        self
    }

    /// Sets [`Self::max_body_bytes`].
    pub fn with_max_body_bytes(mut self, limit: u64) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Sets [`Self::max_connections`].
    pub fn with_max_connections(mut self, limit: usize) -> Self {
        self.max_connections = limit;
        self
    }

    /// Sets [`Self::idle_timeout`], [`Self::read_timeout`] and [`Self::write_timeout`].
    pub fn with_timeouts(mut self, idle: Duration, read: Duration, write: Duration) -> Self {
        self.idle_timeout = idle;
        self.read_timeout = read;
        self.write_timeout = write;
        self
    }

    /// Sets [`Self::max_backlog_bytes`].
    pub fn with_max_backlog_bytes(mut self, limit: usize) -> Self {
        self.max_backlog_bytes = limit;
        self
    }
}

/// One request as the server received it, for tests to check what a client sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The method, as sent.
    pub method: String,
    /// The request target exactly as received: path and query, still percent-encoded.
    pub target: String,
    /// The header fields in order, names as sent (values that are not UTF-8 are decoded lossily).
    pub headers: Vec<(String, String)>,
    /// The length of the body after removing any chunked framing.
    pub body_len: usize,
}

impl RecordedRequest {
    /// The first value of a header, the name compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A live connection, as `stop`, `drop_websockets` and the accept thread need to reach it from other
/// threads.
struct Conn {
    /// A clone of the socket, to shut it down.
    stream: TcpStream,
    /// Set once the connection became a WebSocket.
    websocket: Option<Arc<WsControl>>,
    activity: Arc<Activity>,
}

/// What a connection's thread is doing, so that the accept thread can choose a connection to give up
/// when every slot is taken: one that waits for a request (idle, or still receiving one), never one that
/// is answering.
#[derive(Debug)]
pub(crate) struct Activity {
    /// [`BUSY`], [`EVICTED`], or the time (ms since the server started, plus one) since which the
    /// connection has been waiting for a request.
    state: AtomicU64,
    /// Whether the connection has completed a request: those that never did are given up first.
    served: AtomicBool,
}

const BUSY: u64 = 0;
const EVICTED: u64 = u64::MAX;

impl Activity {
    fn new(now: u64) -> Self {
        Activity {
            state: AtomicU64::new(now + 1),
            served: AtomicBool::new(false),
        }
    }

    /// The connection waits for (or receives) a request from now on.
    pub(crate) fn waiting(&self, shared: &Shared) {
        let _ = self
            .state
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |state| {
                (state != EVICTED).then(|| shared.clock() + 1)
            });
    }

    /// A whole request has arrived: the connection is busy answering it. `false` when the accept thread
    /// gave the connection up first (its socket is shut down; the request must not be answered).
    pub(crate) fn busy(&self) -> bool {
        let busy = self
            .state
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |state| {
                (state != EVICTED).then_some(BUSY)
            })
            .is_ok();
        if busy {
            self.served.store(true, Ordering::Relaxed);
        }
        busy
    }

    /// How eager the accept thread is to give this connection up: `None` while busy; else connections
    /// that never completed a request first, then the longest waiting.
    fn eviction_rank(&self) -> Option<(bool, u64)> {
        match self.state.load(Ordering::SeqCst) {
            BUSY | EVICTED => None,
            since => Some((self.served.load(Ordering::Relaxed), since)),
        }
    }

    /// Marks the connection given up, unless it turned busy meanwhile.
    fn evict(&self) -> bool {
        self.state
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |state| {
                (state != BUSY && state != EVICTED).then_some(EVICTED)
            })
            .is_ok()
    }
}

/// What the connection threads share with the [`Server`].
pub(crate) struct Shared {
    number: u64,
    application_id: Option<String>,
    api_key_header: String,
    version: String,
    max_body_bytes: u64,
    limits: http::Limits,
    write_timeout: Duration,
    max_backlog_bytes: usize,
    started: Instant,
    rng_seed: u64,
    store: Store,
    faults: Faults,
    stopping: AtomicBool,
    log: Mutex<VecDeque<RecordedRequest>>,
    conns: Mutex<HashMap<u64, Conn>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Every TCP connection accepted since start, so tests can see whether clients reuse connections.
    accepted: AtomicU64,
}

impl Shared {
    pub(crate) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Milliseconds since the server started.
    fn clock(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 2)
    }

    /// Sleeps for `delay` in short steps; `false` when the server began to stop meanwhile.
    pub(crate) fn pause(&self, delay: Duration) -> bool {
        let deadline = Instant::now() + delay;
        loop {
            if self.stopping() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            thread::sleep((deadline - now).min(Duration::from_millis(10)));
        }
    }

    pub(crate) fn record(&self, head: &http::RequestHead, body_len: usize) {
        let request = RecordedRequest {
            method: head.method.clone(),
            target: head.target.clone(),
            headers: head
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), String::from_utf8_lossy(value).into_owned()))
                .collect(),
            body_len,
        };
        let mut log = lock(&self.log);
        if log.len() >= REQUEST_LOG_CAPACITY {
            log.pop_front();
        }
        log.push_back(request);
    }

    /// The activity record of a connection (a fresh one if it is no longer registered).
    pub(crate) fn activity(&self, conn_id: u64) -> Arc<Activity> {
        lock(&self.conns)
            .get(&conn_id)
            .map_or_else(|| Arc::new(Activity::new(0)), |conn| conn.activity.clone())
    }

    /// Marks a connection as a WebSocket and returns the control `drop_websockets` reaches it through.
    pub(crate) fn register_websocket(&self, conn_id: u64) -> Arc<WsControl> {
        let control = Arc::new(WsControl::default());
        if let Some(conn) = lock(&self.conns).get_mut(&conn_id) {
            conn.websocket = Some(control.clone());
        }
        control
    }
}

/// Removes a connection from the registry when its thread ends, however it ends.
struct Registration<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        if let Some(conn) = lock(&self.shared.conns).remove(&self.id) {
            let _ = conn.stream.shutdown(Shutdown::Both);
        }
    }
}

/// A running stand-in PiecesOS. [`Server::stop`] (or dropping it) stops it and joins every thread it
/// started.
pub struct Server {
    shared: Arc<Shared>,
    port: u16,
    /// A clone of the listening socket, to wake the accept thread on stop.
    listener: Option<TcpListener>,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("port", &self.port)
            .field("number", &self.shared.number)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds 127.0.0.1 on the configured port, seeds the store and starts accepting connections.
    ///
    /// # Errors
    /// The port cannot be bound (in use, or not allowed; the message names the address), the header name
    /// is not a valid HTTP token, or a thread cannot be started.
    pub fn start(config: ServerConfig) -> io::Result<Server> {
        let header_is_token = !config.api_key_header.is_empty()
            && config
                .api_key_header
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !header_is_token {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "api_key_header {:?} is not a valid header name",
                    config.api_key_header
                ),
            ));
        }
        let listener = TcpListener::bind(("127.0.0.1", config.port)).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("cannot listen on 127.0.0.1:{}: {error}", config.port),
            )
        })?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            number: SERVER_NUMBER.fetch_add(1, Ordering::Relaxed),
            application_id: config.application_id,
            api_key_header: config.api_key_header,
            version: config.version,
            max_body_bytes: config.max_body_bytes,
            limits: http::Limits {
                idle: config.idle_timeout.max(Duration::from_millis(1)),
                read: config.read_timeout.max(Duration::from_millis(1)),
            },
            write_timeout: config.write_timeout.max(Duration::from_millis(1)),
            max_backlog_bytes: config.max_backlog_bytes,
            started: Instant::now(),
            rng_seed: config.rng_seed,
            store: Store::default(),
            faults: Faults::new(config.faults),
            stopping: AtomicBool::new(false),
            log: Mutex::new(VecDeque::new()),
            conns: Mutex::new(HashMap::new()),
            threads: Mutex::new(Vec::new()),
            accepted: AtomicU64::new(0),
        });
        shared.store.seed_realistic(config.seed_messages, config.rng_seed);
        let wake = listener.try_clone()?;
        let accept_shared = shared.clone();
        let max_connections = config.max_connections.max(1);
        let accept = thread::Builder::new()
            .name(format!("psrv{}-accept", shared.number))
            .spawn(move || accept_loop(&accept_shared, listener, max_connections))?;
        Ok(Server {
            shared,
            port,
            listener: Some(wake),
            accept: Some(accept),
        })
    }

    /// The port the server listens on (the chosen one when the configuration said 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The URL of the identifier stream, `ws://127.0.0.1:PORT/messages/stream/identifiers`.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/messages/stream/identifiers", self.port)
    }

    /// The live fault settings: change them while the server runs.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Drops every WebSocket open now (not later ones), each within a few milliseconds, the way `mode`
    /// says. The store is untouched: a client that reconnects gets a full first frame.
    pub fn drop_websockets(&self, mode: DropMode) {
        for conn in lock(&self.shared.conns).values() {
            if let Some(control) = &conn.websocket {
                control.request_drop(mode);
            }
        }
    }

    /// How many TCP connections were accepted since start, for tests that check connection reuse.
    pub fn connections_accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }

    /// How many WebSockets are open, for tests that wait for a client to (re)connect.
    pub fn websocket_count(&self) -> usize {
        lock(&self.shared.conns)
            .values()
            .filter(|conn| conn.websocket.is_some())
            .count()
    }

    /// The requests received so far (the last [`REQUEST_LOG_CAPACITY`]), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log).iter().cloned().collect()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// The ids of the stored messages, in store (insertion) order.
    pub fn message_ids(&self) -> Vec<String> {
        self.shared.store.ids()
    }

    /// How many messages are stored.
    pub fn message_count(&self) -> usize {
        self.shared.store.len()
    }

    /// A stored message as the server would serve it with `transferables=true`.
    pub fn message(&self, id: &str) -> Option<Value> {
        self.shared.store.get(id)
    }

    /// Stores `message` exactly as given (keys no model knows, missing fields and all) and announces it on
    /// the identifier stream. Returns its id: the string `id` of the message, or a fresh one when it has
    /// none (added to it when it is an object; any other JSON value is stored as-is under that id, to test
    /// how clients cope with a malformed item). A message with the id of a stored one replaces it in
    /// place, like an update.
    pub fn insert_message(&self, message: Value) -> String {
        self.shared.store.insert(message).0
    }

    /// Removes a message as `POST /messages/{id}/delete` would, announcing it; `false` when unknown.
    pub fn delete_message(&self, id: &str) -> bool {
        self.shared.store.delete(id)
    }

    /// Appends `count` realistic messages (continuing the sequence of [`ServerConfig::seed_messages`], so
    /// ids never repeat) and announces them in one frame. Returns their ids.
    pub fn seed_realistic(&self, count: usize) -> Vec<String> {
        self.shared.store.seed_realistic(count, self.shared.rng_seed)
    }

    /// Removes every message, announcing them all as deleted in one frame.
    pub fn remove_all(&self) {
        self.shared.store.remove_all();
    }

    /// Stops the server: no new connections, every socket shut down (WebSockets first get a moment to
    /// send a Close frame, code 1001), every thread joined. Returns within a fraction of a second even
    /// with clients connected; the port is free again when it returns.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let Some(accept) = self.accept.take() else {
            return;
        };
        let shared = &self.shared;
        shared.stopping.store(true, Ordering::SeqCst);
        wake_accept(self.port, self.listener.as_ref());
        let _ = accept.join();
        self.listener = None;

        // WebSocket threads wake on their closed channel and send a Close frame; plain HTTP connections
        // have nothing to finish and are shut down at once, which also wakes threads blocked reading.
        shared.store.close_subscribers();
        for conn in lock(&shared.conns).values() {
            if conn.websocket.is_none() {
                let _ = conn.stream.shutdown(Shutdown::Both);
            }
        }
        let deadline = Instant::now() + WEBSOCKET_GRACE;
        while Instant::now() < deadline && !lock(&shared.conns).is_empty() {
            thread::sleep(Duration::from_millis(5));
        }
        for conn in lock(&shared.conns).values() {
            let _ = conn.stream.shutdown(Shutdown::Both);
        }
        let threads = std::mem::take(&mut *lock(&shared.threads));
        for handle in threads {
            let _ = handle.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Not part of the API: the way in for the fuzz target of the request parser (`fuzz/`). Reads requests
/// from `bytes` as one connection would receive them (bodies up to 1 MiB) and returns how many were read
/// whole; it must never panic, hang or allocate far beyond `bytes.len()`, whatever the bytes.
#[doc(hidden)]
pub fn fuzz_read_requests(bytes: &[u8]) -> usize {
    http::read_requests(bytes, 1 << 20)
}

/// Wakes the accept thread blocked in `accept`: by connecting to it, and on Linux also by shutting the
/// listening socket down (which makes a blocked `accept` fail), in case the connect cannot be made.
#[allow(unsafe_code)] // libc::shutdown on a descriptor the listener owns.
fn wake_accept(port: u16, listener: Option<&TcpListener>) {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let _ = TcpStream::connect_timeout(&address, Duration::from_secs(1));
    #[cfg(target_os = "linux")]
    if let Some(listener) = listener {
        use std::os::fd::AsRawFd;
        // SAFETY: the descriptor belongs to `listener`, which is alive for the whole call; shutdown
        // neither closes nor frees it.
        unsafe {
            libc::shutdown(listener.as_raw_fd(), libc::SHUT_RDWR);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = listener;
}

fn accept_loop(shared: &Arc<Shared>, listener: TcpListener, max_connections: usize) {
    let mut next_id: u64 = 0;
    loop {
        let accepted = listener.accept();
        if shared.stopping() {
            return;
        }
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors and the like: wait a little rather than spin, then try again.
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        shared.accepted.fetch_add(1, Ordering::Relaxed);
        reap_finished(shared);
        if lock(&shared.conns).len() >= max_connections && !evict_one(shared) {
            refuse_busy(stream);
            continue;
        }
        let Ok(registered) = stream.try_clone() else {
            continue;
        };
        let id = next_id;
        next_id += 1;
        lock(&shared.conns).insert(
            id,
            Conn {
                stream: registered,
                websocket: None,
                activity: Arc::new(Activity::new(shared.clock())),
            },
        );
        let thread_shared = shared.clone();
        let spawned = thread::Builder::new()
            .name(format!("psrv{}-c{id}", shared.number))
            .spawn(move || {
                let _registration = Registration {
                    shared: &thread_shared,
                    id,
                };
                routes::serve_connection(&thread_shared, id, stream);
            });
        match spawned {
            Ok(handle) => lock(&shared.threads).push(handle),
            Err(_) => {
                // No thread, no service: forget the connection, which closes it.
                if let Some(conn) = lock(&shared.conns).remove(&id) {
                    let _ = conn.stream.shutdown(Shutdown::Both);
                }
            }
        }
    }
}

/// Gives up the connection that waits for a request and is least worth keeping (see
/// [`Activity::eviction_rank`]) to make room for a new one; `false` when every connection is busy.
fn evict_one(shared: &Shared) -> bool {
    let mut conns = lock(&shared.conns);
    loop {
        let victim = conns
            .iter()
            .filter_map(|(id, conn)| conn.activity.eviction_rank().map(|rank| (rank, *id)))
            .min();
        let Some((_, id)) = victim else {
            return false;
        };
        let Some(conn) = conns.remove(&id) else {
            return false;
        };
        // It may have turned busy since it was ranked; then it stays, and the next one is tried.
        if conn.activity.evict() {
            let _ = conn.stream.shutdown(Shutdown::Both);
            return true;
        }
        conns.insert(id, conn);
    }
}

/// Joins the threads of connections that have ended, so the list does not grow with every connection.
fn reap_finished(shared: &Shared) {
    let mut threads = lock(&shared.threads);
    let (finished, running): (Vec<_>, Vec<_>) = std::mem::take(&mut *threads)
        .into_iter()
        .partition(JoinHandle::is_finished);
    *threads = running;
    drop(threads);
    for handle in finished {
        let _ = handle.join();
    }
}

/// Answers a connection over the limit with 503, without a thread of its own.
fn refuse_busy(mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
    let response = http::Response::text(503, "too many connections").closing();
    let _ = http::write_response(&mut stream, &response, false, false);
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}
