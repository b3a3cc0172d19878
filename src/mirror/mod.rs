//! A mirror: a local copy of every conversation message, kept current from the identifier stream.
//!
//! The identifier stream says *which* messages changed, never *what* they now say. A mirror does the rest
//! on one background thread: it subscribes to the stream, takes one snapshot on every full frame (each
//! connection and reconnection) and reconciles, fetches each changed message by id afterwards
//! (`GET /message/{id}`), and tells you what changed, with the content.
//!
//! ```no_run
//! use pieces_os_client::{Client, MirrorEvent, MirrorOptions};
//! use std::time::Duration;
//!
//! let client = Client::with_base_url("http://127.0.0.1:39300")?;
//! let mirror = client.mirror(MirrorOptions::default(), |mirror, event| match event {
//!     MirrorEvent::Added(message) => {
//!         let thread = mirror.conversation(message.conversation_id());
//!         println!("+ {} ({} in its conversation)", message.id(), thread.len());
//!     }
//!     MirrorEvent::Updated { after, .. } => println!("~ {}: {:?}", after.id(), after.text()),
//!     MirrorEvent::Removed(message) => println!("- {}", message.id()),
//!     other => println!("{other:?}"),
//! })?;
//! mirror.wait_synced(Duration::from_secs(5));
//! println!("{} messages", mirror.len());
//! # Ok::<(), pieces_os_client::Error>(())
//! ```
//!
//! # Guarantees
//!
//! * **Converges.** After every full frame (each connection and reconnection) the mirror takes one
//!   snapshot and makes itself equal to it: messages it lacks are added, messages whose JSON changed are
//!   updated, messages gone from PiecesOS are removed; then `Synced { count }`. Between full frames each
//!   changed id is fetched with `GET /message/{id}` (a 410 means it was deleted meanwhile: removed), and
//!   each deleted id is removed at once.
//! * **Nothing is lost.** A fetch or snapshot starts only after every frame that arrived before it has
//!   been read, and PiecesOS announces a change once it is made, so each fetch sees the change that
//!   asked for it; an id named again while its fetch runs is fetched again.
//! * **Cheap.** Ids that repeat before their fetch are fetched once. When more ids wait than one
//!   snapshot would cost ([`MirrorOptions::snapshot_threshold`], by default measured), one snapshot
//!   replaces the fetches.
//! * **Failures.** A failed fetch or snapshot is retried with exponential backoff. After
//!   [`MirrorOptions::stale_after`] failures in a row the mirror says so (`Stale { error }`, once per
//!   spell) and syncs with a snapshot as soon as PiecesOS answers again. A lost stream connection is a
//!   `Disconnected` event; the reconnection (with the stream's backoff, following PiecesOS to a new port
//!   when the client discovers it) brings a full frame and so a sync.
//! * **Events with content.** `Added(message)`, `Updated { before, after }`, `Removed(message)`, each
//!   delivered after the mirror's state changed; exactly one terminal event, `Closed` after a stop or
//!   `Failed` when the stream's `max_attempts` ran out or the handler panicked.
//! * **Reads from any thread** ([`MirrorReader`], which [`Mirror`] and [`PullMirror`] dereference to):
//!   `get(id)`, `len()`, `messages()` (all, in creation order), `conversation(id)` (one conversation, in
//!   creation order), each consistent and each message an immutable `Arc<MirroredMessage>` that a later
//!   change never alters.
//! * **The server's JSON exactly.** Each message is kept as the text PiecesOS sent, byte for byte
//!   ([`MirroredMessage::json`]); [`MirroredMessage::decode`] gives the typed model on demand.
//! * **Two forms, one thread.** A handler called on the mirror's thread ([`Client::mirror`]), or a queue
//!   for [`PullMirror::next`] ([`Client::mirror_pull`]) bounded by the stream's `queue_capacity` and
//!   `queue_max_bytes` (back-pressure: the mirror waits, it never drops). Either way one thread, named
//!   `pieces-mirror`, which `stop` (from any thread, the handler's own included) ends promptly and
//!   `Drop` joins. A fetch under way when the stop comes is finished first, within the client's
//!   `request_timeout`.

mod driver;
mod event;
mod message;
mod options;
mod reader;
mod store;

use std::ops::Deref;
use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

pub use event::MirrorEvent;
pub use message::MirroredMessage;
pub use options::MirrorOptions;
pub use reader::{MirrorReader, MirrorStatus};

use crate::client::Client;
use crate::error::Result;
use crate::queue::EventQueue;
use crate::stream::{Stopper, Subscription};
use driver::{Driver, Emit};
use reader::Shared;

/// The name of a mirror's thread.
const THREAD_NAME: &str = "pieces-mirror";

impl Client {
    /// Starts a mirror that calls `handler` on its own thread with every [`MirrorEvent`], in order, and
    /// the mirror's [`MirrorReader`] (to read the rest of the mirror, or stop it with
    /// `mirror.stopper().stop()`). See the [module documentation](crate::mirror) for its guarantees.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for options out of range;
    /// [`Error::Internal`](crate::Error::Internal) when the thread cannot be started. PiecesOS being
    /// unreachable is not an error here: it arrives as `Disconnected` events.
    pub fn mirror<F>(&self, options: MirrorOptions, handler: F) -> Result<Mirror>
    where
        F: FnMut(&MirrorReader, MirrorEvent) + Send + 'static,
    {
        let (subscription, reader) = start(self, options, Stopper::new(), Box::new(handler))?;
        Ok(Mirror { subscription, reader })
    }

    /// Starts a mirror whose events wait in a bounded queue for [`PullMirror::next`] and friends: the
    /// form for hosts that must not be called from a foreign thread. Errors as [`Client::mirror`].
    pub fn mirror_pull(&self, options: MirrorOptions) -> Result<PullMirror> {
        let config = &self.config().stream;
        let queue = Arc::new(EventQueue::new(config.queue_capacity, config.queue_max_bytes));
        let stopper = Stopper::new();
        let waiting = Arc::clone(&queue);
        stopper.on_stop(move || waiting.stop());
        let events = Arc::clone(&queue);
        let (subscription, reader) = start(
            self,
            options,
            stopper,
            Box::new(move |_, event| events.push(event)),
        )?;
        Ok(PullMirror {
            subscription,
            reader,
            queue,
        })
    }
}

fn start(
    client: &Client,
    options: MirrorOptions,
    stopper: Stopper,
    events: Emit,
) -> Result<(Subscription, MirrorReader)> {
    options.validate()?;
    let reader = MirrorReader {
        shared: Arc::new(Shared::new(stopper.clone())),
    };
    let driver = Driver::new(client.clone(), options, reader.clone(), events);
    let subscription = Subscription::start(client.clone(), THREAD_NAME, stopper, driver)?;
    Ok((subscription, reader))
}

/// A running mirror with a handler. Made by [`Client::mirror`]; dereferences to its [`MirrorReader`].
/// Dropping it stops it and joins its thread.
pub struct Mirror {
    subscription: Subscription,
    reader: MirrorReader,
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("status", &self.reader.status())
            .finish_non_exhaustive()
    }
}

impl Mirror {
    /// Stops the mirror and, unless called from its own handler, waits for its thread to end (after the
    /// terminal event). Returns promptly: the socket is shut down and any backoff wait woken; a fetch
    /// under way is finished first.
    pub fn stop(&mut self) {
        self.subscription.stop();
    }

    /// A [`Stopper`] for this mirror, to move into another thread.
    pub fn stopper(&self) -> Stopper {
        self.subscription.stopper()
    }

    /// A reader of this mirror, to move into another thread.
    pub fn reader(&self) -> MirrorReader {
        self.reader.clone()
    }
}

impl Deref for Mirror {
    type Target = MirrorReader;

    fn deref(&self) -> &MirrorReader {
        &self.reader
    }
}

/// A running mirror whose events wait in a bounded queue. Made by [`Client::mirror_pull`];
/// dereferences to its [`MirrorReader`]. All methods take `&self`, so one thread may wait in `next`
/// while another stops it. Dropping it stops it and joins its thread.
pub struct PullMirror {
    subscription: Subscription,
    reader: MirrorReader,
    queue: Arc<EventQueue<MirrorEvent>>,
}

impl std::fmt::Debug for PullMirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullMirror")
            .field("status", &self.reader.status())
            .finish_non_exhaustive()
    }
}

impl PullMirror {
    /// Blocks until the next event; `None` once the terminal event has been taken.
    pub fn next(&self) -> Option<MirrorEvent> {
        self.queue.next()
    }

    /// Waits up to `timeout` for the next event. `Err(Timeout)`: nothing arrived in time;
    /// `Err(Disconnected)`: the terminal event has already been taken.
    pub fn next_timeout(&self, timeout: Duration) -> std::result::Result<MirrorEvent, RecvTimeoutError> {
        self.queue.next_timeout(timeout)
    }

    /// The next event if one is waiting. `Err(Empty)`: none yet; `Err(Disconnected)`: the terminal
    /// event has already been taken.
    pub fn try_next(&self) -> std::result::Result<MirrorEvent, TryRecvError> {
        self.queue.try_next()
    }

    /// Asks the mirror to stop and returns at once. The terminal `Closed` event follows in the queue;
    /// events not yet taken stay there.
    pub fn stop(&self) {
        self.subscription.stopper().stop();
    }

    /// A [`Stopper`] for this mirror.
    pub fn stopper(&self) -> Stopper {
        self.subscription.stopper()
    }

    /// A reader of this mirror, to move into another thread.
    pub fn reader(&self) -> MirrorReader {
        self.reader.clone()
    }

    /// Takes the next event, waiting until `deadline` (`None`: as long as it takes); for the C API.
    #[cfg(feature = "capi")]
    pub(crate) fn pop(
        &self,
        deadline: Option<std::time::Instant>,
    ) -> std::result::Result<MirrorEvent, RecvTimeoutError> {
        self.queue.pop(deadline)
    }
}

impl Deref for PullMirror {
    type Target = MirrorReader;

    fn deref(&self) -> &MirrorReader {
        &self.reader
    }
}

impl Iterator for &PullMirror {
    type Item = MirrorEvent;

    fn next(&mut self) -> Option<MirrorEvent> {
        PullMirror::next(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader of no running mirror, for tests of the parts.
    pub(super) fn detached_reader() -> MirrorReader {
        MirrorReader {
            shared: Arc::new(Shared::new(Stopper::new())),
        }
    }

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn handles_and_readers_cross_threads() {
        assert_send_sync::<Mirror>();
        assert_send_sync::<PullMirror>();
        assert_send_sync::<MirrorReader>();
        assert_send_sync::<MirroredMessage>();
        let reader = detached_reader();
        assert!(reader.is_empty() && reader.messages().is_empty());
        assert_eq!(reader.status(), MirrorStatus::default());
        assert!(!reader.wait_synced(Duration::from_millis(10)));
    }

    #[test]
    fn options_are_checked_before_a_thread_starts() {
        let client = Client::with_base_url("http://127.0.0.1:9").unwrap();
        let bad = MirrorOptions::default().with_stale_after(0);
        assert!(client.mirror(bad.clone(), |_, _| {}).is_err());
        assert!(client.mirror_pull(bad).is_err());
    }
}
