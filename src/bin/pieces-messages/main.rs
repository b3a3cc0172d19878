//! `pieces-messages`: the conversation messages of PiecesOS from the command line.
//!
//! Run `pieces-messages --help` for the commands; the README's "Command line" section describes them
//! with their output and exit codes. This file holds the parsing, the client, the exit codes and the one
//! error line on failure; `args` declares the command line, `commands` runs each command, `output`
//! formats for people, and `interrupt` turns Ctrl-C into a clean stop. None of it is in the library or
//! its C API.

#![deny(unsafe_code)]

mod args;
mod commands;
mod interrupt;
mod output;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use pieces_os_client::config::DEFAULT_CONNECT_TIMEOUT;
use pieces_os_client::{Client, ClientConfig, Error};

use args::Cli;

/// Exit status: done.
pub const EXIT_OK: u8 = 0;
/// Exit status: any failure not listed below (HTTP errors, refused connections, bad answers).
pub const EXIT_ERROR: u8 = 1;
/// Exit status: bad arguments or settings (also clap's own status for usage errors).
pub const EXIT_USAGE: u8 = 2;
/// Exit status: discovery found no PiecesOS.
pub const EXIT_NOT_RUNNING: u8 = 3;
/// Exit status: PiecesOS runs a version this client does not support.
pub const EXIT_INCOMPATIBLE: u8 = 4;

/// Why the program stops early: a message for standard error and an exit status.
#[derive(Debug)]
pub struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    fn error(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: EXIT_ERROR,
        }
    }

    /// The program already said what went wrong; it only has to end with `code`.
    fn quiet(code: u8) -> Self {
        Failure {
            message: String::new(),
            code,
        }
    }
}

/// The exit status that stands for `error`.
fn exit_code(error: &Error) -> u8 {
    match error {
        Error::NotRunning { .. } => EXIT_NOT_RUNNING,
        Error::IncompatibleVersion { .. } => EXIT_INCOMPATIBLE,
        Error::InvalidInput { .. } | Error::InvalidJson { .. } => EXIT_USAGE,
        _ => EXIT_ERROR,
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            code: exit_code(&error),
            message: error.to_string(),
        }
    }
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Self {
        if error.kind() == io::ErrorKind::BrokenPipe {
            // The reader went away (`pieces-messages list | head`): nothing is wrong with the work.
            return Failure::quiet(EXIT_OK);
        }
        Failure::error(format!("cannot write the output: {error}"))
    }
}

/// Parses the command line, runs the command, and turns the outcome into an exit status.
fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to standard output with status 0; usage errors to standard error with 2.
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    let outcome = client(&cli).and_then(|client| commands::run(&cli, &client));
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            if !failure.message.is_empty() {
                let line = output::one_line(&failure.message);
                let _ = writeln!(io::stderr().lock(), "pieces-messages: error: {line}");
            }
            ExitCode::from(failure.code)
        }
    }
}

/// The client the options describe; nothing is sent yet.
fn client(cli: &Cli) -> Result<Client, Failure> {
    let mut config = ClientConfig::default().with_user_agent(concat!(
        "pieces-messages/",
        env!("CARGO_PKG_VERSION"),
        " (pieces-os-client-rust)"
    ));
    if let Some(url) = &cli.url {
        config = config.with_base_url(url);
    }
    if let Some(id) = &cli.app_id {
        config = config.with_application_id(id);
    }
    if let Some(timeout) = cli.timeout {
        config = config
            .with_request_timeout(Some(timeout))
            .with_connect_timeout(timeout.min(DEFAULT_CONNECT_TIMEOUT));
    }
    Ok(Client::new(config)?)
}
