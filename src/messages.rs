//! The HTTP endpoints of the ConversationMessagesApi, as methods of [`Client`].
//!
//! | documented operation | typed | JSON text |
//! |---|---|---|
//! | `messages_snapshot` (`GET /messages`) | [`Client::snapshot_messages`] | [`Client::snapshot_messages_json`] |
//! | `messages_create_specific_message` (`POST /messages/create`) | [`Client::create_message`] | [`Client::create_message_json`] |
//! | `messages_delete_specific_message` (`POST /messages/{message}/delete`) | [`Client::delete_message`] | — |
//! | `search_messages` (`POST /messages/search`) | [`Client::search_messages`] | [`Client::search_messages_json`] |
//!
//! The identifier stream (`conversation_messages_stream_identifiers`) is in [`crate::stream`].
//!
//! The JSON-text forms return the server's body exactly as it arrived, after checking that it is the
//! endpoint's model (valid JSON, every required field present with the right type); they take their input
//! as JSON text too, check it against its model before anything is sent, and send it unchanged.

use crate::client::{Client, Request};
use crate::error::{Error, Result};
use crate::models::field::Field;
use crate::models::{
    ConversationMessage, ConversationMessages, SearchInput, SearchedConversationMessages,
    SeededConversationMessage,
};
pub use crate::operation::Transferables;
use crate::operation::{MESSAGES_CREATE, MESSAGES_DELETE, MESSAGES_SEARCH, MESSAGES_SNAPSHOT};
use crate::wire;

impl Client {
    /// `messages_snapshot`: every conversation message PiecesOS holds.
    pub fn snapshot_messages(&self, transferables: Transferables) -> Result<ConversationMessages> {
        let body = self.exchange(Request::new(&MESSAGES_SNAPSHOT).transferables(transferables))?;
        wire::decode(MESSAGES_SNAPSHOT.name, &body)
    }

    /// `messages_snapshot` as the server's JSON text (a `ConversationMessages`), checked, not re-encoded.
    pub fn snapshot_messages_json(&self, transferables: Transferables) -> Result<String> {
        let body = self.exchange(Request::new(&MESSAGES_SNAPSHOT).transferables(transferables))?;
        wire::checked_text::<ConversationMessages>(MESSAGES_SNAPSHOT.name, body)
    }

    /// `messages_create_specific_message`: creates a message from `seed` and returns it as stored.
    ///
    /// PiecesOS refuses (HTTP 500) a seed without a `conversation`.
    pub fn create_message(
        &self,
        seed: &SeededConversationMessage,
        transferables: Transferables,
    ) -> Result<ConversationMessage> {
        let seed = to_json("seed", seed)?;
        let request = Request::new(&MESSAGES_CREATE).transferables(transferables);
        let body = self.exchange(request.json_body(&seed))?;
        wire::decode(MESSAGES_CREATE.name, &body)
    }

    /// `messages_create_specific_message` with the seed as JSON text (a `SeededConversationMessage`),
    /// checked against its model and sent unchanged; returns the server's JSON text (a
    /// `ConversationMessage`), checked, not re-encoded.
    pub fn create_message_json(&self, seed_json: &str, transferables: Transferables) -> Result<String> {
        check_input::<SeededConversationMessage>("seed", seed_json)?;
        let request = Request::new(&MESSAGES_CREATE).transferables(transferables);
        let body = self.exchange(request.json_body(seed_json.as_bytes()))?;
        wire::checked_text::<ConversationMessage>(MESSAGES_CREATE.name, body)
    }

    /// `messages_delete_specific_message`: deletes the message with id `message_id`.
    ///
    /// The id is percent-encoded as one path segment, so no id can reach another path. An empty id is
    /// refused before anything is sent; an id PiecesOS does not know is an [`Error::HttpStatus`] (500).
    pub fn delete_message(&self, message_id: &str) -> Result<()> {
        if message_id.is_empty() {
            return Err(Error::invalid_input("message_id", "is empty"));
        }
        self.exchange(Request::new(&MESSAGES_DELETE).message_id(message_id))?;
        Ok(())
    }

    /// `search_messages`: searches the messages' text.
    pub fn search_messages(
        &self,
        input: &SearchInput,
        transferables: Transferables,
    ) -> Result<SearchedConversationMessages> {
        let input = to_json("search_input", input)?;
        let request = Request::new(&MESSAGES_SEARCH).transferables(transferables);
        let body = self.exchange(request.json_body(&input))?;
        wire::decode(MESSAGES_SEARCH.name, &body)
    }

    /// `search_messages` with the input as JSON text (a `SearchInput`), checked against its model and sent
    /// unchanged; returns the server's JSON text (a `SearchedConversationMessages`), checked, not re-encoded.
    pub fn search_messages_json(
        &self,
        search_input_json: &str,
        transferables: Transferables,
    ) -> Result<String> {
        check_input::<SearchInput>("search_input", search_input_json)?;
        let request = Request::new(&MESSAGES_SEARCH).transferables(transferables);
        let body = self.exchange(request.json_body(search_input_json.as_bytes()))?;
        wire::checked_text::<SearchedConversationMessages>(MESSAGES_SEARCH.name, body)
    }
}

fn to_json(argument: &'static str, value: &impl serde::Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|err| Error::invalid_json(argument, err))
}

/// Checks JSON text handed in against its model, naming the argument and the position on failure.
///
/// The model's check (the one the JSON-text answers go through) accepts exactly what decoding accepts
/// and builds nothing; only text it refuses is decoded, for the error.
fn check_input<T: Field + serde::de::DeserializeOwned>(argument: &'static str, json: &str) -> Result<()> {
    if wire::accepts::<T>(json) {
        return Ok(());
    }
    serde_json::from_str::<T>(json)
        .map(drop)
        .map_err(|err| Error::invalid_json(argument, err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_inputs_are_refused_before_sending() {
        // Port 9 (discard) is never contacted: these fail before a request is built.
        let client = Client::with_base_url("http://127.0.0.1:9").unwrap();
        let err = client.delete_message("").unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    argument: "message_id",
                    ..
                }
            ),
            "{err}"
        );
        let err = client
            .create_message_json("{\"role\": \"USER\"", Transferables::Default)
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidJson { argument: "seed", .. }),
            "{err}"
        );
        let err = client
            .search_messages_json("{\"engines\": 3}", Transferables::Default)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidJson {
                    argument: "search_input",
                    ..
                }
            ),
            "{err}"
        );
    }
}
