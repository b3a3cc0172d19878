//! Decoding and checking one response body in isolation: no socket, no server, one body in memory.
//!
//! `benches/compare.sh` measures clients end to end, where the network and the server's time hide what
//! the decode costs and wall times on a shared machine wander. This bench runs one step on one body so
//! that `valgrind --tool=callgrind` can count its instructions (stable where wall time is not) and
//! `/usr/bin/time -v` its peak memory; `benches/decode.sh` runs it that way and prints the figures
//! BENCHMARKS.md records ("Decoding and checking").
//!
//! ```text
//! cargo bench --bench decode -- STEP [--messages N | --body FILE] [--repeat R]
//! ```
//!
//! STEP is `typed` (the body into `ConversationMessages`, as `Client::snapshot_messages` does), `check`
//! (the JSON-text check, as `Client::snapshot_messages_json` and the C API do), `copy` (a copy of the
//! body, the floor of any step) or `utf8` (the UTF-8 pass alone, which `typed` and `check` both begin
//! with); `save` writes the stand-in's body to `--body FILE` instead. The body is the
//! stand-in's snapshot of N realistic messages (default 1 000, about 5 MB), fetched once from an
//! in-process stand-in, or a file. The step runs R times (default 5); each run is timed, in wall time and
//! in the thread's CPU time, and the medians printed. Callgrind counts only inside the step's own function (`--toggle-collect=decode::STEP`),
//! so neither the stand-in, the setup nor the freeing of the result is counted.

mod common;

use std::hint::black_box;
use std::time::Instant;

use common::thread_cpu_time;
use pieces_os_client::__private::Model;
use pieces_os_client::models::ConversationMessages;
use pieces_os_client::server::{Server, ServerConfig};
use pieces_os_client::{Client, ClientConfig, Transferables};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|arg| arg != "--bench").collect();
    let usage =
        "usage: decode STEP [--messages N | --body FILE] [--repeat R]; STEP: typed, check, copy, utf8, save";
    let step = args.first().expect(usage).clone();
    let mut messages = 1_000;
    let mut file = None;
    let mut repeat = 5;
    let mut rest = args[1..].iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().expect(usage);
        match flag.as_str() {
            "--messages" => messages = value.parse().expect("--messages takes a number"),
            "--body" => file = Some(value.clone()),
            "--repeat" => repeat = value.parse().expect("--repeat takes a number"),
            _ => panic!("{usage}"),
        }
    }
    if step == "save" {
        let path = file.expect("save writes the body to --body FILE");
        std::fs::write(&path, stand_in_snapshot(messages)).unwrap_or_else(|err| panic!("{path}: {err}"));
        return;
    }
    let body = match file {
        Some(path) => std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}")),
        None => stand_in_snapshot(messages),
    };

    let mut times = Vec::new();
    let mut cpu_times = Vec::new();
    for _ in 0..repeat {
        // The copy handed to the step is made outside the measured call.
        let input = body.clone();
        let cpu_started = thread_cpu_time();
        let started = Instant::now();
        measured_step(&step, input);
        times.push(started.elapsed());
        cpu_times.push(thread_cpu_time() - cpu_started);
    }
    times.sort();
    cpu_times.sort();
    let median = times[times.len() / 2];
    let cpu = cpu_times[cpu_times.len() / 2];
    let megabytes = body.len() as f64 / 1e6;
    println!(
        "{step}: {megabytes:.2} MB, median of {repeat}: {:.2} ms ({:.0} MB/s), thread CPU {:.2} ms",
        median.as_secs_f64() * 1e3,
        megabytes / median.as_secs_f64(),
        cpu.as_secs_f64() * 1e3,
    );
}

/// The step being measured, on a body it owns; what it builds is dropped outside.
#[inline(never)]
fn measured_step(step: &str, body: Vec<u8>) {
    match step {
        "typed" => drop(black_box(typed(&body))),
        "check" => drop(black_box(check(body))),
        "copy" => drop(black_box(copy(&body))),
        "utf8" => drop(black_box(simdutf8::basic::from_utf8(&body).is_ok())),
        other => panic!("unknown step {other:?}"),
    }
}

#[inline(never)]
fn typed(body: &[u8]) -> ConversationMessages {
    pieces_os_client::__private::decode(body).expect("the body decodes")
}

#[inline(never)]
fn copy(body: &[u8]) -> Vec<u8> {
    body.to_vec()
}

#[inline(never)]
fn check(body: Vec<u8>) -> String {
    Model::ConversationMessages
        .checked_text(body)
        .expect("the body passes the check")
}

/// The stand-in's snapshot of `messages` realistic messages, as the server sends it.
fn stand_in_snapshot(messages: usize) -> Vec<u8> {
    let server = Server::start(ServerConfig::default().with_port(0).with_seed_messages(messages))
        .expect("the stand-in starts");
    let client = Client::new(ClientConfig::default().with_base_url(server.url())).expect("a valid config");
    client
        .snapshot_messages_json(Transferables::Default)
        .expect("the stand-in answers")
        .into_bytes()
}
