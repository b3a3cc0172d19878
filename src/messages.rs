//! The HTTP endpoints of the ConversationMessagesApi (and the two of the ConversationMessageApi that
//! read and write one message), as methods of [`Client`].
//!
//! | documented operation | typed | JSON text |
//! |---|---|---|
//! | `messages_snapshot` (`GET /messages`) | [`Client::snapshot_messages`] | [`Client::snapshot_messages_json`] |
//! | `messages_create_specific_message` (`POST /messages/create`) | [`Client::create_message`] | [`Client::create_message_json`] |
//! | `messages_delete_specific_message` (`POST /messages/{message}/delete`) | [`Client::delete_message`] | — |
//! | `search_messages` (`POST /messages/search`) | [`Client::search_messages`] | [`Client::search_messages_json`] |
//! | `message_specific_message_snapshot` (`GET /message/{message}`) | [`Client::get_message`] | [`Client::get_message_json`] |
//! | `message_specific_message_update` (`POST /message/update`) | [`Client::update_message`] | [`Client::update_message_json`] |
//!
//! The identifier stream (`conversation_messages_stream_identifiers`) is in [`crate::stream`], and a
//! local copy of every message kept current from it in [`crate::mirror`].
//!
//! The JSON-text forms return the server's body exactly as it arrived, after checking that it is the
//! endpoint's model (valid JSON, every required field present with the right type); they take their input
//! as JSON text too, check it against its model before anything is sent, and send it unchanged.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::client::{Client, Request};
use crate::error::{Error, Result};
use crate::models::field::Field;
use crate::models::{
    ConversationMessage, ConversationMessages, SearchInput, SearchedConversationMessages,
    SeededConversationMessage,
};
pub use crate::operation::Transferables;
use crate::operation::{
    Operation, MESSAGES_CREATE, MESSAGES_DELETE, MESSAGES_SEARCH, MESSAGES_SNAPSHOT, MESSAGE_SNAPSHOT,
    MESSAGE_UPDATE,
};
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
        self.post_model(&MESSAGES_CREATE, "seed", seed, transferables)
    }

    /// `messages_create_specific_message` with the seed as JSON text (a `SeededConversationMessage`),
    /// checked against its model and sent unchanged; returns the server's JSON text (a
    /// `ConversationMessage`), checked, not re-encoded.
    pub fn create_message_json(&self, seed_json: &str, transferables: Transferables) -> Result<String> {
        self.post_json::<SeededConversationMessage, ConversationMessage>(
            &MESSAGES_CREATE,
            "seed",
            seed_json,
            transferables,
        )
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
        self.post_model(&MESSAGES_SEARCH, "search_input", input, transferables)
    }

    /// `search_messages` with the input as JSON text (a `SearchInput`), checked against its model and sent
    /// unchanged; returns the server's JSON text (a `SearchedConversationMessages`), checked, not re-encoded.
    pub fn search_messages_json(
        &self,
        search_input_json: &str,
        transferables: Transferables,
    ) -> Result<String> {
        self.post_json::<SearchInput, SearchedConversationMessages>(
            &MESSAGES_SEARCH,
            "search_input",
            search_input_json,
            transferables,
        )
    }

    /// `message_specific_message_snapshot`: the message with id `message_id`.
    ///
    /// The id is percent-encoded as one path segment; an empty id is refused before anything is sent. An
    /// id PiecesOS does not know (never created, or deleted) is [`Error::NotFound`]: PiecesOS answers it
    /// with HTTP 410 and a text body.
    pub fn get_message(&self, message_id: &str, transferables: Transferables) -> Result<ConversationMessage> {
        let body = self.fetch_message(message_id, transferables)?;
        wire::decode(MESSAGE_SNAPSHOT.name, &body)
    }

    /// `message_specific_message_snapshot` as the server's JSON text (a `ConversationMessage`), checked,
    /// not re-encoded. Errors as [`Client::get_message`].
    pub fn get_message_json(&self, message_id: &str, transferables: Transferables) -> Result<String> {
        let body = self.fetch_message(message_id, transferables)?;
        wire::checked_text::<ConversationMessage>(MESSAGE_SNAPSHOT.name, body)
    }

    fn fetch_message(&self, message_id: &str, transferables: Transferables) -> Result<Vec<u8>> {
        if message_id.is_empty() {
            return Err(Error::invalid_input("message_id", "is empty"));
        }
        let request = Request::new(&MESSAGE_SNAPSHOT)
            .message_id(message_id)
            .transferables(transferables);
        self.exchange(request).map_err(|error| match error {
            Error::HttpStatus {
                endpoint,
                status: 410,
                body,
            } => Error::NotFound {
                endpoint,
                id: message_id.to_owned(),
                body,
            },
            other => other,
        })
    }

    /// `message_specific_message_update`: sends the whole `message` (PiecesOS finds it by its `id`) and
    /// returns it as stored.
    ///
    /// Lossless: every key of `message` is sent, those the models do not type included, so a message
    /// fetched, changed in one field and sent back keeps all the others. Send a message fetched with its
    /// content ([`Transferables::Default`] or `Include`): PiecesOS stores what it is sent, and a message
    /// fetched without its content would lose it. PiecesOS refuses (HTTP 500, [`Error::HttpStatus`]) an
    /// id it does not know.
    pub fn update_message(
        &self,
        message: &ConversationMessage,
        transferables: Transferables,
    ) -> Result<ConversationMessage> {
        self.post_model(&MESSAGE_UPDATE, "message", message, transferables)
    }

    /// `message_specific_message_update` with the message as JSON text (a `ConversationMessage`),
    /// checked against its model and sent unchanged; returns the server's JSON text (a
    /// `ConversationMessage`), checked, not re-encoded.
    pub fn update_message_json(&self, message_json: &str, transferables: Transferables) -> Result<String> {
        self.post_json::<ConversationMessage, ConversationMessage>(
            &MESSAGE_UPDATE,
            "message",
            message_json,
            transferables,
        )
    }
}

impl Client {
    /// POSTs `input`, written from its model, to `operation`, and decodes the answer as an `A`.
    /// `argument` names the input in an error.
    fn post_model<A: Field + DeserializeOwned>(
        &self,
        operation: &'static Operation,
        argument: &'static str,
        input: &impl Serialize,
        transferables: Transferables,
    ) -> Result<A> {
        let input = serde_json::to_vec(input).map_err(|err| Error::invalid_json(argument, err))?;
        let request = Request::new(operation).transferables(transferables);
        let body = self.exchange(request.json_body(&input))?;
        wire::decode(operation.name, &body)
    }

    /// POSTs JSON text to `operation`, once it is checked to be an `I` (`argument` names it in an error),
    /// unchanged; returns the answer's text, checked to be an `A`, not re-encoded.
    fn post_json<I: Field + DeserializeOwned, A: Field + DeserializeOwned>(
        &self,
        operation: &'static Operation,
        argument: &'static str,
        json: &str,
        transferables: Transferables,
    ) -> Result<String> {
        check_input::<I>(argument, json)?;
        let request = Request::new(operation).transferables(transferables);
        let body = self.exchange(request.json_body(json.as_bytes()))?;
        wire::checked_text::<A>(operation.name, body)
    }
}

/// Checks JSON text handed in against its model, naming the argument and the position on failure.
///
/// The model's check (the one the JSON-text answers go through) accepts exactly what decoding accepts
/// and builds nothing; only text it refuses is decoded, for the error.
fn check_input<T: Field + DeserializeOwned>(argument: &'static str, json: &str) -> Result<()> {
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
        for err in [
            client.get_message("", Transferables::Default).unwrap_err(),
            client.get_message_json("", Transferables::Default).unwrap_err(),
        ] {
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
        }
        let err = client
            .update_message_json("{\"id\": \"m1\", \"role\": \"USER\"}", Transferables::Default)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidJson {
                    argument: "message",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("missing field"), "{err}");
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
