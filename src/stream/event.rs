//! [`SubscriptionEvent`]: what a subscription delivers, and the JSON form the C API and the CLI hand out.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::models::StreamedIdentifiers;

/// What a subscription delivers, in order. Exactly one terminal event (`Closed` or `Failed`) ends it.
#[derive(Debug)]
#[non_exhaustive]
pub enum SubscriptionEvent {
    /// A connection is open; the next `Identifiers` is the full set.
    Connected {
        /// The `ws://` URL connected to.
        url: String,
    },
    /// One frame of the stream.
    Identifiers {
        /// The frame, lossless.
        frame: StreamedIdentifiers,
        /// `true` for the first frame of a connection, which lists every current message; `false` for a
        /// frame of changes.
        full: bool,
    },
    /// The connection was lost or could not be made; the next attempt comes after `retry_in`.
    Disconnected {
        /// Why.
        error: Error,
        /// The delay before the next attempt.
        retry_in: Duration,
    },
    /// Terminal: the subscription was stopped.
    Closed,
    /// Terminal: the subscription gave up (attempts ran out) or its handler panicked.
    Failed {
        /// Why.
        error: Error,
    },
}

impl SubscriptionEvent {
    /// The JSON form of this event, `type` first, as the C API and `pieces-messages watch --json` hand
    /// it out: `{"type":"connected","url":…}`, `{"type":"identifiers","full":…,"data":<StreamedIdentifiers>}`,
    /// `{"type":"disconnected","error":{…},"retry_in_ms":…}`, `{"type":"closed"}`,
    /// `{"type":"error","error":{…}}`; errors in their [`Error::to_json`] form.
    ///
    /// Fails only if a frame's `extra` map repeats a key its model types, which cannot be written
    /// ([`Error::Internal`]).
    pub fn to_json(&self) -> Result<String> {
        let text = match self {
            SubscriptionEvent::Connected { url } => {
                format!(
                    r#"{{"type":"connected","url":{}}}"#,
                    serde_json::Value::from(url.as_str())
                )
            }
            SubscriptionEvent::Identifiers { frame, full } => {
                // The frame is written straight from its lossless model, keys in the model's order.
                let data = serde_json::to_string(frame)
                    .map_err(|err| Error::internal("write a frame of the identifier stream as JSON", err))?;
                format!(r#"{{"type":"identifiers","full":{full},"data":{data}}}"#)
            }
            SubscriptionEvent::Disconnected { error, retry_in } => disconnected_json(error, *retry_in),
            SubscriptionEvent::Closed => CLOSED_JSON.to_owned(),
            SubscriptionEvent::Failed { error } => failed_json(error),
        };
        Ok(text)
    }

    /// Whether this is the terminal event (`Closed` or `Failed`).
    pub fn is_terminal(&self) -> bool {
        matches!(self, SubscriptionEvent::Closed | SubscriptionEvent::Failed { .. })
    }
}

/// The JSON form of a `disconnected` event, shared by subscriptions and mirrors.
pub(crate) fn disconnected_json(error: &Error, retry_in: Duration) -> String {
    format!(
        r#"{{"type":"disconnected","error":{},"retry_in_ms":{}}}"#,
        error.to_json(),
        retry_in.as_millis()
    )
}

/// The JSON form of the terminal `closed` event, shared by subscriptions and mirrors.
pub(crate) const CLOSED_JSON: &str = r#"{"type":"closed"}"#;

/// The JSON form of the terminal `error` event, shared by subscriptions and mirrors.
pub(crate) fn failed_json(error: &Error) -> String {
    format!(r#"{{"type":"error","error":{}}}"#, error.to_json())
}
