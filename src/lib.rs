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
//! // No base URL: PIECES_OS_URL, else the first call scans 127.0.0.1:39300-39399 for PiecesOS.
//! let client = Client::new(Default::default())?;
//! client.check_version()?; // PiecesOS 12.x, or an error that says which side to update
//! println!("PiecesOS at {}", client.base_url()?);
//! let seed = SeededConversationMessage::user_text("conversation-id", "How do I reverse a list?");
//! let created = client.create_message(&seed, Transferables::Default)?;
//! let found = client.search_messages(&SearchInput::query("reverse"), Transferables::Exclude)?;
//! assert!(found.iterable.iter().any(|hit| hit.identifier == created.id));
//! client.delete_message(&created.id)?;
//! # Ok::<(), pieces_os_client::Error>(())
//! ```
//!
//! Where PiecesOS listens, and whether it runs at all, is [`discovery`]'s business; [`health`] asks it
//! whether it is up and which version it is.
//!
//! Data flows one way: [`config`] → [`Client`] → an endpoint of [`messages`] → the wire (ureq, then
//! `wire`'s checks) → a model of [`models`] or JSON text. The `server` feature adds the `server` module, a local
//! stand-in PiecesOS that speaks the same wire format, for tests and examples. The `capi` feature adds `ffi`,
//! the C API (`include/pieces_os_client.h`), built on the JSON-text endpoints, the subscriptions of
//! [`stream`] and the mirrors of [`mirror`]. A [`mirror`] keeps a local copy of every message current
//! from the stream.

#![deny(missing_docs)]
// `unsafe` lives in `ffi` (the C boundary, where every block carries its `// SAFETY:` reason) and in the
// few functions that allow it one by one, each with its reason; everywhere else it does not compile.
#![deny(unsafe_code)]

pub mod client;
pub mod config;
pub mod discovery;
pub mod error;
#[cfg(feature = "capi")]
pub mod ffi;
pub mod health;
pub mod messages;
mod millis;
pub mod mirror;
pub mod models;
mod operation;
mod ports;
mod queue;
#[cfg(feature = "server")]
pub mod server;
pub mod stream;
mod sync;
mod url;
mod version;
mod wire;

pub use client::Client;
pub use config::{ClientConfig, DiscoveryConfig, StreamConfig, UrlSource};
pub use error::{Cause, Error, Outdated, Result};
pub use mirror::{
    Mirror, MirrorEvent, MirrorOptions, MirrorReader, MirrorStatus, MirroredMessage, PullMirror,
};
pub use operation::Transferables;
pub use ports::PortRange;
pub use stream::{IdentifierStream, LiveIds, PullSubscription, Stopper, Subscription, SubscriptionEvent};
pub use version::{Version, VersionRange};

/// The README's Rust snippets, compiled as doctests so that the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// Not part of the API: what the fuzz targets and the decode bench reach inside the crate.
#[doc(hidden)]
pub use wire::internals as __private;
