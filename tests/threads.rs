//! No thread outlives its handle. This file holds one test on purpose: it counts the threads of the
//! whole process, which other tests running in parallel would disturb.

mod common;

use std::time::{Duration, Instant};

use common::{client_for, server_with, settled_thread_count, thread_count_back_to};
use pieces_os_client::SubscriptionEvent;

#[test]
fn a_hundred_subscribe_stop_cycles_leave_no_thread_behind() {
    let server = server_with(3);
    let client = client_for(&server);
    // Warm up, so threads the stand-in keeps for its own sake are counted in the baseline.
    drop(client.subscribe_identifiers(|_| {}).unwrap());
    // The stand-in's connection threads end a moment after their sockets close: wait until the count
    // holds still (bounded), with no WebSocket open.
    let baseline = settled_thread_count(&server);

    for cycle in 0..100 {
        if cycle % 2 == 0 {
            let (sender, events) = std::sync::mpsc::channel();
            let mut subscription = client
                .subscribe_identifiers(move |event| {
                    let _ = sender.send(event);
                })
                .unwrap();
            // Half of the cycles stop while connected and reading, half right away.
            if cycle % 4 == 0 {
                let deadline = Instant::now() + Duration::from_secs(10);
                while !matches!(
                    events.recv_timeout(Duration::from_millis(100)),
                    Ok(SubscriptionEvent::Identifiers { .. })
                ) {
                    assert!(Instant::now() < deadline, "no frame in cycle {cycle}");
                }
            }
            subscription.stop();
        } else {
            let pull = client.subscribe_identifiers_pull().unwrap();
            pull.stop();
            drop(pull);
        }
    }
    // The client's own threads are joined by the time stop/drop returns; the stand-in's per-connection
    // threads end when they notice their sockets closed, so give those a moment.
    let after = thread_count_back_to(baseline);
    assert!(
        after <= baseline,
        "threads before: {baseline}, after 100 cycles: {after}"
    );
}
