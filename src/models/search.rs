//! The body and the answer of `POST /messages/search`.
//!
//! Similarities are kept as [`Number`] rather than `f64`: the wire carries both `1` and `0.93`, and an
//! integer read into an `f64` would be written back as `1.0`, a different JSON number.

use serde_json::Number;

use super::raw::RawJson;

use super::common::EmbeddedModelSchema;
use super::enums::{EmbeddingType, FilterOperation};
use super::message::ConversationMessage;
use super::timestamp::GroupedTimestamp;

lossless_struct! {
    /// What to search for.
    #[derive(Clone, Debug, Default, PartialEq)]
    #[non_exhaustive]
    pub struct SearchInput {
        /// The searches to run.
        required engines: SearchEngines = "engines",
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
    }
}

impl SearchInput {
    /// A search running these engines.
    pub fn new(engines: SearchEngines) -> Self {
        SearchInput {
            engines,
            ..Default::default()
        }
    }

    /// A search for `text` with one engine and the server's default search method.
    pub fn query(text: impl Into<String>) -> Self {
        Self::new(SearchEngines::new(vec![SearchEngine::query(text)]))
    }
}

lossless_struct! {
    /// Several searches, combined as the `type` field says; an engine may nest more in its
    /// [`operations`](SearchEngine::operations).
    #[derive(Clone, Debug, Default, PartialEq)]
    #[non_exhaustive]
    pub struct SearchEngines {
        /// The searches.
        required iterable: Vec<SearchEngine> = "iterable",
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
        /// How the results of the searches combine; PiecesOS takes `AND` when it is left out.
        optional r#type: FilterOperation = "type",
    }
}

impl SearchEngines {
    /// These searches, combined the server's default way.
    pub fn new(iterable: Vec<SearchEngine>) -> Self {
        SearchEngines {
            iterable,
            ..Default::default()
        }
    }

    /// Sets how the results of the searches combine.
    pub fn with_type(mut self, operation: FilterOperation) -> Self {
        self.r#type = Some(operation);
        self
    }
}

lossless_struct! {
    /// One search. The API means the search methods (`full_text`, `embeddings`, `temporal`,
    /// `workstream`) to be used one per engine; combine several through [`Self::operations`].
    #[derive(Clone, Debug, Default, PartialEq)]
    #[non_exhaustive]
    pub struct SearchEngine {
        /// Search by embeddings.
        optional embeddings: EmbeddingsSearchOptions = "embeddings",
        /// Full-text search.
        optional full_text: FullTextSearchOptions = "full_text",
        /// Nested searches, for combinations such as `(A or B) and C`.
        optional operations: SearchEngines = "operations",
        /// The text to search for.
        optional query: String = "query",
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
        /// Search by creation or update time.
        optional temporal: TemporalSearchOptions = "temporal",
        /// Search the workstream data.
        optional workstream: WorkstreamSearchOptions = "workstream",
    }
}

impl SearchEngine {
    /// A search for `text` with the server's default search method.
    pub fn query(text: impl Into<String>) -> Self {
        SearchEngine {
            query: Some(text.into()),
            ..Default::default()
        }
    }
}

lossless_struct! {
    /// Options of a full-text search.
    #[derive(Clone, Debug, Default, PartialEq)]
    #[non_exhaustive]
    pub struct FullTextSearchOptions {
        /// `true` for an exact search; fuzzy when left out.
        optional exact: bool = "exact",
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
        /// How alike a match must be, from 0 (anything) to 1 (exact).
        optional similarity: Number = "similarity",
    }
}

lossless_struct! {
    /// Options of a search by embeddings.
    #[derive(Clone, Debug, PartialEq)]
    #[non_exhaustive]
    pub struct EmbeddingsSearchOptions {
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
        /// How alike a match must be, from 0 (anything) to 1 (exact).
        optional similarity: Number = "similarity",
        /// Which embedding to search.
        required r#type: EmbeddingType = "type",
    }
}

impl EmbeddingsSearchOptions {
    /// A search on the embedding `embedding_type`.
    pub fn new(embedding_type: EmbeddingType) -> Self {
        EmbeddingsSearchOptions {
            schema: None,
            similarity: None,
            r#type: embedding_type,
            extra: Default::default(),
        }
    }
}

lossless_struct! {
    /// Options of a search by time.
    #[derive(Clone, Debug, Default, PartialEq)]
    #[non_exhaustive]
    pub struct TemporalSearchOptions {
        /// The range the creation time must fall in.
        optional created: AnonymousTemporalRange = "created",
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
        /// The range the update time must fall in.
        optional updated: AnonymousTemporalRange = "updated",
    }
}

lossless_struct! {
    /// A time range: `from` alone means "after", `to` alone means "before", both mean "between".
    #[derive(Clone, Debug, Default, PartialEq)]
    #[non_exhaustive]
    pub struct AnonymousTemporalRange {
        /// Whether the range is between `from` and `to`.
        optional between: bool = "between",
        /// Whether the range is continuous.
        optional continuous: bool = "continuous",
        /// The start of the range.
        optional from: GroupedTimestamp = "from",
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
        /// The end of the range.
        optional to: GroupedTimestamp = "to",
    }
}

lossless_struct! {
    /// Options of a search in the workstream data.
    #[derive(Clone, Debug, Default, PartialEq)]
    #[non_exhaustive]
    pub struct WorkstreamSearchOptions {
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
        /// The sources to search (`WorkstreamPatternEngineSources`).
        optional sources: RawJson = "sources",
    }
}

lossless_struct! {
    /// The answer of a search.
    #[derive(Clone, Debug, Default, PartialEq)]
    #[non_exhaustive]
    pub struct SearchedConversationMessages {
        /// The matches.
        required iterable: Vec<SearchedConversationMessage> = "iterable",
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
    }
}

impl SearchedConversationMessages {
    /// An answer with these matches.
    pub fn new(iterable: Vec<SearchedConversationMessage>) -> Self {
        SearchedConversationMessages {
            iterable,
            schema: None,
            extra: Default::default(),
        }
    }
}

lossless_struct! {
    /// One match of a search.
    #[derive(Clone, Debug, PartialEq)]
    #[non_exhaustive]
    pub struct SearchedConversationMessage {
        /// Whether the match is exact.
        required exact: bool = "exact",
        /// The id of the matching message.
        required identifier: String = "identifier",
        /// The matching message; present when the request asked for transferables.
        optional message: ConversationMessage = "message",
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
        /// How alike the match is.
        required similarity: Number = "similarity",
        /// `true` when the message matched by a timestamp.
        optional temporal: bool = "temporal",
    }
}

impl SearchedConversationMessage {
    /// A match of the message `identifier`.
    pub fn new(identifier: impl Into<String>, exact: bool, similarity: Number) -> Self {
        SearchedConversationMessage {
            exact,
            identifier: identifier.into(),
            message: None,
            schema: None,
            similarity,
            temporal: None,
            extra: Default::default(),
        }
    }

    /// [`Self::similarity`] as an `f64`.
    pub fn similarity_f64(&self) -> f64 {
        // Only serde_json's `arbitrary_precision` can make this `None`, and then for no real number.
        self.similarity.as_f64().unwrap_or(f64::NAN)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn query_builds_one_engine() {
        let input = SearchInput::query("rust lifetimes");
        assert_eq!(
            serde_json::to_value(&input).unwrap(),
            json!({"engines": {"iterable": [{"query": "rust lifetimes"}]}})
        );
        assert_eq!(input.engines.iterable[0].query.as_deref(), Some("rust lifetimes"));
    }

    #[test]
    fn every_search_method_round_trips() {
        let wire = json!({
            "engines": {
                "type": "OR",
                "iterable": [
                    {"query": "a", "full_text": {"exact": true, "similarity": 1}},
                    {"query": "b", "embeddings": {"type": "NCS", "similarity": 0.25}},
                    {"temporal": {
                        "created": {"from": {"value": "2024-01-01T00:00:00Z"}, "to": {"value": "2024-02-01T00:00:00+00:00"},
                                    "between": true, "continuous": false},
                        "updated": {"to": {"value": "2024-03-01T00:00:00.5Z"}}
                    }},
                    {"workstream": {"sources": {"iterable": [{"id": "s1"}]}}},
                    {"operations": {"type": "AND", "iterable": [{"query": "c"}, {"operations": {"iterable": []}}]}}
                ],
                "schema": {"migration": 0, "semantic": "MAJOR_0_MINOR_0_PATCH_1"}
            },
            "schema": {"migration": 0, "semantic": "MAJOR_0_MINOR_0_PATCH_1"}
        });
        let input: SearchInput = serde_json::from_value(wire.clone()).unwrap();
        let engines = &input.engines;
        assert_eq!(engines.r#type, Some(FilterOperation::Or));
        let full_text = engines.iterable[0].full_text.as_ref().unwrap();
        assert_eq!(full_text.exact, Some(true));
        assert_eq!(full_text.similarity, Some(Number::from(1)));
        assert_eq!(
            engines.iterable[1].embeddings.as_ref().unwrap().r#type,
            EmbeddingType::Ncs
        );
        let created = engines.iterable[2]
            .temporal
            .as_ref()
            .unwrap()
            .created
            .as_ref()
            .unwrap();
        assert_eq!(created.from.as_ref().unwrap().value, "2024-01-01T00:00:00Z");
        let nested = engines.iterable[4].operations.as_ref().unwrap();
        assert_eq!(nested.r#type, Some(FilterOperation::And));
        assert_eq!(nested.iterable[1].operations, Some(SearchEngines::default()));
        assert_eq!(serde_json::to_value(&input).unwrap(), wire);
    }

    #[test]
    fn integer_similarity_stays_an_integer() {
        let matched: SearchedConversationMessage =
            serde_json::from_str(r#"{"exact": true, "identifier": "m1", "similarity": 1}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&matched).unwrap(),
            r#"{"exact":true,"identifier":"m1","similarity":1}"#
        );
        assert_eq!(matched.similarity_f64(), 1.0);
        let fuzzy: SearchedConversationMessage =
            serde_json::from_str(r#"{"exact": false, "identifier": "m2", "similarity": 0.1}"#).unwrap();
        assert_eq!(fuzzy.similarity_f64(), 0.1);
        assert!(serde_json::to_string(&fuzzy)
            .unwrap()
            .contains(r#""similarity":0.1"#));
    }

    #[test]
    fn searched_messages_round_trip_with_and_without_the_message() {
        let wire = json!({
            "iterable": [
                {"exact": false, "identifier": "m1", "similarity": 0.87, "temporal": false,
                 "message": {"id": "m1", "role": "USER", "conversation": {"id": "c"},
                             "created": {"value": "2024-01-01T00:00:00Z"}, "updated": {"value": "2024-01-01T00:00:00Z"},
                             "fragment": {"string": {"raw": "hello"}}},
                 "rank": 1},
                {"exact": true, "identifier": "m2", "similarity": 1}
            ],
            "schema": {"migration": 0, "semantic": "UNKNOWN"}
        });
        let results: SearchedConversationMessages = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(
            results.iterable[0].message.as_ref().unwrap().text(),
            Some("hello")
        );
        assert_eq!(results.iterable[0].extra["rank"], json!(1));
        assert_eq!(results.iterable[1].message, None);
        assert_eq!(serde_json::to_value(&results).unwrap(), wire);
    }

    #[test]
    fn required_fields_are_named() {
        for (field, wire) in [
            ("engines", json!({})),
            ("iterable", json!({"engines": {"type": "AND"}})),
            (
                "type",
                json!({"engines": {"iterable": [{"embeddings": {"similarity": 1}}]}}),
            ),
        ] {
            let err = serde_json::from_value::<SearchInput>(wire).unwrap_err();
            assert_eq!(err.to_string(), format!("missing field `{field}`"));
        }
        for field in ["exact", "identifier", "similarity"] {
            let mut wire = json!({"exact": true, "identifier": "m", "similarity": 0.5});
            wire.as_object_mut().unwrap().remove(field);
            let err = serde_json::from_value::<SearchedConversationMessage>(wire).unwrap_err();
            assert_eq!(err.to_string(), format!("missing field `{field}`"));
        }
    }

    #[test]
    fn constructors_match_the_wire_form() {
        let input = SearchInput::new(
            SearchEngines::new(vec![
                SearchEngine::query("x"),
                SearchEngine {
                    embeddings: Some(EmbeddingsSearchOptions::new(EmbeddingType::Jina)),
                    ..Default::default()
                },
            ])
            .with_type(FilterOperation::Or),
        );
        assert_eq!(
            serde_json::to_value(&input).unwrap(),
            json!({"engines": {"iterable": [{"query": "x"}, {"embeddings": {"type": "JINA"}}], "type": "OR"}})
        );
        let result = SearchedConversationMessage::new("m", false, Number::from_f64(0.5).unwrap());
        assert_eq!(
            serde_json::to_value(SearchedConversationMessages::new(vec![result])).unwrap(),
            json!({"iterable": [{"exact": false, "identifier": "m", "similarity": 0.5}]})
        );
    }

    #[test]
    fn an_unknown_filter_operation_survives() {
        let wire = json!({"iterable": [], "type": "XOR"});
        let engines: SearchEngines = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(engines.r#type, Some(FilterOperation::Other("XOR".into())));
        assert_eq!(serde_json::to_value(&engines).unwrap(), wire);
    }
}
