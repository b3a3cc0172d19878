//! `conversation_messages_stream_identifiers`: the WebSocket stream of message-identifier changes.
//!
//! Three ways to consume it, from the simplest to the most robust:
//!
//! * [`Client::stream_identifiers`] opens one connection and hands out its frames as a blocking
//!   [`IdentifierStream`] (`next`, `next_timeout`, `try_next`, `Iterator`). It ends with the connection.
//! * [`Client::subscribe_identifiers`] runs one background thread that connects, reconnects with
//!   exponential backoff and jitter, and calls a handler with each [`SubscriptionEvent`] in order.
//! * [`Client::subscribe_identifiers_pull`] is the same subscription with the events queued for
//!   [`PullSubscription::next`] and friends, for hosts that must not be called from a foreign thread.
//!
//! # Guarantees of a subscription
//!
//! * Events arrive in order: `Connected`, then `Identifiers` frames (the first after each `Connected`
//!   is the full set, marked `full: true`), then `Disconnected` when the connection is lost, and again
//!   `Connected` when it is back. Exactly one terminal event ends it: `Closed` after a stop, or `Failed`
//!   when attempts ran out or the handler panicked.
//! * `stop` returns promptly: it shuts the socket down and wakes the backoff sleep instead of waiting for a
//!   read timeout. It may be called from any thread, the handler's own included (see [`Stopper`]).
//! * No thread outlives its handle: dropping a [`Subscription`] stops and joins its thread.
//! * A client that discovers PiecesOS (built without a base URL) scans for it again before each
//!   reconnection, so a subscription follows PiecesOS when it restarts on another port; finding nothing is
//!   a `Disconnected` event with [`Error::NotRunning`], and the attempts go on.
//! * A silent connection counts as lost after [`StreamConfig::idle_timeout`]; pings keep a healthy quiet
//!   one alive.
//! * The pull queue holds [`StreamConfig::queue_capacity`] events. When it is full the subscription thread
//!   stops reading the socket until the consumer takes an event (back-pressure), so no event is dropped.
//!
//! [`LiveIds`] keeps the current set of message ids from the events, converging to the server's set after
//! every reconnection.

use std::collections::{BTreeSet, VecDeque};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::HandshakeError;
use tungstenite::protocol::WebSocket;
use tungstenite::Message;

use crate::client::Client;
use crate::config::{split_host_port, strip_prefix_ignore_case, StreamConfig};
use crate::error::{panic_message, Error, Result};
use crate::models::StreamedIdentifiers;

/// The documented operation name, used in errors.
pub(crate) const ENDPOINT: &str = "conversation_messages_stream_identifiers";
const PATH: &str = "/messages/stream/identifiers";

impl Client {
    /// Opens one connection to the identifier stream and returns it as a blocking [`IdentifierStream`].
    ///
    /// The first frame lists every current message; later frames carry what changed. An upgrade the
    /// server refuses is an [`Error::WebSocket`] with its HTTP status (404: this PiecesOS has no stream).
    pub fn stream_identifiers(&self) -> Result<IdentifierStream> {
        let base_url = self.base_url()?;
        let connection = Connection::open(self, &base_url, &self.config().stream, &|_| true)?;
        Ok(IdentifierStream {
            connection,
            ended: false,
        })
    }

    /// Starts a subscription that calls `handler` on its own thread with every [`SubscriptionEvent`],
    /// reconnecting as [`ClientConfig::stream`](crate::ClientConfig::stream) says. See the module
    /// documentation for its guarantees.
    pub fn subscribe_identifiers<F>(&self, handler: F) -> Result<Subscription>
    where
        F: FnMut(SubscriptionEvent) + Send + 'static,
    {
        Subscription::start(self.clone(), Box::new(handler))
    }

    /// Starts a subscription whose events are queued for [`PullSubscription::next`],
    /// [`PullSubscription::next_timeout`] and [`PullSubscription::try_next`].
    pub fn subscribe_identifiers_pull(&self) -> Result<PullSubscription> {
        let queue = Arc::new(Queue::new(self.config().stream.queue_capacity));
        let sink_queue = Arc::clone(&queue);
        let subscription = Subscription::start(self.clone(), Box::new(move |event| sink_queue.push(event)))?;
        queue.attach(Arc::clone(&subscription.shared));
        Ok(PullSubscription { subscription, queue })
    }
}

/// The `ws://` URL of the identifier stream for an `http://` base URL.
fn stream_url(base_url: &str) -> Result<String> {
    let refuse = |reason: &str| Error::WebSocket {
        url: base_url.to_owned(),
        status: None,
        reason: reason.to_owned(),
    };
    if let Some(rest) = strip_prefix_ignore_case(base_url, "http://") {
        Ok(format!("ws://{rest}{PATH}"))
    } else if strip_prefix_ignore_case(base_url, "https://").is_some() {
        Err(refuse("wss:// needs TLS, which this build does not include"))
    } else {
        Err(refuse("the base URL is not http://"))
    }
}

/// The host and port of a `ws://` URL, for dialing (port 80 when the URL names none).
fn authority(ws_url: &str) -> (&str, u16) {
    let rest = &ws_url["ws://".len()..];
    let authority = rest.split('/').next().unwrap_or(rest);
    // The base URL was validated by ClientConfig with this same split, so it succeeds here.
    let (host, port) = split_host_port(authority).unwrap_or((authority, None));
    (host, port.and_then(|port| port.parse().ok()).unwrap_or(80))
}

/// What one read of the connection produced.
enum Read {
    Frame(StreamedIdentifiers),
    /// The deadline passed with no frame.
    Nothing,
    /// The server ended the connection with a close frame.
    Closed,
}

/// One open WebSocket connection with its liveness bookkeeping.
struct Connection {
    socket: WebSocket<TcpStream>,
    url: String,
    ping_interval: Duration,
    idle_timeout: Duration,
    last_heard: Instant,
    last_ping: Instant,
    nonblocking: bool,
}

impl Connection {
    /// Dials the stream of the PiecesOS at `base_url` (within the connect timeout), lets `register` keep
    /// a handle for shutdown (`false` aborts: a stop was requested), then upgrades.
    fn open(
        client: &Client,
        base_url: &str,
        config: &StreamConfig,
        register: &dyn Fn(&TcpStream) -> bool,
    ) -> Result<Self> {
        let url = stream_url(base_url)?;
        let client_config = client.config();
        let connect_timeout = client_config.connect_timeout;
        let tcp = dial(&url, connect_timeout)?;
        if !register(&tcp) {
            return Err(stopped(&url));
        }
        let websocket_error = |reason: String| Error::WebSocket {
            url: url.clone(),
            status: None,
            reason,
        };
        // The handshake is bounded like a connect; afterwards reads are timed by `read` itself.
        tcp.set_read_timeout(Some(connect_timeout))
            .and_then(|()| tcp.set_write_timeout(Some(connect_timeout)))
            .and_then(|()| tcp.set_nodelay(true))
            .map_err(|err| websocket_error(err.to_string()))?;
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|err| websocket_error(err.to_string()))?;
        if let Some(id) = &client_config.application_id {
            let name = tungstenite::http::HeaderName::from_bytes(client_config.api_key_header.as_bytes());
            let value = tungstenite::http::HeaderValue::from_str(id);
            match (name, value) {
                (Ok(name), Ok(value)) => {
                    request.headers_mut().insert(name, value);
                }
                _ => return Err(websocket_error("the API key header cannot be sent".to_owned())),
            }
        }
        let (socket, _response) = tungstenite::client(request, tcp).map_err(|err| match err {
            HandshakeError::Interrupted(_) => Error::Timeout {
                url: url.clone(),
                after: Some(connect_timeout),
            },
            HandshakeError::Failure(tungstenite::Error::Http(response)) => {
                let status = response.status().as_u16();
                let body = response
                    .body()
                    .as_deref()
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                let meaning = if status == 404 {
                    " (this PiecesOS has no identifier stream)"
                } else {
                    ""
                };
                Error::WebSocket {
                    url: url.clone(),
                    status: Some(status),
                    reason: format!("the server refused the upgrade with HTTP {status}{meaning}: {body}")
                        .trim_end_matches(": ")
                        .to_owned(),
                }
            }
            HandshakeError::Failure(other) => websocket_error(describe(&other)),
        })?;
        // A peer that stops reading must not hang a ping forever.
        socket
            .get_ref()
            .set_write_timeout(Some(config.idle_timeout))
            .map_err(|err| websocket_error(err.to_string()))?;
        let now = Instant::now();
        Ok(Connection {
            socket,
            url,
            ping_interval: config.ping_interval,
            idle_timeout: config.idle_timeout,
            last_heard: now,
            last_ping: now,
            nonblocking: false,
        })
    }

    /// Reads until a frame arrives, the server closes, the connection fails or goes silent for longer
    /// than the idle limit, or `deadline` passes (at least one read is tried, even for a past deadline).
    fn read(&mut self, deadline: Option<Instant>) -> Result<Read> {
        let mut tried = false;
        loop {
            let now = Instant::now();
            let quiet_since = self.last_heard.max(self.last_ping);
            if now.duration_since(self.last_heard) >= self.idle_timeout {
                return Err(self.error(format!(
                    "nothing heard for {} ms; the connection counts as lost",
                    self.idle_timeout.as_millis()
                )));
            }
            if now.duration_since(quiet_since) >= self.ping_interval {
                self.socket
                    .send(Message::Ping(Vec::new().into()))
                    .map_err(|err| self.error(describe(&err)))?;
                self.last_ping = now;
            }
            if tried && deadline.is_some_and(|d| now >= d) {
                return Ok(Read::Nothing);
            }
            tried = true;
            let next_ping = self.last_heard.max(self.last_ping) + self.ping_interval;
            let mut wake_at = next_ping.min(self.last_heard + self.idle_timeout);
            if let Some(deadline) = deadline {
                wake_at = wake_at.min(deadline);
            }
            self.set_wait(wake_at.saturating_duration_since(now))?;
            match self.socket.read() {
                Ok(Message::Text(text)) => {
                    self.last_heard = Instant::now();
                    return self.decode(text.as_bytes()).map(Read::Frame);
                }
                Ok(Message::Binary(bytes)) => {
                    self.last_heard = Instant::now();
                    return self.decode(&bytes).map(Read::Frame);
                }
                // Pings, pongs and the server's close frame all prove the peer alive; tungstenite queues
                // the answers to pings and close frames and writes them with the next read or flush.
                Ok(_) => self.last_heard = Instant::now(),
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    return Ok(Read::Closed)
                }
                Err(tungstenite::Error::Io(err))
                    if matches!(
                        err.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(err) => return Err(self.error(describe(&err))),
            }
        }
    }

    /// Waits at most `wait` in the next read; zero means a read that does not block at all.
    fn set_wait(&mut self, wait: Duration) -> Result<()> {
        let tcp = self.socket.get_ref();
        let result = if wait.is_zero() {
            self.nonblocking = true;
            tcp.set_nonblocking(true)
        } else {
            let was_nonblocking = std::mem::replace(&mut self.nonblocking, false);
            let unblocked = if was_nonblocking {
                tcp.set_nonblocking(false)
            } else {
                Ok(())
            };
            unblocked.and_then(|()| tcp.set_read_timeout(Some(wait)))
        };
        result.map_err(|err| self.error(err.to_string()))
    }

    fn decode(&self, frame: &[u8]) -> Result<StreamedIdentifiers> {
        serde_json::from_slice(frame).map_err(|err| Error::decode(ENDPOINT, &err))
    }

    fn error(&self, reason: String) -> Error {
        Error::WebSocket {
            url: self.url.clone(),
            status: None,
            reason,
        }
    }

    /// Says goodbye with a close frame if the peer is still there; never blocks for long.
    fn close(&mut self) {
        let _ = self
            .socket
            .get_ref()
            .set_write_timeout(Some(Duration::from_millis(100)));
        let _ = self.socket.close(None);
        let _ = self.socket.flush();
    }
}

/// Connects to the first address of the URL's host that answers within `timeout`.
fn dial(url: &str, timeout: Duration) -> Result<TcpStream> {
    let (host, port) = authority(url);
    let connection = |reason: String| Error::Connection {
        url: url.to_owned(),
        reason,
    };
    let addresses = (host, port)
        .to_socket_addrs()
        .map_err(|err| connection(format!("cannot resolve {host}: {err}")))?;
    let mut last_error = connection(format!("{host} resolves to no address"));
    for address in addresses {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(stream) => return Ok(stream),
            Err(err) if err.kind() == std::io::ErrorKind::TimedOut => {
                last_error = Error::Timeout {
                    url: url.to_owned(),
                    after: Some(timeout),
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionRefused => {
                last_error = connection("connection refused".to_owned())
            }
            Err(err) => last_error = connection(err.to_string()),
        }
    }
    Err(last_error)
}

fn describe(err: &tungstenite::Error) -> String {
    use tungstenite::error::ProtocolError;
    match err {
        tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            "the server cut the connection without a close frame".to_owned()
        }
        tungstenite::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionReset => {
            "the server cut the connection (reset) without a close frame".to_owned()
        }
        tungstenite::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the server cut the connection without a close frame".to_owned()
        }
        other => other.to_string(),
    }
}

fn stopped(url: &str) -> Error {
    Error::WebSocket {
        url: url.to_owned(),
        status: None,
        reason: "the subscription was stopped".to_owned(),
    }
}

/// One connection's frames, read on the calling thread. Made by [`Client::stream_identifiers`].
///
/// It does not reconnect: when the connection ends, so does the stream (a subscription reconnects).
pub struct IdentifierStream {
    connection: Connection,
    ended: bool,
}

impl std::fmt::Debug for IdentifierStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentifierStream")
            .field("url", &self.connection.url)
            .field("ended", &self.ended)
            .finish()
    }
}

impl IdentifierStream {
    /// The `ws://` URL this stream is connected to.
    pub fn url(&self) -> &str {
        &self.connection.url
    }

    /// Whether the stream has ended (closed by the server, or failed).
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// Waits up to `timeout` for the next frame: `Ok(None)` when none arrived in time. A stream the
    /// server closed, or one that failed, answers with an [`Error::WebSocket`].
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<StreamedIdentifiers>> {
        self.read(Some(Instant::now() + timeout))
    }

    /// The next frame if one has already arrived, without blocking.
    pub fn try_next(&mut self) -> Result<Option<StreamedIdentifiers>> {
        self.read(Some(Instant::now()))
    }

    /// Sends a close frame and ends the stream.
    pub fn close(mut self) {
        self.connection.close();
    }

    fn read(&mut self, deadline: Option<Instant>) -> Result<Option<StreamedIdentifiers>> {
        if self.ended {
            return Err(self.connection.error("the stream has ended".to_owned()));
        }
        match self.connection.read(deadline) {
            Ok(Read::Frame(frame)) => Ok(Some(frame)),
            Ok(Read::Nothing) => Ok(None),
            Ok(Read::Closed) => {
                self.ended = true;
                Err(self.connection.error("the server closed the stream".to_owned()))
            }
            Err(err) => {
                self.ended = true;
                Err(err)
            }
        }
    }
}

impl Iterator for IdentifierStream {
    type Item = Result<StreamedIdentifiers>;

    /// Blocks until the next frame. `None` once the server has closed the stream or an error was returned.
    fn next(&mut self) -> Option<Self::Item> {
        if self.ended {
            return None;
        }
        match self.connection.read(None) {
            Ok(Read::Frame(frame)) => Some(Ok(frame)),
            Ok(Read::Nothing) => unreachable!("a read without a deadline only ends with a frame or an end"),
            Ok(Read::Closed) => {
                self.ended = true;
                None
            }
            Err(err) => {
                self.ended = true;
                Some(Err(err))
            }
        }
    }
}

/// What a subscription delivers, in order. Exactly one terminal event (`Closed` or `Failed`) ends it.
#[derive(Debug)]
#[non_exhaustive]
pub enum SubscriptionEvent {
    /// A connection is open; the next `Identifiers` is the full set.
    Connected {
        /// The `ws://` URL connected to.
        url: String,
    },
    /// One frame of the stream.
    Identifiers {
        /// The frame, lossless.
        frame: StreamedIdentifiers,
        /// `true` for the first frame of a connection, which lists every current message; `false` for a
        /// frame of changes.
        full: bool,
    },
    /// The connection was lost or could not be made; the next attempt comes after `retry_in`.
    Disconnected {
        /// Why.
        error: Error,
        /// The delay before the next attempt.
        retry_in: Duration,
    },
    /// Terminal: the subscription was stopped.
    Closed,
    /// Terminal: the subscription gave up (attempts ran out) or its handler panicked.
    Failed {
        /// Why.
        error: Error,
    },
}

impl SubscriptionEvent {
    /// The JSON form of this event, `type` first, as the C API and `pieces-messages watch --json` hand
    /// it out: `{"type":"connected","url":…}`, `{"type":"identifiers","full":…,"data":<StreamedIdentifiers>}`,
    /// `{"type":"disconnected","error":{…},"retry_in_ms":…}`, `{"type":"closed"}`,
    /// `{"type":"error","error":{…}}`; errors in their [`Error::to_json`] form.
    ///
    /// Fails only if a frame's `extra` map repeats a key its model types, which cannot be written.
    pub fn to_json(&self) -> Result<String> {
        let text = match self {
            SubscriptionEvent::Connected { url } => {
                format!(
                    r#"{{"type":"connected","url":{}}}"#,
                    serde_json::Value::from(url.as_str())
                )
            }
            SubscriptionEvent::Identifiers { frame, full } => {
                // The frame is written straight from its lossless model, keys in the model's order.
                let data = serde_json::to_string(frame).map_err(|err| Error::Decode {
                    endpoint: ENDPOINT,
                    message: format!("the frame cannot be written as JSON: {err}"),
                    line: 0,
                    column: 0,
                })?;
                format!(r#"{{"type":"identifiers","full":{full},"data":{data}}}"#)
            }
            SubscriptionEvent::Disconnected { error, retry_in } => format!(
                r#"{{"type":"disconnected","error":{},"retry_in_ms":{}}}"#,
                error.to_json(),
                retry_in.as_millis()
            ),
            SubscriptionEvent::Closed => r#"{"type":"closed"}"#.to_owned(),
            SubscriptionEvent::Failed { error } => {
                format!(r#"{{"type":"error","error":{}}}"#, error.to_json())
            }
        };
        Ok(text)
    }

    /// Whether this is the terminal event (`Closed` or `Failed`).
    pub fn is_terminal(&self) -> bool {
        matches!(self, SubscriptionEvent::Closed | SubscriptionEvent::Failed { .. })
    }
}

/// What `stop` and the subscription thread share.
struct Shared {
    /// Also read without the lock, by the hot paths that only need to know.
    stop_requested: AtomicBool,
    state: Mutex<State>,
    /// Wakes the backoff sleep and the pull queue's back-pressure wait.
    wake: Condvar,
    thread_id: Mutex<Option<ThreadId>>,
}

struct State {
    stopped: bool,
    /// A handle on the current connection's socket, so `stop` can shut it down under a blocked read.
    socket: Option<TcpStream>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave State inconsistent (two plain fields).
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn is_stopped(&self) -> bool {
        self.stop_requested.load(Ordering::Acquire)
    }

    fn request_stop(&self) {
        let mut state = self.lock();
        state.stopped = true;
        self.stop_requested.store(true, Ordering::Release);
        if let Some(socket) = state.socket.take() {
            let _ = socket.shutdown(Shutdown::Both);
        }
        drop(state);
        self.wake.notify_all();
    }

    /// Keeps a handle on a new connection's socket; `false` when a stop came first.
    fn register(&self, socket: &TcpStream) -> bool {
        let mut state = self.lock();
        if state.stopped {
            return false;
        }
        state.socket = socket.try_clone().ok();
        true
    }

    fn unregister(&self) {
        self.lock().socket = None;
    }

    /// Sleeps for `delay` unless a stop comes first; returns whether it was stopped.
    fn sleep(&self, delay: Duration) -> bool {
        let state = self.lock();
        let (state, _) = self
            .wake
            .wait_timeout_while(state, delay, |state| !state.stopped)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.stopped
    }
}

/// A running subscription to the identifier stream with a handler. Made by
/// [`Client::subscribe_identifiers`]. Dropping it stops it and joins its thread.
pub struct Subscription {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("stopped", &self.shared.is_stopped())
            .finish()
    }
}

/// Stops a subscription from anywhere, its own handler included. Cheap to clone; see
/// [`Subscription::stopper`].
#[derive(Clone)]
pub struct Stopper {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Stopper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stopper").finish_non_exhaustive()
    }
}

impl Stopper {
    /// Asks the subscription to stop and returns at once; the thread then delivers `Closed` and ends.
    pub fn stop(&self) {
        self.shared.request_stop();
    }
}

/// What the subscription thread delivers events into.
type Sink = Box<dyn FnMut(SubscriptionEvent) + Send>;

impl Subscription {
    fn start(client: Client, sink: Sink) -> Result<Self> {
        let shared = Arc::new(Shared {
            stop_requested: AtomicBool::new(false),
            state: Mutex::new(State {
                stopped: false,
                socket: None,
            }),
            wake: Condvar::new(),
            thread_id: Mutex::new(None),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = thread::Builder::new()
            .name("pieces-identifiers".to_owned())
            .spawn(move || run(client, thread_shared, sink))
            .map_err(|err| Error::invalid_input("subscription", format!("cannot start its thread: {err}")))?;
        Ok(Subscription {
            shared,
            thread: Some(thread),
        })
    }

    /// A [`Stopper`] for this subscription, to move into its handler or another thread.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Whether a stop has been asked for.
    pub fn is_stopped(&self) -> bool {
        self.shared.is_stopped()
    }

    /// Stops the subscription and, unless called from its own handler, waits for its thread to end
    /// (after the terminal event). Returns promptly: the socket is shut down and the backoff sleep woken.
    pub fn stop(&mut self) {
        self.shared.request_stop();
        if self.on_own_thread() {
            return;
        }
        if let Some(thread) = self.thread.take() {
            // The thread catches the handler's panics itself, so a join error cannot carry one.
            let _ = thread.join();
        }
    }

    fn on_own_thread(&self) -> bool {
        *self.shared.thread_id.lock().unwrap_or_else(|p| p.into_inner()) == Some(thread::current().id())
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The subscription thread: connect, read, reconnect, until stopped or out of attempts.
fn run(client: Client, shared: Arc<Shared>, mut sink: Sink) {
    // Recorded before the first event, so a handler that drops or stops its subscription is recognised.
    *shared.thread_id.lock().unwrap_or_else(|p| p.into_inner()) = Some(thread::current().id());
    let config = client.config().stream.clone();
    let mut deliver = |event: SubscriptionEvent| -> Result<()> {
        catch_unwind(AssertUnwindSafe(|| sink(event))).map_err(|panic| Error::HandlerPanicked {
            message: panic_message(panic.as_ref()),
        })
    };
    let mut backoff = Backoff::new(&config);
    // The base URL that last failed: a client that discovers PiecesOS scans again before the next attempt,
    // since a restarted PiecesOS may listen on another port.
    let mut failed_url: Option<String> = None;
    let terminal = 'subscription: loop {
        if shared.is_stopped() {
            break SubscriptionEvent::Closed;
        }
        let opened = client
            .base_url_after(failed_url.take().as_deref(), Some(&shared.stop_requested))
            .and_then(|base_url| {
                let opened = Connection::open(&client, &base_url, &config, &|tcp| shared.register(tcp));
                // Kept for a connection that opens too: it is the one to replace once it is lost.
                failed_url = Some(base_url);
                opened
            });
        let lost = match opened {
            Ok(mut connection) => {
                backoff.reset();
                if let Err(error) = deliver(SubscriptionEvent::Connected {
                    url: connection.url.clone(),
                }) {
                    break SubscriptionEvent::Failed { error };
                }
                let mut full = true;
                let lost = loop {
                    let error = match connection.read(None) {
                        Ok(Read::Frame(frame)) => {
                            if shared.is_stopped() {
                                break None;
                            }
                            if let Err(error) = deliver(SubscriptionEvent::Identifiers { frame, full }) {
                                break 'subscription SubscriptionEvent::Failed { error };
                            }
                            full = false;
                            continue;
                        }
                        Ok(Read::Nothing) => continue,
                        Ok(Read::Closed) => connection.error("the server closed the stream".to_owned()),
                        Err(error) => error,
                    };
                    break Some(error);
                };
                shared.unregister();
                if shared.is_stopped() {
                    connection.close();
                }
                lost
            }
            Err(error) => {
                // A stop that interrupted this attempt is a stop, not an attempt that failed.
                if shared.is_stopped() {
                    break SubscriptionEvent::Closed;
                }
                if backoff.exhausted() {
                    break SubscriptionEvent::Failed { error };
                }
                Some(error)
            }
        };
        let Some(error) = lost.filter(|_| !shared.is_stopped()) else {
            break SubscriptionEvent::Closed;
        };
        let retry_in = backoff.next_delay();
        if let Err(error) = deliver(SubscriptionEvent::Disconnected { error, retry_in }) {
            break SubscriptionEvent::Failed { error };
        }
        if shared.sleep(retry_in) {
            break SubscriptionEvent::Closed;
        }
    };
    shared.unregister();
    // The terminal event is delivered even to a handler that panicked before; a second panic is dropped.
    let _ = deliver(terminal);
}

/// Exponential backoff with ±20 % jitter, counting failed attempts in a row.
struct Backoff {
    initial: Duration,
    max: Duration,
    max_attempts: Option<u32>,
    failures: u32,
    next: Duration,
}

impl Backoff {
    fn new(config: &StreamConfig) -> Self {
        Backoff {
            initial: config.retry_initial,
            max: config.retry_max,
            max_attempts: config.max_attempts,
            failures: 0,
            next: config.retry_initial,
        }
    }

    fn reset(&mut self) {
        self.failures = 0;
        self.next = self.initial;
    }

    /// Counts one failed attempt; `true` when that was the last one allowed.
    fn exhausted(&mut self) -> bool {
        self.failures += 1;
        self.max_attempts.is_some_and(|max| self.failures >= max)
    }

    fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        // Jitter keeps many clients of one restarted PiecesOS from reconnecting in lockstep.
        let factor = 0.8 + 0.4 * random_unit();
        base.mul_f64(factor).min(self.max)
    }
}

/// A number in [0, 1) from the standard library's randomly keyed hasher; plenty for jitter.
fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(Instant::now().elapsed().as_nanos());
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// A subscription whose events wait in a bounded queue for the consumer. Made by
/// [`Client::subscribe_identifiers_pull`]. All methods take `&self`, so one thread may wait in `next`
/// while another calls `stop`. Dropping it stops it and joins its thread.
pub struct PullSubscription {
    subscription: Subscription,
    queue: Arc<Queue>,
}

impl std::fmt::Debug for PullSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullSubscription")
            .field("stopped", &self.subscription.is_stopped())
            .finish()
    }
}

impl PullSubscription {
    /// Blocks until the next event; `None` once the terminal event has been taken.
    pub fn next(&self) -> Option<SubscriptionEvent> {
        self.queue.pop(None).ok()
    }

    /// Waits up to `timeout` for the next event. `Err(Timeout)`: nothing arrived in time;
    /// `Err(Disconnected)`: the terminal event has already been taken.
    pub fn next_timeout(
        &self,
        timeout: Duration,
    ) -> std::result::Result<SubscriptionEvent, RecvTimeoutError> {
        self.queue.pop(Some(Instant::now() + timeout))
    }

    /// The next event if one is waiting. `Err(Empty)`: none yet; `Err(Disconnected)`: the terminal
    /// event has already been taken.
    pub fn try_next(&self) -> std::result::Result<SubscriptionEvent, TryRecvError> {
        self.queue.pop(Some(Instant::now())).map_err(|err| match err {
            RecvTimeoutError::Timeout => TryRecvError::Empty,
            RecvTimeoutError::Disconnected => TryRecvError::Disconnected,
        })
    }

    /// Asks the subscription to stop and returns at once. The terminal `Closed` event follows in the
    /// queue; events not yet taken stay there.
    pub fn stop(&self) {
        self.subscription.shared.request_stop();
    }

    /// A [`Stopper`] for this subscription.
    pub fn stopper(&self) -> Stopper {
        self.subscription.stopper()
    }
}

impl Iterator for &PullSubscription {
    type Item = SubscriptionEvent;

    fn next(&mut self) -> Option<SubscriptionEvent> {
        PullSubscription::next(self)
    }
}

/// The pull queue: bounded for ordinary events, with room always kept for the terminal one.
struct Queue {
    state: Mutex<QueueState>,
    arrived: Condvar,
    capacity: usize,
    /// The subscription's shared state, so a producer waiting for room wakes on stop.
    subscription: Mutex<Option<Arc<Shared>>>,
}

struct QueueState {
    events: VecDeque<SubscriptionEvent>,
    /// The terminal event has been taken by the consumer.
    finished: bool,
}

impl Queue {
    fn new(capacity: usize) -> Self {
        Queue {
            state: Mutex::new(QueueState {
                events: VecDeque::new(),
                finished: false,
            }),
            arrived: Condvar::new(),
            capacity,
            subscription: Mutex::new(None),
        }
    }

    fn attach(&self, shared: Arc<Shared>) {
        *self.subscription.lock().unwrap_or_else(|p| p.into_inner()) = Some(shared);
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn stop_requested(&self) -> bool {
        let shared = self.subscription.lock().unwrap_or_else(|p| p.into_inner());
        shared.as_ref().is_some_and(|s| s.is_stopped())
    }

    /// Called on the subscription thread. Waits while the queue is full (back-pressure) unless a stop was
    /// asked for; after a stop only the terminal event is still queued.
    fn push(&self, event: SubscriptionEvent) {
        let terminal = event.is_terminal();
        let mut state = self.lock();
        while !terminal && state.events.len() >= self.capacity {
            if self.stop_requested() {
                return;
            }
            // Short waits, so a stop (signalled on the subscription's own condvar) is seen promptly.
            state = self
                .arrived
                .wait_timeout(state, Duration::from_millis(5))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        if !terminal && self.stop_requested() {
            return;
        }
        state.events.push_back(event);
        drop(state);
        self.arrived.notify_all();
    }

    fn pop(&self, deadline: Option<Instant>) -> std::result::Result<SubscriptionEvent, RecvTimeoutError> {
        let mut state = self.lock();
        loop {
            if let Some(event) = state.events.pop_front() {
                if event.is_terminal() {
                    state.finished = true;
                }
                drop(state);
                // A producer may be waiting for room.
                self.arrived.notify_all();
                return Ok(event);
            }
            if state.finished {
                return Err(RecvTimeoutError::Disconnected);
            }
            state = match deadline {
                None => self.arrived.wait(state).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(RecvTimeoutError::Timeout);
                    }
                    self.arrived
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
    }
}

/// The current set of message ids, kept from a subscription's events.
///
/// A full frame (the first of each connection) replaces the set; later frames add ids and remove the
/// ones marked deleted. After any drop and reconnection the next full frame makes it equal to the
/// server's set again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveIds {
    ids: BTreeSet<String>,
}

impl LiveIds {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies an event; returns whether the set changed. Events other than `Identifiers` change nothing.
    pub fn apply(&mut self, event: &SubscriptionEvent) -> bool {
        match event {
            SubscriptionEvent::Identifiers { frame, full } => self.apply_frame(frame, *full),
            _ => false,
        }
    }

    /// Applies one frame; `full` replaces the set. Returns whether the set changed.
    pub fn apply_frame(&mut self, frame: &StreamedIdentifiers, full: bool) -> bool {
        let before = if full {
            Some(std::mem::take(&mut self.ids))
        } else {
            None
        };
        let mut changed = false;
        for item in &frame.iterable {
            let Some(id) = item.message_id() else { continue };
            changed |= if item.is_deleted() {
                self.ids.remove(id)
            } else {
                self.ids.insert(id.to_owned())
            };
        }
        match before {
            Some(before) => before != self.ids,
            None => changed,
        }
    }

    /// The ids, sorted.
    pub fn ids(&self) -> &BTreeSet<String> {
        &self.ids
    }

    /// Whether `id` is in the set.
    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// How many ids the set holds.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_url_follows_the_base_url() {
        assert_eq!(
            stream_url("http://127.0.0.1:39300").unwrap(),
            "ws://127.0.0.1:39300/messages/stream/identifiers"
        );
        assert_eq!(
            stream_url("HTTP://[::1]:1000/base").unwrap(),
            "ws://[::1]:1000/base/messages/stream/identifiers"
        );
        assert!(stream_url("https://pieces.local").is_err());
        assert_eq!(authority("ws://127.0.0.1:39300/messages"), ("127.0.0.1", 39300));
        assert_eq!(authority("ws://[::1]:1000/x"), ("::1", 1000));
        assert_eq!(authority("ws://[::1]/x"), ("::1", 80));
        assert_eq!(authority("ws://localhost/x"), ("localhost", 80));
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_maximum_and_counts_attempts() {
        let config = StreamConfig::default()
            .with_retry(Duration::from_millis(100), Duration::from_millis(1000))
            .with_max_attempts(Some(3));
        let mut backoff = Backoff::new(&config);
        let delays: Vec<Duration> = (0..6).map(|_| backoff.next_delay()).collect();
        for (delay, base) in delays.iter().zip([100u64, 200, 400, 800, 1000, 1000]) {
            let base = Duration::from_millis(base);
            assert!(
                *delay >= base.mul_f64(0.8) && *delay <= base.mul_f64(1.2).min(Duration::from_millis(1000))
            );
        }
        assert!(!backoff.exhausted());
        assert!(!backoff.exhausted());
        assert!(backoff.exhausted());
        backoff.reset();
        assert!(!backoff.exhausted());
        assert!(backoff.next_delay() <= Duration::from_millis(120));
    }

    #[test]
    fn live_ids_replace_on_full_frames_and_follow_changes() {
        let frame = |json: &str| serde_json::from_str::<StreamedIdentifiers>(json).unwrap();
        let mut live = LiveIds::new();
        assert!(live.apply_frame(
            &frame(r#"{"iterable":[{"conversationMessage":{"id":"a"}},{"conversationMessage":{"id":"b"}}]}"#),
            true
        ));
        assert!(live.apply_frame(
            &frame(r#"{"iterable":[{"conversationMessage":{"id":"c"}}]}"#),
            false
        ));
        assert!(live.apply_frame(
            &frame(r#"{"iterable":[{"conversationMessage":{"id":"a"},"deleted":true}]}"#),
            false
        ));
        assert_eq!(
            live.ids().iter().map(String::as_str).collect::<Vec<_>>(),
            ["b", "c"]
        );
        // A full frame with the same set changes nothing; one with another set replaces it.
        assert!(!live.apply_frame(
            &frame(r#"{"iterable":[{"conversationMessage":{"id":"b"}},{"conversationMessage":{"id":"c"}}]}"#),
            true
        ));
        assert!(live.apply_frame(
            &frame(r#"{"iterable":[{"conversationMessage":{"id":"z"}}]}"#),
            true
        ));
        assert_eq!(live.len(), 1);
        assert!(live.contains("z"));
        // Items of other kinds are not messages.
        assert!(!live.apply_frame(&frame(r#"{"iterable":[{"asset":{"id":"q"}}]}"#), false));
    }

    #[test]
    fn the_queue_keeps_order_and_ends_after_the_terminal_event() {
        let queue = Queue::new(2);
        queue.push(SubscriptionEvent::Connected { url: "ws://x".into() });
        queue.push(SubscriptionEvent::Closed);
        assert!(matches!(
            queue.pop(Some(Instant::now())),
            Ok(SubscriptionEvent::Connected { .. })
        ));
        assert!(matches!(
            queue.pop(Some(Instant::now())),
            Ok(SubscriptionEvent::Closed)
        ));
        assert!(matches!(
            queue.pop(Some(Instant::now())),
            Err(RecvTimeoutError::Disconnected)
        ));
    }

    #[test]
    fn a_full_queue_applies_back_pressure_and_loses_nothing() {
        let queue = Arc::new(Queue::new(1));
        let producer = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || {
                for n in 0..5 {
                    queue.push(SubscriptionEvent::Connected {
                        url: format!("ws://{n}"),
                    });
                }
                queue.push(SubscriptionEvent::Closed);
            })
        };
        let mut urls = Vec::new();
        loop {
            match queue.pop(Some(Instant::now() + Duration::from_secs(10))) {
                Ok(SubscriptionEvent::Connected { url }) => urls.push(url),
                Ok(SubscriptionEvent::Closed) => break,
                other => panic!("unexpected {other:?}"),
            }
            // Room is always kept for the terminal event, so only the others count against capacity.
            let waiting = queue.lock().events.iter().filter(|e| !e.is_terminal()).count();
            assert!(waiting <= 1);
        }
        producer.join().unwrap();
        assert_eq!(urls, ["ws://0", "ws://1", "ws://2", "ws://3", "ws://4"]);
    }
}
