//! A walk through the conversation-messages API: create, snapshot, search, delete, with the identifier
//! stream announcing the changes.
//!
//! With `PIECES_OS_URL` set (and `PIECES_OS_APPLICATION_ID` if your PiecesOS wants one) it talks to that
//! server; otherwise it starts the bundled stand-in PiecesOS in-process on an ephemeral loopback port.
//!
//! ```text
//! cargo run --example tour
//! PIECES_OS_URL=http://127.0.0.1:39300 cargo run --example tour
//! ```

use std::process::ExitCode;

use pieces_os_client::models::{SearchInput, SeededConversationMessage};
use pieces_os_client::server::{Server, ServerConfig};
use pieces_os_client::{Client, ClientConfig, Transferables};

fn main() -> ExitCode {
    match tour() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tour failed: {err}");
            ExitCode::FAILURE
        }
    }
}

fn tour() -> Result<(), Box<dyn std::error::Error>> {
    // Kept alive until the end of the tour; `None` when a real PiecesOS was named.
    let (_server, config) = match std::env::var("PIECES_OS_URL") {
        Ok(url) => {
            let mut config = ClientConfig::default().with_base_url(url);
            if let Ok(id) = std::env::var("PIECES_OS_APPLICATION_ID") {
                config = config.with_application_id(id);
            }
            (None, config)
        }
        Err(_) => {
            let server = Server::start(ServerConfig::default().with_seed_messages(3))?;
            println!("started the stand-in PiecesOS at {}", server.url());
            let config = ClientConfig::default().with_base_url(server.url());
            (Some(server), config)
        }
    };
    let client = Client::new(config)?;
    println!("talking to {}", client.base_url());

    let before = client.snapshot_messages(Transferables::Exclude)?;
    println!("snapshot: {} messages", before.iterable.len());

    let mut stream = client.stream_identifiers()?;
    let full_set = stream
        .next_timeout(STREAM_WAIT)?
        .ok_or("the stream sent no full set")?;
    println!(
        "stream:   connected; the full set lists {} ids",
        full_set.iterable.len()
    );

    let conversation = before
        .iterable
        .first()
        .map(|m| m.conversation.id.clone())
        .unwrap_or_else(|| "tour-conversation".to_owned());
    let seed =
        SeededConversationMessage::user_text(&conversation, "How do I read a file line by line in Rust? 🦀");
    let created = client.create_message(&seed, Transferables::Default)?;
    println!(
        "created:  {} ({:?}, in conversation {}) at {}",
        created.id, created.role, created.conversation.id, created.created.value
    );

    announced(&mut stream, &created.id, false)?;

    let after = client.snapshot_messages(Transferables::Exclude)?;
    println!("snapshot: {} messages", after.iterable.len());

    let found = client.search_messages(&SearchInput::query("line by line"), Transferables::Include)?;
    println!("search \"line by line\": {} hit(s)", found.iterable.len());
    for hit in &found.iterable {
        let text = hit.message.as_ref().and_then(|m| m.text()).unwrap_or("");
        println!(
            "  {} exact={} similarity={:.2} {:?}",
            hit.identifier,
            hit.exact,
            hit.similarity_f64(),
            preview(text, 48)
        );
    }
    if !found.iterable.iter().any(|hit| hit.identifier == created.id) {
        return Err("the message just created was not found by search".into());
    }

    client.delete_message(&created.id)?;
    println!("deleted:  {}", created.id);
    announced(&mut stream, &created.id, true)?;
    let last = client.snapshot_messages(Transferables::Exclude)?;
    println!("snapshot: {} messages", last.iterable.len());
    if last.iterable.len() != before.iterable.len() {
        return Err("the snapshot did not shrink back after the delete".into());
    }
    Ok(())
}

/// How long the tour waits for the stream to announce a change.
const STREAM_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Waits for the stream to announce that `id` changed (or was deleted), and says so.
fn announced(
    stream: &mut pieces_os_client::IdentifierStream,
    id: &str,
    deleted: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let deadline = std::time::Instant::now() + STREAM_WAIT;
    while std::time::Instant::now() < deadline {
        let Some(frame) = stream.next_timeout(STREAM_WAIT)? else {
            break;
        };
        if frame
            .iterable
            .iter()
            .any(|item| item.message_id() == Some(id) && item.is_deleted() == deleted)
        {
            let what = if deleted { "deletion" } else { "creation" };
            println!("stream:   announced the {what} of {id}");
            return Ok(());
        }
    }
    Err(format!("the stream did not announce {id} within {STREAM_WAIT:?}").into())
}

/// The first `max` characters of `text` on one line.
fn preview(text: &str, max: usize) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match line.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}
