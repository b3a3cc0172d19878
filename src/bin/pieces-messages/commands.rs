//! The subcommands. Each writes its answer to standard output and returns the exit status.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Write};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use pieces_os_client::models::{
    ConversationMessage, GroupedTimestamp, SearchInput, SeededConversationMessage, StreamedIdentifiers,
};
use pieces_os_client::{Client, Error, Outdated, SubscriptionEvent, Transferables, UrlSource};
use serde_json::json;

use super::args::{Cli, Command};
use super::output::{cut, one_line, short_time, terminal_width, Table};
use super::{interrupt, Failure, EXIT_ERROR, EXIT_INCOMPATIBLE, EXIT_NOT_RUNNING, EXIT_OK};

/// How often `watch` looks at the Ctrl-C flag while no event arrives.
const WATCH_POLL: Duration = Duration::from_millis(100);

/// Runs the command of `cli` with `client`.
pub fn run(cli: &Cli, client: &Client) -> Result<u8, Failure> {
    let mut out = io::stdout().lock();
    if let Command::Status = cli.command {
        return status(client, cli.json, &mut out);
    }
    // Like the official plugins: refuse a PiecesOS of another major version before touching its data.
    // This also finds PiecesOS, so "not running" is reported here, before anything else.
    if cli.no_version_check {
        client.base_url()?;
    } else {
        client.check_version()?;
    }
    let transferables = |no_transferables: bool| {
        if no_transferables {
            Transferables::Exclude
        } else {
            Transferables::Default
        }
    };
    match &cli.command {
        Command::Status => unreachable!("handled above"),
        Command::List { no_transferables } => {
            list(client, transferables(*no_transferables), cli.json, &mut out)
        }
        Command::Create {
            conversation,
            role,
            text,
        } => {
            let text = if text == "-" { read_stdin()? } else { text.clone() };
            let seed = SeededConversationMessage::new(
                (*role).into(),
                pieces_os_client::models::FragmentFormat::text(text),
            )
            .with_conversation(conversation);
            create(client, &seed, cli.json, &mut out)
        }
        Command::Delete { ids } => delete(client, ids, cli.json, &mut out),
        Command::Search {
            query,
            no_transferables,
        } => search(
            client,
            &query.join(" "),
            transferables(*no_transferables),
            cli.json,
            &mut out,
        ),
        Command::Watch => watch(client, cli.json, &mut out),
    }
}

/// `status`: where PiecesOS is, its version, and whether it is supported. "Not running" (3) and
/// "incompatible" (4) are answers here, printed on standard output like the others.
fn status(client: &Client, json: bool, out: &mut impl Write) -> Result<u8, Failure> {
    let source = client.url_source();
    let (source_name, ports) = match source {
        UrlSource::Config => ("url", None),
        UrlSource::Environment => ("environment", None),
        UrlSource::Scan(ports) => ("scan", Some(ports.to_string())),
        _ => ("other", None),
    };
    let required = client.config().compatible_versions;
    let url = match client.base_url() {
        Ok(url) => url,
        Err(Error::NotRunning { scanned }) => {
            if json {
                let report = json!({"running": false, "source": source_name, "ports": scanned.to_string()});
                writeln!(out, "{report}")?;
            } else {
                writeln!(
                    out,
                    "PiecesOS    not running (nothing answered on 127.0.0.1 ports {scanned})"
                )?;
            }
            return Ok(EXIT_NOT_RUNNING);
        }
        Err(other) => return Err(other.into()),
    };
    client.health()?;
    let version = client.version()?;
    let checked = required.check(&version);
    let compatible = match &checked {
        Ok(()) => true,
        Err(Error::IncompatibleVersion { .. }) => false,
        Err(_) => return Err(checked.unwrap_err().into()),
    };
    if json {
        let mut report = json!({
            "running": true,
            "url": url,
            "source": source_name,
            "ports": ports,
            "version": version,
            "compatible": compatible,
            "required": required.to_string(),
        });
        if let Err(Error::IncompatibleVersion { outdated, .. }) = &checked {
            report["update"] = json!(match outdated {
                Outdated::PiecesOs => "pieces-os",
                Outdated::Client => "client",
            });
            report["message"] = json!(checked.as_ref().unwrap_err().to_string());
        }
        writeln!(out, "{report}")?;
    } else {
        writeln!(out, "PiecesOS    running")?;
        writeln!(out, "URL         {url} ({source})")?;
        writeln!(out, "version     {}", one_line(&version))?;
        match &checked {
            Ok(()) => writeln!(out, "compatible  yes (this client supports PiecesOS {required})")?,
            Err(error) => writeln!(out, "compatible  no: {}", one_line(&error.to_string()))?,
        }
    }
    Ok(if compatible { EXIT_OK } else { EXIT_INCOMPATIBLE })
}

/// `list`: every message, grouped by conversation, oldest first.
fn list(
    client: &Client,
    transferables: Transferables,
    json: bool,
    out: &mut impl Write,
) -> Result<u8, Failure> {
    if json {
        writeln!(out, "{}", client.snapshot_messages_json(transferables)?)?;
        return Ok(EXIT_OK);
    }
    let messages = client.snapshot_messages(transferables)?.iterable;
    if messages.is_empty() {
        writeln!(out, "no messages")?;
        return Ok(EXIT_OK);
    }
    let mut groups: BTreeMap<&str, Vec<&ConversationMessage>> = BTreeMap::new();
    for message in &messages {
        groups.entry(message.conversation_id()).or_default().push(message);
    }
    let mut groups: Vec<(&str, Vec<&ConversationMessage>)> = groups.into_iter().collect();
    for (_, group) in &mut groups {
        group.sort_by_key(|message| time_key(&message.created));
    }
    groups.sort_by_key(|(_, group)| time_key(&group[0].created));
    let mut table = Table::new();
    for (index, (conversation, group)) in groups.iter().enumerate() {
        if index > 0 {
            table.line(String::new());
        }
        let count = group.len();
        let plural = if count == 1 { "" } else { "s" };
        table.line(format!(
            "conversation {} ({count} message{plural})",
            one_line(conversation)
        ));
        for message in group {
            table.row(vec![
                format!("  {}", one_line(&message.id)),
                one_line(message.role.as_str()),
                short_time(&message.created),
                preview(message),
            ]);
        }
    }
    table.write(out, terminal_width())?;
    let conversations = groups.len();
    writeln!(
        out,
        "\n{} message{} in {conversations} conversation{}",
        messages.len(),
        if messages.len() == 1 { "" } else { "s" },
        if conversations == 1 { "" } else { "s" }
    )?;
    Ok(EXIT_OK)
}

/// Sorts by time when the timestamp parses, after those by its text.
fn time_key(timestamp: &GroupedTimestamp) -> (Option<i64>, String) {
    match timestamp.unix_millis() {
        Some(millis) => (Some(millis), String::new()),
        None => (None, timestamp.value.clone()),
    }
}

/// The one-line text of a message, or what stands in for it.
fn preview(message: &ConversationMessage) -> String {
    let text = match message.text() {
        Some(text) => one_line(text),
        None => "(no text)".to_owned(),
    };
    if message.is_deleted() {
        format!("[deleted] {text}")
    } else {
        text
    }
}

/// `create`: one text message.
fn create(
    client: &Client,
    seed: &SeededConversationMessage,
    json: bool,
    out: &mut impl Write,
) -> Result<u8, Failure> {
    if json {
        let seed_json = serde_json::to_string(seed).map_err(|err| Failure::error(err.to_string()))?;
        writeln!(
            out,
            "{}",
            client.create_message_json(&seed_json, Transferables::Default)?
        )?;
    } else {
        let created = client.create_message(seed, Transferables::Default)?;
        writeln!(
            out,
            "created {} ({}) in conversation {}",
            one_line(&created.id),
            one_line(created.role.as_str()),
            one_line(created.conversation_id())
        )?;
    }
    Ok(EXIT_OK)
}

/// The text of `create -`: standard input, without one final line break.
fn read_stdin() -> Result<String, Failure> {
    let mut bytes = Vec::new();
    io::stdin()
        .lock()
        .read_to_end(&mut bytes)
        .map_err(|err| Failure::error(format!("cannot read standard input: {err}")))?;
    let mut text = String::from_utf8(bytes)
        .map_err(|err| Failure::error(format!("standard input is not UTF-8 text: {}", err.utf8_error())))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

/// `delete`: each id in turn. A failed id is reported on standard error and the others are still
/// deleted; the status is then 1. Not finding PiecesOS stops at once.
fn delete(client: &Client, ids: &[String], json: bool, out: &mut impl Write) -> Result<u8, Failure> {
    let mut deleted = Vec::new();
    let mut failed = false;
    for id in ids {
        match client.delete_message(id) {
            Ok(()) => {
                if !json {
                    writeln!(out, "deleted {}", one_line(id))?;
                }
                deleted.push(id.as_str());
            }
            Err(error @ Error::NotRunning { .. }) => return Err(error.into()),
            Err(error) => {
                failed = true;
                let line = one_line(&format!("{}: {error}", one_line(id)));
                let _ = writeln!(io::stderr().lock(), "pieces-messages: error: {line}");
            }
        }
    }
    if json {
        writeln!(out, "{}", json!({ "deleted": deleted }))?;
    }
    Ok(if failed { EXIT_ERROR } else { EXIT_OK })
}

/// `search`: the matches, best first.
fn search(
    client: &Client,
    query: &str,
    transferables: Transferables,
    json: bool,
    out: &mut impl Write,
) -> Result<u8, Failure> {
    let input = SearchInput::query(query);
    if json {
        let input_json = serde_json::to_string(&input).map_err(|err| Failure::error(err.to_string()))?;
        writeln!(
            out,
            "{}",
            client.search_messages_json(&input_json, transferables)?
        )?;
        return Ok(EXIT_OK);
    }
    let mut matches = client.search_messages(&input, transferables)?.iterable;
    if matches.is_empty() {
        writeln!(out, "no matches")?;
        return Ok(EXIT_OK);
    }
    matches.sort_by(|a, b| b.similarity_f64().total_cmp(&a.similarity_f64()));
    let mut table = Table::new();
    table.row(vec!["SCORE".into(), "EXACT".into(), "ID".into(), "TEXT".into()]);
    for found in &matches {
        table.row(vec![
            format!("{:.3}", found.similarity_f64()),
            if found.exact { "yes" } else { "no" }.to_owned(),
            one_line(&found.identifier),
            found
                .message
                .as_ref()
                .map(preview)
                .unwrap_or_else(|| "(no text)".to_owned()),
        ]);
    }
    table.write(out, terminal_width())?;
    let plural = if matches.len() == 1 { "" } else { "es" };
    writeln!(out, "\n{} match{plural}", matches.len())?;
    Ok(EXIT_OK)
}

/// `watch`: the subscription's events until Ctrl-C. Human form: one line per event with the UTC time;
/// JSON form: one object per line (`connected`, `identifiers`, `disconnected`, then `closed`).
fn watch(client: &Client, json: bool, out: &mut impl Write) -> Result<u8, Failure> {
    interrupt::catch();
    let subscription = client.subscribe_identifiers_pull()?;
    let width = terminal_width();
    // The ids of the last full frame and the changes since, to tell new messages from changed ones.
    let mut known: Option<BTreeSet<String>> = None;
    let mut stopping = false;
    loop {
        if !stopping && interrupt::interrupted() {
            stopping = true;
            subscription.stop();
        }
        let event = match subscription.next_timeout(WATCH_POLL) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Ok(EXIT_OK),
        };
        if json {
            writeln!(out, "{}", event.to_json()?)?;
        } else {
            for line in event_lines(&event, &mut known) {
                writeln!(out, "{}", cut(&format!("{} {line}", clock()), width))?;
            }
        }
        out.flush()?;
        match event {
            SubscriptionEvent::Closed => return Ok(EXIT_OK),
            SubscriptionEvent::Failed { error } => return Err(error.into()),
            _ => {}
        }
    }
}

/// The current UTC time of day, `HH:MM:SS`.
fn clock() -> String {
    GroupedTimestamp::now().value[11..19].to_owned()
}

/// The human lines of an event: `+ id` new, `~ id` changed, `- id` deleted.
fn event_lines(event: &SubscriptionEvent, known: &mut Option<BTreeSet<String>>) -> Vec<String> {
    match event {
        SubscriptionEvent::Connected { url } => vec![format!("connected to {}", one_line(url))],
        SubscriptionEvent::Identifiers { frame, full: true } => {
            let now = message_ids(frame);
            let mut lines = vec![format!(
                "{} message{}",
                now.len(),
                if now.len() == 1 { "" } else { "s" }
            )];
            // After a reconnection, what changed while the connection was down.
            if let Some(before) = known.as_ref() {
                lines.extend(now.difference(before).map(|id| format!("+ {}", one_line(id))));
                lines.extend(before.difference(&now).map(|id| format!("- {}", one_line(id))));
            }
            *known = Some(now);
            lines
        }
        SubscriptionEvent::Identifiers { frame, full: false } => {
            let known = known.get_or_insert_with(BTreeSet::new);
            let mut lines = Vec::new();
            for item in &frame.iterable {
                let Some(id) = item.message_id() else { continue };
                let mark = if item.is_deleted() {
                    known.remove(id);
                    '-'
                } else if known.insert(id.to_owned()) {
                    '+'
                } else {
                    '~'
                };
                lines.push(format!("{mark} {}", one_line(id)));
            }
            lines
        }
        SubscriptionEvent::Disconnected { error, retry_in } => vec![format!(
            "disconnected: {}; retrying in {:.1} s",
            one_line(&error.to_string()),
            retry_in.as_secs_f64()
        )],
        SubscriptionEvent::Closed => vec!["stopped".to_owned()],
        SubscriptionEvent::Failed { error } => vec![format!("gave up: {}", one_line(&error.to_string()))],
        _ => Vec::new(),
    }
}

/// The ids of the messages a full frame lists.
fn message_ids(frame: &StreamedIdentifiers) -> BTreeSet<String> {
    frame
        .iterable
        .iter()
        .filter(|item| !item.is_deleted())
        .filter_map(|item| item.message_id().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pieces_os_client::models::StreamedIdentifier;
    use serde_json::Value;

    #[test]
    fn watch_lines_tell_new_changed_and_deleted_messages_apart() {
        let mut known = None;
        let full = |ids: &[&str]| SubscriptionEvent::Identifiers {
            frame: StreamedIdentifiers::new(ids.iter().map(|id| StreamedIdentifier::message(*id)).collect()),
            full: true,
        };
        assert_eq!(event_lines(&full(&["a", "b"]), &mut known), ["2 messages"]);
        let changes = SubscriptionEvent::Identifiers {
            frame: StreamedIdentifiers::new(vec![
                StreamedIdentifier::message("c"),
                StreamedIdentifier::message("a"),
                StreamedIdentifier::deleted_message("b"),
            ]),
            full: false,
        };
        assert_eq!(event_lines(&changes, &mut known), ["+ c", "~ a", "- b"]);
        // After a reconnection the full frame is compared with what was known.
        assert_eq!(
            event_lines(&full(&["a", "d"]), &mut known),
            ["2 messages", "+ d", "- c"]
        );
    }

    #[test]
    fn watch_json_has_the_c_api_event_shape() {
        let event = SubscriptionEvent::Disconnected {
            error: Error::NotRunning {
                scanned: "1-2".parse().unwrap(),
            },
            retry_in: Duration::from_millis(1500),
        };
        let json: Value = serde_json::from_str(&event.to_json().unwrap()).unwrap();
        assert_eq!(json["type"], "disconnected");
        assert_eq!(json["error"]["kind"], "not_running");
        assert_eq!(json["retry_in_ms"], 1500);
        let frame = SubscriptionEvent::Identifiers {
            frame: StreamedIdentifiers::new(vec![StreamedIdentifier::message("m1")]),
            full: true,
        };
        let json: Value = serde_json::from_str(&frame.to_json().unwrap()).unwrap();
        assert_eq!(json["data"]["iterable"][0]["conversationMessage"]["id"], "m1");
    }
}
