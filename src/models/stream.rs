//! The frames of the WebSocket stream `GET /messages/stream/identifiers`.
//!
//! The first frame on a connection lists every current message; later frames carry what changed, with
//! `"deleted": true` on removed messages. A frame names ids only: changed messages are fetched over REST.

use super::common::{EmbeddedModelSchema, ReferencedConversation, ReferencedConversationMessage};
use super::timestamp::GroupedTimestamp;

lossless_struct! {
    /// One frame of the identifier stream.
    #[derive(Clone, Debug, Default, PartialEq)]
    #[non_exhaustive]
    pub struct StreamedIdentifiers {
        /// The identifiers.
        required iterable: Vec<StreamedIdentifier> = "iterable",
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
    }
}

impl StreamedIdentifiers {
    /// A frame with these identifiers.
    pub fn new(iterable: Vec<StreamedIdentifier>) -> Self {
        StreamedIdentifiers {
            iterable,
            schema: None,
            extra: Default::default(),
        }
    }
}

lossless_struct! {
    /// One changed object: a message here, though the model can name about two dozen other kinds (assets,
    /// tags, anchors, …), which are kept in `extra`.
    #[derive(Clone, Debug, Default, PartialEq)]
    #[non_exhaustive]
    pub struct StreamedIdentifier {
        /// The conversation, when the object is one.
        optional conversation: ReferencedConversation = "conversation",
        /// The conversation message, when the object is one.
        optional conversation_message: ReferencedConversationMessage = "conversationMessage",
        /// `true` when the object was deleted.
        optional deleted: bool = "deleted",
        /// When the object changed.
        optional updated: GroupedTimestamp = "updated",
    }
}

impl StreamedIdentifier {
    /// The identifier of a changed (or new) message.
    pub fn message(id: impl Into<String>) -> Self {
        StreamedIdentifier {
            conversation_message: Some(ReferencedConversationMessage::new(id)),
            ..Default::default()
        }
    }

    /// The identifier of a deleted message.
    pub fn deleted_message(id: impl Into<String>) -> Self {
        StreamedIdentifier {
            deleted: Some(true),
            ..Self::message(id)
        }
    }

    /// The id of the message, when the object is a conversation message.
    pub fn message_id(&self) -> Option<&str> {
        self.conversation_message
            .as_ref()
            .map(|message| message.id.as_str())
    }

    /// Whether the object was deleted.
    pub fn is_deleted(&self) -> bool {
        self.deleted == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn message_items_expose_id_and_deletion() {
        let frame: StreamedIdentifiers = serde_json::from_value(json!({
            "iterable": [
                {"conversationMessage": {"id": "m1"}},
                {"conversationMessage": {"id": "m2"}, "deleted": true},
                {"conversationMessage": {"id": "m3"}, "deleted": false},
                {"asset": {"id": "a1"}}
            ]
        }))
        .unwrap();
        let ids: Vec<_> = frame
            .iterable
            .iter()
            .map(StreamedIdentifier::message_id)
            .collect();
        assert_eq!(ids, [Some("m1"), Some("m2"), Some("m3"), None]);
        let deleted: Vec<_> = frame
            .iterable
            .iter()
            .map(StreamedIdentifier::is_deleted)
            .collect();
        assert_eq!(deleted, [false, true, false, false]);
        assert_eq!(frame.iterable[3].extra["asset"], json!({"id": "a1"}));
    }

    #[test]
    fn constructors_match_the_wire_form() {
        let frame = StreamedIdentifiers::new(vec![
            StreamedIdentifier::message("m1"),
            StreamedIdentifier::deleted_message("m2"),
        ]);
        assert_eq!(
            serde_json::to_value(&frame).unwrap(),
            json!({"iterable": [
                {"conversationMessage": {"id": "m1"}},
                {"conversationMessage": {"id": "m2"}, "deleted": true}
            ]})
        );
    }

    #[test]
    fn iterable_is_required_and_null_items_are_absent() {
        let err = serde_json::from_value::<StreamedIdentifiers>(json!({})).unwrap_err();
        assert_eq!(err.to_string(), "missing field `iterable`");
        let item: StreamedIdentifier =
            serde_json::from_value(json!({"conversationMessage": null, "deleted": null})).unwrap();
        assert_eq!(item, StreamedIdentifier::default());
        assert_eq!(serde_json::to_value(&item).unwrap(), json!({}));
    }
}
