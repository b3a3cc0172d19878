//! What a mirror costs, against what it replaces: a snapshot after every change.
//!
//! With `--messages` realistic messages in an in-process stand-in (10 000 by default, about 5 KB of
//! JSON each), `--changes` creates (100) of more such messages (the stand-in's own realistic seeds, sent
//! through `POST /messages/create`) are followed twice, one create at a time:
//!
//! * by a mirror (`Client::mirror_pull`): from the create returning until the mirror's `Added` event for
//!   it is in hand;
//! * by the approach the mirror replaces: a pull subscription to the identifier stream and, on the frame
//!   that names the new message, `GET /messages` as JSON text (the cheapest snapshot the client offers);
//!   from the create returning until that snapshot is in hand.
//!
//! For each: the bytes of the response bodies read while following (the mirror's own count; the
//! snapshots' lengths), and the time spent following (the sum over the changes). Then `--latency`
//! creates (1 000) measure the latency from a create returning to the `Added` event with the message,
//! in a handler (the instant the handler is called) and in pull mode (the instant `next` returns it);
//! an event that was delivered before the create call returned counts as 0.
//!
//! ```text
//! cargo bench --bench mirror                                   # the figures of BENCHMARKS.md
//! cargo bench --bench mirror -- --messages 1000 --changes 20 --latency 200   # a quick look
//! ```
//!
//! A plain `harness = false` main, like `benches/compare.rs`: one run of each case, medians and p99s
//! over its samples, one summary at the end.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use pieces_os_client::server::{seed, Server, ServerConfig};
use pieces_os_client::{
    Client, ClientConfig, MirrorEvent, MirrorOptions, PullMirror, SubscriptionEvent, Transferables,
};

/// Bound on waiting for one event; a healthy run takes milliseconds.
const WAIT: Duration = Duration::from_secs(30);

struct Settings {
    messages: usize,
    changes: usize,
    latency: usize,
}

fn settings() -> Settings {
    let mut settings = Settings {
        messages: 10_000,
        changes: 100,
        latency: 1_000,
    };
    // `cargo bench` passes `--bench` to every bench target; it means nothing here.
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    while let Some(flag) = args.next() {
        let value = args.next().and_then(|value| value.parse().ok());
        match (flag.as_str(), value) {
            ("--messages", Some(n)) => settings.messages = n,
            ("--changes", Some(n)) => settings.changes = n,
            ("--latency", Some(n)) => settings.latency = n,
            _ => {
                eprintln!("usage: mirror [--messages N] [--changes N] [--latency N]");
                std::process::exit(2);
            }
        }
    }
    settings
}

fn main() {
    let settings = settings();
    let load_before = load_average();
    let started = Instant::now();
    let server = Server::start(ServerConfig::default().with_seed_messages(settings.messages))
        .expect("the stand-in starts");
    let client = Client::new(ClientConfig::default().with_base_url(server.url())).expect("a client");
    let snapshot_bytes = client
        .snapshot_messages_json(Transferables::Default)
        .expect("a snapshot")
        .len();
    println!(
        "store: {} messages, snapshot {:.1} MB (seeded in {:.1} s)",
        settings.messages,
        snapshot_bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let mut next = settings.messages;
    let mirror = follow_with_a_mirror(&client, settings.changes, &mut next);
    let resnapshot = follow_with_snapshots(&client, settings.changes, &mut next);
    let handler = latency_in_a_handler(&client, settings.latency, &mut next);
    let pull = latency_in_pull_mode(&client, settings.latency, &mut next);
    let load_after = load_average();

    println!();
    println!(
        "## {} changes followed, {} messages in the store",
        settings.changes, settings.messages
    );
    println!();
    println!("| follower | bytes read | time following (sum) | per change, median | per change, p99 |");
    println!("|---|---:|---:|---:|---:|");
    for (name, run) in [("mirror", &mirror), ("snapshot after each change", &resnapshot)] {
        println!(
            "| {name} | {} | {:.1} ms | {:.3} ms | {:.3} ms |",
            thousands(run.bytes),
            run.total().as_secs_f64() * 1e3,
            percentile(&run.per_change, 0.5).as_secs_f64() * 1e3,
            percentile(&run.per_change, 0.99).as_secs_f64() * 1e3,
        );
    }
    println!(
        "| mirror ÷ snapshots | {:.4} % | {:.3} % | | |",
        100.0 * mirror.bytes as f64 / resnapshot.bytes as f64,
        100.0 * mirror.total().as_secs_f64() / resnapshot.total().as_secs_f64()
    );
    println!();
    println!(
        "## From a create returning to the `Added` event with the message ({} creates)",
        settings.latency
    );
    println!();
    println!("| where | p50 | p99 | max | delivered before the create returned |");
    println!("|---|---:|---:|---:|---:|");
    for (name, run) in [("handler", &handler), ("pull (`next`)", &pull)] {
        println!(
            "| {name} | {:.1} µs | {:.1} µs | {:.1} µs | {} of {} |",
            micros(percentile(&run.latencies, 0.5)),
            micros(percentile(&run.latencies, 0.99)),
            micros(percentile(&run.latencies, 1.0)),
            run.early,
            run.latencies.len()
        );
    }
    println!();
    println!(
        "load average before: {load_before}; after: {load_after}; {} cores; whole run {:.1} s",
        std::thread::available_parallelism().map_or(0, usize::from),
        started.elapsed().as_secs_f64()
    );
    server.stop();
}

/// One follower's run.
struct Followed {
    bytes: u64,
    per_change: Vec<Duration>,
}

impl Followed {
    fn total(&self) -> Duration {
        self.per_change.iter().sum()
    }
}

/// Creates the next realistic message (continuing the store's sequence) and returns its id.
fn create(client: &Client, next: &mut usize) -> String {
    let seed = seed::realistic_seed_message(*next, 0).to_string();
    *next += 1;
    let created = client
        .create_message_json(&seed, Transferables::Exclude)
        .expect("a create");
    let id = serde_json::from_str::<serde_json::Value>(&created).expect("JSON")["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    id
}

fn follow_with_a_mirror(client: &Client, changes: usize, next: &mut usize) -> Followed {
    let mirror = client
        .mirror_pull(MirrorOptions::default().with_announce_initial(false))
        .expect("a mirror");
    assert!(mirror.wait_synced(WAIT), "the mirror syncs");
    assert!(matches!(
        mirror.next_timeout(WAIT),
        Ok(MirrorEvent::Synced { .. })
    ));
    let before = mirror.status().bytes_read;
    let mut per_change = Vec::with_capacity(changes);
    for _ in 0..changes {
        let created = create(client, next);
        let returned = Instant::now();
        wait_for_added(&mirror, &created);
        per_change.push(returned.elapsed());
    }
    Followed {
        bytes: mirror.status().bytes_read - before,
        per_change,
    }
}

fn follow_with_snapshots(client: &Client, changes: usize, next: &mut usize) -> Followed {
    let subscription = client.subscribe_identifiers_pull().expect("a subscription");
    loop {
        match subscription.next_timeout(WAIT) {
            Ok(SubscriptionEvent::Identifiers { full: true, .. }) => break,
            Ok(_) => {}
            Err(error) => panic!("no full frame: {error:?}"),
        }
    }
    let mut bytes = 0u64;
    let mut per_change = Vec::with_capacity(changes);
    for _ in 0..changes {
        let created = create(client, next);
        let returned = Instant::now();
        loop {
            match subscription.next_timeout(WAIT) {
                Ok(SubscriptionEvent::Identifiers { frame, .. })
                    if frame
                        .iterable
                        .iter()
                        .any(|item| item.message_id() == Some(&created)) =>
                {
                    break
                }
                Ok(_) => {}
                Err(error) => panic!("no frame: {error:?}"),
            }
        }
        let snapshot = client
            .snapshot_messages_json(Transferables::Default)
            .expect("a snapshot");
        bytes += snapshot.len() as u64;
        per_change.push(returned.elapsed());
        drop(snapshot);
    }
    Followed { bytes, per_change }
}

/// Latencies from creates returning to their `Added` events.
struct Latencies {
    latencies: Vec<Duration>,
    /// Events delivered before their create call returned.
    early: usize,
}

fn latency_in_a_handler(client: &Client, count: usize, next: &mut usize) -> Latencies {
    // When each Added reached the handler, by id; the condvar wakes the waiting main thread.
    let delivered: Arc<(Mutex<HashMap<String, Instant>>, Condvar)> = Arc::default();
    let record = Arc::clone(&delivered);
    let mirror = client
        .mirror(
            MirrorOptions::default().with_announce_initial(false),
            move |_, event| {
                if let MirrorEvent::Added(message) = event {
                    let at = Instant::now();
                    record.0.lock().unwrap().insert(message.id().to_owned(), at);
                    record.1.notify_all();
                }
            },
        )
        .expect("a mirror");
    assert!(mirror.wait_synced(WAIT), "the mirror syncs");
    let mut latencies = Vec::with_capacity(count);
    let mut early = 0;
    for _ in 0..count {
        let created = create(client, next);
        let returned = Instant::now();
        let (times, arrived) = &*delivered;
        let (times, timeout) = arrived
            .wait_timeout_while(times.lock().unwrap(), WAIT, |times| !times.contains_key(&created))
            .unwrap();
        assert!(!timeout.timed_out(), "no Added event for {created}");
        let at = times[&created];
        drop(times);
        if at < returned {
            early += 1;
        }
        latencies.push(at.saturating_duration_since(returned));
    }
    Latencies { latencies, early }
}

fn latency_in_pull_mode(client: &Client, count: usize, next: &mut usize) -> Latencies {
    let mirror = client
        .mirror_pull(MirrorOptions::default().with_announce_initial(false))
        .expect("a mirror");
    assert!(matches!(
        mirror.next_timeout(WAIT),
        Ok(MirrorEvent::Synced { .. })
    ));
    let mut latencies = Vec::with_capacity(count);
    for _ in 0..count {
        let created = create(client, next);
        let returned = Instant::now();
        wait_for_added(&mirror, &created);
        latencies.push(returned.elapsed());
    }
    Latencies { latencies, early: 0 }
}

/// Takes a pull mirror's events until the `Added` of message `id`.
fn wait_for_added(mirror: &PullMirror, id: &str) {
    loop {
        match mirror.next_timeout(WAIT) {
            Ok(MirrorEvent::Added(message)) if message.id() == id => return,
            Ok(_) => {}
            Err(error) => panic!("no Added event for {id}: {error:?}"),
        }
    }
}

/// The `q` quantile by nearest rank (1.0: the maximum).
fn percentile(samples: &[Duration], q: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}
