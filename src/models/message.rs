//! Conversation messages as PiecesOS returns them.

use std::collections::BTreeMap;

use super::raw::RawJson;

use super::common::{EmbeddedModelSchema, FragmentFormat, ReferencedConversation, Score};
use super::enums::{Role, Sentiment};
use super::timestamp::GroupedTimestamp;

lossless_struct! {
    /// One message of a conversation (`GET /messages`, `POST /messages/create`).
    ///
    /// The fields typed as [`RawJson`] are deep models this crate does not look into; they are kept
    /// exactly as received (their JSON text), and parsed on demand ([`RawJson::to_value`]).
    #[derive(Clone, Debug, PartialEq)]
    #[non_exhaustive]
    pub struct ConversationMessage {
        /// The agent that wrote the message in a multi-agent flow (`ConversationMessageAgent`).
        optional agent: RawJson = "agent",
        /// Related anchors (`FlattenedAnchors`).
        optional anchors: RawJson = "anchors",
        /// Annotations on the message (`FlattenedAnnotations`).
        optional annotations: RawJson = "annotations",
        /// Related assets (`FlattenedAssets`).
        optional assets: RawJson = "assets",
        /// The conversation the message belongs to.
        required conversation: ReferencedConversation = "conversation",
        /// When the message was created.
        required created: GroupedTimestamp = "created",
        /// When the message was deleted, if it was.
        optional deleted: GroupedTimestamp = "deleted",
        /// The content; left out when the request asked for no transferables.
        optional fragment: FragmentFormat = "fragment",
        /// The message's id.
        required id: String = "id",
        /// Related messages (`FlattenedConversationMessages`).
        optional messages: RawJson = "messages",
        /// The machine-learning model that wrote the message (`Model`).
        optional model: RawJson = "model",
        /// Related people (`FlattenedPersons`).
        optional persons: RawJson = "persons",
        /// Related time ranges (`FlattenedRanges`).
        optional ranges: RawJson = "ranges",
        /// Who wrote the message.
        required role: Role = "role",
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
        /// Activity points.
        optional score: Score = "score",
        /// How the user rated the message.
        optional sentiment: Sentiment = "sentiment",
        /// Workstream sources (`FlattenedIdentifiedWorkstreamPatternEngineSources`).
        optional sources: RawJson = "sources",
        /// Workstream summaries (`FlattenedWorkstreamSummaries`).
        optional summaries: RawJson = "summaries",
        /// The summary this message created (`ReferencedWorkstreamSummary`).
        optional summary_root: RawJson = "summaryRoot",
        /// Tags (`FlattenedTags`).
        optional tags: RawJson = "tags",
        /// When the message last changed.
        required updated: GroupedTimestamp = "updated",
        /// Related websites (`FlattenedWebsites`).
        optional websites: RawJson = "websites",
        /// Workstream events (`FlattenedWorkstreamEvents`).
        optional workstream_events: RawJson = "workstream_events",
    }
}

impl ConversationMessage {
    /// A message with its required fields; `updated` starts equal to `created`, as for a message just
    /// written.
    pub fn new(
        id: impl Into<String>,
        role: Role,
        conversation: ReferencedConversation,
        created: GroupedTimestamp,
    ) -> Self {
        ConversationMessage {
            agent: None,
            anchors: None,
            annotations: None,
            assets: None,
            conversation,
            updated: created.clone(),
            created,
            deleted: None,
            fragment: None,
            id: id.into(),
            messages: None,
            model: None,
            persons: None,
            ranges: None,
            role,
            schema: None,
            score: None,
            sentiment: None,
            sources: None,
            summaries: None,
            summary_root: None,
            tags: None,
            websites: None,
            workstream_events: None,
            extra: Default::default(),
        }
    }

    /// Sets [`Self::fragment`].
    pub fn with_fragment(mut self, fragment: FragmentFormat) -> Self {
        self.fragment = Some(fragment);
        self
    }

    /// The text of the message (`fragment.string.raw`), if it has one.
    pub fn text(&self) -> Option<&str> {
        self.fragment.as_ref()?.as_text()
    }

    /// The id of the conversation the message belongs to.
    pub fn conversation_id(&self) -> &str {
        &self.conversation.id
    }

    /// Whether the message carries a deletion time.
    pub fn is_deleted(&self) -> bool {
        self.deleted.is_some()
    }
}

lossless_struct! {
    /// Many conversation messages (`GET /messages`).
    #[derive(Clone, Debug, Default, PartialEq)]
    #[non_exhaustive]
    pub struct ConversationMessages {
        /// Message id → position; `-1` marks a deleted message.
        optional indices: BTreeMap<String, i64> = "indices",
        /// The messages.
        required iterable: Vec<ConversationMessage> = "iterable",
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
        /// Activity points.
        optional score: Score = "score",
    }
}

impl ConversationMessages {
    /// A list of these messages, without indices.
    pub fn new(iterable: Vec<ConversationMessage>) -> Self {
        ConversationMessages {
            iterable,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn minimal() -> Value {
        json!({
            "id": "m1",
            "created": {"value": "2024-01-01T00:00:00.000Z"},
            "updated": {"value": "2024-01-01T00:00:01.000Z"},
            "role": "ASSISTANT",
            "conversation": {"id": "c1"}
        })
    }

    #[test]
    fn minimal_message_decodes_and_encodes_unchanged() {
        let message: ConversationMessage = serde_json::from_value(minimal()).unwrap();
        assert_eq!(message.id, "m1");
        assert_eq!(message.role, Role::Assistant);
        assert_eq!(message.conversation_id(), "c1");
        assert_eq!(message.text(), None);
        assert!(!message.is_deleted());
        assert!(message.extra.is_empty());
        assert_eq!(serde_json::to_value(&message).unwrap(), minimal());
    }

    #[test]
    fn every_required_field_is_named_when_missing() {
        for field in ["id", "created", "updated", "role", "conversation"] {
            let mut wire = minimal();
            wire.as_object_mut().unwrap().remove(field);
            let err = serde_json::from_value::<ConversationMessage>(wire).unwrap_err();
            assert_eq!(err.to_string(), format!("missing field `{field}`"));
        }
        let err = serde_json::from_str::<ConversationMessage>(r#"{"role": "USER"}"#).unwrap_err();
        assert!(err.to_string().starts_with("missing field `"), "{err}");
    }

    #[test]
    fn null_optionals_equal_absent_ones() {
        let mut wire = minimal();
        for key in [
            "agent",
            "anchors",
            "annotations",
            "assets",
            "deleted",
            "fragment",
            "messages",
            "model",
            "persons",
            "ranges",
            "schema",
            "score",
            "sentiment",
            "sources",
            "summaries",
            "summaryRoot",
            "tags",
            "websites",
            "workstream_events",
        ] {
            wire[key] = Value::Null;
        }
        let with_nulls: ConversationMessage = serde_json::from_value(wire).unwrap();
        let without: ConversationMessage = serde_json::from_value(minimal()).unwrap();
        assert_eq!(with_nulls, without);
        assert_eq!(serde_json::to_value(&with_nulls).unwrap(), minimal());
    }

    #[test]
    fn a_required_field_may_not_be_null() {
        let mut wire = minimal();
        wire["id"] = Value::Null;
        let err = serde_json::from_value::<ConversationMessage>(wire).unwrap_err();
        assert!(err.to_string().contains("expected a string"), "{err}");
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let text = r#"{"id": "a", "id": "b", "created": {"value": "x"}}"#;
        let err = serde_json::from_str::<ConversationMessage>(text).unwrap_err();
        assert!(err.to_string().starts_with("duplicate field `id`"), "{err}");
        // Also for optional fields that were null the first time, and for keys kept in `extra`.
        let text = r#"{"model": null, "model": {}}"#;
        let err = serde_json::from_str::<ConversationMessage>(text).unwrap_err();
        assert!(err.to_string().starts_with("duplicate field `model`"), "{err}");
        let text = r#"{"novel": 1, "novel": 2}"#;
        let err = serde_json::from_str::<ConversationMessage>(text).unwrap_err();
        assert!(err.to_string().starts_with("duplicate field `novel`"), "{err}");
    }

    #[test]
    fn extra_may_not_shadow_a_typed_key() {
        let mut message: ConversationMessage = serde_json::from_value(minimal()).unwrap();
        message.extra.insert("id".into(), json!("other").into());
        let err = serde_json::to_string(&message).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ConversationMessage.extra holds the key `id`, which is a typed field"
        );
    }

    #[test]
    fn new_builds_what_the_wire_form_decodes_to() {
        let built = ConversationMessage::new(
            "m1",
            Role::User,
            ReferencedConversation::new("c1"),
            GroupedTimestamp::new("2024-01-01T00:00:00Z"),
        )
        .with_fragment(FragmentFormat::text("hi"));
        assert_eq!(built.text(), Some("hi"));
        assert_eq!(built.created, built.updated);
        let wire = json!({
            "id": "m1", "role": "USER", "conversation": {"id": "c1"},
            "created": {"value": "2024-01-01T00:00:00Z"}, "updated": {"value": "2024-01-01T00:00:00Z"},
            "fragment": {"string": {"raw": "hi"}}
        });
        assert_eq!(serde_json::to_value(&built).unwrap(), wire);
        assert_eq!(
            serde_json::from_value::<ConversationMessage>(wire).unwrap(),
            built
        );
    }

    #[test]
    fn a_non_object_is_refused_with_the_model_name() {
        let err = serde_json::from_str::<ConversationMessage>("[]").unwrap_err();
        assert!(err.to_string().contains("a ConversationMessage object"), "{err}");
    }

    #[test]
    fn messages_keep_indices_including_deleted_ones() {
        let wire = json!({
            "iterable": [minimal()],
            "indices": {"m1": 0, "gone": -1},
            "score": {"automatic": 0, "manual": 0},
            "schema": {"migration": 0, "semantic": "MAJOR_0_MINOR_0_PATCH_1"}
        });
        let messages: ConversationMessages = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(messages.iterable.len(), 1);
        assert_eq!(messages.indices.as_ref().unwrap()["gone"], -1);
        assert_eq!(serde_json::to_value(&messages).unwrap(), wire);

        let err = serde_json::from_value::<ConversationMessages>(json!({"indices": {}})).unwrap_err();
        assert_eq!(err.to_string(), "missing field `iterable`");
        assert_eq!(
            serde_json::to_value(ConversationMessages::default()).unwrap(),
            json!({"iterable": []})
        );
        assert_eq!(ConversationMessages::new(vec![]), ConversationMessages::default());
    }
}
