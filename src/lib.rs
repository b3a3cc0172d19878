//! A blocking, synchronous client for the PiecesOS conversation-messages API, with a C API.
//!
//! (The crate documentation grows with the crate; see README.md.)

#![deny(missing_docs)]

pub mod config;
pub mod error;
pub mod models;
#[cfg(feature = "server")]
pub mod server;

pub use config::ClientConfig;
pub use error::{Error, Result};
