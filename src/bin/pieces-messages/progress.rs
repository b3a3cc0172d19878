//! A line on standard error that shows a person at a terminal that a slow step is under way
//! (`reading messages… 2.4 s`), drawn only once the step has taken a moment, and erased when it ends.

use std::io::{self, IsTerminal, Write};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Steps quicker than this show nothing.
const DELAY: Duration = Duration::from_millis(300);

/// How often the time on the line is brought up to date.
const TICK: Duration = Duration::from_millis(100);

/// The progress line of one step; dropping it erases the line and joins its thread.
pub struct Progress {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Shows `{what}… {seconds} s` from [`DELAY`] on, when `wanted` and standard error is a terminal;
    /// otherwise does nothing.
    pub fn start(what: &'static str, wanted: bool) -> Progress {
        if !wanted || !io::stderr().is_terminal() {
            return Progress {
                stop: None,
                thread: None,
            };
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let started = Instant::now();
        let thread = thread::Builder::new()
            .name("progress".to_owned())
            .spawn(move || {
                let mut drawn = false;
                let mut wait = DELAY;
                // Ends when the sender is dropped: recv_timeout then reports Disconnected.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(wait) {
                    let seconds = started.elapsed().as_secs_f64();
                    let _ = write!(io::stderr().lock(), "\r{what}… {seconds:.1} s\x1b[K");
                    drawn = true;
                    wait = TICK;
                }
                if drawn {
                    let _ = write!(io::stderr().lock(), "\r\x1b[K");
                }
            })
            // Without a thread there is no progress line, and nothing else is lost.
            .ok();
        Progress {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
