//! The command line, as clap parses it. The shell completions and the man page are generated from
//! this definition too, so it is the one place that says what the program accepts.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use pieces_os_client::models::Role;

/// The environment variable that gives the application id when `--app-id` does not.
pub const APPLICATION_ID_ENV: &str = "PIECES_OS_APPLICATION_ID";

/// What `--help` shows after the options.
const AFTER_HELP: &str = "\
Where PiecesOS is: --url, else the environment variable PIECES_OS_URL, else the lowest port of
127.0.0.1:39300-39399 that answers its health check (PIECES_OS_PORTS=START-END scans other ports).
The application id: --app-id, else the environment variable PIECES_OS_APPLICATION_ID.

Output: aligned columns fitted to the width on a terminal (short ids, which get, update and delete
accept back); tab-separated records, full ids and untruncated text in a pipe; --json for the server's
own JSON.

Exit codes: 0 done, 1 error, 2 usage (bad arguments or settings), 3 PiecesOS not running
(discovery found nothing), 4 PiecesOS version incompatible with this client, 130 a second Ctrl-C.";

/// The conversation messages of PiecesOS from the command line.
#[derive(Debug, Parser)]
#[command(name = "pieces-messages", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Base URL of PiecesOS, e.g. http://127.0.0.1:39300 (no discovery then).
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,

    /// Application id, sent as the API key (header X-Application-ID).
    #[arg(long = "app-id", global = true, value_name = "ID", env = APPLICATION_ID_ENV, hide_env_values = true)]
    pub app_id: Option<String>,

    /// Limit on each request: 500ms, 5s, 1.5s, 5m, 1h, or a plain number of seconds [default: 60s].
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,

    /// Print JSON for scripts: the server's own JSON where it sends some; errors as JSON on standard
    /// error.
    #[arg(long, global = true)]
    pub json: bool,

    /// Print only ids, one per line; `status` prints nothing and answers with its exit code.
    #[arg(short, long, global = true, conflicts_with = "json")]
    pub quiet: bool,

    /// Print each HTTP request, its status and its time on standard error.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Where PiecesOS is, its version, and whether this client supports it.
    Status,
    /// List the conversation messages, grouped by conversation, oldest first.
    List {
        /// Only the messages of this conversation.
        #[arg(long, value_name = "ID", value_parser = non_blank)]
        conversation: Option<String>,
        /// Only the N most recently created messages.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        limit: Option<u32>,
        /// Ask PiecesOS to leave the message content (the text) out.
        #[arg(long = "no-transferables")]
        no_transferables: bool,
        #[command(flatten)]
        check: VersionCheck,
    },
    /// Add a text message to a conversation.
    Create {
        /// The id of the conversation the message goes into.
        #[arg(long, value_name = "ID", value_parser = non_blank)]
        conversation: String,
        /// Who wrote the message.
        #[arg(long, value_enum, default_value_t = RoleArg::User)]
        role: RoleArg,
        /// The text of the message; `-` reads it from standard input (one final newline is dropped).
        #[arg(value_name = "TEXT", allow_hyphen_values = true)]
        text: String,
        #[command(flatten)]
        check: VersionCheck,
    },
    /// Delete messages by id (or by a unique prefix of at least 4 characters, such as a short id).
    Delete {
        /// The ids of the messages.
        #[arg(value_name = "ID", required = true, value_parser = non_blank)]
        ids: Vec<String>,
        #[command(flatten)]
        check: VersionCheck,
    },
    /// Search messages; the words are joined with spaces into one query.
    Search {
        /// What to look for.
        #[arg(value_name = "QUERY", required = true, value_parser = non_blank)]
        query: Vec<String>,
        /// Only the matches in this conversation.
        #[arg(long, value_name = "ID", value_parser = non_blank)]
        conversation: Option<String>,
        /// Only the N best matches.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        limit: Option<u32>,
        /// Ask PiecesOS to leave the message content (the text) out.
        #[arg(long = "no-transferables")]
        no_transferables: bool,
        #[command(flatten)]
        check: VersionCheck,
    },
    /// Show one message in full: its facts and its whole text.
    Get {
        /// The id of the message (or a unique prefix of at least 4 characters, such as a short id).
        #[arg(value_name = "ID", value_parser = non_blank)]
        id: String,
        /// Ask PiecesOS to leave the message content (the text) out.
        #[arg(long = "no-transferables")]
        no_transferables: bool,
        #[command(flatten)]
        check: VersionCheck,
    },
    /// Replace the text of a message; every other part of it is sent back as it was.
    Update {
        /// The id of the message (or a unique prefix of at least 4 characters, such as a short id).
        #[arg(value_name = "ID", value_parser = non_blank)]
        id: String,
        /// The new text; `-` reads it from standard input (one final newline is dropped).
        #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
        text: String,
        #[command(flatten)]
        check: VersionCheck,
    },
    /// Follow changes live (reconnecting, following PiecesOS to a new port) until Ctrl-C.
    Watch {
        /// Keep a copy of every message and print the text of each added or changed one (and each
        /// removal); with --json, print the copy's events.
        #[arg(long)]
        content: bool,
        #[command(flatten)]
        check: VersionCheck,
    },
    /// Print a completion script for SHELL on standard output (see the README for where it goes).
    #[command(hide = true)]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on standard output, or write one page per command into a directory
    /// (see the README for where they go).
    #[command(hide = true)]
    Man {
        /// Write `pieces-messages.1` and a page for each command (`pieces-messages-list.1`, …) here.
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
}

/// The version check every command that touches messages makes first. `status` reports the version
/// itself, so it does not take this option.
#[derive(Clone, Copy, Debug, Default, Args)]
pub struct VersionCheck {
    /// Do not refuse a PiecesOS outside the supported versions (12.x).
    #[arg(long = "no-version-check")]
    pub skip: bool,
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

/// Refuses an empty (or all white space) id or query word, which PiecesOS could only answer with an
/// error that does not say what was wrong.
fn non_blank(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(text.to_owned())
    }
}

/// `500ms`, `5s`, `1.5s`, `5m`, `1h` or a plain number of seconds; more than zero, at most a day.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    // "ms" before "m" and "s", which it ends with.
    let units = [("ms", 1.0), ("s", 1e3), ("m", 60e3), ("h", 3600e3)];
    let (number, unit_millis) = units
        .iter()
        .find_map(|&(suffix, millis)| text.strip_suffix(suffix).map(|number| (number, millis)))
        .unwrap_or((text, 1e3));
    let refuse = || format!("{text:?} is not a duration such as 500ms, 5s, 1.5s, 5m or 5 (seconds)");
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
    fn durations_take_milliseconds_seconds_minutes_hours_or_plain_seconds() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("0.5m"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration(" 250 ms "), Ok(Duration::from_millis(250)));
        for bad in [
            "", "0", "-1s", "abc", "5d", "m", "NaN", "inf", "0.1ms", "100000s", "25h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("pieces-messages").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_line_parses() {
        let cli = parse(&[
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
                ..
            } => {
                assert_eq!(
                    (conversation.as_str(), role, text.as_str()),
                    ("c1", RoleArg::SystemThinking, "-")
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        // Global options may come after the subcommand too.
        let cli = parse(&[
            "search",
            "reverse",
            "a",
            "list",
            "--timeout",
            "2s",
            "--limit",
            "3",
        ])
        .unwrap();
        assert_eq!(cli.timeout, Some(Duration::from_secs(2)));
        assert!(
            matches!(cli.command, Command::Search { ref query, limit: Some(3), .. } if query.join(" ") == "reverse a list")
        );
        let cli = parse(&["get", "0b3e", "--json", "--no-transferables"]).unwrap();
        assert!(cli.json);
        assert!(matches!(cli.command, Command::Get { ref id, no_transferables: true, .. } if id == "0b3e"));
        let cli = parse(&["update", "0b3e", "--text", "-"]).unwrap();
        assert!(
            matches!(cli.command, Command::Update { ref id, ref text, .. } if id == "0b3e" && text == "-")
        );
        let cli = parse(&["watch", "--content"]).unwrap();
        assert!(matches!(cli.command, Command::Watch { content: true, .. }));
        let cli = parse(&["-qv", "list", "--conversation", "c", "--no-version-check"]).unwrap();
        assert!(cli.quiet && cli.verbose);
        assert!(matches!(
            cli.command,
            Command::List { conversation: Some(ref c), limit: None, check: VersionCheck { skip: true }, .. } if c == "c"
        ));
    }

    #[test]
    fn mistakes_are_usage_errors() {
        for args in [
            &["delete"][..],
            &["delete", ""],
            &["delete", "ok", " "],
            &["create", "text"],
            &["create", "--conversation", "", "text"],
            &["create", "--conversation", "c", "--role", "bot", "x"],
            &["search", ""],
            &["list", "--limit", "0"],
            &["list", "--conversation", ""],
            &["--json", "--quiet", "list"],
            // status reports the version; it has no check to skip.
            &["status", "--no-version-check"],
            &["completions", "tcsh"],
            &["get"],
            &["get", " "],
            &["get", "a", "b"],
            &["update", "id"],
            &["update", "", "--text", "x"],
            &["update", "--text", "x"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn the_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
