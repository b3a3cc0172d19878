//! [`pieces_client`]: a configured connection pool to PiecesOS.

use super::boundary::{c_str, handle, owned_c_string, Out};
use super::status::CallError;
use crate::client::Client;
use crate::config::ClientConfig;
use crate::error::Error;
use crate::operation::WELL_KNOWN_VERSION;
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
/// `base_url` (default: the `PIECES_OS_URL` environment variable, else discovery: see below),
/// `application_id` (sent as the API key; default none), `api_key_header` (`"X-Application-ID"`),
/// `connect_timeout_ms` (2000), `request_timeout_ms` (60000; `null`: none), `max_body_bytes` (1 GiB),
/// `user_agent`, `stream`: {`retry_initial_ms`, `retry_max_ms`, `max_attempts` (`null`: retry
/// forever), `ping_interval_ms`, `idle_timeout_ms`, `queue_capacity`}, `discovery`: {`ports`
/// (`"START-END"`; `null`: the `PIECES_OS_PORTS` environment variable, else `"39300-39399"`),
/// `connect_timeout_ms` (50), `answer_timeout_ms` (500), `use_environment` (`true`; `false` ignores
/// `PIECES_OS_URL` and `PIECES_OS_PORTS`)}, and `compatible_versions`: {`at_least` (`"12.0.0"`),
/// `below` (`"13.0.0"`)}. Unknown keys are refused. Nothing is sent: the first request connects.
///
/// Without `base_url` (and `PIECES_OS_URL`), the client finds PiecesOS itself: at its first request it
/// scans the `discovery` ports of 127.0.0.1 and takes the lowest one whose `GET /.well-known/health`
/// answers 200. The URL found is kept, and found again when PiecesOS stops answering there (it may
/// restart on another port); subscriptions look again before each reconnection. Finding nothing is
/// PIECES_STATUS_NOT_RUNNING. See pieces_client_base_url().
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
        Ok::<(), CallError>(())
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

/// The base URL the client's requests go to, without a trailing slash: `base_url` of the configuration,
/// else `PIECES_OS_URL`, else the PiecesOS found by discovery (for example `"http://127.0.0.1:39300"`).
///
/// A client that discovers PiecesOS and has not found it yet scans now (a few milliseconds when nothing
/// listens; see pieces_client_new()), so this call also answers "is PiecesOS running?". The URL found is
/// kept for later requests.
///
/// # Ownership
/// On success `*out` receives a new string, which the caller frees with pieces_string_free().
///
/// # NULL
/// `client` and `out` must not be NULL.
///
/// # Threads
/// Any thread, inside a subscription callback too. Calls that need the URL while a scan runs wait for
/// that scan rather than start their own.
///
/// # Errors
/// PIECES_STATUS_NULL_PARAMETER, PIECES_STATUS_NOT_RUNNING (discovery found nothing; the last error's
/// `scanned` names the ports, e.g. `"39300-39399"`).
///
/// # Safety
/// `client` is NULL or a live client from pieces_client_new(); `out` is NULL or valid for writing a
/// pointer.
#[no_mangle]
pub unsafe extern "C" fn pieces_client_base_url(
    client: *const pieces_client,
    out: *mut *mut c_char,
) -> super::pieces_status {
    ffi_boundary! {
        // SAFETY: NULL or a live client, as the caller guarantees.
        let client = unsafe { handle(client, "client") }?;
        let out = Out::new(out, "out")?;
        // A base URL passed validation, which refuses control characters, NUL among them.
        let url = owned_c_string(client.client.base_url()?)
            .map_err(|err| Error::internal("hand the base URL to C", err))?;
        // SAFETY: `out` is valid for writing a pointer, as the caller guarantees.
        unsafe { out.write(url) };
        Ok(())
    }
}

/// Asks PiecesOS for its version (`GET /.well-known/version`) and checks it against the client's
/// `compatible_versions` (by default 12.0.0 or later, below 13.0.0, as the official plugins accept).
/// `debug`, the answer of a development build, always passes; a suffix such as `-beta` is ignored.
/// Call it once after making the client, before relying on PiecesOS.
///
/// # Ownership
/// On success, when `out_version` is not NULL, `*out_version` receives the version as PiecesOS reported
/// it (white space trimmed, e.g. `"12.1.0"`), which the caller frees with pieces_string_free().
///
/// # NULL
/// `client` must not be NULL. `out_version` may be NULL: then the version is only checked.
///
/// # Threads
/// Any thread, inside a subscription callback too.
///
/// # Errors
/// PIECES_STATUS_NULL_PARAMETER (`client`), PIECES_STATUS_INCOMPATIBLE_VERSION (the last error has
/// `found`, `required`, and `update`: `"pieces-os"` when PiecesOS is too old, `"client"` when this
/// library is; its `message` says which to update), PIECES_STATUS_NOT_RUNNING (discovery found nothing),
/// PIECES_STATUS_CONNECTION, PIECES_STATUS_TIMEOUT, PIECES_STATUS_HTTP_STATUS, PIECES_STATUS_DECODE
/// (the answer is not a version).
///
/// # Safety
/// `client` is NULL or a live client from pieces_client_new(); `out_version` is NULL or valid for
/// writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn pieces_client_check_version(
    client: *const pieces_client,
    out_version: *mut *mut c_char,
) -> super::pieces_status {
    ffi_boundary! {
        // SAFETY: NULL or a live client, as the caller guarantees.
        let client = unsafe { handle(client, "client") }?;
        let out = match out_version.is_null() {
            true => None,
            false => Some(Out::new(out_version, "out_version")?),
        };
        let version = client.client.check_version()?;
        if let Some(out) = out {
            let version = owned_c_string(version).map_err(|err| {
                let at = err.nul_position();
                Error::decode_message(WELL_KNOWN_VERSION.name, format!("the version holds a NUL byte at offset {at}"))
            })?;
            // SAFETY: `out_version` is not NULL and valid for writing a pointer, as the caller
            // guarantees.
            unsafe { out.write(version) };
        }
        Ok(())
    }
}
