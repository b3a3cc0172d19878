//! A soak: N threads share one client against the stand-in PiecesOS, which fails every Nth request with
//! an injected 500 and drops WebSockets, for as long as asked. Every answer is checked; a subscription
//! keeps the live id set, which must converge to the server's; RSS and threads are sampled over time.
//!
//! ```sh
//! cargo run --release --example soak -- --duration 600             # what RELIABILITY.md reports
//! cargo run --release --example soak -- --duration 30 --threads 4  # a quick look
//! ```
//!
//! Options: `--duration SECONDS` (default 60), `--threads N` (8), `--fail-every N` (11: one request in
//! 11 is answered 500), `--ws-drop-after N` (40 frames), `--sample SECONDS` (10). It prints one `sample`
//! line per interval and a final `summary` JSON line, and exits with 1 when any answer was misreported
//! or the live set did not converge.
//!
//! What counts as a misreport: a successful answer whose content is wrong (a created message that is not
//! the seed, a search or snapshot that misses or keeps a message this thread created or deleted), or a
//! failure that is not an injected 500 (the only failures this run provokes). An injected 500 is checked
//! too: the request it answered must have had no effect.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use pieces_os_client::models::{SearchInput, SeededConversationMessage};
use pieces_os_client::server::{DropMode, FaultConfig, Server, ServerConfig};
use pieces_os_client::{
    Client, ClientConfig, Error, LiveIds, StreamConfig, SubscriptionEvent, Transferables,
};

/// What the body of an injected 500 says (see the stand-in's fault injection).
const INJECTED: &str = "injected fault";

/// How many messages one worker keeps at most; it deletes before it creates more.
const KEEP: usize = 12;

struct Options {
    duration: Duration,
    threads: usize,
    fail_every: u64,
    ws_drop_after: u64,
    sample: Duration,
}

fn options() -> Options {
    let mut options = Options {
        duration: Duration::from_secs(60),
        threads: 8,
        fail_every: 11,
        ws_drop_after: 40,
        sample: Duration::from_secs(10),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = || -> u64 {
            pair.get(1)
                .and_then(|value| value.parse().ok())
                .unwrap_or_else(|| panic!("{} needs a number", pair[0]))
        };
        match pair[0].as_str() {
            "--duration" => options.duration = Duration::from_secs(value()),
            "--threads" => options.threads = value() as usize,
            "--fail-every" => options.fail_every = value(),
            "--ws-drop-after" => options.ws_drop_after = value(),
            "--sample" => options.sample = Duration::from_secs(value()),
            other => panic!("unknown option {other}"),
        }
    }
    options
}

/// Counters shared by every worker.
#[derive(Default)]
struct Tally {
    calls: AtomicU64,
    creates: AtomicU64,
    deletes: AtomicU64,
    searches: AtomicU64,
    snapshots: AtomicU64,
    injected: AtomicU64,
    misreports: AtomicU64,
}

impl Tally {
    fn misreport(&self, what: String) {
        self.misreports.fetch_add(1, Ordering::SeqCst);
        eprintln!("MISREPORT: {what}");
    }
}

/// RSS in kB and thread count of this process (Linux: /proc/self/status).
fn rss_and_threads() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|number| number.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("Threads:"))
}

/// A small deterministic generator per worker.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn is_injected(error: &Error) -> bool {
    error.http_status() == Some(500) && error.body().is_some_and(|body| body.contains(INJECTED))
}

/// One worker: creates, deletes, searches and snapshots its own messages, checking every answer.
fn work(
    client: Client,
    worker: usize,
    deadline: Instant,
    tally: Arc<Tally>,
    all_live: Arc<Mutex<BTreeSet<String>>>,
) {
    let token = format!("soakworker{worker}token");
    let mut mine: BTreeSet<String> = BTreeSet::new();
    let mut gone: Vec<String> = Vec::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (worker as u64 + 1));
    let mut serial = 0u64;
    while Instant::now() < deadline {
        tally.calls.fetch_add(1, Ordering::Relaxed);
        match rng.below(10) {
            0..=3 if mine.len() < KEEP => {
                serial += 1;
                let text = format!("{token} message {serial} ✓ \"quoted\"");
                let seed = SeededConversationMessage::user_text(format!("conversation-{worker}"), &text);
                tally.creates.fetch_add(1, Ordering::Relaxed);
                match client.create_message(&seed, Transferables::Default) {
                    Ok(created) => {
                        if created.text() != Some(text.as_str()) {
                            tally.misreport(format!("create returned {:?} for {text:?}", created.text()));
                        }
                        mine.insert(created.id.clone());
                        all_live.lock().unwrap().insert(created.id);
                    }
                    Err(error) if is_injected(&error) => {
                        tally.injected.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => tally.misreport(format!("create failed: {error}")),
                }
            }
            0..=5 if !mine.is_empty() => {
                let index = rng.below(mine.len() as u64) as usize;
                let id = mine.iter().nth(index).cloned().unwrap_or_default();
                tally.deletes.fetch_add(1, Ordering::Relaxed);
                match client.delete_message(&id) {
                    Ok(()) => {
                        mine.remove(&id);
                        all_live.lock().unwrap().remove(&id);
                        gone.push(id);
                    }
                    Err(error) if is_injected(&error) => {
                        tally.injected.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => tally.misreport(format!("delete {id} failed: {error}")),
                }
            }
            0..=7 => {
                tally.searches.fetch_add(1, Ordering::Relaxed);
                match client.search_messages(&SearchInput::query(&token), Transferables::Exclude) {
                    Ok(hits) => {
                        let found: BTreeSet<String> =
                            hits.iterable.into_iter().map(|hit| hit.identifier).collect();
                        if found != mine {
                            tally.misreport(format!(
                                "search of worker {worker} found {} messages, it has {}",
                                found.len(),
                                mine.len()
                            ));
                        }
                    }
                    Err(error) if is_injected(&error) => {
                        tally.injected.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => tally.misreport(format!("search failed: {error}")),
                }
            }
            _ => {
                tally.snapshots.fetch_add(1, Ordering::Relaxed);
                match client.snapshot_messages(Transferables::Exclude) {
                    Ok(all) => {
                        let ids: BTreeSet<&str> = all.iterable.iter().map(|m| m.id.as_str()).collect();
                        let missing = mine.iter().filter(|id| !ids.contains(id.as_str())).count();
                        let kept = gone.iter().filter(|id| ids.contains(id.as_str())).count();
                        if missing + kept > 0 {
                            tally.misreport(format!(
                                "snapshot misses {missing} and keeps {kept} of worker {worker}'s messages"
                            ));
                        }
                    }
                    Err(error) if is_injected(&error) => {
                        tally.injected.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => tally.misreport(format!("snapshot failed: {error}")),
                }
            }
        }
        if gone.len() > 64 {
            gone.drain(..32);
        }
    }
}

fn main() {
    let options = options();
    let server = Server::start(ServerConfig::default().with_faults(FaultConfig {
        fail_every: options.fail_every,
        ws_drop_after: options.ws_drop_after,
        ws_drop_mode: DropMode::Cut,
        ..FaultConfig::default()
    }))
    .expect("the stand-in starts");
    let client = Client::new(ClientConfig::default().with_base_url(server.url()).with_stream(
        StreamConfig::default().with_retry(Duration::from_millis(20), Duration::from_millis(500)),
    ))
    .expect("a valid configuration");

    let (rss_start, threads_start) = rss_and_threads();
    let started = Instant::now();
    let deadline = started + options.duration;
    let tally = Arc::new(Tally::default());
    let all_live = Arc::new(Mutex::new(BTreeSet::new()));

    // The subscription keeps the live set; its drops are counted.
    let live = Arc::new(Mutex::new(LiveIds::new()));
    let drops = Arc::new(AtomicU64::new(0));
    let subscription = {
        let live = Arc::clone(&live);
        let drops = Arc::clone(&drops);
        client
            .subscribe_identifiers(move |event| {
                if matches!(event, SubscriptionEvent::Disconnected { .. }) {
                    drops.fetch_add(1, Ordering::Relaxed);
                }
                live.lock().unwrap().apply(&event);
            })
            .expect("the subscription starts")
    };

    let workers: Vec<_> = (0..options.threads)
        .map(|worker| {
            let (client, tally, all_live) = (client.clone(), Arc::clone(&tally), Arc::clone(&all_live));
            thread::spawn(move || work(client, worker, deadline, tally, all_live))
        })
        .collect();

    // Samples, and a WebSocket drop of the other kind (a clean Close) at every sample.
    let (mut rss_max, mut threads_max) = (rss_start, threads_start);
    let running = AtomicBool::new(true);
    while running.load(Ordering::Relaxed) {
        let next = Instant::now() + options.sample;
        while Instant::now() < next.min(deadline) {
            thread::sleep(Duration::from_millis(100));
        }
        server.drop_websockets(DropMode::Close);
        let (rss, threads) = rss_and_threads();
        rss_max = rss_max.max(rss);
        threads_max = threads_max.max(threads);
        println!(
            "sample t={}s calls={} injected={} ws_drops={} misreports={} rss_kb={rss} threads={threads} messages={}",
            started.elapsed().as_secs(),
            tally.calls.load(Ordering::Relaxed),
            tally.injected.load(Ordering::Relaxed),
            drops.load(Ordering::Relaxed),
            tally.misreports.load(Ordering::Relaxed),
            server.message_count(),
        );
        if Instant::now() >= deadline {
            running.store(false, Ordering::Relaxed);
        }
    }
    for worker in workers {
        worker.join().expect("a worker panicked");
    }

    // The live set converges to the server's set, and that is what the workers left.
    let expected: BTreeSet<String> = server.message_ids().into_iter().collect();
    let left = all_live.lock().unwrap().clone();
    if expected != left {
        tally.misreport(format!(
            "the server holds {} messages, the workers left {}",
            expected.len(),
            left.len()
        ));
    }
    let converge_started = Instant::now();
    let converged = loop {
        if *live.lock().unwrap().ids() == expected {
            break true;
        }
        if converge_started.elapsed() > Duration::from_secs(30) {
            break false;
        }
        thread::sleep(Duration::from_millis(50));
    };
    drop(subscription);
    let (rss_end, threads_end) = rss_and_threads();
    let summary = serde_json::json!({
        "duration_s": started.elapsed().as_secs(),
        "threads": options.threads,
        "calls": tally.calls.load(Ordering::Relaxed),
        "creates": tally.creates.load(Ordering::Relaxed),
        "deletes": tally.deletes.load(Ordering::Relaxed),
        "searches": tally.searches.load(Ordering::Relaxed),
        "snapshots": tally.snapshots.load(Ordering::Relaxed),
        "injected_500s": tally.injected.load(Ordering::Relaxed),
        "ws_drops_seen": drops.load(Ordering::Relaxed),
        "misreports": tally.misreports.load(Ordering::Relaxed),
        "live_set_converged": converged,
        "converged_in_ms": converge_started.elapsed().as_millis() as u64,
        "final_messages": expected.len(),
        "rss_kb": {"start": rss_start, "max": rss_max, "end": rss_end},
        "process_threads": {"start": threads_start, "max": threads_max, "end": threads_end},
    });
    println!("summary {summary}");
    server.stop();
    if tally.misreports.load(Ordering::Relaxed) > 0 || !converged {
        std::process::exit(1);
    }
}
