//! `pieces-os-server`: the local stand-in PiecesOS as a program, for trying clients by hand and for tests
//! written in other languages.
//!
//! It prints `listening on http://127.0.0.1:PORT` on stdout once it accepts connections, then serves until
//! the process is killed (Ctrl-C, SIGTERM, or the test harness ending it). It keeps no state on disk, so
//! being killed loses nothing, and there is no other way to stop it: a stop command would be one more
//! thing to get wrong for a program whose callers already know how to end a process.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use pieces_os_client::server::{DropMode, FaultConfig, Server, ServerConfig, DEFAULT_PORT};

const USAGE: &str = "\
Usage: pieces-os-server [OPTIONS]

A local stand-in for PiecesOS's conversation-messages API on 127.0.0.1. Prints
`listening on http://127.0.0.1:PORT` once ready, then serves until killed.

Options:
  --port N              port on 127.0.0.1 (default 39300; 0 picks a free one)
  --seed N              start with N realistic messages (default 0)
  --rng-seed N          seed of the realistic messages (default 0)
  --application-id ID   require this id in the API key header (else 401); health and
                        version under /.well-known/ answer without it
  --api-key-header NAME the header that carries the id (default X-Application-ID)
  --version V           what GET /.well-known/version answers (default 12.1.0)
  --fail-every N        answer every Nth request with 500 text/plain (default 0: never)
  --delay-ms N          wait N ms before every answer (default 0)
  --ws-drop-after N     drop each WebSocket after sending it N frames (default 0: never)
  --ws-drop-mode MODE   close (a Close frame, code 1001) or cut (TCP shutdown, no Close frame)
  --max-body-bytes N    largest request body accepted, else 413 (default 33554432: 32 MiB)
  --help                print this and exit

Values may also be written --flag=value.";

/// The flags that take a value.
const FLAGS: &[&str] = &[
    "--port",
    "--seed",
    "--seed-messages",
    "--rng-seed",
    "--application-id",
    "--api-key-header",
    "--version",
    "--fail-every",
    "--delay-ms",
    "--ws-drop-after",
    "--ws-drop-mode",
    "--max-body-bytes",
];

/// Parses a flag's value, naming the flag in the error.
fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: {value:?} is not a valid number"))
}

/// What the command line asks for: a configuration, or the usage text.
enum Command {
    Run(Box<ServerConfig>),
    Help,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut config = ServerConfig::default().with_port(DEFAULT_PORT);
    let mut faults = FaultConfig::default();
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            return Ok(Command::Help);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
            _ => (arg.clone(), None),
        };
        if !flag.starts_with("--") {
            return Err(format!("unexpected argument {arg:?}"));
        }
        if !FLAGS.contains(&flag.as_str()) {
            return Err(format!("unknown option {flag}"));
        }
        let value = match inline.or_else(|| args.next()) {
            Some(value) => value,
            None => return Err(format!("{flag} needs a value")),
        };
        match flag.as_str() {
            "--port" => config = config.with_port(number(&flag, &value)?),
            "--seed" | "--seed-messages" => config = config.with_seed_messages(number(&flag, &value)?),
            "--rng-seed" => config = config.with_rng_seed(number(&flag, &value)?),
            "--application-id" => config = config.with_application_id(value),
            "--api-key-header" => config = config.with_api_key_header(value),
            "--version" => config = config.with_version(value),
            "--fail-every" => faults.fail_every = number(&flag, &value)?,
            "--delay-ms" => faults.delay = Duration::from_millis(number(&flag, &value)?),
            "--ws-drop-after" => faults.ws_drop_after = number(&flag, &value)?,
            "--ws-drop-mode" => faults.ws_drop_mode = value.parse::<DropMode>()?,
            "--max-body-bytes" => config = config.with_max_body_bytes(number(&flag, &value)?),
            // FLAGS and this match list the same flags.
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(Command::Run(Box::new(config.with_faults(faults))))
}

fn main() -> ExitCode {
    let config = match parse(std::env::args().skip(1)) {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("pieces-os-server: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let server = match Server::start(*config) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("pieces-os-server: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    // Whoever started the program waits for this line to know the port is open, so it must not sit in a
    // buffer.
    if writeln!(stdout, "listening on {}", server.url())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    loop {
        // Serving happens on the server's threads; this one only keeps `server` alive until the process
        // is killed. `park` may wake spuriously, hence the loop.
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<ServerConfig, String> {
        match parse(args.iter().map(|arg| arg.to_string()))? {
            Command::Run(config) => Ok(*config),
            Command::Help => Err("help".into()),
        }
    }

    #[test]
    fn defaults_and_every_flag() {
        let defaults = run(&[]).unwrap();
        assert_eq!(defaults.port, DEFAULT_PORT);
        assert_eq!(defaults.faults, FaultConfig::default());
        let config = run(&[
            "--port=0",
            "--seed",
            "5",
            "--rng-seed",
            "9",
            "--application-id",
            "app",
            "--api-key-header",
            "application",
            "--version",
            "12.0.1",
            "--fail-every",
            "3",
            "--delay-ms=40",
            "--ws-drop-after",
            "2",
            "--ws-drop-mode",
            "cut",
            "--max-body-bytes",
            "1000",
        ])
        .unwrap();
        assert_eq!(
            config,
            ServerConfig::default()
                .with_port(0)
                .with_seed_messages(5)
                .with_rng_seed(9)
                .with_application_id("app")
                .with_api_key_header("application")
                .with_version("12.0.1")
                .with_max_body_bytes(1000)
                .with_faults(FaultConfig {
                    fail_every: 3,
                    delay: Duration::from_millis(40),
                    ws_drop_after: 2,
                    ws_drop_mode: DropMode::Cut,
                })
        );
    }

    #[test]
    fn help_and_errors() {
        assert_eq!(run(&["--port", "1", "--help"]).unwrap_err(), "help");
        assert!(run(&["--port"]).unwrap_err().contains("needs a value"));
        assert!(run(&["--port", "70000"]).unwrap_err().contains("--port"));
        assert!(run(&["--ws-drop-mode", "explode"])
            .unwrap_err()
            .contains("explode"));
        assert!(run(&["--frobnicate", "1"]).unwrap_err().contains("--frobnicate"));
        assert_eq!(run(&["--frobnicate"]).unwrap_err(), "unknown option --frobnicate");
        assert!(run(&["stray"]).unwrap_err().contains("stray"));
    }
}
