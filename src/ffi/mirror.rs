//! [`pieces_mirror`]: a local copy of every message, kept current, with its changes as JSON events pushed
//! to a callback or pulled, and reads of its messages as the server's JSON text.
//!
//! Both modes wrap the crate's mirrors ([`Mirror`], [`PullMirror`]), so the guarantees of
//! [`crate::mirror`] hold; the C side (userdata, the gate before the first callback, a free from inside
//! the callback, pull-mode hand-out) is the subscriptions', from `callback`.

use std::ffi::{c_char, c_void};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Instant;

use super::boundary::{c_str, checked_json_c_string, handle, Out};
use super::callback::{free, pieces_event_cb, CEvent, Events, PullSide, Started, Userdata};
use super::client::pieces_client;
use super::status::{pieces_status, CallError};
use crate::mirror::{Mirror, MirrorEvent, MirrorOptions, MirrorReader, PullMirror};

/// A running mirror: a local copy of every conversation message, kept current on a thread of its own.
/// Opaque; made by pieces_mirror_new(), released by pieces_mirror_free().
///
/// pieces_mirror_get(), pieces_mirror_list() and pieces_mirror_stop() may be called from any thread at
/// any time before the free (from the mirror's own callback too); pieces_mirror_next() (pull mode) from
/// any thread, also while another thread stops it.
#[allow(non_camel_case_types)]
pub struct pieces_mirror {
    reader: MirrorReader,
    events: Events<Mirror, PullMirror, pieces_mirror>,
}

impl CEvent for MirrorEvent {
    fn json(&self) -> crate::Result<String> {
        Ok(self.to_json())
    }

    fn is_terminal(&self) -> bool {
        MirrorEvent::is_terminal(self)
    }
}

impl PullSide for PullMirror {
    type Event = MirrorEvent;

    fn pop(&self, deadline: Option<Instant>) -> Result<MirrorEvent, RecvTimeoutError> {
        PullMirror::pop(self, deadline)
    }
}

/// Starts a mirror: a local copy of every conversation message that a thread of its own keeps current,
/// from the identifier stream and the endpoints `GET /messages` and `GET /message/{message}`.
///
/// On every connection and reconnection of the stream the mirror takes one snapshot and makes itself
/// equal to it; between them it fetches each changed message by id (several changes of one message
/// before its fetch: one fetch; more changes waiting than a snapshot costs: one snapshot), removes
/// deleted ones, and retries what failed with backoff. It tells what changed with JSON events, `type`
/// first, always in this order of meaning:
/// - `{"type":"added","message":{…}}`, `{"type":"updated","message":{…}}`: the message (its new
///   version) as the server's JSON text, byte for byte; `{"type":"removed","id":"…"}`;
/// - `{"type":"synced","count":N}` after each snapshot has been reconciled (the `added`, `updated` and
///   `removed` events it caused come before it), with how many messages the mirror holds;
/// - `{"type":"stale","error":{…}}` when PiecesOS failed `stale_after` tries in a row: the mirror may
///   lag behind until its next `synced` (it keeps retrying, then syncs with a snapshot);
/// - `{"type":"disconnected","error":{…},"retry_in_ms":N}` when the stream's connection was lost (a
///   `synced` follows the reconnection);
/// - exactly one terminal event, after which nothing follows: `{"type":"closed"}` after a stop, or
///   `{"type":"error","error":{…}}` when it gave up (the client's `stream.max_attempts`).
///
/// Each event comes after the mirror's state changed accordingly: pieces_mirror_get() inside the
/// callback of an `added` event finds the message.
///
/// `options_json` is an object whose keys are all optional: `transferables` (`null`: the query
/// parameter left out, as by default; `true`; `false`: a mirror without the heavy content),
/// `announce_initial` (`true`: the first sync announces every message with `added`; `false`: only
/// `synced`), `snapshot_threshold` (more changed ids waiting than this: one snapshot instead; `null`:
/// decided from measured costs), `retry_initial_ms` (100), `retry_max_ms` (5000), `stale_after` (3).
/// Unknown keys are refused. The stream's settings (reconnection, the pull queue's `queue_capacity` and
/// `queue_max_bytes`) are the client's.
///
/// **Callback mode** (`cb` not NULL): `cb(userdata, event_json, len)` is called on the mirror's thread
/// with each event. The first call waits until this function has written `*out`, so a callback may use
/// the handle through the variable `out` pointed to. **Pull mode** (`cb` NULL): events wait in a
/// bounded queue for pieces_mirror_next() (when it is full, the mirror waits: nothing is dropped), and no
/// function of the caller is ever called on another thread.
///
/// # Ownership
/// `userdata` belongs to the mirror from the moment this function is called: `userdata_free` (when not
/// NULL) is called with it **exactly once**, after which the library never uses it again:
/// - when this function fails, whatever the status, before it returns, on the calling thread;
/// - in callback mode, on the mirror's thread right after the callback has returned from the terminal
///   event (so before pieces_mirror_free() returns, when called from another thread);
/// - in pull mode, on the caller's thread: inside the pieces_mirror_next() call that takes the terminal
///   event (before it returns), or else inside pieces_mirror_free().
///
/// On success `*out` receives the mirror, which the caller frees with pieces_mirror_free(); it stays
/// valid until then, whatever happened to the stream. The client may be freed before it.
/// `options_json` is only read during the call.
///
/// # NULL
/// `client` and `out` must not be NULL. `options_json` NULL takes every default; `cb` NULL selects pull
/// mode; `userdata` and `userdata_free` may be NULL.
///
/// # Threads
/// Any thread. In callback mode `cb` and `userdata_free` run on the mirror's thread.
///
/// # Errors
/// PIECES_STATUS_NULL_PARAMETER, PIECES_STATUS_INVALID_UTF8, PIECES_STATUS_INVALID_JSON (options that
/// are not JSON, or have an unknown key or a wrong type), PIECES_STATUS_INVALID_ARGUMENT (an option out
/// of range: the last error's `argument` names it), PIECES_STATUS_INTERNAL (the thread cannot be
/// started). PiecesOS being unreachable is not an error of this call: it arrives as events.
///
/// # Safety
/// `client` is NULL or a live client; `options_json` is NULL or NUL-terminated; `out` is NULL or valid
/// for writing a pointer; `cb` and `userdata_free` are NULL or functions that may be called as
/// documented here.
#[no_mangle]
pub unsafe extern "C" fn pieces_mirror_new(
    client: *const pieces_client,
    options_json: *const c_char,
    cb: pieces_event_cb,
    userdata: *mut c_void,
    userdata_free: Option<unsafe extern "C" fn(userdata: *mut c_void)>,
    out: *mut *mut pieces_mirror,
) -> pieces_status {
    ffi_boundary! {
        // Owned from here on: every early return below drops it, which runs userdata_free.
        let userdata = Userdata::new(userdata, userdata_free);
        // SAFETY: NULL or a live client, as the caller guarantees.
        let client = unsafe { handle(client, "client") }?;
        let out = Out::new(out, "out")?;
        let options = if options_json.is_null() {
            MirrorOptions::default()
        } else {
            // SAFETY: NUL-terminated, as the caller guarantees.
            MirrorOptions::from_json(unsafe { c_str(options_json, "options_json") }?)?
        };
        let pull_options = options.clone();
        let (events, reader) = Events::start(
            cb,
            userdata,
            |mut sink| {
                let running = client.client.mirror(options, move |_, event| sink.deliver(&event))?;
                Ok(Started { stopper: running.stopper(), keep: running.reader(), running })
            },
            || {
                let running = client.client.mirror_pull(pull_options)?;
                Ok(Started { stopper: running.stopper(), keep: running.reader(), running })
            },
        )?;
        let handle = Box::new(pieces_mirror { reader, events });
        // Opens the gate on every way out of here, after `*out` has been written on the normal one.
        let _open = handle.events.gate();
        // SAFETY: `out` is valid for writing a pointer, as the caller guarantees.
        unsafe { out.write(Box::into_raw(handle)) };
        Ok(())
    }
}

/// Takes the next event of a pull-mode mirror (one made with a NULL callback).
///
/// `timeout_ms` < 0 waits until an event arrives, 0 only looks, > 0 waits at most that many
/// milliseconds. Events are those of pieces_mirror_new(); the queue holds up to the client's
/// `stream.queue_capacity` events and `stream.queue_max_bytes` bytes of them, and while the next event
/// does not fit the mirror waits (nothing is dropped; its reads stay current up to where it waits).
///
/// # Ownership
/// On PIECES_STATUS_OK `*out_json` receives a new string with one event; free it with
/// pieces_string_free(). The call that hands out the terminal event also runs `userdata_free`.
///
/// # NULL
/// `m` and `out_json` must not be NULL.
///
/// # Threads
/// Any thread, several at once (each event goes to one of them); another thread may stop the mirror
/// meanwhile, which ends a wait promptly with the terminal `closed` event.
///
/// # Errors
/// PIECES_STATUS_NO_EVENT: nothing arrived in time (call again). PIECES_STATUS_CLOSED: the terminal
/// event was already taken; nothing will follow. PIECES_STATUS_INVALID_ARGUMENT: `m` is in callback
/// mode (PIECES_STATUS_IN_CALLBACK when called from its own callback). PIECES_STATUS_NULL_PARAMETER.
///
/// # Safety
/// `m` is NULL or a live mirror; `out_json` is NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn pieces_mirror_next(
    m: *mut pieces_mirror,
    timeout_ms: i32,
    out_json: *mut *mut c_char,
) -> pieces_status {
    ffi_boundary! {
        // SAFETY: NULL or a live mirror, as the caller guarantees.
        let handle = unsafe { handle(m.cast_const(), "m") }?;
        let out = Out::new(out_json, "out_json")?;
        let text = handle.events.next(timeout_ms, "pieces_mirror_next", "m", "mirror")?;
        // SAFETY: `out_json` is valid for writing a pointer, as the caller guarantees.
        unsafe { out.write(text) };
        Ok(())
    }
}

/// One message of the mirror, as the server's JSON text (a `ConversationMessage`), byte for byte as it
/// arrived. No request is made: this is the mirror's current copy.
///
/// # Ownership
/// `message_id` is only read during the call. On success `*out_json` receives a new string; free it
/// with pieces_string_free().
///
/// # NULL
/// No parameter may be NULL.
///
/// # Threads
/// Any thread, the mirror's own callback included; never waits for the mirror's thread (only, briefly,
/// for a change being applied).
///
/// # Errors
/// PIECES_STATUS_NOT_FOUND: the mirror holds no message with this id (the last error has `id`).
/// PIECES_STATUS_NULL_PARAMETER, PIECES_STATUS_INVALID_UTF8.
///
/// # Safety
/// `m` is NULL or a live mirror; `message_id` is NULL or NUL-terminated; `out_json` is NULL or valid for
/// writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn pieces_mirror_get(
    m: *const pieces_mirror,
    message_id: *const c_char,
    out_json: *mut *mut c_char,
) -> pieces_status {
    ffi_boundary! {
        // SAFETY: NULL or a live mirror, as the caller guarantees.
        let handle = unsafe { handle(m, "m") }?;
        // SAFETY: NULL or NUL-terminated, as the caller guarantees.
        let id = unsafe { c_str(message_id, "message_id") }?;
        let out = Out::new(out_json, "out_json")?;
        let message = handle.reader.get(id).ok_or_else(|| CallError::not_held(id))?;
        let mut json = String::with_capacity(message.json().len() + 1);
        json.push_str(message.json());
        // SAFETY: `out_json` is valid for writing a pointer, as the caller guarantees. The text passed
        // the endpoint's check when it arrived, so it holds no NUL byte.
        unsafe { out.write(checked_json_c_string(json)) };
        Ok(())
    }
}

/// The mirror's messages as a JSON array of the server's JSON texts, in creation order (oldest first):
/// every message when `conversation_id` is NULL, else those of that conversation (`[]` for one the
/// mirror holds no message of). No request is made, and the array is taken at one point: it never mixes
/// messages from before and after a change.
///
/// # Ownership
/// `conversation_id` is only read during the call. On success `*out_json` receives a new string; free
/// it with pieces_string_free().
///
/// # NULL
/// `m` and `out_json` must not be NULL; `conversation_id` NULL lists every message.
///
/// # Threads
/// As pieces_mirror_get().
///
/// # Errors
/// PIECES_STATUS_NULL_PARAMETER, PIECES_STATUS_INVALID_UTF8.
///
/// # Safety
/// `m` is NULL or a live mirror; `conversation_id` is NULL or NUL-terminated; `out_json` is NULL or
/// valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn pieces_mirror_list(
    m: *const pieces_mirror,
    conversation_id: *const c_char,
    out_json: *mut *mut c_char,
) -> pieces_status {
    ffi_boundary! {
        // SAFETY: NULL or a live mirror, as the caller guarantees.
        let handle = unsafe { handle(m, "m") }?;
        let out = Out::new(out_json, "out_json")?;
        let messages = if conversation_id.is_null() {
            handle.reader.messages()
        } else {
            // SAFETY: NUL-terminated, as the caller guarantees.
            handle.reader.conversation(unsafe { c_str(conversation_id, "conversation_id") }?)
        };
        let length = messages.iter().map(|m| m.json().len() + 1).sum::<usize>() + 2;
        let mut json = String::with_capacity(length + 1);
        json.push('[');
        for (n, message) in messages.iter().enumerate() {
            if n > 0 {
                json.push(',');
            }
            json.push_str(message.json());
        }
        json.push(']');
        // SAFETY: `out_json` is valid for writing a pointer, as the caller guarantees. Every text passed
        // its endpoint's check when it arrived, so the array holds no NUL byte.
        unsafe { out.write(checked_json_c_string(json)) };
        Ok(())
    }
}

/// Asks a mirror to stop, and returns at once.
///
/// The mirror shuts its stream down, wakes from any backoff wait, and delivers the terminal
/// `{"type":"closed"}` event (to the callback, or to pieces_mirror_next()); events not yet taken in pull
/// mode stay queued before it. A fetch under way is finished first (within the client's
/// `request_timeout_ms`). The messages stay readable until the free. Stopping again, or after the
/// terminal event, does nothing.
///
/// # NULL
/// `m` must not be NULL.
///
/// # Threads
/// Any thread, including from inside the mirror's own callback. Never waits for the mirror's thread.
///
/// # Errors
/// PIECES_STATUS_NULL_PARAMETER.
///
/// # Safety
/// `m` is NULL or a live mirror.
#[no_mangle]
pub unsafe extern "C" fn pieces_mirror_stop(m: *mut pieces_mirror) -> pieces_status {
    ffi_boundary! {
        // SAFETY: NULL or a live mirror, as the caller guarantees.
        let handle = unsafe { handle(m.cast_const(), "m") }?;
        handle.events.stop();
        Ok(())
    }
}

/// Stops a mirror, waits for its thread to end, and frees it.
///
/// From any thread but the mirror's own, it returns once the thread has ended: the terminal event has
/// been delivered, `userdata_free` has run (callback mode; in pull mode it runs here if the terminal
/// event was never taken), and no callback runs any more. Called **from inside the mirror's own
/// callback** (or its `userdata_free`), it cannot wait for the thread it runs on: it stops the mirror
/// and returns at once; the callback then still receives the terminal `{"type":"closed"}` event (after
/// any events already under way), `userdata_free` runs, and the mirror's thread releases the handle and
/// ends right there. Either way the handle is invalid once this function has been called.
///
/// # Ownership
/// Takes the mirror back, and with it every message it held (strings handed out before stay valid: they
/// are copies). No other call on it may run at the same time or follow, except pieces_mirror_stop(),
/// pieces_mirror_get() and pieces_mirror_list() from inside its own callback while another thread
/// frees it.
///
/// # NULL
/// NULL is accepted and does nothing.
///
/// # Threads
/// Any thread, its own callback included (see above). It waits for the mirror's callback to return, so a
/// callback must not wait for the thread that frees its mirror.
///
/// # Safety
/// `m` is NULL or a mirror from pieces_mirror_new() that has not been freed yet.
#[no_mangle]
pub unsafe extern "C" fn pieces_mirror_free(m: *mut pieces_mirror) {
    ffi_boundary! {
        if m.is_null() {
            return;
        }
        // SAFETY: a mirror from pieces_mirror_new (a `Box::into_raw`) that has not been freed yet, given
        // back once, as the caller guarantees.
        unsafe { free(m, |handle| &handle.events) };
    }
}
