//! [`PullSubscription`]: a subscription whose events wait in a bounded queue ([`EventQueue`], bounded in
//! events and bytes) until the consumer takes them, for hosts that must not be called from a foreign
//! thread.

use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

use super::event::SubscriptionEvent;
use super::subscription::{Stopper, Subscription};
use crate::queue::{json_len, EventQueue, QueuedEvent};

/// A subscription whose events wait in a bounded queue for the consumer. Made by
/// [`Client::subscribe_identifiers_pull`](crate::Client::subscribe_identifiers_pull). All methods take `&self`, so one thread may wait in `next`
/// while another calls `stop`. Dropping it stops it and joins its thread.
pub struct PullSubscription {
    subscription: Subscription,
    queue: Arc<EventQueue<SubscriptionEvent>>,
}

impl std::fmt::Debug for PullSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullSubscription")
            .field("stopped", &self.subscription.is_stopped())
            .finish()
    }
}

impl PullSubscription {
    pub(super) fn new(subscription: Subscription, queue: Arc<EventQueue<SubscriptionEvent>>) -> Self {
        PullSubscription { subscription, queue }
    }

    /// Blocks until the next event; `None` once the terminal event has been taken.
    pub fn next(&self) -> Option<SubscriptionEvent> {
        self.queue.next()
    }

    /// Waits up to `timeout` for the next event. `Err(Timeout)`: nothing arrived in time;
    /// `Err(Disconnected)`: the terminal event has already been taken.
    pub fn next_timeout(
        &self,
        timeout: Duration,
    ) -> std::result::Result<SubscriptionEvent, RecvTimeoutError> {
        self.queue.next_timeout(timeout)
    }

    /// The next event if one is waiting. `Err(Empty)`: none yet; `Err(Disconnected)`: the terminal
    /// event has already been taken.
    pub fn try_next(&self) -> std::result::Result<SubscriptionEvent, TryRecvError> {
        self.queue.try_next()
    }

    /// Asks the subscription to stop and returns at once. The terminal `Closed` event follows in the
    /// queue; events not yet taken stay there.
    pub fn stop(&self) {
        self.subscription.stopper().stop();
    }

    /// A [`Stopper`] for this subscription.
    pub fn stopper(&self) -> Stopper {
        self.subscription.stopper()
    }

    /// Takes the next event, waiting until `deadline` (`None`: as long as it takes); for the C API.
    #[cfg(feature = "capi")]
    pub(crate) fn pop(
        &self,
        deadline: Option<std::time::Instant>,
    ) -> std::result::Result<SubscriptionEvent, RecvTimeoutError> {
        self.queue.pop(deadline)
    }
}

impl Iterator for &PullSubscription {
    type Item = SubscriptionEvent;

    fn next(&mut self) -> Option<SubscriptionEvent> {
        PullSubscription::next(self)
    }
}

impl QueuedEvent for SubscriptionEvent {
    fn is_terminal(&self) -> bool {
        SubscriptionEvent::is_terminal(self)
    }

    fn queued_bytes(&self) -> usize {
        // A fixed part for the event itself, and what it holds roughly as large as its JSON form.
        std::mem::size_of::<Self>()
            + match self {
                SubscriptionEvent::Connected { url } => url.len(),
                SubscriptionEvent::Identifiers { frame, .. } => json_len(frame),
                SubscriptionEvent::Disconnected { error, .. } | SubscriptionEvent::Failed { error } => {
                    error.to_string().len()
                }
                SubscriptionEvent::Closed => 0,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{StreamedIdentifier, StreamedIdentifiers};

    #[test]
    fn a_frame_weighs_about_its_json_form() {
        let frame = |count: usize| SubscriptionEvent::Identifiers {
            frame: StreamedIdentifiers::new(
                (0..count)
                    .map(|n| StreamedIdentifier::message(format!("{n:036}")))
                    .collect(),
            ),
            full: true,
        };
        let (small, large) = (frame(1).queued_bytes(), frame(1_000).queued_bytes());
        assert!(small < 400, "{small}");
        assert!((1_000 * 36..1_000 * 200).contains(&large), "{large}");
        assert!(SubscriptionEvent::Closed.queued_bytes() < 200);
    }
}
