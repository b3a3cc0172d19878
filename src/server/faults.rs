//! Fault injection: failing requests, slow answers and dropped WebSockets, changeable while the server runs.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::time::Duration;

/// How the server ends a WebSocket it drops on purpose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DropMode {
    /// A Close frame (code 1001, "going away") and then the TCP close: what a server that shuts down
    /// cleanly sends. The client sees a close message.
    #[default]
    Close,
    /// The TCP connection is shut down without any Close frame: what a crash or a network failure looks
    /// like. The client sees an I/O error or end of stream in the middle of the protocol.
    Cut,
}

impl DropMode {
    fn to_u8(self) -> u8 {
        match self {
            DropMode::Close => 0,
            DropMode::Cut => 1,
        }
    }

    fn from_u8(value: u8) -> Self {
        if value == 1 {
            DropMode::Cut
        } else {
            DropMode::Close
        }
    }
}

impl std::str::FromStr for DropMode {
    type Err = String;

    /// Parses `close` or `cut`, the spellings of the `--ws-drop-mode` flag.
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "close" => Ok(DropMode::Close),
            "cut" => Ok(DropMode::Cut),
            other => Err(format!("unknown drop mode {other:?} (expected close or cut)")),
        }
    }
}

/// A set of fault settings, as given to [`ServerConfig`](super::ServerConfig) or read back from
/// [`Faults::config`]. The default injects nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultConfig {
    /// Answer every Nth HTTP request (WebSocket upgrades included, counted from when this was set) with
    /// 500 and a text/plain body instead of handling it. 0 never fails.
    pub fail_every: u64,
    /// Wait this long before every HTTP answer (the 101 of a WebSocket upgrade included).
    pub delay: Duration,
    /// Drop each WebSocket right after the server has sent it this many frames (the first frame, the
    /// full list, counts). 0 never drops.
    pub ws_drop_after: u64,
    /// How a WebSocket is dropped after [`Self::ws_drop_after`] frames.
    pub ws_drop_mode: DropMode,
}

/// The live fault settings of a running server: every setter takes effect for the next request or frame.
/// Reach it with [`Server::faults`](super::Server::faults).
#[derive(Debug, Default)]
pub struct Faults {
    fail_every: AtomicU64,
    /// Requests seen since `fail_every` was last set; the one that makes it a multiple fails.
    request_count: AtomicU64,
    delay_nanos: AtomicU64,
    ws_drop_after: AtomicU64,
    ws_drop_mode: AtomicU8,
}

impl Faults {
    pub(crate) fn new(config: FaultConfig) -> Self {
        let faults = Faults::default();
        faults.set(config);
        faults
    }

    /// Replaces every setting at once.
    pub fn set(&self, config: FaultConfig) {
        self.set_fail_every(config.fail_every);
        self.set_delay(config.delay);
        self.set_ws_drop_after(config.ws_drop_after);
        self.set_ws_drop_mode(config.ws_drop_mode);
    }

    /// Turns every fault off.
    pub fn clear(&self) {
        self.set(FaultConfig::default());
    }

    /// The current settings.
    pub fn config(&self) -> FaultConfig {
        FaultConfig {
            fail_every: self.fail_every.load(Ordering::SeqCst),
            delay: Duration::from_nanos(self.delay_nanos.load(Ordering::SeqCst)),
            ws_drop_after: self.ws_drop_after.load(Ordering::SeqCst),
            ws_drop_mode: DropMode::from_u8(self.ws_drop_mode.load(Ordering::SeqCst)),
        }
    }

    /// Fails every Nth request from now on (0: none). Restarts the count, so that with `n` = 3 the third
    /// request after this call is the first to fail.
    pub fn set_fail_every(&self, n: u64) {
        self.request_count.store(0, Ordering::SeqCst);
        self.fail_every.store(n, Ordering::SeqCst);
    }

    /// Waits `delay` before every HTTP answer (zero: no wait). Longer than ~584 years is clamped.
    pub fn set_delay(&self, delay: Duration) {
        let nanos = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
        self.delay_nanos.store(nanos, Ordering::SeqCst);
    }

    /// Drops each WebSocket after it has been sent `n` frames (0: never).
    pub fn set_ws_drop_after(&self, n: u64) {
        self.ws_drop_after.store(n, Ordering::SeqCst);
    }

    /// How [`Self::set_ws_drop_after`] drops a WebSocket.
    pub fn set_ws_drop_mode(&self, mode: DropMode) {
        self.ws_drop_mode.store(mode.to_u8(), Ordering::SeqCst);
    }

    /// Counts one request and says whether it is one that must fail.
    pub(crate) fn next_request_fails(&self) -> bool {
        let every = self.fail_every.load(Ordering::SeqCst);
        if every == 0 {
            return false;
        }
        let count = self.request_count.fetch_add(1, Ordering::SeqCst) + 1;
        count % every == 0
    }

    pub(crate) fn delay(&self) -> Duration {
        Duration::from_nanos(self.delay_nanos.load(Ordering::SeqCst))
    }

    /// The drop to perform once a socket has sent `frames_sent` frames, if any.
    pub(crate) fn ws_drop_due(&self, frames_sent: u64) -> Option<DropMode> {
        let after = self.ws_drop_after.load(Ordering::SeqCst);
        (after != 0 && frames_sent >= after)
            .then(|| DropMode::from_u8(self.ws_drop_mode.load(Ordering::SeqCst)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_every_counts_from_when_it_is_set() {
        let faults = Faults::default();
        assert!(!(0..10).any(|_| faults.next_request_fails()));
        faults.set_fail_every(3);
        let pattern: Vec<bool> = (0..7).map(|_| faults.next_request_fails()).collect();
        assert_eq!(pattern, [false, false, true, false, false, true, false]);
        faults.set_fail_every(1);
        assert!(faults.next_request_fails());
    }

    #[test]
    fn config_round_trips_and_drop_is_due_after_n() {
        let config = FaultConfig {
            fail_every: 4,
            delay: Duration::from_millis(25),
            ws_drop_after: 2,
            ws_drop_mode: DropMode::Cut,
        };
        let faults = Faults::new(config);
        assert_eq!(faults.config(), config);
        assert_eq!(faults.ws_drop_due(1), None);
        assert_eq!(faults.ws_drop_due(2), Some(DropMode::Cut));
        faults.clear();
        assert_eq!(faults.config(), FaultConfig::default());
        assert_eq!(faults.ws_drop_due(100), None);
        assert_eq!("cut".parse::<DropMode>(), Ok(DropMode::Cut));
        assert!("CUT".parse::<DropMode>().is_err());
    }
}
