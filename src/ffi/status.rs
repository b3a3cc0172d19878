//! [`pieces_status`], the mapping from [`crate::Error`], and the thread-local last error.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::ptr;

use serde_json::{Map, Value};

use crate::error::Error;

/// The outcome of a call. Values are explicit and never renumbered; later releases only add values, so
/// treat an unknown value as a failure and read pieces_last_error_json().
///
/// In C this is a `uint32_t` with the `PIECES_STATUS_*` constants below.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum pieces_status {
    /// Success; out-parameters have been written.
    Ok = 0,
    /// A pointer parameter that must not be NULL was NULL; the last error names it.
    NullParameter = 1,
    /// A string parameter is not valid UTF-8; the last error names it and the byte offset.
    InvalidUtf8 = 2,
    /// A JSON parameter (config, seed, search input, message, mirror options) is not valid JSON or not
    /// its model; nothing was sent. The last error has the message, `line` and `column`.
    InvalidJson = 3,
    /// A parameter was refused before anything was sent (a bad base URL, an empty message id, a
    /// `pieces_transferables` out of range, a call that does not fit the subscription's or mirror's
    /// mode, mirror options out of range, …).
    InvalidArgument = 4,
    /// PiecesOS could not be reached, or the connection broke during the request.
    Connection = 5,
    /// PiecesOS did not answer in time.
    Timeout = 6,
    /// PiecesOS answered with an HTTP error status; the last error has `status` and `body`.
    HttpStatus = 7,
    /// PiecesOS answered with a body that is not the endpoint's model.
    Decode = 8,
    /// The WebSocket stream failed.
    Websocket = 9,
    /// pieces_subscription_next(), pieces_mirror_next(): no event arrived within the timeout. Not a
    /// failure of the subscription or mirror; call again.
    NoEvent = 10,
    /// pieces_subscription_next(), pieces_mirror_next(): the terminal event has already been taken; no
    /// event will follow.
    Closed = 11,
    /// The call is not allowed from inside the callback of the subscription or mirror it is given.
    InCallback = 12,
    /// A panic (a bug in this library) was caught at the C boundary. The process is still sound, but
    /// the handle's state may be partial: free it.
    Panic = 13,
    /// A response body was larger than the configured `max_body_bytes`.
    BodyTooLarge = 14,
    /// PiecesOS is not running: the client has no `base_url` (nor `PIECES_OS_URL`), and no port of the
    /// scanned range answered its health check. The last error's `scanned` names the range
    /// (`"39300-39399"`). A client given a URL reports PIECES_STATUS_CONNECTION instead.
    NotRunning = 15,
    /// PiecesOS runs a version outside the client's `compatible_versions`. The last error has `found`
    /// (what PiecesOS reported), `required` (`">=12.0.0, <13.0.0"`) and `update` (`"pieces-os"`: PiecesOS
    /// is too old; `"client"`: this library is too old), and its message says the same.
    IncompatibleVersion = 16,
    /// The library could not do its own part of the work (the system refused it a thread, or it could
    /// not write a value as JSON text); nothing about the arguments or the server was wrong. The last
    /// error's `message` says what failed.
    Internal = 17,
    /// There is no such message: PiecesOS answered HTTP 410 for its id (pieces_messages_get(); the last
    /// error has `status` 410, `body` and `id`), or a mirror does not hold it (pieces_mirror_get()).
    NotFound = 18,
}

/// Why a call did not succeed: the status it returns and the last-error JSON it records.
#[derive(Debug)]
pub(crate) struct CallError {
    status: pieces_status,
    detail: Map<String, Value>,
}

impl CallError {
    fn new(status: pieces_status, kind: &str, message: String) -> Self {
        let mut detail = Map::new();
        detail.insert("kind".into(), kind.into());
        detail.insert("message".into(), message.into());
        CallError { status, detail }
    }

    fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.detail.insert(key.into(), value.into());
        self
    }

    /// A NULL where a pointer is needed.
    pub(crate) fn null(parameter: &'static str) -> Self {
        CallError::new(
            pieces_status::NullParameter,
            "null_parameter",
            format!("{parameter} is NULL"),
        )
        .with("argument", parameter)
    }

    /// A string parameter that is not UTF-8; `valid_up_to` is the offset of the first bad byte.
    pub(crate) fn utf8(parameter: &'static str, valid_up_to: usize) -> Self {
        CallError::new(
            pieces_status::InvalidUtf8,
            "invalid_utf8",
            format!("{parameter} is not valid UTF-8 (the first invalid byte is at offset {valid_up_to})"),
        )
        .with("argument", parameter)
        .with("offset", valid_up_to)
    }

    /// A parameter refused before anything was sent.
    pub(crate) fn argument(parameter: &'static str, reason: impl Into<String>) -> Self {
        Error::invalid_input(parameter, reason).into()
    }

    /// Nothing arrived in time (pull mode).
    pub(crate) fn no_event(timeout_ms: i32) -> Self {
        CallError::new(
            pieces_status::NoEvent,
            "no_event",
            format!("no event arrived within {timeout_ms} ms"),
        )
    }

    /// The terminal event has already been taken (pull mode).
    pub(crate) fn closed() -> Self {
        CallError::new(
            pieces_status::Closed,
            "closed",
            "it has ended: its terminal event was already taken".to_owned(),
        )
    }

    /// A call that would wait for the very thread it is made on.
    pub(crate) fn in_callback(function: &'static str) -> Self {
        CallError::new(
            pieces_status::InCallback,
            "in_callback",
            format!("{function} cannot be called from inside the callback of the handle it is given"),
        )
    }

    /// A mirror holds no message with this id.
    pub(crate) fn not_held(id: &str) -> Self {
        CallError::new(
            pieces_status::NotFound,
            "not_found",
            format!("the mirror holds no message with id {id:?}"),
        )
        .with("id", id)
    }

    /// A panic caught at the boundary.
    pub(crate) fn panic(message: &str) -> Self {
        CallError::new(
            pieces_status::Panic,
            "panic",
            format!("a panic was caught at the C boundary (a bug in pieces-os-client): {message}"),
        )
    }

    /// The status of this failure.
    #[cfg(test)]
    pub(crate) fn status(&self) -> pieces_status {
        self.status
    }

    /// Records this failure as the calling thread's last error and returns its status.
    pub(crate) fn record(self) -> pieces_status {
        let status = self.status;
        set_last_error(&Value::Object(self.detail));
        status
    }
}

impl From<Error> for CallError {
    fn from(error: Error) -> Self {
        let status = match &error {
            Error::InvalidInput { .. } => pieces_status::InvalidArgument,
            Error::InvalidJson { .. } => pieces_status::InvalidJson,
            Error::Connection { .. } => pieces_status::Connection,
            Error::Timeout { .. } => pieces_status::Timeout,
            Error::HttpStatus { .. } => pieces_status::HttpStatus,
            Error::NotFound { .. } => pieces_status::NotFound,
            Error::Decode { .. } => pieces_status::Decode,
            Error::BodyTooLarge { .. } => pieces_status::BodyTooLarge,
            Error::WebSocket { .. } => pieces_status::Websocket,
            Error::HandlerPanicked { .. } => pieces_status::Panic,
            Error::NotRunning { .. } => pieces_status::NotRunning,
            Error::IncompatibleVersion { .. } => pieces_status::IncompatibleVersion,
            Error::Internal { .. } => pieces_status::Internal,
        };
        let Value::Object(detail) = error.to_json() else {
            unreachable!("Error::to_json always builds an object")
        };
        CallError { status, detail }
    }
}

thread_local! {
    /// The last error of this thread, NUL-terminated, as pieces_last_error_json() hands it out.
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn set_last_error(detail: &Value) {
    // JSON text never holds a NUL byte (serde_json escapes U+0000), so this cannot fail.
    let Ok(text) = CString::new(detail.to_string()) else {
        return;
    };
    // During thread teardown the slot may already be gone; there is no one left to read it then.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = Some(text));
}

/// The last error of the calling thread, as JSON text, or NULL when no call on this thread has failed
/// yet.
///
/// The object has `kind` (a short stable name: `null_parameter`, `invalid_utf8`, `invalid_json`,
/// `invalid_input`, `connection`, `timeout`, `http_status`, `not_found`, `decode`, `websocket`,
/// `body_too_large`, `no_event`, `closed`, `in_callback`, `panic`, `not_running`,
/// `incompatible_version`, `internal`, …) and `message` (for people), and when they apply: `status` (the
/// HTTP status) and `body` (PiecesOS's text body), `argument` (the parameter at fault), `line` and
/// `column` (1-based position of a JSON problem), `offset` (of an invalid UTF-8 byte), `endpoint`, `id`
/// (of a message not found), `url`, `scanned` (the ports discovery tried), `found`, `required` and
/// `update` (of an incompatible version).
///
/// # Ownership
/// The string belongs to the library: do not free it. It stays valid until the next call of a
/// `pieces_*` function on the same thread, or the end of the thread; copy it to keep it.
///
/// # Threads
/// Each thread has its own last error. Every call that returns a status other than
/// PIECES_STATUS_OK sets it (PIECES_STATUS_NO_EVENT and PIECES_STATUS_CLOSED included); a successful
/// call leaves it unchanged, so read it right after a failing status.
#[no_mangle]
pub extern "C" fn pieces_last_error_json() -> *const c_char {
    ffi_boundary! {
        LAST_ERROR
            .try_with(|slot| slot.borrow().as_ref().map_or(ptr::null(), |text| text.as_ptr()))
            .unwrap_or(ptr::null())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_keep_their_numbers() {
        let expected = [
            (pieces_status::Ok, 0),
            (pieces_status::NullParameter, 1),
            (pieces_status::InvalidUtf8, 2),
            (pieces_status::InvalidJson, 3),
            (pieces_status::InvalidArgument, 4),
            (pieces_status::Connection, 5),
            (pieces_status::Timeout, 6),
            (pieces_status::HttpStatus, 7),
            (pieces_status::Decode, 8),
            (pieces_status::Websocket, 9),
            (pieces_status::NoEvent, 10),
            (pieces_status::Closed, 11),
            (pieces_status::InCallback, 12),
            (pieces_status::Panic, 13),
            (pieces_status::BodyTooLarge, 14),
            (pieces_status::NotRunning, 15),
            (pieces_status::IncompatibleVersion, 16),
            (pieces_status::Internal, 17),
            (pieces_status::NotFound, 18),
        ];
        for (status, value) in expected {
            assert_eq!(status as u32, value, "{status:?}");
        }
    }

    #[test]
    fn discovery_and_version_errors_have_their_own_statuses() {
        let failure = CallError::from(Error::NotRunning {
            scanned: crate::ports::DEFAULT_PORTS,
        });
        assert_eq!(failure.status(), pieces_status::NotRunning);
        assert_eq!(failure.detail["kind"], "not_running");
        assert_eq!(failure.detail["scanned"], "39300-39399");

        let failure = CallError::from(
            crate::version::VersionRange::default()
                .check("11.0.2")
                .unwrap_err(),
        );
        assert_eq!(failure.status(), pieces_status::IncompatibleVersion);
        assert_eq!(failure.detail["kind"], "incompatible_version");
        assert_eq!(failure.detail["found"], "11.0.2");
        assert_eq!(failure.detail["required"], ">=12.0.0, <13.0.0");
        assert_eq!(failure.detail["update"], "pieces-os");
        assert!(failure.detail["message"]
            .as_str()
            .unwrap()
            .ends_with("update PiecesOS"));
        let failure = CallError::from(
            crate::version::VersionRange::default()
                .check("13.0.0")
                .unwrap_err(),
        );
        assert_eq!(failure.detail["update"], "client");
    }

    #[test]
    fn errors_map_to_statuses_and_json() {
        let failure = CallError::from(Error::HttpStatus {
            endpoint: "messages_delete_specific_message",
            status: 500,
            body: "no such message".into(),
        });
        assert_eq!(failure.status(), pieces_status::HttpStatus);
        assert_eq!(failure.detail["kind"], "http_status");
        assert_eq!(failure.detail["status"], 500);
        assert_eq!(failure.detail["body"], "no such message");

        let err = serde_json::from_str::<Value>("{\n  x").unwrap_err();
        let failure = CallError::from(Error::invalid_json("seed", err));
        assert_eq!(failure.status(), pieces_status::InvalidJson);
        assert_eq!(failure.detail["line"], 2);
        assert_eq!(failure.detail["argument"], "seed");
        assert!(failure.detail["column"].as_u64().unwrap() > 0);
    }

    #[test]
    fn internal_failures_have_a_status_of_their_own() {
        let io = std::io::Error::other("no more threads");
        let failure = CallError::from(Error::internal("start the subscription thread", io));
        assert_eq!(failure.status(), pieces_status::Internal);
        assert_eq!(failure.detail["kind"], "internal");
    }
}
