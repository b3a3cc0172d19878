//! The identifier stream and subscriptions against the stand-in: frames, drops, restarts, stop, panics.

mod common;

use std::collections::BTreeSet;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{client_for, server_with, user_seed};
use pieces_os_client::server::{DropMode, Server, ServerConfig};
use pieces_os_client::{
    Client, ClientConfig, Error, LiveIds, StreamConfig, SubscriptionEvent, Transferables,
};

/// Generous bound on waiting for one event; a healthy run takes milliseconds.
const EVENT_WAIT: Duration = Duration::from_secs(10);

fn fast_retry_client(url: String, max_attempts: Option<u32>) -> Client {
    Client::new(
        ClientConfig::default().with_base_url(url).with_stream(
            StreamConfig::default()
                .with_retry(Duration::from_millis(20), Duration::from_millis(200))
                .with_max_attempts(max_attempts),
        ),
    )
    .unwrap()
}

/// Subscribes with a handler that forwards every event into a channel.
fn subscribe(client: &Client) -> (pieces_os_client::Subscription, Receiver<SubscriptionEvent>) {
    let (sender, receiver) = mpsc::channel();
    let subscription = client
        .subscribe_identifiers(move |event| {
            let _ = sender.send(event);
        })
        .unwrap();
    (subscription, receiver)
}

/// The message ids of a frame event, and whether it was the full set.
fn frame_ids(event: &SubscriptionEvent) -> Option<(Vec<(String, bool)>, bool)> {
    match event {
        SubscriptionEvent::Identifiers { frame, full } => Some((
            frame
                .iterable
                .iter()
                .filter_map(|item| item.message_id().map(|id| (id.to_owned(), item.is_deleted())))
                .collect(),
            *full,
        )),
        _ => None,
    }
}

/// Stops `subscription` and fails unless the stop (which joins its thread) returned within a second.
fn assert_stops_promptly(subscription: &mut pieces_os_client::Subscription) {
    let started = Instant::now();
    subscription.stop();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "{took:?}");
}

/// Waits for the next event that `pick` accepts, failing the test on a timeout.
fn wait_for<T>(
    events: &Receiver<SubscriptionEvent>,
    mut pick: impl FnMut(&SubscriptionEvent) -> Option<T>,
) -> T {
    let deadline = Instant::now() + EVENT_WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(event) => {
                if let Some(found) = pick(&event) {
                    return found;
                }
            }
            Err(err) => panic!("no matching event within {EVENT_WAIT:?}: {err:?}"),
        }
    }
}

#[test]
fn the_blocking_stream_lists_everything_then_changes() {
    let server = server_with(5);
    let client = client_for(&server);
    let mut stream = client.stream_identifiers().unwrap();
    let first = stream.next_timeout(EVENT_WAIT).unwrap().expect("the full set");
    let ids: Vec<&str> = first.iterable.iter().filter_map(|i| i.message_id()).collect();
    assert_eq!(ids, server.message_ids());

    assert!(stream.try_next().unwrap().is_none(), "nothing has changed yet");
    assert!(stream.next_timeout(Duration::from_millis(50)).unwrap().is_none());

    let created = client
        .create_message(&user_seed("c", "streamed"), Transferables::Default)
        .unwrap();
    let frame = stream.next_timeout(EVENT_WAIT).unwrap().expect("a create frame");
    assert_eq!(frame.iterable.len(), 1);
    assert_eq!(frame.iterable[0].message_id(), Some(created.id.as_str()));
    assert!(!frame.iterable[0].is_deleted());

    client.delete_message(&created.id).unwrap();
    let frame = stream.next().expect("a delete frame").unwrap();
    assert_eq!(frame.iterable[0].message_id(), Some(created.id.as_str()));
    assert!(frame.iterable[0].is_deleted());
}

#[test]
fn a_refused_upgrade_carries_its_status() {
    let server = Server::start(ServerConfig::default().with_application_id("only-me")).unwrap();
    let err = client_for(&server).stream_identifiers().unwrap_err();
    match err {
        Error::WebSocket { status, .. } => assert_eq!(status, Some(401)),
        other => panic!("unexpected {other:?}"),
    }
    let allowed = Client::new(
        ClientConfig::default()
            .with_base_url(server.url())
            .with_application_id("only-me"),
    )
    .unwrap();
    allowed.stream_identifiers().unwrap();
}

#[test]
fn the_blocking_stream_ends_when_the_server_closes_it() {
    let server = server_with(1);
    let mut stream = client_for(&server).stream_identifiers().unwrap();
    stream.next_timeout(EVENT_WAIT).unwrap().expect("the full set");
    server.drop_websockets(DropMode::Close);
    let deadline = Instant::now() + EVENT_WAIT;
    while stream.next().is_some() {
        assert!(Instant::now() < deadline, "the stream did not end");
    }
    assert!(stream.is_ended());
}

#[test]
fn a_subscription_delivers_in_order_and_reconnects_after_close_and_cut() {
    let server = server_with(3);
    let client = fast_retry_client(server.url(), None);
    let (mut subscription, events) = subscribe(&client);

    assert!(matches!(
        events.recv_timeout(EVENT_WAIT).unwrap(),
        SubscriptionEvent::Connected { .. }
    ));
    let (ids, full) = frame_ids(&events.recv_timeout(EVENT_WAIT).unwrap()).expect("a frame");
    assert!(full);
    assert_eq!(ids.len(), 3);

    for mode in [DropMode::Close, DropMode::Cut] {
        server.drop_websockets(mode);
        let error = wait_for(&events, |e| match e {
            SubscriptionEvent::Disconnected { error, retry_in } => {
                assert!(*retry_in <= Duration::from_millis(240));
                Some(error.to_string())
            }
            SubscriptionEvent::Identifiers { .. } => panic!("a frame before the drop was noticed"),
            _ => None,
        });
        assert!(error.contains("ws://"), "{mode:?}: {error}");
        wait_for(&events, |e| {
            matches!(e, SubscriptionEvent::Connected { .. }).then_some(())
        });
        let (ids, full) = frame_ids(&events.recv_timeout(EVENT_WAIT).unwrap()).expect("a frame");
        assert!(
            full,
            "{mode:?}: the first frame after a reconnect is the full set"
        );
        assert_eq!(ids.len(), 3);
    }

    let started = Instant::now();
    subscription.stop();
    assert!(started.elapsed() < Duration::from_secs(1));
    let rest: Vec<SubscriptionEvent> = events.try_iter().collect();
    assert_eq!(rest.iter().filter(|e| e.is_terminal()).count(), 1, "{rest:?}");
    assert!(matches!(rest.last(), Some(SubscriptionEvent::Closed)), "{rest:?}");
}

#[test]
fn a_subscription_follows_a_restart_on_the_same_port() {
    let server = server_with(2);
    let port = server.port();
    let url = server.url();
    let client = fast_retry_client(url, None);
    let (_subscription, events) = subscribe(&client);
    wait_for(&events, |e| frame_ids(e).filter(|(_, full)| *full).map(drop));

    server.stop();
    wait_for(&events, |e| {
        matches!(e, SubscriptionEvent::Disconnected { .. }).then_some(())
    });
    let restarted = Server::start(ServerConfig::default().with_port(port).with_seed_messages(4))
        .expect("the port is free again");
    let (ids, _) = wait_for(&events, |e| frame_ids(e).filter(|(_, full)| *full));
    assert_eq!(
        ids.into_iter().map(|(id, _)| id).collect::<Vec<_>>(),
        restarted.message_ids()
    );
}

#[test]
fn a_server_gone_for_good_ends_in_exactly_one_failure() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = fast_retry_client(format!("http://127.0.0.1:{port}"), Some(3));
    let (_subscription, events) = subscribe(&client);
    let mut seen = Vec::new();
    loop {
        let event = events
            .recv_timeout(EVENT_WAIT)
            .expect("events until the terminal one");
        let terminal = event.is_terminal();
        seen.push(event);
        if terminal {
            break;
        }
    }
    let disconnects = seen
        .iter()
        .filter(|e| matches!(e, SubscriptionEvent::Disconnected { .. }))
        .count();
    assert_eq!(
        disconnects, 2,
        "3 attempts: 2 retries announced, then the failure: {seen:?}"
    );
    match seen.last() {
        Some(SubscriptionEvent::Failed { error }) => {
            assert!(error.to_string().contains("connection refused"), "{error}")
        }
        other => panic!("unexpected {other:?}"),
    }
    // Nothing follows the terminal event; the sender is dropped when the thread ends.
    assert!(matches!(
        events.recv_timeout(Duration::from_secs(5)),
        Err(RecvTimeoutError::Disconnected)
    ));
}

#[test]
fn stop_is_prompt_during_a_blocked_read_and_during_backoff() {
    // Blocked read: connected, nothing is changing.
    let server = server_with(1);
    let client = client_for(&server);
    let (mut subscription, events) = subscribe(&client);
    wait_for(&events, |e| frame_ids(e).map(drop));
    assert_stops_promptly(&mut subscription);

    // Backoff: the retry delay is a minute, so only a woken sleep returns in time.
    let server = server_with(0);
    let client =
        Client::new(ClientConfig::default().with_base_url(server.url()).with_stream(
            StreamConfig::default().with_retry(Duration::from_secs(60), Duration::from_secs(60)),
        ))
        .unwrap();
    let (mut subscription, events) = subscribe(&client);
    wait_for(&events, |e| frame_ids(e).map(drop));
    server.stop();
    wait_for(&events, |e| {
        matches!(e, SubscriptionEvent::Disconnected { .. }).then_some(())
    });
    assert_stops_promptly(&mut subscription);
    assert!(matches!(
        events.try_iter().last(),
        Some(SubscriptionEvent::Closed)
    ));
}

#[test]
fn stop_from_inside_the_handler() {
    let server = server_with(1);
    let client = client_for(&server);
    let stopper = Arc::new(Mutex::new(None::<pieces_os_client::Stopper>));
    let (sender, events) = mpsc::channel();
    let handler_stopper = Arc::clone(&stopper);
    let subscription = client
        .subscribe_identifiers(move |event| {
            if matches!(event, SubscriptionEvent::Identifiers { .. }) {
                if let Some(stopper) = handler_stopper.lock().unwrap().as_ref() {
                    stopper.stop();
                }
            }
            let _ = sender.send(event);
        })
        .unwrap();
    *stopper.lock().unwrap() = Some(subscription.stopper());
    // The first frame may have come before the stopper was in place; a create brings another.
    client
        .create_message(&user_seed("c", "wake the handler"), Transferables::Default)
        .unwrap();
    wait_for(&events, |e| matches!(e, SubscriptionEvent::Closed).then_some(()));
    assert!(subscription.is_stopped());
    drop(subscription);
}

#[test]
fn a_panicking_handler_ends_the_subscription_with_failed() {
    let server = server_with(1);
    let client = client_for(&server);
    let (sender, events) = mpsc::channel();
    let _subscription = client
        .subscribe_identifiers(move |event| {
            let identifiers = matches!(event, SubscriptionEvent::Identifiers { .. });
            let _ = sender.send(event);
            if identifiers {
                panic!("handler bug");
            }
        })
        .unwrap();
    let error = wait_for(&events, |e| match e {
        SubscriptionEvent::Failed { error } => Some(error.to_string()),
        _ => None,
    });
    assert!(error.contains("handler bug"), "{error}");
    // The process goes on, and the client still works.
    client.snapshot_messages(Transferables::Exclude).unwrap();
}

#[test]
fn pull_mode_queues_the_same_events() {
    let server = server_with(2);
    let client = client_for(&server);
    let subscription = client.subscribe_identifiers_pull().unwrap();
    assert!(matches!(
        subscription.next_timeout(EVENT_WAIT),
        Ok(SubscriptionEvent::Connected { .. })
    ));
    let first = subscription.next_timeout(EVENT_WAIT).unwrap();
    assert_eq!(
        frame_ids(&first).map(|(ids, full)| (ids.len(), full)),
        Some((2, true))
    );
    assert!(subscription.try_next().is_err(), "nothing else yet");
    assert!(matches!(
        subscription.next_timeout(Duration::from_millis(30)),
        Err(RecvTimeoutError::Timeout)
    ));
    let created = client
        .create_message(&user_seed("c", "pulled"), Transferables::Default)
        .unwrap();
    let (ids, full) = frame_ids(&subscription.next_timeout(EVENT_WAIT).unwrap()).unwrap();
    assert_eq!((ids, full), (vec![(created.id, false)], false));

    subscription.stop();
    assert!(matches!(
        subscription.next_timeout(EVENT_WAIT),
        Ok(SubscriptionEvent::Closed)
    ));
    assert!(matches!(
        subscription.next_timeout(Duration::from_millis(10)),
        Err(RecvTimeoutError::Disconnected)
    ));
    assert!(subscription.next().is_none());
}

#[test]
fn the_connect_timeout_bounds_an_upgrade_that_never_completes() {
    // A listener that accepts and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let client = Client::new(
        ClientConfig::default()
            .with_base_url(url)
            .with_connect_timeout(Duration::from_millis(200)),
    )
    .unwrap();
    let started = Instant::now();
    let err = client.stream_identifiers().unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_silent_peer_counts_as_lost_after_the_idle_limit() {
    let (url, peer) = silent_websocket_peer();
    let client = Client::new(ClientConfig::default().with_base_url(url).with_stream(
        StreamConfig::default().with_liveness(Duration::from_millis(50), Duration::from_millis(300)),
    ))
    .unwrap();
    let mut stream = client.stream_identifiers().unwrap();
    stream
        .next_timeout(EVENT_WAIT)
        .unwrap()
        .expect("the (empty) full set");
    let started = Instant::now();
    let err = stream.next_timeout(EVENT_WAIT).unwrap_err();
    let waited = started.elapsed();
    assert!(err.to_string().contains("nothing heard for 300 ms"), "{err}");
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    drop(stream);
    peer.join().unwrap();
}

#[test]
fn pings_keep_a_quiet_healthy_connection_alive() {
    let server = server_with(1);
    let client = Client::new(ClientConfig::default().with_base_url(server.url()).with_stream(
        StreamConfig::default().with_liveness(Duration::from_millis(50), Duration::from_millis(300)),
    ))
    .unwrap();
    let mut stream = client.stream_identifiers().unwrap();
    stream.next_timeout(EVENT_WAIT).unwrap().expect("the full set");
    // The stand-in answers pings, so a connection quiet for twice the idle limit stays alive.
    assert!(stream.next_timeout(Duration::from_millis(700)).unwrap().is_none());
    assert!(!stream.is_ended());
}

/// A WebSocket peer that completes the upgrade, sends one empty full frame, then never reads nor writes
/// again until the client hangs up.
fn silent_websocket_peer() -> (String, std::thread::JoinHandle<()>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let peer = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(EVENT_WAIT)).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut key = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("sec-websocket-key") {
                    key = value.trim().to_owned();
                }
            }
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
        let mut writer = stream;
        write!(
            writer,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .unwrap();
        let payload = br#"{"iterable":[]}"#;
        writer.write_all(&[0x81, payload.len() as u8]).unwrap();
        writer.write_all(payload).unwrap();
        // Silent from here on: wait (bounded) for the client to give up and close.
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink);
    });
    (url, peer)
}

#[test]
fn live_ids_converge_to_the_servers_set_through_drops() {
    let server = server_with(10);
    let client = fast_retry_client(server.url(), None);
    let (subscription_handle, events) = subscribe(&client);
    let mut live = LiveIds::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for round in 0..60 {
        match next() % 5 {
            0 | 1 => {
                client
                    .create_message(&user_seed("c", &format!("round {round}")), Transferables::Exclude)
                    .unwrap();
            }
            2 | 3 => {
                let ids = server.message_ids();
                if !ids.is_empty() {
                    let id = &ids[(next() as usize) % ids.len()];
                    client.delete_message(id).unwrap();
                }
            }
            _ => server.drop_websockets(if next() % 2 == 0 {
                DropMode::Close
            } else {
                DropMode::Cut
            }),
        }
        for event in events.try_iter() {
            live.apply(&event);
        }
    }
    let expected: BTreeSet<String> = server.message_ids().into_iter().collect();
    let deadline = Instant::now() + EVENT_WAIT;
    while live.ids() != &expected {
        assert!(
            Instant::now() < deadline,
            "live {:?} != server {:?}",
            live.ids(),
            expected
        );
        if let Ok(event) = events.recv_timeout(Duration::from_millis(100)) {
            live.apply(&event);
        }
    }
    drop(subscription_handle);
}
