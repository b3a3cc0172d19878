//! No mirror thread outlives its handle. This file holds one test on purpose: it counts the threads of the
//! whole process, which other tests running in parallel would disturb.

mod common;

use std::time::{Duration, Instant};

use common::{server_with, settled_thread_count, thread_count_back_to};
use pieces_os_client::{Client, ClientConfig, MirrorEvent, MirrorOptions, StreamConfig};

#[test]
fn sixty_mirrors_started_and_stopped_every_way_leave_no_thread_behind() {
    let server = server_with(20);
    // A pull queue of one event: a mirror that nobody reads waits for room during its first sync.
    let client = Client::new(
        ClientConfig::default()
            .with_base_url(server.url())
            .with_stream(StreamConfig::default().with_queue_capacity(1)),
    )
    .unwrap();
    // Warm up, so threads the stand-in keeps for its own sake are counted in the baseline.
    let warm = client.mirror(MirrorOptions::default(), |_, _| {}).unwrap();
    assert!(warm.wait_synced(Duration::from_secs(10)));
    drop(warm);
    // The stand-in's connection threads end a moment after their sockets close: wait until the count
    // holds still (bounded), with no WebSocket open.
    let baseline = settled_thread_count(&server);

    for cycle in 0..60 {
        match cycle % 4 {
            // A handler mirror stopped once synced.
            0 => {
                let mut mirror = client.mirror(MirrorOptions::default(), |_, _| {}).unwrap();
                assert!(mirror.wait_synced(Duration::from_secs(10)), "cycle {cycle}");
                mirror.stop();
            }
            // A handler mirror that stops itself from inside its handler, then is dropped.
            1 => {
                let mirror = client
                    .mirror(MirrorOptions::default(), |reader, event| {
                        if matches!(event, MirrorEvent::Added(_)) {
                            reader.stopper().stop();
                        }
                    })
                    .unwrap();
                let deadline = Instant::now() + Duration::from_secs(10);
                while !mirror.status().ended {
                    assert!(Instant::now() < deadline, "cycle {cycle}: never ended");
                    std::thread::sleep(Duration::from_millis(5));
                }
                drop(mirror);
            }
            // A pull mirror nobody reads: its thread waits for room in the queue, and the stop wakes it.
            2 => {
                let mirror = client.mirror_pull(MirrorOptions::default()).unwrap();
                let deadline = Instant::now() + Duration::from_secs(10);
                while mirror.len() < 20 && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
                std::thread::sleep(Duration::from_millis(20));
                let stopped = Instant::now();
                mirror.stop();
                drop(mirror);
                assert!(
                    stopped.elapsed() < Duration::from_secs(2),
                    "cycle {cycle}: stop and join took {:?}",
                    stopped.elapsed()
                );
            }
            // Dropped right away.
            _ => drop(client.mirror_pull(MirrorOptions::default()).unwrap()),
        }
    }
    // The client's own threads are joined by the time stop/drop returns; the stand-in's per-connection
    // threads end when they notice their sockets closed, so give those a moment.
    let after = thread_count_back_to(baseline);
    assert!(
        after <= baseline,
        "threads before: {baseline}, after 60 cycles: {after}"
    );
}
