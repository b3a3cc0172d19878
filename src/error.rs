//! The one error type of the crate.
//!
//! Every failure names what failed (the argument, the URL, the endpoint) and carries what the caller needs
//! to act on it: the HTTP status and the server's text body, the position of a decode error, the limit that
//! was exceeded. The lower-level error behind a failure (an I/O error, a serde_json or tungstenite error)
//! stays attached as its [`source`](std::error::Error::source), so error reporters can show the whole
//! chain. The C API maps each variant to a `pieces_status` and to the last-error JSON through
//! [`Error::kind`], [`Error::http_status`] and [`Error::body`].

use std::time::Duration;

use crate::ports::PortRange;
use crate::version::VersionRange;

/// The lower-level error behind an [`Error`] (a `std::io::Error`, a `serde_json::Error`, a
/// `tungstenite::Error`, a `std::str::Utf8Error`, …), as [`std::error::Error::source`] returns it; downcast
/// it to inspect it.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of every fallible function of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when talking to PiecesOS.
///
/// New variants may be added in minor releases, so a `match` needs a wildcard arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument was refused before anything was sent.
    #[error("invalid {argument}: {reason}")]
    InvalidInput {
        /// Which argument (for example `base_url`, `message_id`, `application_id`).
        argument: &'static str,
        /// Why it was refused.
        reason: String,
    },

    /// A JSON text handed in (a seed, a search input, a configuration) is not valid JSON or not the model
    /// it should be. Nothing was sent.
    #[error("invalid JSON for {argument}: {message}{}", position(*.line, *.column))]
    InvalidJson {
        /// Which argument (for example `seed`, `search_input`, `config`).
        argument: &'static str,
        /// What serde found wrong.
        message: String,
        /// 1-based line of the problem (0 when it is not tied to a position).
        line: usize,
        /// 1-based column of the problem (0 when it is not tied to a position).
        column: usize,
        /// The serde_json error.
        #[source]
        source: Option<Cause>,
    },

    /// The TCP connection could not be made or broke while the request was under way.
    #[error("PiecesOS is not reachable at {url}: {reason}")]
    Connection {
        /// The URL that was being requested.
        url: String,
        /// What the operating system or the HTTP layer said (connection refused, reset, …).
        reason: String,
        /// The I/O or HTTP-layer error, when there was one.
        #[source]
        source: Option<Cause>,
    },

    /// The server did not answer in time.
    #[error("PiecesOS at {url} did not answer within {}", describe_timeout(*.after))]
    Timeout {
        /// The URL that was being requested.
        url: String,
        /// The limit that ran out, when it is known.
        after: Option<Duration>,
    },

    /// The server answered with a status other than the endpoint's success status.
    #[error("{endpoint} failed with HTTP {status}: {}", if body.is_empty() { "(empty body)" } else { body.as_str() })]
    HttpStatus {
        /// The documented operation (for example `messages_create_specific_message`).
        endpoint: &'static str,
        /// The HTTP status code.
        status: u16,
        /// The response body as text (PiecesOS sends `text/plain` on 500), cut to
        /// [`MAX_SERVER_TEXT_BYTES`].
        body: String,
    },

    /// PiecesOS does not hold the message asked for: `GET /message/{message}` answers an unknown id with
    /// HTTP 410 and a text body. The message may never have existed, or may have been deleted.
    #[error("{endpoint}: PiecesOS holds no message with id {id:?} (HTTP 410: {})", if body.is_empty() { "(empty body)" } else { body.as_str() })]
    NotFound {
        /// The documented operation (`message_specific_message_snapshot`).
        endpoint: &'static str,
        /// The id asked for.
        id: String,
        /// PiecesOS's text body, cut to [`MAX_ERROR_BODY_BYTES`].
        body: String,
    },

    /// The server answered with a body that is not the endpoint's model.
    #[error("{endpoint} returned a body that does not decode: {message}{}", position(*.line, *.column))]
    Decode {
        /// The documented operation whose response did not decode.
        endpoint: &'static str,
        /// What serde found wrong.
        message: String,
        /// 1-based line of the problem in the body (0 when not tied to a position).
        line: usize,
        /// 1-based column of the problem in the body (0 when not tied to a position).
        column: usize,
        /// The serde_json or UTF-8 error, when there was one.
        #[source]
        source: Option<Cause>,
    },

    /// The response body is larger than [`ClientConfig::max_body_bytes`](crate::ClientConfig).
    #[error("{endpoint} returned a body larger than the limit of {limit} bytes (raise max_body_bytes)")]
    BodyTooLarge {
        /// The documented operation whose response was too large.
        endpoint: &'static str,
        /// The configured limit in bytes.
        limit: u64,
    },

    /// The WebSocket identifier stream failed: the upgrade was refused, or the connection broke.
    #[error("WebSocket {url}: {reason}")]
    WebSocket {
        /// The `ws://` URL of the stream.
        url: String,
        /// The HTTP status when the server refused the upgrade (404: this PiecesOS has no such stream).
        status: Option<u16>,
        /// What went wrong.
        reason: String,
        /// The tungstenite or I/O error, when there was one.
        #[source]
        source: Option<Cause>,
    },

    /// PiecesOS is not running: no port of the scanned range answered its health check. Only a client
    /// that discovers PiecesOS (one built without a base URL, see [`crate::discovery`]) reports this; a
    /// client given a URL reports [`Error::Connection`] when nothing answers there.
    #[error(
        "PiecesOS is not running: nothing answered on 127.0.0.1 ports {scanned} (start PiecesOS, or set \
         PIECES_OS_URL to where it listens)"
    )]
    NotRunning {
        /// The ports scanned.
        scanned: PortRange,
    },

    /// PiecesOS runs a version this client does not support
    /// ([`ClientConfig::compatible_versions`](crate::ClientConfig::compatible_versions)).
    #[error(
        "PiecesOS {found} is too {} for this client, which needs PiecesOS {required}: update {}",
        match outdated { Outdated::PiecesOs => "old", Outdated::Client => "new" },
        match outdated { Outdated::PiecesOs => "PiecesOS", Outdated::Client => "pieces-os-client (or the program built with it)" }
    )]
    IncompatibleVersion {
        /// The version PiecesOS reported, as it reported it.
        found: String,
        /// The versions this client accepts.
        required: VersionRange,
        /// Which side needs updating.
        outdated: Outdated,
    },

    /// A subscription handler panicked; the subscription ended with it.
    #[error("the subscription handler panicked: {message}")]
    HandlerPanicked {
        /// The panic's message, when it was a string.
        message: String,
    },

    /// This library could not do its own part of the work: the system refused it a thread, or a value it
    /// holds could not be written as JSON text. Nothing about the request or the server was wrong.
    #[error("pieces-os-client could not {what}: {reason}")]
    Internal {
        /// What it could not do, as a verb phrase (`start the subscription thread`, …).
        what: &'static str,
        /// Why.
        reason: String,
        /// The underlying error, when there was one.
        #[source]
        source: Option<Cause>,
    },
}

/// Which side of an [`Error::IncompatibleVersion`] needs updating.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outdated {
    /// PiecesOS is older than the range: update PiecesOS.
    PiecesOs,
    /// PiecesOS is newer than the range: update this client.
    Client,
}

/// How many bytes of any text that came from the server an [`Error`] keeps: an HTTP error body, the
/// body of a refused WebSocket upgrade, a version answer, a message of the JSON parser that quotes the
/// body, a reason the HTTP or WebSocket layer gives. A longer text is cut at a character boundary and
/// marked with `…(cut at 4096 bytes)`, so that an error, its message and the C API's last-error JSON stay
/// small whatever a server sends.
pub const MAX_SERVER_TEXT_BYTES: usize = 4096;

/// How many bytes of an error response body are kept in [`Error::HttpStatus`]: the same as
/// [`MAX_SERVER_TEXT_BYTES`].
pub const MAX_ERROR_BODY_BYTES: usize = MAX_SERVER_TEXT_BYTES;

/// `text` as an error may keep it: at most [`MAX_SERVER_TEXT_BYTES`] of it, cut at a character boundary
/// and marked when it was longer.
pub(crate) fn clip(mut text: String) -> String {
    if text.len() > MAX_SERVER_TEXT_BYTES {
        let mut end = MAX_SERVER_TEXT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str(CUT_MARK);
    }
    text
}

/// What follows a text [`clip`] cut.
pub(crate) const CUT_MARK: &str = " …(cut at 4096 bytes)";

/// ` at line L column C` after a message, or nothing for an error not tied to a position.
fn position(line: usize, column: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(" at line {line} column {column}")
    }
}

fn describe_timeout(after: Option<Duration>) -> String {
    match after {
        Some(limit) => format!("{} ms", limit.as_millis()),
        None => "the configured timeout".to_owned(),
    }
}

impl Error {
    /// A short, stable name for the kind of failure, as used in the C API's last-error JSON:
    /// `invalid_input`, `invalid_json`, `connection`, `timeout`, `http_status`, `not_found`, `decode`,
    /// `body_too_large`, `websocket`, `not_running`, `incompatible_version`, `handler_panicked`,
    /// `internal`. These names never change; new variants add new names.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidInput { .. } => "invalid_input",
            Error::InvalidJson { .. } => "invalid_json",
            Error::Connection { .. } => "connection",
            Error::Timeout { .. } => "timeout",
            Error::HttpStatus { .. } => "http_status",
            Error::NotFound { .. } => "not_found",
            Error::Decode { .. } => "decode",
            Error::BodyTooLarge { .. } => "body_too_large",
            Error::WebSocket { .. } => "websocket",
            Error::NotRunning { .. } => "not_running",
            Error::IncompatibleVersion { .. } => "incompatible_version",
            Error::HandlerPanicked { .. } => "handler_panicked",
            Error::Internal { .. } => "internal",
        }
    }

    /// The HTTP status of a refused request or WebSocket upgrade, if there was one (410 for
    /// [`Error::NotFound`]).
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::HttpStatus { status, .. } => Some(*status),
            Error::NotFound { .. } => Some(410),
            Error::WebSocket { status, .. } => *status,
            _ => None,
        }
    }

    /// The server's response body of an [`Error::HttpStatus`] or [`Error::NotFound`], if there was one.
    pub fn body(&self) -> Option<&str> {
        match self {
            Error::HttpStatus { body, .. } | Error::NotFound { body, .. } => Some(body),
            _ => None,
        }
    }

    /// The JSON form of this error, as the C API's last error and the `error` member of subscription
    /// events carry it: `kind`, `message`, and when known `status` (HTTP), `body` (the server's text),
    /// `argument`, `endpoint`, `id` (of a message not found), `url`, `line` and `column` (1-based position of a JSON problem),
    /// `scanned`, `found`, `required` and `update`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut object = serde_json::json!({ "kind": self.kind(), "message": self.to_string() });
        let map = object.as_object_mut().expect("json! built an object");
        if let Some(status) = self.http_status() {
            map.insert("status".into(), status.into());
        }
        if let Some(body) = self.body() {
            map.insert("body".into(), body.into());
        }
        match self {
            Error::InvalidInput { argument, .. } => {
                map.insert("argument".into(), (*argument).into());
            }
            Error::InvalidJson {
                argument,
                line,
                column,
                ..
            } => {
                map.insert("argument".into(), (*argument).into());
                if *line > 0 {
                    map.insert("line".into(), (*line).into());
                    map.insert("column".into(), (*column).into());
                }
            }
            Error::Decode {
                endpoint,
                line,
                column,
                ..
            } => {
                map.insert("endpoint".into(), (*endpoint).into());
                if *line > 0 {
                    map.insert("line".into(), (*line).into());
                    map.insert("column".into(), (*column).into());
                }
            }
            Error::HttpStatus { endpoint, .. } | Error::BodyTooLarge { endpoint, .. } => {
                map.insert("endpoint".into(), (*endpoint).into());
            }
            Error::NotFound { endpoint, id, .. } => {
                map.insert("endpoint".into(), (*endpoint).into());
                map.insert("id".into(), id.as_str().into());
            }
            Error::Connection { url, .. } | Error::Timeout { url, .. } | Error::WebSocket { url, .. } => {
                map.insert("url".into(), url.as_str().into());
            }
            Error::NotRunning { scanned } => {
                map.insert("scanned".into(), scanned.to_string().into());
            }
            Error::IncompatibleVersion {
                found,
                required,
                outdated,
            } => {
                map.insert("found".into(), found.as_str().into());
                map.insert("required".into(), required.to_string().into());
                let update = match outdated {
                    Outdated::PiecesOs => "pieces-os",
                    Outdated::Client => "client",
                };
                map.insert("update".into(), update.into());
            }
            Error::HandlerPanicked { .. } | Error::Internal { .. } => {}
        }
        object
    }

    pub(crate) fn invalid_input(argument: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            argument,
            reason: clip(reason.into()),
        }
    }

    pub(crate) fn invalid_json(argument: &'static str, err: serde_json::Error) -> Self {
        Error::InvalidJson {
            argument,
            message: serde_message(&err),
            line: err.line(),
            column: err.column(),
            source: Some(Box::new(err)),
        }
    }

    pub(crate) fn decode(endpoint: &'static str, err: serde_json::Error) -> Self {
        Error::Decode {
            endpoint,
            message: serde_message(&err),
            line: err.line(),
            column: err.column(),
            source: Some(Box::new(err)),
        }
    }

    /// A body of `endpoint` that is not UTF-8 text.
    pub(crate) fn invalid_utf8(endpoint: &'static str, err: std::str::Utf8Error) -> Self {
        Error::Decode {
            endpoint,
            message: format!("invalid UTF-8 at byte {}", err.valid_up_to()),
            line: 0,
            column: 0,
            source: Some(Box::new(err)),
        }
    }

    /// A body of `endpoint` that is not what it should be, for a reason that is not a serde error.
    pub(crate) fn decode_message(endpoint: &'static str, message: impl Into<String>) -> Self {
        Error::Decode {
            endpoint,
            message: clip(message.into()),
            line: 0,
            column: 0,
            source: None,
        }
    }

    /// A WebSocket failure at `url`, with the error behind it when there is one.
    pub(crate) fn websocket(url: &str, reason: impl Into<String>, source: Option<Cause>) -> Self {
        Error::WebSocket {
            url: url.to_owned(),
            status: None,
            reason: clip(reason.into()),
            source,
        }
    }

    /// A connection to `url` that could not be made or broke.
    pub(crate) fn connection(url: &str, reason: impl Into<String>, source: Option<Cause>) -> Self {
        Error::Connection {
            url: url.to_owned(),
            reason: clip(reason.into()),
            source,
        }
    }

    /// Something this library could not do itself; see [`Error::Internal`].
    pub(crate) fn internal(
        what: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Internal {
            what,
            reason: source.to_string(),
            source: Some(Box::new(source)),
        }
    }
}

/// The text of a panic payload (a `&str` or `String` message), for [`Error::HandlerPanicked`] and the C
/// API's panic boundary.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// serde_json's `Display` appends " at line L column C"; the position has fields of its own here. The
/// message may quote the text it read (`invalid type: string "…"`), so it is cut like any server text.
fn serde_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    clip(match text.strip_suffix(&suffix) {
        Some(message) => message.to_owned(),
        None => text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_without_a_position_do_not_show_one() {
        let error = Error::Decode {
            endpoint: "messages_snapshot",
            message: "the text holds a NUL byte at offset 3".into(),
            line: 0,
            column: 0,
            source: None,
        };
        assert_eq!(
            error.to_string(),
            "messages_snapshot returned a body that does not decode: the text holds a NUL byte at offset 3"
        );
        let error = Error::InvalidJson {
            argument: "seed",
            message: "expected a string".into(),
            line: 0,
            column: 0,
            source: None,
        };
        assert_eq!(error.to_string(), "invalid JSON for seed: expected a string");
        let error = Error::InvalidJson {
            argument: "seed",
            message: "expected a string".into(),
            line: 2,
            column: 7,
            source: None,
        };
        assert_eq!(
            error.to_string(),
            "invalid JSON for seed: expected a string at line 2 column 7"
        );
    }

    #[test]
    fn decode_error_keeps_position_out_of_the_message() {
        let err = serde_json::from_str::<serde_json::Value>("{\n  \"a\": tru }").unwrap_err();
        let column = err.column();
        let error = Error::decode("messages_snapshot", err);
        match &error {
            Error::Decode {
                message,
                line,
                column,
                ..
            } => {
                assert_eq!(*line, 2);
                assert!(*column > 0);
                assert!(!message.contains("at line"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let shown = error.to_string();
        assert!(shown.starts_with("messages_snapshot returned a body that does not decode"));
        assert!(shown.ends_with(&format!("at line 2 column {column}")));
        let source = std::error::Error::source(&error).expect("the serde error is kept as the source");
        assert!(source.downcast_ref::<serde_json::Error>().is_some());
    }

    #[test]
    fn http_status_shows_body_and_exposes_it() {
        let error = Error::HttpStatus {
            endpoint: "messages_delete_specific_message",
            status: 500,
            body: "no such message".into(),
        };
        assert_eq!(
            error.to_string(),
            "messages_delete_specific_message failed with HTTP 500: no such message"
        );
        assert_eq!(error.http_status(), Some(500));
        assert_eq!(error.body(), Some("no such message"));
        assert_eq!(error.kind(), "http_status");
    }

    #[test]
    fn not_found_is_its_own_kind_with_status_body_and_id() {
        let error = Error::NotFound {
            endpoint: "message_specific_message_snapshot",
            id: "m-1".into(),
            body: "no such message".into(),
        };
        assert_eq!(
            error.to_string(),
            "message_specific_message_snapshot: PiecesOS holds no message with id \"m-1\" (HTTP 410: no such message)"
        );
        assert_eq!(error.kind(), "not_found");
        assert_eq!(error.http_status(), Some(410));
        assert_eq!(error.body(), Some("no such message"));
        let json = error.to_json();
        assert_eq!(json["status"], 410);
        assert_eq!(json["id"], "m-1");
        assert_eq!(json["endpoint"], "message_specific_message_snapshot");
        assert_eq!(json["body"], "no such message");
    }

    #[test]
    fn connection_error_reads_as_advice() {
        let error = Error::connection("http://127.0.0.1:39300", "connection refused", None);
        assert_eq!(
            error.to_string(),
            "PiecesOS is not reachable at http://127.0.0.1:39300: connection refused"
        );
        assert_eq!(error.http_status(), None);
    }

    #[test]
    fn an_error_without_a_position_names_none() {
        let error = Error::decode_message("well_known_version", "\"banana\" is not a version");
        assert_eq!(
            error.to_string(),
            "well_known_version returned a body that does not decode: \"banana\" is not a version"
        );
        assert!(std::error::Error::source(&error).is_none());
        let bytes = vec![b'a', b'b', 0xff];
        let error = Error::invalid_utf8("e", std::str::from_utf8(&bytes).unwrap_err());
        assert!(error.to_string().ends_with("invalid UTF-8 at byte 2"), "{error}");
        assert!(std::error::Error::source(&error)
            .and_then(|cause| cause.downcast_ref::<std::str::Utf8Error>())
            .is_some());
    }

    #[test]
    fn not_running_names_the_environment_variable_that_helps() {
        let error = Error::NotRunning {
            scanned: crate::ports::DEFAULT_PORTS,
        };
        assert!(
            error.to_string().contains(crate::config::PIECES_OS_URL_ENV),
            "{error}"
        );
    }

    #[test]
    fn long_texts_are_cut_at_a_character_boundary() {
        assert_eq!(clip("short".to_owned()), "short");
        let exact = "x".repeat(MAX_SERVER_TEXT_BYTES);
        assert_eq!(clip(exact.clone()), exact);
        // A two-byte character straddles the limit: the cut falls before it.
        let long = format!("{}é{}", "x".repeat(MAX_SERVER_TEXT_BYTES - 1), "y".repeat(10));
        let cut = clip(long);
        assert_eq!(cut.len(), MAX_SERVER_TEXT_BYTES - 1 + CUT_MARK.len());
        assert!(cut.ends_with(CUT_MARK), "{cut}");
        let huge = serde_json::from_str::<u32>(&format!("\"{}\"", "z".repeat(1 << 20))).unwrap_err();
        let error = Error::decode("e", huge);
        assert!(
            error.to_string().len() < MAX_SERVER_TEXT_BYTES + 200,
            "{}",
            error.to_string().len()
        );
        assert!(error.to_json().to_string().len() < MAX_SERVER_TEXT_BYTES + 300);
    }

    #[test]
    fn internal_failures_have_a_kind_and_keep_their_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::WouldBlock, "no more threads");
        let error = Error::internal("start the subscription thread", io);
        assert_eq!(error.kind(), "internal");
        assert_eq!(
            error.to_string(),
            "pieces-os-client could not start the subscription thread: no more threads"
        );
        let cause = std::error::Error::source(&error).expect("the I/O error is kept");
        assert!(cause.downcast_ref::<std::io::Error>().is_some());
        assert_eq!(error.to_json()["kind"], "internal");
    }
}
