//! A request starts no thread. This file holds one test on purpose: it counts the threads the whole
//! process starts, which other tests running in parallel would disturb.
//!
//! ureq resolves the host before every request, and with a global timeout set (as the client sets it)
//! its default resolver does that on a new thread each time; the client reads an IP address itself.

mod common;

use std::time::Duration;

use common::{client_for, server_with};

/// How many threads Rust has started in this process so far: std numbers every thread it starts, from
/// one process-wide counter, so the number of a thread started now is that count.
fn threads_started() -> u64 {
    let id = std::thread::spawn(|| std::thread::current().id())
        .join()
        .expect("the probe thread ends");
    // `ThreadId(17)`: the format is not promised, so a change makes this fail rather than pass.
    let text = format!("{id:?}");
    text.strip_prefix("ThreadId(")
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("a thread id reads {text}"))
}

/// The threads `requests` started, not counting the probe that counts them.
fn threads_started_by(requests: impl FnOnce()) -> u64 {
    let before = threads_started();
    requests();
    threads_started() - before - 1
}

#[test]
fn requests_to_an_ip_address_start_no_thread() {
    const REQUESTS: u64 = 50;
    // An empty store: the stand-in starts no thread of its own for these requests once each client's
    // connection is open (the first request of each, made before counting).
    let server = server_with(0);
    let url = format!("{}/.well-known/health", server.url());

    // What the client did before it resolved addresses itself, and what the count must see: ureq with its
    // own resolver and a global timeout starts one thread per request.
    let plain: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let get = |agent: &ureq::Agent| {
        let mut answer = agent.get(&url).call().expect("the stand-in answers");
        answer.body_mut().read_to_vec().expect("the body reads");
    };
    get(&plain);
    let started = threads_started_by(|| (0..REQUESTS).for_each(|_| get(&plain)));
    assert_eq!(
        started, REQUESTS,
        "ureq's resolver with a timeout: one thread per request"
    );

    let client = client_for(&server);
    assert!(
        client.config().request_timeout.is_some(),
        "the case that spawned threads"
    );
    client.health().expect("the stand-in answers");
    let started = threads_started_by(|| {
        for _ in 0..REQUESTS {
            client.health().expect("the stand-in answers");
            client
                .snapshot_messages(pieces_os_client::Transferables::Default)
                .expect("the stand-in answers");
        }
    });
    assert_eq!(started, 0, "threads started by {} requests", 2 * REQUESTS);
}
