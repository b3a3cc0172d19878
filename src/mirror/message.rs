//! [`MirroredMessage`]: one message of a mirror, as the server's JSON text and the few facts the mirror
//! orders it by.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::models::{ConversationMessage, GroupedTimestamp};

/// The name errors about a mirrored message's text carry as their endpoint.
const MIRRORED: &str = "mirrored message";

/// One message of a mirror: the server's JSON text exactly as it arrived (a `ConversationMessage`), and
/// what the mirror reads out of it to find and order it: the id, the conversation's id and the creation
/// time.
///
/// Immutable: when the message changes, the mirror holds a new `MirroredMessage` and this one stays as
/// it is for whoever still holds it (readers get it behind an `Arc`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MirroredMessage {
    id: Box<str>,
    conversation_id: Box<str>,
    created: Box<str>,
    created_millis: Option<i64>,
    json: Box<str>,
}

/// The facts read out of a message's text; everything else is skipped unexamined.
#[derive(Deserialize)]
struct Facts<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    conversation: Reference<'a>,
    #[serde(borrow)]
    created: Timestamp<'a>,
}

#[derive(Deserialize)]
struct Reference<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Timestamp<'a> {
    #[serde(borrow)]
    value: Cow<'a, str>,
}

impl MirroredMessage {
    /// Reads the facts out of a `ConversationMessage`'s JSON text and keeps the text as it is.
    pub(crate) fn from_json(json: impl Into<Box<str>>) -> serde_json::Result<Self> {
        let json = json.into();
        let facts: Facts<'_> = serde_json::from_str(&json)?;
        let created = facts.created.value.into_owned();
        let created_millis = GroupedTimestamp::new(created.as_str()).unix_millis();
        let (id, conversation_id) = (facts.id.into(), facts.conversation.id.into());
        Ok(MirroredMessage {
            id,
            conversation_id,
            created: created.into(),
            created_millis,
            json,
        })
    }

    /// The message's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The id of the conversation the message belongs to.
    pub fn conversation_id(&self) -> &str {
        &self.conversation_id
    }

    /// When the message was created (`created.value`), as the server wrote it (RFC 3339).
    pub fn created(&self) -> &str {
        &self.created
    }

    /// [`Self::created`] as milliseconds since 1970-01-01T00:00:00Z; `None` when it is not an RFC 3339
    /// date-time.
    pub fn created_unix_millis(&self) -> Option<i64> {
        self.created_millis
    }

    /// The message as the server's JSON text, byte for byte as it arrived.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The message decoded into the lossless model.
    ///
    /// # Errors
    /// [`Error::Decode`] when the text is not a `ConversationMessage` the model accepts.
    pub fn decode(&self) -> Result<ConversationMessage> {
        serde_json::from_str(&self.json).map_err(|err| Error::decode(MIRRORED, err))
    }

    /// The message's text (`fragment.string.raw`), when it has one, without decoding the rest.
    pub fn text(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct Message {
            fragment: Option<Fragment>,
        }
        #[derive(Deserialize)]
        struct Fragment {
            string: Option<Content>,
        }
        #[derive(Deserialize)]
        struct Content {
            raw: Option<String>,
        }
        let message: Message = serde_json::from_str(&self.json).ok()?;
        message.fragment?.string?.raw
    }

    /// The order of messages in a mirror: by creation time to the nanosecond (messages whose time does
    /// not parse come last), then by id.
    pub(crate) fn creation_order(&self, other: &Self) -> Ordering {
        let time = |message: &Self| {
            (
                message.created_millis.unwrap_or(i64::MAX),
                nanos_within_milli(&message.created),
            )
        };
        time(self).cmp(&time(other)).then_with(|| self.id.cmp(&other.id))
    }
}

/// The fraction digits of an RFC 3339 time after the third (the nanoseconds within its millisecond),
/// which [`GroupedTimestamp::unix_millis`] leaves out.
fn nanos_within_milli(time: &str) -> u32 {
    let Some(fraction) = time.get(19..).and_then(|rest| rest.strip_prefix('.')) else {
        return 0;
    };
    fraction
        .bytes()
        .take_while(u8::is_ascii_digit)
        .chain(std::iter::repeat(b'0'))
        .skip(3)
        .take(6)
        .fold(0, |nanos, digit| nanos * 10 + u32::from(digit - b'0'))
}

impl fmt::Debug for MirroredMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MirroredMessage")
            .field("id", &self.id)
            .field("conversation_id", &self.conversation_id)
            .field("created", &self.created)
            .field("json_bytes", &self.json.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, created: &str, text: &str) -> MirroredMessage {
        let json = serde_json::json!({
            "id": id, "role": "USER", "conversation": {"id": "c\"1"},
            "created": {"value": created}, "updated": {"value": created},
            "fragment": {"string": {"raw": text}}
        });
        MirroredMessage::from_json(json.to_string()).unwrap()
    }

    #[test]
    fn the_text_is_kept_exactly_and_the_facts_are_read() {
        // Spacing, key order, escapes and a number no model could hold stay as they came.
        let json = r#"{ "x": 1e400, "conversation" : {"id": "c\u0031"}, "id": "m\n1",
            "created": {"value": "2024-05-06T07:08:09.123456Z"}, "updated": {"value": "x"}, "role": "USER",
            "fragment": {"string": {"raw": "hé \ud83d\ude00"}}}"#;
        let message = MirroredMessage::from_json(json).unwrap();
        assert_eq!(message.json(), json);
        assert_eq!(message.id(), "m\n1");
        assert_eq!(message.conversation_id(), "c1");
        assert_eq!(message.created(), "2024-05-06T07:08:09.123456Z");
        assert_eq!(message.created_unix_millis(), Some(1_714_979_289_123));
        assert_eq!(message.text().as_deref(), Some("hé 😀"));
        assert!(format!("{message:?}").contains("json_bytes"));
    }

    #[test]
    fn a_text_without_the_facts_is_refused() {
        for json in [
            r#"{"conversation": {"id": "c"}, "created": {"value": "t"}}"#,
            r#"{"id": "m", "created": {"value": "t"}}"#,
            r#"{"id": "m", "conversation": {"id": "c"}, "created": "t"}"#,
            r#"{"id": 7, "conversation": {"id": "c"}, "created": {"value": "t"}}"#,
            "[]",
        ] {
            assert!(MirroredMessage::from_json(json).is_err(), "{json}");
        }
    }

    #[test]
    fn messages_order_by_creation_then_by_id() {
        let early = message("z", "2024-01-01T00:00:00.000Z", "a");
        let finer = message("a", "2024-01-01T00:00:00.0005Z", "b");
        assert_eq!(nanos_within_milli("2024-01-01T00:00:00.0005Z"), 500_000);
        assert_eq!(nanos_within_milli("2024-01-01T00:00:00.123456789+01:00"), 456_789);
        assert_eq!(nanos_within_milli("2024-01-01T00:00:00Z"), 0);
        let late = message("a", "2024-01-02T00:00:00+00:00", "c");
        let unparsed = message("a", "yesterday", "d");
        let mut all = [&unparsed, &late, &finer, &early];
        all.sort_by(|a, b| a.creation_order(b));
        let texts: Vec<String> = all.iter().map(|m| m.text().unwrap()).collect();
        assert_eq!(texts, ["a", "b", "c", "d"]);
        assert_eq!(early.creation_order(&early.clone()), Ordering::Equal);
    }

    #[test]
    fn decode_gives_the_model_and_names_what_is_wrong() {
        let message = message("m1", "2024-01-01T00:00:00Z", "hello");
        let decoded = message.decode().unwrap();
        assert_eq!(decoded.id, "m1");
        assert_eq!(decoded.text(), Some("hello"));
        let broken = MirroredMessage::from_json(
            r#"{"id": "m", "conversation": {"id": "c"}, "created": {"value": "t"}}"#,
        )
        .unwrap();
        let err = broken.decode().unwrap_err();
        assert!(err.to_string().contains("missing field"), "{err}");
        assert_eq!(broken.text(), None);
    }
}
