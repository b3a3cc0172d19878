//! The mirror's work on its thread: a [`Sink`] of the identifier subscription that turns frames into a
//! plan (sync with a snapshot, or fetch these ids one by one), carries it out one step at a time between
//! reads of the socket, retries what failed, and tells the mirror's handler what changed.
//!
//! Why nothing is lost: a frame that names a message is read before the fetch (or snapshot) that covers
//! it is sent, because the subscription thread delivers every frame that has arrived before it calls
//! [`Sink::work`], and PiecesOS announces a change only once it is made. So a fetch started after a frame
//! sees that frame's change, and an id named again while its fetch runs is fetched again. What a failed
//! step was to do stays planned; after `stale_after` failures in a row the plan becomes a snapshot,
//! which covers everything announced before it was sent.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::value::RawValue;

use super::event::MirrorEvent;
use super::message::MirroredMessage;
use super::options::MirrorOptions;
use super::reader::{MirrorReader, MirrorStatus};
use super::store::{Change, Store};
use crate::client::Client;
use crate::config::StreamConfig;
use crate::error::{Error, Result};
use crate::operation::{MESSAGES_SNAPSHOT, MESSAGE_SNAPSHOT};
use crate::stream::{Backoff, Sink, SubscriptionEvent};
use crate::sync::lock;

/// Where a mirror's events go: the user's handler, or the pull queue.
pub(super) type Emit = Box<dyn FnMut(&MirrorReader, MirrorEvent) + Send>;

/// What one fetch costs before the mirror has measured one: a loopback round trip and a message.
const FIRST_FETCH_COST: Duration = Duration::from_micros(300);

/// The mirror's work, as a sink of its identifier subscription.
pub(super) struct Driver {
    client: Client,
    options: MirrorOptions,
    reader: MirrorReader,
    /// Where events go.
    events: Emit,
    plan: Plan,
    thread_noted: bool,
}

/// What is left to do, and how the last tries went.
struct Plan {
    /// A snapshot is due: after a full frame, after going stale, or because it is cheaper.
    sync: bool,
    /// Ids to fetch, in the order they were named; an id no longer in `waiting` is skipped.
    queue: VecDeque<Box<str>>,
    waiting: HashSet<Box<str>>,
    /// Nothing is tried before this, after a failure.
    retry_at: Option<Instant>,
    failures_in_a_row: u32,
    backoff: Backoff,
    stale: bool,
    /// The first sync has been done (its additions are announced only when the options say so).
    synced_once: bool,
    /// Moving averages of what a snapshot and a fetch took.
    snapshot_cost: Option<Duration>,
    fetch_cost: Option<Duration>,
}

impl Plan {
    /// Plans a fetch of `id`, unless one is already planned (changes that repeat are fetched once).
    fn want(&mut self, id: &str) {
        if self.waiting.insert(id.into()) {
            self.queue.push_back(id.into());
        }
    }

    /// Plans `id` again first, after its fetch failed.
    fn want_first(&mut self, id: Box<str>) {
        if self.waiting.insert(id.clone()) {
            self.queue.push_front(id);
        }
    }

    fn forget(&mut self, id: &str) {
        self.waiting.remove(id);
    }

    fn next_fetch(&mut self) -> Option<Box<str>> {
        while let Some(id) = self.queue.pop_front() {
            if self.waiting.remove(&id) {
                return Some(id);
            }
        }
        None
    }

    fn clear_fetches(&mut self) {
        self.queue.clear();
        self.waiting.clear();
    }
}

/// Folds a new measurement into a moving average that follows changes within a few samples.
fn average(old: Option<Duration>, sample: Duration) -> Option<Duration> {
    Some(match old {
        None => sample,
        Some(old) => old.mul_f64(0.75) + sample.mul_f64(0.25),
    })
}

impl Driver {
    pub(super) fn new(client: Client, options: MirrorOptions, reader: MirrorReader, events: Emit) -> Self {
        let retries = StreamConfig::default().with_retry(options.retry_initial, options.retry_max);
        Driver {
            client,
            options,
            reader,
            events,
            plan: Plan {
                sync: false,
                queue: VecDeque::new(),
                waiting: HashSet::new(),
                retry_at: None,
                failures_in_a_row: 0,
                backoff: Backoff::new(&retries),
                stale: false,
                synced_once: false,
                snapshot_cost: None,
                fetch_cost: None,
            },
            thread_noted: false,
        }
    }

    fn emit(&mut self, event: MirrorEvent) {
        (self.events)(&self.reader, event);
    }

    fn emit_change(&mut self, change: Change) {
        self.emit(match change {
            Change::Added(message) => MirrorEvent::Added(message),
            Change::Updated { before, after } => MirrorEvent::Updated { before, after },
            Change::Removed(message) => MirrorEvent::Removed(message),
        });
    }

    fn status(&self, change: impl FnOnce(&mut MirrorStatus)) {
        self.reader.shared.update_status(change);
    }

    /// Changes the store; readers wait for the write lock only as long as `change` runs.
    fn write<T>(&self, change: impl FnOnce(&mut Store) -> T) -> T {
        let mut store = self
            .reader
            .shared
            .store
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        change(&mut store)
    }

    /// Whether fetching the ids waiting would take longer than one snapshot.
    fn snapshot_is_cheaper(&self) -> bool {
        let waiting = self.plan.waiting.len();
        match (self.options.snapshot_threshold, self.plan.snapshot_cost) {
            (Some(threshold), _) => waiting > threshold,
            // One message is never more than all of them: a single id is always fetched.
            (None, Some(snapshot)) => {
                let fetch = self.plan.fetch_cost.unwrap_or(FIRST_FETCH_COST);
                waiting > 1 && fetch.as_secs_f64() * waiting as f64 > snapshot.as_secs_f64()
            }
            // No snapshot measured yet: the first sync measures one.
            (None, None) => false,
        }
    }

    /// Takes a snapshot and makes the mirror equal to it.
    fn sync(&mut self) {
        // Everything announced so far happened before this snapshot is taken, so it covers all of it.
        self.plan.clear_fetches();
        let started = Instant::now();
        let fetched = self
            .client
            .snapshot_messages_json(self.options.transferables)
            .and_then(|text| Ok((split_snapshot(&text)?, text.len())));
        let (messages, bytes) = match fetched {
            Ok(fetched) => fetched,
            Err(error) => {
                self.plan.sync = true;
                return self.failed(error);
            }
        };
        self.plan.snapshot_cost = average(self.plan.snapshot_cost, started.elapsed());
        self.plan.sync = false;
        self.plan.stale = false;
        self.succeeded();
        let announce_added = self.plan.synced_once || self.options.announce_initial;
        self.plan.synced_once = true;
        let (changes, count) = self.write(|store| {
            let changes = store.reconcile(messages);
            (changes, store.len())
        });
        self.status(|status| {
            status.syncs += 1;
            status.bytes_read += bytes as u64;
            status.synced = true;
            status.stale = false;
        });
        for change in changes {
            if announce_added || !matches!(change, Change::Added(_)) {
                self.emit_change(change);
            }
        }
        self.emit(MirrorEvent::Synced { count });
    }

    /// Fetches the next id planned.
    fn fetch(&mut self) {
        let Some(id) = self.plan.next_fetch() else {
            return;
        };
        let started = Instant::now();
        let fetched = self
            .client
            .get_message_json(&id, self.options.transferables)
            .and_then(|json| {
                let bytes = json.len();
                let message = MirroredMessage::from_json(json)
                    .map_err(|err| Error::decode(MESSAGE_SNAPSHOT.name, err))?;
                if message.id() != &*id {
                    return Err(Error::decode_message(
                        MESSAGE_SNAPSHOT.name,
                        format!(
                            "asked for message {id:?}, PiecesOS answered with {:?}",
                            message.id()
                        ),
                    ));
                }
                Ok((Some(message), bytes))
            });
        let (message, bytes) = match fetched {
            Ok(fetched) => fetched,
            // Deleted after it was announced: its deletion is announced too, but need not be waited for.
            Err(Error::NotFound { .. }) => (None, 0),
            Err(error) => {
                self.plan.want_first(id);
                return self.failed(error);
            }
        };
        self.plan.fetch_cost = average(self.plan.fetch_cost, started.elapsed());
        self.succeeded();
        self.status(|status| {
            status.fetches += 1;
            status.bytes_read += bytes as u64;
        });
        let change = match message {
            Some(message) => self.write(|store| store.upsert(Arc::new(message))),
            None => self.write(|store| store.remove(&id)),
        };
        if let Some(change) = change {
            self.emit_change(change);
        }
    }

    /// The terminal event is next: nothing more will be done.
    fn end(&mut self) {
        self.plan.sync = false;
        self.plan.clear_fetches();
        self.status(|status| {
            status.connected = false;
            status.synced = false;
            status.ended = true;
        });
    }

    fn succeeded(&mut self) {
        self.plan.failures_in_a_row = 0;
        self.plan.backoff.reset();
    }

    /// A step failed: it is tried again after a backoff delay, and after `stale_after` failures in a row
    /// the mirror says it is stale and plans a snapshot.
    fn failed(&mut self, error: Error) {
        self.plan.failures_in_a_row += 1;
        self.plan.retry_at = Some(Instant::now() + self.plan.backoff.next_delay());
        self.status(|status| status.failures += 1);
        if self.plan.failures_in_a_row < self.options.stale_after {
            return;
        }
        self.plan.sync = true;
        if !self.plan.stale {
            self.plan.stale = true;
            self.status(|status| {
                status.stale = true;
                status.synced = false;
            });
            self.emit(MirrorEvent::Stale { error });
        }
    }
}

impl Sink for Driver {
    fn deliver(&mut self, event: SubscriptionEvent) {
        if !self.thread_noted {
            *lock(&self.reader.shared.thread) = Some(thread::current().id());
            self.thread_noted = true;
        }
        match event {
            SubscriptionEvent::Connected { .. } => self.status(|status| status.connected = true),
            SubscriptionEvent::Identifiers { full: true, .. } => {
                // A new connection: sync now, whatever failed on the last one.
                self.plan.sync = true;
                self.plan.clear_fetches();
                self.plan.retry_at = None;
            }
            SubscriptionEvent::Identifiers { frame, full: false } => {
                for item in &frame.iterable {
                    let Some(id) = item.message_id() else {
                        continue;
                    };
                    if item.is_deleted() {
                        // Ids are never reused: a deleted message is gone for good, even while a sync
                        // is due.
                        self.plan.forget(id);
                        if let Some(change) = self.write(|store| store.remove(id)) {
                            self.emit_change(change);
                        }
                    } else if !self.plan.sync {
                        // (A sync due covers the change without a fetch.)
                        self.plan.want(id);
                    }
                }
            }
            SubscriptionEvent::Disconnected { error, retry_in } => {
                // The reconnection's full frame plans a sync that covers everything missed meanwhile.
                self.plan.sync = false;
                self.plan.clear_fetches();
                self.plan.retry_at = None;
                self.status(|status| {
                    status.connected = false;
                    status.synced = false;
                });
                self.emit(MirrorEvent::Disconnected { error, retry_in });
            }
            SubscriptionEvent::Closed => {
                self.end();
                self.emit(MirrorEvent::Closed);
            }
            SubscriptionEvent::Failed { error } => {
                self.end();
                self.emit(MirrorEvent::Failed { error });
            }
        }
    }

    fn work_due(&self) -> Option<Instant> {
        (self.plan.sync || !self.plan.waiting.is_empty())
            .then(|| self.plan.retry_at.unwrap_or_else(Instant::now))
    }

    fn work(&mut self) {
        if self.plan.retry_at.is_some_and(|at| Instant::now() < at) {
            return;
        }
        self.plan.retry_at = None;
        if self.plan.sync || self.snapshot_is_cheaper() {
            self.sync();
        } else {
            self.fetch();
        }
    }
}

/// Splits a snapshot (`ConversationMessages` text, already checked against its model) into its
/// messages, each the exact text the server sent.
fn split_snapshot(text: &str) -> Result<Vec<MirroredMessage>> {
    #[derive(Deserialize)]
    struct Messages<'a> {
        #[serde(borrow)]
        iterable: Vec<&'a RawValue>,
    }
    let decode = |err| Error::decode(MESSAGES_SNAPSHOT.name, err);
    let messages: Messages<'_> = serde_json::from_str(text).map_err(decode)?;
    messages
        .iterable
        .into_iter()
        .map(|raw| MirroredMessage::from_json(raw.get()).map_err(decode))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_splits_into_the_exact_texts_of_its_messages() {
        let first =
            r#"{"id":"a","conversation":{"id":"c"},"created":{"value":"2024-01-01T00:00:00Z"},"x":1e400}"#;
        let second =
            "{ \"id\" : \"b\",\n \"conversation\": {\"id\": \"c\"}, \"created\": {\"value\": \"t\"} }";
        let text = format!(r#"{{"iterable": [{first},  {second}], "indices": {{"a": 0, "b": 1}}}}"#);
        let messages = split_snapshot(&text).unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].json(), first);
        assert_eq!(messages[1].json(), second);
        assert_eq!(messages[1].id(), "b");
        let err = split_snapshot(r#"{"iterable": [{"id": "a"}]}"#).unwrap_err();
        assert!(
            err.to_string().starts_with("messages_snapshot returned a body"),
            "{err}"
        );
    }

    #[test]
    fn repeated_ids_are_fetched_once_and_a_failed_one_first() {
        let mut plan = Driver::new(
            Client::with_base_url("http://127.0.0.1:9").unwrap(),
            MirrorOptions::default(),
            super::super::tests::detached_reader(),
            Box::new(|_, _| {}),
        )
        .plan;
        for id in ["a", "b", "a", "c", "b"] {
            plan.want(id);
        }
        plan.forget("c");
        plan.want("d");
        assert_eq!(plan.next_fetch().as_deref(), Some("a"));
        plan.want_first("a".into());
        plan.want("a");
        let rest: Vec<Box<str>> = std::iter::from_fn(|| plan.next_fetch()).collect();
        assert_eq!(rest, ["a", "b", "d"].map(Box::from));
        assert!(plan.waiting.is_empty());
    }

    #[test]
    fn averages_follow_new_measurements() {
        let first = average(None, Duration::from_millis(100));
        assert_eq!(first, Some(Duration::from_millis(100)));
        let next = average(first, Duration::from_millis(200)).unwrap();
        assert_eq!(next, Duration::from_millis(125));
    }
}
