//! The one error type of the crate.
//!
//! Every failure names what failed (the argument, the URL, the endpoint) and carries what the caller needs
//! to act on it: the HTTP status and the server's text body, the position of a decode error, the limit that
//! was exceeded. The C API maps each variant to a `pieces_status` and to the last-error JSON through
//! [`Error::kind`], [`Error::http_status`] and [`Error::body`].

use std::time::Duration;

use crate::discovery::PortRange;
use crate::health::VersionRange;

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
    #[error("invalid JSON for {argument}: {message}{}", at_position(*.line, *.column))]
    InvalidJson {
        /// Which argument (for example `seed`, `search_input`, `config`).
        argument: &'static str,
        /// What serde found wrong.
        message: String,
        /// 1-based line of the problem (0 when it is not tied to a position).
        line: usize,
        /// 1-based column of the problem (0 when it is not tied to a position).
        column: usize,
    },

    /// The TCP connection could not be made or broke while the request was under way.
    #[error("PiecesOS is not reachable at {url}: {reason}")]
    Connection {
        /// The URL that was being requested.
        url: String,
        /// What the operating system or the HTTP layer said (connection refused, reset, …).
        reason: String,
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
        /// [`MAX_ERROR_BODY_BYTES`].
        body: String,
    },

    /// The server answered with a body that is not the endpoint's model.
    #[error("{endpoint} returned a body that does not decode: {message}{}", at_position(*.line, *.column))]
    Decode {
        /// The documented operation whose response did not decode.
        endpoint: &'static str,
        /// What serde found wrong.
        message: String,
        /// 1-based line of the problem in the body (0 when not tied to a position).
        line: usize,
        /// 1-based column of the problem in the body (0 when not tied to a position).
        column: usize,
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
    },

    /// PiecesOS is not running: no port of the scanned range answered its health check. Only a client
    /// that discovers PiecesOS (one built without a base URL, see [`crate::discovery`]) reports this; a
    /// client given a URL reports [`Error::Connection`] when nothing answers there.
    #[error(
        "PiecesOS is not running: nothing answered on 127.0.0.1 ports {scanned} (start PiecesOS, or set {} \
         to where it listens)",
        crate::config::PIECES_OS_URL_ENV
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
}

/// Which side of an [`Error::IncompatibleVersion`] needs updating.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outdated {
    /// PiecesOS is older than the range: update PiecesOS.
    PiecesOs,
    /// PiecesOS is newer than the range: update this client.
    Client,
}

/// How many bytes of an error response body are kept in [`Error::HttpStatus`].
pub const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

fn describe_timeout(after: Option<Duration>) -> String {
    match after {
        Some(limit) => format!("{} ms", limit.as_millis()),
        None => "the configured timeout".to_owned(),
    }
}

impl Error {
    /// A short, stable name for the kind of failure, as used in the C API's last-error JSON:
    /// `invalid_input`, `invalid_json`, `connection`, `timeout`, `http_status`, `decode`,
    /// `body_too_large`, `websocket`, `not_running`, `incompatible_version`, `handler_panicked`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidInput { .. } => "invalid_input",
            Error::InvalidJson { .. } => "invalid_json",
            Error::Connection { .. } => "connection",
            Error::Timeout { .. } => "timeout",
            Error::HttpStatus { .. } => "http_status",
            Error::Decode { .. } => "decode",
            Error::BodyTooLarge { .. } => "body_too_large",
            Error::WebSocket { .. } => "websocket",
            Error::NotRunning { .. } => "not_running",
            Error::IncompatibleVersion { .. } => "incompatible_version",
            Error::HandlerPanicked { .. } => "handler_panicked",
        }
    }

    /// The HTTP status of a refused request or WebSocket upgrade, if there was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::HttpStatus { status, .. } => Some(*status),
            Error::WebSocket { status, .. } => *status,
            _ => None,
        }
    }

    /// The server's response body of an [`Error::HttpStatus`], if there was one.
    pub fn body(&self) -> Option<&str> {
        match self {
            Error::HttpStatus { body, .. } => Some(body),
            _ => None,
        }
    }

    /// The JSON form of this error, as the C API's last error and the `error` member of subscription
    /// events carry it: `kind`, `message`, and when known `status` (HTTP), `body` (the server's text),
    /// `argument`, `endpoint`, `url`, `line` and `column` (1-based position of a JSON problem),
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
            Error::HandlerPanicked { .. } => {}
        }
        object
    }

    pub(crate) fn invalid_input(argument: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            argument,
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_json(argument: &'static str, err: &serde_json::Error) -> Self {
        Error::InvalidJson {
            argument,
            message: serde_message(err),
            line: err.line(),
            column: err.column(),
        }
    }

    pub(crate) fn decode(endpoint: &'static str, err: &serde_json::Error) -> Self {
        Error::Decode {
            endpoint,
            message: serde_message(err),
            line: err.line(),
            column: err.column(),
        }
    }
}

/// ` at line L column C` for an error tied to a position in a text, and nothing for one that is not (line
/// 0): "at line 0 column 0" would point at a place that does not exist.
fn at_position(line: usize, column: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(" at line {line} column {column}")
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

/// serde_json's `Display` appends " at line L column C"; the position has fields of its own here.
fn serde_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    match text.strip_suffix(&suffix) {
        Some(message) => message.to_owned(),
        None => text,
    }
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
        };
        assert_eq!(error.to_string(), "invalid JSON for seed: expected a string");
        let error = Error::InvalidJson {
            argument: "seed",
            message: "expected a string".into(),
            line: 2,
            column: 7,
        };
        assert_eq!(
            error.to_string(),
            "invalid JSON for seed: expected a string at line 2 column 7"
        );
    }

    #[test]
    fn decode_error_keeps_position_out_of_the_message() {
        let err = serde_json::from_str::<serde_json::Value>("{\n  \"a\": tru }").unwrap_err();
        let error = Error::decode("messages_snapshot", &err);
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
        assert!(shown.ends_with(&format!("at line 2 column {}", err.column())));
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
    fn connection_error_reads_as_advice() {
        let error = Error::Connection {
            url: "http://127.0.0.1:39300".into(),
            reason: "connection refused".into(),
        };
        assert_eq!(
            error.to_string(),
            "PiecesOS is not reachable at http://127.0.0.1:39300: connection refused"
        );
        assert_eq!(error.http_status(), None);
    }
}
