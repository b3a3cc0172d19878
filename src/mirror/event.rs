//! [`MirrorEvent`]: what a mirror delivers, and the JSON form the C API hands out.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::message::MirroredMessage;
use crate::error::Error;
use crate::queue::QueuedEvent;
use crate::stream::{disconnected_json, failed_json, CLOSED_JSON};

/// What a mirror delivers, in order. Exactly one terminal event (`Closed` or `Failed`) ends it.
///
/// Each event is delivered after the mirror's state has changed accordingly, so a read made while
/// handling `Added(message)` finds the message (or a later version of it, in pull mode, where the mirror
/// may have moved on while the event waited in the queue).
#[derive(Debug)]
#[non_exhaustive]
pub enum MirrorEvent {
    /// A sync has ended: the mirror now holds exactly what the snapshot it took held, and the `Added`,
    /// `Updated` and `Removed` events that brought it there came before. Comes after every connection
    /// (and reconnection) of the stream, and after a stale spell.
    Synced {
        /// How many messages the mirror holds.
        count: usize,
    },
    /// A message the mirror did not hold.
    Added(Arc<MirroredMessage>),
    /// A message whose JSON text changed.
    Updated {
        /// The version the mirror held until now.
        before: Arc<MirroredMessage>,
        /// The version it holds from now on.
        after: Arc<MirroredMessage>,
    },
    /// A message that is gone from PiecesOS (deleted, or missing from a snapshot), as the mirror last
    /// held it.
    Removed(Arc<MirroredMessage>),
    /// PiecesOS failed [`MirrorOptions::stale_after`](crate::MirrorOptions::stale_after) tries in a
    /// row: the mirror may lag behind until its next `Synced`. It keeps retrying (with backoff) and then
    /// syncs with a snapshot, so no change is lost; said once per stale spell.
    Stale {
        /// The last failure.
        error: Error,
    },
    /// The stream's connection was lost or could not be made; the next attempt comes after `retry_in`,
    /// and a `Synced` follows the reconnection.
    Disconnected {
        /// Why.
        error: Error,
        /// The delay before the next attempt.
        retry_in: Duration,
    },
    /// Terminal: the mirror was stopped.
    Closed,
    /// Terminal: the mirror gave up (the stream's `max_attempts` ran out) or its handler panicked.
    Failed {
        /// Why.
        error: Error,
    },
}

impl MirrorEvent {
    /// The JSON form of this event, `type` first, as the C API hands it out:
    /// `{"type":"synced","count":N}`, `{"type":"added","message":{…}}` and
    /// `{"type":"updated","message":{…}}` (the message as the server's JSON text, byte for byte),
    /// `{"type":"removed","id":"…"}`, `{"type":"stale","error":{…}}`,
    /// `{"type":"disconnected","error":{…},"retry_in_ms":N}`, and the terminal `{"type":"closed"}` or
    /// `{"type":"error","error":{…}}`; errors in their [`Error::to_json`] form.
    pub fn to_json(&self) -> String {
        let with_message = |kind: &str, message: &MirroredMessage| {
            let mut text = String::with_capacity(message.json().len() + 32);
            text.push_str(r#"{"type":""#);
            text.push_str(kind);
            text.push_str(r#"","message":"#);
            text.push_str(message.json());
            text.push('}');
            text
        };
        match self {
            MirrorEvent::Synced { count } => format!(r#"{{"type":"synced","count":{count}}}"#),
            MirrorEvent::Added(message) => with_message("added", message),
            MirrorEvent::Updated { after, .. } => with_message("updated", after),
            MirrorEvent::Removed(message) => {
                format!(r#"{{"type":"removed","id":{}}}"#, Value::from(message.id()))
            }
            MirrorEvent::Stale { error } => format!(r#"{{"type":"stale","error":{}}}"#, error.to_json()),
            MirrorEvent::Disconnected { error, retry_in } => disconnected_json(error, *retry_in),
            MirrorEvent::Closed => CLOSED_JSON.to_owned(),
            MirrorEvent::Failed { error } => failed_json(error),
        }
    }

    /// Whether this is the terminal event (`Closed` or `Failed`).
    pub fn is_terminal(&self) -> bool {
        matches!(self, MirrorEvent::Closed | MirrorEvent::Failed { .. })
    }
}

impl QueuedEvent for MirrorEvent {
    fn is_terminal(&self) -> bool {
        MirrorEvent::is_terminal(self)
    }

    fn queued_bytes(&self) -> usize {
        // The messages' texts are shared with the mirror while it holds them, but an old version may live
        // on in the queue alone: every text is counted.
        std::mem::size_of::<Self>()
            + match self {
                MirrorEvent::Added(message) | MirrorEvent::Removed(message) => message.json().len(),
                MirrorEvent::Updated { before, after } => before.json().len() + after.json().len(),
                MirrorEvent::Stale { error }
                | MirrorEvent::Disconnected { error, .. }
                | MirrorEvent::Failed { error } => error.to_string().len(),
                MirrorEvent::Synced { .. } | MirrorEvent::Closed => 0,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str) -> Arc<MirroredMessage> {
        let json = format!(
            r#"{{"id": {}, "conversation": {{"id": "c"}}, "created": {{"value": "2024-01-01T00:00:00Z"}}, "x": 1e400}}"#,
            Value::from(id)
        );
        Arc::new(MirroredMessage::from_json(json).unwrap())
    }

    #[test]
    fn events_are_json_objects_with_their_type_first_and_the_message_unchanged() {
        let m = message("m\"1");
        assert_eq!(
            MirrorEvent::Synced { count: 3 }.to_json(),
            r#"{"type":"synced","count":3}"#
        );
        let added = MirrorEvent::Added(Arc::clone(&m)).to_json();
        assert_eq!(added, format!(r#"{{"type":"added","message":{}}}"#, m.json()));
        let updated = MirrorEvent::Updated {
            before: message("old"),
            after: Arc::clone(&m),
        }
        .to_json();
        assert_eq!(updated, format!(r#"{{"type":"updated","message":{}}}"#, m.json()));
        let removed: Value = serde_json::from_str(&MirrorEvent::Removed(m).to_json()).unwrap();
        assert_eq!(removed, serde_json::json!({"type": "removed", "id": "m\"1"}));
        let error = Error::connection("http://127.0.0.1:1", "connection refused", None);
        let stale = MirrorEvent::Stale { error }.to_json();
        assert!(stale.starts_with(r#"{"type":"stale","error":{"#), "{stale}");
        let error = Error::connection("http://127.0.0.1:1", "connection refused", None);
        let disconnected = MirrorEvent::Disconnected {
            error,
            retry_in: Duration::from_millis(20),
        }
        .to_json();
        assert!(
            disconnected.starts_with(r#"{"type":"disconnected","#),
            "{disconnected}"
        );
        assert!(disconnected.ends_with(r#""retry_in_ms":20}"#), "{disconnected}");
        assert_eq!(MirrorEvent::Closed.to_json(), r#"{"type":"closed"}"#);
        let failed = MirrorEvent::Failed {
            error: Error::HandlerPanicked { message: "x".into() },
        };
        assert!(failed
            .to_json()
            .starts_with(r#"{"type":"error","error":{"kind":"handler_panicked""#));
        assert!(failed.is_terminal() && MirrorEvent::Closed.is_terminal());
        assert!(!MirrorEvent::Synced { count: 0 }.is_terminal());
    }

    #[test]
    fn an_update_weighs_both_versions() {
        let (a, b) = (message("a"), message("b"));
        let added = MirrorEvent::Added(Arc::clone(&a)).queued_bytes();
        let updated = MirrorEvent::Updated { before: a, after: b }.queued_bytes();
        assert!(updated > added && added > 50, "{added} {updated}");
    }
}
