//! The `pieces-messages` binary, run as a user would, against the stand-in PiecesOS.
//!
//! Every run scans only a range of ports the test controls (`PIECES_OS_PORTS`), or is given `--url`;
//! `PIECES_OS_URL` is removed from its environment unless a test sets it.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{free_ports, port_at, start_on};
use pieces_os_client::discovery::PortRange;
use pieces_os_client::server::{Server, ServerConfig};
use pieces_os_client::{Client, Transferables};
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_pieces-messages");
const LIMIT: Duration = Duration::from_secs(20);

/// A command for the binary with a clean environment: no PIECES_OS_URL, ports that nothing listens on
/// unless a test says otherwise, and 100 columns.
fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .env_remove("PIECES_OS_URL")
        .env("PIECES_OS_PORTS", free_ports(4).to_string())
        .env("COLUMNS", "100")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits for `child` at most [`LIMIT`], killing it if it takes longer.
fn finish(mut child: Child) -> Output {
    let deadline = Instant::now() + LIMIT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("pieces-messages did not end within {LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
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

#[test]
fn list_fits_the_width_and_json_is_the_servers_own_text() {
    let server = Server::start(ServerConfig::default().with_seed_messages(6)).unwrap();
    let mut command = at(&server, &["list"]);
    command.env("COLUMNS", "80");
    let output = run(command);
    assert_code(&output, 0);
    let text = stdout(&output);
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "{line:?}");
    }
    for id in server.message_ids() {
        assert!(text.contains(&id), "{id} missing from\n{text}");
    }
    assert!(text.contains("conversation "), "{text}");
    assert!(text.contains("\n6 messages in "), "{text}");

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
    let stored = server.message(id).unwrap();
    assert_eq!(stored["fragment"]["string"]["raw"], "hello there");

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
    let stored = server.message(created["id"].as_str().unwrap()).unwrap();
    assert_eq!(stored["fragment"]["string"]["raw"], "first line\nsecond line");
}

#[test]
fn delete_removes_each_id_and_reports_the_ones_that_fail() {
    let server = Server::start(ServerConfig::default().with_seed_messages(3)).unwrap();
    let ids = server.message_ids();
    let output = run(at(&server, &["delete", &ids[0], &ids[1]]));
    assert_code(&output, 0);
    assert_eq!(
        stdout(&output),
        format!("deleted {}\ndeleted {}\n", ids[0], ids[1])
    );
    assert_eq!(server.message_ids(), [ids[2].clone()]);

    // An unknown id fails on its own line; the known one is still deleted.
    let output = run(at(&server, &["--json", "delete", "no-such-id", &ids[2]]));
    assert_code(&output, 1);
    let line = one_error_line(&output);
    assert!(line.contains("no-such-id") && line.contains("HTTP 500"), "{line}");
    assert_eq!(json(&output)["deleted"], serde_json::json!([ids[2]]));
    assert_eq!(server.message_count(), 0);
}

#[test]
fn search_shows_the_matches() {
    let server = Server::start(ServerConfig::default().with_seed_messages(3)).unwrap();
    let created = run(at(
        &server,
        &["--json", "create", "--conversation", "c", "zebra crossing"],
    ));
    let id = json(&created)["id"].as_str().unwrap().to_owned();

    let output = run(at(&server, &["search", "zebra", "crossing"]));
    assert_code(&output, 0);
    let text = stdout(&output);
    assert!(text.starts_with("SCORE"), "{text}");
    assert!(text.contains(&id) && text.contains("zebra crossing"), "{text}");
    assert!(text.trim_end().ends_with("1 match"), "{text}");

    let output = run(at(&server, &["--json", "search", "zebra"]));
    assert_code(&output, 0);
    assert_eq!(json(&output)["iterable"][0]["identifier"], id.as_str());

    let output = run(at(&server, &["search", "no-such-words-anywhere"]));
    assert_code(&output, 0);
    assert_eq!(stdout(&output), "no matches\n");
}

#[test]
fn usage_errors_exit_with_2() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["--timeout", "soon", "status"],
        &["create", "text"],
        &["create", "--conversation", "c", "--role", "robot", "text"],
        &["delete"],
    ] {
        let output = run(command(args));
        assert_code(&output, 2);
        // clap explains on standard error (a missing subcommand gets the help text) and prints nothing else.
        assert!(
            stderr(&output).contains("Usage:") || stderr(&output).contains("error:"),
            "{args:?}"
        );
        assert_eq!(stdout(&output), "", "{args:?}");
    }
    // A URL that is no http URL is a usage error too, on one line.
    let output = run(command(&["--url", "ftp://127.0.0.1:1", "status"]));
    assert_code(&output, 2);
    assert!(one_error_line(&output).contains("ftp://127.0.0.1:1"));

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
fn timeout_and_app_id_reach_the_requests() {
    let server = Server::start(ServerConfig::default().with_application_id("my-plugin")).unwrap();
    let output = run(at(&server, &["list"]));
    assert_code(&output, 1);
    assert!(one_error_line(&output).contains("HTTP 401"));
    assert_code(&run(at(&server, &["--app-id", "my-plugin", "list"])), 0);

    let slow = Server::start(ServerConfig::default()).unwrap();
    slow.faults().set_delay(Duration::from_secs(3));
    let started = Instant::now();
    let output = run(at(&slow, &["--timeout", "300ms", "status"]));
    assert_code(&output, 1);
    assert!(one_error_line(&output).contains("did not answer within 300 ms"));
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// Reads the lines of a running `watch` on a thread, so the test can wait for them with a limit.
struct Watch {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Watch {
    fn start(mut command: Command) -> Watch {
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Watch { child, lines }
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

    /// Ctrl-C, then the exit.
    fn interrupt(self) -> (Output, mpsc::Receiver<String>) {
        // SAFETY: kill() only sends a signal to the child this test started and still owns.
        let sent = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        assert_eq!(sent, 0);
        (finish(self.child), self.lines)
    }
}

#[test]
fn watch_prints_changes_as_json_lines_until_ctrl_c() {
    let server = Server::start(ServerConfig::default().with_seed_messages(2)).unwrap();
    let watch = Watch::start(at(&server, &["--json", "watch"]));
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

    let (output, lines) = watch.interrupt();
    assert_code(&output, 0);
    let rest: Vec<String> = lines.try_iter().collect();
    assert_eq!(
        rest.last().map(String::as_str),
        Some(r#"{"type":"closed"}"#),
        "{rest:?}"
    );
}

#[test]
fn watch_follows_pieces_os_to_another_port() {
    let ports = free_ports(5);
    let first = start_on(port_at(ports, 3), ServerConfig::default().with_seed_messages(1));
    let watch = Watch::start(scanning(ports, &["watch"]));
    watch.until(|line| line.ends_with(&format!("connected to {}", first.ws_url())));
    watch.until(|line| line.ends_with(" 1 message"));

    first.stop();
    let second = start_on(
        port_at(ports, 0),
        ServerConfig::default().with_seed_messages(3).with_rng_seed(99),
    );
    let seen = watch.until(|line| line.ends_with(&format!("connected to {}", second.ws_url())));
    assert!(
        seen.iter().any(|line| line.contains("disconnected: ")),
        "{seen:#?}"
    );
    let seen = watch.until(|line| line.ends_with(" 3 messages"));
    // After the reconnection it lists what changed: the old message went, three came.
    let after = watch.until(|line| line.contains("- "));
    let lines: Vec<&String> = seen.iter().chain(after.iter()).collect();
    assert!(lines.iter().all(|line| line.chars().count() <= 100), "{lines:#?}");

    let (output, lines) = watch.interrupt();
    assert_code(&output, 0);
    let rest: Vec<String> = lines.try_iter().collect();
    assert!(
        rest.last().is_some_and(|line| line.ends_with(" stopped")),
        "{rest:?}"
    );
    second.stop();
}
