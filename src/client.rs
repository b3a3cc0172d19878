//! [`Client`]: one configured connection pool to PiecesOS, shared by every endpoint.
//!
//! The endpoints themselves live in [`crate::messages`] (HTTP), [`crate::health`] and [`crate::stream`]
//! (WebSocket), and every request they make is a row of one table of operations (method, path, name);
//! this module owns what they have in common: the ureq `Agent`, the base URL (given, or discovered and
//! cached), and the one exchange function that sends a request and turns every answer into bytes or a
//! precise [`Error`].

use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::config::{ClientConfig, Target, UrlSource};
use crate::discovery::{self, Probe};
use crate::error::{clip, Error, Result, MAX_SERVER_TEXT_BYTES};
use crate::operation::{Method, Operation, Transferables};
use crate::ports::PortRange;
use crate::sync::lock;
use crate::url::loopback_url;

/// A blocking client for PiecesOS.
///
/// # Threads and cloning
///
/// `Client` is `Send + Sync` and cheap to clone: clones share one ureq `Agent`, so TCP connections are kept
/// alive and reused across calls, clones and threads. Every call blocks the calling thread until the
/// answer has arrived or a timeout of the [`ClientConfig`] ran out.
///
/// # Where requests go
///
/// To [`ClientConfig::base_url`] when it is set, else to `PIECES_OS_URL`, else to the PiecesOS found
/// by scanning loopback ports. The scan runs at the first call that needs it, not in [`Client::new`], and
/// its result is shared by all clones; see [`crate::discovery`].
///
/// ```no_run
/// use pieces_os_client::{Client, ClientConfig, Transferables};
///
/// let client = Client::new(ClientConfig::default().with_base_url("http://127.0.0.1:39300"))?;
/// let messages = client.snapshot_messages(Transferables::Default)?;
/// println!("{} messages", messages.iterable.len());
/// # Ok::<(), pieces_os_client::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    agent: ureq::Agent,
    base_url: BaseUrl,
    config: ClientConfig,
}

/// Where requests go.
enum BaseUrl {
    /// Given by the configuration or the environment.
    Fixed { url: String, source: UrlSource },
    /// Found by scanning `ports`; the last URL found, if any. The lock is held during a scan, so callers
    /// that need the URL meanwhile wait for that scan instead of starting their own.
    Discovered {
        ports: PortRange,
        found: Mutex<Option<String>>,
    },
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never waits for a scan in progress on another thread.
        let base_url = match &self.inner.base_url {
            BaseUrl::Fixed { url, .. } => Some(url.clone()),
            BaseUrl::Discovered { found, .. } => match found.try_lock() {
                Ok(found) => found.clone(),
                Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner().clone(),
                Err(std::sync::TryLockError::WouldBlock) => Some("(scanning)".to_owned()),
            },
        };
        f.debug_struct("Client")
            .field("base_url", &base_url)
            .field("url_source", &self.url_source())
            .field("config", &self.inner.config)
            .finish()
    }
}

/// One request to PiecesOS: a row of the table of operations, and what fills it in.
pub(crate) struct Request<'a> {
    operation: &'static Operation,
    /// Fills `{message}` in the operation's path.
    message_id: Option<&'a str>,
    transferables: Transferables,
    /// A JSON body, sent with `Content-Type: application/json`.
    json_body: Option<&'a [u8]>,
    /// A limit on the answer's body below [`ClientConfig::max_body_bytes`], for answers that are small
    /// by nature.
    max_body_bytes: Option<u64>,
}

impl<'a> Request<'a> {
    /// A request for `operation`, without a message id, transferables or body yet.
    pub(crate) fn new(operation: &'static Operation) -> Self {
        Request {
            operation,
            message_id: None,
            transferables: Transferables::Default,
            json_body: None,
            max_body_bytes: None,
        }
    }

    /// The message id that fills the path's `{message}`.
    pub(crate) fn message_id(mut self, id: &'a str) -> Self {
        self.message_id = Some(id);
        self
    }

    /// The `transferables` query, for operations that take it.
    pub(crate) fn transferables(mut self, transferables: Transferables) -> Self {
        self.transferables = transferables;
        self
    }

    /// The JSON body.
    pub(crate) fn json_body(mut self, body: &'a [u8]) -> Self {
        self.json_body = Some(body);
        self
    }

    /// A limit on the answer's body for this request, when it is below the configured one.
    pub(crate) fn max_body_bytes(mut self, limit: u64) -> Self {
        self.max_body_bytes = Some(limit);
        self
    }
}

impl Client {
    /// Builds a client after checking every setting of `config` (see [`ClientConfig`]); nothing is sent.
    ///
    /// Nothing is scanned here either: a client without a base URL looks for PiecesOS at its first call.
    pub fn new(config: ClientConfig) -> Result<Self> {
        let base_url = match config.validate()? {
            Target::Fixed { url, source } => BaseUrl::Fixed { url, source },
            Target::Scan(ports) => BaseUrl::Discovered {
                ports,
                found: Mutex::new(None),
            },
        };
        let agent_config = ureq::Agent::config_builder()
            // A 500's text/plain body is the only clue PiecesOS gives; read it rather than fail early.
            .http_status_as_error(false)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_global(config.request_timeout)
            .user_agent(config.user_agent.as_str())
            .accept("application/json, text/plain")
            // Nothing at PiecesOS redirects; following one could carry the application id elsewhere.
            .max_redirects(0)
            .build();
        let agent =
            ureq::Agent::with_parts(agent_config, DefaultConnector::new(), LiteralResolver::default());
        Ok(Client {
            inner: Arc::new(Inner {
                agent,
                base_url,
                config,
            }),
        })
    }

    /// Builds a client for `base_url` with every other setting at its default.
    pub fn with_base_url(base_url: impl Into<String>) -> Result<Self> {
        Self::new(ClientConfig::default().with_base_url(base_url))
    }

    /// The base URL requests go to, without a trailing slash: the one given, or the one discovered. A
    /// client that discovers PiecesOS and has not found it yet scans now, and answers
    /// [`Error::NotRunning`] when nothing answers.
    pub fn base_url(&self) -> Result<String> {
        self.base_url_after(None, None)
    }

    /// The base URL without scanning: the one given, or the last one discovered (`None` when discovery
    /// has not run yet or found nothing). While another thread scans, this waits for its result.
    pub fn cached_base_url(&self) -> Option<String> {
        match &self.inner.base_url {
            BaseUrl::Fixed { url, .. } => Some(url.clone()),
            BaseUrl::Discovered { found, .. } => lock(found).clone(),
        }
    }

    /// Where the base URL comes from: the configuration, `PIECES_OS_URL`, or a scan (of which ports).
    pub fn url_source(&self) -> UrlSource {
        match &self.inner.base_url {
            BaseUrl::Fixed { source, .. } => *source,
            BaseUrl::Discovered { ports, .. } => UrlSource::Scan(*ports),
        }
    }

    /// Forgets the URL discovered and scans again now; for a client given a URL, returns that URL.
    pub fn rediscover(&self) -> Result<String> {
        match &self.inner.base_url {
            BaseUrl::Fixed { url, .. } => Ok(url.clone()),
            BaseUrl::Discovered { ports, found } => {
                let mut found = lock(found);
                *found = None;
                self.scan_into(&mut found, *ports, None)
            }
        }
    }

    /// The base URL to use, after `failed` did not work if it is given. A discovering client scans when
    /// it has no URL yet, or when its URL is `failed` (another thread may already have replaced it with a
    /// newer one, which is then used). `cancel` ends a scan early, with [`Error::NotRunning`].
    pub(crate) fn base_url_after(&self, failed: Option<&str>, cancel: Option<&AtomicBool>) -> Result<String> {
        match &self.inner.base_url {
            BaseUrl::Fixed { url, .. } => Ok(url.clone()),
            BaseUrl::Discovered { ports, found } => {
                let mut found = lock(found);
                match &*found {
                    Some(url) if failed != Some(url.as_str()) => Ok(url.clone()),
                    _ => {
                        *found = None;
                        self.scan_into(&mut found, *ports, cancel)
                    }
                }
            }
        }
    }

    /// Whether the base URL is discovered by scanning (and so may move when PiecesOS restarts).
    pub(crate) fn discovers(&self) -> bool {
        matches!(self.inner.base_url, BaseUrl::Discovered { .. })
    }

    fn scan_into(
        &self,
        found: &mut Option<String>,
        ports: PortRange,
        cancel: Option<&AtomicBool>,
    ) -> Result<String> {
        let config = &self.inner.config;
        let probe = Probe {
            connect_timeout: config.discovery.connect_timeout,
            answer_timeout: config.discovery.answer_timeout,
            user_agent: &config.user_agent,
            api_key: config
                .application_id
                .as_deref()
                .map(|id| (config.api_key_header.as_str(), id)),
        };
        let port = discovery::scan(ports, &probe, cancel).ok_or(Error::NotRunning { scanned: ports })?;
        let url = loopback_url(port);
        *found = Some(url.clone());
        Ok(url)
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Sends one request and returns the body of a 2xx answer, read within the size limit.
    ///
    /// A discovering client whose connection is refused scans again; when PiecesOS is found elsewhere
    /// the request is sent there once (a refused connection never carried it, so this is safe for every
    /// method), and when it is found nowhere the answer is [`Error::NotRunning`].
    pub(crate) fn exchange(&self, request: Request<'_>) -> Result<Vec<u8>> {
        let base_url = self.base_url()?;
        match self.send_to(&base_url, &request) {
            Err(SendError::Refused(error)) if self.discovers() => {
                let moved_to = self.base_url_after(Some(&base_url), None)?;
                if moved_to == base_url {
                    return Err(error);
                }
                self.send_to(&moved_to, &request).map_err(SendError::into_error)
            }
            other => other.map_err(SendError::into_error),
        }
    }

    fn send_to(&self, base_url: &str, request: &Request<'_>) -> std::result::Result<Vec<u8>, SendError> {
        let operation = request.operation;
        let path = operation.path_and_query(request.message_id, request.transferables);
        let url = format!("{base_url}{path}");
        let config = &self.inner.config;
        let started = Instant::now();
        let log = |outcome: std::fmt::Arguments<'_>| log_exchange(operation.method, &url, outcome, started);
        let sent = match operation.method {
            Method::Get => self.with_api_key(self.inner.agent.get(&url)).call(),
            Method::Post => {
                let builder = self.with_api_key(self.inner.agent.post(&url));
                match request.json_body {
                    Some(body) => builder.header("Content-Type", "application/json").send(body),
                    None => builder.send_empty(),
                }
            }
        };
        let mut response = sent.map_err(|err| {
            log(format_args!("{err}"));
            match &err {
                ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                    SendError::Refused(self.transport_error(&url, operation.name, err))
                }
                _ => SendError::Other(self.transport_error(&url, operation.name, err)),
            }
        })?;
        let status = response.status();
        if !status.is_success() {
            let body = read_error_body(response.body_mut().as_reader());
            let length = body.len();
            log(format_args!("{status}, {length} bytes"));
            return Err(SendError::Other(Error::HttpStatus {
                endpoint: operation.name,
                status: status.as_u16(),
                body,
            }));
        }
        let limit = request
            .max_body_bytes
            .map_or(config.max_body_bytes, |limit| limit.min(config.max_body_bytes));
        let declared = response.body().content_length();
        if let Some(length) = declared.filter(|&length| length > limit) {
            // Refused on the announced length alone, before a byte of the body is read.
            log(format_args!(
                "{status}, {length} bytes announced, over the limit of {limit}"
            ));
            return Err(SendError::Other(Error::BodyTooLarge {
                endpoint: operation.name,
                limit,
            }));
        }
        let reader = response.body_mut().with_config().limit(limit).reader();
        let body = read_body(reader, declared).map_err(|err| {
            log(format_args!("{status}, then {err}"));
            SendError::Other(self.transport_error(&url, operation.name, ureq::Error::from(err)))
        })?;
        log(format_args!("{status}, {} bytes", body.len()));
        Ok(body)
    }

    /// Adds the API key header when an application id is configured.
    fn with_api_key<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        let config = &self.inner.config;
        match &config.application_id {
            Some(id) => request.header(config.api_key_header.as_str(), id.as_str()),
            None => request,
        }
    }

    /// Turns a ureq failure into the error a user can act on, keeping it as the source.
    fn transport_error(&self, url: &str, endpoint: &'static str, err: ureq::Error) -> Error {
        let config = &self.inner.config;
        let timeout = |after| Error::Timeout {
            url: url.to_owned(),
            after,
        };
        match err {
            ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
                timeout(Some(config.connect_timeout))
            }
            ureq::Error::Timeout(_) => timeout(config.request_timeout),
            ureq::Error::BodyExceedsLimit(limit) => Error::BodyTooLarge { endpoint, limit },
            ureq::Error::HostNotFound => Error::connection(url, "host not found", Some(Box::new(err))),
            ureq::Error::Io(io) => {
                let reason = match io.kind() {
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                        return timeout(config.request_timeout)
                    }
                    std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
                    std::io::ErrorKind::ConnectionReset => "connection reset by the server".to_owned(),
                    std::io::ErrorKind::UnexpectedEof => {
                        "the server closed the connection before the answer was complete".to_owned()
                    }
                    _ => io.to_string(),
                };
                Error::connection(url, reason, Some(Box::new(io)))
            }
            ureq::Error::Protocol(ref protocol) => {
                let reason = format!("malformed HTTP answer: {protocol}");
                Error::connection(url, reason, Some(Box::new(err)))
            }
            other => Error::connection(url, other.to_string(), Some(Box::new(other))),
        }
    }
}

/// ureq's resolver, except for a host that is an IP address, which it reads without asking the system.
///
/// ureq resolves the host before every request, even one that goes out on a kept-alive connection, and
/// with a global timeout set (as [`ClientConfig::request_timeout`] sets it) its default resolver does so
/// on a thread of its own, started for each request, so that a slow DNS server cannot outlast the
/// timeout. PiecesOS is reached at an address (`http://127.0.0.1:39300`, which is also what discovery
/// finds), so that thread only parsed `127.0.0.1`: it cost more than the rest of the client's work per
/// call (BENCHMARKS.md, "Single calls"). A host name (such as `localhost`) is still resolved by ureq's
/// resolver, with its timeout.
///
/// The trait is in ureq's `unversioned` module, which may change in a minor release: Cargo.toml bounds
/// ureq to the minor version this was written against.
#[derive(Debug, Default)]
struct LiteralResolver {
    names: DefaultResolver,
}

impl Resolver for LiteralResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> std::result::Result<ResolvedSocketAddrs, ureq::Error> {
        let Some(address) = ip_literal(uri) else {
            return self.names.resolve(uri, config, timeout);
        };
        let mut addresses = self.empty();
        // An address of the family the configuration leaves out is not reachable, as with a name.
        for wanted in config.ip_family().keep_wanted(std::iter::once(address)) {
            addresses.push(wanted);
        }
        if addresses.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(addresses)
    }
}

/// The socket address of a URI whose host is an IPv4 or bracketed IPv6 address, with its port or the
/// scheme's; `None` for a host name (or a URI ureq's resolver will refuse with its own error).
fn ip_literal(uri: &ureq::http::Uri) -> Option<SocketAddr> {
    let host_and_port = DefaultResolver::host_and_port(uri.scheme()?, uri.authority()?)?;
    host_and_port.parse().ok()
}

/// The first reservation for a response body, whatever length the server announced.
const FIRST_BODY_RESERVATION: usize = 1 << 20;

/// Reads a whole body. The buffer grows with the bytes that actually arrive, never to more than twice
/// what has arrived, and toward the announced length `declared` when there is one, so that an honest
/// length ends in a buffer of exactly that size (a snapshot of tens of MB is not copied by doubling past
/// it) while a length the server only claims costs nothing. One spare byte is always kept, so the C API
/// can append its NUL without copying the text again.
fn read_body(mut reader: impl Read, declared: Option<u64>) -> std::io::Result<Vec<u8>> {
    let declared = declared.map_or(0, |length| usize::try_from(length).unwrap_or(usize::MAX));
    let mut body = Vec::with_capacity(declared.min(FIRST_BODY_RESERVATION) + 1);
    loop {
        let arrived = body.len();
        if body.capacity() - arrived <= 1 {
            if arrived == declared && arrived > 0 {
                // All that was announced has arrived, so this is most likely the end: look before growing.
                let mut probe = [0u8; 1];
                if read_some(&mut reader, &mut probe)? == 0 {
                    return Ok(body);
                }
                body.reserve(64 * 1024);
                body.push(probe[0]);
                continue;
            }
            let doubled = arrived.saturating_mul(2).max(arrived + 64 * 1024);
            let next = if declared > arrived {
                declared.min(doubled)
            } else {
                doubled
            };
            body.reserve_exact(next + 1 - arrived);
        }
        let room = body.capacity() - body.len() - 1;
        let got = (&mut reader).take(room as u64).read_to_end(&mut body)?;
        if got < room {
            return Ok(body);
        }
    }
}

/// One read, retried when a signal interrupted it.
fn read_some(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match reader.read(buffer) {
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Logs one exchange with PiecesOS once it is over, at debug level under the target
/// `pieces_os_client::http`: `GET http://127.0.0.1:39300/messages: 200 OK, 5120 bytes in 3.2 ms`. Any
/// `log` logger the program installs sees these (`pieces-messages -v` prints them); without one this
/// costs one atomic load. Neither headers (the application id) nor bodies are logged.
fn log_exchange(method: Method, url: &str, outcome: std::fmt::Arguments<'_>, started: Instant) {
    let method = match method {
        Method::Get => "GET",
        Method::Post => "POST",
    };
    log::debug!(
        target: "pieces_os_client::http",
        "{method} {url}: {outcome} in {:.1} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
}

/// Why [`Client::send_to`] failed: refused connections are told apart, since they may mean PiecesOS moved.
enum SendError {
    Refused(Error),
    Other(Error),
}

impl SendError {
    fn into_error(self) -> Error {
        match self {
            SendError::Refused(error) | SendError::Other(error) => error,
        }
    }
}

/// Reads an error body as text, at most [`MAX_SERVER_TEXT_BYTES`] of it (see [`clip`]); the rest is
/// never read. An error body that cannot be read in full still yields what arrived.
fn read_error_body(reader: impl Read) -> String {
    let mut bytes = Vec::new();
    let mut limited = reader.take(MAX_SERVER_TEXT_BYTES as u64 + 1);
    // What arrived before a broken read is still the best clue there is.
    let _ = limited.read_to_end(&mut bytes);
    clip(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync_clone<T: Send + Sync + Clone>() {}

    #[test]
    fn client_is_send_sync_and_clone() {
        assert_send_sync_clone::<Client>();
    }

    #[test]
    fn new_refuses_a_bad_config_before_sending() {
        let err = Client::with_base_url("file:///etc/passwd").unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    argument: "base_url",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_body_grows_with_what_arrives_and_ends_exact_when_the_length_was_true() {
        let bytes: Vec<u8> = (0..3_000_000u32).map(|n| n as u8).collect();
        for declared in [None, Some(3_000_000), Some(1 << 40), Some(u64::MAX), Some(10)] {
            let body = read_body(&bytes[..], declared).unwrap();
            assert_eq!(body, bytes, "{declared:?}");
            assert!(body.capacity() > body.len(), "a spare byte for the NUL");
            assert!(body.capacity() <= 2 * body.len() + 64 * 1024 + 1, "{declared:?}");
        }
        let exact = read_body(&bytes[..], Some(3_000_000)).unwrap();
        assert_eq!(exact.capacity(), 3_000_001);
        assert_eq!(read_body(&b""[..], Some(0)).unwrap(), b"");
        let short = read_body(&b"abc"[..], Some(1 << 50)).unwrap();
        assert_eq!(short, b"abc");
        assert!(short.capacity() <= FIRST_BODY_RESERVATION + 1);
    }

    #[test]
    fn ip_addresses_are_read_and_names_left_to_ureq() {
        let literal = |url: &str| ip_literal(&url.parse().unwrap());
        assert_eq!(
            literal("http://127.0.0.1:39300/messages"),
            Some("127.0.0.1:39300".parse().unwrap())
        );
        assert_eq!(literal("http://[::1]:8080"), Some("[::1]:8080".parse().unwrap()));
        assert_eq!(literal("http://10.0.0.7/x"), Some("10.0.0.7:80".parse().unwrap()));
        assert_eq!(literal("https://10.0.0.7"), Some("10.0.0.7:443".parse().unwrap()));
        for name in [
            "http://localhost:39300",
            "http://pieces.local",
            "http://127.0.0.1.example:1",
        ] {
            assert_eq!(literal(name), None, "{name}");
        }

        let resolve = |url: &str, family| {
            let config = ureq::Agent::config_builder().ip_family(family).build();
            let uri = url.parse().unwrap();
            LiteralResolver::default()
                .resolve(&uri, &config, NextTimeout::default())
                .map(|found| found.to_vec())
        };
        let v4: SocketAddr = "127.0.0.1:39300".parse().unwrap();
        let found = resolve("http://127.0.0.1:39300", ureq::config::IpFamily::Any);
        assert_eq!(found.unwrap(), vec![v4]);
        let found = resolve("http://127.0.0.1:39300", ureq::config::IpFamily::Ipv6Only);
        assert!(matches!(found, Err(ureq::Error::HostNotFound)), "{found:?}");
    }

    #[test]
    fn error_body_is_cut_at_the_limit() {
        let long = vec![b'x'; MAX_SERVER_TEXT_BYTES + 10];
        let text = read_error_body(&long[..]);
        assert!(text.ends_with(crate::error::CUT_MARK));
        assert_eq!(text.len(), MAX_SERVER_TEXT_BYTES + crate::error::CUT_MARK.len());
        assert_eq!(read_error_body(&b"no such message"[..]), "no such message");
    }
}
