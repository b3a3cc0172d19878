//! The `pieces-messages` and `pieces-os-server` programs, run as a user would, against the stand-in
//! PiecesOS: in a pipe (standard output captured), and on a pseudo-terminal where the output for people
//! is what is being tested.
//!
//! Every run of `pieces-messages` scans only a range of ports the test controls (`PIECES_OS_PORTS`), or
//! is given `--url`; `PIECES_OS_URL` and `PIECES_OS_APPLICATION_ID` are removed from its environment
//! unless a test sets them. Every child is waited for at most [`LIMIT`] and killed after that.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{free_ports, port_at, start_on};
use pieces_os_client::discovery::PortRange;
use pieces_os_client::models::{FragmentFormat, SeededConversationMessage};
use pieces_os_client::server::{Server, ServerConfig};
use pieces_os_client::{Client, Transferables};
use serde_json::{json, Value};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

const BINARY: &str = env!("CARGO_BIN_EXE_pieces-messages");
const SERVER_BINARY: &str = env!("CARGO_BIN_EXE_pieces-os-server");
const LIMIT: Duration = Duration::from_secs(20);

// ---- running the programs ---------------------------------------------------------------------------

/// A command for the binary with a clean environment: no PIECES_OS_URL or PIECES_OS_APPLICATION_ID,
/// ports that nothing listens on unless a test says otherwise, and no COLUMNS.
fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .env_remove("PIECES_OS_URL")
        .env_remove("PIECES_OS_APPLICATION_ID")
        .env_remove("COLUMNS")
        .env("PIECES_OS_PORTS", free_ports(4).to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits for `child` at most [`LIMIT`], killing it if it takes longer.
fn wait(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the program did not end within {LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for `child` at most [`LIMIT`] and collects what it wrote.
fn finish(mut child: Child) -> Output {
    // Read both pipes on threads, so that a child writing much does not block on a full pipe.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    let status = wait(&mut child);
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn run(mut command: Command) -> Output {
    finish(command.spawn().unwrap())
}

fn run_with_stdin(mut command: Command, input: &str) -> Output {
    command.stdin(Stdio::piped());
    let mut child = command.spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    finish(child)
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("ended by a signal")
}

/// Asserts the exit code, showing what the program said when it differs.
#[track_caller]
fn assert_code(output: &Output, expected: i32) {
    assert_eq!(
        code(output),
        expected,
        "stdout: {}\nstderr: {}",
        stdout(output),
        stderr(output)
    );
}

/// Asserts that standard error holds exactly one line, and returns it.
#[track_caller]
fn one_error_line(output: &Output) -> String {
    let text = stderr(output);
    assert_eq!(text.lines().count(), 1, "{text:?}");
    assert!(text.starts_with("pieces-messages: error: "), "{text:?}");
    text.trim_end().to_owned()
}

/// Asserts that standard error holds exactly one JSON object on one line, and returns it.
#[track_caller]
fn one_error_object(output: &Output) -> Value {
    let text = stderr(output);
    assert_eq!(text.lines().count(), 1, "{text:?}");
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}: {text}"))
}

/// A command that scans `ports`.
fn scanning(ports: PortRange, args: &[&str]) -> Command {
    let mut command = command(args);
    command.env("PIECES_OS_PORTS", ports.to_string());
    command
}

/// A command given the URL of `server`.
fn at(server: &Server, args: &[&str]) -> Command {
    let url = server.url();
    let mut all = vec!["--url", url.as_str()];
    all.extend_from_slice(args);
    command(&all)
}

fn json(output: &Output) -> Value {
    serde_json::from_str(&stdout(output)).unwrap_or_else(|err| panic!("{err}: {}", stdout(output)))
}

/// The text of a stored message, as the stand-in holds it.
fn text_of(server: &Server, id: &str) -> String {
    server.message(id).unwrap()["fragment"]["string"]["raw"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `text` as one line, the way the program shows message text: runs of white space and control
/// characters become one space.
fn flattened(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The screen columns of `line`, counted both as the terminal's wcwidth of each character and as
/// Unicode's width of the whole text (emoji sequences); a line must fit by both counts.
fn columns(line: &str) -> usize {
    let by_character: usize = line.chars().map(|c| c.width().unwrap_or(0)).sum();
    by_character.max(line.width())
}

/// A message in conversation `conversation` with `text`, stored as-is.
fn stored(server: &Server, id: &str, conversation: &str, text: &str) -> String {
    server.insert_message(json!({
        "id": id, "role": "USER", "conversation": {"id": conversation},
        "created": {"value": "2026-01-01T00:00:00Z"}, "updated": {"value": "2026-01-01T00:00:00Z"},
        "fragment": {"string": {"raw": text}}
    }))
}

// ---- a pseudo-terminal ------------------------------------------------------------------------------

/// Runs a program on a pseudo-terminal: its standard input, output and error are the terminal, which
/// is `columns` wide.
#[cfg(target_os = "linux")]
mod terminal {
    use super::*;
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    use rustix::termios::{tcsetwinsize, Winsize};
    use std::fs::{File, OpenOptions};

    /// A program started on a new terminal, and the reading end of that terminal.
    pub fn spawn(mut command: Command, columns: u16) -> (Child, File) {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).unwrap();
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        let slave = OpenOptions::new()
            .read(true)
            .write(true)
            .open(name.to_str().unwrap())
            .unwrap();
        let size = Winsize {
            ws_row: 50,
            ws_col: columns,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        tcsetwinsize(&slave, size).unwrap();
        command
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        let child = command.spawn().unwrap();
        // The command holds our copies of the terminal's program end; once they are closed, reading
        // the terminal ends when the program's copies are.
        drop(command);
        (child, File::from(master))
    }

    /// Everything a program wrote on a terminal `columns` wide, with the terminal's line ends (`\r\n`)
    /// turned back into `\n`, and its exit code.
    pub fn run(command: Command, columns: u16) -> (i32, String) {
        let (mut child, mut master) = spawn(command, columns);
        let (sender, received) = mpsc::channel();
        thread::spawn(move || {
            let mut bytes = Vec::new();
            // Linux answers EIO once the program's end of the terminal is closed: that is the end.
            let mut buffer = [0u8; 4096];
            while let Ok(count @ 1..) = master.read(&mut buffer) {
                bytes.extend_from_slice(&buffer[..count]);
            }
            let _ = sender.send(bytes);
        });
        let status = wait(&mut child);
        let bytes = received.recv_timeout(LIMIT).expect("the terminal did not close");
        let text = String::from_utf8(bytes).unwrap().replace("\r\n", "\n");
        (status.code().expect("ended by a signal"), text)
    }
}

/// Sends Ctrl-C (SIGINT) to `child`.
#[cfg(unix)]
fn ctrl_c(child: &Child) {
    use rustix::process::{kill_process, Pid, Signal};
    let pid = Pid::from_child(child);
    kill_process(pid, Signal::INT).unwrap();
}

/// Reads the lines of a running program on a thread, so that the test can wait for them with a limit.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    /// `command` with its standard output in a pipe.
    fn piped(mut command: Command) -> Running {
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        Running::reading(child, stdout)
    }

    /// `command` on a terminal `columns` wide.
    #[cfg(target_os = "linux")]
    fn on_terminal(command: Command, columns: u16) -> Running {
        let (child, master) = terminal::spawn(command, columns);
        Running::reading(child, master)
    }

    fn reading(child: Child, output: impl Read + Send + 'static) -> Running {
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(output).lines() {
                let Ok(line) = line else { break };
                let line = line.trim_end_matches('\r').to_owned();
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    /// The lines up to and including the first one that satisfies `wanted`.
    #[track_caller]
    fn until(&self, wanted: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + LIMIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let done = wanted(&line);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(_) => panic!("the wanted line did not come; saw {seen:#?}"),
            }
        }
    }

    /// Ctrl-C, then the exit status and the lines not read yet.
    fn interrupt(mut self) -> (i32, Vec<String>) {
        self.interrupt_in_place()
    }

    fn interrupt_in_place(&mut self) -> (i32, Vec<String>) {
        ctrl_c(&self.child);
        let status = wait(&mut self.child);
        let deadline = Instant::now() + LIMIT;
        let mut rest = Vec::new();
        // The reading thread ends with the program's output.
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            rest.push(line);
        }
        (status.code().expect("ended by a signal"), rest)
    }
}

impl Drop for Running {
    /// A test that failed before its Ctrl-C leaves no program behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- finding PiecesOS and its version ---------------------------------------------------------------

#[test]
fn status_says_not_running_with_exit_code_3_when_nothing_listens() {
    let ports = free_ports(10);
    let started = Instant::now();
    let output = run(scanning(ports, &["status"]));
    assert_code(&output, 3);
    let text = stdout(&output);
    assert!(text.contains("not running"), "{text}");
    assert!(text.contains(&ports.to_string()), "{text}");
    assert_eq!(stderr(&output), "");
    assert!(started.elapsed() < Duration::from_secs(5));

    let output = run(scanning(ports, &["status", "--json"]));
    assert_code(&output, 3);
    let report = json(&output);
    assert_eq!(report["running"], false);
    assert_eq!(report["ports"], ports.to_string());

    // -q answers with the exit code alone.
    let output = run(scanning(ports, &["status", "-q"]));
    assert_code(&output, 3);
    assert_eq!((stdout(&output), stderr(&output)), (String::new(), String::new()));

    // Every other command stops at the same point, with one line on standard error.
    let output = run(scanning(ports, &["list"]));
    assert_code(&output, 3);
    assert!(one_error_line(&output).contains("PiecesOS is not running"));
}

#[test]
fn status_finds_the_stand_in_on_any_port_of_the_range() {
    let ports = free_ports(10);
    for index in [0, 4, 9] {
        let server = start_on(port_at(ports, index), ServerConfig::default());
        let output = run(scanning(ports, &["status"]));
        assert_code(&output, 0);
        let text = stdout(&output);
        assert!(text.contains("running"), "{text}");
        assert!(text.contains(&server.url()), "{text}");
        assert!(
            text.contains(&format!("found by scanning 127.0.0.1 ports {ports}")),
            "{text}"
        );
        assert!(text.contains("version     12.1.0"), "{text}");
        assert!(text.contains("compatible  yes"), "{text}");

        let output = run(scanning(ports, &["--json", "status"]));
        assert_code(&output, 0);
        let report = json(&output);
        assert_eq!(report["running"], true);
        assert_eq!(report["url"], server.url());
        assert_eq!(report["source"], "scan");
        assert_eq!(report["version"], "12.1.0");
        assert_eq!(report["compatible"], true);

        let output = run(scanning(ports, &["status", "--quiet"]));
        assert_code(&output, 0);
        assert_eq!(stdout(&output), "");
        server.stop();
    }
}

#[test]
fn status_and_commands_refuse_an_incompatible_version_with_exit_code_4() {
    let old = Server::start(ServerConfig::default().with_version("11.4.0")).unwrap();
    let output = run(at(&old, &["status"]));
    assert_code(&output, 4);
    let text = stdout(&output);
    assert!(text.contains("compatible  no"), "{text}");
    assert!(text.contains("update PiecesOS"), "{text}");

    let output = run(at(&old, &["list"]));
    assert_code(&output, 4);
    assert!(one_error_line(&output).ends_with("update PiecesOS"));
    // The check can be skipped.
    assert_code(&run(at(&old, &["list", "--no-version-check"])), 0);

    let new = Server::start(ServerConfig::default().with_version("13.2.0")).unwrap();
    let output = run(at(&new, &["--json", "status"]));
    assert_code(&output, 4);
    let report = json(&output);
    assert_eq!(report["compatible"], false);
    assert_eq!(report["update"], "client");
    assert!(report["message"]
        .as_str()
        .unwrap()
        .contains("update pieces-os-client"));

    // A development build passes.
    let debug = Server::start(ServerConfig::default().with_version("debug")).unwrap();
    assert_code(&run(at(&debug, &["status"])), 0);
}

#[test]
fn status_offers_no_version_check_to_skip_and_the_others_do() {
    let output = run(command(&["status", "--help"]));
    assert_code(&output, 0);
    assert!(
        !stdout(&output).contains("--no-version-check"),
        "{}",
        stdout(&output)
    );
    let output = run(command(&["list", "--help"]));
    assert!(
        stdout(&output).contains("--no-version-check"),
        "{}",
        stdout(&output)
    );
    assert_code(&run(command(&["status", "--no-version-check"])), 2);
}

#[test]
fn pieces_os_url_from_the_environment_is_used_without_scanning() {
    let server = Server::start(ServerConfig::default()).unwrap();
    let mut command = command(&["status"]);
    command.env("PIECES_OS_URL", server.url());
    let output = run(command);
    assert_code(&output, 0);
    assert!(
        stdout(&output).contains("given by PIECES_OS_URL"),
        "{}",
        stdout(&output)
    );
}

// ---- 1. output: full records in a pipe, fitted lines on a terminal ---------------------------------

#[test]
fn piped_list_prints_one_full_tab_separated_record_per_message() {
    let server = Server::start(ServerConfig::default().with_seed_messages(6)).unwrap();
    let output = run(at(&server, &["list"]));
    assert_code(&output, 0);
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "no headings or totals in a pipe: {text}");
    for id in server.message_ids() {
        let line = lines
            .iter()
            .find(|line| line.starts_with(&format!("{id}\t")))
            .unwrap_or_else(|| panic!("{id} missing from\n{text}"));
        let fields: Vec<&str> = line.split('\t').collect();
        let stored = server.message(&id).unwrap();
        assert_eq!(fields.len(), 5, "{line}");
        assert_eq!(fields[1], stored["conversation"]["id"]);
        assert_eq!(fields[2], stored["role"]);
        assert!(fields[3].starts_with("2025-01-01T"), "{line}");
        // The whole text, however long: nothing is cut.
        assert_eq!(fields[4], flattened(&text_of(&server, &id)));
    }
    assert!(
        lines.iter().any(|line| line.len() > 1000),
        "long texts stay whole"
    );

    // So `list | grep WORD` finds a word from the end of a long text.
    let longest = server
        .message_ids()
        .into_iter()
        .max_by_key(|id| text_of(&server, id).len())
        .unwrap();
    let last_word = flattened(&text_of(&server, &longest))
        .rsplit(' ')
        .next()
        .unwrap()
        .to_owned();
    assert!(lines
        .iter()
        .any(|line| line.starts_with(&longest) && line.ends_with(&last_word)));
}

#[test]
fn piped_search_prints_full_records_best_first() {
    let server = Server::start(ServerConfig::default().with_seed_messages(3)).unwrap();
    let long = format!("zebra crossing {}", "stripes ".repeat(40));
    let id = stored(&server, "zebra-0001", "c", &long);
    stored(&server, "zebra-0002", "c", "ZEBRA, in capitals");

    let output = run(at(&server, &["search", "zebra"]));
    assert_code(&output, 0);
    assert_eq!(
        stdout(&output),
        format!(
            "{id}\t1.000\tyes\t{}\nzebra-0002\t0.800\tno\tZEBRA, in capitals\n",
            long.trim_end()
        )
    );

    let output = run(at(&server, &["--json", "search", "zebra"]));
    assert_code(&output, 0);
    assert_eq!(json(&output)["iterable"][0]["identifier"], id.as_str());

    let output = run(at(&server, &["search", "no-such-words-anywhere"]));
    assert_code(&output, 0);
    assert_eq!(stdout(&output), "", "no matches: no records");
}

#[test]
fn json_list_is_the_servers_own_text() {
    let server = Server::start(ServerConfig::default().with_seed_messages(6)).unwrap();
    let output = run(at(&server, &["--json", "list"]));
    assert_code(&output, 0);
    let direct = Client::with_base_url(server.url())
        .unwrap()
        .snapshot_messages_json(Transferables::Default)
        .unwrap();
    assert_eq!(stdout(&output), format!("{direct}\n"));

    let output = run(at(&server, &["--json", "list", "--no-transferables"]));
    assert_code(&output, 0);
    let targets: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
    assert!(
        targets.contains(&"/messages?transferables=false".to_owned()),
        "{targets:?}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn list_on_a_terminal_fits_its_width_in_screen_columns_with_short_ids() {
    let server = Server::start(ServerConfig::default().with_seed_messages(6)).unwrap();
    // Wide characters: CJK, emoji and a ZWJ sequence, which a count of characters gets wrong.
    stored(
        &server,
        "f00dcafe-0000-4000-8000-000000000001",
        "wide",
        &"中文：这是一个关于并发的问题。😀👨‍👩‍👧‍👦 ❤️ ".repeat(10),
    );
    // The width comes from the terminal itself, and COLUMNS overrides it.
    for (terminal_columns, columns_env) in [(60, None), (120, Some("60"))] {
        let mut command = at(&server, &["list"]);
        if let Some(columns) = columns_env {
            command.env("COLUMNS", columns);
        }
        let (code, text) = terminal::run(command, terminal_columns);
        assert_eq!(code, 0, "{text}");
        for line in text.lines() {
            assert!(columns(line) <= 60, "{} columns: {line:?}", columns(line));
        }
        assert!(text.contains("\n7 messages in 2 conversations\n"), "{text}");
        for id in server.message_ids() {
            // Short ids, so that the text keeps its room.
            let short = &id[..8];
            let row = text
                .lines()
                .find(|line| line.trim_start().starts_with(short))
                .unwrap_or_else(|| panic!("{short} missing from\n{text}"));
            assert!(!row.contains(&id), "{row}");
            let preview = row.rsplit("  ").next().unwrap();
            assert!(columns(preview) >= 15, "the text is squeezed out: {row:?}");
            assert!(row.ends_with('…'), "{row:?}");
        }
        assert!(text.contains("  f00dcafe  USER"), "{text}");
        assert!(text.contains("中文"), "{text}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn search_on_a_terminal_has_a_header_short_ids_and_a_total() {
    let server = Server::start(ServerConfig::default()).unwrap();
    let id = stored(
        &server,
        "0b3e6c1e-1b2c-4d5e-8f90-123456789abc",
        "c",
        "zebra crossing",
    );
    let mut command = at(&server, &["search", "zebra"]);
    command.env("COLUMNS", "60");
    let (code, text) = terminal::run(command, 100);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        text,
        format!(
            "ID        SCORE  EXACT  TEXT\n{}  1.000  yes    zebra crossing\n\n1 match\n",
            &id[..8]
        )
    );
}

#[cfg(target_os = "linux")]
#[test]
fn short_ids_from_a_terminal_are_accepted_back_and_ambiguous_ones_refused() {
    let server = Server::start(ServerConfig::default().with_seed_messages(3)).unwrap();
    let ids = server.message_ids();
    let (_, text) = terminal::run(at(&server, &["list"]), 80);
    let short = text
        .lines()
        .find_map(|line| {
            line.trim_start()
                .split(' ')
                .next()
                .filter(|word| ids[1].starts_with(*word) && word.len() >= 8)
        })
        .unwrap_or_else(|| panic!("no short id of {} in\n{text}", ids[1]));

    let output = run(at(&server, &["delete", short]));
    assert_code(&output, 0);
    assert_eq!(stdout(&output), format!("deleted {}\n", ids[1]));
    assert_eq!(server.message_ids(), [ids[0].clone(), ids[2].clone()]);

    stored(&server, "abcd1111", "c", "one");
    stored(&server, "abcd2222", "c", "two");
    let output = run(at(&server, &["delete", "abcd"]));
    assert_code(&output, 1);
    let line = one_error_line(&output);
    assert!(
        line.contains("2 message ids start with abcd (abcd1111, abcd2222)"),
        "{line}"
    );
    assert_eq!(server.message_count(), 4, "nothing deleted");
    // Below four characters nothing is looked up: an unknown id is an unknown id.
    let output = run(at(&server, &["delete", "abc"]));
    assert_code(&output, 1);
    assert!(one_error_line(&output).contains("delete abc failed: HTTP 500"));
}

// ---- 2. everyday features ---------------------------------------------------------------------------

#[test]
fn limit_and_conversation_filter_list_and_search() {
    // 30 messages: 12 in each of the first two conversations, 6 in the third, each created after the
    // one before.
    let server = Server::start(ServerConfig::default().with_seed_messages(30)).unwrap();
    let ids = server.message_ids();
    let conversation_of = |id: &str| {
        server.message(id).unwrap()["conversation"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let third = conversation_of(&ids[29]);
    let record_ids = |output: &Output| -> Vec<String> {
        stdout(output)
            .lines()
            .map(|line| line.split('\t').next().unwrap().to_owned())
            .collect()
    };

    let output = run(at(&server, &["list", "--limit", "5"]));
    assert_code(&output, 0);
    let mut newest = record_ids(&output);
    newest.sort();
    let mut expected = ids[25..].to_vec();
    expected.sort();
    assert_eq!(newest, expected, "the five created last");

    let output = run(at(&server, &["list", "--conversation", &third]));
    assert_code(&output, 0);
    assert_eq!(record_ids(&output), ids[24..]);

    let output = run(at(&server, &["list", "--conversation", &third, "--limit", "2"]));
    assert_eq!(record_ids(&output), ids[28..]);

    // The JSON of the kept messages is the server's, message for message.
    let output = run(at(
        &server,
        &["--json", "list", "--conversation", &third, "--limit", "2"],
    ));
    assert_code(&output, 0);
    let kept = json(&output);
    assert_eq!(kept["iterable"].as_array().unwrap().len(), 2);
    for (position, id) in ids[28..].iter().enumerate() {
        assert_eq!(kept["iterable"][position], server.message(id).unwrap());
        assert_eq!(kept["indices"][id], position);
    }

    let output = run(at(&server, &["search", "Message", "--limit", "3"]));
    assert_code(&output, 0);
    assert_eq!(record_ids(&output).len(), 3);
    let output = run(at(&server, &["search", "Message", "--conversation", &third]));
    assert_code(&output, 0);
    let found = record_ids(&output);
    assert_eq!(found.len(), 6);
    assert!(found.iter().all(|id| conversation_of(id) == third));
    let output = run(at(
        &server,
        &[
            "--json",
            "search",
            "Message",
            "--conversation",
            &third,
            "--limit",
            "4",
        ],
    ));
    assert_code(&output, 0);
    let matches = json(&output)["iterable"].as_array().unwrap().clone();
    assert_eq!(matches.len(), 4);
    assert!(matches
        .iter()
        .all(|found| found["message"]["conversation"]["id"] == third.as_str()));

    for bad in [&["list", "--limit", "0"][..], &["search", "x", "--limit", "-1"]] {
        assert_code(&run(at(&server, bad)), 2);
    }
}

#[test]
fn quiet_prints_ids_only() {
    let server = Server::start(ServerConfig::default().with_seed_messages(4)).unwrap();
    let mut ids = server.message_ids();
    ids.sort();

    let output = run(at(&server, &["list", "-q"]));
    assert_code(&output, 0);
    let mut listed: Vec<String> = stdout(&output).lines().map(str::to_owned).collect();
    listed.sort();
    assert_eq!(listed, ids);

    let output = run(at(
        &server,
        &["--quiet", "create", "--conversation", "c", "findable words"],
    ));
    assert_code(&output, 0);
    let created = stdout(&output).trim_end().to_owned();
    assert_eq!(text_of(&server, &created), "findable words");

    let output = run(at(&server, &["search", "-q", "findable"]));
    assert_eq!(stdout(&output), format!("{created}\n"));

    let output = run(at(&server, &["delete", "-q", &created, &ids[0]]));
    assert_code(&output, 0);
    assert_eq!(stdout(&output), format!("{created}\n{}\n", ids[0]));

    // -q and --json ask for two different things.
    assert_code(&run(at(&server, &["list", "-q", "--json"])), 2);
}

#[test]
fn the_application_id_comes_from_the_option_or_the_environment() {
    let server = Server::start(ServerConfig::default().with_application_id("my-plugin")).unwrap();
    let output = run(at(&server, &["list"]));
    assert_code(&output, 1);
    assert!(one_error_line(&output).contains("list failed: HTTP 401"));
    assert_code(&run(at(&server, &["--app-id", "my-plugin", "list"])), 0);

    let mut from_env = at(&server, &["list"]);
    from_env.env("PIECES_OS_APPLICATION_ID", "my-plugin");
    assert_code(&run(from_env), 0);

    // The option wins over the environment.
    let mut both = at(&server, &["list", "--app-id", "my-plugin"]);
    both.env("PIECES_OS_APPLICATION_ID", "someone-else");
    assert_code(&run(both), 0);
    let mut wrong = at(&server, &["list", "--app-id", "someone-else"]);
    wrong.env("PIECES_OS_APPLICATION_ID", "my-plugin");
    assert_code(&run(wrong), 1);
}

#[test]
fn timeouts_take_units_and_reach_the_requests() {
    let slow = Server::start(ServerConfig::default()).unwrap();
    assert_code(&run(at(&slow, &["--timeout", "5m", "status"])), 0);
    assert_code(&run(at(&slow, &["--timeout", "1h", "status"])), 0);
    assert_code(&run(at(&slow, &["--timeout", "5x", "status"])), 2);

    slow.faults().set_delay(Duration::from_secs(3));
    let started = Instant::now();
    let output = run(at(&slow, &["--timeout", "300ms", "status"]));
    assert_code(&output, 1);
    assert!(one_error_line(&output).contains("did not answer within 300 ms"));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[cfg(target_os = "linux")]
#[test]
fn a_slow_list_shows_progress_on_a_terminal_and_nothing_in_a_pipe() {
    let server = Server::start(ServerConfig::default().with_seed_messages(2)).unwrap();
    server.faults().set_delay(Duration::from_millis(900));
    let (code, text) = terminal::run(at(&server, &["list", "--no-version-check"]), 100);
    assert_eq!(code, 0, "{text}");
    let (progress, listing) = text
        .rsplit_once("\r\x1b[K")
        .unwrap_or_else(|| panic!("the progress line is not erased: {text:?}"));
    assert!(progress.starts_with("\rreading messages… 0."), "{progress:?}");
    assert!(listing.starts_with("conversation "), "{listing:?}");

    let output = run(at(&server, &["list", "--no-version-check"]));
    assert_code(&output, 0);
    assert_eq!(stderr(&output), "");
}

#[test]
fn verbose_prints_each_request_with_its_status_and_time() {
    let server = Server::start(ServerConfig::default().with_seed_messages(2)).unwrap();
    let url = server.url();
    let output = run(at(&server, &["-v", "list"]));
    assert_code(&output, 0);
    let text = stderr(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(
        lines[0],
        format!("pieces-messages: PiecesOS at {url} (given in the configuration)")
    );
    let version = format!("pieces-messages: GET {url}/.well-known/version: 200 OK, 6 bytes in ");
    assert!(
        lines[1].starts_with(&version) && lines[1].ends_with(" ms"),
        "{text}"
    );
    let list = format!("pieces-messages: GET {url}/messages: 200 OK, ");
    assert!(lines[2].starts_with(&list) && lines[2].ends_with(" ms"), "{text}");
    assert_eq!(stdout(&output).lines().count(), 2, "the output is unchanged");

    let output = run(at(&server, &["delete", "-v", "--no-version-check", "no-such-id"]));
    assert_code(&output, 1);
    let text = stderr(&output);
    let failed =
        format!("pieces-messages: POST {url}/messages/no-such-id/delete: 500 Internal Server Error, ");
    assert!(text.lines().any(|line| line.starts_with(&failed)), "{text}");

    // Without -v, standard error stays empty.
    assert_eq!(stderr(&run(at(&server, &["list"]))), "");
}

#[test]
fn completions_and_the_man_page_come_from_the_command_line_definition() {
    let output = run(command(&["completions", "bash"]));
    assert_code(&output, 0);
    let script = stdout(&output);
    for word in [
        "pieces-messages",
        "search",
        "--conversation",
        "--no-version-check",
        "--limit",
    ] {
        assert!(script.contains(word), "{word} missing from the bash completions");
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let output = run(command(&["completions", shell]));
        assert_code(&output, 0);
        assert!(stdout(&output).contains("pieces-messages"), "{shell}");
    }
    assert_code(&run(command(&["completions", "tcsh"])), 2);

    let output = run(command(&["man"]));
    assert_code(&output, 0);
    let page = stdout(&output);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq") || page.starts_with(".TH"),
        "{page}"
    );
    assert!(page.contains(".TH pieces-messages 1"), "{page}");
    for word in [
        "status",
        "search",
        "watch",
        "PIECES_OS_APPLICATION_ID",
        "Exit codes",
    ] {
        assert!(page.contains(word), "{word} missing from the man page");
    }
    // The generators themselves are no commands a user looks for.
    assert!(!stdout(&run(command(&["--help"]))).contains("completions"));

    let dir = std::env::temp_dir().join(format!("pieces-messages-man-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = run(command(&["man", "--dir", dir.to_str().unwrap()]));
    assert_code(&output, 0);
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    pages.sort();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        pages,
        [
            "pieces-messages-create.1",
            "pieces-messages-delete.1",
            "pieces-messages-get.1",
            "pieces-messages-list.1",
            "pieces-messages-search.1",
            "pieces-messages-status.1",
            "pieces-messages-update.1",
            "pieces-messages-watch.1",
            "pieces-messages.1",
        ]
    );
}

// ---- 3. errors --------------------------------------------------------------------------------------

#[test]
fn failures_name_the_operation_and_json_errors_are_the_c_api_object() {
    let server = Server::start(ServerConfig::default().with_application_id("my-plugin")).unwrap();
    let output = run(at(&server, &["list"]));
    assert_code(&output, 1);
    let line = one_error_line(&output);
    assert!(
        line.starts_with("pieces-messages: error: list failed: HTTP 401: "),
        "{line}"
    );
    assert!(!line.contains("messages_snapshot"), "{line}");

    let output = run(at(&server, &["--json", "list"]));
    assert_code(&output, 1);
    assert_eq!(stdout(&output), "");
    let direct = Client::with_base_url(server.url())
        .unwrap()
        .snapshot_messages_json(Transferables::Default)
        .unwrap_err();
    assert_eq!(one_error_object(&output), direct.to_json());
    assert_eq!(direct.to_json()["status"], 401);

    // Usage errors with --json are JSON too, whether clap or the program finds them.
    let output = run(command(&["--json", "list", "--frobnicate"]));
    assert_code(&output, 2);
    let error = one_error_object(&output);
    assert_eq!(error["kind"], "usage");
    assert!(error["message"].as_str().unwrap().contains("--frobnicate"));
    let output = run(command(&["--json", "--url", "127.0.0.1:1", "list"]));
    assert_code(&output, 2);
    assert_eq!(one_error_object(&output)["kind"], "usage");
}

#[test]
fn delete_reports_the_ids_that_fail_beside_those_deleted() {
    let server = Server::start(ServerConfig::default().with_seed_messages(3)).unwrap();
    let ids = server.message_ids();
    let output = run(at(&server, &["delete", &ids[0], &ids[1]]));
    assert_code(&output, 0);
    assert_eq!(
        stdout(&output),
        format!("deleted {}\ndeleted {}\n", ids[0], ids[1])
    );
    assert_eq!(server.message_ids(), [ids[2].clone()]);

    // An unknown id fails on its own line, named as a person would; the known one is still deleted.
    let output = run(at(&server, &["delete", "no-such-id", &ids[2]]));
    assert_code(&output, 1);
    let line = one_error_line(&output);
    assert!(
        line.starts_with("pieces-messages: error: delete no-such-id failed: HTTP 500: "),
        "{line}"
    );
    assert!(!line.contains("messages_delete_specific_message"), "{line}");
    assert_eq!(stdout(&output), format!("deleted {}\n", ids[2]));
    assert_eq!(server.message_count(), 0);

    let id = stored(&server, "kept-0001", "c", "x");
    let output = run(at(&server, &["--json", "delete", "no-such-id", &id]));
    assert_code(&output, 1);
    assert_eq!(stderr(&output), "", "the failures are in the answer");
    let answer = json(&output);
    assert_eq!(answer["deleted"], json!([id]));
    assert_eq!(answer["failed"][0]["id"], "no-such-id");
    assert_eq!(answer["failed"][0]["error"]["kind"], "http_status");
    assert_eq!(answer["failed"][0]["error"]["status"], 500);
    assert_eq!(answer["failed"].as_array().unwrap().len(), 1);
}

#[test]
fn usage_errors_exit_with_2_and_say_what_to_do() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["--timeout", "soon", "status"],
        &["create", "text"],
        &["create", "--conversation", "c", "--role", "robot", "text"],
        &["create", "--conversation", "", "text"],
        &["delete"],
        &["delete", ""],
        &["search", ""],
        &["search", "  "],
    ] {
        let output = run(command(args));
        assert_code(&output, 2);
        // clap explains on standard error (a missing subcommand gets the help text) and prints nothing else.
        let text = stderr(&output);
        assert!(text.contains("Usage:") || text.contains("error:"), "{args:?}");
        assert!(!text.contains(": : "), "{args:?}: {text}");
        assert_eq!(stdout(&output), "", "{args:?}");
    }
    let output = run(command(&["delete", ""]));
    assert!(
        stderr(&output).contains("must not be empty"),
        "{}",
        stderr(&output)
    );

    // A URL without its scheme is named as such.
    let output = run(command(&["--url", "127.0.0.1:39300", "status"]));
    assert_code(&output, 2);
    assert_eq!(
        one_error_line(&output),
        "pieces-messages: error: --url \"127.0.0.1:39300\" has no scheme: write http://127.0.0.1:39300"
    );
    let mut from_env = command(&["status"]);
    from_env.env("PIECES_OS_URL", "localhost:39300");
    let output = run(from_env);
    assert_code(&output, 2);
    assert!(one_error_line(&output).contains("PIECES_OS_URL \"localhost:39300\" has no scheme"));
    // Any other URL that is no http URL is a usage error too, on one line, naming the option.
    let output = run(command(&["--url", "ftp://127.0.0.1:1", "status"]));
    assert_code(&output, 2);
    assert!(one_error_line(&output).contains("--url: \"ftp://127.0.0.1:1\""));

    let output = run(command(&["--help"]));
    assert_code(&output, 0);
    assert!(stdout(&output).contains("Exit codes"));
}

#[test]
fn a_given_url_where_nothing_listens_is_an_error_not_not_running() {
    let closed = port_at(free_ports(1), 0);
    let url = format!("http://127.0.0.1:{closed}");
    let output = run(command(&["--url", &url, "list"]));
    assert_code(&output, 1);
    assert!(one_error_line(&output).contains("not reachable"));
}

#[test]
fn create_takes_the_text_from_the_argument_or_standard_input() {
    let server = Server::start(ServerConfig::default()).unwrap();
    let output = run(at(&server, &["create", "--conversation", "c1", "hello there"]));
    assert_code(&output, 0);
    let line = stdout(&output);
    let id = line
        .strip_prefix("created ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(line.trim_end().ends_with("(USER) in conversation c1"), "{line}");
    assert_eq!(text_of(&server, id), "hello there");

    let output = run_with_stdin(
        at(
            &server,
            &[
                "--json",
                "create",
                "--conversation",
                "c2",
                "--role",
                "assistant",
                "-",
            ],
        ),
        "first line\nsecond line\n",
    );
    assert_code(&output, 0);
    let created = json(&output);
    assert_eq!(created["role"], "ASSISTANT");
    assert_eq!(created["conversation"]["id"], "c2");
    assert_eq!(
        text_of(&server, created["id"].as_str().unwrap()),
        "first line\nsecond line"
    );
}

// ---- one message: get and update --------------------------------------------------------------------

#[test]
fn get_prints_the_record_of_list_in_a_pipe_and_the_servers_json_with_json() {
    let server = Server::start(ServerConfig::default().with_seed_messages(3)).unwrap();
    let id = stored(
        &server,
        "0b3e6c1e-1b2c-4d5e-8f90-123456789abc",
        "c7",
        "first line\n\tsecond line, after a tab",
    );

    // In a pipe: the very record `list` prints for it.
    let output = run(at(&server, &["get", &id]));
    assert_code(&output, 0);
    let listed = stdout(&run(at(&server, &["list"])));
    let record = listed
        .lines()
        .find(|line| line.starts_with(&format!("{id}\t")))
        .unwrap();
    assert_eq!(stdout(&output), format!("{record}\n"));
    assert_eq!(
        stdout(&output),
        format!("{id}\tc7\tUSER\t2026-01-01T00:00:00.000Z\tfirst line second line, after a tab\n")
    );

    // With --json: the server's JSON, exactly as it came; a number no model holds keeps its spelling.
    let created = Client::with_base_url(server.url())
        .unwrap()
        .create_message_json(
            r#"{"role": "USER", "conversation": {"id": "c7"}, "fragment": {"string": {"raw": "x"}},
                "futureKey": 1.50e0}"#,
            Transferables::Default,
        )
        .unwrap();
    assert!(created.contains(r#""futureKey":1.50e0"#), "{created}");
    let created_id = serde_json::from_str::<Value>(&created).unwrap()["id"].clone();
    let output = run(at(&server, &["--json", "get", created_id.as_str().unwrap()]));
    assert_code(&output, 0);
    assert_eq!(stdout(&output), format!("{created}\n"));
    let output = run(at(&server, &["--json", "get", &id]));
    assert_code(&output, 0);
    let direct = Client::with_base_url(server.url())
        .unwrap()
        .get_message_json(&id, Transferables::Default)
        .unwrap();
    assert_eq!(stdout(&output), format!("{direct}\n"));
    assert_eq!(json(&output), server.message(&id).unwrap());

    // A short id is looked up like delete's; -q prints the full id.
    let output = run(at(&server, &["get", "-q", &id[..8]]));
    assert_code(&output, 0);
    assert_eq!(stdout(&output), format!("{id}\n"));
    let output = run(at(&server, &["--json", "get", &id[..8]]));
    assert_code(&output, 0);
    assert_eq!(stdout(&output), format!("{direct}\n"));

    // --no-transferables reaches the request.
    server.clear_requests();
    let output = run(at(&server, &["--json", "get", "--no-transferables", &id]));
    assert_code(&output, 0);
    let targets: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
    assert!(
        targets.contains(&format!("/message/{id}?transferables=false")),
        "{targets:?}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn get_on_a_terminal_shows_the_facts_then_the_whole_text_made_safe() {
    let server = Server::start(ServerConfig::default()).unwrap();
    let long = "word ".repeat(40);
    let text = format!("first line\r\n\tindented\n\u{1b}[31mred\u{7} and {long}\n");
    let id = stored(&server, "0b3e6c1e-1b2c-4d5e-8f90-123456789abc", "c7", &text);
    // At 60 columns nothing is cut: the text is the point of `get`.
    let (code, output) = terminal::run(at(&server, &["get", &id[..8]]), 60);
    assert_eq!(code, 0, "{output}");
    assert_eq!(
        output,
        format!(
            "id            {id}\n\
             conversation  c7\n\
             role          USER\n\
             created       2026-01-01T00:00:00.000Z\n\
             updated       2026-01-01T00:00:00.000Z\n\
             \n\
             first line\n\
             \tindented\n \
             [31mred  and {long}\n"
        )
    );
    assert!(!output.contains('\u{1b}') && !output.contains('\u{7}'));
}

#[test]
fn get_and_update_of_an_unknown_id_fail_with_not_found() {
    let server = Server::start(ServerConfig::default().with_seed_messages(2)).unwrap();
    for (verb, options) in [("get", &[][..]), ("update", &["--text", "x"][..])] {
        let mut args = vec![verb, "no-such-id"];
        args.extend_from_slice(options);
        let output = run(at(&server, &args));
        assert_code(&output, 1);
        assert_eq!(
            one_error_line(&output),
            format!(
                "pieces-messages: error: {verb} no-such-id failed: no such message (HTTP 410: no \
                 conversation message with id \"no-such-id\")"
            )
        );
        assert_eq!(stdout(&output), "");

        args.insert(0, "--json");
        let output = run(at(&server, &args));
        assert_code(&output, 1);
        let error = one_error_object(&output);
        assert_eq!(error["kind"], "not_found");
        assert_eq!(error["status"], 410);
        assert_eq!(error["id"], "no-such-id");
        assert_eq!(error["endpoint"], "message_specific_message_snapshot");
    }
    assert_eq!(server.message_count(), 2);
}

#[test]
fn update_replaces_the_text_and_keeps_every_key_the_models_do_not_type() {
    let server = Server::start(ServerConfig::default()).unwrap();
    let id = server.insert_message(json!({
        "id": "5d1f0a77-2c4e-4b8a-9e1f-0a1b2c3d4e5f", "role": "ASSISTANT", "conversation": {"id": "c9"},
        "created": {"value": "2026-01-01T00:00:00Z"}, "updated": {"value": "2026-01-01T00:00:00Z"},
        "fragment": {
            "string": {"raw": "old text", "futureStringKey": [1, 2.5, "three"]},
            "metadata": {"ext": "MD", "futureMetadataKey": {"nested": true}}
        },
        "annotations": {"iterable": [{"id": "a1", "anything": null}]},
        "sentiment": "LIKE",
        "futureTopLevelKey": {"deep": {"list": [{"x": -0.125}]}}
    }));
    let before = server.message(&id).unwrap();

    let output = run(at(&server, &["update", &id[..8], "--text", "new text"]));
    assert_code(&output, 0);
    assert_eq!(
        stdout(&output),
        format!("updated {id} (ASSISTANT) in conversation c9\n")
    );
    let after = server.message(&id).unwrap();
    assert_eq!(after["fragment"]["string"]["raw"], "new text");
    assert_ne!(
        after["updated"], before["updated"],
        "the stand-in dates the update"
    );
    // Everything else is what was stored, unknown keys at every level included.
    let without_change = |message: &Value| {
        let mut message = message.clone();
        message["fragment"]["string"]["raw"] = Value::Null;
        message["updated"] = Value::Null;
        message
    };
    assert_eq!(without_change(&after), without_change(&before));

    // `-` reads standard input (without one final line break); -q prints the id.
    let output = run_with_stdin(
        at(&server, &["update", "-q", &id, "--text", "-"]),
        "line one\nline two\n",
    );
    assert_code(&output, 0);
    assert_eq!(stdout(&output), format!("{id}\n"));
    assert_eq!(text_of(&server, &id), "line one\nline two");

    // --json prints the message as the server stored it.
    let output = run(at(&server, &["--json", "update", &id, "--text", "third"]));
    assert_code(&output, 0);
    let printed = json(&output);
    assert_eq!(printed, server.message(&id).unwrap());
    assert_eq!(without_change(&printed), without_change(&before));
    assert_eq!(text_of(&server, &id), "third");
}

// ---- watch ------------------------------------------------------------------------------------------

#[test]
fn watch_prints_changes_as_json_lines_until_ctrl_c() {
    let server = Server::start(ServerConfig::default().with_seed_messages(2)).unwrap();
    let watch = Running::piped(at(&server, &["--json", "watch"]));
    let seen = watch.until(|line| line.contains(r#""full":true"#));
    let connected: Value = serde_json::from_str(&seen[0]).unwrap();
    assert_eq!(connected["type"], "connected");
    assert_eq!(connected["url"], server.ws_url());
    let full: Value = serde_json::from_str(seen.last().unwrap()).unwrap();
    assert_eq!(full["data"]["iterable"].as_array().unwrap().len(), 2);

    let id = server.insert_message(pieces_os_client::server::seed::realistic_message(7, 1));
    let seen = watch.until(|line| line.contains(&id));
    let change: Value = serde_json::from_str(seen.last().unwrap()).unwrap();
    assert_eq!(change["type"], "identifiers");
    assert_eq!(change["full"], false);

    let (code, rest) = watch.interrupt();
    assert_eq!(code, 0);
    assert_eq!(
        rest.last().map(String::as_str),
        Some(r#"{"type":"closed"}"#),
        "{rest:?}"
    );
}

#[test]
fn watch_quiet_prints_the_ids_of_new_and_changed_messages() {
    let server = Server::start(ServerConfig::default().with_seed_messages(2)).unwrap();
    let existing = server.message_ids();
    let watch = Running::piped(at(&server, &["watch", "-q"]));
    // Nothing is printed for the first list, so the subscription is known to be live once a message
    // added for the purpose is printed.
    let mut probes = 0;
    loop {
        probes += 1;
        assert!(probes < 100, "no probe message was printed");
        let probe = stored(&server, &format!("probe-{probes}"), "c", "probe");
        if let Ok(line) = watch.lines.recv_timeout(Duration::from_millis(200)) {
            // An earlier probe's line may come late; the last probe's line comes last.
            if line != probe {
                watch.until(|line| line == probe);
            }
            break;
        }
    }
    let added = stored(&server, "added-0001", "c", "new");
    assert_eq!(watch.until(|_| true), [added]);
    server.delete_message(&existing[0]);
    let changed = stored(&server, &existing[1], "c", "changed");
    assert_eq!(watch.until(|_| true), [changed]);
    let (code, rest) = watch.interrupt();
    assert_eq!(code, 0);
    assert_eq!(
        rest,
        Vec::<String>::new(),
        "deletions and notes are not ids to act on"
    );
}

#[test]
fn watch_follows_pieces_os_to_another_port() {
    let ports = free_ports(5);
    let first = start_on(port_at(ports, 3), ServerConfig::default().with_seed_messages(1));
    let watch = Running::piped(scanning(ports, &["watch"]));
    // In a pipe: the time, a tab, and the whole line.
    watch.until(|line| line.ends_with(&format!("\tconnected to {}", first.ws_url())));
    watch.until(|line| line.ends_with("\t1 message"));

    first.stop();
    let second = start_on(
        port_at(ports, 0),
        ServerConfig::default().with_seed_messages(3).with_rng_seed(99),
    );
    let seen = watch.until(|line| line.ends_with(&format!("\tconnected to {}", second.ws_url())));
    assert!(
        seen.iter().any(|line| line.contains("\tdisconnected: ")),
        "{seen:#?}"
    );
    watch.until(|line| line.ends_with("\t3 messages"));
    // After the reconnection it lists what changed: the old message went, three came.
    let after = watch.until(|line| line.contains("\t- "));
    assert_eq!(
        after.iter().filter(|line| line.contains("\t+ ")).count(),
        3,
        "{after:#?}"
    );

    let (code, rest) = watch.interrupt();
    assert_eq!(code, 0);
    assert!(
        rest.last().is_some_and(|line| line.ends_with("\tstopped")),
        "{rest:?}"
    );
    second.stop();
}

#[cfg(target_os = "linux")]
#[test]
fn watch_on_a_narrow_terminal_keeps_the_retry_time_at_the_end_of_the_line() {
    let server = Server::start(ServerConfig::default().with_seed_messages(1)).unwrap();
    let watch = Running::on_terminal(at(&server, &["watch"]), 60);
    let connected = watch.until(|line| line.ends_with(" 1 message"));
    assert!(connected.iter().all(|line| columns(line) <= 60), "{connected:#?}");
    server.stop();
    let seen = watch.until(|line| line.contains(" disconnected: "));
    let line = seen.last().unwrap();
    assert!(columns(line) <= 60, "{line:?}");
    let (before, retry) = line
        .rsplit_once("; retrying in ")
        .unwrap_or_else(|| panic!("{line:?}"));
    assert!(
        before.ends_with('…'),
        "the error is cut, not the retry time: {line:?}"
    );
    assert!(
        retry.ends_with(" s") && retry[..retry.len() - 2].parse::<f64>().is_ok(),
        "{line:?}"
    );

    let (code, rest) = watch.interrupt();
    assert_eq!(code, 0);
    assert!(rest.iter().any(|line| line.ends_with(" stopped")), "{rest:?}");
}

/// A line of `watch` in a pipe without its time: what follows the first tab, once the time is checked.
#[track_caller]
fn untimed(line: &str) -> &str {
    let (time, rest) = line
        .split_once('\t')
        .unwrap_or_else(|| panic!("no tab in {line:?}"));
    let digits = time
        .split(':')
        .all(|part| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit()));
    assert!(digits && time.len() == 8, "not HH:MM:SS: {line:?}");
    rest
}

#[test]
fn watch_content_prints_the_text_of_each_added_and_changed_message_and_each_removal() {
    let server = Server::start(ServerConfig::default().with_seed_messages(3)).unwrap();
    let client = Client::with_base_url(server.url()).unwrap();
    let watch = Running::piped(at(&server, &["watch", "--content"]));
    // The messages already there are counted, not listed.
    let seen = watch.until(|_| true);
    assert_eq!(untimed(&seen[0]), "3 messages");

    let seed = SeededConversationMessage::user_text("c", "hello\n\tthere");
    let mut message = client.create_message(&seed, Transferables::Default).unwrap();
    let id = message.id.clone();
    let seen = watch.until(|_| true);
    assert_eq!(untimed(&seen[0]), format!("+ {id}\thello there"));

    message.fragment = Some(FragmentFormat::text("changed text"));
    client.update_message(&message, Transferables::Default).unwrap();
    let seen = watch.until(|_| true);
    assert_eq!(untimed(&seen[0]), format!("~ {id}\tchanged text"));

    client.delete_message(&id).unwrap();
    let seen = watch.until(|_| true);
    assert_eq!(untimed(&seen[0]), format!("- {id}"));

    let (code, rest) = watch.interrupt();
    assert_eq!(code, 0);
    let rest: Vec<&str> = rest.iter().map(|line| untimed(line)).collect();
    assert_eq!(rest, ["stopped"]);
}

#[test]
fn watch_content_json_prints_the_mirrors_events() {
    let server = Server::start(ServerConfig::default().with_seed_messages(2)).unwrap();
    let client = Client::with_base_url(server.url()).unwrap();
    let watch = Running::piped(at(&server, &["--json", "watch", "--content"]));
    assert_eq!(watch.until(|_| true), [r#"{"type":"synced","count":2}"#]);
    let event = |line: &str| -> Value { serde_json::from_str(line).unwrap() };

    let seed = SeededConversationMessage::user_text("c", "added");
    let created = client.create_message_json(&serde_json::to_string(&seed).unwrap(), Transferables::Default);
    let created: Value = serde_json::from_str(&created.unwrap()).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let added = event(&watch.until(|_| true)[0]);
    assert_eq!(added["type"], "added");
    assert_eq!(added["message"], server.message(&id).unwrap());

    let mut changed = created.clone();
    changed["fragment"]["string"]["raw"] = json!("changed");
    client
        .update_message_json(&changed.to_string(), Transferables::Default)
        .unwrap();
    let updated = event(&watch.until(|_| true)[0]);
    assert_eq!(updated["type"], "updated");
    assert_eq!(updated["message"], server.message(&id).unwrap());
    assert_eq!(updated["message"]["fragment"]["string"]["raw"], "changed");

    client.delete_message(&id).unwrap();
    assert_eq!(
        event(&watch.until(|_| true)[0]),
        json!({"type": "removed", "id": id})
    );

    let (code, rest) = watch.interrupt();
    assert_eq!(code, 0);
    assert_eq!(rest, [r#"{"type":"closed"}"#]);
}

#[test]
fn watch_content_says_when_pieces_os_keeps_failing_and_catches_up_once_it_answers() {
    let server = Server::start(ServerConfig::default().with_seed_messages(2)).unwrap();
    let watch = Running::piped(at(&server, &["watch", "--content"]));
    assert_eq!(untimed(&watch.until(|_| true)[0]), "2 messages");
    // Every request fails: the mirror cannot fetch the message the stream announces.
    server.faults().set_fail_every(1);
    let id = stored(
        &server,
        "0b3e6c1e-1b2c-4d5e-8f90-123456789abc",
        "c",
        "written while failing",
    );
    let seen = watch.until(|line| line.contains("\tstale: "));
    let line = untimed(seen.last().unwrap());
    assert!(
        line.starts_with("stale: HTTP 500: ") && line.ends_with("; retrying"),
        "{line:?}"
    );
    server.faults().clear();
    let seen = watch.until(|line| line.contains(&id));
    assert_eq!(
        untimed(seen.last().unwrap()),
        format!("+ {id}\twritten while failing")
    );
    let (code, rest) = watch.interrupt();
    assert_eq!(code, 0);
    assert_eq!(rest.last().map(|line| untimed(line)), Some("stopped"), "{rest:?}");
}

#[cfg(target_os = "linux")]
#[test]
fn watch_content_on_a_narrow_terminal_shows_short_ids_and_cuts_the_text() {
    let server = Server::start(ServerConfig::default().with_seed_messages(1)).unwrap();
    let watch = Running::on_terminal(at(&server, &["watch", "--content"]), 60);
    watch.until(|line| line.ends_with(" 1 message"));
    let text = format!("中文 {}", "long words ".repeat(20));
    let id = stored(&server, "f00dcafe-0000-4000-8000-000000000001", "c", &text);
    let seen = watch.until(|line| line.contains(" + "));
    let line = seen.last().unwrap();
    assert!(columns(line) <= 60, "{line:?}");
    let (_, shown) = line.split_once(" + ").unwrap();
    assert!(
        shown.starts_with(&format!("{}  中文 long words", &id[..8])),
        "{line:?}"
    );
    assert!(!line.contains(&id), "a short id: {line:?}");
    assert!(line.ends_with('…'), "{line:?}");

    let (code, rest) = watch.interrupt();
    assert_eq!(code, 0);
    assert!(rest.iter().any(|line| line.ends_with(" stopped")), "{rest:?}");
}

// ---- 4. pieces-os-server ----------------------------------------------------------------------------

fn server_command(args: &[&str]) -> Command {
    let mut command = Command::new(SERVER_BINARY);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[test]
fn the_stand_in_program_parses_its_flags_like_other_programs() {
    let output = run(server_command(&["--prot", "1"]));
    assert_code(&output, 2);
    assert!(
        stderr(&output).contains("a similar argument exists: '--port'"),
        "{}",
        stderr(&output)
    );

    let output = run(server_command(&["--help"]));
    assert_code(&output, 0);
    assert!(
        stdout(&output).contains("--pieces-version"),
        "{}",
        stdout(&output)
    );
    let output = run(server_command(&["--version"]));
    assert_code(&output, 0);
    assert_eq!(
        stdout(&output),
        format!("pieces-os-server {}\n", env!("CARGO_PKG_VERSION"))
    );

    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = run(server_command(&["--port", &port]));
    assert_code(&output, 1);
    assert!(
        stderr(&output).starts_with(&format!("pieces-os-server: cannot listen on 127.0.0.1:{port}: ")),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_stand_in_program_seeds_with_progress_and_serves_the_version_asked_for() {
    let mut child = server_command(&["--port", "0", "--seed", "1500", "--pieces-version", "12.3.4"])
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (sender, received) = mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let _ = sender.send(line);
    });
    let line = received.recv_timeout(LIMIT).expect("no listening line");
    let url = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned();
    let client = Client::with_base_url(&url).unwrap();
    let version = client.version();
    let count = client
        .snapshot_messages(Transferables::Exclude)
        .map(|messages| messages.iterable.len());
    let _ = child.kill();
    let _ = child.wait();
    let mut progress = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut progress)
        .unwrap();
    assert_eq!(version.unwrap(), "12.3.4");
    assert_eq!(count.unwrap(), 1500);
    let lines: Vec<&str> = progress.lines().collect();
    assert_eq!(lines[0], "seeding 1500 messages", "{progress}");
    assert!(lines[1].starts_with("seeded 1500 messages in "), "{progress}");
}

// ---- the README -------------------------------------------------------------------------------------

/// One `console` block of the README that a marker asks to check: where it runs, and each command with
/// the output the README shows for it.
struct Example {
    on_terminal: bool,
    runs: Vec<(String, String)>,
}

/// The blocks of `readme` that follow `<!-- checked: terminal -->` or `<!-- checked: pipe -->`.
fn checked_examples(readme: &str) -> Vec<Example> {
    let mut examples = Vec::new();
    let mut rest = readme;
    while let Some(start) = rest.find("<!-- checked: ") {
        rest = &rest[start + "<!-- checked: ".len()..];
        let (place, after) = rest
            .split_once(" -->\n```console\n")
            .expect("a console block after the marker");
        let (block, after) = after.split_once("\n```\n").expect("the end of the block");
        rest = after;
        let mut runs: Vec<(String, String)> = Vec::new();
        for line in block.lines() {
            match line.strip_prefix("$ ") {
                Some(command) => runs.push((command.to_owned(), String::new())),
                None => {
                    let (_, output) = runs.last_mut().expect("a command before its output");
                    output.push_str(line);
                    output.push('\n');
                }
            }
        }
        examples.push(Example {
            on_terminal: match place {
                "terminal" => true,
                "pipe" => false,
                other => panic!("unknown place {other:?}"),
            },
            runs,
        });
    }
    examples
}

/// The README's command-line examples are output of the programs as they are: each checked block is
/// run, in order, through `sh` against `pieces-os-server --seed 5` (that is, the stand-in with five
/// realistic messages of seed 0), on a terminal of 100 columns or in a pipe, and must print exactly what
/// the README shows (with the stand-in's port written as 39300).
#[cfg(target_os = "linux")]
#[test]
fn the_readme_shows_real_output() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let examples = checked_examples(&readme);
    assert!(examples.len() >= 3, "the README's checked examples are gone");
    let server = Server::start(ServerConfig::default().with_seed_messages(5)).unwrap();
    let bin_dir = std::path::Path::new(BINARY).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut differences = String::new();
    for example in &examples {
        for (line, expected) in &example.runs {
            let mut shell = Command::new("sh");
            shell
                .arg("-c")
                .arg(format!("{line} 2>&1"))
                .env("PATH", &path)
                .env("PIECES_OS_URL", server.url())
                .env_remove("PIECES_OS_PORTS")
                .env_remove("PIECES_OS_APPLICATION_ID")
                .env_remove("COLUMNS")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let output = if example.on_terminal {
                terminal::run(shell, 100).1
            } else {
                stdout(&run(shell))
            };
            let output = output.replace(&format!("127.0.0.1:{}", server.port()), "127.0.0.1:39300");
            if &output != expected {
                differences.push_str(&format!("$ {line}\n--- README\n{expected}--- actual\n{output}\n"));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "the README differs from a run:\n{differences}"
    );
}
