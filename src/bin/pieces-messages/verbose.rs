//! `-v`: the library's record of each HTTP exchange (method, URL, status, size and time), and where
//! PiecesOS was found, on standard error.

use std::io::{self, Write};

use log::{Level, LevelFilter, Log, Metadata, Record};

/// The `log` targets shown: the library's and this program's own.
const TARGETS: [&str; 2] = ["pieces_os_client", "pieces_messages"];

/// Prints the debug records of [`TARGETS`] as `pieces-messages: …` lines on standard error.
struct StandardError;

impl Log for StandardError {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= Level::Debug && TARGETS.iter().any(|target| metadata.target().starts_with(target))
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            let _ = writeln!(io::stderr().lock(), "pieces-messages: {}", record.args());
        }
    }

    fn flush(&self) {}
}

/// Turns the printing on, for the rest of the program.
pub fn enable() {
    static LOGGER: StandardError = StandardError;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(LevelFilter::Debug);
    }
}
