//! One WebSocket connection to the identifier stream: dialing within the connect timeout, the upgrade,
//! and reads that keep the connection's liveness (pings on a quiet connection, an idle limit).
//!
//! Every blocking step has a bound: the dial (the connect timeout), the whole upgrade (the connect
//! timeout again, however slowly the answer drips in), and every read ([`Timed`] gives each socket read
//! only the time left before the read's deadline, however many socket reads one WebSocket message takes).

use std::io::{self, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::HandshakeError;
use tungstenite::protocol::WebSocket;
use tungstenite::Message;

use crate::client::Client;
use crate::config::StreamConfig;
use crate::error::{clip, Error, Result};
use crate::models::StreamedIdentifiers;
use crate::operation::MESSAGES_STREAM_IDENTIFIERS;
use crate::url::{websocket_authority, websocket_url};
use crate::wire;

/// The `ws://` URL of the identifier stream for an `http://` base URL.
fn stream_url(base_url: &str) -> Result<String> {
    websocket_url(base_url, MESSAGES_STREAM_IDENTIFIERS.path)
        .map_err(|reason| Error::websocket(base_url, reason, None))
}

/// What one read of the connection produced.
pub(super) enum Read {
    Frame(StreamedIdentifiers),
    /// The deadline passed with no frame.
    Nothing,
    /// The server ended the connection with a close frame.
    Closed,
}

/// The TCP stream under a WebSocket, with a deadline that bounds every read of it.
///
/// A socket read timeout alone bounds one `read` call, but one WebSocket message (or the upgrade answer)
/// may take any number of them: a server that drips its bytes just inside the timeout would hold the
/// reader for as long as it likes. Here each socket read waits at most until the deadline, and once the
/// deadline has passed only one read that does not wait at all is still tried (so that a `try_next` sees
/// what has already arrived); after it, reads fail with `WouldBlock`, which tungstenite treats as "no
/// more yet" and resumes from on the next call.
pub(super) struct Timed {
    tcp: TcpStream,
    deadline: Option<Instant>,
    /// The one read allowed past the deadline has been made.
    polled: bool,
    nonblocking: bool,
}

impl Timed {
    fn new(tcp: TcpStream) -> Self {
        Timed {
            tcp,
            deadline: None,
            polled: false,
            nonblocking: false,
        }
    }

    /// Bounds the reads from now on by `deadline`.
    fn arm(&mut self, deadline: Instant) {
        self.deadline = Some(deadline);
        self.polled = false;
    }

    fn set_nonblocking(&mut self, nonblocking: bool) -> io::Result<()> {
        if self.nonblocking != nonblocking {
            self.tcp.set_nonblocking(nonblocking)?;
            self.nonblocking = nonblocking;
        }
        Ok(())
    }
}

impl io::Read for Timed {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let left = self
            .deadline
            .map(|deadline| deadline.saturating_duration_since(Instant::now()));
        match left {
            Some(left) if left.is_zero() => {
                if std::mem::replace(&mut self.polled, true) {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                self.set_nonblocking(true)?;
            }
            left => {
                self.set_nonblocking(false)?;
                self.tcp.set_read_timeout(left)?;
            }
        }
        io::Read::read(&mut self.tcp, buffer)
    }
}

impl Write for Timed {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        // Writes block (each bounded by the socket's write timeout) even after a read that did not.
        self.set_nonblocking(false)?;
        self.tcp.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// One open WebSocket connection with its liveness bookkeeping.
pub(super) struct Connection {
    socket: WebSocket<Timed>,
    pub(super) url: String,
    ping_interval: Duration,
    idle_timeout: Duration,
    last_heard: Instant,
    last_ping: Instant,
}

impl Connection {
    /// Dials the stream of the PiecesOS at `base_url` (within the connect timeout), lets `register` keep
    /// a handle for shutdown (`false` aborts: a stop was requested), then upgrades, the whole upgrade
    /// within the connect timeout too.
    pub(super) fn open(
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
        let socket_error = |err: std::io::Error| Error::websocket(&url, err.to_string(), Some(Box::new(err)));
        // The whole handshake is bounded like a connect; afterwards reads are timed by `read` itself.
        tcp.set_write_timeout(Some(connect_timeout))
            .and_then(|()| tcp.set_nodelay(true))
            .map_err(socket_error)?;
        let mut timed = Timed::new(tcp);
        timed.arm(Instant::now() + connect_timeout);
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|err| Error::websocket(&url, err.to_string(), Some(Box::new(err))))?;
        if let Some(id) = &client_config.application_id {
            let name = tungstenite::http::HeaderName::from_bytes(client_config.api_key_header.as_bytes());
            let value = tungstenite::http::HeaderValue::from_str(id);
            match (name, value) {
                (Ok(name), Ok(value)) => {
                    request.headers_mut().insert(name, value);
                }
                _ => return Err(Error::websocket(&url, "the API key header cannot be sent", None)),
            }
        }
        let (socket, _response) = tungstenite::client(request, timed).map_err(|err| match err {
            HandshakeError::Interrupted(_) => Error::Timeout {
                url: url.clone(),
                after: Some(connect_timeout),
            },
            HandshakeError::Failure(tungstenite::Error::Http(response)) => {
                let status = response.status().as_u16();
                // What arrived of the body with the head; an error keeps at most MAX_SERVER_TEXT_BYTES of it.
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
                let reason = format!("the server refused the upgrade with HTTP {status}{meaning}: {body}");
                Error::WebSocket {
                    url: url.clone(),
                    status: Some(status),
                    reason: clip(reason.trim_end_matches(": ").to_owned()),
                    source: None,
                }
            }
            HandshakeError::Failure(other) => Error::websocket(&url, describe(&other), Some(Box::new(other))),
        })?;
        // A peer that stops reading must not hang a ping forever.
        socket
            .get_ref()
            .tcp
            .set_write_timeout(Some(config.idle_timeout))
            .map_err(socket_error)?;
        let now = Instant::now();
        Ok(Connection {
            socket,
            url,
            ping_interval: config.ping_interval,
            idle_timeout: config.idle_timeout,
            last_heard: now,
            last_ping: now,
        })
    }

    /// Reads until a frame arrives, the server closes, the connection fails or goes silent for longer
    /// than the idle limit, or `deadline` passes (at least one read is tried, even for a past deadline).
    pub(super) fn read(&mut self, deadline: Option<Instant>) -> Result<Read> {
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
                    .map_err(|err| self.failed(err))?;
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
            self.socket.get_mut().arm(wake_at);
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
                Err(err) => return Err(self.failed(err)),
            }
        }
    }

    fn decode(&self, frame: &[u8]) -> Result<StreamedIdentifiers> {
        wire::decode(MESSAGES_STREAM_IDENTIFIERS.name, frame)
    }

    /// This connection failed for `reason`, with no lower-level error behind it.
    pub(super) fn error(&self, reason: String) -> Error {
        Error::websocket(&self.url, reason, None)
    }

    /// This connection failed with a tungstenite error, kept as the source.
    fn failed(&self, err: tungstenite::Error) -> Error {
        Error::websocket(&self.url, describe(&err), Some(Box::new(err)))
    }

    /// Says goodbye with a close frame if the peer is still there; never blocks for long.
    pub(super) fn close(&mut self) {
        let _ = self
            .socket
            .get_ref()
            .tcp
            .set_write_timeout(Some(Duration::from_millis(100)));
        let _ = self.socket.close(None);
        let _ = self.socket.flush();
    }
}

/// Connects to the first address of the URL's host that answers within `timeout`.
fn dial(url: &str, timeout: Duration) -> Result<TcpStream> {
    let (host, port) = websocket_authority(url);
    let addresses = (host, port).to_socket_addrs().map_err(|err| {
        Error::connection(url, format!("cannot resolve {host}: {err}"), Some(Box::new(err)))
    })?;
    let mut last_error = Error::connection(url, format!("{host} resolves to no address"), None);
    for address in addresses {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(stream) => return Ok(stream),
            Err(err) if err.kind() == std::io::ErrorKind::TimedOut => {
                last_error = Error::Timeout {
                    url: url.to_owned(),
                    after: Some(timeout),
                }
            }
            Err(err) => {
                let reason = if err.kind() == std::io::ErrorKind::ConnectionRefused {
                    "connection refused".to_owned()
                } else {
                    err.to_string()
                };
                last_error = Error::connection(url, reason, Some(Box::new(err)));
            }
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

/// The error of a connection attempt that a stop cut short.
pub(super) fn stopped(url: &str) -> Error {
    Error::websocket(url, "the subscription was stopped", None)
}
