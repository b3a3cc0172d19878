//! [`IdentifierStream`]: one connection to the identifier stream, read on the caller's thread.

use std::time::{Duration, Instant};

use super::connection::{Connection, Read};
use crate::error::Result;
use crate::models::StreamedIdentifiers;

/// One connection's frames, read on the calling thread. Made by [`Client::stream_identifiers`](crate::Client::stream_identifiers).
///
/// It does not reconnect: when the connection ends, so does the stream (a subscription reconnects).
pub struct IdentifierStream {
    connection: Connection,
    ended: bool,
}

impl std::fmt::Debug for IdentifierStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentifierStream")
            .field("url", &self.connection.url)
            .field("ended", &self.ended)
            .finish()
    }
}

impl IdentifierStream {
    pub(super) fn new(connection: Connection) -> Self {
        IdentifierStream {
            connection,
            ended: false,
        }
    }

    /// The `ws://` URL this stream is connected to.
    pub fn url(&self) -> &str {
        &self.connection.url
    }

    /// Whether the stream has ended (closed by the server, or failed).
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// Waits up to `timeout` for the next frame: `Ok(None)` when none arrived in time. A stream the
    /// server closed, or one that failed, answers with an [`Error::WebSocket`](crate::Error::WebSocket).
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<StreamedIdentifiers>> {
        self.read(Some(Instant::now() + timeout))
    }

    /// The next frame if one has already arrived, without blocking.
    pub fn try_next(&mut self) -> Result<Option<StreamedIdentifiers>> {
        self.read(Some(Instant::now()))
    }

    /// Sends a close frame and ends the stream.
    pub fn close(mut self) {
        self.connection.close();
    }

    fn read(&mut self, deadline: Option<Instant>) -> Result<Option<StreamedIdentifiers>> {
        if self.ended {
            return Err(self.connection.error("the stream has ended".to_owned()));
        }
        match self.connection.read(deadline) {
            Ok(Read::Frame(frame)) => Ok(Some(frame)),
            Ok(Read::Nothing) => Ok(None),
            Ok(Read::Closed) => {
                self.ended = true;
                Err(self.connection.error("the server closed the stream".to_owned()))
            }
            Err(err) => {
                self.ended = true;
                Err(err)
            }
        }
    }
}

impl Iterator for IdentifierStream {
    type Item = Result<StreamedIdentifiers>;

    /// Blocks until the next frame. `None` once the server has closed the stream or an error was returned.
    fn next(&mut self) -> Option<Self::Item> {
        if self.ended {
            return None;
        }
        match self.connection.read(None) {
            Ok(Read::Frame(frame)) => Some(Ok(frame)),
            Ok(Read::Nothing) => unreachable!("a read without a deadline only ends with a frame or an end"),
            Ok(Read::Closed) => {
                self.ended = true;
                None
            }
            Err(err) => {
                self.ended = true;
                Some(Err(err))
            }
        }
    }
}
