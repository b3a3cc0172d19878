//! A blocking, synchronous client for the PiecesOS conversation-messages API, with a C API.
//!
//! PiecesOS is the local server behind the Pieces developer tools. This crate talks to its
//! ConversationMessagesApi without an async runtime: [`Client`] sends blocking HTTP requests over one
//! pool of kept-alive connections, and every answer becomes a typed, lossless model from [`models`] (or,
//! for the C API, the server's JSON text, checked but untouched).
//!
//! ```no_run
//! use pieces_os_client::models::{SearchInput, SeededConversationMessage};
//! use pieces_os_client::{Client, Transferables};
//!
//! let client = Client::with_base_url("http://127.0.0.1:39300")?;
//! let seed = SeededConversationMessage::user_text("conversation-id", "How do I reverse a list?");
//! let created = client.create_message(&seed, Transferables::Default)?;
//! let found = client.search_messages(&SearchInput::query("reverse"), Transferables::Exclude)?;
//! assert!(found.iterable.iter().any(|hit| hit.identifier == created.id));
//! client.delete_message(&created.id)?;
//! # Ok::<(), pieces_os_client::Error>(())
//! ```
//!
//! Data flows one way: [`config`] → [`Client`] → an endpoint of [`messages`] → the wire (ureq, then
//! `wire`'s checks) → a model of [`models`] or JSON text. The `server` feature adds the `server` module, a local
//! stand-in PiecesOS that speaks the same wire format, for tests and examples. [`ffi`] is the C API
//! (`include/pieces_os_client.h`), built on the JSON-text endpoints and the subscriptions of [`stream`].

#![deny(missing_docs)]

pub mod client;
pub mod config;
pub mod error;
pub mod ffi;
pub mod messages;
pub mod models;
#[cfg(feature = "server")]
pub mod server;
pub mod stream;
mod wire;

pub use client::Client;
pub use config::{ClientConfig, StreamConfig};
pub use error::{Error, Result};
pub use messages::Transferables;
pub use stream::{IdentifierStream, LiveIds, PullSubscription, Stopper, Subscription, SubscriptionEvent};
