//! The delays between a subscription's connection attempts: exponential, with jitter, and counted.

use std::time::{Duration, Instant};

use crate::config::StreamConfig;

/// Exponential backoff with ±20 % jitter, counting failed attempts in a row.
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    max_attempts: Option<u32>,
    failures: u32,
    next: Duration,
}

impl Backoff {
    pub(crate) fn new(config: &StreamConfig) -> Self {
        Backoff {
            initial: config.retry_initial,
            max: config.retry_max,
            max_attempts: config.max_attempts,
            failures: 0,
            next: config.retry_initial,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.failures = 0;
        self.next = self.initial;
    }

    /// Counts one failed attempt; `true` when that was the last one allowed.
    pub(crate) fn exhausted(&mut self) -> bool {
        self.failures += 1;
        self.max_attempts.is_some_and(|max| self.failures >= max)
    }

    pub(crate) fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        // Jitter keeps many clients of one restarted PiecesOS from reconnecting in lockstep.
        let factor = 0.8 + 0.4 * random_unit();
        base.mul_f64(factor).min(self.max)
    }
}

/// A number in [0, 1) from the standard library's randomly keyed hasher; plenty for jitter.
fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(Instant::now().elapsed().as_nanos());
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_maximum_and_counts_attempts() {
        let config = StreamConfig::default()
            .with_retry(Duration::from_millis(100), Duration::from_millis(1000))
            .with_max_attempts(Some(3));
        let mut backoff = Backoff::new(&config);
        let delays: Vec<Duration> = (0..6).map(|_| backoff.next_delay()).collect();
        for (delay, base) in delays.iter().zip([100u64, 200, 400, 800, 1000, 1000]) {
            let base = Duration::from_millis(base);
            assert!(
                *delay >= base.mul_f64(0.8) && *delay <= base.mul_f64(1.2).min(Duration::from_millis(1000))
            );
        }
        assert!(!backoff.exhausted());
        assert!(!backoff.exhausted());
        assert!(backoff.exhausted());
        backoff.reset();
        assert!(!backoff.exhausted());
        assert!(backoff.next_delay() <= Duration::from_millis(120));
    }
}
