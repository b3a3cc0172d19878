//! Why a command ends early, how that is told (one line in words for people, the C API's error JSON
//! for scripts), and the exit status.

use std::io::{self, Write};

use pieces_os_client::Error;
use serde_json::{json, Value};

use super::output::one_line;

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

/// Why a command ended early.
#[derive(Debug)]
pub enum CommandError {
    /// The library failed, while doing `operation` (`list`, `delete 0b3e6c1e`) when it is known.
    Client {
        /// What failed, with every detail.
        error: Error,
        /// What the user asked for, as they would name it.
        operation: Option<String>,
    },
    /// The command line or the environment asks for something impossible (exit status 2).
    Usage(String),
    /// Standard input could not be read, or the output not written (exit status 1).
    Io(String),
    /// Already reported; the program only has to end with this status.
    Reported(u8),
}

impl CommandError {
    /// Turns a library error into the failure of `operation`, for `map_err`.
    pub fn during(operation: impl Into<String>) -> impl FnOnce(Error) -> CommandError {
        let operation = operation.into();
        move |error| CommandError::Client {
            error,
            operation: Some(operation),
        }
    }

    /// The exit status.
    pub fn code(&self) -> u8 {
        match self {
            CommandError::Client { error, .. } => exit_code(error),
            CommandError::Usage(_) => EXIT_USAGE,
            CommandError::Io(_) => EXIT_ERROR,
            CommandError::Reported(code) => *code,
        }
    }

    /// The one line for people (without the program's name), `None` when already reported.
    pub fn human(&self) -> Option<String> {
        let line = match self {
            CommandError::Client { error, operation } => match operation {
                // These say what is wrong with PiecesOS, not that an operation failed.
                Some(_)
                    if matches!(
                        error,
                        Error::NotRunning { .. } | Error::IncompatibleVersion { .. }
                    ) =>
                {
                    describe(error)
                }
                Some(operation) => format!("{operation} failed: {}", describe(error)),
                None => describe(error),
            },
            CommandError::Usage(message) | CommandError::Io(message) => message.clone(),
            CommandError::Reported(_) => return None,
        };
        Some(one_line(&line))
    }

    /// The JSON object for scripts, `None` when already reported: for a library error the object the
    /// C API's `pieces_last_error_json` gives ([`Error::to_json`]), else `{"kind": "usage" or "io",
    /// "message": …}`.
    pub fn json(&self) -> Option<Value> {
        match self {
            CommandError::Client { error, .. } => Some(error.to_json()),
            CommandError::Usage(message) => Some(json!({"kind": "usage", "message": message})),
            CommandError::Io(message) => Some(json!({"kind": "io", "message": message})),
            CommandError::Reported(_) => None,
        }
    }

    /// Writes the error on standard error: one JSON line with `json`, else `pieces-messages: error: …`.
    pub fn report(&self, json: bool) {
        let mut stderr = io::stderr().lock();
        // Standard error is the last place to tell anyone; when it is gone, there is nobody to tell.
        let _ = if json {
            match self.json() {
                Some(object) => writeln!(stderr, "{object}"),
                None => Ok(()),
            }
        } else {
            match self.human() {
                Some(line) => writeln!(stderr, "pieces-messages: error: {line}"),
                None => Ok(()),
            }
        };
    }
}

impl From<Error> for CommandError {
    fn from(error: Error) -> Self {
        CommandError::Client {
            error,
            operation: None,
        }
    }
}

impl From<io::Error> for CommandError {
    fn from(error: io::Error) -> Self {
        if error.kind() == io::ErrorKind::BrokenPipe {
            // The reader went away (`pieces-messages list | head`): nothing is wrong with the work.
            return CommandError::Reported(EXIT_OK);
        }
        CommandError::Io(format!("cannot write the output: {error}"))
    }
}

/// The exit status that stands for `error`.
pub fn exit_code(error: &Error) -> u8 {
    match error {
        Error::NotRunning { .. } => EXIT_NOT_RUNNING,
        Error::IncompatibleVersion { .. } => EXIT_INCOMPATIBLE,
        Error::InvalidInput { .. } | Error::InvalidJson { .. } => EXIT_USAGE,
        _ => EXIT_ERROR,
    }
}

/// A library error in the words of the command line, built from its fields: the option a setting came
/// from, the HTTP status and the server's text, where a JSON answer went wrong.
pub fn describe(error: &Error) -> String {
    match error {
        Error::HttpStatus { status, body, .. } => {
            let body = one_line(body);
            if body.is_empty() {
                format!("HTTP {status} (empty body)")
            } else {
                format!("HTTP {status}: {body}")
            }
        }
        Error::NotFound { body, .. } => {
            let body = one_line(body);
            if body.is_empty() {
                "no such message (HTTP 410)".to_owned()
            } else {
                format!("no such message (HTTP 410: {body})")
            }
        }
        Error::Decode {
            message,
            line,
            column,
            ..
        } => format!(
            "PiecesOS answered with JSON this client cannot read: {message}{}",
            position(*line, *column)
        ),
        Error::BodyTooLarge { limit, .. } => {
            format!("the answer is larger than the limit of {limit} bytes")
        }
        Error::InvalidInput { argument, reason } => format!("{}: {reason}", setting(argument)),
        Error::InvalidJson {
            argument,
            message,
            line,
            column,
            ..
        } => format!(
            "{} is not valid: {message}{}",
            setting(argument),
            position(*line, *column)
        ),
        other => other.to_string(),
    }
}

/// A failure of the identifier stream, for a line of `watch`: without the URL, which its `connected to`
/// line has shown, so that what went wrong keeps its room on a terminal line.
pub fn describe_stream(error: &Error) -> String {
    match error {
        Error::Connection { reason, .. } => format!("PiecesOS is not reachable: {reason}"),
        Error::WebSocket {
            status: Some(status),
            reason,
            ..
        } => format!("HTTP {status}: {reason}"),
        Error::WebSocket { reason, .. } => reason.clone(),
        other => describe(other),
    }
}

/// ` at line L column C`, or nothing when the problem is not tied to a position.
fn position(line: usize, column: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(" at line {line} column {column}")
    }
}

/// Where the library's setting `argument` comes from on this command line.
fn setting(argument: &str) -> &str {
    match argument {
        "base_url" => "--url",
        "application_id" => "--app-id",
        "message_id" => "the message id",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_the_operation_and_keep_the_servers_words() {
        let failed = CommandError::during("delete 0b3e6c1e")(Error::HttpStatus {
            endpoint: "messages_delete_specific_message",
            status: 500,
            body: "no such message\n".into(),
        });
        assert_eq!(
            failed.human().unwrap(),
            "delete 0b3e6c1e failed: HTTP 500: no such message"
        );
        assert_eq!(failed.code(), EXIT_ERROR);
        let json = failed.json().unwrap();
        assert_eq!(json["kind"], "http_status");
        assert_eq!(json["status"], 500);
        assert_eq!(json["endpoint"], "messages_delete_specific_message");

        let gone = CommandError::during("get 0b3e6c1e")(Error::NotFound {
            endpoint: "message_specific_message_snapshot",
            id: "0b3e6c1e".into(),
            body: "no conversation message with id \"0b3e6c1e\"".into(),
        });
        assert_eq!(
            gone.human().unwrap(),
            "get 0b3e6c1e failed: no such message (HTTP 410: no conversation message with id \"0b3e6c1e\")"
        );
        assert_eq!(gone.code(), EXIT_ERROR);
        assert_eq!(gone.json().unwrap()["kind"], "not_found");

        let empty = CommandError::during("list")(Error::HttpStatus {
            endpoint: "messages_snapshot",
            status: 503,
            body: String::new(),
        });
        assert_eq!(empty.human().unwrap(), "list failed: HTTP 503 (empty body)");

        let decode = CommandError::during("search")(Error::Decode {
            endpoint: "search_messages",
            message: "missing field `iterable`".into(),
            line: 1,
            column: 2,
            source: None,
        });
        assert_eq!(
            decode.human().unwrap(),
            "search failed: PiecesOS answered with JSON this client cannot read: missing field \
             `iterable` at line 1 column 2"
        );
    }

    #[test]
    fn settings_are_named_as_on_the_command_line() {
        let error = CommandError::from(Error::InvalidInput {
            argument: "base_url",
            reason: "\"ftp://x\" is not an http:// or https:// URL".into(),
        });
        assert_eq!(
            error.human().unwrap(),
            "--url: \"ftp://x\" is not an http:// or https:// URL"
        );
        assert_eq!(error.code(), EXIT_USAGE);
        assert_eq!(error.json().unwrap()["argument"], "base_url");
    }

    #[test]
    fn stream_failures_leave_the_url_out() {
        let url = "ws://127.0.0.1:39300/messages/stream/identifiers".to_owned();
        let refused = Error::Connection {
            url: url.clone(),
            reason: "connection refused".into(),
            source: None,
        };
        assert_eq!(
            describe_stream(&refused),
            "PiecesOS is not reachable: connection refused"
        );
        let refused_upgrade = Error::WebSocket {
            url: url.clone(),
            status: Some(404),
            reason: "the upgrade was refused".into(),
            source: None,
        };
        assert_eq!(
            describe_stream(&refused_upgrade),
            "HTTP 404: the upgrade was refused"
        );
        let cut = Error::WebSocket {
            url,
            status: None,
            reason: "the server cut the connection".into(),
            source: None,
        };
        assert_eq!(describe_stream(&cut), "the server cut the connection");
    }

    #[test]
    fn statements_about_pieces_os_are_not_failed_operations() {
        let error = CommandError::during("version check")(Error::NotRunning {
            scanned: "1-2".parse().unwrap(),
        });
        assert!(error.human().unwrap().starts_with("PiecesOS is not running"));
        assert_eq!(error.code(), EXIT_NOT_RUNNING);
    }

    #[test]
    fn a_closed_pipe_ends_quietly_and_other_errors_are_kinds_of_their_own() {
        let closed = CommandError::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(
            (closed.code(), closed.human(), closed.json()),
            (EXIT_OK, None, None)
        );
        let usage = CommandError::Usage("--url has no scheme".into());
        assert_eq!(
            usage.json().unwrap(),
            json!({"kind": "usage", "message": "--url has no scheme"})
        );
        assert_eq!(usage.code(), EXIT_USAGE);
    }
}
