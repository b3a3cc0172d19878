//! [`IdentifierStream`]: one connection to the identifier stream, read on the caller's thread.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::connection::{Connection, Read};
use super::subscription::{Shared, Stopper};
use crate::error::{Error, Result};
use crate::models::StreamedIdentifiers;

/// One connection's frames, read on the calling thread. Made by [`Client::stream_identifiers`](crate::Client::stream_identifiers).
///
/// It does not reconnect: when the connection ends, so does the stream (a subscription reconnects).
///
/// Every read is bounded like a subscription's: a blocking [`next`](Iterator::next) ends with an error
/// once nothing has been heard for [`StreamConfig::idle_timeout`](crate::StreamConfig::idle_timeout)
/// (pings keep a healthy quiet connection alive), and a [`Stopper`] from [`Self::stopper`] ends it from
/// another thread at once.
pub struct IdentifierStream {
    connection: Connection,
    shared: Arc<Shared>,
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
    /// `connection` must have been opened with `shared`'s `register`, so that a stop can shut its socket
    /// down.
    pub(super) fn new(connection: Connection, shared: Arc<Shared>) -> Self {
        IdentifierStream {
            connection,
            shared,
            ended: false,
        }
    }

    /// A [`Stopper`] that ends this stream from any thread: a read blocked in [`Iterator::next`] or
    /// [`Self::next_timeout`] returns at once (`None`, or an error saying the stream was stopped), and so
    /// does every read after it.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            shared: Arc::clone(&self.shared),
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
            return Err(self.connection.error(if self.shared.is_stopped() {
                "the stream was stopped".to_owned()
            } else {
                "the stream has ended".to_owned()
            }));
        }
        match self.read_unless_stopped(deadline) {
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

    /// One read of the connection; after a stop (before or during the read), the stream's error.
    fn read_unless_stopped(&mut self, deadline: Option<Instant>) -> Result<Read> {
        let read = if self.shared.is_stopped() {
            Err(stopped_error(&self.connection))
        } else {
            self.connection.read(deadline)
        };
        match read {
            // What a read that a stop cut short says (a reset, an end of stream) is not the news.
            Err(_) | Ok(Read::Closed) if self.shared.is_stopped() => Err(stopped_error(&self.connection)),
            other => other,
        }
    }
}

fn stopped_error(connection: &Connection) -> Error {
    connection.error("the stream was stopped".to_owned())
}

impl Iterator for IdentifierStream {
    type Item = Result<StreamedIdentifiers>;

    /// Blocks until the next frame. `None` once the server has closed the stream or an error was returned.
    fn next(&mut self) -> Option<Self::Item> {
        if self.ended {
            return None;
        }
        match self.read_unless_stopped(None) {
            Ok(Read::Frame(frame)) => Some(Ok(frame)),
            Ok(Read::Nothing) => unreachable!("a read without a deadline only ends with a frame or an end"),
            Ok(Read::Closed) => {
                self.ended = true;
                None
            }
            // A stopped stream simply ends, as one the server closed does.
            Err(_) if self.shared.is_stopped() => {
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
