//! The mirror against the stand-in: it syncs, follows creates, updates and deletes with their content,
//! coalesces fetches, takes a 410 for a deletion, goes stale and recovers, converges byte for byte
//! through random changes, WebSocket drops, a server restart and injected 500s, and stops from anywhere.
//!
//! Every event a mirror delivers is replayed into a [`Replay`], which fails on an event that does not
//! follow from the ones before (an `Added` for a message it holds, an `Updated` whose `before` is not
//! the version it holds, a `Removed` of a message it lacks, a `Synced` whose count differs): so a lost
//! or duplicated event fails the test.

mod common;

use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{client_for, eventually, server_with, start_on};
use pieces_os_client::server::{DropMode, ServerConfig};
use pieces_os_client::{
    Client, ClientConfig, Error, MirrorEvent, MirrorOptions, MirrorReader, StreamConfig, Transferables,
};
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// Generous bound on one event; a healthy run takes milliseconds.
const EVENT_WAIT: Duration = Duration::from_secs(15);

/// A client that retries quickly, so drops and restarts are repaired within the test's time.
fn fast_client(url: String) -> Client {
    Client::new(
        ClientConfig::default()
            .with_base_url(url)
            .with_request_timeout(Some(Duration::from_secs(10)))
            .with_stream(
                StreamConfig::default().with_retry(Duration::from_millis(20), Duration::from_millis(200)),
            ),
    )
    .unwrap()
}

fn fast_options() -> MirrorOptions {
    MirrorOptions::default().with_retry(Duration::from_millis(10), Duration::from_millis(100))
}

/// [`fast_options`] with every change fetched by id: a snapshot (and its `Synced`) only on a connection
/// or after going stale, so that a test can count them whatever fetches and snapshots happen to cost.
fn by_id_options() -> MirrorOptions {
    fast_options().with_snapshot_threshold(Some(usize::MAX))
}

/// The messages a server holds, as the texts it serves (id → JSON text), from one snapshot.
fn server_texts(client: &Client) -> BTreeMap<String, String> {
    #[derive(serde::Deserialize)]
    struct Messages<'a> {
        #[serde(borrow)]
        iterable: Vec<&'a RawValue>,
    }
    let text = client.snapshot_messages_json(Transferables::Default).unwrap();
    let messages: Messages<'_> = serde_json::from_str(&text).unwrap();
    messages
        .iterable
        .iter()
        .map(|raw| {
            let id = serde_json::from_str::<Value>(raw.get()).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            (id, raw.get().to_owned())
        })
        .collect()
}

/// The messages a mirror holds (id → JSON text).
fn mirror_texts(reader: &MirrorReader) -> BTreeMap<String, String> {
    reader
        .messages()
        .iter()
        .map(|message| (message.id().to_owned(), message.json().to_owned()))
        .collect()
}

/// The mirror's state rebuilt from its events alone; every event is checked against what came before.
#[derive(Default)]
struct Replay {
    messages: BTreeMap<String, String>,
    problems: Vec<String>,
    synced: usize,
    stale: usize,
    disconnected: usize,
    terminal: usize,
    after_terminal: usize,
}

impl Replay {
    fn apply(&mut self, event: &MirrorEvent) {
        if self.terminal > 0 {
            self.after_terminal += 1;
        }
        match event {
            MirrorEvent::Added(message) => {
                if let Some(held) = self
                    .messages
                    .insert(message.id().to_owned(), message.json().to_owned())
                {
                    self.problems
                        .push(format!("added {} but it was held: {held}", message.id()));
                }
            }
            MirrorEvent::Updated { before, after } => {
                if before.id() != after.id() {
                    self.problems
                        .push(format!("updated {} into {}", before.id(), after.id()));
                }
                match self
                    .messages
                    .insert(after.id().to_owned(), after.json().to_owned())
                {
                    Some(held) if held == before.json() => {}
                    Some(_) => self
                        .problems
                        .push(format!("updated {}: before is not what was held", after.id())),
                    None => self
                        .problems
                        .push(format!("updated {} but it was not held", after.id())),
                }
                if before.json() == after.json() {
                    self.problems
                        .push(format!("updated {} without a change", after.id()));
                }
            }
            MirrorEvent::Removed(message) => match self.messages.remove(message.id()) {
                Some(held) if held == message.json() => {}
                Some(_) => self
                    .problems
                    .push(format!("removed {}: not the version held", message.id())),
                None => self
                    .problems
                    .push(format!("removed {} but it was not held", message.id())),
            },
            MirrorEvent::Synced { count } => {
                self.synced += 1;
                if *count != self.messages.len() {
                    self.problems.push(format!(
                        "synced with {count} but the events make {}",
                        self.messages.len()
                    ));
                }
            }
            MirrorEvent::Stale { .. } => self.stale += 1,
            MirrorEvent::Disconnected { .. } => self.disconnected += 1,
            MirrorEvent::Closed | MirrorEvent::Failed { .. } => self.terminal += 1,
            other => self
                .problems
                .push(format!("an event this test does not know: {other:?}")),
        }
    }

    fn assert_sound(&self) {
        assert!(self.problems.is_empty(), "{:#?}", self.problems);
        assert_eq!(self.after_terminal, 0, "events after the terminal one");
    }
}

/// A handler mirror whose events are replayed (checking, on the mirror's thread, that the state the
/// events make is the state the mirror holds at every `Synced`) and forwarded as JSON-free summaries.
fn replayed_mirror(
    client: &Client,
    options: MirrorOptions,
) -> (pieces_os_client::Mirror, Arc<Mutex<Replay>>, Receiver<Summary>) {
    let replay = Arc::new(Mutex::new(Replay::default()));
    let (sender, summaries) = mpsc::channel();
    let handler_replay = Arc::clone(&replay);
    let mirror = client
        .mirror(options, move |reader, event| {
            let mut replay = handler_replay.lock().unwrap();
            replay.apply(&event);
            if matches!(event, MirrorEvent::Synced { .. }) && replay.messages != mirror_texts(reader) {
                replay
                    .problems
                    .push("at Synced the events and the mirror differ".into());
            }
            drop(replay);
            let _ = sender.send(Summary::of(&event));
        })
        .unwrap();
    (mirror, replay, summaries)
}

/// What a test waits for in an event.
#[derive(Clone, Debug, PartialEq)]
enum Summary {
    Synced(usize),
    Added(String),
    Updated(String, String),
    Removed(String),
    Stale(String),
    Disconnected,
    Closed,
    Failed(String),
}

impl Summary {
    fn of(event: &MirrorEvent) -> Summary {
        match event {
            MirrorEvent::Synced { count } => Summary::Synced(*count),
            MirrorEvent::Added(message) => Summary::Added(message.id().to_owned()),
            MirrorEvent::Updated { after, .. } => {
                Summary::Updated(after.id().to_owned(), after.text().unwrap_or_default())
            }
            MirrorEvent::Removed(message) => Summary::Removed(message.id().to_owned()),
            MirrorEvent::Stale { error } => Summary::Stale(error.kind().to_owned()),
            MirrorEvent::Disconnected { .. } => Summary::Disconnected,
            MirrorEvent::Closed => Summary::Closed,
            MirrorEvent::Failed { error } => Summary::Failed(error.to_string()),
            _ => Summary::Failed("unknown event".into()),
        }
    }
}

/// Waits for the next summary `pick` accepts, failing the test on a timeout.
fn wait_for<T>(summaries: &Receiver<Summary>, mut pick: impl FnMut(&Summary) -> Option<T>) -> T {
    let deadline = Instant::now() + EVENT_WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match summaries.recv_timeout(left) {
            Ok(summary) => {
                if let Some(found) = pick(&summary) {
                    return found;
                }
            }
            Err(err) => panic!("no matching event within {EVENT_WAIT:?}: {err:?}"),
        }
    }
}

fn update_text(client: &Client, id: &str, text: &str) -> String {
    let mut message: Value =
        serde_json::from_str(&client.get_message_json(id, Transferables::Default).unwrap()).unwrap();
    message["fragment"]["string"]["raw"] = json!(text);
    client
        .update_message_json(&message.to_string(), Transferables::Default)
        .unwrap()
}

#[test]
fn the_endpoints_get_and_update_one_message_losslessly() {
    let server = server_with(0);
    let client = client_for(&server);
    let created = client
        .create_message(&common::user_seed("c1", "first words"), Transferables::Default)
        .unwrap();
    let text = client
        .get_message_json(&created.id, Transferables::Default)
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        server.message(&created.id).unwrap()
    );
    let light = client.get_message(&created.id, Transferables::Exclude).unwrap();
    assert_eq!(light.id, created.id);
    assert_eq!(light.text(), None, "no content without transferables");

    // Lossless: a key no model types survives a typed fetch, a change of one field and the update.
    let mut stored = server.message(&created.id).unwrap();
    stored["x_future"] = json!({"kept": [1, 2.5, "three"]});
    server.insert_message(stored);
    let mut message = client.get_message(&created.id, Transferables::Default).unwrap();
    message.fragment = Some(pieces_os_client::models::FragmentFormat::text("second words"));
    let updated = client.update_message(&message, Transferables::Default).unwrap();
    assert_eq!(updated.text(), Some("second words"));
    assert_eq!(updated.extra["x_future"], json!({"kept": [1, 2.5, "three"]}));
    assert_eq!(updated.created, created.created);
    let on_server = server.message(&created.id).unwrap();
    assert_eq!(on_server["x_future"], json!({"kept": [1, 2.5, "three"]}));
    assert_eq!(serde_json::to_value(&updated).unwrap(), on_server);
    let answer = client
        .update_message_json(&on_server.to_string(), Transferables::Exclude)
        .unwrap();
    assert!(!answer.contains("second words"), "{answer}");

    // 410 is its own error, with the id and the body; a failed update is an HTTP 500.
    client.delete_message(&created.id).unwrap();
    for err in [
        client
            .get_message(&created.id, Transferables::Default)
            .unwrap_err(),
        client
            .get_message_json(&created.id, Transferables::Default)
            .unwrap_err(),
    ] {
        match err {
            Error::NotFound { id, body, endpoint } => {
                assert_eq!(id, created.id);
                assert_eq!(endpoint, "message_specific_message_snapshot");
                assert!(body.contains(&created.id), "{body}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let err = client
        .update_message(&updated, Transferables::Default)
        .unwrap_err();
    assert_eq!(err.http_status(), Some(500), "{err}");
    assert!(err.body().unwrap().contains(&created.id), "{err}");
    // The id is one path segment.
    let tricky = server.insert_message(
        json!({"id": "a/../b?x", "role": "USER", "conversation": {"id": "c"},
        "created": {"value": "2024-01-01T00:00:00Z"}, "updated": {"value": "2024-01-01T00:00:00Z"}}),
    );
    assert_eq!(
        client.get_message(&tricky, Transferables::Default).unwrap().id,
        tricky
    );
    assert!(server
        .requests()
        .iter()
        .any(|request| request.target == "/message/a%2F%2E%2E%2Fb%3Fx"));
}

#[test]
fn a_mirror_syncs_then_follows_creates_updates_and_deletes_with_their_content() {
    let server = server_with(5);
    let client = client_for(&server);
    let (mut mirror, replay, summaries) = replayed_mirror(&client, by_id_options());
    for _ in 0..5 {
        wait_for(&summaries, |s| matches!(s, Summary::Added(_)).then_some(()));
    }
    assert_eq!(
        wait_for(&summaries, |s| match s {
            Summary::Synced(count) => Some(*count),
            _ => None,
        }),
        5
    );
    assert!(mirror.wait_synced(EVENT_WAIT));
    assert_eq!(mirror_texts(&mirror), server_texts(&client));

    let created = client
        .create_message(&common::user_seed("talk", "hello mirror"), Transferables::Default)
        .unwrap();
    let added = wait_for(&summaries, |s| match s {
        Summary::Added(id) => Some(id.clone()),
        _ => None,
    });
    assert_eq!(added, created.id);
    let held = mirror
        .get(&created.id)
        .expect("the mirror holds what it announced");
    assert_eq!(held.text().as_deref(), Some("hello mirror"));
    assert_eq!(held.conversation_id(), "talk");

    let answer = update_text(&client, &created.id, "hello again");
    let (id, text) = wait_for(&summaries, |s| match s {
        Summary::Updated(id, text) => Some((id.clone(), text.clone())),
        _ => None,
    });
    assert_eq!((id.as_str(), text.as_str()), (created.id.as_str(), "hello again"));
    assert_eq!(
        mirror.get(&created.id).unwrap().json(),
        answer,
        "the server's JSON, byte for byte"
    );
    assert_eq!(
        held.text().as_deref(),
        Some("hello mirror"),
        "an old version never changes"
    );

    // One conversation, in creation order.
    let second = client
        .create_message(&common::user_seed("talk", "second"), Transferables::Default)
        .unwrap();
    wait_for(&summaries, |s| {
        (s == &Summary::Added(second.id.clone())).then_some(())
    });
    let talk: Vec<String> = mirror
        .conversation("talk")
        .iter()
        .map(|m| m.id().to_owned())
        .collect();
    assert_eq!(talk, [created.id.clone(), second.id.clone()]);
    assert!(mirror.conversation_ids().contains(&"talk".to_owned()));

    client.delete_message(&created.id).unwrap();
    wait_for(&summaries, |s| {
        (s == &Summary::Removed(created.id.clone())).then_some(())
    });
    assert!(mirror.get(&created.id).is_none());
    assert_eq!(mirror_texts(&mirror), server_texts(&client));
    let status = mirror.status();
    assert!(
        status.connected && status.synced && !status.stale && !status.ended,
        "{status:?}"
    );
    assert_eq!(status.syncs, 1);
    assert!(status.fetches >= 3 && status.bytes_read > 0, "{status:?}");

    mirror.stop();
    assert_eq!(
        wait_for(&summaries, |s| matches!(s, Summary::Closed).then_some(1)),
        1
    );
    assert!(mirror.status().ended);
    let replay = replay.lock().unwrap();
    replay.assert_sound();
    assert_eq!(replay.terminal, 1);
    assert_eq!(replay.messages, mirror_texts(&mirror));
}

#[test]
fn a_pull_mirror_without_initial_announcements_queues_changes_only() {
    let server = server_with(4);
    let client = client_for(&server);
    let mirror = client
        .mirror_pull(
            by_id_options()
                .with_announce_initial(false)
                .with_transferables(Transferables::Exclude),
        )
        .unwrap();
    match mirror.next_timeout(EVENT_WAIT) {
        Ok(MirrorEvent::Synced { count: 4 }) => {}
        other => panic!("expected synced 4 first, got {other:?}"),
    }
    assert_eq!(mirror.len(), 4);
    // Without transferables: no content, the rest of each message as the server sent it.
    assert!(mirror.messages().iter().all(|m| m.text().is_none()));
    for message in mirror.messages() {
        let light = client
            .get_message_json(message.id(), Transferables::Exclude)
            .unwrap();
        assert_eq!(message.json(), light);
    }
    assert!(matches!(mirror.try_next(), Err(mpsc::TryRecvError::Empty)));

    let created = client
        .create_message(&common::user_seed("c", "pulled"), Transferables::Default)
        .unwrap();
    match mirror.next_timeout(EVENT_WAIT) {
        Ok(MirrorEvent::Added(message)) => {
            assert_eq!(message.id(), created.id);
            assert_eq!(message.text(), None);
        }
        other => panic!("expected added, got {other:?}"),
    }
    mirror.stop();
    let mut rest = Vec::new();
    while let Ok(event) = mirror.next_timeout(EVENT_WAIT) {
        rest.push(event);
    }
    assert!(matches!(rest.as_slice(), [MirrorEvent::Closed]), "{rest:?}");
    assert!(matches!(
        mirror.next_timeout(Duration::from_millis(10)),
        Err(RecvTimeoutError::Disconnected)
    ));
}

#[test]
fn repeated_ids_are_fetched_once_and_many_become_one_snapshot() {
    let server = server_with(2);
    let client = fast_client(server.url());
    let mirror = client
        .mirror_pull(fast_options().with_snapshot_threshold(Some(10)))
        .unwrap();
    assert!(mirror.wait_synced(EVENT_WAIT));
    let target = server.message_ids()[0].clone();
    server.clear_requests();

    // Every answer waits 150 ms: while the first fetch of the id waits, it is announced 20 times more.
    server.faults().set_delay(Duration::from_millis(150));
    for n in 0..21 {
        let mut message = server.message(&target).unwrap();
        message["fragment"]["string"]["raw"] = json!(format!("version {n}"));
        server.insert_message(message);
    }
    assert!(eventually(EVENT_WAIT, || {
        mirror.get(&target).and_then(|m| m.text()).as_deref() == Some("version 20")
    }));
    server.faults().clear();
    let fetches = server
        .requests()
        .iter()
        .filter(|request| request.target == format!("/message/{target}"))
        .count();
    assert!(
        (1..=3).contains(&fetches),
        "{fetches} fetches for 21 announcements"
    );

    // Twenty new ids at once are more than the threshold: one snapshot instead of twenty fetches.
    server.clear_requests();
    let syncs = mirror.status().syncs;
    let ids = server.seed_realistic(20);
    // (The mirror updates its status just after its messages, so wait for both.)
    assert!(eventually(EVENT_WAIT, || {
        mirror.status().syncs > syncs && ids.iter().all(|id| mirror.get(id).is_some())
    }));
    assert_eq!(mirror.status().syncs, syncs + 1);
    assert!(
        !server
            .requests()
            .iter()
            .any(|request| request.target.starts_with("/message/")),
        "no single fetch"
    );
    assert_eq!(mirror_texts(&mirror), server_texts(&client));
}

#[test]
fn a_message_deleted_before_its_fetch_is_a_410_and_no_event() {
    let server = server_with(1);
    let client = fast_client(server.url());
    let (mirror, replay, summaries) = replayed_mirror(&client, by_id_options());
    wait_for(&summaries, |s| matches!(s, Summary::Synced(1)).then_some(()));
    server.faults().set_delay(Duration::from_millis(200));
    let id = server.insert_message(json!({"role": "USER", "conversation": {"id": "c"},
        "created": {"value": "2024-01-01T00:00:00Z"}, "updated": {"value": "2024-01-01T00:00:00Z"}}));
    // Deleted while the mirror's fetch waits in the server (it is logged before the delay): the fetch
    // finds it gone (410).
    let target = format!("/message/{id}");
    assert!(eventually(EVENT_WAIT, || server
        .requests()
        .iter()
        .any(|r| r.target == target)));
    assert!(server.delete_message(&id));
    assert!(eventually(EVENT_WAIT, || mirror.status().fetches >= 1));
    server.faults().clear();
    let later = client
        .create_message(&common::user_seed("c", "after"), Transferables::Default)
        .unwrap();
    wait_for(&summaries, |s| {
        (s == &Summary::Added(later.id.clone())).then_some(())
    });
    assert!(mirror.get(&id).is_none());
    let replay = replay.lock().unwrap();
    replay.assert_sound();
    assert!(
        !replay.messages.contains_key(&id),
        "no event for a message never seen"
    );
    assert_eq!(mirror.status().failures, 0, "a 410 is not a failure");
}

#[test]
fn a_failing_server_makes_the_mirror_stale_and_a_snapshot_catches_up() {
    let server = server_with(3);
    let client = fast_client(server.url());
    let (mirror, replay, summaries) = replayed_mirror(&client, by_id_options().with_stale_after(2));
    wait_for(&summaries, |s| matches!(s, Summary::Synced(3)).then_some(()));
    server.faults().set_fail_every(1);
    let added = server.insert_message(json!({"role": "USER", "conversation": {"id": "c"},
        "created": {"value": "2024-01-01T00:00:00Z"}, "updated": {"value": "2024-01-01T00:00:00Z"},
        "fragment": {"string": {"raw": "while failing"}}}));
    let kind = wait_for(&summaries, |s| match s {
        Summary::Stale(kind) => Some(kind.clone()),
        _ => None,
    });
    assert_eq!(kind, "http_status");
    let status = mirror.status();
    assert!(
        status.stale && !status.synced && status.failures >= 2,
        "{status:?}"
    );
    // A deletion announced meanwhile is applied at once, with no request.
    let gone = server.message_ids()[0].clone();
    assert!(server.delete_message(&gone));
    wait_for(&summaries, |s| {
        (s == &Summary::Removed(gone.clone())).then_some(())
    });

    server.faults().clear();
    wait_for(&summaries, |s| matches!(s, Summary::Synced(3)).then_some(()));
    assert_eq!(
        mirror.get(&added).unwrap().text().as_deref(),
        Some("while failing")
    );
    let status = mirror.status();
    assert!(!status.stale && status.synced && status.syncs == 2, "{status:?}");
    assert_eq!(mirror_texts(&mirror), server_texts(&client));
    let replay = replay.lock().unwrap();
    replay.assert_sound();
    assert_eq!(replay.stale, 1, "said once per stale spell");
}

/// A tiny deterministic random generator (xorshift), so a failing run can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn the_mirror_converges_through_random_changes_drops_a_restart_and_500s_fetching_one_by_one() {
    // A snapshot only on (re)connection and after going stale: every other change is fetched by id.
    converges_through_chaos(by_id_options().with_stale_after(2));
}

#[test]
fn the_mirror_converges_through_random_changes_drops_a_restart_and_500s_choosing_by_cost() {
    converges_through_chaos(fast_options().with_stale_after(2));
}

/// Random creates, updates and deletes, with WebSocket drops (close and cut), a restart of the server on
/// the same port and injected 500s; then the mirror must hold the server's store byte for byte, and the
/// events must make the same.
fn converges_through_chaos(options: MirrorOptions) {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("random seed {seed}");
    let mut rng = Rng(seed);
    let mut server = server_with(10);
    let port = server.port();
    let client = fast_client(server.url());
    let (mut mirror, replay, _summaries) = replayed_mirror(&client, options);
    assert!(mirror.wait_synced(EVENT_WAIT));

    for round in 0..3 {
        if round == 1 {
            // A restart on the same port: the new PiecesOS holds other messages.
            server.stop();
            std::thread::sleep(Duration::from_millis(100));
            server = start_on(
                port,
                ServerConfig::default().with_seed_messages(7).with_rng_seed(seed),
            );
        }
        server.faults().set_fail_every(5 + rng.below(5));
        for _ in 0..100 {
            let ids = server.message_ids();
            match rng.below(10) {
                0..=3 => {
                    let text = format!("random {}", rng.below(1_000_000));
                    let _ = client.create_message(&common::user_seed("chaos", &text), Transferables::Default);
                }
                4..=6 if !ids.is_empty() => {
                    let id = &ids[rng.below(ids.len() as u64) as usize];
                    if let Some(mut message) = server.message(id) {
                        message["fragment"]["string"]["raw"] = json!(format!("edited {}", rng.below(1000)));
                        let _ = client.update_message_json(&message.to_string(), Transferables::Default);
                    }
                }
                7..=8 if !ids.is_empty() => {
                    let id = &ids[rng.below(ids.len() as u64) as usize];
                    let _ = client.delete_message(id);
                }
                9 => server.drop_websockets(if rng.below(2) == 0 {
                    DropMode::Close
                } else {
                    DropMode::Cut
                }),
                _ => {}
            }
            if rng.below(4) == 0 {
                std::thread::sleep(Duration::from_millis(rng.below(30)));
            }
        }
    }
    server.faults().clear();
    let converged = eventually(Duration::from_secs(60), || {
        mirror.status().synced && mirror_texts(&mirror) == server_texts(&client)
    });
    let (held, served) = (mirror_texts(&mirror), server_texts(&client));
    assert!(
        converged,
        "seed {seed}: the mirror holds {} messages, the server {}",
        held.len(),
        served.len()
    );
    mirror.stop();
    let replay = replay.lock().unwrap();
    replay.assert_sound();
    assert_eq!(
        replay.messages, served,
        "seed {seed}: the events make the server's store"
    );
    assert!(replay.disconnected >= 1, "the restart was seen");
    assert_eq!(replay.terminal, 1);
    println!(
        "seed {seed}: {} messages, {} syncs, {} disconnections, {} stale spells, status {:?}",
        served.len(),
        replay.synced,
        replay.disconnected,
        replay.stale,
        mirror.status()
    );
}

#[test]
fn a_mirror_stops_from_inside_its_handler_with_one_closed_event() {
    let server = server_with(3);
    let client = client_for(&server);
    let (sender, summaries) = mpsc::channel();
    let mut mirror = client
        .mirror(fast_options(), move |reader, event| {
            if matches!(event, MirrorEvent::Added(_)) {
                reader.stopper().stop();
                // A wait on the mirror's own thread would never end: it returns at once instead.
                let started = Instant::now();
                reader.wait_synced(Duration::from_secs(30));
                assert!(started.elapsed() < Duration::from_secs(5));
            }
            let _ = sender.send(Summary::of(&event));
        })
        .unwrap();
    let mut seen = Vec::new();
    loop {
        match summaries.recv_timeout(EVENT_WAIT) {
            Ok(summary) => seen.push(summary),
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => panic!("the mirror did not end: {seen:?}"),
        }
    }
    // The handler is dropped with the thread, which ended after the one terminal event.
    assert_eq!(
        seen.iter().filter(|s| **s == Summary::Closed).count(),
        1,
        "{seen:?}"
    );
    assert_eq!(seen.last(), Some(&Summary::Closed));
    assert!(mirror.status().ended);
    mirror.stop();
}

#[test]
fn a_panicking_handler_ends_the_mirror_with_failed() {
    let server = server_with(1);
    let client = client_for(&server);
    let (sender, summaries) = mpsc::channel();
    let _mirror = client
        .mirror(fast_options(), move |_, event| {
            let summary = Summary::of(&event);
            let _ = sender.send(summary.clone());
            if matches!(summary, Summary::Added(_)) {
                panic!("a bug in the handler");
            }
        })
        .unwrap();
    let failure = wait_for(&summaries, |s| match s {
        Summary::Failed(message) => Some(message.clone()),
        _ => None,
    });
    assert!(failure.contains("a bug in the handler"), "{failure}");
}

#[test]
fn a_pull_mirror_bounded_in_bytes_holds_back_and_loses_nothing() {
    let server = server_with(0);
    let client = Client::new(
        ClientConfig::default().with_base_url(server.url()).with_stream(
            StreamConfig::default()
                .with_queue_capacity(1_000)
                .with_queue_max_bytes(1),
        ),
    )
    .unwrap();
    // Fetched one by one (no snapshot, whose `Synced` would come between the additions).
    let mirror = client.mirror_pull(by_id_options()).unwrap();
    assert!(matches!(
        mirror.next_timeout(EVENT_WAIT),
        Ok(MirrorEvent::Synced { count: 0 })
    ));
    let mut created = Vec::new();
    for n in 0..30 {
        let message = client
            .create_message(
                &common::user_seed("c", &format!("message {n}")),
                Transferables::Default,
            )
            .unwrap();
        created.push(message.id);
    }
    // With room for one event at a time the mirror waits for this consumer: it cannot have fetched all.
    std::thread::sleep(Duration::from_millis(300));
    assert!(mirror.len() < 30, "the mirror did not wait: {}", mirror.len());
    let mut added = Vec::new();
    while added.len() < 30 {
        match mirror.next_timeout(EVENT_WAIT) {
            Ok(MirrorEvent::Added(message)) => added.push(message.id().to_owned()),
            other => panic!("after {} added: {other:?}", added.len()),
        }
    }
    assert_eq!(added, created, "every message, in order");
}

#[test]
fn a_mirror_of_a_server_that_is_not_there_fails_after_the_streams_attempts() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::new(
        ClientConfig::default()
            .with_base_url(format!("http://127.0.0.1:{port}"))
            .with_stream(
                StreamConfig::default()
                    .with_retry(Duration::from_millis(10), Duration::from_millis(20))
                    .with_max_attempts(Some(2)),
            ),
    )
    .unwrap();
    let mirror = client.mirror_pull(fast_options()).unwrap();
    let events: Vec<MirrorEvent> = (&mirror).collect();
    assert!(
        matches!(
            events.as_slice(),
            [MirrorEvent::Disconnected { .. }, MirrorEvent::Failed { .. }]
        ),
        "{events:?}"
    );
    assert!(mirror.status().ended && !mirror.wait_synced(EVENT_WAIT));
}
