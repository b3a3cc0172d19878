//! The local stand-in PiecesOS (being written): realistic seed messages, fault settings, the message
//! store and the HTTP framing so far.

mod faults;
#[allow(dead_code)] // Used by the routes, which come next.
mod http;
pub mod seed;
#[allow(dead_code)] // Used by the routes, which come next.
mod store;

pub use faults::{DropMode, FaultConfig, Faults};
