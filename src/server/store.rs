//! The message store: messages in insertion order, each kept as serialized JSON, with the snapshot bodies
//! cached between writes and a list of WebSocket subscribers to tell about changes.
//!
//! Snapshots of tens of thousands of messages run to hundreds of MB, so the store never re-serializes a
//! message once it is in: each entry keeps its JSON text (and, when it carries heavy fragment content, a
//! second text without it for `transferables=false`), a snapshot body is the concatenation of those texts,
//! and that body is kept behind an `Arc` until the next write, so that serving a snapshot is one socket
//! write of bytes that already exist.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{json, Value};

use super::backlog::Backlog;
use super::{raw, seed};

/// The keys of `fragment.string` and `fragment.bytes` that hold content rather than metadata:
/// `transferables=false` leaves them out.
pub(crate) const HEAVY_KEYS: [&str; 4] = ["raw", "base64", "base64_url", "data_url"];

/// One stored message.
struct Entry {
    id: String,
    /// The message as JSON text, exactly as it is served.
    full: Arc<str>,
    /// The message without heavy fragment content; `None` when it has none, so `full` serves both.
    light: Option<Arc<str>>,
    /// `fragment.string.raw`, the text search looks in.
    text: Option<Box<str>>,
    /// `text` lowercased for case-insensitive search; `None` when lowercasing changes nothing.
    folded: Option<Box<str>>,
}

impl Entry {
    /// Serializes a message once. The id is given separately because a value stored as-is by a test need
    /// not be an object with an id.
    fn new(id: String, value: &Value) -> Entry {
        Entry::from_text(id, value.to_string())
    }

    /// An entry for a message already written as JSON text. Its light form and its search text are read
    /// from the text member by member (see [`raw`]), without a tree of values.
    fn from_text(id: String, full: String) -> Entry {
        let light = raw::without_heavy_content(&full).map(Arc::from);
        let text = raw::fragment_text(&full).map(String::into_boxed_str);
        // Only a text that lowercasing changes gets a lowercase copy; finding out allocates nothing.
        let folded = text
            .as_deref()
            .filter(|text| text.chars().any(|c| !c.to_lowercase().eq([c])))
            .map(|text| text.to_lowercase().into_boxed_str());
        Entry {
            id,
            full: full.into(),
            light,
            text,
            folded,
        }
    }

    fn json(&self, transferables: bool) -> &Arc<str> {
        match (&self.light, transferables) {
            (Some(light), false) => light,
            _ => &self.full,
        }
    }
}

/// The StreamedIdentifiers frame for a list of message ids, each marked deleted or not.
fn identifiers_frame<'a>(ids: impl Iterator<Item = &'a str>, deleted: bool) -> Arc<str> {
    let iterable: Vec<Value> = ids
        .map(|id| {
            if deleted {
                json!({"conversationMessage": {"id": id}, "deleted": true})
            } else {
                json!({"conversationMessage": {"id": id}})
            }
        })
        .collect();
    json!({ "iterable": iterable }).to_string().into()
}

/// How one message matched a search: whether the letters' case matched too, and the similarity score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Hit {
    pub(crate) exact: bool,
    pub(crate) similarity: f64,
}

#[derive(Default)]
struct Inner {
    /// The messages in insertion order; a deleted one leaves `None` behind until [`Inner::compact`], so
    /// that a delete does not shift (and re-index) every later message.
    slots: Vec<Option<Arc<Entry>>>,
    /// How many slots hold a message.
    live: usize,
    /// The slot of each message.
    positions: HashMap<String, usize>,
    snapshot_full: Option<Arc<Vec<u8>>>,
    snapshot_light: Option<Arc<Vec<u8>>>,
    /// The messages in store order as searches read them, built at most once between writes. A search
    /// takes this (one reference count) under the lock and scans it without the lock, so that a long
    /// search never keeps a writer waiting.
    search_view: Option<Arc<[Arc<Entry>]>>,
    subscribers: Vec<Arc<Backlog>>,
    /// How many realistic messages were seeded so far, so that more seeding continues the sequence
    /// instead of repeating ids.
    seeded: usize,
}

impl Inner {
    /// The messages in store order.
    fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.slots.iter().flatten().map(|entry| &**entry)
    }

    /// Drops the empty slots once they are as many as the messages, so that deletes cost O(1)
    /// amortized and the slots never outgrow twice the store.
    fn compact(&mut self) {
        if self.slots.len() - self.live <= self.live {
            return;
        }
        self.slots.retain(Option::is_some);
        for (slot, entry) in self.slots.iter().flatten().enumerate() {
            if let Some(position) = self.positions.get_mut(entry.id.as_str()) {
                *position = slot;
            }
        }
    }

    fn invalidate(&mut self) {
        self.snapshot_full = None;
        self.snapshot_light = None;
        self.search_view = None;
    }

    /// The messages in store order, shared with every search until the next write.
    fn search_view(&mut self) -> Arc<[Arc<Entry>]> {
        let slots = &self.slots;
        self.search_view
            .get_or_insert_with(|| slots.iter().flatten().cloned().collect())
            .clone()
    }

    fn publish(&mut self, frame: Arc<str>) {
        // A subscriber whose socket is gone, or that fell too far behind, is forgotten on the way.
        self.subscribers
            .retain(|subscriber| subscriber.push(frame.clone()));
    }

    /// Appends an entry, or replaces the one with the same id where it stands.
    fn put(&mut self, entry: Entry) {
        match self.positions.get(&entry.id) {
            Some(&position) => self.slots[position] = Some(Arc::new(entry)),
            None => {
                self.positions.insert(entry.id.clone(), self.slots.len());
                self.slots.push(Some(Arc::new(entry)));
                self.live += 1;
            }
        }
        self.invalidate();
    }

    fn build_snapshot(&self, transferables: bool) -> Vec<u8> {
        let ids_json: Vec<String> = self
            .entries()
            .map(|entry| Value::from(entry.id.as_str()).to_string())
            .collect();
        let capacity = 64
            + self
                .entries()
                .map(|entry| entry.json(transferables).len() + 1)
                .sum::<usize>()
            + ids_json.iter().map(|id| id.len() + 12).sum::<usize>();
        let mut body = Vec::with_capacity(capacity);
        body.extend_from_slice(b"{\"iterable\":[");
        for (position, entry) in self.entries().enumerate() {
            if position > 0 {
                body.push(b',');
            }
            body.extend_from_slice(entry.json(transferables).as_bytes());
        }
        body.extend_from_slice(b"],\"indices\":{");
        for (position, id) in ids_json.iter().enumerate() {
            if position > 0 {
                body.push(b',');
            }
            body.extend_from_slice(id.as_bytes());
            // Writing into a Vec cannot fail.
            let _ = write!(body, ":{position}");
        }
        body.extend_from_slice(b"}}");
        body
    }
}

/// Below this many messages, seeding stays on the calling thread: starting threads would cost more.
const PARALLEL_SEED_MIN: usize = 64;

/// The most threads seeding uses.
const SEED_THREADS: usize = 8;

/// The entries of the realistic messages `indices`, in order. Building them (generating, serializing
/// twice, lowercasing) is what makes seeding slow, so large ranges are split over the cores, each thread
/// building one contiguous part; every thread is joined before this returns.
fn seeded_entries(indices: std::ops::Range<usize>, rng_seed: u64) -> Vec<Entry> {
    let build = |range: std::ops::Range<usize>| -> Vec<Entry> {
        range
            .map(|index| {
                let message = seed::realistic_message(index, rng_seed);
                let id = message["id"].as_str().unwrap_or_default().to_owned();
                Entry::new(id, &message)
            })
            .collect()
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(SEED_THREADS);
    if indices.len() < PARALLEL_SEED_MIN || threads < 2 {
        return build(indices);
    }
    let part = indices.len().div_ceil(threads);
    let parts: Vec<std::ops::Range<usize>> = (indices.start..indices.end)
        .step_by(part)
        .map(|first| first..(first + part).min(indices.end))
        .collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = parts
            .iter()
            .map(|range| {
                let part = range.clone();
                std::thread::Builder::new()
                    .name("psrv-seed".to_owned())
                    .spawn_scoped(scope, move || build(part))
                    .map_err(|_| range.clone())
            })
            .collect();
        let mut entries = Vec::with_capacity(indices.len());
        for worker in workers {
            // A part whose thread could not start is built here instead.
            match worker {
                Ok(handle) => match handle.join() {
                    Ok(part) => entries.extend(part),
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                Err(range) => entries.extend(build(range)),
            }
        }
        entries
    })
}

/// The shared store of one server.
#[derive(Default)]
pub(crate) struct Store {
    inner: Mutex<Inner>,
}

impl Store {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        crate::sync::lock(&self.inner)
    }

    /// Stores a complete message as given and announces it on the stream. The id is the message's string
    /// `id`; a message without one gets a fresh id (added to it when it is an object). A message whose id
    /// is already stored replaces it in place. Returns the id and the stored JSON texts (full, light).
    pub(crate) fn insert(&self, mut message: Value) -> (String, Arc<str>, Arc<str>) {
        let id = match message.get("id").and_then(Value::as_str) {
            Some(id) => id.to_owned(),
            None => {
                let id = seed::fresh_uuid();
                if let Some(object) = message.as_object_mut() {
                    object.insert("id".into(), Value::from(id.as_str()));
                }
                id
            }
        };
        self.put_announced(Entry::new(id, &message))
    }

    /// Stores a message already written as JSON text (whose id is `id`) and announces it on the stream.
    /// Returns the id and the stored JSON texts (full, light).
    pub(crate) fn insert_text(&self, id: String, text: String) -> (String, Arc<str>, Arc<str>) {
        self.put_announced(Entry::from_text(id, text))
    }

    fn put_announced(&self, entry: Entry) -> (String, Arc<str>, Arc<str>) {
        let id = entry.id.clone();
        let full = entry.full.clone();
        let light = entry.json(false).clone();
        let mut inner = self.lock();
        inner.put(entry);
        inner.publish(identifiers_frame(std::iter::once(id.as_str()), false));
        (id, full, light)
    }

    /// Appends `count` realistic messages continuing the sequence of earlier seeding; returns their ids.
    pub(crate) fn seed_realistic(&self, count: usize, rng_seed: u64) -> Vec<String> {
        // Reserve the index range first so that concurrent seeding never repeats an id, then build the
        // messages (the slow part) without holding the lock.
        let start = {
            let mut inner = self.lock();
            let start = inner.seeded;
            inner.seeded += count;
            start
        };
        let entries = seeded_entries(start..start + count, rng_seed);
        let ids: Vec<String> = entries.iter().map(|entry| entry.id.clone()).collect();
        let mut inner = self.lock();
        inner.slots.reserve(entries.len());
        for entry in entries {
            inner.put(entry);
        }
        if !ids.is_empty() {
            inner.publish(identifiers_frame(ids.iter().map(String::as_str), false));
        }
        ids
    }

    /// Replaces the stored message `id` with `text` (a message written as JSON text) where it stands, and
    /// announces it on the stream (not as deleted). Returns the new JSON texts (full, light), or `None`
    /// when no message has this id.
    pub(crate) fn replace_text(&self, id: &str, text: String) -> Option<(Arc<str>, Arc<str>)> {
        // Built before the lock is taken; a message deleted meanwhile is not brought back.
        let entry = Entry::from_text(id.to_owned(), text);
        let full = entry.full.clone();
        let light = entry.json(false).clone();
        let mut inner = self.lock();
        if !inner.positions.contains_key(id) {
            return None;
        }
        inner.put(entry);
        inner.publish(identifiers_frame(std::iter::once(id), false));
        Some((full, light))
    }

    /// The JSON text of one stored message as it is served (with or without the heavy content).
    pub(crate) fn message_json(&self, id: &str, transferables: bool) -> Option<Arc<str>> {
        let inner = self.lock();
        let position = *inner.positions.get(id)?;
        inner.slots[position]
            .as_ref()
            .map(|entry| entry.json(transferables).clone())
    }

    /// Removes a message; `false` when there is none with this id.
    pub(crate) fn delete(&self, id: &str) -> bool {
        let mut inner = self.lock();
        let Some(position) = inner.positions.remove(id) else {
            return false;
        };
        inner.slots[position] = None;
        inner.live -= 1;
        inner.compact();
        inner.invalidate();
        inner.publish(identifiers_frame(std::iter::once(id), true));
        true
    }

    /// Removes every message, announcing them all as deleted in one frame.
    pub(crate) fn remove_all(&self) {
        let mut inner = self.lock();
        let entries: Vec<Arc<Entry>> = std::mem::take(&mut inner.slots).into_iter().flatten().collect();
        inner.live = 0;
        inner.positions.clear();
        inner.invalidate();
        if !entries.is_empty() {
            inner.publish(identifiers_frame(entries.iter().map(|e| e.id.as_str()), true));
        }
    }

    /// The ConversationMessages body, built at most once between writes.
    pub(crate) fn snapshot(&self, transferables: bool) -> Arc<Vec<u8>> {
        let mut inner = self.lock();
        let cached = if transferables {
            &inner.snapshot_full
        } else {
            &inner.snapshot_light
        };
        if let Some(body) = cached {
            return body.clone();
        }
        let body = Arc::new(inner.build_snapshot(transferables));
        if transferables {
            inner.snapshot_full = Some(body.clone());
        } else {
            inner.snapshot_light = Some(body.clone());
        }
        body
    }

    /// The SearchedConversationMessages body for the messages `matcher` accepts, given each message's
    /// fragment text and its lowercased form. Results are ordered by similarity (highest first), then by
    /// store order. The store is not locked during the scan: it reads the messages as they were when it
    /// began, while writers go on.
    pub(crate) fn search(&self, matcher: impl Fn(&str, &str) -> Option<Hit>, transferables: bool) -> Vec<u8> {
        let view = self.lock().search_view();
        let mut hits: Vec<(&Entry, Hit)> = view
            .iter()
            .map(|entry| &**entry)
            .filter_map(|entry| {
                let text = entry.text.as_deref()?;
                let folded = entry.folded.as_deref().unwrap_or(text);
                matcher(text, folded).map(|hit| (entry, hit))
            })
            .collect();
        // A stable sort: equal similarities stay in store order.
        hits.sort_by(|a, b| b.1.similarity.total_cmp(&a.1.similarity));
        let mut body = Vec::with_capacity(
            32 + hits
                .iter()
                .map(|(entry, _)| entry.json(transferables).len() + 120)
                .sum::<usize>(),
        );
        body.extend_from_slice(b"{\"iterable\":[");
        for (n, (entry, hit)) in hits.iter().enumerate() {
            if n > 0 {
                body.push(b',');
            }
            // Writing into a Vec cannot fail.
            let _ = write!(
                body,
                "{{\"exact\":{},\"identifier\":{},\"similarity\":{},\"temporal\":false,\"message\":",
                hit.exact,
                Value::from(entry.id.as_str()),
                Value::from(hit.similarity),
            );
            body.extend_from_slice(entry.json(transferables).as_bytes());
            body.push(b'}');
        }
        body.extend_from_slice(b"]}");
        body
    }

    /// Registers a WebSocket subscriber whose later frames may take up to `backlog_limit` bytes while
    /// they wait. Returns the first frame (every current message) and the backlog of later frames; both
    /// are taken under one lock so that no change is missed or sent twice.
    pub(crate) fn subscribe(&self, backlog_limit: usize) -> (Arc<str>, Arc<Backlog>) {
        let mut inner = self.lock();
        let first = identifiers_frame(inner.entries().map(|e| e.id.as_str()), false);
        let backlog = Backlog::new(backlog_limit);
        inner.subscribers.push(Arc::clone(&backlog));
        (first, backlog)
    }

    /// Forgets every subscriber and wakes each WebSocket thread at once: the server is stopping.
    pub(crate) fn close_subscribers(&self) {
        for subscriber in std::mem::take(&mut self.lock().subscribers) {
            subscriber.close();
        }
    }

    pub(crate) fn ids(&self) -> Vec<String> {
        self.lock().entries().map(|e| e.id.clone()).collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().live
    }

    /// A stored message, decoded from its JSON text.
    pub(crate) fn get(&self, id: &str) -> Option<Value> {
        serde_json::from_str(&self.message_json(id, true)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::backlog::Next;
    use super::*;

    fn message(id: &str, text: &str) -> Value {
        json!({"id": id, "role": "USER", "conversation": {"id": "c"},
               "fragment": {"string": {"raw": text}, "metadata": {"ext": "txt"}}})
    }

    #[test]
    fn snapshot_is_cached_until_a_write() {
        let store = Store::default();
        store.insert(message("a", "Hello"));
        store.insert(message("b", "World"));
        let first = store.snapshot(true);
        assert!(Arc::ptr_eq(&first, &store.snapshot(true)), "served from cache");
        let parsed: Value = serde_json::from_slice(&first).unwrap();
        assert_eq!(parsed["iterable"][1]["fragment"]["string"]["raw"], "World");
        assert_eq!(parsed["indices"], json!({"a": 0, "b": 1}));

        let light: Value = serde_json::from_slice(&store.snapshot(false)).unwrap();
        assert_eq!(
            light["iterable"][0]["fragment"],
            json!({"string": {}, "metadata": {"ext": "txt"}})
        );
        assert_eq!(light["iterable"][0]["role"], "USER");

        assert!(store.delete("a"));
        assert!(!store.delete("a"));
        let after: Value = serde_json::from_slice(&store.snapshot(true)).unwrap();
        assert_eq!(after["indices"], json!({"b": 0}));
        assert_eq!(after["iterable"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn deletes_keep_store_order_and_indices_through_compaction() {
        let store = Store::default();
        for n in 0..10 {
            store.insert(message(&format!("m{n}"), &format!("text {n}")));
        }
        // Deleting 0, 2, 4, 6 and 8 compacts once more slots are empty than full.
        for n in (0..10).step_by(2) {
            assert!(store.delete(&format!("m{n}")));
            assert!(!store.delete(&format!("m{n}")));
        }
        assert_eq!(store.ids(), ["m1", "m3", "m5", "m7", "m9"]);
        assert_eq!(store.len(), 5);
        store.insert(message("m3", "replaced"));
        store.insert(message("m10", "new"));
        assert_eq!(store.ids(), ["m1", "m3", "m5", "m7", "m9", "m10"]);
        assert_eq!(store.get("m3").unwrap()["fragment"]["string"]["raw"], "replaced");
        assert_eq!(store.get("m4"), None);
        let snapshot: Value = serde_json::from_slice(&store.snapshot(true)).unwrap();
        assert_eq!(
            snapshot["indices"],
            json!({"m1": 0, "m3": 1, "m5": 2, "m7": 3, "m9": 4, "m10": 5})
        );
        assert_eq!(snapshot["iterable"][5]["id"], "m10");
        assert!(store.delete("m10"));
        assert!(store.delete("m1"));
        assert_eq!(store.ids(), ["m3", "m5", "m7", "m9"]);
        let hits: Value = serde_json::from_slice(&store.search(
            |text, _| {
                text.contains("text").then_some(Hit {
                    exact: true,
                    similarity: 1.0,
                })
            },
            true,
        ))
        .unwrap();
        let found: Vec<&str> = hits["iterable"]
            .as_array()
            .unwrap()
            .iter()
            .map(|hit| hit["identifier"].as_str().unwrap())
            .collect();
        assert_eq!(found, ["m5", "m7", "m9"]);
    }

    #[test]
    fn insert_replaces_in_place_and_keeps_odd_values() {
        let store = Store::default();
        store.insert(message("a", "one"));
        store.insert(message("b", "two"));
        store.insert(message("a", "three"));
        assert_eq!(store.ids(), ["a", "b"]);
        assert_eq!(store.get("a").unwrap()["fragment"]["string"]["raw"], "three");
        let (id, full, _) = store.insert(json!("not an object"));
        assert_eq!(&*full, "\"not an object\"");
        assert_eq!(store.ids().len(), 3);
        assert_eq!(store.get(&id), Some(json!("not an object")));
        let (generated, _, _) = store.insert(json!({"role": "USER"}));
        assert_eq!(store.get(&generated).unwrap()["id"], generated.as_str());
    }

    #[test]
    fn replace_keeps_the_place_announces_and_never_revives() {
        let store = Store::default();
        store.insert(message("a", "one"));
        store.insert(message("b", "two"));
        let (_, changes) = store.subscribe(1 << 20);
        let (full, light) = store.replace_text("a", message("a", "uno").to_string()).unwrap();
        assert!(full.contains("uno") && !light.contains("uno"));
        assert_eq!(store.ids(), ["a", "b"]);
        assert_eq!(store.message_json("a", true).unwrap(), full);
        assert_eq!(store.message_json("a", false).unwrap(), light);
        assert_eq!(
            changes.next(Duration::ZERO),
            Next::Frame(r#"{"iterable":[{"conversationMessage":{"id":"a"}}]}"#.into())
        );
        assert!(store.delete("a"));
        assert!(matches!(changes.next(Duration::ZERO), Next::Frame(_)));
        assert_eq!(store.replace_text("a", message("a", "zombie").to_string()), None);
        assert_eq!(store.message_json("a", true), None);
        assert_eq!(
            changes.next(Duration::ZERO),
            Next::Nothing,
            "nothing announced for a refused replace"
        );
        assert_eq!(store.ids(), ["b"]);
    }

    #[test]
    fn seeding_in_parallel_keeps_the_sequence_and_continues_it() {
        let store = Store::default();
        let count = PARALLEL_SEED_MIN * 3 + 5;
        let first = store.seed_realistic(count, 11);
        let more = store.seed_realistic(7, 11);
        let expected: Vec<Value> = (0..count + 7)
            .map(|index| seed::realistic_message(index, 11))
            .collect();
        let ids: Vec<&str> = expected.iter().map(|m| m["id"].as_str().unwrap()).collect();
        assert_eq!(first, ids[..count]);
        assert_eq!(more, ids[count..]);
        assert_eq!(store.ids(), ids);
        for index in [0, PARALLEL_SEED_MIN, count - 1, count + 6] {
            assert_eq!(store.get(ids[index]).as_ref(), Some(&expected[index]));
        }
    }

    #[test]
    fn subscribers_get_first_frame_then_changes() {
        let store = Store::default();
        store.insert(message("a", "x"));
        let (first, changes) = store.subscribe(1 << 20);
        assert_eq!(&*first, r#"{"iterable":[{"conversationMessage":{"id":"a"}}]}"#);
        store.insert(message("b", "y"));
        store.delete("a");
        let next = || match changes.next(Duration::ZERO) {
            Next::Frame(frame) => frame,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(&*next(), r#"{"iterable":[{"conversationMessage":{"id":"b"}}]}"#);
        let deleted: Value = serde_json::from_str(&next()).unwrap();
        assert_eq!(
            deleted,
            json!({"iterable": [{"conversationMessage": {"id": "a"}, "deleted": true}]})
        );
        store.close_subscribers();
        assert_eq!(changes.next(Duration::ZERO), Next::Closed);
    }

    #[test]
    fn a_subscriber_that_falls_behind_is_forgotten() {
        let store = Store::default();
        let (_, slow) = store.subscribe(200);
        let (_, fast) = store.subscribe(1 << 20);
        for n in 0..20 {
            store.insert(message(&format!("message-{n}"), "x"));
        }
        assert_eq!(slow.next(Duration::ZERO), Next::Behind);
        assert_eq!(store.lock().subscribers.len(), 1);
        assert!(matches!(fast.next(Duration::ZERO), Next::Frame(_)));
    }
}
