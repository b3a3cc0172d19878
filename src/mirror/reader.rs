//! [`MirrorReader`]: reads of a mirror's messages and status from any thread, while the mirror's own
//! thread keeps them current.

use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use super::message::MirroredMessage;
use super::store::Store;
use crate::stream::Stopper;
use crate::sync::{lock, wait_timeout};

/// What the mirror's thread and its readers share.
pub(super) struct Shared {
    /// Written only by the mirror's thread, briefly; never held while user code runs.
    pub(super) store: RwLock<Store>,
    pub(super) status: Mutex<MirrorStatus>,
    /// Signals every change of `status`, for [`MirrorReader::wait_synced`].
    status_changed: Condvar,
    /// The mirror's thread, once it runs: a wait on it from itself would never end.
    pub(super) thread: Mutex<Option<ThreadId>>,
    stopper: Stopper,
}

impl Shared {
    pub(super) fn new(stopper: Stopper) -> Self {
        Shared {
            store: RwLock::new(Store::default()),
            status: Mutex::new(MirrorStatus::default()),
            status_changed: Condvar::new(),
            thread: Mutex::new(None),
            stopper,
        }
    }

    /// Changes the status and wakes whoever waits for it.
    pub(super) fn update_status(&self, change: impl FnOnce(&mut MirrorStatus)) {
        change(&mut lock(&self.status));
        self.status_changed.notify_all();
    }
}

/// What a mirror is doing, and what it has done so far. A copy: see [`MirrorReader::status`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MirrorStatus {
    /// The identifier stream is connected.
    pub connected: bool,
    /// A sync has ended since the stream (re)connected, and nothing has gone stale since: the mirror
    /// holds what PiecesOS holds, but for changes still being fetched.
    pub synced: bool,
    /// PiecesOS has failed [`MirrorOptions::stale_after`](crate::MirrorOptions::stale_after) tries in a
    /// row, and no sync has ended since.
    pub stale: bool,
    /// The mirror has delivered its terminal event: nothing changes any more.
    pub ended: bool,
    /// Syncs (snapshot and reconcile) completed.
    pub syncs: u64,
    /// Messages fetched one by one (`GET /message/{id}`; a 410 counts too).
    pub fetches: u64,
    /// Fetches and snapshots that failed (each retry counts).
    pub failures: u64,
    /// Bytes of the bodies of every snapshot and fetch that succeeded.
    pub bytes_read: u64,
}

/// Reads of a mirror from any thread: cheap to clone, `Send + Sync`. Every read is consistent (taken at
/// one point between two changes) and returns immutable messages (`Arc<MirroredMessage>`) that a later
/// change never alters: it replaces them.
///
/// Reads show the mirror's current state. In pull mode that may be ahead of the events taken so far;
/// in a handler it is the state the event just brought about.
#[derive(Clone)]
pub struct MirrorReader {
    pub(super) shared: Arc<Shared>,
}

impl std::fmt::Debug for MirrorReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MirrorReader")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl MirrorReader {
    /// The message with this id, if the mirror holds it.
    pub fn get(&self, id: &str) -> Option<Arc<MirroredMessage>> {
        self.store().get(id)
    }

    /// How many messages the mirror holds.
    pub fn len(&self) -> usize {
        self.store().len()
    }

    /// Whether the mirror holds no message.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every message, in creation order (oldest first; ties by id).
    pub fn messages(&self) -> Vec<Arc<MirroredMessage>> {
        self.store().all()
    }

    /// The messages of one conversation, in creation order (oldest first); empty for a conversation the
    /// mirror holds no message of.
    pub fn conversation(&self, conversation_id: &str) -> Vec<Arc<MirroredMessage>> {
        self.store().conversation(conversation_id)
    }

    /// The ids of the conversations the mirror holds messages of, sorted.
    pub fn conversation_ids(&self) -> Vec<String> {
        self.store().conversation_ids()
    }

    /// What the mirror is doing, and what it has done so far.
    pub fn status(&self) -> MirrorStatus {
        lock(&self.shared.status).clone()
    }

    /// Waits up to `timeout` until the mirror is synced ([`MirrorStatus::synced`]); returns whether it
    /// is. Returns at once when the mirror has ended, and when called on the mirror's own thread (from
    /// its handler), which the wait would block.
    pub fn wait_synced(&self, timeout: Duration) -> bool {
        let on_own_thread = *lock(&self.shared.thread) == Some(thread::current().id());
        let deadline = Instant::now() + timeout;
        let mut status = lock(&self.shared.status);
        loop {
            let now = Instant::now();
            if status.synced || status.ended || on_own_thread || now >= deadline {
                return status.synced;
            }
            status = wait_timeout(&self.shared.status_changed, status, deadline - now);
        }
    }

    /// A [`Stopper`] for the mirror: stops it from anywhere, its own handler included.
    pub fn stopper(&self) -> Stopper {
        self.shared.stopper.clone()
    }

    fn store(&self) -> std::sync::RwLockReadGuard<'_, Store> {
        // The store is changed by whole calls that a panic cannot leave half-done (see `crate::sync`).
        self.shared
            .store
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
