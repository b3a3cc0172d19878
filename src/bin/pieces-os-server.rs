//! `pieces-os-server`: the local stand-in PiecesOS as a program, for trying clients by hand and for tests
//! written in other languages.
//!
//! It binds its port first (so a port in use is reported at once), seeds the messages it was asked for
//! (with progress on standard error), then prints `listening on http://127.0.0.1:PORT` on standard output
//! and serves until the process is killed (Ctrl-C, SIGTERM, or the test harness ending it). It keeps no
//! state on disk, so being killed loses nothing, and there is no other way to stop it: a stop command
//! would be one more thing to get wrong for a program whose callers already know how to end a process.

#![deny(unsafe_code)]

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use pieces_os_client::server::{
    DropMode, FaultConfig, Server, ServerConfig, DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT, DEFAULT_VERSION,
};

/// What `--help` shows after the options.
const AFTER_HELP: &str = "\
Prints `listening on http://127.0.0.1:PORT` on standard output once the messages are seeded, then serves
until it is killed. Wait for that line before connecting: while it seeds, the port is already bound but
the store is still filling.";

/// A local stand-in for PiecesOS's conversation-messages API on 127.0.0.1.
#[derive(Debug, Parser)]
#[command(name = "pieces-os-server", version, after_help = AFTER_HELP)]
struct Args {
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, value_name = "PORT", default_value_t = DEFAULT_PORT)]
    port: u16,

    /// Start with N realistic messages.
    #[arg(long, visible_alias = "seed-messages", value_name = "N", default_value_t = 0)]
    seed: usize,

    /// Seed of the realistic messages: the same seed gives the same messages.
    #[arg(long = "rng-seed", value_name = "N", default_value_t = 0)]
    rng_seed: u64,

    /// Require this id in the API key header (else 401); health and version under /.well-known/
    /// answer without it.
    #[arg(long = "application-id", value_name = "ID")]
    application_id: Option<String>,

    /// The header that carries the application id.
    #[arg(long = "api-key-header", value_name = "NAME", default_value = pieces_os_client::config::DEFAULT_API_KEY_HEADER)]
    api_key_header: String,

    /// What GET /.well-known/version answers (the PiecesOS version to pretend to be).
    #[arg(long = "pieces-version", value_name = "VERSION", default_value = DEFAULT_VERSION)]
    pieces_version: String,

    /// Answer every Nth request with 500 text/plain (0: never).
    #[arg(long = "fail-every", value_name = "N", default_value_t = 0)]
    fail_every: u64,

    /// Wait this many milliseconds before every answer.
    #[arg(long = "delay-ms", value_name = "MS", default_value_t = 0)]
    delay_ms: u64,

    /// Drop each WebSocket after sending it N frames (0: never).
    #[arg(long = "ws-drop-after", value_name = "N", default_value_t = 0)]
    ws_drop_after: u64,

    /// How a WebSocket is dropped.
    #[arg(long = "ws-drop-mode", value_name = "MODE", value_enum, default_value_t = DropModeArg::Close)]
    ws_drop_mode: DropModeArg,

    /// The largest request body accepted; a larger one is answered 413 before it is read.
    #[arg(long = "max-body-bytes", value_name = "BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: u64,
}

/// The spellings of [`DropMode`] on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DropModeArg {
    /// A Close frame (code 1001), then the TCP close.
    Close,
    /// A TCP shutdown without any Close frame, as a crash looks.
    Cut,
}

impl Args {
    /// The server's configuration, without the seeding, which `main` does itself to show progress.
    fn config(&self) -> ServerConfig {
        let mut config = ServerConfig::default()
            .with_port(self.port)
            .with_rng_seed(self.rng_seed)
            .with_api_key_header(&self.api_key_header)
            .with_version(&self.pieces_version)
            .with_max_body_bytes(self.max_body_bytes)
            .with_faults(FaultConfig {
                fail_every: self.fail_every,
                delay: Duration::from_millis(self.delay_ms),
                ws_drop_after: self.ws_drop_after,
                ws_drop_mode: match self.ws_drop_mode {
                    DropModeArg::Close => DropMode::Close,
                    DropModeArg::Cut => DropMode::Cut,
                },
            });
        if let Some(id) = &self.application_id {
            config = config.with_application_id(id);
        }
        config
    }
}

/// How many messages are seeded between two progress reports.
const SEED_BATCH: usize = 1_000;

fn main() -> ExitCode {
    let args = Args::parse();
    let server = match Server::start(args.config()) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("pieces-os-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    if seed(&server, args.seed).is_err() {
        return ExitCode::FAILURE;
    }
    let mut stdout = io::stdout();
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

/// Seeds `count` realistic messages in batches, reporting progress on standard error: a line that
/// counts up on a terminal, a line before and one after elsewhere. Fails only when standard error is
/// gone.
fn seed(server: &Server, count: usize) -> io::Result<()> {
    if count == 0 {
        return Ok(());
    }
    let started = Instant::now();
    let mut stderr = io::stderr().lock();
    let terminal = stderr.is_terminal();
    if !terminal {
        writeln!(stderr, "seeding {count} messages")?;
    }
    let mut done = 0;
    while done < count {
        let batch = SEED_BATCH.min(count - done);
        server.seed_realistic(batch);
        done += batch;
        if terminal {
            write!(stderr, "\rseeding messages: {done} of {count}")?;
            stderr.flush()?;
        }
    }
    if terminal {
        write!(stderr, "\r\x1b[K")?;
    }
    writeln!(
        stderr,
        "seeded {count} messages in {:.1} s",
        started.elapsed().as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("pieces-os-server").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_and_every_flag() {
        let defaults = parse(&[]).unwrap();
        assert_eq!(defaults.seed, 0);
        assert_eq!(defaults.config(), ServerConfig::default().with_port(DEFAULT_PORT));
        let args = parse(&[
            "--port=0",
            "--seed",
            "5",
            "--rng-seed",
            "9",
            "--application-id",
            "app",
            "--api-key-header",
            "application",
            "--pieces-version",
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
        assert_eq!(args.seed, 5);
        assert_eq!(
            args.config(),
            ServerConfig::default()
                .with_port(0)
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
        assert_eq!(parse(&["--seed-messages", "7"]).unwrap().seed, 7);
    }

    #[test]
    fn help_version_and_mistakes_are_clap_s() {
        use clap::error::ErrorKind;
        assert_eq!(parse(&["--help"]).unwrap_err().kind(), ErrorKind::DisplayHelp);
        assert_eq!(
            parse(&["--version"]).unwrap_err().kind(),
            ErrorKind::DisplayVersion
        );
        let typo = parse(&["--prot", "1"]).unwrap_err();
        assert_eq!(typo.kind(), ErrorKind::UnknownArgument);
        assert!(typo.to_string().contains("--port"), "{typo}");
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--port", "70000"]).is_err());
        assert!(parse(&["--ws-drop-mode", "explode"]).is_err());
        assert!(parse(&["stray"]).is_err());
    }

    #[test]
    fn the_definition_is_consistent() {
        Args::command().debug_assert();
    }
}
