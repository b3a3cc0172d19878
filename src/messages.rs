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

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::client::{Client, Exchange, Method};
use crate::error::{Error, Result};
use crate::models::{
    ConversationMessage, ConversationMessages, SearchInput, SearchedConversationMessages,
    SeededConversationMessage,
};
use crate::wire;

/// Whether PiecesOS includes heavy content (such as a fragment's text) in what it answers.
///
/// A tri-state, because "not said" is not the same request as "yes": the official SDKs leave the query
/// parameter out when it is unset, and so does [`Transferables::Default`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Transferables {
    /// Leave the `transferables` query parameter out; PiecesOS then includes the content.
    #[default]
    Default,
    /// `transferables=true`: include the content.
    Include,
    /// `transferables=false`: leave the content out (ids, timestamps and the rest stay).
    Exclude,
}

impl Transferables {
    /// The query string this choice puts after a path: empty, `?transferables=true` or `=false`.
    pub fn query(self) -> &'static str {
        match self {
            Transferables::Default => "",
            Transferables::Include => "?transferables=true",
            Transferables::Exclude => "?transferables=false",
        }
    }
}

/// The documented operation names, used in errors.
pub(crate) mod endpoint {
    pub const SNAPSHOT: &str = "messages_snapshot";
    pub const CREATE: &str = "messages_create_specific_message";
    pub const DELETE: &str = "messages_delete_specific_message";
    pub const SEARCH: &str = "search_messages";
}

/// Everything but RFC 3986's unreserved characters, so an id is always exactly one path segment. The dot
/// is encoded too: an id of `..` must not read as a dot segment that some layer would resolve away.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

impl Client {
    /// `messages_snapshot`: every conversation message PiecesOS holds.
    pub fn snapshot_messages(&self, transferables: Transferables) -> Result<ConversationMessages> {
        wire::decode(
            endpoint::SNAPSHOT,
            &self.send(endpoint::SNAPSHOT, Method::Get, "/messages", transferables, None)?,
        )
    }

    /// `messages_snapshot` as the server's JSON text (a `ConversationMessages`), checked, not re-encoded.
    pub fn snapshot_messages_json(&self, transferables: Transferables) -> Result<String> {
        wire::checked_text::<ConversationMessages>(
            endpoint::SNAPSHOT,
            self.send(endpoint::SNAPSHOT, Method::Get, "/messages", transferables, None)?,
        )
    }

    /// `messages_create_specific_message`: creates a message from `seed` and returns it as stored.
    ///
    /// PiecesOS refuses (HTTP 500) a seed without a `conversation`.
    pub fn create_message(
        &self,
        seed: &SeededConversationMessage,
        transferables: Transferables,
    ) -> Result<ConversationMessage> {
        let body = to_json("seed", seed)?;
        let answer = self.send(
            endpoint::CREATE,
            Method::Post,
            "/messages/create",
            transferables,
            Some(&body),
        )?;
        wire::decode(endpoint::CREATE, &answer)
    }

    /// `messages_create_specific_message` with the seed as JSON text (a `SeededConversationMessage`),
    /// checked against its model and sent unchanged; returns the server's JSON text (a
    /// `ConversationMessage`), checked, not re-encoded.
    pub fn create_message_json(&self, seed_json: &str, transferables: Transferables) -> Result<String> {
        check_input::<SeededConversationMessage>("seed", seed_json)?;
        let body = self.send(
            endpoint::CREATE,
            Method::Post,
            "/messages/create",
            transferables,
            Some(seed_json.as_bytes()),
        )?;
        wire::checked_text::<ConversationMessage>(endpoint::CREATE, body)
    }

    /// `messages_delete_specific_message`: deletes the message with id `message_id`.
    ///
    /// The id is percent-encoded as one path segment, so no id can reach another path. An empty id is
    /// refused before anything is sent; an id PiecesOS does not know is an [`Error::HttpStatus`] (500).
    pub fn delete_message(&self, message_id: &str) -> Result<()> {
        if message_id.is_empty() {
            return Err(Error::invalid_input("message_id", "is empty"));
        }
        let path = format!(
            "/messages/{}/delete",
            utf8_percent_encode(message_id, PATH_SEGMENT)
        );
        self.send(
            endpoint::DELETE,
            Method::Post,
            &path,
            Transferables::Default,
            None,
        )?;
        Ok(())
    }

    /// `search_messages`: searches the messages' text.
    pub fn search_messages(
        &self,
        input: &SearchInput,
        transferables: Transferables,
    ) -> Result<SearchedConversationMessages> {
        let body = to_json("search_input", input)?;
        let answer = self.send(
            endpoint::SEARCH,
            Method::Post,
            "/messages/search",
            transferables,
            Some(&body),
        )?;
        wire::decode(endpoint::SEARCH, &answer)
    }

    /// `search_messages` with the input as JSON text (a `SearchInput`), checked against its model and sent
    /// unchanged; returns the server's JSON text (a `SearchedConversationMessages`), checked, not re-encoded.
    pub fn search_messages_json(
        &self,
        search_input_json: &str,
        transferables: Transferables,
    ) -> Result<String> {
        check_input::<SearchInput>("search_input", search_input_json)?;
        let body = self.send(
            endpoint::SEARCH,
            Method::Post,
            "/messages/search",
            transferables,
            Some(search_input_json.as_bytes()),
        )?;
        wire::checked_text::<SearchedConversationMessages>(endpoint::SEARCH, body)
    }
}

impl Client {
    /// One request to `path` with the transferables query appended.
    fn send(
        &self,
        endpoint: &'static str,
        method: Method,
        path: &str,
        transferables: Transferables,
        json_body: Option<&[u8]>,
    ) -> Result<Vec<u8>> {
        self.exchange(Exchange {
            endpoint,
            method,
            path_and_query: &format!("{path}{}", transferables.query()),
            json_body,
        })
    }
}

fn to_json(argument: &'static str, value: &impl serde::Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|err| Error::invalid_json(argument, &err))
}

/// Checks JSON text handed in against its model, naming the argument and the position on failure.
fn check_input<T: serde::de::DeserializeOwned>(argument: &'static str, json: &str) -> Result<()> {
    serde_json::from_str::<T>(json)
        .map(drop)
        .map_err(|err| Error::invalid_json(argument, &err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transferables_query_is_a_tri_state() {
        assert_eq!(Transferables::default(), Transferables::Default);
        assert_eq!(Transferables::Default.query(), "");
        assert_eq!(Transferables::Include.query(), "?transferables=true");
        assert_eq!(Transferables::Exclude.query(), "?transferables=false");
    }

    #[test]
    fn ids_are_encoded_as_one_segment() {
        let encoded = utf8_percent_encode("a/../b?x#y%20 é", PATH_SEGMENT).to_string();
        assert_eq!(encoded, "a%2F%2E%2E%2Fb%3Fx%23y%2520%20%C3%A9");
        assert_eq!(utf8_percent_encode("..", PATH_SEGMENT).to_string(), "%2E%2E");
        assert_eq!(
            utf8_percent_encode("9f0e-AZ_az~", PATH_SEGMENT).to_string(),
            "9f0e-AZ_az~"
        );
    }

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
