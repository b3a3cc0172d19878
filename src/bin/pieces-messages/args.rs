//! The command line, as clap parses it.

use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use pieces_os_client::models::Role;

/// What `--help` shows after the options.
const AFTER_HELP: &str = "\
Where PiecesOS is: --url, else the environment variable PIECES_OS_URL, else the lowest port of
127.0.0.1:39300-39399 that answers its health check (PIECES_OS_PORTS=START-END scans other ports).

Exit codes: 0 done, 1 error, 2 usage (bad arguments or settings), 3 PiecesOS not running
(discovery found nothing), 4 PiecesOS version incompatible with this client.";

/// The conversation messages of PiecesOS from the command line.
#[derive(Debug, Parser)]
#[command(name = "pieces-messages", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Base URL of PiecesOS, e.g. http://127.0.0.1:39300 (no discovery then).
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,

    /// Application id, sent as the API key (header X-Application-ID).
    #[arg(long = "app-id", global = true, value_name = "ID")]
    pub app_id: Option<String>,

    /// Limit on each request: 500ms, 5s, 1.5s, or a plain number of seconds [default: 60s].
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,

    /// Print JSON for scripts: the server's own JSON where it sends some.
    #[arg(long, global = true)]
    pub json: bool,

    /// Do not refuse a PiecesOS outside the supported versions (12.x).
    #[arg(long = "no-version-check", global = true)]
    pub no_version_check: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Where PiecesOS is, its version, and whether this client supports it.
    Status,
    /// List every conversation message, grouped by conversation.
    List {
        /// Ask PiecesOS to leave the message content (the text) out.
        #[arg(long = "no-transferables")]
        no_transferables: bool,
    },
    /// Add a text message to a conversation.
    Create {
        /// The id of the conversation the message goes into.
        #[arg(long, value_name = "ID")]
        conversation: String,
        /// Who wrote the message.
        #[arg(long, value_enum, default_value_t = RoleArg::User)]
        role: RoleArg,
        /// The text of the message; `-` reads it from standard input (one final newline is dropped).
        #[arg(value_name = "TEXT", allow_hyphen_values = true)]
        text: String,
    },
    /// Delete messages by id.
    Delete {
        /// The ids of the messages.
        #[arg(value_name = "ID", required = true)]
        ids: Vec<String>,
    },
    /// Search messages; the words are joined with spaces into one query.
    Search {
        /// What to look for.
        #[arg(value_name = "QUERY", required = true)]
        query: Vec<String>,
        /// Ask PiecesOS to leave the message content (the text) out.
        #[arg(long = "no-transferables")]
        no_transferables: bool,
    },
    /// Follow changes live (reconnecting, following PiecesOS to a new port) until Ctrl-C.
    Watch,
}

/// The roles a message can be created with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// USER: the person asking.
    User,
    /// ASSISTANT: the model's answer.
    Assistant,
    /// SYSTEM: instructions or context.
    System,
    /// SYSTEM_THINKING: the model's intermediate reasoning.
    SystemThinking,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::User => Role::User,
            RoleArg::Assistant => Role::Assistant,
            RoleArg::System => Role::System,
            RoleArg::SystemThinking => Role::SystemThinking,
        }
    }
}

/// `500ms`, `5s`, `1.5s` or a plain number of seconds; more than zero, at most a day.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit_millis) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 1.0)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1000.0)
    } else {
        (text, 1000.0)
    };
    let refuse = || format!("{text:?} is not a duration such as 500ms, 5s, 1.5s or 5 (seconds)");
    let value: f64 = number.trim().parse().map_err(|_| refuse())?;
    if !value.is_finite() || value <= 0.0 {
        return Err(refuse());
    }
    let millis = value * unit_millis;
    if millis > 86_400_000.0 {
        return Err(format!("{text:?} is longer than a day"));
    }
    if millis < 1.0 {
        return Err(format!("{text:?} is shorter than a millisecond"));
    }
    Ok(Duration::from_micros((millis * 1000.0).round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_milliseconds_seconds_or_plain_seconds() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration(" 250 ms "), Ok(Duration::from_millis(250)));
        for bad in ["", "0", "-1s", "abc", "5m", "NaN", "inf", "0.1ms", "100000s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_command_line_parses() {
        let cli = Cli::try_parse_from([
            "pieces-messages",
            "--json",
            "create",
            "--conversation",
            "c1",
            "--role",
            "system-thinking",
            "-",
        ])
        .unwrap();
        assert!(cli.json);
        match cli.command {
            Command::Create {
                conversation,
                role,
                text,
            } => {
                assert_eq!(
                    (conversation.as_str(), role, text.as_str()),
                    ("c1", RoleArg::SystemThinking, "-")
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        // Global options may come after the subcommand too.
        let cli = Cli::try_parse_from([
            "pieces-messages",
            "search",
            "reverse",
            "a",
            "list",
            "--timeout",
            "2s",
        ])
        .unwrap();
        assert_eq!(cli.timeout, Some(Duration::from_secs(2)));
        assert!(
            matches!(cli.command, Command::Search { ref query, .. } if query.join(" ") == "reverse a list")
        );
        assert!(Cli::try_parse_from(["pieces-messages", "delete"]).is_err());
        assert!(Cli::try_parse_from(["pieces-messages", "create", "text"]).is_err());
        assert!(Cli::try_parse_from([
            "pieces-messages",
            "create",
            "--conversation",
            "c",
            "--role",
            "bot",
            "x"
        ])
        .is_err());
    }

    #[test]
    fn the_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
