//! What every integration test needs: a stand-in PiecesOS on loopback and a client for it.
#![allow(dead_code)] // each test crate uses its own part of this module

use pieces_os_client::server::{Server, ServerConfig};
use pieces_os_client::{Client, ClientConfig};

/// A stand-in server on an ephemeral port, with `seed` realistic messages.
pub fn server_with(seed: usize) -> Server {
    Server::start(ServerConfig::default().with_seed_messages(seed))
        .expect("the stand-in server starts on 127.0.0.1")
}

/// A client for `server` with default settings.
pub fn client_for(server: &Server) -> Client {
    Client::new(ClientConfig::default().with_base_url(server.url())).expect("valid config")
}

/// A seed for a user message in conversation `conversation`.
pub fn user_seed(conversation: &str, text: &str) -> pieces_os_client::models::SeededConversationMessage {
    pieces_os_client::models::SeededConversationMessage::user_text(conversation, text)
}
