//! `conversation_messages_stream_identifiers`: the WebSocket stream of message-identifier changes.
//!
//! Three ways to consume it, from the simplest to the most robust:
//!
//! * [`Client::stream_identifiers`] opens one connection and hands out its frames as a blocking
//!   [`IdentifierStream`] (`next`, `next_timeout`, `try_next`, `Iterator`). It ends with the connection.
//! * [`Client::subscribe_identifiers`] runs one background thread that connects, reconnects with
//!   exponential backoff and jitter, and calls a handler with each [`SubscriptionEvent`] in order.
//! * [`Client::subscribe_identifiers_pull`] is the same subscription with the events queued for
//!   [`PullSubscription::next`] and friends, for hosts that must not be called from a foreign thread.
//!
//! # Guarantees of a subscription
//!
//! * Events arrive in order: `Connected`, then `Identifiers` frames (the first after each `Connected`
//!   is the full set, marked `full: true`), then `Disconnected` when the connection is lost, and again
//!   `Connected` when it is back. Exactly one terminal event ends it: `Closed` after a stop, or `Failed`
//!   when attempts ran out or the handler panicked.
//! * `stop` returns promptly: it shuts the socket down and wakes the backoff sleep instead of waiting for a
//!   read timeout. It may be called from any thread, the handler's own included (see [`Stopper`]).
//! * No thread outlives its handle: dropping a [`Subscription`] stops and joins its thread.
//! * A client that discovers PiecesOS (built without a base URL) scans for it again before each
//!   reconnection, so a subscription follows PiecesOS when it restarts on another port; finding nothing is
//!   a `Disconnected` event with [`Error::NotRunning`](crate::Error::NotRunning), and the attempts go on.
//! * A silent connection counts as lost after [`StreamConfig::idle_timeout`](crate::StreamConfig::idle_timeout); pings keep a healthy quiet
//!   one alive.
//! * The pull queue holds at most [`StreamConfig::queue_capacity`](crate::StreamConfig::queue_capacity)
//!   events and [`StreamConfig::queue_max_bytes`](crate::StreamConfig::queue_max_bytes) bytes of them.
//!   When the next event does not fit, the subscription thread stops reading the socket until the
//!   consumer takes one (back-pressure), so no event is dropped; a single event over the byte bound is
//!   queued alone.
//!
//! [`LiveIds`] keeps the current set of message ids from the events, converging to the server's set after
//! every reconnection.
//!
//! # Where things are
//!
//! | file | what |
//! |---|---|
//! | `connection.rs` | dialing, the WebSocket handshake, one connection's reads, pings and idle limit |
//! | `identifier_stream.rs` | [`IdentifierStream`]: one connection as a blocking iterator |
//! | `event.rs` | [`SubscriptionEvent`] and its JSON form |
//! | `subscription.rs` | [`Subscription`], [`Stopper`]: the thread that connects, reads and reconnects |
//! | `backoff.rs` | the delays between reconnection attempts |
//! | `pull.rs` | [`PullSubscription`] (its queue is `crate::queue`'s, shared with pull mirrors) |
//! | `live_ids.rs` | [`LiveIds`] |

mod backoff;
mod connection;
mod event;
mod identifier_stream;
mod live_ids;
mod pull;
mod subscription;

use std::sync::Arc;

use crate::client::Client;
use crate::error::Result;
use crate::queue::EventQueue;

pub(crate) use backoff::Backoff;
pub use event::SubscriptionEvent;
pub(crate) use event::{disconnected_json, failed_json, CLOSED_JSON};
pub use identifier_stream::IdentifierStream;
pub use live_ids::LiveIds;
pub use pull::PullSubscription;
pub(crate) use subscription::{Handler, Sink};
pub use subscription::{Stopper, Subscription};

/// The name of a subscription's thread.
const THREAD_NAME: &str = "pieces-identifiers";

/// A sink that queues every event for a pull subscription.
struct QueueSink(Arc<EventQueue<SubscriptionEvent>>);

impl Sink for QueueSink {
    fn deliver(&mut self, event: SubscriptionEvent) {
        self.0.push(event);
    }
}

impl Client {
    /// Opens one connection to the identifier stream and returns it as a blocking [`IdentifierStream`].
    /// The connection and the upgrade each take at most [`ClientConfig::connect_timeout`](crate::ClientConfig::connect_timeout);
    /// a slower upgrade is an [`Error::Timeout`](crate::Error::Timeout).
    ///
    /// The first frame lists every current message; later frames carry what changed. An upgrade the
    /// server refuses is an [`Error::WebSocket`](crate::Error::WebSocket) with its HTTP status (404: this PiecesOS has no stream).
    pub fn stream_identifiers(&self) -> Result<IdentifierStream> {
        let base_url = self.base_url()?;
        let shared = subscription::Shared::new();
        let connection = connection::Connection::open(self, &base_url, &self.config().stream, &|tcp| {
            shared.register(tcp)
        })?;
        Ok(IdentifierStream::new(connection, shared))
    }

    /// Starts a subscription that calls `handler` on its own thread with every [`SubscriptionEvent`],
    /// reconnecting as [`ClientConfig::stream`](crate::ClientConfig::stream) says. See the module
    /// documentation for its guarantees.
    pub fn subscribe_identifiers<F>(&self, handler: F) -> Result<Subscription>
    where
        F: FnMut(SubscriptionEvent) + Send + 'static,
    {
        Subscription::start(self.clone(), THREAD_NAME, Stopper::new(), Handler(handler))
    }

    /// Starts a subscription whose events are queued for [`PullSubscription::next`],
    /// [`PullSubscription::next_timeout`] and [`PullSubscription::try_next`].
    pub fn subscribe_identifiers_pull(&self) -> Result<PullSubscription> {
        let config = &self.config().stream;
        let queue = Arc::new(EventQueue::new(config.queue_capacity, config.queue_max_bytes));
        let stopper = Stopper::new();
        let waiting = Arc::clone(&queue);
        stopper.on_stop(move || waiting.stop());
        let sink = QueueSink(Arc::clone(&queue));
        let subscription = Subscription::start(self.clone(), THREAD_NAME, stopper, sink)?;
        Ok(PullSubscription::new(subscription, queue))
    }
}
