//! The body of `POST /messages/create`.

use super::raw::RawJson;

use super::common::{EmbeddedModelSchema, FragmentFormat, ReferencedConversation};
use super::enums::{Role, Sentiment};
use super::timestamp::GroupedTimestamp;

lossless_struct! {
    /// A message to create.
    ///
    /// The model allows leaving out `conversation`, but `POST /messages/create` answers 500 without it:
    /// build seeds with [`Self::user_text`] or [`Self::new`] plus [`Self::with_conversation`].
    #[derive(Clone, Debug, PartialEq)]
    #[non_exhaustive]
    pub struct SeededConversationMessage {
        /// The agent that wrote the message in a multi-agent flow (`ConversationMessageAgent`).
        optional agent: RawJson = "agent",
        /// Related anchors (`FlattenedAnchors`).
        optional anchors: RawJson = "anchors",
        /// Related assets (`FlattenedAssets`).
        optional assets: RawJson = "assets",
        /// The conversation the message goes into.
        optional conversation: ReferencedConversation = "conversation",
        /// When the message was created.
        optional created: GroupedTimestamp = "created",
        /// The content.
        required fragment: FragmentFormat = "fragment",
        /// Related messages (`FlattenedConversationMessages`).
        optional messages: RawJson = "messages",
        /// The machine-learning model that wrote the message (`Model`).
        optional model: RawJson = "model",
        /// Related time ranges (`FlattenedRanges`).
        optional ranges: RawJson = "ranges",
        /// Who wrote the message.
        required role: Role = "role",
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
        /// How the user rated the message.
        optional sentiment: Sentiment = "sentiment",
        /// Workstream sources (`FlattenedIdentifiedWorkstreamPatternEngineSources`).
        optional sources: RawJson = "sources",
        /// Workstream summaries (`FlattenedWorkstreamSummaries`).
        optional summaries: RawJson = "summaries",
        /// Tags (`FlattenedTags`).
        optional tags: RawJson = "tags",
        /// Workstream events (`FlattenedWorkstreamEvents`).
        optional workstream_events: RawJson = "workstream_events",
    }
}

impl SeededConversationMessage {
    /// A seed with a role and content and nothing else; add the conversation with
    /// [`Self::with_conversation`].
    pub fn new(role: Role, fragment: FragmentFormat) -> Self {
        SeededConversationMessage {
            agent: None,
            anchors: None,
            assets: None,
            conversation: None,
            created: None,
            fragment,
            messages: None,
            model: None,
            ranges: None,
            role,
            schema: None,
            sentiment: None,
            sources: None,
            summaries: None,
            tags: None,
            workstream_events: None,
            extra: Default::default(),
        }
    }

    /// A text message from the user into the conversation `conversation_id`.
    pub fn user_text(conversation_id: impl Into<String>, text: impl Into<String>) -> Self {
        Self::new(Role::User, FragmentFormat::text(text)).with_conversation(conversation_id)
    }

    /// Sets the conversation the message goes into.
    pub fn with_conversation(mut self, conversation_id: impl Into<String>) -> Self {
        self.conversation = Some(ReferencedConversation::new(conversation_id));
        self
    }

    /// The text of the message (`fragment.string.raw`), if it has one.
    pub fn text(&self) -> Option<&str> {
        self.fragment.as_text()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn user_text_is_a_user_message_in_a_conversation() {
        let seed = SeededConversationMessage::user_text("c1", "Hello 👋");
        assert_eq!(seed.role, Role::User);
        assert_eq!(seed.text(), Some("Hello 👋"));
        assert_eq!(seed.conversation.as_ref().unwrap().id, "c1");
        assert_eq!(
            serde_json::to_value(&seed).unwrap(),
            json!({"conversation": {"id": "c1"}, "fragment": {"string": {"raw": "Hello 👋"}}, "role": "USER"})
        );
    }

    #[test]
    fn new_and_with_conversation_compose() {
        let seed = SeededConversationMessage::new(Role::Assistant, FragmentFormat::text("ok"));
        assert_eq!(seed.conversation, None);
        assert_eq!(
            serde_json::to_value(&seed).unwrap(),
            json!({"fragment": {"string": {"raw": "ok"}}, "role": "ASSISTANT"})
        );
        let seed = seed.with_conversation("c9");
        assert_eq!(seed.conversation, Some(ReferencedConversation::new("c9")));
    }

    #[test]
    fn role_and_fragment_are_required() {
        let err = serde_json::from_value::<SeededConversationMessage>(json!({"role": "USER"})).unwrap_err();
        assert_eq!(err.to_string(), "missing field `fragment`");
        let err = serde_json::from_value::<SeededConversationMessage>(json!({"fragment": {}})).unwrap_err();
        assert_eq!(err.to_string(), "missing field `role`");
    }

    #[test]
    fn null_optionals_equal_absent_ones() {
        let with_nulls: SeededConversationMessage = serde_json::from_value(json!({
            "role": "USER", "fragment": {"string": {"raw": "x", "base64": null}},
            "conversation": null, "created": null, "model": null, "sentiment": null, "tags": null
        }))
        .unwrap();
        assert_eq!(
            with_nulls,
            SeededConversationMessage::new(Role::User, FragmentFormat::text("x"))
        );
    }
}
