//! The subcommands. Each writes its answer to standard output in the [`Mode`] asked for and returns the
//! exit status; failures go back to `main` as a [`CommandError`].

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Write};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use pieces_os_client::models::{
    ConversationMessage, FragmentFormat, GroupedTimestamp, SearchInput, SearchedConversationMessage,
    SeededConversationMessage, StreamedIdentifiers,
};
use pieces_os_client::{
    Client, Error, MirrorEvent, MirrorOptions, MirroredMessage, Outdated, SubscriptionEvent, Transferables,
    UrlSource,
};
use serde_json::json;

use super::args::{Cli, Command, RoleArg, VersionCheck};
use super::errors::{
    describe_stream, CommandError, EXIT_ERROR, EXIT_INCOMPATIBLE, EXIT_NOT_RUNNING, EXIT_OK,
};
use super::ids::{Lookup, ShortIds};
use super::output::{counted, fit, full_time, one_line, safe_text, short_time, Screen, Table};
use super::progress::Progress;
use super::selection::{time_key, Filter};
use super::{generate, interrupt};

/// How often `watch` looks at the Ctrl-C flag while no event arrives.
const WATCH_POLL: Duration = Duration::from_millis(100);

/// How a command prints its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `--json`: the server's JSON (one event per line for `watch`).
    Json,
    /// `-q`: ids only, one per line.
    Quiet,
    /// Lines for people at a terminal, or tab-separated records for programs (see [`Screen`]).
    Lines(Screen),
}

impl Mode {
    fn of(cli: &Cli) -> Mode {
        if cli.json {
            Mode::Json
        } else if cli.quiet {
            Mode::Quiet
        } else {
            Mode::Lines(Screen::of_stdout())
        }
    }

    /// The ids to show: short ones to a person at a terminal, full ones to everyone else.
    fn ids<'a>(self, ids: impl IntoIterator<Item = &'a str>) -> ShortIds {
        match self {
            Mode::Lines(screen) if screen.is_terminal() => ShortIds::new(ids),
            _ => ShortIds::full(),
        }
    }

    /// Whether a person reads standard output.
    fn to_terminal(self) -> bool {
        matches!(self, Mode::Lines(screen) if screen.is_terminal())
    }
}

/// What every command needs besides its own arguments.
struct Context<'a> {
    client: &'a Client,
    mode: Mode,
    /// Whether a slow step may draw a progress line: not with `-v`, whose lines would cut through it.
    progress: bool,
}

impl Context<'_> {
    fn progress(&self, what: &'static str) -> Progress {
        Progress::start(what, self.progress)
    }
}

/// Runs the command of `cli`; `connect` makes the client for the commands that need one.
pub fn run(
    cli: &Cli,
    connect: impl FnOnce(&Cli) -> Result<Client, CommandError>,
) -> Result<u8, CommandError> {
    let mut out = io::stdout().lock();
    let mode = Mode::of(cli);
    // Connects; for a command that touches messages, finds PiecesOS and checks its version first, as the
    // official plugins do, so that "not running" and "incompatible" are reported before anything else.
    let ready = |check: Option<VersionCheck>| -> Result<Client, CommandError> {
        let client = connect(cli)?;
        if let Some(check) = check {
            locate(&client)?;
            if !check.skip {
                client
                    .check_version()
                    .map_err(CommandError::during("version check"))?;
            }
        }
        Ok(client)
    };
    let cx = |client| Context {
        client,
        mode,
        // A progress line would be cut through by the lines of -v.
        progress: !cli.verbose,
    };
    let transferables = |no_transferables: bool| {
        if no_transferables {
            Transferables::Exclude
        } else {
            Transferables::Default
        }
    };
    match &cli.command {
        Command::Completions { shell } => generate::completions(*shell, &mut out),
        Command::Man { dir } => generate::man(dir.as_deref(), &mut out),
        Command::Status => status(&cx(&ready(None)?), &mut out),
        Command::List {
            conversation,
            limit,
            no_transferables,
            check,
        } => list(
            &cx(&ready(Some(*check))?),
            filter(conversation, *limit),
            transferables(*no_transferables),
            &mut out,
        ),
        Command::Create {
            conversation,
            role,
            text,
            check,
        } => create(&cx(&ready(Some(*check))?), conversation, *role, text, &mut out),
        Command::Delete { ids, check } => delete(&cx(&ready(Some(*check))?), ids, &mut out),
        Command::Search {
            query,
            conversation,
            limit,
            no_transferables,
            check,
        } => search(
            &cx(&ready(Some(*check))?),
            &query.join(" "),
            filter(conversation, *limit),
            transferables(*no_transferables),
            &mut out,
        ),
        Command::Get {
            id,
            no_transferables,
            check,
        } => get(
            &cx(&ready(Some(*check))?),
            id,
            transferables(*no_transferables),
            &mut out,
        ),
        Command::Update { id, text, check } => update(&cx(&ready(Some(*check))?), id, text, &mut out),
        Command::Watch {
            content: false,
            check,
        } => watch(&cx(&ready(Some(*check))?), &mut out),
        Command::Watch { content: true, check } => watch_content(&cx(&ready(Some(*check))?), &mut out),
    }
}

/// What `--conversation` and `--limit` ask for.
fn filter(conversation: &Option<String>, limit: Option<u32>) -> Filter<'_> {
    Filter {
        conversation: conversation.as_deref(),
        limit: limit.map(|limit| limit as usize),
    }
}

/// The base URL of PiecesOS, finding it if need be; `-v` tells where it is and how it was found.
fn locate(client: &Client) -> Result<String, CommandError> {
    let url = client.base_url()?;
    log::debug!(target: "pieces_messages", "PiecesOS at {url} ({})", client.url_source());
    Ok(url)
}

/// `status`: where PiecesOS is, its version, and whether it is supported. "Not running" (3) and
/// "incompatible" (4) are answers here, printed on standard output like the others; `-q` prints
/// nothing and leaves the answer to the exit status.
fn status(cx: &Context<'_>, out: &mut impl Write) -> Result<u8, CommandError> {
    let client = cx.client;
    let source = client.url_source();
    let (source_name, ports) = match source {
        UrlSource::Config => ("url", None),
        UrlSource::Environment => ("environment", None),
        UrlSource::Scan(ports) => ("scan", Some(ports.to_string())),
        _ => ("other", None),
    };
    let required = client.config().compatible_versions;
    let url = match locate(client) {
        Ok(url) => url,
        Err(CommandError::Client {
            error: Error::NotRunning { scanned },
            ..
        }) => {
            match cx.mode {
                Mode::Json => {
                    let report =
                        json!({"running": false, "source": source_name, "ports": scanned.to_string()});
                    writeln!(out, "{report}")?;
                }
                Mode::Quiet => {}
                Mode::Lines(_) => writeln!(
                    out,
                    "PiecesOS    not running (nothing answered on 127.0.0.1 ports {scanned})"
                )?,
            }
            return Ok(EXIT_NOT_RUNNING);
        }
        Err(other) => return Err(other),
    };
    client.health().map_err(CommandError::during("health check"))?;
    let version = client.version().map_err(CommandError::during("version check"))?;
    let checked = required.check(&version);
    let compatible = match checked {
        Ok(()) => true,
        Err(Error::IncompatibleVersion { .. }) => false,
        Err(other) => return Err(CommandError::during("version check")(other)),
    };
    match cx.mode {
        Mode::Json => {
            let mut report = json!({
                "running": true,
                "url": url,
                "source": source_name,
                "ports": ports,
                "version": version,
                "compatible": compatible,
                "required": required.to_string(),
            });
            if let Err(error @ Error::IncompatibleVersion { outdated, .. }) = &checked {
                report["update"] = json!(match outdated {
                    Outdated::PiecesOs => "pieces-os",
                    Outdated::Client => "client",
                });
                report["message"] = json!(error.to_string());
            }
            writeln!(out, "{report}")?;
        }
        Mode::Quiet => {}
        Mode::Lines(_) => {
            writeln!(out, "PiecesOS    running")?;
            writeln!(out, "URL         {url} ({source})")?;
            writeln!(out, "version     {}", one_line(&version))?;
            match &checked {
                Ok(()) => writeln!(out, "compatible  yes (this client supports PiecesOS {required})")?,
                Err(error) => writeln!(out, "compatible  no: {}", one_line(&error.to_string()))?,
            }
        }
    }
    Ok(if compatible { EXIT_OK } else { EXIT_INCOMPATIBLE })
}

/// `list`: the messages `filter` keeps, grouped by conversation, oldest first.
fn list(
    cx: &Context<'_>,
    filter: Filter<'_>,
    transferables: Transferables,
    out: &mut impl Write,
) -> Result<u8, CommandError> {
    let failed = || CommandError::during("list");
    if cx.mode == Mode::Json {
        let body = {
            let _progress = cx.progress("reading messages");
            cx.client
                .snapshot_messages_json(transferables)
                .map_err(failed())?
        };
        return write_json(out, &body, filter, Filter::list_json, failed());
    }
    let all = {
        let _progress = cx.progress("reading messages");
        cx.client
            .snapshot_messages(transferables)
            .map_err(failed())?
            .iterable
    };
    let total = all.len();
    let kept = filter.newest(
        all,
        |message| Some(message.conversation_id()),
        |message| time_key(&message.created),
    );
    let groups = by_conversation(&kept);
    let in_order = || groups.iter().flat_map(|(_, group)| group);
    let screen = match cx.mode {
        Mode::Lines(screen) => screen,
        // `--json` was answered above.
        Mode::Quiet | Mode::Json => {
            for message in in_order() {
                writeln!(out, "{}", message.id)?;
            }
            return Ok(EXIT_OK);
        }
    };
    let mut table = Table::new();
    match screen {
        Screen::Pipe => {
            for message in in_order() {
                table.record(record(message));
            }
            table.write(out, screen)?;
        }
        Screen::Terminal { .. } => {
            if kept.is_empty() {
                writeln!(out, "no messages")?;
                return Ok(EXIT_OK);
            }
            let short = cx.mode.ids(kept.iter().map(|message| message.id.as_str()));
            for (index, (conversation, group)) in groups.iter().enumerate() {
                if index > 0 {
                    table.heading(String::new());
                }
                table.heading(format!(
                    "conversation {} ({})",
                    one_line(conversation),
                    counted(group.len(), "message", "messages")
                ));
                for message in group {
                    table.record(vec![
                        format!("  {}", one_line(short.of(&message.id))),
                        one_line(message.role.as_str()),
                        short_time(&message.created),
                        text_of(message, "(no text)"),
                    ]);
                }
            }
            table.write(out, screen)?;
            let shown = if kept.len() == total {
                counted(total, "message", "messages")
            } else {
                format!("{} of {}", kept.len(), counted(total, "message", "messages"))
            };
            let conversations = counted(groups.len(), "conversation", "conversations");
            writeln!(out, "\n{shown} in {conversations}")?;
        }
    }
    Ok(EXIT_OK)
}

/// The record of a message for programs (`list` and `get` in a pipe): id, conversation, role, creation
/// time (RFC 3339, UTC) and the whole text on one line.
fn record(message: &ConversationMessage) -> Vec<String> {
    vec![
        one_line(&message.id),
        one_line(message.conversation_id()),
        one_line(message.role.as_str()),
        full_time(&message.created),
        text_of(message, ""),
    ]
}

/// Writes the server's JSON `body` as it is, or what `select` keeps of it when `filter` asks for a part.
fn write_json<'f>(
    out: &mut impl Write,
    body: &str,
    filter: Filter<'f>,
    select: impl FnOnce(&Filter<'f>, &str) -> Result<String, Error>,
    failed: impl FnOnce(Error) -> CommandError,
) -> Result<u8, CommandError> {
    if filter.is_none() {
        writeln!(out, "{body}")?;
    } else {
        writeln!(out, "{}", select(&filter, body).map_err(failed)?)?;
    }
    Ok(EXIT_OK)
}

/// The messages grouped by conversation: each group oldest first, the groups by their oldest message.
fn by_conversation(messages: &[ConversationMessage]) -> Vec<(&str, Vec<&ConversationMessage>)> {
    let mut groups: BTreeMap<&str, Vec<&ConversationMessage>> = BTreeMap::new();
    for message in messages {
        groups.entry(message.conversation_id()).or_default().push(message);
    }
    let mut groups: Vec<(&str, Vec<&ConversationMessage>)> = groups.into_iter().collect();
    for (_, group) in &mut groups {
        group.sort_by_key(|message| time_key(&message.created));
    }
    groups.sort_by_key(|(_, group)| time_key(&group[0].created));
    groups
}

/// The one-line text of a message, `missing` when it has none (`--no-transferables`), marked when the
/// message was deleted.
fn text_of(message: &ConversationMessage, missing: &str) -> String {
    let text = match message.text() {
        Some(text) => one_line(text),
        None => missing.to_owned(),
    };
    if message.is_deleted() {
        format!("[deleted] {text}").trim_end().to_owned()
    } else {
        text
    }
}

/// `create`: one text message.
fn create(
    cx: &Context<'_>,
    conversation: &str,
    role: RoleArg,
    text: &str,
    out: &mut impl Write,
) -> Result<u8, CommandError> {
    let text = text_argument(text)?;
    let seed = SeededConversationMessage::new(role.into(), FragmentFormat::text(text))
        .with_conversation(conversation);
    send(
        cx,
        out,
        "created",
        &seed,
        |seed| cx.client.create_message(seed, Transferables::Default),
        |seed_json| cx.client.create_message_json(seed_json, Transferables::Default),
        CommandError::during("create"),
    )
}

/// Sends `message` (a seed to create, a whole message to update) and reports the message PiecesOS
/// answered with: with `--json` the server's text (the message is sent with the JSON form, `json_form`),
/// with `-q` its id, else `{done} ID (ROLE) in conversation ID`.
fn send<T: serde::Serialize>(
    cx: &Context<'_>,
    out: &mut impl Write,
    done: &str,
    message: &T,
    typed_form: impl FnOnce(&T) -> Result<ConversationMessage, Error>,
    json_form: impl FnOnce(&str) -> Result<String, Error>,
    failed: impl FnOnce(Error) -> CommandError,
) -> Result<u8, CommandError> {
    if cx.mode == Mode::Json {
        let message_json = serde_json::to_string(message)
            .map_err(|err| CommandError::Io(format!("cannot write the message as JSON: {err}")))?;
        writeln!(out, "{}", json_form(&message_json).map_err(failed)?)?;
        return Ok(EXIT_OK);
    }
    let answer = typed_form(message).map_err(failed)?;
    if cx.mode == Mode::Quiet {
        writeln!(out, "{}", answer.id)?;
    } else {
        writeln!(
            out,
            "{done} {} ({}) in conversation {}",
            one_line(&answer.id),
            one_line(answer.role.as_str()),
            one_line(answer.conversation_id())
        )?;
    }
    Ok(EXIT_OK)
}

/// The TEXT of `create` and `update --text`: as given, or standard input for `-`.
fn text_argument(text: &str) -> Result<String, CommandError> {
    if text == "-" {
        read_stdin()
    } else {
        Ok(text.to_owned())
    }
}

/// Standard input as text, without one final line break.
fn read_stdin() -> Result<String, CommandError> {
    let mut bytes = Vec::new();
    io::stdin()
        .lock()
        .read_to_end(&mut bytes)
        .map_err(|err| CommandError::Io(format!("cannot read standard input: {err}")))?;
    let mut text = String::from_utf8(bytes).map_err(|err| {
        CommandError::Usage(format!(
            "standard input is not UTF-8 text (invalid byte at {})",
            err.utf8_error().valid_up_to()
        ))
    })?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

/// `get`: one message in full (a unique prefix stands for its id). For people: its facts, one per line,
/// then its whole text (line breaks and tabs kept, other control characters neutralized); in a pipe the
/// record `list` prints; with `-q` its id; with `--json` the server's JSON exactly.
fn get(
    cx: &Context<'_>,
    given: &str,
    transferables: Transferables,
    out: &mut impl Write,
) -> Result<u8, CommandError> {
    let mut lookup = Lookup::new(cx.client);
    if cx.mode == Mode::Json {
        let (_, body) = lookup.run("get", given, |id| cx.client.get_message_json(id, transferables))?;
        writeln!(out, "{body}")?;
        return Ok(EXIT_OK);
    }
    let (_, message) = lookup.run("get", given, |id| cx.client.get_message(id, transferables))?;
    match cx.mode {
        // `--json` was answered above.
        Mode::Quiet | Mode::Json => writeln!(out, "{}", message.id)?,
        Mode::Lines(Screen::Pipe) => writeln!(out, "{}", record(&message).join("\t"))?,
        Mode::Lines(Screen::Terminal { .. }) => {
            let mut facts = vec![
                ("id", one_line(&message.id)),
                ("conversation", one_line(message.conversation_id())),
                ("role", one_line(message.role.as_str())),
                ("created", full_time(&message.created)),
                ("updated", full_time(&message.updated)),
            ];
            if let Some(deleted) = &message.deleted {
                facts.push(("deleted", full_time(deleted)));
            }
            for (name, value) in facts {
                writeln!(out, "{name:<14}{value}")?;
            }
            match message.text() {
                Some(text) => writeln!(out, "\n{}", safe_text(text).trim_end_matches('\n'))?,
                None => writeln!(out, "\n(no text)")?,
            }
        }
    }
    Ok(EXIT_OK)
}

/// `update`: fetches the message (a unique prefix stands for its id), replaces its text, and sends it
/// back whole, so that every other part of it, keys the models do not type included, stays as it was.
fn update(cx: &Context<'_>, given: &str, text: &str, out: &mut impl Write) -> Result<u8, CommandError> {
    let text = text_argument(text)?;
    // With its content: PiecesOS stores what it is sent, so a message fetched without it would lose it.
    let (id, mut message) = Lookup::new(cx.client).run("update", given, |id| {
        cx.client.get_message(id, Transferables::Default)
    })?;
    message
        .fragment
        .get_or_insert_with(Default::default)
        .string
        .get_or_insert_with(Default::default)
        .raw = Some(text);
    send(
        cx,
        out,
        "updated",
        &message,
        |message| cx.client.update_message(message, Transferables::Default),
        |message_json| {
            cx.client
                .update_message_json(message_json, Transferables::Default)
        },
        CommandError::during(format!("update {id}")),
    )
}

/// `delete`: each id in turn (a unique prefix stands for its id). A failed id is reported and the
/// others are still deleted; the status is then 1. Not finding PiecesOS stops at once.
fn delete(cx: &Context<'_>, ids: &[String], out: &mut impl Write) -> Result<u8, CommandError> {
    let mut lookup = Lookup::new(cx.client);
    let mut deleted = Vec::new();
    let mut failed = Vec::new();
    for given in ids {
        match lookup.run("delete", given, |id| cx.client.delete_message(id)) {
            Ok((id, ())) => {
                match cx.mode {
                    Mode::Json => {}
                    Mode::Quiet => writeln!(out, "{id}")?,
                    Mode::Lines(_) => writeln!(out, "deleted {}", one_line(&id))?,
                }
                deleted.push(id);
            }
            Err(
                error @ CommandError::Client {
                    error: Error::NotRunning { .. },
                    ..
                },
            ) => return Err(error),
            Err(error) => {
                if cx.mode == Mode::Json {
                    failed.push(json!({"id": given, "error": error.json()}));
                } else {
                    error.report(false);
                    failed.push(json!(given));
                }
            }
        }
    }
    if cx.mode == Mode::Json {
        writeln!(out, "{}", json!({ "deleted": deleted, "failed": failed }))?;
    }
    Ok(if failed.is_empty() { EXIT_OK } else { EXIT_ERROR })
}

/// `search`: the matches `filter` keeps, best first.
fn search(
    cx: &Context<'_>,
    query: &str,
    filter: Filter<'_>,
    transferables: Transferables,
    out: &mut impl Write,
) -> Result<u8, CommandError> {
    let failed = || CommandError::during("search");
    let input = SearchInput::query(query);
    if cx.mode == Mode::Json {
        let input_json = serde_json::to_string(&input)
            .map_err(|err| CommandError::Io(format!("cannot write the query as JSON: {err}")))?;
        let body = {
            let _progress = cx.progress("searching");
            cx.client
                .search_messages_json(&input_json, transferables)
                .map_err(failed())?
        };
        return write_json(out, &body, filter, Filter::search_json, failed());
    }
    let all = {
        let _progress = cx.progress("searching");
        cx.client
            .search_messages(&input, transferables)
            .map_err(failed())?
            .iterable
    };
    let matches = filter.best(
        all,
        |found| found.message.as_ref().map(ConversationMessage::conversation_id),
        SearchedConversationMessage::similarity_f64,
    );
    if cx.mode == Mode::Quiet {
        for found in &matches {
            writeln!(out, "{}", found.identifier)?;
        }
        return Ok(EXIT_OK);
    }
    if matches.is_empty() {
        if cx.mode.to_terminal() {
            writeln!(out, "no matches")?;
        }
        return Ok(EXIT_OK);
    }
    let short = cx.mode.ids(matches.iter().map(|found| found.identifier.as_str()));
    let missing = if cx.mode.to_terminal() { "(no text)" } else { "" };
    let mut table = Table::new();
    table.header(&["ID", "SCORE", "EXACT", "TEXT"]);
    for found in &matches {
        table.record(vec![
            one_line(short.of(&found.identifier)),
            format!("{:.3}", found.similarity_f64()),
            if found.exact { "yes" } else { "no" }.to_owned(),
            found
                .message
                .as_ref()
                .map_or_else(|| missing.to_owned(), |message| text_of(message, missing)),
        ]);
    }
    if let Mode::Lines(screen) = cx.mode {
        table.write(out, screen)?;
        if screen.is_terminal() {
            writeln!(out, "\n{}", counted(matches.len(), "match", "matches"))?;
        }
    }
    Ok(EXIT_OK)
}

/// `watch`: the subscription's events until Ctrl-C. For people: one line per event with the UTC
/// time; in a pipe the time and the line are separated by a tab and nothing is cut; with `-q` the id of
/// each new or changed message; with `--json` one object per line (`connected`, `identifiers`,
/// `disconnected`, then `closed`).
fn watch(cx: &Context<'_>, out: &mut impl Write) -> Result<u8, CommandError> {
    let subscription = cx
        .client
        .subscribe_identifiers_pull()
        .map_err(CommandError::during("watch"))?;
    // The ids of the last full frame and the changes since, to tell new messages from changed ones.
    let mut known: Option<BTreeSet<String>> = None;
    follow(
        |timeout| subscription.next_timeout(timeout),
        || subscription.stop(),
        |event| {
            match cx.mode {
                Mode::Json => writeln!(out, "{}", event.to_json()?)?,
                mode => write_lines(out, mode, &event_lines(&event, &mut known))?,
            }
            out.flush()?;
            match event {
                SubscriptionEvent::Closed => Ok(Some(EXIT_OK)),
                SubscriptionEvent::Failed { error } => Err(CommandError::during("watch")(error)),
                _ => Ok(None),
            }
        },
    )
}

/// `watch --content`: a mirror's events until Ctrl-C, laid out as `watch` lays out the stream's, with
/// the text of each added or changed message; with `--json` the mirror's events (`synced`, `added`,
/// `updated`, `removed`, `stale`, `disconnected`, then `closed`). The messages already there are counted,
/// not listed.
fn watch_content(cx: &Context<'_>, out: &mut impl Write) -> Result<u8, CommandError> {
    let mirror = cx
        .client
        .mirror_pull(MirrorOptions::default().with_announce_initial(false))
        .map_err(CommandError::during("watch"))?;
    // Short ids on a terminal, long enough to tell apart the messages the mirror holds.
    let mut short = cx.mode.ids([]);
    follow(
        |timeout| mirror.next_timeout(timeout),
        || mirror.stop(),
        |event| {
            match cx.mode {
                Mode::Json => writeln!(out, "{}", event.to_json())?,
                mode => {
                    let new_ids = matches!(event, MirrorEvent::Synced { .. } | MirrorEvent::Added(_));
                    if new_ids && mode.to_terminal() {
                        short = mode.ids(mirror.messages().iter().map(|message| message.id()));
                    }
                    write_lines(out, mode, &mirror_lines(&event, &short))?;
                }
            }
            out.flush()?;
            match event {
                MirrorEvent::Closed => Ok(Some(EXIT_OK)),
                MirrorEvent::Failed { error } => Err(CommandError::during("watch")(error)),
                _ => Ok(None),
            }
        },
    )
}

/// The loop of `watch`: takes each event with `next` (waiting a little at a time, so that Ctrl-C is
/// noticed; the first one asks the source to `stop`, which then ends with its terminal event) and hands
/// it to `show`, which prints it and returns the exit status once the terminal event has come.
fn follow<E>(
    next: impl Fn(Duration) -> Result<E, RecvTimeoutError>,
    stop: impl Fn(),
    mut show: impl FnMut(E) -> Result<Option<u8>, CommandError>,
) -> Result<u8, CommandError> {
    interrupt::catch();
    let mut stopping = false;
    loop {
        if !stopping && interrupt::interrupted() {
            stopping = true;
            stop();
        }
        let event = match next(WATCH_POLL) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Ok(EXIT_OK),
        };
        if let Some(code) = show(event)? {
            return Ok(code);
        }
    }
}

/// Writes the lines of one event for `mode` (not `--json`), each stamped with the current time: fitted
/// to a terminal's width, whole and tab-separated in a pipe, or only the ids of new and changed
/// messages with `-q`.
fn write_lines(out: &mut impl Write, mode: Mode, lines: &[WatchLine]) -> io::Result<()> {
    let time = clock();
    for line in lines {
        match (mode, line) {
            (
                Mode::Quiet,
                WatchLine::Change {
                    mark: '+' | '~', id, ..
                },
            ) => writeln!(out, "{id}")?,
            (Mode::Quiet | Mode::Json, _) => {}
            (Mode::Lines(Screen::Terminal { width }), line) => {
                let (head, body, tail) = line.parts();
                writeln!(out, "{}", fit(&format!("{time} {head}"), &body, &tail, width))?;
            }
            (Mode::Lines(Screen::Pipe), line) => writeln!(out, "{time}\t{}", line.record())?,
        }
    }
    Ok(())
}

/// The current UTC time of day, `HH:MM:SS`.
fn clock() -> String {
    GroupedTimestamp::now().value[11..19].to_owned()
}

/// One line of `watch` for people.
#[derive(Debug, PartialEq, Eq)]
enum WatchLine {
    /// A plain statement (`connected to …`, `12 messages`, `stopped`).
    Note(String),
    /// A message that was added (`+`), changed (`~`) or deleted (`-`), with its text when `watch
    /// --content` has it.
    Change {
        mark: char,
        id: String,
        text: Option<String>,
    },
    /// A problem: the head and the tail stay readable, the error between them is cut to fit.
    Trouble {
        head: &'static str,
        error: String,
        tail: String,
    },
}

impl WatchLine {
    /// The line as head, body (what is cut on a narrow terminal) and tail.
    fn parts(&self) -> (String, String, String) {
        match self {
            WatchLine::Note(text) => (String::new(), text.clone(), String::new()),
            WatchLine::Change { mark, id, text: None } => (format!("{mark} "), one_line(id), String::new()),
            WatchLine::Change {
                mark,
                id,
                text: Some(text),
            } => (
                format!("{mark} {}  ", one_line(id)),
                one_line(text),
                String::new(),
            ),
            WatchLine::Trouble { head, error, tail } => ((*head).to_owned(), error.clone(), tail.clone()),
        }
    }

    /// The whole line for programs: a change's text is a field of its own, after a tab.
    fn record(&self) -> String {
        match self {
            WatchLine::Change {
                mark,
                id,
                text: Some(text),
            } => format!("{mark} {}\t{}", one_line(id), one_line(text)),
            line => {
                let (head, body, tail) = line.parts();
                format!("{head}{body}{tail}")
            }
        }
    }
}

/// The line of a lost connection: the error is cut on a narrow terminal, the retry time is not.
fn disconnected_line(error: &Error, retry_in: Duration) -> WatchLine {
    WatchLine::Trouble {
        head: "disconnected: ",
        error: one_line(&describe_stream(error)),
        tail: format!("; retrying in {:.1} s", retry_in.as_secs_f64()),
    }
}

/// The line of a source that gave up.
fn gave_up_line(error: &Error) -> WatchLine {
    WatchLine::Trouble {
        head: "gave up: ",
        error: one_line(&describe_stream(error)),
        tail: String::new(),
    }
}

/// The lines of an event.
fn event_lines(event: &SubscriptionEvent, known: &mut Option<BTreeSet<String>>) -> Vec<WatchLine> {
    let change = |mark: char, id: &str| WatchLine::Change {
        mark,
        id: id.to_owned(),
        text: None,
    };
    match event {
        SubscriptionEvent::Connected { url } => {
            vec![WatchLine::Note(format!("connected to {}", one_line(url)))]
        }
        SubscriptionEvent::Identifiers { frame, full: true } => {
            let now = message_ids(frame);
            let mut lines = vec![WatchLine::Note(counted(now.len(), "message", "messages"))];
            // After a reconnection, what changed while the connection was down.
            if let Some(before) = known.as_ref() {
                lines.extend(now.difference(before).map(|id| change('+', id)));
                lines.extend(before.difference(&now).map(|id| change('-', id)));
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
                lines.push(change(mark, id));
            }
            lines
        }
        SubscriptionEvent::Disconnected { error, retry_in } => vec![disconnected_line(error, *retry_in)],
        SubscriptionEvent::Closed => vec![WatchLine::Note("stopped".to_owned())],
        SubscriptionEvent::Failed { error } => vec![gave_up_line(error)],
        _ => Vec::new(),
    }
}

/// The lines of a mirror's event, with ids as `short` gives them: the text of each added or changed
/// message, the id of each removed one.
fn mirror_lines(event: &MirrorEvent, short: &ShortIds) -> Vec<WatchLine> {
    let change = |mark: char, message: &MirroredMessage, text: Option<String>| WatchLine::Change {
        mark,
        id: short.of(message.id()).to_owned(),
        text,
    };
    let line = match event {
        MirrorEvent::Synced { count } => WatchLine::Note(counted(*count, "message", "messages")),
        MirrorEvent::Added(message) => change('+', message, message.text()),
        MirrorEvent::Updated { after, .. } => change('~', after, after.text()),
        MirrorEvent::Removed(message) => change('-', message, None),
        MirrorEvent::Stale { error } => WatchLine::Trouble {
            head: "stale: ",
            error: one_line(&describe_stream(error)),
            tail: "; retrying".to_owned(),
        },
        MirrorEvent::Disconnected { error, retry_in } => disconnected_line(error, *retry_in),
        MirrorEvent::Closed => WatchLine::Note("stopped".to_owned()),
        MirrorEvent::Failed { error } => gave_up_line(error),
        _ => return Vec::new(),
    };
    vec![line]
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

    fn texts(lines: Vec<WatchLine>) -> Vec<String> {
        lines
            .iter()
            .map(|line| {
                let (head, body, tail) = line.parts();
                format!("{head}{body}{tail}")
            })
            .collect()
    }

    #[test]
    fn watch_lines_tell_new_changed_and_deleted_messages_apart() {
        let mut known = None;
        let full = |ids: &[&str]| SubscriptionEvent::Identifiers {
            frame: StreamedIdentifiers::new(ids.iter().map(|id| StreamedIdentifier::message(*id)).collect()),
            full: true,
        };
        assert_eq!(texts(event_lines(&full(&["a", "b"]), &mut known)), ["2 messages"]);
        let changes = SubscriptionEvent::Identifiers {
            frame: StreamedIdentifiers::new(vec![
                StreamedIdentifier::message("c"),
                StreamedIdentifier::message("a"),
                StreamedIdentifier::deleted_message("b"),
            ]),
            full: false,
        };
        assert_eq!(texts(event_lines(&changes, &mut known)), ["+ c", "~ a", "- b"]);
        // After a reconnection the full frame is compared with what was known.
        assert_eq!(
            texts(event_lines(&full(&["a", "d"]), &mut known)),
            ["2 messages", "+ d", "- c"]
        );
    }

    #[test]
    fn a_change_with_its_text_is_a_cut_body_on_a_terminal_a_field_in_a_pipe_and_an_id_when_quiet() {
        let lines = [
            WatchLine::Change {
                mark: '+',
                id: "0b3e6c1e".into(),
                text: Some("hello\n\tthere, a text longer than the line".into()),
            },
            WatchLine::Change {
                mark: '-',
                id: "5d1f0a77".into(),
                text: None,
            },
        ];
        let written = |mode: Mode| {
            let mut out = Vec::new();
            write_lines(&mut out, mode, &lines).unwrap();
            String::from_utf8(out).unwrap()
        };
        let terminal = written(Mode::Lines(Screen::Terminal { width: 40 }));
        let shown: Vec<&str> = terminal.lines().map(|line| &line[9..]).collect();
        assert_eq!(shown, ["+ 0b3e6c1e  hello there, a tex…", "- 5d1f0a77"]);
        let piped = written(Mode::Lines(Screen::Pipe));
        let records: Vec<&str> = piped.lines().map(|line| &line[9..]).collect();
        assert_eq!(
            records,
            [
                "+ 0b3e6c1e\thello there, a text longer than the line",
                "- 5d1f0a77"
            ]
        );
        assert_eq!(written(Mode::Quiet), "0b3e6c1e\n");
    }

    #[test]
    fn a_disconnection_keeps_its_retry_time_at_the_end() {
        let event = SubscriptionEvent::Disconnected {
            error: Error::Connection {
                url: "ws://127.0.0.1:39300/messages/stream/identifiers".into(),
                reason: "connection refused".into(),
                source: None,
            },
            retry_in: Duration::from_millis(1500),
        };
        let lines = event_lines(&event, &mut None);
        let (head, body, tail) = lines[0].parts();
        assert_eq!(head, "disconnected: ");
        assert_eq!(body, "PiecesOS is not reachable: connection refused");
        assert_eq!(tail, "; retrying in 1.5 s");
        let line = fit(&format!("10:22:31 {head}"), &body, &tail, 50);
        assert!(line.ends_with("…; retrying in 1.5 s"), "{line}");
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
