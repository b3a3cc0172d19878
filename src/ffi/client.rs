//! [`pieces_client`]: a configured connection pool to PiecesOS.

use super::boundary::{c_str, Out};
use super::status::Failure;
use crate::client::Client;
use crate::config::ClientConfig;
use std::ffi::c_char;

/// A client for one PiecesOS: its base URL, application id, timeouts and a pool of kept-alive
/// connections. Opaque; made by pieces_client_new(), released by pieces_client_free().
///
/// Thread-safe: one client may be used by any number of threads at once, and calls on it do not
/// serialise each other (each waits only for its own request).
#[allow(non_camel_case_types)]
pub struct pieces_client {
    pub(crate) client: Client,
}

/// Makes a client from a JSON configuration.
///
/// `config_json` is the JSON form of `ClientConfig`: an object whose keys are all optional —
/// `base_url` (default: the `PIECES_OS_URL` environment variable, else `"http://127.0.0.1:39300"`),
/// `application_id` (sent as the API key; default none), `api_key_header` (`"X-Application-ID"`),
/// `connect_timeout_ms` (2000), `request_timeout_ms` (60000; `null`: none), `max_body_bytes` (1 GiB),
/// `user_agent`, and `stream`: {`retry_initial_ms`, `retry_max_ms`, `max_attempts` (`null`: retry
/// forever), `ping_interval_ms`, `idle_timeout_ms`, `queue_capacity`}. Unknown keys are refused.
/// Nothing is sent: the first request connects.
///
/// # Ownership
/// On success `*out` receives a new client, which the caller frees with pieces_client_free().
/// `config_json` is only read during the call.
///
/// # NULL
/// `config_json` may be NULL: every setting takes its default. `out` must not be NULL.
///
/// # Threads
/// Any thread.
///
/// # Errors
/// PIECES_STATUS_NULL_PARAMETER (`out`), PIECES_STATUS_INVALID_UTF8, PIECES_STATUS_INVALID_JSON (not
/// JSON, a wrong type, an unknown key: the last error has `message`, `line`, `column`),
/// PIECES_STATUS_INVALID_ARGUMENT (a value refused, such as a base URL that is not http(s)://, a header
/// value with CR/LF, a zero timeout: the last error's `argument` names it).
///
/// # Safety
/// `config_json` is NULL or a NUL-terminated string; `out` is NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn pieces_client_new(
    config_json: *const c_char,
    out: *mut *mut pieces_client,
) -> super::pieces_status {
    ffi_boundary! {
        let out = Out::new(out, "out")?;
        let config = if config_json.is_null() {
            ClientConfig::default()
        } else {
            // SAFETY: non-NULL, and NUL-terminated as the caller guarantees.
            ClientConfig::from_json(unsafe { c_str(config_json, "config_json") }?)?
        };
        let client = Client::new(config)?;
        let handle = Box::into_raw(Box::new(pieces_client { client }));
        // SAFETY: `out` is valid for writing a pointer, as the caller guarantees.
        unsafe { out.write(handle) };
        Ok::<(), Failure>(())
    }
}

/// Frees a client.
///
/// Subscriptions made from it keep working until they are freed themselves (they share the client's
/// settings, not its handle).
///
/// # Ownership
/// Takes the client back; it must not be used afterwards, and no other call on it may still be running.
///
/// # NULL
/// NULL is accepted and does nothing.
///
/// # Threads
/// Any thread, inside a subscription callback too.
///
/// # Safety
/// `client` is NULL or a client from pieces_client_new() that has not been freed yet.
#[no_mangle]
pub unsafe extern "C" fn pieces_client_free(client: *mut pieces_client) {
    ffi_boundary! {
        if client.is_null() {
            return;
        }
        // SAFETY: a live client from pieces_client_new (`Box::into_raw`), given back once.
        drop(unsafe { Box::from_raw(client) });
    }
}
