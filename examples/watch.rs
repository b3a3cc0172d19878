//! Prints conversation-message changes live, reconnecting through drops, until Ctrl-C.
//!
//! With `PIECES_OS_URL` set it watches that PiecesOS; otherwise it starts the stand-in in-process and makes
//! a little activity there (a create or delete every 700 ms, and a dropped WebSocket now and then) so there
//! is something to see. An optional argument stops it cleanly after that many seconds.
//!
//! ```text
//! cargo run --example watch            # until Ctrl-C
//! cargo run --example watch -- 5       # five seconds, then a clean stop
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pieces_os_client::models::SeededConversationMessage;
use pieces_os_client::server::{DropMode, Server, ServerConfig};
use pieces_os_client::{Client, ClientConfig, LiveIds, SubscriptionEvent, Transferables};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let run_for = std::env::args()
        .nth(1)
        .map(|s| s.parse::<u64>())
        .transpose()?
        .map(Duration::from_secs);
    let (server, config) = match std::env::var("PIECES_OS_URL") {
        Ok(url) => (None, ClientConfig::default().with_base_url(url)),
        Err(_) => {
            let server = Arc::new(Server::start(ServerConfig::default().with_seed_messages(3))?);
            println!("started the stand-in PiecesOS at {}", server.url());
            let config = ClientConfig::default().with_base_url(server.url());
            (Some(server), config)
        }
    };
    let client = Client::new(config)?;
    let done = Arc::new(AtomicBool::new(false));
    let activity = server.map(|server| {
        let (client, done) = (client.clone(), Arc::clone(&done));
        std::thread::spawn(move || make_activity(&server, &client, &done))
    });

    let subscription = client.subscribe_identifiers_pull()?;
    let mut live = LiveIds::new();
    let started = Instant::now();
    loop {
        if run_for.is_some_and(|limit| started.elapsed() >= limit) {
            subscription.stop();
        }
        let event = match subscription.next_timeout(Duration::from_millis(200)) {
            Ok(event) => event,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        };
        live.apply(&event);
        let at = started.elapsed().as_secs_f32();
        match &event {
            SubscriptionEvent::Connected { url } => println!("{at:6.2}s connected to {url}"),
            SubscriptionEvent::Identifiers { frame, full: true } => {
                println!("{at:6.2}s full set: {} message(s)", frame.iterable.len())
            }
            SubscriptionEvent::Identifiers { frame, full: false } => {
                for item in &frame.iterable {
                    let verb = if item.is_deleted() { "deleted" } else { "changed" };
                    println!(
                        "{at:6.2}s {verb} {}",
                        item.message_id().unwrap_or("(not a message)")
                    );
                }
            }
            SubscriptionEvent::Disconnected { error, retry_in } => {
                println!(
                    "{at:6.2}s disconnected ({error}); retrying in {} ms",
                    retry_in.as_millis()
                )
            }
            SubscriptionEvent::Closed => println!("{at:6.2}s closed; {} message(s) live", live.len()),
            SubscriptionEvent::Failed { error } => println!("{at:6.2}s failed: {error}"),
            other => println!("{at:6.2}s {other:?}"),
        }
    }
    done.store(true, Ordering::Relaxed);
    if let Some(activity) = activity {
        activity.join().expect("the activity thread does not panic");
    }
    Ok(())
}

/// Creates and deletes messages and drops the stream now and then, until `done`.
fn make_activity(server: &Server, client: &Client, done: &AtomicBool) {
    let mut step = 0u32;
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(700));
        step += 1;
        let result = match step % 5 {
            0 => {
                server.drop_websockets(if step % 2 == 0 {
                    DropMode::Close
                } else {
                    DropMode::Cut
                });
                Ok(())
            }
            3 => match server.message_ids().first() {
                Some(id) => client.delete_message(id),
                None => Ok(()),
            },
            _ => {
                let seed = SeededConversationMessage::user_text("watch-demo", format!("message {step}"));
                client.create_message(&seed, Transferables::Exclude).map(drop)
            }
        };
        if let Err(err) = result {
            eprintln!("activity: {err}");
        }
    }
}
