//! [`Backlog`]: the frames waiting for one WebSocket subscriber, bounded in bytes.
//!
//! The store publishes every change to every subscriber at once, whatever pace each socket keeps. A
//! subscriber whose client does not read (or reads too slowly) would make its queue grow without bound;
//! here it may hold at most `limit` bytes of frames. Past that the subscriber is *behind*: its frames are
//! dropped at once, the store forgets it, and its socket thread closes the WebSocket (code 1008). The
//! client's reconnection and the full first frame of the new connection repair everything it missed.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::sync::{lock, wait_timeout};

/// What [`Backlog::next`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    Frame(Arc<str>),
    /// Nothing arrived in time.
    Nothing,
    /// The subscriber fell more than the limit behind; its frames were dropped.
    Behind,
    /// The server is stopping.
    Closed,
}

/// The frames waiting for one subscriber. The store holds one reference and the socket thread the other;
/// when the thread lets go of its own, the store forgets the subscriber at the next change.
#[derive(Debug)]
pub(crate) struct Backlog {
    state: Mutex<State>,
    arrived: Condvar,
    limit: usize,
}

#[derive(Debug, Default)]
struct State {
    frames: VecDeque<Arc<str>>,
    bytes: usize,
    behind: bool,
    closed: bool,
}

impl Backlog {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Backlog {
            state: Mutex::new(State::default()),
            arrived: Condvar::new(),
            limit,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Queues a frame (called by the store). `false` when the subscriber is gone or has just fallen
    /// behind: the store then forgets it.
    pub(crate) fn push(self: &Arc<Self>, frame: Arc<str>) -> bool {
        if Arc::strong_count(self) == 1 {
            return false;
        }
        let mut state = self.lock();
        if state.behind || state.closed {
            return false;
        }
        let keep = state.bytes + frame.len() <= self.limit;
        if keep {
            state.bytes += frame.len();
            state.frames.push_back(frame);
        } else {
            state.behind = true;
            state.frames = VecDeque::new();
            state.bytes = 0;
        }
        drop(state);
        self.arrived.notify_all();
        keep
    }

    /// Wakes the socket thread for good: the server is stopping.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.arrived.notify_all();
    }

    /// The next frame, waiting at most `timeout` for one.
    pub(crate) fn next(&self, timeout: Duration) -> Next {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if state.behind {
                return Next::Behind;
            }
            if let Some(frame) = state.frames.pop_front() {
                state.bytes -= frame.len();
                return Next::Frame(frame);
            }
            if state.closed {
                return Next::Closed;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Next::Nothing;
            }
            state = wait_timeout(&self.arrived, state, left);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_wait_in_order_until_the_limit_and_then_the_subscriber_is_behind() {
        let backlog = Backlog::new(10);
        let reader = Arc::clone(&backlog);
        assert!(backlog.push("abcd".into()));
        assert!(backlog.push("efgh".into()));
        assert_eq!(reader.next(Duration::ZERO), Next::Frame("abcd".into()));
        assert!(backlog.push("ijkl".into()));
        // 8 bytes wait; 3 more would make 11.
        assert!(!backlog.push("mno".into()));
        assert_eq!(reader.next(Duration::ZERO), Next::Behind);
        assert!(!backlog.push("p".into()), "a subscriber behind stays behind");
        assert_eq!(backlog.lock().bytes, 0, "its frames are dropped at once");
    }

    #[test]
    fn a_subscriber_whose_reader_is_gone_is_forgotten_and_close_wakes_the_reader() {
        let backlog = Backlog::new(100);
        assert!(!backlog.push("x".into()), "nobody reads this one");
        let backlog = Backlog::new(100);
        let reader = Arc::clone(&backlog);
        assert_eq!(reader.next(Duration::from_millis(1)), Next::Nothing);
        let waiting = std::thread::spawn(move || reader.next(Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(20));
        backlog.close();
        assert_eq!(waiting.join().unwrap(), Next::Closed);
    }
}
