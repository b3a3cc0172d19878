//! The Rust side of `benches/compare.sh`: every case that runs Rust code, against a stand-in PiecesOS
//! given by `--url` (the `pieces-os-server` program, shared with the Python cases) or, without one, an
//! in-process stand-in.
//!
//! A plain `harness = false` main rather than criterion: the whole comparison must finish in minutes on a
//! small machine, it compares against Python programs that criterion cannot drive anyway, and what it
//! needs from statistics is a median and a p99 over a bounded number of samples. Each result is one line,
//! `BENCH {json}`, which `benches/report.py` turns into the tables of BENCHMARKS.md.
//!
//! ```text
//! cargo bench --bench compare                      # a short run of every Rust case, in-process stand-in
//! cargo bench --bench compare -- --url URL CASE …  # what compare.sh runs, case by case
//! ```
//!
//! Cases (each prints its own lines):
//! - `grow FROM TO`: creates realistic messages `FROM..TO` (the stand-in's own seeding, sent through
//!   `POST /messages/create`), so one server instance serves every snapshot size.
//! - `snapshot N`: the snapshot of the N messages the store holds, by every Rust client in turn.
//! - `calls COUNT`: COUNT sequential creates, then searches, then deletes, per client.
//! - `throughput THREADS CYCLES`: THREADS threads sharing one client, each CYCLES create+search+delete.
//! - `events COUNT`: from a create being called (and from its return) to its identifier reaching a
//!   handler or pull mode.
//! - `stop COUNT`: how long stopping a subscription takes.
//! - `server N`: the stand-in's own time: a hand-written socket client and time to first byte.
//! - `rss CLIENT`: one snapshot by one client, then its peak resident set size.
//! - `count snapshot N CLIENT` and `count create|search|delete COUNT CLIENT`: one snapshot, or COUNT
//!   calls, inside [`counted`], for `valgrind --tool=callgrind --toggle-collect=compare::counted` to
//!   count the client's instructions (compare.sh does).
//!
//! Every timed sample records the wall time and the CPU time of the calling thread
//! (`CLOCK_THREAD_CPUTIME_ID`), so that the report can say how much of a wall time was the client's own
//! work and how much was waiting (for the server, the kernel or a busy machine).

mod common;

use std::ffi::{c_char, c_void, CStr, CString};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::thread_cpu_time;
use pieces_os_client::ffi::{self, pieces_status, PIECES_TRANSFERABLES_DEFAULT};
use pieces_os_client::models::{SearchInput, SeededConversationMessage};
use pieces_os_client::server::{seed, Server, ServerConfig};
use pieces_os_client::{Client, ClientConfig, SubscriptionEvent, Transferables};
use serde_json::{json, Value};
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// How many messages each client creates before it searches and deletes them again, in `calls`.
const CALL_BATCH: usize = 25;

/// The conversation every benchmark message belongs to.
const CONVERSATION: &str = "bench-conversation";

/// The rng seed of the realistic messages, as `pieces-os-server --rng-seed` would take it.
const RNG_SEED: u64 = 0;

fn main() {
    // `cargo bench` passes `--bench` to every bench target; it means nothing here.
    let mut args: Vec<String> = std::env::args().skip(1).filter(|arg| arg != "--bench").collect();
    let mut url = None;
    let mut budget = Budget::full();
    while let Some(first) = args.first() {
        match first.as_str() {
            "--url" if args.len() > 1 => {
                url = Some(args[1].clone());
                args.drain(..2);
            }
            "--quick" => {
                budget = Budget::quick();
                args.remove(0);
            }
            _ => break,
        }
    }
    let in_process;
    let url = match url {
        Some(url) => url,
        None => {
            in_process = Server::start(ServerConfig::default()).expect("the stand-in starts");
            in_process.url()
        }
    };
    let bench = Bench::new(&url, budget);
    let number = |n: usize| -> usize {
        args.get(n)
            .and_then(|text| text.parse().ok())
            .unwrap_or_else(|| usage())
    };
    match args.first().map(String::as_str) {
        None => {
            // `cargo bench --bench compare`: every Rust case once, small, so it ends in about a minute.
            let budget = Budget::quick();
            let bench = Bench::new(&url, budget);
            bench.calls(200);
            bench.throughput(8, 50);
            bench.events(100);
            bench.stop(20);
            bench.grow(0, 1_000);
            bench.server(1_000);
            bench.snapshot(1_000, &Snapshotter::ALL);
        }
        Some("grow") => bench.grow(number(1), number(2)),
        Some("snapshot") => {
            let only: Vec<Snapshotter> = args[2..]
                .iter()
                .map(|name| Snapshotter::parse(name).unwrap_or_else(|| usage()))
                .collect();
            bench.snapshot(number(1), if only.is_empty() { &Snapshotter::ALL } else { &only })
        }
        Some("calls") => bench.calls(number(1)),
        Some("throughput") => bench.throughput(number(1), number(2)),
        Some("events") => bench.events(number(1)),
        Some("stop") => bench.stop(number(1)),
        Some("server") => bench.server(number(1)),
        Some("rss") => bench.rss(args.get(1).map(String::as_str).unwrap_or_else(|| usage())),
        Some("count") => {
            let client = args.get(3).map(String::as_str).unwrap_or_else(|| usage());
            match args.get(1).map(String::as_str) {
                Some("snapshot") => {
                    let client = Snapshotter::parse(client).unwrap_or_else(|| usage());
                    bench.count_snapshot(number(2), client)
                }
                Some(kind @ ("create" | "search" | "delete")) => {
                    let caller = Caller::parse(client).unwrap_or_else(|| usage());
                    bench.count_calls(kind, number(2), caller)
                }
                _ => usage(),
            }
        }
        Some(_) => usage(),
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: compare [--url URL] [--quick] [grow FROM TO | snapshot N [CLIENT…] | calls COUNT | \
         throughput THREADS CYCLES | events COUNT | stop COUNT | server N | rss CLIENT | \
         count snapshot N CLIENT | count create|search|delete COUNT CLIENT]"
    );
    std::process::exit(2)
}

/// How long a case keeps sampling.
#[derive(Clone, Copy)]
struct Budget {
    /// Fewest samples per client.
    min_samples: usize,
    /// Most samples per client.
    max_samples: usize,
    /// Sampling stops after this much time once `min_samples` are in.
    time: Duration,
}

impl Budget {
    fn full() -> Self {
        Budget {
            min_samples: 5,
            max_samples: 200,
            time: Duration::from_secs(3),
        }
    }

    fn quick() -> Self {
        Budget {
            min_samples: 3,
            max_samples: 50,
            time: Duration::from_millis(500),
        }
    }
}

/// Times in one unit, and what a result line says about them.
struct Samples {
    values: Vec<f64>,
    /// The CPU time of the calling thread during each sample, when the sample was taken with a
    /// [`Stopwatch`].
    cpu: Vec<f64>,
}

impl Samples {
    fn new() -> Self {
        Samples {
            values: Vec::new(),
            cpu: Vec::new(),
        }
    }

    fn push(&mut self, duration: Duration, unit: Unit) {
        self.values.push(unit.of(duration));
    }

    /// A sample that may be negative (an event that arrived before the call it is timed from returned).
    fn push_signed(&mut self, from: Instant, to: Instant, unit: Unit) {
        let value = match to.checked_duration_since(from) {
            Some(after) => unit.of(after),
            None => -unit.of(from.duration_since(to)),
        };
        self.values.push(value);
    }

    /// The wall time and the thread's CPU time since `stopwatch` started.
    fn push_timed(&mut self, stopwatch: &Stopwatch, unit: Unit) {
        let (wall, cpu) = stopwatch.read();
        self.values.push(unit.of(wall));
        self.cpu.push(unit.of(cpu));
    }

    /// Median, p99 (nearest rank), min and mean; the median CPU time when there is one.
    fn stats(&self) -> Value {
        let mut stats = summary(&self.values);
        if !self.cpu.is_empty() {
            let cpu = summary(&self.cpu);
            stats["cpu_values"] = cpu["values"].clone();
            stats["cpu_median"] = cpu["median"].clone();
        }
        stats
    }
}

fn summary(values: &[f64]) -> Value {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        return json!({"samples": 0});
    }
    let rank = |q: f64| sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    json!({
        "samples": n,
        // Every sample, so that report.py can merge the runs of one client made in several processes.
        "values": values.iter().map(|value| round(*value)).collect::<Vec<f64>>(),
        "median": round(median),
        "p99": round(rank(0.99)),
        "min": round(sorted[0]),
        "max": round(sorted[n - 1]),
        "mean": round(sorted.iter().sum::<f64>() / n as f64),
    })
}

/// The start of a measured step: the wall clock and the CPU time the calling thread had used.
struct Stopwatch {
    wall: Instant,
    cpu: Duration,
}

impl Stopwatch {
    fn start() -> Self {
        Stopwatch {
            cpu: thread_cpu_time(),
            wall: Instant::now(),
        }
    }

    /// Wall time and thread CPU time since the start.
    fn read(&self) -> (Duration, Duration) {
        let wall = self.wall.elapsed();
        (wall, thread_cpu_time().saturating_sub(self.cpu))
    }
}

fn round(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[derive(Clone, Copy)]
enum Unit {
    Ms,
    Us,
}

impl Unit {
    fn of(self, duration: Duration) -> f64 {
        match self {
            Unit::Ms => duration.as_secs_f64() * 1e3,
            Unit::Us => duration.as_secs_f64() * 1e6,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Unit::Ms => "ms",
            Unit::Us => "us",
        }
    }
}

/// Prints one result line: `BENCH {json}` with the case, the client and the rest.
fn emit(case: &str, client: &str, unit: Unit, samples: &Samples, extra: Value) {
    let mut line = json!({"case": case, "client": client, "unit": unit.name()});
    let object = line.as_object_mut().expect("an object");
    if let Value::Object(stats) = samples.stats() {
        object.extend(stats);
    }
    if let Value::Object(extra) = extra {
        object.extend(extra);
    }
    println!("BENCH {line}");
}

/// The raw floor: ureq, configured as the client configures it, sending the same request and reading
/// every body byte into memory, parsing nothing.
struct RawFloor {
    agent: ureq::Agent,
    base_url: String,
}

/// The raw floor's resolver: reads the host's IP address, as the client's resolver does for an address,
/// so that the floor starts no thread per request either (every URL here is `http://127.0.0.1:PORT`).
#[derive(Debug)]
struct IpAddressOnly;

impl Resolver for IpAddressOnly {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let authority = uri.authority().ok_or(ureq::Error::HostNotFound)?;
        let address: SocketAddr = authority
            .as_str()
            .parse()
            .map_err(|_| ureq::Error::HostNotFound)?;
        let mut found = self.empty();
        found.push(address);
        Ok(found)
    }
}

impl RawFloor {
    fn new(base_url: &str) -> Self {
        let agent = ureq::Agent::with_parts(Self::config(), DefaultConnector::new(), IpAddressOnly);
        RawFloor {
            agent,
            base_url: base_url.to_owned(),
        }
    }

    /// The floor as it was before this client resolved addresses itself: ureq's own resolver, which
    /// with a global timeout starts a thread for every request.
    fn with_resolver_thread(base_url: &str) -> Self {
        RawFloor {
            agent: Self::config().into(),
            base_url: base_url.to_owned(),
        }
    }

    fn config() -> ureq::config::Config {
        let config = ClientConfig::default();
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_global(config.request_timeout)
            .user_agent(config.user_agent.as_str())
            .accept("application/json, text/plain")
            .max_redirects(0)
            .build()
    }

    /// One request; returns the body bytes, in a buffer sized once from Content-Length.
    fn request(&self, method: &str, path: &str, body: Option<&[u8]>) -> Vec<u8> {
        let mut bytes = Vec::new();
        self.request_into(method, path, body, &mut bytes);
        bytes
    }

    /// One request; the body replaces the contents of `bytes`, whose memory is reused when it is large
    /// enough (no allocation, no page faults once it has held a body of this size).
    fn request_into(&self, method: &str, path: &str, body: Option<&[u8]>, bytes: &mut Vec<u8>) {
        let url = format!("{}{path}", self.base_url);
        let sent = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            (_, Some(body)) => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body),
            (_, None) => self.agent.post(&url).send_empty(),
        };
        let mut response = sent.expect("the raw request succeeds");
        let status = response.status().as_u16();
        assert!((200..300).contains(&status), "{method} {path}: {status}");
        let length = response
            .headers()
            .get("content-length")
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.parse::<usize>().ok())
            .unwrap_or(0);
        bytes.clear();
        bytes.reserve(length);
        response
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .reader()
            .read_to_end(bytes)
            .expect("the raw body reads");
    }
}

/// A `pieces_client` of the C API, called through the exported functions exactly as a C program calls
/// them (the same symbols the cdylib exports).
struct CClient {
    raw: *mut ffi::pieces_client,
}

// SAFETY: the C API documents a `pieces_client` as usable from any number of threads at once.
unsafe impl Send for CClient {}
// SAFETY: as above.
unsafe impl Sync for CClient {}

/// Panics with the last error's JSON unless `status` is `PIECES_STATUS_OK`.
fn check(status: pieces_status, what: &str) {
    if status != pieces_status::Ok {
        // SAFETY: the last error is a NUL-terminated string valid until the next call on this thread.
        let error = unsafe { CStr::from_ptr(ffi::pieces_last_error_json()) };
        panic!("{what}: {status:?} {}", error.to_string_lossy());
    }
}

impl CClient {
    fn new(url: &str) -> Self {
        let config = CString::new(json!({ "base_url": url }).to_string()).expect("no NUL");
        let mut raw = std::ptr::null_mut();
        // SAFETY: a NUL-terminated config and a valid out-pointer.
        check(
            unsafe { ffi::pieces_client_new(config.as_ptr(), &mut raw) },
            "pieces_client_new",
        );
        CClient { raw }
    }

    fn snapshot(&self) -> CText {
        let mut out = std::ptr::null_mut();
        // SAFETY: a live client and a valid out-pointer.
        let status =
            unsafe { ffi::pieces_messages_snapshot(self.raw, PIECES_TRANSFERABLES_DEFAULT, &mut out) };
        check(status, "pieces_messages_snapshot");
        CText(out)
    }

    fn create(&self, seed_json: &CStr) -> CText {
        let mut out = std::ptr::null_mut();
        // SAFETY: a live client, a NUL-terminated seed and a valid out-pointer.
        let status = unsafe {
            ffi::pieces_messages_create(
                self.raw,
                seed_json.as_ptr(),
                PIECES_TRANSFERABLES_DEFAULT,
                &mut out,
            )
        };
        check(status, "pieces_messages_create");
        CText(out)
    }

    fn search(&self, input_json: &CStr) -> CText {
        let mut out = std::ptr::null_mut();
        // SAFETY: a live client, a NUL-terminated input and a valid out-pointer.
        let status = unsafe {
            ffi::pieces_messages_search(
                self.raw,
                input_json.as_ptr(),
                PIECES_TRANSFERABLES_DEFAULT,
                &mut out,
            )
        };
        check(status, "pieces_messages_search");
        CText(out)
    }

    fn delete(&self, id: &CStr) {
        // SAFETY: a live client and a NUL-terminated id.
        check(
            unsafe { ffi::pieces_messages_delete(self.raw, id.as_ptr()) },
            "pieces_messages_delete",
        );
    }

    /// A subscription with [`on_c_event`] as its callback, which sends each event, stamped on arrival,
    /// through `sender`; or, without a sender, one in pull mode.
    fn subscribe(&self, sender: Option<mpsc::Sender<(Instant, String)>>) -> CSubscription {
        let mut raw = std::ptr::null_mut();
        let status = match sender {
            Some(sender) => {
                let userdata = Box::into_raw(Box::new(sender)).cast::<c_void>();
                // SAFETY: a live client, a callback and finaliser that match the userdata's type, and a
                // valid out-pointer.
                unsafe {
                    ffi::pieces_messages_subscribe(
                        self.raw,
                        Some(on_c_event),
                        userdata,
                        Some(free_c_sender),
                        &mut raw,
                    )
                }
            }
            // SAFETY: a live client and a valid out-pointer; no userdata.
            None => unsafe {
                ffi::pieces_messages_subscribe(self.raw, None, std::ptr::null_mut(), None, &mut raw)
            },
        };
        check(status, "pieces_messages_subscribe");
        CSubscription(raw)
    }
}

impl Drop for CClient {
    fn drop(&mut self) {
        // SAFETY: made by pieces_client_new and freed only here.
        unsafe { ffi::pieces_client_free(self.raw) }
    }
}

/// A string the C API handed out; freed with `pieces_string_free`.
struct CText(*mut c_char);

impl CText {
    fn bytes(&self) -> &[u8] {
        // SAFETY: a NUL-terminated string owned by this value.
        unsafe { CStr::from_ptr(self.0) }.to_bytes()
    }
}

impl Drop for CText {
    fn drop(&mut self) {
        // SAFETY: handed out by the C API and freed only here.
        unsafe { ffi::pieces_string_free(self.0) }
    }
}

/// A `pieces_subscription`; dropping it is `pieces_subscription_free` (stop and join).
struct CSubscription(*mut ffi::pieces_subscription);

impl CSubscription {
    /// `pieces_subscription_next`: the next event of a pull subscription, waiting up to 5 s.
    fn next(&self) -> CText {
        let mut out = std::ptr::null_mut();
        // SAFETY: a live pull subscription and a valid out-pointer.
        check(
            unsafe { ffi::pieces_subscription_next(self.0, 5_000, &mut out) },
            "pieces_subscription_next",
        );
        CText(out)
    }
}

impl Drop for CSubscription {
    fn drop(&mut self) {
        // SAFETY: made by pieces_messages_subscribe and freed only here.
        unsafe { ffi::pieces_subscription_free(self.0) }
    }
}

/// The C callback: stamps the event's arrival and sends it, as text, to the benchmark's thread.
unsafe extern "C" fn on_c_event(userdata: *mut c_void, event_json: *const c_char, len: usize) {
    let arrived = Instant::now();
    // SAFETY: the userdata is the boxed sender given to pieces_messages_subscribe, alive until
    // free_c_sender; the event is `len` bytes of UTF-8.
    let (sender, text) = unsafe {
        (
            &*userdata.cast::<mpsc::Sender<(Instant, String)>>(),
            std::slice::from_raw_parts(event_json.cast::<u8>(), len),
        )
    };
    let _ = sender.send((arrived, String::from_utf8_lossy(text).into_owned()));
}

unsafe extern "C" fn free_c_sender(userdata: *mut c_void) {
    // SAFETY: the box made in CClient::subscribe, freed once, by the C API, after the last event.
    drop(unsafe { Box::from_raw(userdata.cast::<mpsc::Sender<(Instant, String)>>()) });
}

/// Whether a C API event is the full first frame of a connection.
fn is_full_frame(event: &str) -> bool {
    event.starts_with(r#"{"type":"identifiers","full":true"#)
}

/// What every case needs: where the stand-in is, a client for it, the raw floors and the budget.
struct Bench {
    url: String,
    client: Client,
    c_api: CClient,
    raw: RawFloor,
    /// The floor with ureq's resolver thread, as the floor (and the client) were before.
    raw_threaded: RawFloor,
    /// The buffer the reused-buffer floor reads every snapshot into.
    reused: Mutex<Vec<u8>>,
    budget: Budget,
}

/// A client of the snapshot case.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Snapshotter {
    RustTyped,
    RustJson,
    CApi,
    RawFloor,
    RawFloorReused,
}

impl Snapshotter {
    const ALL: [Snapshotter; 5] = [
        Snapshotter::RawFloor,
        Snapshotter::RawFloorReused,
        Snapshotter::RustTyped,
        Snapshotter::RustJson,
        Snapshotter::CApi,
    ];

    fn name(self) -> &'static str {
        match self {
            Snapshotter::RustTyped => "rust_typed",
            Snapshotter::RustJson => "rust_json",
            Snapshotter::CApi => "c_api",
            Snapshotter::RawFloor => "raw_floor",
            Snapshotter::RawFloorReused => "raw_floor_reused",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|client| client.name() == name)
    }
}

/// A client of the single-call cases.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Caller {
    RawFloor,
    Rust,
    CApi,
    RawFloorThreaded,
}

impl Caller {
    const ALL: [Caller; 4] = [
        Caller::RawFloor,
        Caller::Rust,
        Caller::CApi,
        Caller::RawFloorThreaded,
    ];

    fn name(self) -> &'static str {
        match self {
            Caller::RawFloor => "raw_floor",
            Caller::Rust => "rust",
            Caller::CApi => "c_api",
            Caller::RawFloorThreaded => "raw_floor_threaded",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|client| client.name() == name)
    }
}

impl Bench {
    fn new(url: &str, budget: Budget) -> Self {
        Bench {
            url: url.to_owned(),
            client: Client::new(ClientConfig::default().with_base_url(url)).expect("a valid config"),
            c_api: CClient::new(url),
            raw: RawFloor::new(url),
            raw_threaded: RawFloor::with_resolver_thread(url),
            reused: Mutex::new(Vec::new()),
            budget,
        }
    }

    /// `create` by `caller`: a user message with `text`; returns its id. Building the request's JSON
    /// from the caller's data is part of the call; the C API and the raw floors find the new id with a
    /// byte search.
    fn create(&self, caller: Caller, text: String) -> String {
        match caller {
            Caller::Rust => {
                let seed = SeededConversationMessage::user_text(CONVERSATION, text);
                let created = self.client.create_message(&seed, Transferables::Default);
                created.expect("create").id
            }
            Caller::CApi => {
                let seed = CString::new(seed_body(&text)).expect("no NUL");
                find_id(self.c_api.create(&seed).bytes())
            }
            Caller::RawFloor | Caller::RawFloorThreaded => {
                let body = seed_body(&text);
                find_id(
                    &self
                        .floor(caller)
                        .request("POST", "/messages/create", Some(&body)),
                )
            }
        }
    }

    /// `search` by `caller` for `query`; returns whether it found one message (the raw floors only look
    /// at the length of the answer).
    fn search(&self, caller: Caller, query: String) -> bool {
        match caller {
            Caller::Rust => {
                let input = SearchInput::query(query);
                let hits = self.client.search_messages(&input, Transferables::Default);
                hits.expect("search").iterable.len() == 1
            }
            Caller::CApi => {
                let body = json!({"engines": {"iterable": [{"query": query}]}}).to_string();
                let body = CString::new(body).expect("no NUL");
                self.c_api.search(&body).bytes().len() > 100
            }
            Caller::RawFloor | Caller::RawFloorThreaded => {
                let body = json!({"engines": {"iterable": [{"query": query}]}}).to_string();
                let hits = self
                    .floor(caller)
                    .request("POST", "/messages/search", Some(body.as_bytes()));
                hits.len() > 100
            }
        }
    }

    /// `delete` by `caller` of the message `id`.
    fn delete(&self, caller: Caller, id: &str) {
        match caller {
            Caller::Rust => self.client.delete_message(id).expect("delete"),
            Caller::CApi => self.c_api.delete(&CString::new(id).expect("no NUL")),
            Caller::RawFloor | Caller::RawFloorThreaded => {
                let path = format!("/messages/{id}/delete");
                drop(self.floor(caller).request("POST", &path, None))
            }
        }
    }

    fn floor(&self, caller: Caller) -> &RawFloor {
        match caller {
            Caller::RawFloorThreaded => &self.raw_threaded,
            _ => &self.raw,
        }
    }

    /// One snapshot. Returns the messages (counted only where the client decodes), the bytes, and the
    /// result itself, so that the caller frees it after stopping the clock (as Python frees a result
    /// only when the next one replaces it).
    fn snapshot_once(&self, client: Snapshotter) -> (Option<usize>, usize, Box<dyn std::any::Any>) {
        match client {
            Snapshotter::RustTyped => {
                let messages = self
                    .client
                    .snapshot_messages(Transferables::Default)
                    .expect("typed snapshot");
                (Some(messages.iterable.len()), 0, Box::new(messages))
            }
            Snapshotter::RustJson => {
                let text = self
                    .client
                    .snapshot_messages_json(Transferables::Default)
                    .expect("JSON snapshot");
                (None, text.len(), Box::new(text))
            }
            // The length is not taken here: that would be one more pass over the text (strlen).
            Snapshotter::CApi => (None, 0, Box::new(self.c_api.snapshot())),
            Snapshotter::RawFloor => {
                let bytes = self.raw.request("GET", "/messages", None);
                (None, bytes.len(), Box::new(bytes))
            }
            Snapshotter::RawFloorReused => {
                let mut bytes = self.reused.lock().expect("not poisoned");
                self.raw.request_into("GET", "/messages", None, &mut bytes);
                (None, bytes.len(), Box::new(()))
            }
        }
    }

    /// `grow FROM TO`: realistic messages FROM..TO, created over HTTP by two threads.
    fn grow(&self, from: usize, to: usize) {
        let started = Instant::now();
        let threads = 2;
        thread::scope(|scope| {
            for worker in 0..threads {
                let raw = &self.raw;
                scope.spawn(move || {
                    for index in (from + worker..to).step_by(threads) {
                        let mut message = seed::realistic_message(index, RNG_SEED);
                        if let Some(object) = message.as_object_mut() {
                            object.remove("id");
                        }
                        let body = serde_json::to_vec(&message).expect("serializable");
                        raw.request("POST", "/messages/create?transferables=false", Some(&body));
                    }
                });
            }
        });
        let mut samples = Samples::new();
        samples.push(started.elapsed(), Unit::Ms);
        emit(
            "grow",
            "harness",
            Unit::Ms,
            &samples,
            json!({"from": from, "to": to}),
        );
    }

    /// `snapshot N`: every Rust client in turn, round after round, so that a change of machine load
    /// weighs on all of them alike.
    fn snapshot(&self, expected: usize, clients: &[Snapshotter]) {
        // Warm-up: the server builds and caches the body; every client opens its connection.
        let mut bytes = 0;
        for &client in clients {
            let (messages, mut size, result) = self.snapshot_once(client);
            if let Some(text) = result.downcast_ref::<CText>() {
                size = text.bytes().len();
            }
            if let Some(messages) = messages {
                assert_eq!(
                    messages, expected,
                    "the store holds {messages} messages, not {expected}"
                );
            }
            bytes = bytes.max(size);
        }
        let mut samples: Vec<Samples> = clients.iter().map(|_| Samples::new()).collect();
        let started = Instant::now();
        let mut rounds = 0;
        while rounds < self.budget.max_samples
            && (rounds < self.budget.min_samples || started.elapsed() < self.budget.time)
        {
            for (client, samples) in clients.iter().zip(&mut samples) {
                let stopwatch = Stopwatch::start();
                let result = self.snapshot_once(*client);
                samples.push_timed(&stopwatch, Unit::Ms);
                drop(result);
            }
            rounds += 1;
        }
        for (client, samples) in clients.iter().zip(&samples) {
            emit(
                "snapshot",
                client.name(),
                Unit::Ms,
                samples,
                json!({"messages": expected, "bytes": bytes}),
            );
        }
    }

    /// `calls COUNT`: COUNT creates, searches (each finds the one message it names, returned whole) and
    /// deletes per client, in batches of [`CALL_BATCH`]: a batch's creates, then its searches, then its
    /// deletes, so that the store stays small and the server's search (a scan of every message's text)
    /// costs little next to the clients. Within a batch the thread-free clients take turns call by call,
    /// so that a change of machine load weighs on all of them alike, and which of them goes first rotates,
    /// so that none always follows the same one. The floor with a resolver thread runs the same batch
    /// right after, by itself: taking turns with it slowed the calls that followed its threads.
    fn calls(&self, count: usize) {
        const CASES: [&str; 3] = ["create", "search", "delete"];
        const GROUPS: [&[Caller]; 2] = [
            &[Caller::RawFloor, Caller::Rust, Caller::CApi],
            &[Caller::RawFloorThreaded],
        ];
        for (round, count) in [(0, 20), (1, count)] {
            // samples[c][k]: client c (its index in Caller::ALL), case k.
            let mut samples: Vec<[Samples; 3]> = Caller::ALL
                .iter()
                .map(|_| [Samples::new(), Samples::new(), Samples::new()])
                .collect();
            let index = |caller: Caller| Caller::ALL.iter().position(|&c| c == caller).expect("listed");
            for batch in (0..count).step_by(CALL_BATCH) {
                let batch = batch..count.min(batch + CALL_BATCH);
                for group in GROUPS {
                    let turns = |i: usize| (0..group.len()).map(move |k| group[(i + k) % group.len()]);
                    let mut ids: Vec<Vec<(Caller, String)>> = Vec::new();
                    for i in batch.clone() {
                        let mut row = Vec::with_capacity(group.len());
                        for caller in turns(i) {
                            let text = needle_text(&format!("{}-{round}", caller.name()), i);
                            let stopwatch = Stopwatch::start();
                            let id = self.create(caller, text);
                            samples[index(caller)][0].push_timed(&stopwatch, Unit::Us);
                            row.push((caller, id));
                        }
                        ids.push(row);
                    }
                    for i in batch.clone() {
                        for caller in turns(i) {
                            let query = needle(&format!("{}-{round}", caller.name()), i);
                            let stopwatch = Stopwatch::start();
                            let found = self.search(caller, query);
                            samples[index(caller)][1].push_timed(&stopwatch, Unit::Us);
                            assert!(found, "the search finds its message");
                        }
                    }
                    for row in &ids {
                        for (caller, id) in row {
                            let stopwatch = Stopwatch::start();
                            self.delete(*caller, id);
                            samples[index(*caller)][2].push_timed(&stopwatch, Unit::Us);
                        }
                    }
                }
            }
            if round == 0 {
                continue; // the warm-up
            }
            for (caller, samples) in Caller::ALL.iter().zip(&samples) {
                for (case, samples) in CASES.iter().zip(samples) {
                    emit(case, caller.name(), Unit::Us, samples, json!({"calls": count}));
                }
            }
        }
    }

    /// `throughput THREADS CYCLES`: THREADS threads share one client (or one raw-floor agent); each runs
    /// CYCLES rounds of create, search, delete. Each client runs three times, in alternation with the
    /// others; reports the median calls per second and every run's.
    fn throughput(&self, threads: usize, cycles: usize) {
        const CALLERS: [Caller; 3] = [Caller::RawFloor, Caller::Rust, Caller::CApi];
        let mut runs: Vec<(Caller, f64)> = Vec::new();
        for caller in CALLERS.repeat(3) {
            let barrier = Barrier::new(threads + 1);
            let started = thread::scope(|scope| {
                for worker in 0..threads {
                    let barrier = &barrier;
                    scope.spawn(move || {
                        barrier.wait();
                        for cycle in 0..cycles {
                            let tag = format!("tp-{}-{worker}", caller.name());
                            let id = self.create(caller, needle_text(&tag, cycle));
                            assert!(self.search(caller, needle(&tag, cycle)), "the search finds it");
                            self.delete(caller, &id);
                        }
                    });
                }
                barrier.wait();
                Instant::now()
            });
            let calls = threads * cycles * 3;
            runs.push((caller, calls as f64 / started.elapsed().as_secs_f64()));
        }
        for caller in CALLERS {
            let mut rates: Vec<f64> = runs
                .iter()
                .filter(|(name, _)| *name == caller)
                .map(|(_, rate)| rate.round())
                .collect();
            rates.sort_by(f64::total_cmp);
            println!(
                "BENCH {}",
                json!({"case": "throughput", "client": caller.name(), "threads": threads,
                       "calls": threads * cycles * 3, "calls_per_s": rates[rates.len() / 2], "runs": rates})
            );
        }
    }

    /// `events COUNT`: a subscription with a handler, then one in pull mode; COUNT creates each, timed
    /// from the create being called to the handler (or `next`) holding the new id, and from the create
    /// returning (negative when the id arrived first, as it mostly does with a handler).
    fn events(&self, count: usize) {
        // Handler mode: the handler stamps each frame's arrival and sends it to this thread.
        let (sender, frames) = mpsc::channel::<(Instant, Vec<String>, bool)>();
        let mut subscription = self
            .client
            .subscribe_identifiers(move |event| {
                if let SubscriptionEvent::Identifiers { frame, full } = event {
                    let arrived = Instant::now();
                    let _ = sender.send((arrived, frame_ids(&frame), full));
                }
            })
            .expect("subscribe");
        wait_for(|| {
            frames
                .recv_timeout(Duration::from_secs(5))
                .ok()
                .map(|(_, _, full)| full)
        });
        let mut from_return = Samples::new();
        let mut from_call = Samples::new();
        let mut early = 0;
        let mut created = Vec::new();
        for i in 0..count {
            let seed = SeededConversationMessage::user_text(CONVERSATION, needle_text("ev-handler", i));
            let called = Instant::now();
            let id = self.client.create_message(&seed, Transferables::Default);
            let returned = Instant::now();
            let id = id.expect("create").id;
            let arrived = loop {
                let frame = frames.recv_timeout(Duration::from_secs(5));
                let (arrived, ids, _) = frame.expect("the id arrives");
                if ids.contains(&id) {
                    break arrived;
                }
            };
            // The stand-in announces a change before it answers the create, so the id often arrives
            // first: the latency from the create's return is then negative, and
            // `before_create_returned` says how often. The latency from the create's call is the measure.
            if arrived < returned {
                early += 1;
            }
            from_return.push_signed(returned, arrived, Unit::Us);
            from_call.push(arrived.duration_since(called), Unit::Us);
            created.push(id);
        }
        subscription.stop();
        let early = json!({"before_create_returned": early});
        emit("event_from_return", "rust_handler", Unit::Us, &from_return, early);
        emit("event_from_call", "rust_handler", Unit::Us, &from_call, json!({}));

        // Pull mode: the caller waits in `next_timeout` once the create has returned.
        let subscription = self.client.subscribe_identifiers_pull().expect("subscribe");
        wait_for(|| match subscription.next_timeout(Duration::from_secs(5)) {
            Ok(SubscriptionEvent::Identifiers { full, .. }) => Some(full),
            Ok(_) => Some(false),
            Err(_) => None,
        });
        let mut from_return = Samples::new();
        let mut from_call = Samples::new();
        for i in 0..count {
            let seed = SeededConversationMessage::user_text(CONVERSATION, needle_text("ev-pull", i));
            let called = Instant::now();
            let id = self.client.create_message(&seed, Transferables::Default);
            let returned = Instant::now();
            let id = id.expect("create").id;
            loop {
                match subscription.next_timeout(Duration::from_secs(5)) {
                    Ok(SubscriptionEvent::Identifiers { frame, .. }) if frame_ids(&frame).contains(&id) => {
                        break
                    }
                    Ok(_) => {}
                    Err(err) => panic!("no event: {err:?}"),
                }
            }
            from_return.push(returned.elapsed(), Unit::Us);
            from_call.push(called.elapsed(), Unit::Us);
            created.push(id);
        }
        drop(subscription);
        emit(
            "event_from_return",
            "rust_pull",
            Unit::Us,
            &from_return,
            json!({}),
        );
        emit("event_from_call", "rust_pull", Unit::Us, &from_call, json!({}));

        // The C API: a callback, then pull mode; creates through the C API too.
        let (sender, events) = mpsc::channel::<(Instant, String)>();
        let subscription = self.c_api.subscribe(Some(sender));
        wait_for(|| {
            let event = events.recv_timeout(Duration::from_secs(5)).ok();
            event.map(|(_, text)| is_full_frame(&text))
        });
        let mut from_return = Samples::new();
        let mut from_call = Samples::new();
        let mut early = 0;
        for i in 0..count {
            let seed = CString::new(seed_body(&needle_text("ev-c-callback", i))).expect("no NUL");
            let called = Instant::now();
            let answer = self.c_api.create(&seed);
            let returned = Instant::now();
            let id = find_id(answer.bytes());
            let arrived = loop {
                let event = events.recv_timeout(Duration::from_secs(5));
                let (arrived, text) = event.expect("the id arrives");
                if text.contains(&id) {
                    break arrived;
                }
            };
            if arrived < returned {
                early += 1;
            }
            from_return.push_signed(returned, arrived, Unit::Us);
            from_call.push(arrived.duration_since(called), Unit::Us);
            created.push(id);
        }
        drop(subscription);
        let early = json!({"before_create_returned": early});
        emit("event_from_return", "c_callback", Unit::Us, &from_return, early);
        emit("event_from_call", "c_callback", Unit::Us, &from_call, json!({}));

        let subscription = self.c_api.subscribe(None);
        wait_for(|| {
            Some(is_full_frame(&String::from_utf8_lossy(
                subscription.next().bytes(),
            )))
        });
        let mut from_return = Samples::new();
        let mut from_call = Samples::new();
        for i in 0..count {
            let seed = CString::new(seed_body(&needle_text("ev-c-pull", i))).expect("no NUL");
            let called = Instant::now();
            let answer = self.c_api.create(&seed);
            let returned = Instant::now();
            let id = find_id(answer.bytes());
            while !String::from_utf8_lossy(subscription.next().bytes()).contains(&id) {}
            from_return.push(returned.elapsed(), Unit::Us);
            from_call.push(called.elapsed(), Unit::Us);
            created.push(id);
        }
        drop(subscription);
        emit("event_from_return", "c_pull", Unit::Us, &from_return, json!({}));
        emit("event_from_call", "c_pull", Unit::Us, &from_call, json!({}));
        for id in created {
            self.client.delete_message(&id).expect("delete");
        }
    }

    /// `stop COUNT`: COUNT subscriptions of each kind, each stopped once its first frame has arrived.
    fn stop(&self, count: usize) {
        let mut handler = Samples::new();
        let mut pull = Samples::new();
        for _ in 0..count {
            let (sender, first) = mpsc::channel::<()>();
            let mut subscription = self
                .client
                .subscribe_identifiers(move |event| {
                    if matches!(event, SubscriptionEvent::Identifiers { .. }) {
                        let _ = sender.send(());
                    }
                })
                .expect("subscribe");
            first.recv_timeout(Duration::from_secs(5)).expect("a first frame");
            let begun = Instant::now();
            subscription.stop();
            handler.push(begun.elapsed(), Unit::Ms);

            let subscription = self.client.subscribe_identifiers_pull().expect("subscribe");
            wait_for(|| match subscription.next_timeout(Duration::from_secs(5)) {
                Ok(SubscriptionEvent::Identifiers { .. }) => Some(true),
                Ok(_) => Some(false),
                Err(_) => None,
            });
            // Stopping is `stop` (returns at once) and the drop that joins the thread.
            let begun = Instant::now();
            subscription.stop();
            drop(subscription);
            pull.push(begun.elapsed(), Unit::Ms);
        }
        emit("stop", "rust_handler", Unit::Ms, &handler, json!({}));
        emit("stop", "rust_pull", Unit::Ms, &pull, json!({}));

        // The C API: `pieces_subscription_free` stops and joins.
        let mut callback = Samples::new();
        let mut pull = Samples::new();
        for _ in 0..count {
            let (sender, events) = mpsc::channel::<(Instant, String)>();
            let subscription = self.c_api.subscribe(Some(sender));
            wait_for(|| {
                let event = events.recv_timeout(Duration::from_secs(5)).ok();
                event.map(|(_, text)| is_full_frame(&text))
            });
            let begun = Instant::now();
            drop(subscription);
            callback.push(begun.elapsed(), Unit::Ms);

            let subscription = self.c_api.subscribe(None);
            wait_for(|| {
                Some(is_full_frame(&String::from_utf8_lossy(
                    subscription.next().bytes(),
                )))
            });
            let begun = Instant::now();
            drop(subscription);
            pull.push(begun.elapsed(), Unit::Ms);
        }
        emit("stop", "c_callback", Unit::Ms, &callback, json!({}));
        emit("stop", "c_pull", Unit::Ms, &pull, json!({}));
    }

    /// `server N`: the stand-in's own cost, seen through a hand-written HTTP client on a plain socket
    /// (no client library at all): the time to the first byte of a snapshot (routing and the cached
    /// body), the time to read it whole into a reused buffer, the time to the first byte right after a
    /// write (when the body is rebuilt), and a create's round trip.
    fn server(&self, expected: usize) {
        let address = self.url.trim_start_matches("http://").to_owned();
        let mut socket = TcpStream::connect(&address).expect("connect");
        socket.set_nodelay(true).expect("nodelay");
        let mut buffer = Vec::new();
        let mut first_byte = Samples::new();
        let mut whole = Samples::new();
        let request = format!("GET /messages HTTP/1.1\r\nHost: {address}\r\n\r\n");
        let mut bytes = 0;
        let started = Instant::now();
        let mut rounds = 0;
        while rounds < self.budget.max_samples
            && (rounds < self.budget.min_samples + 1 || started.elapsed() < self.budget.time / 2)
        {
            let (to_first, total, size) = socket_exchange(&mut socket, request.as_bytes(), &mut buffer);
            if rounds > 0 {
                first_byte.push(to_first, Unit::Ms);
                whole.push(total, Unit::Ms);
            }
            bytes = size;
            rounds += 1;
        }
        let extra = json!({"messages": expected, "bytes": bytes});
        emit(
            "server_first_byte",
            "socket",
            Unit::Ms,
            &first_byte,
            extra.clone(),
        );
        emit("server_snapshot", "socket", Unit::Ms, &whole, extra.clone());

        // After a write the cached body is gone: the next snapshot rebuilds it.
        let mut rebuild = Samples::new();
        let mut create = Samples::new();
        for i in 0..self.budget.min_samples {
            let body = seed_body(&needle_text("server", i));
            let head = format!(
                "POST /messages/create HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n",
                body.len()
            );
            let mut create_request = head.into_bytes();
            create_request.extend_from_slice(&body);
            let (_, total, _) = socket_exchange(&mut socket, &create_request, &mut buffer);
            create.push(total, Unit::Us);
            let id = find_id(&buffer);
            let (to_first, _, _) = socket_exchange(&mut socket, request.as_bytes(), &mut buffer);
            rebuild.push(to_first, Unit::Ms);
            let delete = format!("POST /messages/{id}/delete HTTP/1.1\r\nHost: {address}\r\n\r\n");
            socket_exchange(&mut socket, delete.as_bytes(), &mut buffer);
        }
        // Leave the cache built for whoever comes next.
        socket_exchange(&mut socket, request.as_bytes(), &mut buffer);
        // The smallest exchange there is: what a request costs the stand-in and the loopback at least.
        let health = format!("GET /.well-known/health HTTP/1.1\r\nHost: {address}\r\n\r\n");
        let mut round_trip = Samples::new();
        for _ in 0..200 {
            let (_, total, _) = socket_exchange(&mut socket, health.as_bytes(), &mut buffer);
            round_trip.push(total, Unit::Us);
        }
        emit(
            "server_rebuild_first_byte",
            "socket",
            Unit::Ms,
            &rebuild,
            extra.clone(),
        );
        emit("server_create", "socket", Unit::Us, &create, extra.clone());
        emit("server_health", "socket", Unit::Us, &round_trip, extra);
    }

    /// `count snapshot N CLIENT`: one snapshot after a warm-up one, inside [`counted`].
    fn count_snapshot(&self, expected: usize, client: Snapshotter) {
        let (messages, _, warm_up) = self.snapshot_once(client);
        assert!(
            messages.is_none_or(|messages| messages == expected),
            "the store holds {expected}"
        );
        drop(warm_up);
        let mut result = None;
        counted(&mut || result = Some(self.snapshot_once(client)));
        drop(result);
        println!(
            "BENCH {}",
            json!({"case": "count_snapshot", "client": client.name(), "messages": expected})
        );
    }

    /// `count KIND COUNT CALLER`: COUNT creates, searches and deletes after a warm-up call of each, and
    /// only those of KIND inside [`counted`].
    fn count_calls(&self, kind: &str, count: usize, caller: Caller) {
        let tag = format!("count-{kind}-{}", caller.name());
        let warm_up = self.create(caller, needle_text(&tag, count));
        assert!(self.search(caller, needle(&tag, count)));
        self.delete(caller, &warm_up);
        let mut ids = Vec::with_capacity(count);
        let step = |kind_of_step: &str, run: &mut dyn FnMut()| {
            if kind_of_step == kind {
                counted(run)
            } else {
                run()
            }
        };
        step("create", &mut || {
            ids = (0..count)
                .map(|i| self.create(caller, needle_text(&tag, i)))
                .collect();
        });
        step("search", &mut || {
            for i in 0..count {
                assert!(self.search(caller, needle(&tag, i)), "the search finds it");
            }
        });
        step("delete", &mut || {
            ids.iter().for_each(|id| self.delete(caller, id))
        });
        println!(
            "BENCH {}",
            json!({"case": "count_calls", "client": caller.name(), "kind": kind, "calls": count})
        );
    }

    /// `rss CLIENT`: one snapshot, then the process's peak resident set size (getrusage), with the peak
    /// before the call for comparison.
    fn rss(&self, client: &str) {
        let client = Snapshotter::parse(client).unwrap_or_else(|| usage());
        let before = peak_rss_kb();
        let begun = Instant::now();
        let (messages, bytes, result) = self.snapshot_once(client);
        let elapsed = begun.elapsed();
        let after = peak_rss_kb();
        drop(result);
        println!(
            "BENCH {}",
            json!({"case": "rss", "client": client.name(), "messages": messages,
                   "bytes": bytes, "peak_rss_kb": after, "peak_rss_before_kb": before,
                   "ms": round(elapsed.as_secs_f64() * 1e3)})
        );
    }
}

/// Runs `step`; `valgrind --tool=callgrind --toggle-collect=compare::counted` counts the instructions
/// inside it, and only those.
#[inline(never)]
fn counted(step: &mut dyn FnMut()) {
    step();
    std::hint::black_box(());
}

/// The peak resident set size of this process so far, in KiB.
fn peak_rss_kb() -> i64 {
    // SAFETY: getrusage only writes into the zeroed struct it is given.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage.ru_maxrss
    }
}

/// A word only message `i` of `tag` holds, so a search for it finds exactly that message.
fn needle(tag: &str, i: usize) -> String {
    format!("needle-{tag}-{i:06}")
}

fn needle_text(tag: &str, i: usize) -> String {
    format!("How do I keep a borrow alive across an await? {}", needle(tag, i))
}

/// The SeededConversationMessage the raw floor sends: what `SeededConversationMessage::user_text`
/// serializes to.
fn seed_body(text: &str) -> Vec<u8> {
    serde_json::to_vec(&SeededConversationMessage::user_text(CONVERSATION, text)).expect("serializable")
}

/// The `"id"` of a created message, found by a plain byte search (the raw floor parses nothing). The
/// stand-in writes the id after the fields of the seed, and no seed here holds the text `"id":"`
/// elsewhere.
fn find_id(body: &[u8]) -> String {
    let text = std::str::from_utf8(body).expect("UTF-8");
    let marker = "\"id\":\"";
    let start = text
        .rfind(marker)
        .map(|at| at + marker.len())
        .expect("an id in the answer");
    let end = start + text[start..].find('"').expect("a closed id");
    text[start..end].to_owned()
}

fn frame_ids(frame: &pieces_os_client::models::StreamedIdentifiers) -> Vec<String> {
    frame
        .iterable
        .iter()
        .filter_map(|item| item.conversation_message.as_ref().map(|m| m.id.clone()))
        .collect()
}

/// Calls `next` until it says `Some(true)`; panics when it says `None` (nothing arrived in time).
fn wait_for(mut next: impl FnMut() -> Option<bool>) {
    for _ in 0..100 {
        match next() {
            Some(true) => return,
            Some(false) => {}
            None => panic!("the subscription sent nothing in time"),
        }
    }
    panic!("no full frame among the first 100 events");
}

/// Sends one request on a kept-alive socket and reads the answer into `buffer` (head skipped). Returns
/// the time to the first byte of the answer, the time to its last byte, and the body's length.
fn socket_exchange(
    socket: &mut TcpStream,
    request: &[u8],
    buffer: &mut Vec<u8>,
) -> (Duration, Duration, usize) {
    let begun = Instant::now();
    socket.write_all(request).expect("write");
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 16 * 1024];
    let mut first = None;
    let (length, rest) = loop {
        let n = socket.read(&mut chunk).expect("read");
        assert!(n > 0, "the server closed the connection");
        first.get_or_insert_with(|| begun.elapsed());
        head.extend_from_slice(&chunk[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            let text = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
            let length = text
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map(|value| value.trim().parse::<usize>().expect("a length"))
                .unwrap_or(0);
            break (length, head[end + 4..].to_vec());
        }
    };
    buffer.clear();
    buffer.reserve(length);
    buffer.extend_from_slice(&rest);
    let mut remaining = length - rest.len();
    // Reads straight into the buffer's spare capacity, as the best client could.
    buffer.resize(length, 0);
    let mut at = rest.len();
    while remaining > 0 {
        let n = socket.read(&mut buffer[at..]).expect("read");
        assert!(n > 0, "the server closed the connection");
        at += n;
        remaining -= n;
    }
    (first.unwrap_or_default(), begun.elapsed(), length)
}
