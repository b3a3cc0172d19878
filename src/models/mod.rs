//! Serde models of the conversation-messages API (being written).
