//! Small models shared by messages, seeds, searches and streams: the `schema` stamp, scores, fragments
//! and references.

use super::raw::RawJson;

use super::enums::SemanticVersion;

lossless_struct! {
    /// The version stamp under the key `schema` that nearly every model carries.
    #[derive(Clone, Debug, PartialEq)]
    #[non_exhaustive]
    pub struct EmbeddedModelSchema {
        /// The database migration the object was written with.
        required migration: i64 = "migration",
        /// The API version the object was written with.
        required semantic: SemanticVersion = "semantic",
    }
}

impl EmbeddedModelSchema {
    /// A stamp with the given migration and API version.
    pub fn new(migration: i64, semantic: SemanticVersion) -> Self {
        EmbeddedModelSchema {
            migration,
            semantic,
            extra: Default::default(),
        }
    }
}

lossless_struct! {
    /// Activity points of an object.
    #[derive(Clone, Debug, PartialEq)]
    #[non_exhaustive]
    pub struct Score {
        /// Points from automatic activity events.
        required automatic: i64 = "automatic",
        /// Points from events the user caused.
        required manual: i64 = "manual",
        /// Priority points.
        optional priority: i64 = "priority",
        /// Reference points.
        optional reference: i64 = "reference",
        /// Reuse points.
        optional reuse: i64 = "reuse",
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
        /// Search points.
        optional searched: i64 = "searched",
        /// Update points.
        optional update: i64 = "update",
    }
}

impl Score {
    /// A score with the two required point counts.
    pub fn new(automatic: i64, manual: i64) -> Self {
        Score {
            automatic,
            manual,
            priority: None,
            reference: None,
            reuse: None,
            schema: None,
            searched: None,
            update: None,
            extra: Default::default(),
        }
    }
}

lossless_struct! {
    /// Text content in one of several encodings; PiecesOS fills only `raw`.
    #[derive(Clone, Debug, Default, PartialEq)]
    #[non_exhaustive]
    pub struct TransferableString {
        /// Base64 text (not implemented by PiecesOS).
        optional base64: String = "base64",
        /// URL-safe base64 text (not implemented by PiecesOS).
        optional base64_url: String = "base64_url",
        /// A `data:` URL (not implemented by PiecesOS).
        optional data_url: String = "data_url",
        /// The text itself.
        optional raw: String = "raw",
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
    }
}

impl TransferableString {
    /// A string whose `raw` is `text`.
    pub fn text(text: impl Into<String>) -> Self {
        TransferableString {
            raw: Some(text.into()),
            ..Default::default()
        }
    }
}

lossless_struct! {
    /// Binary content as lists of integers; PiecesOS fills only `raw`.
    #[derive(Clone, Debug, Default, PartialEq)]
    #[non_exhaustive]
    pub struct TransferableBytes {
        /// Base64 (not implemented by PiecesOS).
        optional base64: Vec<i64> = "base64",
        /// URL-safe base64 (not implemented by PiecesOS).
        optional base64_url: Vec<i64> = "base64_url",
        /// A `data:` URL (not implemented by PiecesOS).
        optional data_url: Vec<i64> = "data_url",
        /// The bytes, one integer each.
        optional raw: Vec<i64> = "raw",
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
    }
}

lossless_struct! {
    /// What a fragment's content is.
    #[derive(Clone, Debug, Default, PartialEq)]
    #[non_exhaustive]
    pub struct FragmentMetadata {
        /// The file kind (`ClassificationSpecificEnum`, such as `md` or `rs`), kept as text because that
        /// enum has hundreds of values and grows often.
        optional ext: String = "ext",
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
    }
}

lossless_struct! {
    /// The content of a message: text in `string` or binary in `bytes` (the API asks for exactly one).
    #[derive(Clone, Debug, Default, PartialEq)]
    #[non_exhaustive]
    pub struct FragmentFormat {
        /// Binary content.
        optional bytes: TransferableBytes = "bytes",
        /// What the content is.
        optional metadata: FragmentMetadata = "metadata",
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
        /// Text content.
        optional string: TransferableString = "string",
    }
}

impl FragmentFormat {
    /// A fragment holding `text` as `string.raw`.
    pub fn text(text: impl Into<String>) -> Self {
        FragmentFormat {
            string: Some(TransferableString::text(text)),
            ..Default::default()
        }
    }

    /// The text of `string.raw`, if there is one.
    pub fn as_text(&self) -> Option<&str> {
        self.string.as_ref()?.raw.as_deref()
    }
}

lossless_struct! {
    /// A conversation by id, optionally with a flattened copy of it.
    #[derive(Clone, Debug, PartialEq)]
    #[non_exhaustive]
    pub struct ReferencedConversation {
        /// The conversation's id.
        required id: String = "id",
        /// The flattened conversation (`FlattenedConversation`), kept as raw JSON.
        optional reference: RawJson = "reference",
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
    }
}

impl ReferencedConversation {
    /// A reference to the conversation `id`.
    pub fn new(id: impl Into<String>) -> Self {
        ReferencedConversation {
            id: id.into(),
            reference: None,
            schema: None,
            extra: Default::default(),
        }
    }
}

lossless_struct! {
    /// A conversation message by id, optionally with a flattened copy of it.
    #[derive(Clone, Debug, PartialEq)]
    #[non_exhaustive]
    pub struct ReferencedConversationMessage {
        /// The message's id.
        required id: String = "id",
        /// The flattened message (`FlattenedConversationMessage`), kept as raw JSON.
        optional reference: RawJson = "reference",
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
    }
}

impl ReferencedConversationMessage {
    /// A reference to the message `id`.
    pub fn new(id: impl Into<String>) -> Self {
        ReferencedConversationMessage {
            id: id.into(),
            reference: None,
            schema: None,
            extra: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn round_trip<T>(value: Value) -> T
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        let typed: T = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(serde_json::to_value(&typed).unwrap(), value);
        typed
    }

    #[test]
    fn schema_is_typed_and_keeps_unknown_semantic_versions() {
        let schema: EmbeddedModelSchema =
            round_trip(json!({"migration": 0, "semantic": "MAJOR_0_MINOR_0_PATCH_1"}));
        assert_eq!(
            schema,
            EmbeddedModelSchema::new(0, SemanticVersion::Major0Minor0Patch1)
        );
        let later: EmbeddedModelSchema =
            round_trip(json!({"migration": 7, "semantic": "MAJOR_1_MINOR_0_PATCH_0", "hash": "x"}));
        assert_eq!(
            later.semantic,
            SemanticVersion::Other("MAJOR_1_MINOR_0_PATCH_0".into())
        );
        assert_eq!(later.extra["hash"], json!("x"));
        let err = serde_json::from_value::<EmbeddedModelSchema>(json!({"migration": 0})).unwrap_err();
        assert_eq!(err.to_string(), "missing field `semantic`");
    }

    #[test]
    fn score_types_every_count() {
        let score: Score = round_trip(json!({
            "automatic": 3, "manual": -2, "priority": 1, "reference": 0, "reuse": 9,
            "searched": 4, "update": 5, "schema": {"migration": 0, "semantic": "UNKNOWN"}
        }));
        assert_eq!((score.automatic, score.manual), (3, -2));
        assert_eq!(score.update, Some(5));
        assert!(score.extra.is_empty());
        let minimal = Score::new(1, 2);
        assert_eq!(
            serde_json::to_value(&minimal).unwrap(),
            json!({"automatic": 1, "manual": 2})
        );
        // A count is an integer on the wire; a fraction is a decode error, not a silent cut.
        assert!(serde_json::from_value::<Score>(json!({"automatic": 1.5, "manual": 0})).is_err());
    }

    #[test]
    fn fragment_text_builds_string_raw() {
        let fragment = FragmentFormat::text("hello");
        assert_eq!(fragment.as_text(), Some("hello"));
        assert_eq!(
            serde_json::to_value(&fragment).unwrap(),
            json!({"string": {"raw": "hello"}})
        );
        assert_eq!(FragmentFormat::default().as_text(), None);
        assert_eq!(
            serde_json::to_value(FragmentFormat::default()).unwrap(),
            json!({})
        );
    }

    #[test]
    fn fragment_with_every_part_round_trips() {
        let fragment: FragmentFormat = round_trip(json!({
            "string": {"raw": "fn main() {}", "base64": "Zm4=", "base64_url": "Zm4", "data_url": "data:,fn",
                       "schema": {"migration": 0, "semantic": "UNKNOWN"}},
            "bytes": {"raw": [0, 255, 10], "base64": [], "future": true},
            "metadata": {"ext": "rs", "schema": {"migration": 1, "semantic": "UNKNOWN"}},
            "schema": {"migration": 0, "semantic": "MAJOR_0_MINOR_0_PATCH_1"},
            "newPart": {"x": [1, 2]}
        }));
        assert_eq!(fragment.as_text(), Some("fn main() {}"));
        assert_eq!(fragment.bytes.as_ref().unwrap().raw, Some(vec![0, 255, 10]));
        assert_eq!(fragment.bytes.as_ref().unwrap().extra["future"], json!(true));
        assert_eq!(fragment.metadata.as_ref().unwrap().ext.as_deref(), Some("rs"));
        assert_eq!(fragment.extra["newPart"], json!({"x": [1, 2]}));
    }

    #[test]
    fn references_keep_their_flattened_copy() {
        let conversation: ReferencedConversation = round_trip(json!({
            "id": "c1",
            "reference": {"id": "c1", "name": "Chat", "type": "COPILOT", "messages": {"iterable": []}},
            "schema": {"migration": 0, "semantic": "UNKNOWN"}
        }));
        assert_eq!(conversation.id, "c1");
        assert_eq!(
            conversation.reference.as_ref().unwrap().to_value().unwrap()["type"],
            "COPILOT"
        );
        let message: ReferencedConversationMessage = round_trip(json!({"id": "m1"}));
        assert_eq!(message, ReferencedConversationMessage::new("m1"));
        assert_eq!(
            ReferencedConversation::new("c2"),
            serde_json::from_value(json!({"id": "c2", "reference": null})).unwrap()
        );
        let err = serde_json::from_value::<ReferencedConversation>(json!({"reference": {}})).unwrap_err();
        assert_eq!(err.to_string(), "missing field `id`");
    }
}
