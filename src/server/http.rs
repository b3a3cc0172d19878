//! Just enough HTTP/1.1 for the stand-in: request heads parsed with `httparse`, bodies framed by
//! Content-Length or chunked transfer coding, and responses written with an exact Content-Length.
//!
//! The server owns its sockets (rather than hiding them in a framework) so that fault injection can cut them
//! and `stop` can shut them down from another thread.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The largest request head accepted; a larger one is answered with 431.
pub(crate) const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The most header fields a request may carry; more is answered with 431.
const MAX_HEADERS: usize = 100;

/// The longest chunk-size line (with extensions) or trailer line in a chunked body.
const MAX_LINE_BYTES: usize = 8 * 1024;

/// The most a body buffer is zero-filled ahead of the bytes that arrive, per read: a large declared
/// length allocates nothing before its bytes do.
const READ_CHUNK: usize = 64 * 1024;

/// One parsed request head, with owned data.
#[derive(Debug)]
pub(crate) struct RequestHead {
    pub(crate) method: String,
    /// The request target exactly as received (path and query, still percent-encoded).
    pub(crate) target: String,
    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    pub(crate) minor_version: u8,
    /// Header fields in order of arrival, names as sent.
    pub(crate) headers: Vec<(String, Vec<u8>)>,
}

impl RequestHead {
    /// Every value of a header (names compare case-insensitively).
    pub(crate) fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_slice())
    }

    /// The first value of a header.
    pub(crate) fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_slice())
    }

    /// Whether a comma-separated header (such as `Connection`) lists `token`, case-insensitively.
    pub(crate) fn has_token(&self, name: &str, token: &str) -> bool {
        self.header_values(name).any(|value| {
            value
                .split(|&b| b == b',')
                .any(|item| item.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
        })
    }

    /// Whether the connection stays open after the answer: HTTP/1.1 unless `Connection: close`,
    /// HTTP/1.0 only with `Connection: keep-alive`.
    pub(crate) fn keep_alive(&self) -> bool {
        if self.minor_version >= 1 {
            !self.has_token("connection", "close")
        } else {
            self.has_token("connection", "keep-alive")
        }
    }
}

/// Why a request could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer closed the connection (or it was shut down) before a new request began.
    Closed,
    /// The socket failed (a reset, a shutdown by `stop`): there is no one to answer.
    Io,
    /// The request is malformed: answer 400 and close.
    Bad(String),
    /// The head is larger than [`MAX_HEAD_BYTES`] or has too many fields: answer 431 and close.
    HeadTooLarge,
    /// The body is larger than the configured limit: answer 413 and close.
    BodyTooLarge,
    /// A transfer coding other than `chunked`: answer 501 and close.
    Unsupported(String),
    /// No request began within the idle limit: close without a word.
    Idle,
    /// A request began but did not arrive whole within the read limit: answer 408 and close.
    Timeout,
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> Self {
        ReadError::Io
    }
}

/// How the body of a request is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
}

/// Decides how the body is framed, refusing the ambiguous cases request smuggling relies on (both
/// Content-Length and Transfer-Encoding, or disagreeing Content-Lengths) and bodies over `limit`.
pub(crate) fn framing(head: &RequestHead, limit: u64) -> Result<Framing, ReadError> {
    let encodings: Vec<&[u8]> = head.header_values("transfer-encoding").collect();
    let lengths: Vec<&[u8]> = head.header_values("content-length").collect();
    if !encodings.is_empty() {
        if !lengths.is_empty() {
            return Err(ReadError::Bad(
                "both Content-Length and Transfer-Encoding are present".into(),
            ));
        }
        if head.minor_version == 0 {
            return Err(ReadError::Bad("Transfer-Encoding in an HTTP/1.0 request".into()));
        }
        let codings: Vec<&[u8]> = encodings
            .iter()
            .flat_map(|value| value.split(|&b| b == b','))
            .map(<[u8]>::trim_ascii)
            .filter(|coding| !coding.is_empty())
            .collect();
        return match codings.as_slice() {
            [only] if only.eq_ignore_ascii_case(b"chunked") => Ok(Framing::Chunked),
            _ => Err(ReadError::Unsupported(format!(
                "Transfer-Encoding {:?} is not supported (only chunked)",
                String::from_utf8_lossy(&encodings.join(&b", "[..]))
            ))),
        };
    }
    let mut declared: Option<u64> = None;
    for value in lengths {
        let text = std::str::from_utf8(value).unwrap_or("").trim();
        let length = (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<u64>().ok())
            .flatten()
            .ok_or_else(|| ReadError::Bad(format!("invalid Content-Length {text:?}")))?;
        if declared.is_some_and(|earlier| earlier != length) {
            return Err(ReadError::Bad("conflicting Content-Length headers".into()));
        }
        declared = Some(length);
    }
    match declared {
        None | Some(0) => Ok(Framing::Empty),
        Some(length) if length > limit => Err(ReadError::BodyTooLarge),
        Some(length) => Ok(Framing::Length(length)),
    }
}

/// Where a connection's bytes come from: a socket, whose reads can be limited in time, or (for the fuzz
/// target and unit tests) bytes already in memory.
pub(crate) trait Source: Read {
    /// Lets the next read wait at most `limit` (never zero) before it fails with `WouldBlock` or
    /// `TimedOut`.
    fn wait_at_most(&mut self, limit: Duration) -> io::Result<()>;
}

impl Source for TcpStream {
    fn wait_at_most(&mut self, limit: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(limit))
    }
}

impl Source for &[u8] {
    fn wait_at_most(&mut self, _: Duration) -> io::Result<()> {
        Ok(())
    }
}

/// How long a connection may wait for the next request, and how long a request may take to arrive.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// From the end of one answer (or the connection's start) to the first byte of the next request.
    pub(crate) idle: Duration,
    /// From the first byte of a request to the last byte of its body: a client that sends its request a
    /// byte at a time cannot hold a connection longer than this.
    pub(crate) read: Duration,
}

/// A socket with a read buffer, so that bytes read past one request head (a body, or a pipelined request)
/// are kept for what comes next. Every read is bounded by the [`Limits`].
pub(crate) struct Connection<S = TcpStream> {
    pub(crate) stream: S,
    buf: Vec<u8>,
    pos: usize,
    limits: Limits,
    /// When the wait for the current request (or for its next bytes) ends.
    deadline: Instant,
    /// Whether a byte of the current request has arrived: a timeout then is a 408, not an idle close.
    in_request: bool,
}

impl<S: Source> Connection<S> {
    pub(crate) fn new(stream: S, limits: Limits) -> Self {
        Connection {
            stream,
            buf: Vec::with_capacity(16 * 1024),
            pos: 0,
            limits,
            deadline: Instant::now() + limits.idle,
            in_request: false,
        }
    }

    /// The bytes read from the socket but not consumed yet, handing them over (for a WebSocket, whose
    /// first frames may have arrived with the upgrade request).
    pub(crate) fn take_buffered(&mut self) -> Vec<u8> {
        let rest = self.buf.split_off(self.pos);
        self.buf.clear();
        self.pos = 0;
        rest
    }

    fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Reads once from the socket into the buffer; returns how many bytes arrived (0 at end of stream).
    fn fill(&mut self) -> Result<usize, ReadError> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = self.receive(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        if n > 0 {
            self.request_began();
        }
        Ok(n)
    }

    /// The first byte of a request has arrived (or was already buffered): the read limit starts now.
    fn request_began(&mut self) {
        if !self.in_request {
            self.in_request = true;
            self.deadline = Instant::now() + self.limits.read;
        }
    }

    /// One read from the stream, waiting no longer than the current deadline.
    fn receive(&mut self, into: &mut [u8]) -> Result<usize, ReadError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.timed_out());
        }
        self.stream.wait_at_most(left)?;
        loop {
            match self.stream.read(into) {
                Ok(n) => return Ok(n),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    return Err(self.timed_out())
                }
                Err(_) => return Err(ReadError::Io),
            }
        }
    }

    fn timed_out(&self) -> ReadError {
        if self.in_request {
            ReadError::Timeout
        } else {
            ReadError::Idle
        }
    }

    /// Reads the next request head: waits up to the idle limit for it to begin, then up to the read
    /// limit for the rest of it and its body.
    pub(crate) fn read_head(&mut self) -> Result<RequestHead, ReadError> {
        self.in_request = false;
        self.deadline = Instant::now() + self.limits.idle;
        if !self.buffered().is_empty() {
            self.request_began();
        }
        loop {
            if !self.buffered().is_empty() {
                let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
                let mut request = httparse::Request::new(&mut headers);
                match request.parse(self.buffered()) {
                    Ok(httparse::Status::Complete(used)) if used > MAX_HEAD_BYTES => {
                        return Err(ReadError::HeadTooLarge)
                    }
                    Ok(httparse::Status::Complete(used)) => {
                        let head = RequestHead {
                            method: request.method.unwrap_or_default().to_owned(),
                            target: request.path.unwrap_or_default().to_owned(),
                            minor_version: request.version.unwrap_or(1),
                            headers: request
                                .headers
                                .iter()
                                .map(|h| (h.name.to_owned(), h.value.to_vec()))
                                .collect(),
                        };
                        self.pos += used;
                        return Ok(head);
                    }
                    Ok(httparse::Status::Partial) => {
                        if self.buffered().len() > MAX_HEAD_BYTES {
                            return Err(ReadError::HeadTooLarge);
                        }
                    }
                    Err(httparse::Error::TooManyHeaders) => return Err(ReadError::HeadTooLarge),
                    Err(error) => return Err(ReadError::Bad(format!("malformed request head: {error}"))),
                }
            }
            if self.fill()? == 0 {
                // End of stream between requests is the ordinary end of a keep-alive connection; in the
                // middle of a head there is no one left to answer either.
                return Err(ReadError::Closed);
            }
        }
    }

    /// Reads a body framed as `framing`, at most `limit` bytes.
    pub(crate) fn read_body(&mut self, framing: Framing, limit: u64) -> Result<Vec<u8>, ReadError> {
        match framing {
            Framing::Empty => Ok(Vec::new()),
            Framing::Length(length) => {
                let length = usize::try_from(length).map_err(|_| ReadError::BodyTooLarge)?;
                let mut body = Vec::new();
                self.read_exact_into(&mut body, length)?;
                Ok(body)
            }
            Framing::Chunked => self.read_chunked(limit),
        }
    }

    fn read_chunked(&mut self, limit: u64) -> Result<Vec<u8>, ReadError> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line()?;
            let size_text = line.split(|&b| b == b';').next().unwrap_or_default().trim_ascii();
            let size = std::str::from_utf8(size_text)
                .ok()
                .filter(|text| !text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|text| u64::from_str_radix(text, 16).ok())
                .ok_or_else(|| {
                    ReadError::Bad(format!(
                        "invalid chunk size line {:?}",
                        String::from_utf8_lossy(&line)
                    ))
                })?;
            if size == 0 {
                // Trailer fields, ignored, up to the empty line; bounded like a head.
                let mut trailer_bytes = 0;
                loop {
                    let trailer = self.read_line()?;
                    if trailer.is_empty() {
                        return Ok(body);
                    }
                    trailer_bytes += trailer.len();
                    if trailer_bytes > MAX_HEAD_BYTES {
                        return Err(ReadError::HeadTooLarge);
                    }
                }
            }
            if (body.len() as u64).saturating_add(size) > limit {
                return Err(ReadError::BodyTooLarge);
            }
            self.read_exact_into(&mut body, size as usize)?;
            if !self.read_line()?.is_empty() {
                return Err(ReadError::Bad("chunk data not followed by CRLF".into()));
            }
        }
    }

    /// One line of a chunked body, without its line ending (CRLF, or a bare LF, tolerated).
    fn read_line(&mut self) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(end) = self.buffered().iter().position(|&b| b == b'\n') {
                let mut line = self.buffered()[..end].to_vec();
                self.pos += end + 1;
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            if self.buffered().len() > MAX_LINE_BYTES {
                return Err(ReadError::Bad("chunked body line too long".into()));
            }
            if self.fill()? == 0 {
                return Err(ReadError::Bad("connection closed inside a chunked body".into()));
            }
        }
    }

    /// Appends exactly `count` bytes to `body`: first the buffered ones, then straight from the socket.
    /// The buffer grows with the bytes that arrive (at most doubling what arrived, zero-filled at most
    /// [`READ_CHUNK`] ahead), so an upload that stops halfway holds no more than about twice what it sent.
    fn read_exact_into(&mut self, body: &mut Vec<u8>, count: usize) -> Result<(), ReadError> {
        let from_buffer = count.min(self.buffered().len());
        body.extend_from_slice(&self.buffered()[..from_buffer]);
        self.pos += from_buffer;
        let target = body.len() + (count - from_buffer);
        while body.len() < target {
            let filled = body.len();
            if filled == body.capacity() {
                let grown = filled.saturating_mul(2).max(filled + READ_CHUNK).min(target);
                body.reserve_exact(grown - filled);
            }
            body.resize(filled + (target - filled).min(READ_CHUNK), 0);
            let received = self.receive(&mut body[filled..]);
            match received {
                Ok(0) => {
                    body.truncate(filled);
                    return Err(ReadError::Bad("connection closed inside the body".into()));
                }
                Ok(n) => body.truncate(filled + n),
                Err(error) => {
                    body.truncate(filled);
                    return Err(error);
                }
            }
        }
        Ok(())
    }
}

/// Reads requests from `bytes` as one connection would receive them, until the bytes run out or a request
/// is refused, and returns how many were read whole: the stand-in's request-reading path (head, framing,
/// body, keep-alive, the target's path segments) without a socket. The fuzz target drives the parser
/// through this; whatever the bytes, it must return without a panic, a hang, or an allocation far beyond
/// `bytes.len()`.
pub(crate) fn read_requests(bytes: &[u8], max_body_bytes: u64) -> usize {
    let limits = Limits {
        idle: Duration::from_secs(3600),
        read: Duration::from_secs(3600),
    };
    let mut conn = Connection::new(bytes, limits);
    let mut read = 0;
    loop {
        let Ok(head) = conn.read_head() else {
            return read;
        };
        let path = head.target.split(['?', '#']).next().unwrap_or_default();
        let _segments: Vec<Result<String, String>> = path.split('/').map(percent_decode).collect();
        let Ok(framing) = framing(&head, max_body_bytes) else {
            return read;
        };
        let Ok(body) = conn.read_body(framing, max_body_bytes) else {
            return read;
        };
        debug_assert!(body.len() as u64 <= max_body_bytes);
        read += 1;
        if !head.keep_alive() {
            return read;
        }
    }
}

/// A response body.
#[derive(Debug)]
pub(crate) enum Body {
    Empty,
    Bytes(Vec<u8>),
    /// A cached body (a snapshot) shared with the store.
    Shared(Arc<Vec<u8>>),
    /// A cached message text shared with the store.
    Text(Arc<str>),
}

impl Body {
    fn as_bytes(&self) -> &[u8] {
        match self {
            Body::Empty => &[],
            Body::Bytes(bytes) => bytes,
            Body::Shared(bytes) => bytes,
            Body::Text(text) => text.as_bytes(),
        }
    }
}

/// The content type of every error body.
pub(crate) const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

/// The content type of every JSON body.
pub(crate) const APPLICATION_JSON: &str = "application/json";

/// A response to write.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) content_type: Option<&'static str>,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Body,
    /// Close the connection after this response whatever the request asked.
    pub(crate) close: bool,
}

impl Response {
    pub(crate) fn new(status: u16, content_type: Option<&'static str>, body: Body) -> Self {
        Response {
            status,
            content_type,
            headers: Vec::new(),
            body,
            close: false,
        }
    }

    pub(crate) fn json(body: Body) -> Self {
        Response::new(200, Some(APPLICATION_JSON), body)
    }

    /// A text/plain answer, the form PiecesOS gives its errors.
    pub(crate) fn text(status: u16, message: impl Into<String>) -> Self {
        Response::new(status, Some(TEXT_PLAIN), Body::Bytes(message.into().into_bytes()))
    }

    pub(crate) fn no_content() -> Self {
        Response::new(204, None, Body::Empty)
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub(crate) fn closing(mut self) -> Self {
        self.close = true;
        self
    }

    pub(crate) fn body_bytes(&self) -> &[u8] {
        self.body.as_bytes()
    }
}

/// The reason phrase of `status`, as the `http` crate (ureq's) names it; `Unknown` for a status it does
/// not know.
pub(crate) fn reason(status: u16) -> &'static str {
    ureq::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .unwrap_or("Unknown")
}

/// Bodies up to this size are written in the same write as the head.
const COALESCE_BYTES: usize = 64 * 1024;

/// Writes `response`; `head_only` for HEAD requests (the Content-Length of the body, but no body).
/// `keep_alive` is what the request asked; the response's own `close` overrides it.
pub(crate) fn write_response(
    stream: &mut impl Write,
    response: &Response,
    head_only: bool,
    keep_alive: bool,
) -> io::Result<()> {
    let body = response.body_bytes();
    let mut head = format!("HTTP/1.1 {} {}\r\n", response.status, reason(response.status));
    if let Some(content_type) = response.content_type {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    // 1xx and 204 answers carry no body and, per RFC 9110, no Content-Length.
    if response.status >= 200 && response.status != 204 {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if response.close || !keep_alive {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let body = if head_only || response.status == 204 {
        &[][..]
    } else {
        body
    };
    if body.len() <= COALESCE_BYTES {
        let mut all = head.into_bytes();
        all.extend_from_slice(body);
        stream.write_all(&all)?;
    } else {
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
    }
    stream.flush()
}

/// Decodes `%XX` escapes (and nothing else: `+` stays `+`, as in a path). A `%` without two hex digits
/// after it is an error, as is a decoded text that is not UTF-8.
pub(crate) fn percent_decode(text: &str) -> Result<String, String> {
    // The crate passes a malformed escape through unchanged; a server that checks its URLs refuses it.
    let malformed = text.match_indices('%').any(|(at, _)| {
        !text
            .as_bytes()
            .get(at + 1..at + 3)
            .is_some_and(|pair| pair.iter().all(u8::is_ascii_hexdigit))
    });
    if malformed {
        return Err(format!("invalid percent-encoding in {text:?}"));
    }
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| format!("percent-encoding of {text:?} is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A connected pair of sockets on loopback: what the test writes to `client` the connection reads.
    fn pair(input: &[u8]) -> (Connection, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        client.write_all(input).unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        (Connection::new(server, TEST_LIMITS), client)
    }

    const TEST_LIMITS: Limits = Limits {
        idle: std::time::Duration::from_secs(5),
        read: std::time::Duration::from_secs(5),
    };

    #[test]
    fn the_in_memory_reader_reads_what_the_socket_reader_reads() {
        let requests = b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello\
              POST /b%20c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
              GET /c HTTP/1.0\r\n\r\nGET /never HTTP/1.1\r\n\r\n";
        assert_eq!(read_requests(requests, 100), 3);
        assert_eq!(
            read_requests(b"POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 100),
            0
        );
        assert_eq!(read_requests(b"", 100), 0);
    }

    #[test]
    fn a_request_that_stalls_times_out_and_an_idle_connection_ends_quietly() {
        let limits = Limits {
            idle: std::time::Duration::from_millis(100),
            read: std::time::Duration::from_millis(200),
        };
        let open = || {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (server, _) = listener.accept().unwrap();
            (Connection::new(server, limits), client)
        };
        let (mut conn, mut client) = open();
        assert!(matches!(conn.read_head(), Err(ReadError::Idle)));
        client.write_all(b"GET / HTTP/1.1\r\nHost:").unwrap();
        let started = std::time::Instant::now();
        assert!(matches!(conn.read_head(), Err(ReadError::Timeout)));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        // A body that stalls halfway times out too.
        let (mut conn, mut client) = open();
        client
            .write_all(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
            .unwrap();
        let head = conn.read_head().unwrap();
        let framing = framing(&head, 100).unwrap();
        assert!(matches!(conn.read_body(framing, 100), Err(ReadError::Timeout)));
    }

    #[test]
    fn a_body_buffer_grows_with_the_bytes_that_arrive() {
        let mut input = b"POST / HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 1000));
        let mut conn = Connection::new(&input[..], TEST_LIMITS);
        let head = conn.read_head().unwrap();
        let mut body = Vec::new();
        let framing = framing(&head, 1 << 20).unwrap();
        assert_eq!(framing, Framing::Length(1_000_000));
        assert!(matches!(
            conn.read_exact_into(&mut body, 1_000_000),
            Err(ReadError::Bad(_))
        ));
        assert_eq!(body.len(), 1000);
        assert!(body.capacity() <= 2 * READ_CHUNK, "{}", body.capacity());
    }

    #[test]
    fn reads_pipelined_requests_with_both_framings() {
        let (mut conn, _client) = pair(
            b"POST /a?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello\
              POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n\
              GET /c HTTP/1.0\r\n\r\n",
        );
        let head = conn.read_head().unwrap();
        assert_eq!((head.method.as_str(), head.target.as_str()), ("POST", "/a?x=1"));
        assert_eq!(head.header("HOST"), Some(&b"h"[..]));
        let framing = framing(&head, 100).unwrap();
        assert_eq!(conn.read_body(framing, 100).unwrap(), b"hello");

        let head = conn.read_head().unwrap();
        let framing = super::framing(&head, 100).unwrap();
        assert_eq!(framing, Framing::Chunked);
        assert_eq!(conn.read_body(framing, 100).unwrap(), b"abcde");

        let head = conn.read_head().unwrap();
        assert_eq!(head.minor_version, 0);
        assert!(!head.keep_alive());
        assert!(matches!(conn.read_head(), Err(ReadError::Closed)));
    }

    #[test]
    fn refuses_bad_framing_and_oversized_bodies() {
        let head = |headers: &[(&str, &str)]| RequestHead {
            method: "POST".into(),
            target: "/".into(),
            minor_version: 1,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
        };
        assert!(matches!(
            framing(&head(&[("Content-Length", "11")]), 10),
            Err(ReadError::BodyTooLarge)
        ));
        assert!(matches!(
            framing(&head(&[("Content-Length", "-1")]), 10),
            Err(ReadError::Bad(_))
        ));
        assert!(matches!(
            framing(&head(&[("Content-Length", "1"), ("content-length", "2")]), 10),
            Err(ReadError::Bad(_))
        ));
        assert!(matches!(
            framing(
                &head(&[("Content-Length", "1"), ("Transfer-Encoding", "chunked")]),
                10
            ),
            Err(ReadError::Bad(_))
        ));
        assert!(matches!(
            framing(&head(&[("Transfer-Encoding", "gzip, chunked")]), 10),
            Err(ReadError::Unsupported(_))
        ));
        assert_eq!(
            framing(&head(&[("Content-Length", "1"), ("content-length", "1")]), 10).unwrap(),
            Framing::Length(1)
        );

        let (mut conn, _client) = pair(b"4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n");
        assert!(matches!(
            conn.read_body(Framing::Chunked, 6),
            Err(ReadError::BodyTooLarge)
        ));
        let (mut conn, _client) = pair(b"zz\r\n");
        assert!(matches!(
            conn.read_body(Framing::Chunked, 6),
            Err(ReadError::Bad(_))
        ));
        let (mut conn, _client) = pair(b"abc");
        assert!(matches!(
            conn.read_body(Framing::Length(5), 6),
            Err(ReadError::Bad(_))
        ));
    }

    #[test]
    fn malformed_and_huge_heads_are_errors() {
        let (mut conn, _client) = pair(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n");
        assert!(matches!(conn.read_head(), Err(ReadError::Bad(_))));
        let mut huge = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
        huge.extend(std::iter::repeat_n(b'a', MAX_HEAD_BYTES + 10));
        let (mut conn, _client) = pair(&huge);
        assert!(matches!(conn.read_head(), Err(ReadError::HeadTooLarge)));
    }

    #[test]
    fn writes_heads_with_length_and_connection() {
        let mut out = Vec::new();
        let response = Response::text(500, "boom").with_header("X-A", "1");
        write_response(&mut out, &response, false, false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: 4\r\nX-A: 1\r\nConnection: close\r\n\r\nboom"
        );
        let mut out = Vec::new();
        write_response(&mut out, &Response::no_content(), false, true).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "HTTP/1.1 204 No Content\r\n\r\n");
        let mut out = Vec::new();
        write_response(&mut out, &Response::text(200, "ok"), true, true).unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .ends_with("Content-Length: 2\r\n\r\n"));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(
            percent_decode("a%2F..%2Fb%3Fx%23y%2520").unwrap(),
            "a/../b?x#y%20"
        );
        assert_eq!(percent_decode("%E2%9C%93+").unwrap(), "✓+");
        assert!(percent_decode("%2").is_err());
        assert!(percent_decode("%zz").is_err());
        assert!(percent_decode("%FF").is_err());
        assert!(percent_decode("50%").is_err());
        assert_eq!(percent_decode("plain").unwrap(), "plain");
    }

    #[test]
    fn reason_phrases_come_from_the_status_table() {
        assert_eq!(reason(200), "OK");
        assert_eq!(reason(101), "Switching Protocols");
        assert_eq!(reason(431), "Request Header Fields Too Large");
        assert_eq!(reason(500), "Internal Server Error");
        assert_eq!(reason(599), "Unknown");
    }
}
