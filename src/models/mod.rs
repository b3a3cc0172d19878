//! Serde models of the conversation-messages API: typed where it matters, lossless everywhere.
//!
//! * Every model keeps the JSON keys it does not type in a public `extra` map and writes them back, so a
//!   message read and written again is the same JSON, whatever newer PiecesOS releases add to it. Deep
//!   objects this crate does not look into (a message's `model`, `tags`, `annotations`, …) and the values
//!   in `extra` are [`RawJson`]: their exact text, so that every number and every repeated key inside
//!   them survives; [`RawJson::to_value`] parses one when you need to look inside.
//! * Optional fields are `Option`s: an absent key and `null` both decode to `None`, and `None` is not
//!   written. A missing required field is an error that names the wire key; so is a key given twice.
//! * Enums end in `Other(String)`, which keeps values this crate does not know yet.
//! * Wire keys are mixed camelCase and snake_case, field by field (`summaryRoot` beside
//!   `workstream_events`); Rust fields are snake_case, and `type` is `r#type`. Each model's
//!   `TYPED_KEYS` lists its wire keys.
//!
//! Structs are `#[non_exhaustive]`, so that fields PiecesOS adds can be typed later; build them with
//! their constructors (or `Default`) and set the public fields:
//!
//! ```
//! use pieces_os_client::models::{ConversationMessage, SearchInput, SeededConversationMessage};
//!
//! let seed = SeededConversationMessage::user_text("conversation-id", "What is a lifetime?");
//! assert_eq!(
//!     serde_json::to_string(&seed).unwrap(),
//!     r#"{"conversation":{"id":"conversation-id"},"fragment":{"string":{"raw":"What is a lifetime?"}},"role":"USER"}"#
//! );
//!
//! let mut search = SearchInput::query("lifetime");
//! search.engines.iterable[0].query = Some("lifetimes".into());
//!
//! let message: ConversationMessage = serde_json::from_str(
//!     r#"{"id": "m1", "role": "ASSISTANT", "conversation": {"id": "c1"},
//!         "created": {"value": "2024-05-06T07:08:09.123Z"}, "updated": {"value": "2024-05-06T07:08:09.123+00:00"},
//!         "fragment": {"string": {"raw": "A lifetime is…"}}, "futureKey": [1, 2]}"#,
//! )
//! .unwrap();
//! assert_eq!(message.text(), Some("A lifetime is…"));
//! assert_eq!(message.created.unix_millis(), message.updated.unix_millis());
//! assert_eq!(message.extra["futureKey"], serde_json::json!([1, 2]));
//! ```

#[macro_use]
mod macros;

mod common;
mod enums;
pub(crate) mod field;
mod message;
mod raw;
mod search;
mod seed;
mod stream;
mod timestamp;

#[cfg(test)]
mod tests;

pub use common::{
    EmbeddedModelSchema, FragmentFormat, FragmentMetadata, ReferencedConversation,
    ReferencedConversationMessage, Score, TransferableBytes, TransferableString,
};
pub use enums::{EmbeddingType, FilterOperation, Role, SemanticVersion, Sentiment};
pub use message::{ConversationMessage, ConversationMessages};
pub use raw::RawJson;
pub use search::{
    AnonymousTemporalRange, EmbeddingsSearchOptions, FullTextSearchOptions, SearchEngine, SearchEngines,
    SearchInput, SearchedConversationMessage, SearchedConversationMessages, TemporalSearchOptions,
    WorkstreamSearchOptions,
};
pub use seed::SeededConversationMessage;
pub use stream::{StreamedIdentifier, StreamedIdentifiers};
pub use timestamp::GroupedTimestamp;
