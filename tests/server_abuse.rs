//! The stand-in under abuse: idle and half-sent connections, a slow search, a WebSocket subscriber that
//! never reads, large and unfinished uploads. In every case a normal client keeps being served.
//!
//! This test binary counts every allocation (see `common::counting`), so memory is checked by what the
//! server allocated, not by timing.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::counting::Counting;
use common::{client_for, eventually, user_seed};
use pieces_os_client::server::{Server, ServerConfig, DEFAULT_MAX_BODY_BYTES};
use pieces_os_client::{Client, LiveIds, Transferables};
use serde_json::json;

#[global_allocator]
static COUNTING: Counting = Counting;

/// How long any one case may take before it counts as a hang.
const BOUND: Duration = Duration::from_secs(10);

fn start(config: ServerConfig) -> Server {
    Server::start(config).expect("the stand-in starts")
}

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    stream.set_read_timeout(Some(BOUND)).unwrap();
    stream.set_write_timeout(Some(BOUND)).unwrap();
    stream
}

/// A normal client is served: a create and a snapshot that sees it.
fn assert_served(client: &Client) {
    let created = client
        .create_message(&user_seed("c", "still served"), Transferables::Default)
        .unwrap();
    let all = client.snapshot_messages(Transferables::Exclude).unwrap();
    assert!(all.iterable.iter().any(|message| message.id == created.id));
}

/// Reads what the server sends until it closes the connection (bounded); the bytes, or `None` when the
/// connection was still open at the bound.
fn until_closed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let deadline = Instant::now() + BOUND;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buffer) {
            Ok(0) => return Some(answer),
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return Some(answer),
        }
    }
    None
}

// --- Class 9: idle and half-sent connections ----------------------------------------------------------

#[test]
fn idle_and_half_sent_connections_do_not_lock_out_a_normal_client() {
    let _serial = common::counting::serial();
    let server = start(ServerConfig::default().with_max_connections(16));
    // Three times as many abusers as there are slots: silent ones, and ones that stop mid-head or
    // mid-body. The timeouts are the defaults (seconds), so only the way slots are shared can help here.
    let mut abusers = Vec::new();
    for n in 0..48 {
        let mut stream = connect(&server);
        let partial: &[u8] = match n % 3 {
            0 => b"",
            1 => b"GET /messages HTTP/1.1\r\nHost: x\r\nX-Slow: ",
            _ => b"POST /messages/create HTTP/1.1\r\nContent-Length: 1000\r\n\r\n{\"role\":",
        };
        stream.write_all(partial).unwrap();
        abusers.push(stream);
    }
    let client = client_for(&server);
    let started = Instant::now();
    for _ in 0..5 {
        assert_served(&client);
    }
    assert!(started.elapsed() < BOUND, "{:?}", started.elapsed());
    // The abusers that lost their slot were closed, not left hanging.
    let mut closed = 0;
    for stream in &mut abusers {
        stream.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        if matches!(stream.read(&mut [0u8; 64]), Ok(0) | Err(_)) {
            closed += 1;
        }
    }
    assert!(closed >= 32, "{closed} of 48 abusers closed");
    server.stop();
}

#[test]
fn stalled_requests_and_idle_connections_are_closed_by_the_timeouts() {
    let _serial = common::counting::serial();
    let server = start(ServerConfig::default().with_timeouts(
        Duration::from_millis(300),
        Duration::from_millis(500),
        Duration::from_secs(5),
    ));
    let mut idle = connect(&server);
    let mut slow = connect(&server);
    let stop = Arc::new(AtomicBool::new(false));
    // A head sent a byte every 50 ms: each byte well inside any per-read timeout, the whole far beyond.
    let dripper = {
        let mut slow = slow.try_clone().unwrap();
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            for byte in b"GET /messages HTTP/1.1\r\nHost: x\r\nX-Padding: ".iter().cycle() {
                if stop.load(Ordering::SeqCst) || slow.write_all(&[*byte]).is_err() {
                    return;
                }
                thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let started = Instant::now();
    let answer = until_closed(&mut slow).expect("the slow request is cut off");
    stop.store(true, Ordering::SeqCst);
    dripper.join().unwrap();
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 408 "),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    // The head would drip forever; the margin over the 500 ms limit is for a loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        until_closed(&mut idle).expect("the idle connection is closed"),
        b""
    );
    assert_served(&client_for(&server));
    server.stop();
}

// --- Class 10: a long search does not block writers ---------------------------------------------------

#[test]
fn an_expensive_search_does_not_block_writers() {
    let _serial = common::counting::serial();
    let server = start(ServerConfig::default());
    // 100 messages of 64 KiB of text, and a search for 80 words none of them holds: 8 000 scans of
    // 64 KiB, a second or more of work for the server.
    let text = "lorem ipsum dolor sit amet ".repeat(64 * 1024 / 27);
    for n in 0..100 {
        server.insert_message(json!({
            "id": format!("m{n}"), "role": "USER", "conversation": {"id": "c"},
            "created": {"value": "2024-01-01T00:00:00Z"}, "updated": {"value": "2024-01-01T00:00:00Z"},
            "fragment": {"string": {"raw": text}}
        }));
    }
    let engines: Vec<_> = (0..80)
        .map(|n| json!({"query": format!("absent{n}word")}))
        .collect();
    let input = json!({"engines": {"iterable": engines}}).to_string();
    let client = client_for(&server);
    let searcher = {
        let client = client.clone();
        thread::spawn(move || {
            let started = Instant::now();
            let hits = client
                .search_messages_json(&input, Transferables::Exclude)
                .unwrap();
            (hits, started.elapsed())
        })
    };
    assert!(eventually(BOUND, || server
        .requests()
        .iter()
        .any(|request| request.target.starts_with("/messages/search"))));
    // The search is under way; a create and a delete go through meanwhile. Had they waited for the
    // search, they would take about as long as it.
    let started = Instant::now();
    let created = client
        .create_message(&user_seed("c", "written during a search"), Transferables::Default)
        .unwrap();
    client.delete_message("m0").unwrap();
    let writes_took = started.elapsed();
    let (hits, search_took) = searcher.join().unwrap();
    println!("search {search_took:?}, writes during it {writes_took:?}");
    assert!(
        writes_took * 4 < search_took,
        "the writes took {writes_took:?} during a search of {search_took:?}"
    );
    assert_eq!(hits, r#"{"iterable":[]}"#);
    let all = client.snapshot_messages(Transferables::Exclude).unwrap();
    assert!(all.iterable.iter().any(|message| message.id == created.id));
    assert_eq!(all.iterable.len(), 100);
    server.stop();
}

// --- Class 11: a WebSocket subscriber that never reads ---------------------------------------------------

/// Opens a WebSocket on a raw socket and then never reads from it.
fn deaf_subscriber(server: &Server) -> TcpStream {
    let mut stream = connect(server);
    write!(
        stream,
        "GET /messages/stream/identifiers HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    .unwrap();
    stream
}

#[test]
fn a_subscriber_that_never_reads_is_closed_and_the_others_lose_nothing() {
    let _serial = common::counting::serial();
    let server = start(
        ServerConfig::default()
            .with_max_backlog_bytes(256 * 1024)
            .with_timeouts(
                Duration::from_secs(60),
                Duration::from_secs(10),
                Duration::from_millis(500),
            ),
    );
    let client = client_for(&server);
    // A subscriber that reads, on a thread of its own: its live set must end up complete.
    let stop = Arc::new(AtomicBool::new(false));
    let live = Arc::new(Mutex::new(LiveIds::new()));
    let subscription = client.subscribe_identifiers_pull().unwrap();
    let reader = {
        let stop = Arc::clone(&stop);
        let live = Arc::clone(&live);
        thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if let Ok(event) = subscription.next_timeout(Duration::from_millis(20)) {
                    live.lock().unwrap().apply(&event);
                }
            }
        })
    };
    assert!(eventually(BOUND, || server.websocket_count() == 1));
    let mut deaf = deaf_subscriber(&server);
    assert!(eventually(BOUND, || server.websocket_count() == 2));
    // 80 MB of frames, far more than the kernel's socket buffers and the backlog limit hold: messages
    // with 20 KB ids created and deleted again, so that the live set (and the full frame a reader that
    // fell behind gets when it reconnects) stays small. Then 100 messages that stay.
    let long_id = "i".repeat(20 * 1024);
    let message = |id: String| {
        json!({
            "id": id, "role": "USER", "conversation": {"id": "c"},
            "created": {"value": "2024-01-01T00:00:00Z"}, "updated": {"value": "2024-01-01T00:00:00Z"}
        })
    };
    for n in 0..2000 {
        let id = server.insert_message(message(format!("{long_id}{n}")));
        assert!(server.delete_message(&id));
    }
    let ids: std::collections::BTreeSet<String> = (0..100)
        .map(|n| server.insert_message(message(format!("stays-{n}"))))
        .collect();
    // The server closed the deaf one: what it can still read (its upgrade, the frames that fit in the
    // socket buffers, a Close frame) ends within the bound.
    let received = until_closed(&mut deaf).expect("the deaf subscriber is still open");
    assert!(
        received.starts_with(b"HTTP/1.1 101 "),
        "{:?}",
        &received[..64.min(received.len())]
    );
    println!(
        "the deaf subscriber was sent {} bytes before it was closed",
        received.len()
    );
    // The reading subscriber converges to every message (through a reconnection if it fell behind).
    assert!(eventually(BOUND, || *live.lock().unwrap().ids() == ids));
    stop.store(true, Ordering::SeqCst);
    reader.join().unwrap();
    assert_served(&client);
    server.stop();
}

// --- Class 12: memory per request ---------------------------------------------------------------------

#[test]
fn the_default_body_limit_is_low_and_refused_before_the_body_arrives() {
    let _serial = common::counting::serial();
    assert!(ServerConfig::default().max_body_bytes <= 64 << 20);
    assert_eq!(ServerConfig::default().max_body_bytes, DEFAULT_MAX_BODY_BYTES);
    let server = start(ServerConfig::default());
    let mut stream = connect(&server);
    write!(
        stream,
        "POST /messages/create HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        DEFAULT_MAX_BODY_BYTES + 1
    )
    .unwrap();
    let answer = until_closed(&mut stream).expect("refused and closed");
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 413 "));
    assert_served(&client_for(&server));
    server.stop();
}

#[test]
fn an_unfinished_upload_holds_about_what_it_sent() {
    let _serial = common::counting::serial();
    let server = start(ServerConfig::default());
    let baseline = Counting::now();
    let mut stream = connect(&server);
    write!(
        stream,
        "POST /messages/create HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        30 << 20
    )
    .unwrap();
    stream.write_all(&vec![b' '; 256 * 1024]).unwrap();
    // The server has read what was sent (the request log shows nothing yet: the body is unfinished).
    thread::sleep(Duration::from_millis(300));
    let held = Counting::now().saturating_sub(baseline);
    assert!(held < 2 << 20, "{held} bytes held for 256 KiB of a 30 MiB upload");
    drop(stream);
    assert_served(&client_for(&server));
    server.stop();
}

/// Sends one create with `body` on a raw socket and reads the answer into a small reused buffer, so that
/// what is allocated meanwhile is the server's; returns the peak above the baseline, and the status line.
fn peak_of_one_create(server: &Server, body: &[u8]) -> (usize, String) {
    let mut stream = connect(server);
    let head = format!(
        "POST /messages/create HTTP/1.1\r\nContent-Type: application/json\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    let baseline = Counting::reset_peak();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut first = [0u8; 32];
    let mut buffer = [0u8; 16 * 1024];
    let n = stream.read(&mut first).unwrap();
    while stream.read(&mut buffer).unwrap_or(0) > 0 {}
    (
        Counting::peak() - baseline,
        String::from_utf8_lossy(&first[..n]).into_owned(),
    )
}

#[test]
fn memory_per_request_is_a_small_multiple_of_the_body() {
    let _serial = common::counting::serial();
    let server = start(ServerConfig::default());
    let megabytes = 8 << 20;
    let text = "x".repeat(megabytes);
    let numbers = format!("[{}0]", "7,".repeat(megabytes / 2));
    let members: String = (0..megabytes / 16).map(|n| format!(r#""k{n:09}":0,"#)).collect();
    // The most each shape may cost, as a multiple of its body: the body itself, the stored text and its
    // shared copy, the search text and its lowercase form; for an object of tiny members, a map entry per
    // member on top. Before the bodies were read without a tree of values, bytes as numbers cost 50x.
    let bodies = [
        (
            6.0,
            "one long text",
            format!(
                r#"{{"role":"USER","conversation":{{"id":"c"}},"fragment":{{"string":{{"raw":"{text}"}}}}}}"#
            ),
        ),
        (
            6.0,
            "bytes as numbers",
            format!(
                r#"{{"role":"USER","conversation":{{"id":"c"}},"fragment":{{"bytes":{{"raw":{numbers}}}}}}}"#
            ),
        ),
        (
            10.0,
            "many small members",
            format!(r#"{{{members}"role":"USER","conversation":{{"id":"c"}},"fragment":{{}}}}"#),
        ),
    ];
    for (bound, shape, body) in bodies {
        let (peak, status) = peak_of_one_create(&server, body.as_bytes());
        assert!(status.starts_with("HTTP/1.1 200 "), "{shape}: {status}");
        let factor = peak as f64 / body.len() as f64;
        println!("{shape}: {} bytes, peak {peak} bytes, {factor:.1}x", body.len());
        assert!(factor < bound, "{shape}: {factor:.1}x its body");
    }
    assert_served(&client_for(&server));
    server.stop();
}
