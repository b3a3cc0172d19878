//! A mirror: every conversation message held locally and kept current, with each change announced with
//! its content.
//!
//! Without `PIECES_OS_URL` it starts the stand-in in-process and plays a short conversation against it
//! (a question, an answer, an edit, a dropped connection, a deletion), then prints the conversation from
//! the mirror and stops. With `PIECES_OS_URL` set it follows that PiecesOS for the given number of
//! seconds (default 30) and prints what changes.
//!
//! ```text
//! cargo run --example mirror
//! PIECES_OS_URL=http://127.0.0.1:39300 cargo run --example mirror -- 60
//! ```

use std::time::Duration;

use pieces_os_client::models::{Role, SeededConversationMessage};
use pieces_os_client::server::{DropMode, Server, ServerConfig};
use pieces_os_client::{Client, ClientConfig, MirrorEvent, MirrorOptions, MirroredMessage, Transferables};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds = std::env::args().nth(1).map(|s| s.parse::<u64>()).transpose()?;
    let (server, client) = match std::env::var("PIECES_OS_URL") {
        Ok(url) => (None, Client::new(ClientConfig::default().with_base_url(url))?),
        Err(_) => {
            let server = Server::start(ServerConfig::default().with_seed_messages(3))?;
            println!("started the stand-in PiecesOS at {}", server.url());
            let client = Client::with_base_url(server.url())?;
            (Some(server), client)
        }
    };

    // The handler runs on the mirror's thread, after the mirror has applied the change it announces, so
    // it may read the rest of the mirror (here: where a new message stands in its conversation).
    let mut mirror = client.mirror(MirrorOptions::default(), |mirror, event| match event {
        MirrorEvent::Added(message) => {
            let position = mirror
                .conversation(message.conversation_id())
                .iter()
                .position(|m| m.id() == message.id())
                .map_or(0, |at| at + 1);
            println!(
                "+ {} (#{position} of its conversation) {}",
                short(&message),
                preview(&message)
            );
        }
        MirrorEvent::Updated { before, after } => {
            println!("~ {} {} -> {}", short(&after), preview(&before), preview(&after));
        }
        MirrorEvent::Removed(message) => println!("- {} {}", short(&message), preview(&message)),
        MirrorEvent::Synced { count } => println!("= synced: {count} message(s)"),
        MirrorEvent::Stale { error } => println!("! stale (still trying): {error}"),
        MirrorEvent::Disconnected { error, retry_in } => {
            println!(
                "! disconnected ({error}); reconnecting in {} ms",
                retry_in.as_millis()
            )
        }
        MirrorEvent::Closed => println!("closed"),
        MirrorEvent::Failed { error } => println!("failed: {error}"),
        other => println!("{other:?}"),
    })?;
    if !mirror.wait_synced(Duration::from_secs(10)) {
        return Err("the mirror did not sync within 10 s".into());
    }

    match &server {
        Some(server) => play_a_conversation(server, &client, &mirror)?,
        None => std::thread::sleep(Duration::from_secs(seconds.unwrap_or(30))),
    }
    mirror.stop();
    let status = mirror.status();
    println!(
        "{} message(s) held; {} sync(s), {} fetch(es), {} bytes read",
        mirror.len(),
        status.syncs,
        status.fetches,
        status.bytes_read
    );
    Ok(())
}

/// Writes a few messages, edits one, drops the stream and deletes one, waiting for the mirror to follow
/// each step; then prints the conversation as the mirror holds it.
fn play_a_conversation(
    server: &Server,
    client: &Client,
    mirror: &pieces_os_client::Mirror,
) -> Result<(), Box<dyn std::error::Error>> {
    const CONVERSATION: &str = "mirror-demo";
    let question = client.create_message(
        &SeededConversationMessage::user_text(CONVERSATION, "How do I reverse a Vec?"),
        Transferables::Default,
    )?;
    let mut answer = SeededConversationMessage::user_text(CONVERSATION, "Call `reverse()` on it.");
    answer.role = Role::Assistant;
    let answer = client.create_message(&answer, Transferables::Default)?;
    follow(|| mirror.get(&answer.id).is_some())?;

    // An edit: fetch, change one field, send the whole message back.
    let mut edited = client.get_message(&answer.id, Transferables::Default)?;
    edited.fragment = Some(pieces_os_client::models::FragmentFormat::text(
        "Call `v.reverse()`; it works in place.",
    ));
    client.update_message(&edited, Transferables::Default)?;
    follow(|| {
        mirror
            .get(&answer.id)
            .and_then(|m| m.text())
            .is_some_and(|t| t.contains("in place"))
    })?;

    // A lost connection: the mirror reconnects and syncs again.
    let syncs = mirror.status().syncs;
    server.drop_websockets(DropMode::Cut);
    follow(|| mirror.status().syncs > syncs)?;

    let extra = client.create_message(
        &SeededConversationMessage::user_text(CONVERSATION, "Thanks!"),
        Transferables::Default,
    )?;
    follow(|| mirror.get(&extra.id).is_some())?;
    client.delete_message(&extra.id)?;
    follow(|| mirror.get(&extra.id).is_none())?;

    println!("\nthe conversation, as the mirror holds it:");
    for message in mirror.conversation(CONVERSATION) {
        println!("  {} {}", message.created(), preview(&message));
    }
    assert_eq!(mirror.conversation(CONVERSATION)[0].id(), question.id);
    Ok(())
}

/// Waits (up to 10 s) until the mirror shows what `done` looks for.
fn follow(mut done: impl FnMut() -> bool) -> Result<(), Box<dyn std::error::Error>> {
    for _ in 0..1000 {
        if done() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err("the mirror did not follow within 10 s".into())
}

fn short(message: &MirroredMessage) -> &str {
    message.id().get(..8).unwrap_or(message.id())
}

fn preview(message: &MirroredMessage) -> String {
    let text = message.text().unwrap_or_default().replace(char::is_control, " ");
    match text.char_indices().nth(48) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}
