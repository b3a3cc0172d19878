//! `pieces-messages`: the conversation messages of PiecesOS from the command line.
//!
//! Run `pieces-messages --help` for the commands; the README's "Command line" section describes them
//! with their output and exit codes. This file holds the parsing, the client and the report of a
//! failure; `args` declares the command line, `commands` runs each command, `output` lays out what
//! people and programs read, `selection` applies `--conversation` and `--limit`, `ids` shortens ids and
//! looks prefixes up, `errors` says what went wrong and with which exit status, `progress` and
//! `verbose` write on standard error, `interrupt` turns Ctrl-C into a clean stop, and `generate`
//! writes the shell completions and the man page. None of it is in the library or its C API.

#![deny(unsafe_code)]

mod args;
mod commands;
mod errors;
mod generate;
mod ids;
mod interrupt;
mod output;
mod progress;
mod selection;
mod verbose;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;
use pieces_os_client::config::{DEFAULT_CONNECT_TIMEOUT, PIECES_OS_URL_ENV};
use pieces_os_client::{Client, ClientConfig};
use serde_json::json;

use args::Cli;
use errors::{CommandError, EXIT_OK, EXIT_USAGE};

/// Parses the command line, runs the command, and turns the outcome into an exit status.
fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    if cli.verbose {
        verbose::enable();
    }
    match commands::run(&cli, connect) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            failure.report(cli.json);
            ExitCode::from(failure.code())
        }
    }
}

/// Prints what clap found wrong: help and version on standard output with status 0, a usage error on
/// standard error with status 2, as JSON when `--json` was asked for.
fn usage_error(error: &clap::Error) -> ExitCode {
    if !error.use_stderr() {
        let _ = error.print();
        return ExitCode::from(EXIT_OK);
    }
    if json_asked(std::env::args_os()) {
        let text = error.render().to_string();
        let message = text.trim().strip_prefix("error: ").unwrap_or(text.trim());
        eprintln!("{}", json!({"kind": "usage", "message": message}));
    } else {
        let _ = error.print();
    }
    ExitCode::from(EXIT_USAGE)
}

/// Whether `--json` is among the options (before any `--`), even on a command line clap refused.
fn json_asked(args: impl Iterator<Item = OsString>) -> bool {
    args.skip(1)
        .take_while(|arg| arg != "--")
        .any(|arg| arg == "--json")
}

/// The client the options describe; nothing is sent yet.
fn connect(cli: &Cli) -> Result<Client, CommandError> {
    let mut config = ClientConfig::default().with_user_agent(concat!(
        "pieces-messages/",
        env!("CARGO_PKG_VERSION"),
        " (pieces-os-client-rust)"
    ));
    match &cli.url {
        Some(url) => {
            check_scheme("--url", url)?;
            config = config.with_base_url(url);
        }
        None => {
            if let Ok(url) = std::env::var(PIECES_OS_URL_ENV) {
                check_scheme(PIECES_OS_URL_ENV, url.trim())?;
            }
        }
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

/// Refuses a URL written without its scheme (`127.0.0.1:39300`), saying how to write it; the library
/// checks everything else about it.
fn check_scheme(setting: &str, url: &str) -> Result<(), CommandError> {
    if url.is_empty() || url.contains("://") {
        return Ok(());
    }
    Err(CommandError::Usage(format!(
        "{setting} {url:?} has no scheme: write http://{url}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_found_among_the_options_only() {
        let args = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>().into_iter();
        assert!(json_asked(args(&["pieces-messages", "list", "--json", "--bad"])));
        assert!(!json_asked(args(&["pieces-messages", "list"])));
        assert!(
            !json_asked(args(&["--json", "list"])),
            "the program name is not an option"
        );
        assert!(!json_asked(args(&["pieces-messages", "create", "--", "--json"])));
    }

    #[test]
    fn a_url_without_a_scheme_says_how_to_write_it() {
        let error = check_scheme("--url", "127.0.0.1:39300").unwrap_err();
        assert_eq!(
            error.human().unwrap(),
            "--url \"127.0.0.1:39300\" has no scheme: write http://127.0.0.1:39300"
        );
        assert_eq!(error.code(), EXIT_USAGE);
        assert!(check_scheme("--url", "http://127.0.0.1:39300").is_ok());
        // Other mistakes are the library's to find and name.
        assert!(check_scheme("--url", "ftp://host").is_ok());
    }
}
