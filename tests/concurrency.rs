//! One `Client` shared by many threads: every call succeeds and nothing is mixed up between them.

mod common;

use std::thread;

use common::{client_for, server_with, user_seed};
use pieces_os_client::models::SearchInput;
use pieces_os_client::Transferables;

const THREADS: usize = 8;
const CALLS_PER_THREAD: usize = 125;

#[test]
fn eight_threads_share_one_client_for_a_thousand_mixed_calls() {
    let server = server_with(20);
    let client = client_for(&server);
    let workers: Vec<_> = (0..THREADS)
        .map(|worker| {
            let client = client.clone();
            thread::Builder::new()
                .name(format!("worker-{worker}"))
                .spawn(move || {
                    let mut mine = Vec::new();
                    for call in 0..CALLS_PER_THREAD {
                        let label = format!("worker {worker} call {call}");
                        match call % 4 {
                            0 | 1 => {
                                let created = client
                                    .create_message(&user_seed("shared", &label), Transferables::Default)
                                    .unwrap_or_else(|e| panic!("{label}: {e}"));
                                assert_eq!(created.text(), Some(label.as_str()));
                                mine.push(created.id);
                            }
                            2 => {
                                let found = client
                                    .search_messages(
                                        &SearchInput::query(format!("worker {worker} ")),
                                        Transferables::Exclude,
                                    )
                                    .unwrap_or_else(|e| panic!("{label}: {e}"));
                                assert!(found.iterable.len() >= mine.len(), "{label}");
                            }
                            _ => {
                                let id = mine.remove(0);
                                client
                                    .delete_message(&id)
                                    .unwrap_or_else(|e| panic!("{label}: {e}"));
                            }
                        }
                    }
                    mine
                })
                .unwrap()
        })
        .collect();
    let mut survivors = Vec::new();
    for worker in workers {
        survivors.extend(worker.join().expect("no worker panicked"));
    }
    let snapshot = client.snapshot_messages(Transferables::Exclude).unwrap();
    assert_eq!(snapshot.iterable.len(), 20 + survivors.len());
    for id in &survivors {
        assert!(snapshot.iterable.iter().any(|m| &m.id == id), "{id} is missing");
    }
}
