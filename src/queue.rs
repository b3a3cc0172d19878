//! [`EventQueue`]: the bounded queue between a background thread and a consumer that pulls its events,
//! shared by pull subscriptions ([`crate::PullSubscription`]) and pull mirrors ([`crate::PullMirror`]).
//!
//! It is bounded twice, in events and in bytes, and never drops an event to stay within either bound:
//! a producer with an event that does not fit waits until the consumer has taken enough (back-pressure,
//! which the subscription thread passes on by not reading its socket). An event larger than the byte
//! bound on its own is admitted once the queue is empty. The terminal event never waits: it is always
//! admitted, so a stop cannot be held up by a consumer that went away.
//!
//! A stop wakes a waiting producer at once ([`EventQueue::stop`], which the subscription's stop hook
//! calls): it then discards the event it was waiting with and every later one but the terminal event,
//! while the events already queued stay there for the consumer.

use std::collections::VecDeque;
use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::sync::{lock, wait, wait_timeout};

/// What the queue needs to know about an event.
pub(crate) trait QueuedEvent {
    /// Whether this is the last event (`Closed` or `Failed`).
    fn is_terminal(&self) -> bool;
    /// About how many bytes of memory the event holds, counted against the byte bound. Cheap to compute
    /// and proportional to the event's size; it need not be exact.
    fn queued_bytes(&self) -> usize;
}

/// A queue bounded in events and bytes; see the [module documentation](self).
pub(crate) struct EventQueue<E> {
    state: Mutex<State<E>>,
    /// Signals both ways: an event arrived (for the consumer), room was made or a stop came (for the
    /// producer).
    changed: Condvar,
    max_events: usize,
    max_bytes: u64,
}

struct State<E> {
    /// Each event with the bytes it was counted for.
    events: VecDeque<(E, u64)>,
    /// The bytes of every queued event.
    bytes: u64,
    /// A stop was asked for: ordinary events are no longer admitted, and nobody waits for room.
    stopping: bool,
    /// The terminal event has been taken by the consumer.
    finished: bool,
}

impl<E: QueuedEvent> EventQueue<E> {
    /// An empty queue holding at most `max_events` events and `max_bytes` bytes (both at least 1).
    pub(crate) fn new(max_events: usize, max_bytes: u64) -> Self {
        EventQueue {
            state: Mutex::new(State {
                events: VecDeque::new(),
                bytes: 0,
                stopping: false,
                finished: false,
            }),
            changed: Condvar::new(),
            max_events: max_events.max(1),
            max_bytes: max_bytes.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<E>> {
        lock(&self.state)
    }

    /// Called by the producer. Waits while the event does not fit (back-pressure) until the consumer
    /// makes room or a stop comes; after a stop, only the terminal event is still queued.
    pub(crate) fn push(&self, event: E) {
        let terminal = event.is_terminal();
        let size = u64::try_from(event.queued_bytes()).unwrap_or(u64::MAX);
        let mut state = self.lock();
        if !terminal {
            loop {
                if state.stopping {
                    return;
                }
                let fits = state.events.is_empty()
                    || (state.events.len() < self.max_events
                        && state.bytes.saturating_add(size) <= self.max_bytes);
                if fits {
                    break;
                }
                state = wait(&self.changed, state);
            }
        }
        state.bytes = state.bytes.saturating_add(size);
        state.events.push_back((event, size));
        drop(state);
        self.changed.notify_all();
    }

    /// A stop was asked for: wakes a producer waiting for room, and refuses ordinary events from now on.
    pub(crate) fn stop(&self) {
        self.lock().stopping = true;
        self.changed.notify_all();
    }

    /// Blocks until the next event; `None` once the terminal event has been taken.
    pub(crate) fn next(&self) -> Option<E> {
        self.pop(None).ok()
    }

    /// Waits up to `timeout` for the next event.
    pub(crate) fn next_timeout(&self, timeout: Duration) -> Result<E, RecvTimeoutError> {
        self.pop(Some(Instant::now() + timeout))
    }

    /// The next event if one is waiting.
    pub(crate) fn try_next(&self) -> Result<E, TryRecvError> {
        self.pop(Some(Instant::now())).map_err(|err| match err {
            RecvTimeoutError::Timeout => TryRecvError::Empty,
            RecvTimeoutError::Disconnected => TryRecvError::Disconnected,
        })
    }

    /// Takes the next event, waiting until `deadline` (`None`: for as long as it takes).
    /// `Err(Timeout)`: nothing arrived in time; `Err(Disconnected)`: the terminal event was taken before.
    pub(crate) fn pop(&self, deadline: Option<Instant>) -> Result<E, RecvTimeoutError> {
        let mut state = self.lock();
        loop {
            if let Some((event, size)) = state.events.pop_front() {
                state.bytes -= size;
                if event.is_terminal() {
                    state.finished = true;
                }
                drop(state);
                // A producer may be waiting for room.
                self.changed.notify_all();
                return Ok(event);
            }
            if state.finished {
                return Err(RecvTimeoutError::Disconnected);
            }
            state = match deadline {
                None => wait(&self.changed, state),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(RecvTimeoutError::Timeout);
                    }
                    wait_timeout(&self.changed, state, deadline - now)
                }
            };
        }
    }
}

/// Counts the bytes of a value's JSON form without writing them anywhere: the weight of an event that
/// holds a decoded model, whose memory is about proportional to its JSON text.
pub(crate) fn json_len(value: &impl serde::Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // A value that cannot be written (a model whose `extra` repeats a typed key) still counts what was
    // written before the failure; the weight need not be exact.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::thread;
    use std::time::Duration;

    use super::*;

    /// A test event: its name, its weight, and whether it ends the stream.
    #[derive(Debug, PartialEq)]
    struct Event(&'static str, usize, bool);

    impl QueuedEvent for Event {
        fn is_terminal(&self) -> bool {
            self.2
        }
        fn queued_bytes(&self) -> usize {
            self.1
        }
    }

    fn soon() -> Option<Instant> {
        Some(Instant::now() + Duration::from_secs(10))
    }

    #[test]
    fn order_is_kept_and_the_terminal_event_ends_it() {
        let queue = EventQueue::new(2, 100);
        queue.push(Event("a", 1, false));
        queue.push(Event("end", 0, true));
        assert_eq!(queue.pop(Some(Instant::now())), Ok(Event("a", 1, false)));
        assert_eq!(queue.pop(Some(Instant::now())), Ok(Event("end", 0, true)));
        assert_eq!(
            queue.pop(Some(Instant::now())),
            Err(RecvTimeoutError::Disconnected)
        );
        assert_eq!(queue.pop(None), Err(RecvTimeoutError::Disconnected));
    }

    #[test]
    fn an_empty_queue_times_out() {
        let queue: EventQueue<Event> = EventQueue::new(2, 100);
        let started = Instant::now();
        let waited = queue.pop(Some(started + Duration::from_millis(30)));
        assert_eq!(waited, Err(RecvTimeoutError::Timeout));
        assert!(started.elapsed() >= Duration::from_millis(30));
    }

    /// Pushes `events` from another thread while this one takes them one by one, checking `bound`
    /// (events held, bytes held) after each take; returns the names taken.
    fn drain_under_pressure(
        queue: Arc<EventQueue<Event>>,
        events: Vec<Event>,
        bound: impl Fn(usize, u64) -> bool,
    ) -> Vec<&'static str> {
        let producer = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || {
                for event in events {
                    queue.push(event);
                }
                queue.push(Event("end", 0, true));
            })
        };
        let mut names = Vec::new();
        loop {
            // Give the producer time to fill the queue up to its bound.
            thread::sleep(Duration::from_millis(2));
            let held = {
                let state = queue.lock();
                (state.events.len(), state.bytes)
            };
            assert!(bound(held.0, held.1), "queue holds {held:?}");
            match queue.pop(soon()) {
                Ok(Event("end", _, true)) => break,
                Ok(Event(name, _, _)) => names.push(name),
                Err(error) => panic!("{error:?}"),
            }
        }
        producer.join().unwrap();
        names
    }

    #[test]
    fn a_full_queue_holds_the_producer_back_and_loses_nothing() {
        let queue = Arc::new(EventQueue::new(2, 1_000));
        let events = ["a", "b", "c", "d", "e"].map(|name| Event(name, 1, false)).into();
        // At most two ordinary events, plus the terminal one once it is pushed.
        let names = drain_under_pressure(queue, events, |count, _| count <= 3);
        assert_eq!(names, ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn the_byte_bound_holds_the_producer_back_too_and_lets_a_huge_event_through_alone() {
        let queue = Arc::new(EventQueue::new(1_000, 100));
        let events = vec![
            Event("a", 40, false),
            Event("b", 40, false),
            Event("c", 40, false),
            Event("huge", 1_000, false),
            Event("d", 40, false),
        ];
        let names = drain_under_pressure(queue, events, |count, bytes| bytes <= 100 || count == 1);
        assert_eq!(names, ["a", "b", "c", "huge", "d"]);
    }

    #[test]
    fn a_stop_wakes_a_waiting_producer_at_once_and_keeps_what_was_queued() {
        let queue = Arc::new(EventQueue::new(1, 1_000));
        queue.push(Event("kept", 1, false));
        let producer = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || {
                queue.push(Event("waits", 1, false));
                queue.push(Event("after the stop", 1, false));
                queue.push(Event("end", 0, true));
            })
        };
        thread::sleep(Duration::from_millis(50));
        assert!(!producer.is_finished(), "the producer waits for room");
        queue.stop();
        // The producer waits without a timeout, so only the stop's own wake-up can end its wait.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !producer.is_finished() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
        assert!(producer.is_finished(), "the stop did not wake the producer");
        producer.join().unwrap();
        assert_eq!(queue.pop(soon()), Ok(Event("kept", 1, false)));
        assert_eq!(queue.pop(soon()), Ok(Event("end", 0, true)));
        assert_eq!(queue.pop(soon()), Err(RecvTimeoutError::Disconnected));
    }

    #[test]
    fn json_len_counts_the_json_form() {
        assert_eq!(
            json_len(&serde_json::json!({"a": [1, "xy"]})),
            r#"{"a":[1,"xy"]}"#.len()
        );
    }
}
