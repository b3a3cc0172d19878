//! The HTTP endpoints (the four of the ConversationMessagesApi, and getting and updating one message),
//! JSON text in and out, and [`pieces_transferables`].

use std::ffi::c_char;

use super::boundary::{c_str, checked_json_c_string, handle, Out};
use super::client::pieces_client;
use super::status::{pieces_status, CallError};
use crate::messages::Transferables;

/// Whether PiecesOS includes heavy content (such as a fragment's text) in what it answers: one of the
/// `PIECES_TRANSFERABLES_*` constants. An integer, checked on every call: any other value is
/// PIECES_STATUS_INVALID_ARGUMENT.
#[allow(non_camel_case_types)]
pub type pieces_transferables = u32;

/// Leave the `transferables` query parameter out, as the official SDKs do when it is unset (PiecesOS
/// then includes the content).
pub const PIECES_TRANSFERABLES_DEFAULT: pieces_transferables = 0;
/// `transferables=true`: include the content.
pub const PIECES_TRANSFERABLES_INCLUDE: pieces_transferables = 1;
/// `transferables=false`: leave the content out (ids, timestamps and the rest stay).
pub const PIECES_TRANSFERABLES_EXCLUDE: pieces_transferables = 2;

fn transferables(value: pieces_transferables) -> Result<Transferables, CallError> {
    match value {
        PIECES_TRANSFERABLES_DEFAULT => Ok(Transferables::Default),
        PIECES_TRANSFERABLES_INCLUDE => Ok(Transferables::Include),
        PIECES_TRANSFERABLES_EXCLUDE => Ok(Transferables::Exclude),
        other => Err(CallError::argument(
            "transferables",
            format!("{other} is not a pieces_transferables (0 DEFAULT, 1 INCLUDE or 2 EXCLUDE)"),
        )),
    }
}

/// `messages_snapshot` (`GET /messages`): every conversation message, as the server's JSON text (a
/// `ConversationMessages`: `{"iterable": [...], "indices": {...}}`), checked against the model but not
/// re-encoded.
///
/// # Ownership
/// On success `*out_json` receives a new string; free it with pieces_string_free().
///
/// # NULL
/// `client` and `out_json` must not be NULL.
///
/// # Threads
/// Any thread; blocks it until the answer arrived or a timeout ran out.
///
/// # Errors
/// PIECES_STATUS_NULL_PARAMETER, PIECES_STATUS_INVALID_ARGUMENT (`transferables` out of range),
/// PIECES_STATUS_CONNECTION, PIECES_STATUS_TIMEOUT, PIECES_STATUS_HTTP_STATUS (the last error has
/// `status` and `body`), PIECES_STATUS_DECODE, PIECES_STATUS_BODY_TOO_LARGE.
///
/// # Safety
/// `client` is NULL or a live client; `out_json` is NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn pieces_messages_snapshot(
    client: *const pieces_client,
    transferables: pieces_transferables,
    out_json: *mut *mut c_char,
) -> pieces_status {
    ffi_boundary! {
        // SAFETY: NULL or a live client, as the caller guarantees.
        let client = unsafe { handle(client, "client") }?;
        let out = Out::new(out_json, "out_json")?;
        let transferables = self::transferables(transferables)?;
        let json = client.client.snapshot_messages_json(transferables)?;
        let json = checked_json_c_string(json);
        // SAFETY: `out_json` is valid for writing a pointer, as the caller guarantees.
        unsafe { out.write(json) };
        Ok(())
    }
}

/// `messages_create_specific_message` (`POST /messages/create`): creates a message from a
/// `SeededConversationMessage` given as JSON text (for example
/// `{"role": "USER", "conversation": {"id": "..."}, "fragment": {"string": {"raw": "text"}}}`), and
/// returns the stored `ConversationMessage` as the server's JSON text.
///
/// The seed is checked against its model before anything is sent, then sent unchanged (keys this
/// library does not know are kept). PiecesOS refuses a seed without a `conversation` (HTTP 500).
///
/// # Ownership
/// `seed_json` is only read during the call. On success `*out_json` receives a new string; free it with
/// pieces_string_free().
///
/// # NULL
/// No parameter may be NULL.
///
/// # Threads
/// Any thread; blocks it until the answer arrived or a timeout ran out.
///
/// # Errors
/// PIECES_STATUS_NULL_PARAMETER, PIECES_STATUS_INVALID_UTF8, PIECES_STATUS_INVALID_JSON (the last
/// error has `message`, `line`, `column`; nothing was sent), PIECES_STATUS_INVALID_ARGUMENT,
/// PIECES_STATUS_CONNECTION, PIECES_STATUS_TIMEOUT, PIECES_STATUS_HTTP_STATUS, PIECES_STATUS_DECODE,
/// PIECES_STATUS_BODY_TOO_LARGE.
///
/// # Safety
/// `client` is NULL or a live client; `seed_json` is NULL or NUL-terminated; `out_json` is NULL or
/// valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn pieces_messages_create(
    client: *const pieces_client,
    seed_json: *const c_char,
    transferables: pieces_transferables,
    out_json: *mut *mut c_char,
) -> pieces_status {
    ffi_boundary! {
        // SAFETY: NULL or a live client, as the caller guarantees.
        let client = unsafe { handle(client, "client") }?;
        // SAFETY: NULL or NUL-terminated, as the caller guarantees.
        let seed = unsafe { c_str(seed_json, "seed_json") }?;
        let out = Out::new(out_json, "out_json")?;
        let transferables = self::transferables(transferables)?;
        let json = client.client.create_message_json(seed, transferables)?;
        let json = checked_json_c_string(json);
        // SAFETY: `out_json` is valid for writing a pointer, as the caller guarantees.
        unsafe { out.write(json) };
        Ok(())
    }
}

/// `messages_delete_specific_message` (`POST /messages/{message}/delete`): deletes a message.
///
/// The id is percent-encoded as one path segment, so no id can reach another path.
///
/// # Ownership
/// `message_id` is only read during the call.
///
/// # NULL
/// No parameter may be NULL.
///
/// # Threads
/// Any thread; blocks it until the answer arrived or a timeout ran out.
///
/// # Errors
/// PIECES_STATUS_NULL_PARAMETER, PIECES_STATUS_INVALID_UTF8, PIECES_STATUS_INVALID_ARGUMENT (an empty
/// id), PIECES_STATUS_CONNECTION, PIECES_STATUS_TIMEOUT, PIECES_STATUS_HTTP_STATUS (PiecesOS answers
/// 500 for an id it does not know; the last error has `status` and `body`).
///
/// # Safety
/// `client` is NULL or a live client; `message_id` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn pieces_messages_delete(
    client: *const pieces_client,
    message_id: *const c_char,
) -> pieces_status {
    ffi_boundary! {
        // SAFETY: NULL or a live client, as the caller guarantees.
        let client = unsafe { handle(client, "client") }?;
        // SAFETY: NULL or NUL-terminated, as the caller guarantees.
        let id = unsafe { c_str(message_id, "message_id") }?;
        client.client.delete_message(id)?;
        Ok(())
    }
}

/// `search_messages` (`POST /messages/search`): searches the messages' text with a `SearchInput` given
/// as JSON text (for example `{"engines": {"iterable": [{"query": "lifetime"}]}}`), and returns the
/// `SearchedConversationMessages` as the server's JSON text.
///
/// The input is checked against its model before anything is sent, then sent unchanged.
///
/// # Ownership
/// `search_input_json` is only read during the call. On success `*out_json` receives a new string; free
/// it with pieces_string_free().
///
/// # NULL
/// No parameter may be NULL.
///
/// # Threads
/// Any thread; blocks it until the answer arrived or a timeout ran out.
///
/// # Errors
/// As pieces_messages_create().
///
/// # Safety
/// `client` is NULL or a live client; `search_input_json` is NULL or NUL-terminated; `out_json` is
/// NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn pieces_messages_search(
    client: *const pieces_client,
    search_input_json: *const c_char,
    transferables: pieces_transferables,
    out_json: *mut *mut c_char,
) -> pieces_status {
    ffi_boundary! {
        // SAFETY: NULL or a live client, as the caller guarantees.
        let client = unsafe { handle(client, "client") }?;
        // SAFETY: NULL or NUL-terminated, as the caller guarantees.
        let input = unsafe { c_str(search_input_json, "search_input_json") }?;
        let out = Out::new(out_json, "out_json")?;
        let transferables = self::transferables(transferables)?;
        let json = client.client.search_messages_json(input, transferables)?;
        let json = checked_json_c_string(json);
        // SAFETY: `out_json` is valid for writing a pointer, as the caller guarantees.
        unsafe { out.write(json) };
        Ok(())
    }
}

/// `message_specific_message_snapshot` (`GET /message/{message}`): one message, as the server's JSON
/// text (a `ConversationMessage`), checked against the model but not re-encoded.
///
/// The id is percent-encoded as one path segment, so no id can reach another path.
///
/// # Ownership
/// `message_id` is only read during the call. On success `*out_json` receives a new string; free it
/// with pieces_string_free().
///
/// # NULL
/// No parameter may be NULL.
///
/// # Threads
/// Any thread; blocks it until the answer arrived or a timeout ran out.
///
/// # Errors
/// PIECES_STATUS_NOT_FOUND: PiecesOS holds no message with this id (it answered HTTP 410; the last
/// error has `status`, `body` and `id`). PIECES_STATUS_NULL_PARAMETER, PIECES_STATUS_INVALID_UTF8,
/// PIECES_STATUS_INVALID_ARGUMENT (an empty id, `transferables` out of range),
/// PIECES_STATUS_CONNECTION, PIECES_STATUS_TIMEOUT, PIECES_STATUS_HTTP_STATUS, PIECES_STATUS_DECODE,
/// PIECES_STATUS_BODY_TOO_LARGE.
///
/// # Safety
/// `client` is NULL or a live client; `message_id` is NULL or NUL-terminated; `out_json` is NULL or
/// valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn pieces_messages_get(
    client: *const pieces_client,
    message_id: *const c_char,
    transferables: pieces_transferables,
    out_json: *mut *mut c_char,
) -> pieces_status {
    ffi_boundary! {
        // SAFETY: NULL or a live client, as the caller guarantees.
        let client = unsafe { handle(client, "client") }?;
        // SAFETY: NULL or NUL-terminated, as the caller guarantees.
        let id = unsafe { c_str(message_id, "message_id") }?;
        let out = Out::new(out_json, "out_json")?;
        let transferables = self::transferables(transferables)?;
        let json = client.client.get_message_json(id, transferables)?;
        let json = checked_json_c_string(json);
        // SAFETY: `out_json` is valid for writing a pointer, as the caller guarantees.
        unsafe { out.write(json) };
        Ok(())
    }
}

/// `message_specific_message_update` (`POST /message/update`): sends a whole `ConversationMessage`
/// given as JSON text (PiecesOS finds the message by its `id`) and returns the message as stored, as
/// the server's JSON text.
///
/// The message is checked against its model before anything is sent, then sent unchanged, so every key
/// of it is kept, those this library does not know included: a message fetched, changed in one field
/// and sent back keeps all the others. Send a message fetched with its content (transferables DEFAULT
/// or INCLUDE): PiecesOS stores what it is sent.
///
/// # Ownership
/// `message_json` is only read during the call. On success `*out_json` receives a new string; free it
/// with pieces_string_free().
///
/// # NULL
/// No parameter may be NULL.
///
/// # Threads
/// Any thread; blocks it until the answer arrived or a timeout ran out.
///
/// # Errors
/// As pieces_messages_create(); PiecesOS answers an id it does not know with HTTP 500
/// (PIECES_STATUS_HTTP_STATUS).
///
/// # Safety
/// `client` is NULL or a live client; `message_json` is NULL or NUL-terminated; `out_json` is NULL or
/// valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn pieces_messages_update(
    client: *const pieces_client,
    message_json: *const c_char,
    transferables: pieces_transferables,
    out_json: *mut *mut c_char,
) -> pieces_status {
    ffi_boundary! {
        // SAFETY: NULL or a live client, as the caller guarantees.
        let client = unsafe { handle(client, "client") }?;
        // SAFETY: NULL or NUL-terminated, as the caller guarantees.
        let message = unsafe { c_str(message_json, "message_json") }?;
        let out = Out::new(out_json, "out_json")?;
        let transferables = self::transferables(transferables)?;
        let json = client.client.update_message_json(message, transferables)?;
        let json = checked_json_c_string(json);
        // SAFETY: `out_json` is valid for writing a pointer, as the caller guarantees.
        unsafe { out.write(json) };
        Ok(())
    }
}
