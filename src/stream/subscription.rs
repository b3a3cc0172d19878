//! [`Subscription`] and [`Stopper`]: the thread that connects, reads, reconnects with backoff, and
//! delivers every event in order, until a stop or the last allowed attempt.

use std::net::{Shutdown, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use super::backoff::Backoff;
use super::connection::{Connection, Read};
use super::event::SubscriptionEvent;
use crate::client::Client;
use crate::error::{panic_message, Error, Result};
use crate::sync::{lock, wait_timeout_while};

/// What `stop` and the subscription thread (or the reader of an identifier stream) share.
pub(super) struct Shared {
    /// Also read without the lock, by the hot paths that only need to know.
    stop_requested: AtomicBool,
    state: Mutex<State>,
    /// Wakes the backoff sleep.
    wake: Condvar,
    thread_id: Mutex<Option<ThreadId>>,
    /// Run by every stop, after the flag is set: they wake what waits elsewhere (a pull queue's
    /// producer waiting for room), without polling.
    stop_hooks: Mutex<Vec<StopHook>>,
}

type StopHook = Box<dyn Fn() + Send + Sync>;

struct State {
    stopped: bool,
    /// A handle on the current connection's socket, so `stop` can shut it down under a blocked read.
    socket: Option<TcpStream>,
}

impl Shared {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Shared {
            stop_requested: AtomicBool::new(false),
            state: Mutex::new(State {
                stopped: false,
                socket: None,
            }),
            wake: Condvar::new(),
            thread_id: Mutex::new(None),
            stop_hooks: Mutex::new(Vec::new()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(super) fn is_stopped(&self) -> bool {
        self.stop_requested.load(Ordering::Acquire)
    }

    fn request_stop(&self) {
        let mut state = self.lock();
        state.stopped = true;
        self.stop_requested.store(true, Ordering::Release);
        if let Some(socket) = state.socket.take() {
            let _ = socket.shutdown(Shutdown::Both);
        }
        drop(state);
        self.wake.notify_all();
        for hook in lock(&self.stop_hooks).iter() {
            hook();
        }
    }

    /// Keeps a handle on a new connection's socket; `false` when a stop came first.
    pub(super) fn register(&self, socket: &TcpStream) -> bool {
        let mut state = self.lock();
        if state.stopped {
            return false;
        }
        state.socket = socket.try_clone().ok();
        true
    }

    fn unregister(&self) {
        self.lock().socket = None;
    }

    /// Sleeps for `delay` unless a stop comes first; returns whether it was stopped.
    fn sleep(&self, delay: Duration) -> bool {
        let state = wait_timeout_while(&self.wake, self.lock(), delay, |state| !state.stopped);
        state.stopped
    }
}

/// A running subscription to the identifier stream with a handler. Made by
/// [`Client::subscribe_identifiers`]. Dropping it stops it and joins its thread.
pub struct Subscription {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("stopped", &self.shared.is_stopped())
            .finish()
    }
}

/// Stops a subscription (or an [`IdentifierStream`](super::IdentifierStream)) from anywhere, its own
/// handler included. Cheap to clone; see [`Subscription::stopper`] and
/// [`IdentifierStream::stopper`](super::IdentifierStream::stopper).
#[derive(Clone)]
pub struct Stopper {
    pub(super) shared: Arc<Shared>,
}

impl std::fmt::Debug for Stopper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stopper").finish_non_exhaustive()
    }
}

impl Stopper {
    /// The stopper of a subscription about to be started with [`Subscription::start`].
    pub(crate) fn new() -> Self {
        Stopper {
            shared: Shared::new(),
        }
    }

    /// Asks the subscription to stop and returns at once; the thread then delivers `Closed` and ends. For
    /// an identifier stream, a read blocked on another thread returns at once, and the stream has ended.
    pub fn stop(&self) {
        self.shared.request_stop();
    }

    /// Whether a stop has been asked for.
    pub(crate) fn is_stopped(&self) -> bool {
        self.shared.is_stopped()
    }

    /// Runs `hook` on every stop from now on (on the stopping thread, right after the stop flag is set),
    /// so that whatever waits elsewhere for the subscription wakes without polling. Hooks must be quick
    /// and must not stop the subscription themselves.
    pub(crate) fn on_stop(&self, hook: impl Fn() + Send + Sync + 'static) {
        lock(&self.shared.stop_hooks).push(Box::new(hook));
        // A stop that came before the hook was in place still reaches it.
        if self.is_stopped() {
            for hook in lock(&self.shared.stop_hooks).iter() {
                hook();
            }
        }
    }
}

/// What a subscription thread hands its events to, and the work it may do on that thread between two
/// reads of the socket (a mirror's fetches). Every call runs inside `catch_unwind`: a panic ends the
/// subscription with a `Failed` event ([`Error::HandlerPanicked`]).
pub(crate) trait Sink: Send + 'static {
    /// Takes the next event. The thread reads no further until this returns (back-pressure).
    fn deliver(&mut self, event: SubscriptionEvent);

    /// When the sink next has work to do: the thread then stops waiting for a frame and calls
    /// [`Sink::work`]. `None` (the default): no work, only events.
    fn work_due(&self) -> Option<Instant> {
        None
    }

    /// Does the work that is due, one step at a time: frames that arrived meanwhile are read (and
    /// delivered) before the next step.
    fn work(&mut self) {}
}

/// A handler closure as a [`Sink`].
pub(crate) struct Handler<F>(pub(crate) F);

impl<F: FnMut(SubscriptionEvent) + Send + 'static> Sink for Handler<F> {
    fn deliver(&mut self, event: SubscriptionEvent) {
        (self.0)(event);
    }
}

impl Subscription {
    /// Starts a subscription thread named `thread_name` whose events go to `sink`, stopped by `stopper`
    /// (a new one from [`Stopper::new`], on which stop hooks may already be registered).
    pub(crate) fn start(
        client: Client,
        thread_name: &str,
        stopper: Stopper,
        sink: impl Sink,
    ) -> Result<Self> {
        let shared = stopper.shared;
        let thread_shared = Arc::clone(&shared);
        let thread = thread::Builder::new()
            .name(thread_name.to_owned())
            .spawn(move || run(client, thread_shared, sink))
            .map_err(|err| Error::internal("start the subscription thread", err))?;
        Ok(Subscription {
            shared,
            thread: Some(thread),
        })
    }

    /// A [`Stopper`] for this subscription, to move into its handler or another thread.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Whether a stop has been asked for.
    pub fn is_stopped(&self) -> bool {
        self.shared.is_stopped()
    }

    /// Stops the subscription and, unless called from its own handler, waits for its thread to end
    /// (after the terminal event). Returns promptly: the socket is shut down and the backoff sleep woken.
    pub fn stop(&mut self) {
        self.shared.request_stop();
        if self.on_own_thread() {
            return;
        }
        if let Some(thread) = self.thread.take() {
            // The thread catches the handler's panics itself, so a join error cannot carry one.
            let _ = thread.join();
        }
    }

    fn on_own_thread(&self) -> bool {
        *lock(&self.shared.thread_id) == Some(thread::current().id())
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a sink's code, turning a panic into [`Error::HandlerPanicked`].
fn guarded(call: impl FnOnce()) -> Result<()> {
    catch_unwind(AssertUnwindSafe(call)).map_err(|panic| Error::HandlerPanicked {
        message: panic_message(panic.as_ref()),
    })
}

/// The subscription thread: connect, read, reconnect, until stopped or out of attempts.
fn run(client: Client, shared: Arc<Shared>, mut sink: impl Sink) {
    // Recorded before the first event, so a handler that drops or stops its subscription is recognised.
    *lock(&shared.thread_id) = Some(thread::current().id());
    let config = client.config().stream.clone();
    let mut backoff = Backoff::new(&config);
    // The base URL that last failed: a client that discovers PiecesOS scans again before the next attempt,
    // since a restarted PiecesOS may listen on another port.
    let mut failed_url: Option<String> = None;
    let terminal = 'subscription: loop {
        if shared.is_stopped() {
            break SubscriptionEvent::Closed;
        }
        let opened = client
            .base_url_after(failed_url.take().as_deref(), Some(&shared.stop_requested))
            .and_then(|base_url| {
                let opened = Connection::open(&client, &base_url, &config, &|tcp| shared.register(tcp));
                // Kept for a connection that opens too: it is the one to replace once it is lost.
                failed_url = Some(base_url);
                opened
            });
        let lost = match opened {
            Ok(mut connection) => {
                let opened_at = Instant::now();
                let url = connection.url.clone();
                if let Err(error) = guarded(|| sink.deliver(SubscriptionEvent::Connected { url })) {
                    break SubscriptionEvent::Failed { error };
                }
                let mut full = true;
                let lost = loop {
                    let error = match connection.read(sink.work_due()) {
                        Ok(Read::Frame(frame)) => {
                            if shared.is_stopped() {
                                break None;
                            }
                            let event = SubscriptionEvent::Identifiers { frame, full };
                            if let Err(error) = guarded(|| sink.deliver(event)) {
                                break 'subscription SubscriptionEvent::Failed { error };
                            }
                            full = false;
                            continue;
                        }
                        // The sink's work is due, and every frame that had arrived has been delivered.
                        Ok(Read::Nothing) => {
                            if shared.is_stopped() {
                                break None;
                            }
                            if let Err(error) = guarded(|| sink.work()) {
                                break 'subscription SubscriptionEvent::Failed { error };
                            }
                            continue;
                        }
                        Ok(Read::Closed) => connection.error("the server closed the stream".to_owned()),
                        Err(error) => error,
                    };
                    break Some(error);
                };
                shared.unregister();
                if shared.is_stopped() {
                    connection.close();
                }
                match lost {
                    Some(error) if !shared.is_stopped() => {
                        // A connection proves healthy by delivering its full first frame and staying up
                        // for the longest delay between attempts; only that starts the count (and the
                        // delays) afresh. One lost sooner (a frame that does not decode, is not UTF-8 or
                        // is over the size limit) is a failed attempt like a refused connection, so a
                        // server that breaks every connection right after the upgrade can neither make
                        // the subscription reconnect at full speed nor keep it from giving up.
                        let healthy = !full && opened_at.elapsed() >= config.retry_max;
                        if healthy {
                            backoff.reset();
                        } else if backoff.exhausted() {
                            break SubscriptionEvent::Failed { error };
                        }
                        Some(error)
                    }
                    other => other,
                }
            }
            Err(error) => {
                // A stop that interrupted this attempt is a stop, not an attempt that failed.
                if shared.is_stopped() {
                    break SubscriptionEvent::Closed;
                }
                if backoff.exhausted() {
                    break SubscriptionEvent::Failed { error };
                }
                Some(error)
            }
        };
        let Some(error) = lost.filter(|_| !shared.is_stopped()) else {
            break SubscriptionEvent::Closed;
        };
        let retry_in = backoff.next_delay();
        if let Err(error) = guarded(|| sink.deliver(SubscriptionEvent::Disconnected { error, retry_in })) {
            break SubscriptionEvent::Failed { error };
        }
        if shared.sleep(retry_in) {
            break SubscriptionEvent::Closed;
        }
    };
    shared.unregister();
    // The terminal event is delivered even to a handler that panicked before; a second panic is dropped.
    let _ = guarded(|| sink.deliver(terminal));
}
