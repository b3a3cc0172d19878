//! The client against a scripted, misbehaving server: raw sockets on 127.0.0.1 that lie about lengths,
//! drip their answers a byte at a time, send huge texts or broken frames. Every case must end in a clean,
//! specific error within a bounded time, and the same client must work normally afterwards.
//!
//! This test binary counts every allocation (see [`Counting`]), so that "no allocation is sized by a
//! number the server sent" is checked by what was allocated, not by timing.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use pieces_os_client::error::MAX_SERVER_TEXT_BYTES;
use pieces_os_client::{Client, ClientConfig, Error, StreamConfig, SubscriptionEvent, Transferables};

mod common;

use common::counting::Counting;

#[global_allocator]
static COUNTING: Counting = Counting;

/// How long any one case may take before it counts as a hang.
const BOUND: Duration = Duration::from_secs(5);

/// A scripted server: every connection it accepts is handed, with its number (0-based), to the script,
/// on a thread of its own. Dropping it stops accepting and joins every thread (scripts end by themselves,
/// bounded in time, or when the client hangs up).
struct Scripted {
    url: String,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

type Script = dyn Fn(usize, TcpStream) + Send + Sync + 'static;

impl Scripted {
    fn start(script: impl Fn(usize, TcpStream) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let script: Arc<Script> = Arc::new(script);
        let thread = {
            let accepted = Arc::clone(&accepted);
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut peers = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            stream.set_nonblocking(false).unwrap();
                            stream.set_read_timeout(Some(BOUND)).unwrap();
                            stream.set_write_timeout(Some(BOUND)).unwrap();
                            let number = accepted.fetch_add(1, Ordering::SeqCst);
                            let script = Arc::clone(&script);
                            peers.push(thread::spawn(move || script(number, stream)));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(2)),
                    }
                }
                for peer in peers {
                    let _ = peer.join();
                }
            })
        };
        Scripted {
            url,
            accepted,
            stop,
            thread: Some(thread),
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request head (up to the blank line); `None` when the client hung up first.
fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
        assert!(head.len() < 64 * 1024, "a client request head this long");
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// The `Sec-WebSocket-Accept` answer to a request head's key.
fn accept_key(head: &str) -> String {
    let key = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_owned())
        })
        .expect("an upgrade request carries a key");
    tungstenite::handshake::derive_accept_key(key.as_bytes())
}

fn upgrade_answer(head: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(head)
    )
}

/// Reads an upgrade request and accepts it; `false` when the client hung up first.
fn upgrade(stream: &mut TcpStream) -> bool {
    let Some(head) = read_head(stream) else {
        return false;
    };
    stream.write_all(upgrade_answer(&head).as_bytes()).is_ok()
}

/// A server-to-client text frame (unmasked, one fragment) announcing `length` bytes of payload.
fn frame_header(length: usize) -> Vec<u8> {
    let mut header = vec![0x81];
    match length {
        0..=125 => header.push(length as u8),
        126..=0xffff => {
            header.push(126);
            header.extend_from_slice(&(length as u16).to_be_bytes());
        }
        _ => {
            header.push(127);
            header.extend_from_slice(&(length as u64).to_be_bytes());
        }
    }
    header
}

fn text_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = frame_header(payload.len());
    frame.extend_from_slice(payload);
    frame
}

/// Waits (bounded) until the client hangs up.
fn until_hung_up(stream: &mut TcpStream) {
    let deadline = Instant::now() + BOUND;
    let mut sink = [0u8; 1024];
    while Instant::now() < deadline {
        match stream.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}

/// Serves like a healthy PiecesOS with no messages, on one connection, until the client hangs up:
/// version, snapshot, and the identifier stream (an empty full frame, then silence).
fn behave(mut stream: TcpStream) {
    while let Some(head) = read_head(&mut stream) {
        let path = head.split(' ').nth(1).unwrap_or_default().to_owned();
        if path.starts_with("/messages/stream/identifiers") {
            stream.write_all(upgrade_answer(&head).as_bytes()).unwrap();
            stream.write_all(&text_frame(br#"{"iterable":[]}"#)).unwrap();
            return until_hung_up(&mut stream);
        }
        let body = match path.as_str() {
            "/.well-known/version" => "12.1.0",
            _ => r#"{"iterable":[]}"#,
        };
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// Misbehaves on the first `bad` connections with `misbehave`, then behaves.
fn first_connections(
    bad: usize,
    misbehave: impl Fn(TcpStream) + Send + Sync + 'static,
) -> impl Fn(usize, TcpStream) + Send + Sync + 'static {
    move |number, stream| {
        if number < bad {
            misbehave(stream)
        } else {
            behave(stream)
        }
    }
}

fn client(url: &str) -> Client {
    Client::new(ClientConfig::default().with_base_url(url)).unwrap()
}

/// Runs `call` and checks that it ended within [`BOUND`].
fn bounded<T>(what: &str, call: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let result = call();
    let took = started.elapsed();
    assert!(took < BOUND, "{what} took {took:?}");
    result
}

/// The client still works: a snapshot (and a version) from the same client, on a new connection.
fn assert_healthy(client: &Client) {
    let snapshot = client.snapshot_messages(Transferables::Default).unwrap();
    assert!(snapshot.iterable.is_empty());
    assert_eq!(client.check_version().unwrap(), "12.1.0");
}

// --- Class 1: no allocation sized by a number the server sent -------------------------------------

#[test]
fn a_declared_length_over_the_limit_fails_at_once_before_the_body_is_read() {
    let _serial = common::counting::serial();
    let server = Scripted::start(first_connections(1, |mut stream| {
        read_head(&mut stream);
        // 5 GB announced, a few bytes sent, and the connection held open.
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000000000\r\n\r\n{\"it",
        );
        until_hung_up(&mut stream);
    }));
    let client = Client::new(
        ClientConfig::default()
            .with_base_url(&server.url)
            .with_request_timeout(Some(Duration::from_secs(30))),
    )
    .unwrap();
    let err = bounded("refusing a 5 GB declared length", || {
        client.snapshot_messages(Transferables::Default).unwrap_err()
    });
    match &err {
        Error::BodyTooLarge { endpoint, limit } => {
            assert_eq!(*endpoint, "messages_snapshot");
            assert_eq!(*limit, ClientConfig::default().max_body_bytes);
        }
        other => panic!("expected BodyTooLarge, got {other:?}"),
    }
    assert_healthy(&client);
}

#[test]
fn a_huge_declared_length_is_never_allocated_even_without_a_limit() {
    let _serial = common::counting::serial();
    for declared in [1u64 << 30, 1 << 62, u64::MAX] {
        let server = Scripted::start(first_connections(1, move |mut stream| {
            read_head(&mut stream);
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {declared}\r\n\r\n");
            let _ = stream.write_all(head.as_bytes());
            // 64 KiB of body, then the server goes away.
            let _ = stream.write_all(&vec![b' '; 64 * 1024]);
        }));
        let client = Client::new(
            ClientConfig::default()
                .with_base_url(&server.url)
                .with_max_body_bytes(u64::MAX),
        )
        .unwrap();
        let baseline = Counting::reset_peak();
        let err = bounded("a body cut short", || {
            client.snapshot_messages_json(Transferables::Default).unwrap_err()
        });
        let peak = Counting::peak() - baseline;
        // What arrived (64 KiB) and the first reservation may be allocated; the declared length never.
        assert!(peak < 8 << 20, "{peak} bytes allocated for a declared {declared}");
        assert!(
            matches!(&err, Error::Connection { reason, .. } if reason.contains("before the answer was complete")),
            "declared {declared}: {err:?}"
        );
        assert_healthy(&client);
    }
}

// --- Class 2: every blocking step of the identifier stream has a bound -------------------------------

/// Writes `bytes` one at a time, `pause` apart, until done or the client hangs up.
fn drip(stream: &mut TcpStream, bytes: &[u8], pause: Duration) {
    for byte in bytes {
        if stream.write_all(std::slice::from_ref(byte)).is_err() {
            return;
        }
        thread::sleep(pause);
    }
}

#[test]
fn a_dripping_upgrade_answer_times_out_at_the_connect_limit() {
    let _serial = common::counting::serial();
    let server = Scripted::start(first_connections(1, |mut stream| {
        let Some(head) = read_head(&mut stream) else {
            return;
        };
        // Each byte well within the connect timeout, the whole answer far beyond it.
        drip(
            &mut stream,
            upgrade_answer(&head).as_bytes(),
            Duration::from_millis(40),
        );
    }));
    let connect_timeout = Duration::from_millis(300);
    let client = Client::new(
        ClientConfig::default()
            .with_base_url(&server.url)
            .with_connect_timeout(connect_timeout),
    )
    .unwrap();
    let err = bounded("a dripping upgrade", || client.stream_identifiers().unwrap_err());
    match &err {
        Error::Timeout { after, .. } => assert_eq!(*after, Some(connect_timeout)),
        other => panic!("expected Timeout, got {other:?}"),
    }
    let mut stream = client.stream_identifiers().unwrap();
    assert!(stream.next_timeout(BOUND).unwrap().unwrap().iterable.is_empty());
    assert_healthy(&client);
}

/// Completes the upgrade, then announces a frame of 4000 bytes and drips it a byte every 20 ms.
fn dripping_frame(mut stream: TcpStream) {
    if !upgrade(&mut stream) {
        return;
    }
    stream.write_all(&frame_header(4000)).unwrap();
    let payload = format!(r#"{{"iterable":[],"x":"{}"}}"#, "y".repeat(4000 - 20));
    drip(
        &mut stream,
        &payload.as_bytes()[..4000],
        Duration::from_millis(20),
    );
}

#[test]
fn a_dripping_frame_cannot_hold_a_read_past_its_deadline_or_the_idle_limit() {
    let _serial = common::counting::serial();
    let server = Scripted::start(first_connections(1, dripping_frame));
    let client = Client::new(ClientConfig::default().with_base_url(&server.url).with_stream(
        StreamConfig::default().with_liveness(Duration::from_millis(200), Duration::from_millis(700)),
    ))
    .unwrap();
    let mut stream = client.stream_identifiers().unwrap();
    let started = Instant::now();
    assert!(stream.next_timeout(Duration::from_millis(150)).unwrap().is_none());
    // Far below the 80 s the drip lasts; the margin is for a loaded machine.
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert!(stream.try_next().unwrap().is_none());
    // Bytes keep trickling in, but no frame completes: the connection counts as lost at the idle limit.
    let err = bounded("a blocking next on a dripping frame", || {
        stream.next().expect("an error, not the end").unwrap_err()
    });
    assert!(err.to_string().contains("nothing heard for 700 ms"), "{err}");
    assert!(stream.next().is_none());
    drop(stream);
    let mut stream = client.stream_identifiers().unwrap();
    assert!(stream.next_timeout(BOUND).unwrap().unwrap().iterable.is_empty());
}

#[test]
fn a_blocked_identifier_stream_can_be_stopped_from_another_thread() {
    let _serial = common::counting::serial();
    let server = Scripted::start(|_, stream| behave(stream));
    let client = client(&server.url);
    let mut stream = client.stream_identifiers().unwrap();
    assert!(stream.next_timeout(BOUND).unwrap().unwrap().iterable.is_empty());
    let stopper = stream.stopper();
    let reader = thread::spawn(move || {
        let started = Instant::now();
        // Blocks: the server sends nothing more, and the idle limit is 30 s.
        let next = stream.next();
        (next.map(|frame| frame.map(drop)), started.elapsed(), stream)
    });
    thread::sleep(Duration::from_millis(200));
    stopper.stop();
    let (next, waited, mut stream) = reader.join().unwrap();
    assert!(next.is_none(), "a stopped stream ends: {next:?}");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    assert!(stream.is_ended());
    let err = stream.next_timeout(Duration::from_millis(10)).unwrap_err();
    assert!(err.to_string().contains("stopped"), "{err}");
    // Stopping before a read works too: the read returns at once.
    let mut stream = client.stream_identifiers().unwrap();
    stream.stopper().stop();
    assert!(bounded("a read after a stop", || stream.next()).is_none());
}

// --- Class 3: server text in errors is cut to a small, documented size -------------------------------

/// The most an error's JSON form (the C API's last error) may hold: the message and the body, each cut
/// to the limit, and some words around them.
const MAX_ERROR_JSON: usize = 2 * MAX_SERVER_TEXT_BYTES + 1024;

fn assert_small(err: &Error) {
    let json = err.to_json().to_string();
    assert!(
        json.len() <= MAX_ERROR_JSON,
        "{} bytes of error JSON: {}…",
        json.len(),
        &json[..200]
    );
}

fn assert_cut(err: &Error) {
    assert_small(err);
    assert!(err.to_string().contains("…(cut"), "a cut is marked: {err}");
}

fn answer_once(status: &'static str, body: Vec<u8>) -> impl Fn(usize, TcpStream) + Send + Sync + 'static {
    first_connections(1, move |mut stream| {
        read_head(&mut stream);
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&body);
        until_hung_up(&mut stream);
    })
}

#[test]
fn a_huge_version_answer_is_an_error_of_bounded_size_in_rust_and_in_c() {
    let _serial = common::counting::serial();
    let mut version = b"12.".to_vec();
    version.extend(std::iter::repeat_n(b'9', 4 << 20));
    let server = Scripted::start(answer_once("200 OK", version.clone()));
    let client = client(&server.url);
    let err = bounded("a 4 MB version", || client.check_version().unwrap_err());
    assert!(
        matches!(
            err,
            Error::Decode {
                endpoint: "well_known_version",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("longer than 256 bytes"), "{err}");
    assert_small(&err);
    assert_healthy(&client);

    // The same through the C API: the thread's last error stays small.
    let server = Scripted::start(answer_once("200 OK", version));
    let config = std::ffi::CString::new(format!(r#"{{"base_url":"{}"}}"#, server.url)).unwrap();
    let mut handle = std::ptr::null_mut();
    // SAFETY: a valid NUL-terminated config and out-pointer; the handle is freed below.
    unsafe {
        assert_eq!(
            pieces_os_client::ffi::pieces_client_new(config.as_ptr(), &mut handle),
            pieces_os_client::ffi::pieces_status::Ok
        );
        let mut version_out = std::ptr::null_mut();
        let status = pieces_os_client::ffi::pieces_client_check_version(handle, &mut version_out);
        assert_eq!(status, pieces_os_client::ffi::pieces_status::Decode);
        let last = std::ffi::CStr::from_ptr(pieces_os_client::ffi::pieces_last_error_json());
        assert!(
            last.to_bytes().len() <= MAX_ERROR_JSON,
            "{} bytes",
            last.to_bytes().len()
        );
        pieces_os_client::ffi::pieces_client_free(handle);
    }
}

#[test]
fn a_huge_error_body_is_cut_in_the_error() {
    let _serial = common::counting::serial();
    let server = Scripted::start(answer_once("500 Internal Server Error", vec![b'e'; 8 << 20]));
    let client = client(&server.url);
    let err = bounded("an 8 MB error body", || {
        client.snapshot_messages(Transferables::Default).unwrap_err()
    });
    assert_eq!(err.http_status(), Some(500));
    let body = err.body().unwrap();
    assert!(body.len() <= MAX_SERVER_TEXT_BYTES + 64, "{} bytes", body.len());
    assert!(body.starts_with("eeee"));
    assert_cut(&err);
    assert_healthy(&client);
}

#[test]
fn a_refused_upgrade_with_a_long_body_is_cut_in_the_error() {
    let _serial = common::counting::serial();
    let server = Scripted::start(first_connections(1, |mut stream| {
        read_head(&mut stream);
        let body = "no stream here ".repeat(4000);
        let answer = format!(
            "HTTP/1.1 403 Forbidden\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(answer.as_bytes());
        until_hung_up(&mut stream);
    }));
    let client = client(&server.url);
    let err = bounded("a refused upgrade", || client.stream_identifiers().unwrap_err());
    assert_eq!(err.http_status(), Some(403), "{err}");
    assert!(err.to_string().contains("no stream here"), "{err}");
    assert_small(&err);
    let mut stream = client.stream_identifiers().unwrap();
    assert!(stream.next_timeout(BOUND).unwrap().unwrap().iterable.is_empty());
}

#[test]
fn a_frame_that_does_not_decode_quotes_little_of_itself() {
    let _serial = common::counting::serial();
    let server = Scripted::start(first_connections(1, |mut stream| {
        if !upgrade(&mut stream) {
            return;
        }
        let payload = format!(r#"{{"iterable":"{}"}}"#, "z".repeat(1 << 20));
        stream.write_all(&text_frame(payload.as_bytes())).unwrap();
        until_hung_up(&mut stream);
    }));
    let client = client(&server.url);
    let mut stream = client.stream_identifiers().unwrap();
    let err = bounded("a frame of the wrong shape", || {
        stream.next_timeout(BOUND).unwrap_err()
    });
    assert!(
        matches!(
            err,
            Error::Decode {
                endpoint: "conversation_messages_stream_identifiers",
                ..
            }
        ),
        "{err:?}"
    );
    assert_cut(&err);
}

// --- Class 6: the backoff resets only after a healthy connection ------------------------------------

/// A subscription whose events arrive on a channel.
fn subscribe(client: &Client) -> (pieces_os_client::Subscription, Receiver<SubscriptionEvent>) {
    let (sender, events) = channel();
    let sender = Mutex::new(sender);
    let subscription = client
        .subscribe_identifiers(move |event| {
            let _ = sender.lock().unwrap().send(event);
        })
        .unwrap();
    (subscription, events)
}

fn storm_client(url: &str, max_attempts: u32) -> Client {
    Client::new(
        ClientConfig::default().with_base_url(url).with_stream(
            StreamConfig::default()
                .with_retry(Duration::from_millis(20), Duration::from_millis(100))
                .with_max_attempts(Some(max_attempts)),
        ),
    )
    .unwrap()
}

#[test]
fn connections_that_fail_right_after_the_handshake_count_as_failed_attempts() {
    let _serial = common::counting::serial();
    // Every connection upgrades fine and then sends a frame that is not UTF-8 text.
    let server = Scripted::start(|_, mut stream| {
        if !upgrade(&mut stream) {
            return;
        }
        stream.write_all(&[0x81, 0x02, 0xff, 0xfe]).unwrap();
        until_hung_up(&mut stream);
    });
    let client = storm_client(&server.url, 3);
    let (_subscription, events) = subscribe(&client);
    let deadline = Instant::now() + BOUND;
    let mut seen = Vec::new();
    let terminal = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(event) if event.is_terminal() => break event,
            Ok(event) => seen.push(event),
            Err(_) => panic!(
                "no terminal event within {BOUND:?}: {} events, {} connections",
                seen.len(),
                server.accepted()
            ),
        }
    };
    match &terminal {
        SubscriptionEvent::Failed {
            error: Error::WebSocket { reason, .. },
        } => assert!(reason.contains("UTF-8"), "{reason}"),
        other => panic!("unexpected terminal event {other:?}"),
    }
    let connected = seen
        .iter()
        .filter(|event| matches!(event, SubscriptionEvent::Connected { .. }))
        .count();
    assert_eq!(connected, 3, "{seen:?}");
    assert_eq!(server.accepted(), 3);
    // The delays grew: a storm would retry at the initial delay every time.
    let delays: Vec<Duration> = seen
        .iter()
        .filter_map(|event| match event {
            SubscriptionEvent::Disconnected { retry_in, .. } => Some(*retry_in),
            _ => None,
        })
        .collect();
    assert_eq!(delays.len(), 2, "{seen:?}");
    assert!(delays[1] > delays[0], "{delays:?}");
}

#[test]
fn a_connection_that_proved_healthy_resets_the_count() {
    let _serial = common::counting::serial();
    // Every connection sends its full frame, stays up well beyond retry_max (100 ms), and closes.
    let server = Scripted::start(|_, mut stream| {
        if !upgrade(&mut stream) {
            return;
        }
        stream.write_all(&text_frame(br#"{"iterable":[]}"#)).unwrap();
        thread::sleep(Duration::from_millis(250));
        // A Close frame, a moment for the client's reply, then the server hangs up.
        let _ = stream.write_all(&[0x88, 0x00]);
        thread::sleep(Duration::from_millis(20));
    });
    let client = storm_client(&server.url, 2);
    let (subscription, events) = subscribe(&client);
    let mut connected = 0;
    let deadline = Instant::now() + BOUND;
    while connected < 5 {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = events.recv_timeout(left).expect("events keep coming");
        assert!(
            !event.is_terminal(),
            "gave up after healthy connections: {event:?}"
        );
        if matches!(event, SubscriptionEvent::Connected { .. }) {
            connected += 1;
        }
    }
    drop(subscription);
}
