//! The one table of PiecesOS operations this crate calls.
//!
//! Each [`Operation`] is a row of wire facts: the documented operation id (the name the official SDKs
//! use, and the one every error of this crate carries), the HTTP method, the path (with `{message}` where
//! a message id goes), and whether the `transferables` query applies. Endpoints, the identifier stream,
//! the health checks and discovery all read their requests from here, so a new endpoint is one row below
//! and one method where its kind of call lives.
//!
//! | row | name | request |
//! |---|---|---|
//! | [`MESSAGES_SNAPSHOT`] | `messages_snapshot` | `GET /messages` |
//! | [`MESSAGES_CREATE`] | `messages_create_specific_message` | `POST /messages/create` |
//! | [`MESSAGES_DELETE`] | `messages_delete_specific_message` | `POST /messages/{message}/delete` |
//! | [`MESSAGES_SEARCH`] | `search_messages` | `POST /messages/search` |
//! | [`MESSAGE_SNAPSHOT`] | `message_specific_message_snapshot` | `GET /message/{message}` |
//! | [`MESSAGE_UPDATE`] | `message_specific_message_update` | `POST /message/update` |
//! | [`MESSAGES_STREAM_IDENTIFIERS`] | `conversation_messages_stream_identifiers` | `GET /messages/stream/identifiers` (WebSocket) |
//! | [`WELL_KNOWN_HEALTH`] | `well_known_health` | `GET /.well-known/health` |
//! | [`WELL_KNOWN_VERSION`] | `well_known_version` | `GET /.well-known/version` |

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// The HTTP method of an operation; PiecesOS's message endpoints use only these two (a WebSocket
/// upgrade is a `GET`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
}

/// One operation of the PiecesOS API; see the [module documentation](self).
#[derive(Debug)]
pub(crate) struct Operation {
    /// The documented operation id, used in every error about this operation.
    pub name: &'static str,
    pub method: Method,
    /// The path, starting with `/`; `{message}` stands for a message id.
    pub path: &'static str,
    /// Whether the operation takes the `transferables` query parameter.
    pub transferables: bool,
}

/// `GET /messages`: every conversation message.
pub(crate) const MESSAGES_SNAPSHOT: Operation = Operation {
    name: "messages_snapshot",
    method: Method::Get,
    path: "/messages",
    transferables: true,
};

/// `POST /messages/create`: a `SeededConversationMessage` in, the stored `ConversationMessage` out.
pub(crate) const MESSAGES_CREATE: Operation = Operation {
    name: "messages_create_specific_message",
    method: Method::Post,
    path: "/messages/create",
    transferables: true,
};

/// `POST /messages/{message}/delete`: 204 without a body.
pub(crate) const MESSAGES_DELETE: Operation = Operation {
    name: "messages_delete_specific_message",
    method: Method::Post,
    path: "/messages/{message}/delete",
    transferables: false,
};

/// `POST /messages/search`: a `SearchInput` in, `SearchedConversationMessages` out.
pub(crate) const MESSAGES_SEARCH: Operation = Operation {
    name: "search_messages",
    method: Method::Post,
    path: "/messages/search",
    transferables: true,
};

/// `GET /message/{message}`: one `ConversationMessage` (ConversationMessageApi); 410 with a text body
/// for an id PiecesOS does not know.
pub(crate) const MESSAGE_SNAPSHOT: Operation = Operation {
    name: "message_specific_message_snapshot",
    method: Method::Get,
    path: "/message/{message}",
    transferables: true,
};

/// `POST /message/update`: a whole `ConversationMessage` in, the stored `ConversationMessage` out
/// (ConversationMessageApi).
pub(crate) const MESSAGE_UPDATE: Operation = Operation {
    name: "message_specific_message_update",
    method: Method::Post,
    path: "/message/update",
    transferables: true,
};

/// `GET /messages/stream/identifiers`, upgraded to a WebSocket of `StreamedIdentifiers` frames.
pub(crate) const MESSAGES_STREAM_IDENTIFIERS: Operation = Operation {
    name: "conversation_messages_stream_identifiers",
    method: Method::Get,
    path: "/messages/stream/identifiers",
    transferables: false,
};

/// `GET /.well-known/health`: 200 when PiecesOS is up; also what discovery probes.
pub(crate) const WELL_KNOWN_HEALTH: Operation = Operation {
    name: "well_known_health",
    method: Method::Get,
    path: "/.well-known/health",
    transferables: false,
};

/// `GET /.well-known/version`: the version as plain text (`debug` for a development build).
pub(crate) const WELL_KNOWN_VERSION: Operation = Operation {
    name: "well_known_version",
    method: Method::Get,
    path: "/.well-known/version",
    transferables: false,
};

/// Everything but RFC 3986's unreserved characters, so an id is always exactly one path segment. The dot
/// is encoded too: an id of `..` must not read as a dot segment that some layer would resolve away.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

impl Operation {
    /// The path and query of one request: `{message}` replaced by `message_id` percent-encoded as one
    /// path segment, then the `transferables` query (left out for operations that do not take it).
    pub(crate) fn path_and_query(&self, message_id: Option<&str>, transferables: Transferables) -> String {
        debug_assert_eq!(
            self.path.contains("{message}"),
            message_id.is_some(),
            "{}: a message id goes exactly where the path has {{message}}",
            self.name
        );
        let path = match message_id {
            Some(id) => self
                .path
                .replace("{message}", &utf8_percent_encode(id, PATH_SEGMENT).to_string()),
            None => self.path.to_owned(),
        };
        if self.transferables {
            path + transferables.query()
        } else {
            debug_assert_eq!(
                transferables,
                Transferables::Default,
                "{} takes no transferables",
                self.name
            );
            path
        }
    }
}

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
        let encode = |id: &str| utf8_percent_encode(id, PATH_SEGMENT).to_string();
        assert_eq!(encode("a/../b?x#y%20 é"), "a%2F%2E%2E%2Fb%3Fx%23y%2520%20%C3%A9");
        assert_eq!(encode(".."), "%2E%2E");
        assert_eq!(encode("9f0e-AZ_az~"), "9f0e-AZ_az~");
        assert_eq!(
            MESSAGES_DELETE.path_and_query(Some("a/../b?x"), Transferables::Default),
            "/messages/a%2F%2E%2E%2Fb%3Fx/delete"
        );
    }

    #[test]
    fn the_query_follows_the_table() {
        assert_eq!(
            MESSAGES_SNAPSHOT.path_and_query(None, Transferables::Exclude),
            "/messages?transferables=false"
        );
        assert_eq!(
            MESSAGES_SEARCH.path_and_query(None, Transferables::Default),
            "/messages/search"
        );
        assert_eq!(
            MESSAGE_SNAPSHOT.path_and_query(Some("a/b"), Transferables::Include),
            "/message/a%2Fb?transferables=true"
        );
        assert_eq!(
            MESSAGE_UPDATE.path_and_query(None, Transferables::Exclude),
            "/message/update?transferables=false"
        );
        assert_eq!(
            WELL_KNOWN_HEALTH.path_and_query(None, Transferables::Default),
            "/.well-known/health"
        );
    }
}
