//! [`PullSubscription`]: a subscription whose events wait in a bounded queue until the consumer takes
//! them, for hosts that must not be called from a foreign thread.

use std::collections::VecDeque;
use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::event::SubscriptionEvent;
use super::subscription::{Stopper, Subscription};
use crate::sync::{lock, wait, wait_timeout};

/// A subscription whose events wait in a bounded queue for the consumer. Made by
/// [`Client::subscribe_identifiers_pull`](crate::Client::subscribe_identifiers_pull). All methods take `&self`, so one thread may wait in `next`
/// while another calls `stop`. Dropping it stops it and joins its thread.
pub struct PullSubscription {
    subscription: Subscription,
    queue: Arc<Queue>,
}

impl std::fmt::Debug for PullSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullSubscription")
            .field("stopped", &self.subscription.is_stopped())
            .finish()
    }
}

impl PullSubscription {
    pub(super) fn new(subscription: Subscription, queue: Arc<Queue>) -> Self {
        PullSubscription { subscription, queue }
    }

    /// Blocks until the next event; `None` once the terminal event has been taken.
    pub fn next(&self) -> Option<SubscriptionEvent> {
        self.queue.pop(None).ok()
    }

    /// Waits up to `timeout` for the next event. `Err(Timeout)`: nothing arrived in time;
    /// `Err(Disconnected)`: the terminal event has already been taken.
    pub fn next_timeout(
        &self,
        timeout: Duration,
    ) -> std::result::Result<SubscriptionEvent, RecvTimeoutError> {
        self.queue.pop(Some(Instant::now() + timeout))
    }

    /// The next event if one is waiting. `Err(Empty)`: none yet; `Err(Disconnected)`: the terminal
    /// event has already been taken.
    pub fn try_next(&self) -> std::result::Result<SubscriptionEvent, TryRecvError> {
        self.queue.pop(Some(Instant::now())).map_err(|err| match err {
            RecvTimeoutError::Timeout => TryRecvError::Empty,
            RecvTimeoutError::Disconnected => TryRecvError::Disconnected,
        })
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
}

impl Iterator for &PullSubscription {
    type Item = SubscriptionEvent;

    fn next(&mut self) -> Option<SubscriptionEvent> {
        PullSubscription::next(self)
    }
}

/// The pull queue: bounded for ordinary events, with room always kept for the terminal one.
pub(super) struct Queue {
    state: Mutex<QueueState>,
    arrived: Condvar,
    capacity: usize,
    /// The subscription's stopper, so a producer waiting for room notices a stop.
    stopper: Mutex<Option<Stopper>>,
}

struct QueueState {
    events: VecDeque<SubscriptionEvent>,
    /// The terminal event has been taken by the consumer.
    finished: bool,
}

impl Queue {
    pub(super) fn new(capacity: usize) -> Self {
        Queue {
            state: Mutex::new(QueueState {
                events: VecDeque::new(),
                finished: false,
            }),
            arrived: Condvar::new(),
            capacity,
            stopper: Mutex::new(None),
        }
    }

    /// Connects the queue to the subscription that fills it.
    pub(super) fn attach(&self, stopper: Stopper) {
        *lock(&self.stopper) = Some(stopper);
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        lock(&self.state)
    }

    fn stop_requested(&self) -> bool {
        lock(&self.stopper).as_ref().is_some_and(Stopper::is_stopped)
    }

    /// Called on the subscription thread. Waits while the queue is full (back-pressure) unless a stop was
    /// asked for; after a stop only the terminal event is still queued.
    pub(super) fn push(&self, event: SubscriptionEvent) {
        let terminal = event.is_terminal();
        let mut state = self.lock();
        while !terminal && state.events.len() >= self.capacity {
            if self.stop_requested() {
                return;
            }
            // Short waits, so a stop (signalled on the subscription's own condvar) is seen promptly.
            state = wait_timeout(&self.arrived, state, Duration::from_millis(5));
        }
        if !terminal && self.stop_requested() {
            return;
        }
        state.events.push_back(event);
        drop(state);
        self.arrived.notify_all();
    }

    fn pop(&self, deadline: Option<Instant>) -> std::result::Result<SubscriptionEvent, RecvTimeoutError> {
        let mut state = self.lock();
        loop {
            if let Some(event) = state.events.pop_front() {
                if event.is_terminal() {
                    state.finished = true;
                }
                drop(state);
                // A producer may be waiting for room.
                self.arrived.notify_all();
                return Ok(event);
            }
            if state.finished {
                return Err(RecvTimeoutError::Disconnected);
            }
            state = match deadline {
                None => wait(&self.arrived, state),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(RecvTimeoutError::Timeout);
                    }
                    wait_timeout(&self.arrived, state, deadline - now)
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use std::thread;

    use super::*;

    #[test]
    fn the_queue_keeps_order_and_ends_after_the_terminal_event() {
        let queue = Queue::new(2);
        queue.push(SubscriptionEvent::Connected { url: "ws://x".into() });
        queue.push(SubscriptionEvent::Closed);
        assert!(matches!(
            queue.pop(Some(Instant::now())),
            Ok(SubscriptionEvent::Connected { .. })
        ));
        assert!(matches!(
            queue.pop(Some(Instant::now())),
            Ok(SubscriptionEvent::Closed)
        ));
        assert!(matches!(
            queue.pop(Some(Instant::now())),
            Err(RecvTimeoutError::Disconnected)
        ));
    }

    #[test]
    fn a_full_queue_applies_back_pressure_and_loses_nothing() {
        let queue = Arc::new(Queue::new(1));
        let producer = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || {
                for n in 0..5 {
                    queue.push(SubscriptionEvent::Connected {
                        url: format!("ws://{n}"),
                    });
                }
                queue.push(SubscriptionEvent::Closed);
            })
        };
        let mut urls = Vec::new();
        loop {
            match queue.pop(Some(Instant::now() + Duration::from_secs(10))) {
                Ok(SubscriptionEvent::Connected { url }) => urls.push(url),
                Ok(SubscriptionEvent::Closed) => break,
                other => panic!("unexpected {other:?}"),
            }
            // Room is always kept for the terminal event, so only the others count against capacity.
            let waiting = queue.lock().events.iter().filter(|e| !e.is_terminal()).count();
            assert!(waiting <= 1);
        }
        producer.join().unwrap();
        assert_eq!(urls, ["ws://0", "ws://1", "ws://2", "ws://3", "ws://4"]);
    }
}
