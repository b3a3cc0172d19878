//! Serde models of the conversation-messages API: typed where it matters, lossless everywhere.

#[macro_use]
mod macros;

mod common;
mod enums;
mod timestamp;

pub use common::{
    EmbeddedModelSchema, FragmentFormat, FragmentMetadata, ReferencedConversation,
    ReferencedConversationMessage, Score, TransferableBytes, TransferableString,
};
pub use enums::{EmbeddingType, FilterOperation, Role, SemanticVersion, Sentiment};
pub use timestamp::GroupedTimestamp;
