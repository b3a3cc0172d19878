//! [`pieces_subscription`]: the identifier stream as JSON events, pushed to a callback or pulled.
//!
//! Both modes wrap the crate's subscriptions ([`Subscription`], [`PullSubscription`]), so the
//! guarantees of [`crate::stream`] hold: events in order, reconnection with backoff, exactly one
//! terminal event, a prompt stop, every thread joined. This module adds the C side: events as JSON,
//! the userdata and its finaliser, and what may be called from inside a callback.

use std::ffi::{c_char, c_void};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Instant;

use super::boundary::{handle, Out};
use super::callback::{free, CEvent, Events, PullSide, Started, Userdata};
use super::client::pieces_client;
use super::status::pieces_status;
use crate::stream::{PullSubscription, Subscription, SubscriptionEvent};

pub use super::callback::pieces_event_cb;

/// A running subscription to the stream of message-identifier changes. Opaque; made by
/// pieces_messages_subscribe(), released by pieces_subscription_free().
///
/// pieces_subscription_stop() may be called from any thread at any time before the free;
/// pieces_subscription_next() (pull mode) from any thread, also while another thread stops it.
#[allow(non_camel_case_types)]
pub struct pieces_subscription {
    events: Events<Subscription, PullSubscription, pieces_subscription>,
}

impl CEvent for SubscriptionEvent {
    fn json(&self) -> crate::Result<String> {
        self.to_json()
    }

    fn is_terminal(&self) -> bool {
        SubscriptionEvent::is_terminal(self)
    }
}

impl PullSide for PullSubscription {
    type Event = SubscriptionEvent;

    fn pop(&self, deadline: Option<Instant>) -> Result<SubscriptionEvent, RecvTimeoutError> {
        PullSubscription::pop(self, deadline)
    }
}

/// Subscribes to the stream of message-identifier changes (`conversation_messages_stream_identifiers`).
///
/// The subscription runs on a thread of its own: it connects, reconnects after a lost connection with
/// exponential backoff (the client's `stream` settings), and turns everything into events, JSON objects
/// with a `type`, always in this order:
/// - `{"type":"connected","url":"ws://…"}` when a connection is open;
/// - `{"type":"identifiers","full":true|false,"data":{…}}` for each frame (`data` is the
///   StreamedIdentifiers frame; the first after each `connected` has `full: true` and lists every
///   current message, later ones carry changes, `"deleted": true` on removed messages);
/// - `{"type":"disconnected","error":{"kind":…,"message":…},"retry_in_ms":N}` when a connection was
///   lost or could not be made, with the delay before the next try;
/// - exactly one terminal event, after which nothing follows: `{"type":"closed"}` after a stop, or
///   `{"type":"error","error":{…}}` when it gave up (`stream.max_attempts` failed tries in a row).
///
/// **Callback mode** (`cb` not NULL): `cb(userdata, event_json, len)` is called on the subscription
/// thread with each event. The first call waits until this function has written `*out`, so a callback
/// may read the handle from the variable `out` pointed to. **Pull mode** (`cb` NULL): events wait in a
/// bounded queue for pieces_subscription_next(), and no function of the caller is ever called on
/// another thread: the mode for hosts such as LuaJIT or Python that must not be entered from a foreign
/// thread.
///
/// # Ownership
/// `userdata` belongs to the subscription from the moment this function is called: `userdata_free`
/// (when not NULL) is called with it **exactly once**, after which the library never uses it again:
/// - when this function fails, whatever the status, before it returns, on the calling thread;
/// - in callback mode, on the subscription thread right after the callback has returned from the
///   terminal event (so before pieces_subscription_free() returns, when called from another thread);
/// - in pull mode, on the caller's thread: inside the pieces_subscription_next() call that takes the
///   terminal event (before it returns), or else inside pieces_subscription_free().
///
/// On success `*out` receives the subscription, which the caller frees with pieces_subscription_free();
/// it stays valid until then, whatever happened to the stream. The client may be freed before it.
///
/// # NULL
/// `client` and `out` must not be NULL. `cb` NULL selects pull mode; `userdata` and `userdata_free`
/// may be NULL.
///
/// # Threads
/// Any thread. In callback mode `cb` and `userdata_free` run on the subscription thread.
///
/// # Errors
/// PIECES_STATUS_NULL_PARAMETER; PIECES_STATUS_INTERNAL when the subscription thread cannot be
/// started. Connection failures are not errors of this call: they arrive as `disconnected` events.
///
/// # Safety
/// `client` is NULL or a live client; `out` is NULL or valid for writing a pointer; `cb` and
/// `userdata_free` are NULL or functions that may be called as documented here.
#[no_mangle]
pub unsafe extern "C" fn pieces_messages_subscribe(
    client: *const pieces_client,
    cb: pieces_event_cb,
    userdata: *mut c_void,
    userdata_free: Option<unsafe extern "C" fn(userdata: *mut c_void)>,
    out: *mut *mut pieces_subscription,
) -> pieces_status {
    ffi_boundary! {
        // Owned from here on: every early return below drops it, which runs userdata_free.
        let userdata = Userdata::new(userdata, userdata_free);
        // SAFETY: NULL or a live client, as the caller guarantees.
        let client = unsafe { handle(client, "client") }?;
        let out = Out::new(out, "out")?;
        let (events, ()) = Events::start(
            cb,
            userdata,
            |mut sink| {
                let running = client.client.subscribe_identifiers(move |event| sink.deliver(&event))?;
                Ok(Started { stopper: running.stopper(), running, keep: () })
            },
            || {
                let running = client.client.subscribe_identifiers_pull()?;
                Ok(Started { stopper: running.stopper(), running, keep: () })
            },
        )?;
        let handle = Box::new(pieces_subscription { events });
        // Opens the gate on every way out of here, after `*out` has been written on the normal one.
        let _open = handle.events.gate();
        // SAFETY: `out` is valid for writing a pointer, as the caller guarantees.
        unsafe { out.write(Box::into_raw(handle)) };
        Ok(())
    }
}

/// Takes the next event of a pull-mode subscription (one made with a NULL callback).
///
/// `timeout_ms` < 0 waits until an event arrives, 0 only looks, > 0 waits at most that many
/// milliseconds. Events are those of pieces_messages_subscribe(); the queue holds up to
/// `stream.queue_capacity` of them, and while it is full the subscription stops reading (nothing is
/// dropped).
///
/// # Ownership
/// On PIECES_STATUS_OK `*out_json` receives a new string with one event; free it with
/// pieces_string_free(). The call that hands out the terminal event also runs `userdata_free`.
///
/// # NULL
/// `s` and `out_json` must not be NULL.
///
/// # Threads
/// Any thread, several at once (each event goes to one of them); another thread may stop the
/// subscription meanwhile, which ends a wait promptly with the terminal `closed` event.
///
/// # Errors
/// PIECES_STATUS_NO_EVENT: nothing arrived in time (call again). PIECES_STATUS_CLOSED: the terminal
/// event was already taken; nothing will follow. PIECES_STATUS_INVALID_ARGUMENT: `s` is in callback
/// mode (PIECES_STATUS_IN_CALLBACK when called from its own callback). PIECES_STATUS_NULL_PARAMETER.
///
/// # Safety
/// `s` is NULL or a live subscription; `out_json` is NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn pieces_subscription_next(
    s: *mut pieces_subscription,
    timeout_ms: i32,
    out_json: *mut *mut c_char,
) -> pieces_status {
    ffi_boundary! {
        // SAFETY: NULL or a live subscription, as the caller guarantees.
        let handle = unsafe { handle(s.cast_const(), "s") }?;
        let out = Out::new(out_json, "out_json")?;
        let text = handle.events.next(timeout_ms, "pieces_subscription_next", "s", "subscription")?;
        // SAFETY: `out_json` is valid for writing a pointer, as the caller guarantees.
        unsafe { out.write(text) };
        Ok(())
    }
}

/// Asks a subscription to stop, and returns at once.
///
/// The subscription shuts its connection down, wakes from any backoff wait, and delivers the terminal
/// `{"type":"closed"}` event (to the callback, or to pieces_subscription_next()); events not yet taken
/// in pull mode stay queued before it. Stopping again, or after the terminal event, does nothing.
///
/// # NULL
/// `s` must not be NULL.
///
/// # Threads
/// Any thread, including from inside the subscription's own callback. Never waits for the subscription
/// thread.
///
/// # Errors
/// PIECES_STATUS_NULL_PARAMETER.
///
/// # Safety
/// `s` is NULL or a live subscription.
#[no_mangle]
pub unsafe extern "C" fn pieces_subscription_stop(s: *mut pieces_subscription) -> pieces_status {
    ffi_boundary! {
        // SAFETY: NULL or a live subscription, as the caller guarantees.
        let handle = unsafe { handle(s.cast_const(), "s") }?;
        handle.events.stop();
        Ok(())
    }
}

/// Stops a subscription, waits for its thread to end, and frees it.
///
/// From any thread but the subscription's own, it returns once the thread has ended: the terminal
/// event has been delivered, `userdata_free` has run (callback mode; in pull mode it runs here if the
/// terminal event was never taken), and no callback runs any more. Called **from inside the
/// subscription's own callback** (or its `userdata_free`), it cannot wait for the thread it runs on:
/// it stops the subscription and returns at once; the callback then still receives the terminal
/// `{"type":"closed"}` event, `userdata_free` runs, and the subscription thread releases the handle and
/// ends right there. Either way the handle is invalid once this function has been called.
///
/// # Ownership
/// Takes the subscription back. No other call on it may run at the same time or follow, except
/// pieces_subscription_stop() from inside its own callback while another thread frees it.
///
/// # NULL
/// NULL is accepted and does nothing.
///
/// # Threads
/// Any thread, its own callback included (see above). It waits for the subscription's callback to
/// return, so a callback must not wait for the thread that frees its subscription.
///
/// # Safety
/// `s` is NULL or a subscription from pieces_messages_subscribe() that has not been freed yet.
#[no_mangle]
pub unsafe extern "C" fn pieces_subscription_free(s: *mut pieces_subscription) {
    ffi_boundary! {
        if s.is_null() {
            return;
        }
        // SAFETY: a subscription from pieces_messages_subscribe (a `Box::into_raw`) that has not been
        // freed yet, given back once, as the caller guarantees.
        unsafe { free(s, |handle| &handle.events) };
    }
}

#[cfg(test)]
mod tests {
    use crate::models::{StreamedIdentifier, StreamedIdentifiers};
    use serde_json::Value;

    use crate::stream::SubscriptionEvent;
    use std::time::Duration;

    fn parsed(event: &SubscriptionEvent) -> (String, Value) {
        let text = event.to_json().unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        (text, value)
    }

    #[test]
    fn events_are_json_objects_with_their_type_first() {
        let (text, value) = parsed(&SubscriptionEvent::Connected {
            url: "ws://127.0.0.1:1/\"quoted\"".into(),
        });
        assert!(text.starts_with(r#"{"type":"connected","#), "{text}");
        assert_eq!(value["url"], "ws://127.0.0.1:1/\"quoted\"");

        let frame = StreamedIdentifiers::new(vec![
            StreamedIdentifier::message("m1"),
            StreamedIdentifier::deleted_message("m2"),
        ]);
        let (text, value) = parsed(&SubscriptionEvent::Identifiers { frame, full: true });
        assert!(
            text.starts_with(r#"{"type":"identifiers","full":true,"data":{"#),
            "{text}"
        );
        assert_eq!(value["data"]["iterable"][0]["conversationMessage"]["id"], "m1");
        assert_eq!(value["data"]["iterable"][1]["deleted"], true);

        let error = crate::Error::connection("http://127.0.0.1:1", "connection refused", None);
        let (text, value) = parsed(&SubscriptionEvent::Disconnected {
            error,
            retry_in: Duration::from_millis(250),
        });
        assert!(text.starts_with(r#"{"type":"disconnected","#), "{text}");
        assert_eq!(value["error"]["kind"], "connection");
        assert_eq!(value["error"]["url"], "http://127.0.0.1:1");
        assert_eq!(value["retry_in_ms"], 250);

        assert_eq!(
            SubscriptionEvent::Closed.to_json().unwrap(),
            r#"{"type":"closed"}"#
        );
        let (text, value) = parsed(&SubscriptionEvent::Failed {
            error: crate::Error::HandlerPanicked { message: "x".into() },
        });
        assert!(text.starts_with(r#"{"type":"error","#), "{text}");
        assert_eq!(value["error"]["kind"], "handler_panicked");
    }
}
