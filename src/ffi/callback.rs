//! What the C handles that deliver events share (subscriptions and mirrors): [`Events`], which starts a
//! handle in callback or pull mode and serves its `*_next`, `*_stop` and `*_free`; the callback type;
//! the caller's userdata and its finaliser; the gate that holds the first callback until the handle has
//! been written to `*out`; a handle freed from inside its own callback; and which callback runs on this
//! thread.

use std::cell::Cell;
use std::ffi::{c_char, c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::boundary::owned_c_string;
use super::status::CallError;
use crate::error::Error;
use crate::stream::Stopper;
use crate::sync::{lock, wait_timeout};

/// Receives the events of a callback-mode subscription or mirror.
///
/// `event_json` is one event as NUL-terminated JSON text of `len` bytes (the NUL not counted). It
/// belongs to the library and is valid only during the call: copy what you need. `userdata` is the
/// pointer given to pieces_messages_subscribe() or pieces_mirror_new().
///
/// The callback runs on the handle's own thread, one event at a time, never while the library holds a
/// lock. It may call any function of this API, including the stop and free functions of its own handle
/// (see there), and blocking ones such as pieces_messages_snapshot() (the handle reads no further while
/// it waits). It must not unwind (no C++ exception, no `longjmp` out of it).
#[allow(non_camel_case_types)]
pub type pieces_event_cb =
    Option<unsafe extern "C" fn(userdata: *mut c_void, event_json: *const c_char, len: usize)>;

/// The finaliser of a handle's userdata.
pub(crate) type UserdataFree = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// The caller's userdata and its finaliser, which runs exactly once: when released, or when dropped.
pub(crate) struct Userdata {
    pointer: *mut c_void,
    free: UserdataFree,
}

// SAFETY: the pointer is only passed back to the caller's own functions (the callback and the
// finaliser), on the threads the header documents; pieces_messages_subscribe() and pieces_mirror_new()
// tell the caller that userdata is used from the handle's thread in callback mode.
unsafe impl Send for Userdata {}

impl Userdata {
    pub(crate) fn new(pointer: *mut c_void, free: UserdataFree) -> Self {
        Userdata { pointer, free }
    }

    /// Runs the finaliser now (inside a panic boundary), on the calling thread.
    pub(crate) fn release(mut self) {
        self.run_free();
    }

    fn run_free(&mut self) {
        if let Some(free) = self.free.take() {
            let pointer = self.pointer;
            // SAFETY: the caller's finaliser, given its own pointer, exactly once (`take`).
            let _ = catch_unwind(AssertUnwindSafe(|| unsafe { free(pointer) }));
        }
    }
}

impl Drop for Userdata {
    fn drop(&mut self) {
        self.run_free();
    }
}

/// What a callback-mode handle of type `H` shares with its sink on the handle's thread.
pub(crate) struct CallbackShared<H> {
    /// Closed until the constructor has written `*out`: the first callback waits for it, so a callback
    /// may use the handle through the variable `out` pointed to.
    opened: Mutex<bool>,
    open: Condvar,
    /// A handle freed from inside its own callback, released by the handle's thread after the terminal
    /// event (a thread cannot join itself).
    orphan: Mutex<Option<Box<H>>>,
}

impl<H> CallbackShared<H> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(CallbackShared {
            opened: Mutex::new(false),
            open: Condvar::new(),
            orphan: Mutex::new(None),
        })
    }

    /// Lets the callbacks run.
    pub(crate) fn open(&self) {
        *lock(&self.opened) = true;
        self.open.notify_all();
    }

    fn wait_open(&self) {
        let mut opened = lock(&self.opened);
        while !*opened {
            // Bounded by the constructor, which opens the gate before returning (even when it unwinds);
            // the timeout only guards against a lost wake-up.
            opened = wait_timeout(&self.open, opened, Duration::from_millis(50));
        }
    }

    /// Keeps a handle freed from inside its own callback, for the handle's thread to drop after the
    /// terminal event.
    pub(crate) fn adopt(&self, handle: Box<H>) {
        *lock(&self.orphan) = Some(handle);
    }

    /// Whether this thread is running this handle's callback (or finaliser) right now.
    pub(crate) fn in_callback(self: &Arc<Self>) -> bool {
        let this = Arc::as_ptr(self).cast::<()>();
        IN_CALLBACK_OF
            .try_with(|current| std::ptr::eq(current.get(), this))
            .unwrap_or(false)
    }
}

/// Opens the gate (if the handle has one) when dropped, so a constructor that unwinds cannot leave the
/// thread waiting.
pub(crate) struct OpenOnDrop<H>(Option<Arc<CallbackShared<H>>>);

impl<H> Drop for OpenOnDrop<H> {
    fn drop(&mut self) {
        if let Some(shared) = &self.0 {
            shared.open();
        }
    }
}

thread_local! {
    /// The callback-mode handle (its `CallbackShared`) whose callback or finaliser runs on this thread.
    static IN_CALLBACK_OF: Cell<*const ()> = const { Cell::new(std::ptr::null()) };
}

/// Marks this thread as running a handle's user code until dropped.
struct InCallback {
    previous: *const (),
}

impl InCallback {
    fn enter<H>(shared: &Arc<CallbackShared<H>>) -> Self {
        let this = Arc::as_ptr(shared).cast::<()>();
        let previous = IN_CALLBACK_OF.with(|current| current.replace(this));
        InCallback { previous }
    }
}

impl Drop for InCallback {
    fn drop(&mut self) {
        let previous = self.previous;
        let _ = IN_CALLBACK_OF.try_with(|current| current.set(previous));
    }
}

/// What a handle's thread does with each event in callback mode.
pub(crate) struct CallbackSink<H> {
    callback: unsafe extern "C" fn(*mut c_void, *const c_char, usize),
    userdata: Option<Userdata>,
    shared: Arc<CallbackShared<H>>,
    waited: bool,
}

impl<H> CallbackSink<H> {
    pub(crate) fn new(
        callback: unsafe extern "C" fn(*mut c_void, *const c_char, usize),
        userdata: Userdata,
        shared: Arc<CallbackShared<H>>,
    ) -> Self {
        CallbackSink {
            callback,
            userdata: Some(userdata),
            shared,
            waited: false,
        }
    }

    /// Calls the callback with one event's JSON text; after the terminal event, runs the finaliser and
    /// drops a handle freed from inside the callback.
    pub(crate) fn deliver(&mut self, event: &impl CEvent) {
        if !self.waited {
            self.shared.wait_open();
            self.waited = true;
        }
        // An event that cannot be written (it cannot happen: every event is plain JSON, and JSON text never
        // holds a raw NUL byte) is skipped rather than handed over half-made. The terminal work below runs
        // regardless.
        let terminal = event.is_terminal();
        if let Some(text) = event.json().ok().and_then(|json| CString::new(json).ok()) {
            let pointer = self.userdata.as_ref().map_or(std::ptr::null_mut(), |u| u.pointer);
            let callback = self.callback;
            let _inside = InCallback::enter(&self.shared);
            let len = text.as_bytes().len();
            // SAFETY: the caller's callback with its own userdata, and a NUL-terminated string of `len`
            // bytes that outlives the call. No lock is held here.
            let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
                callback(pointer, text.as_ptr(), len)
            }));
        }
        if terminal {
            if let Some(userdata) = self.userdata.take() {
                let _inside = InCallback::enter(&self.shared);
                userdata.release();
            }
            // A handle freed from inside its callback ends here, on the thread that could not join itself;
            // the thread returns right after this event.
            let orphan = lock(&self.shared.orphan).take();
            drop(orphan);
        }
    }
}

/// An event a handle hands to C.
pub(crate) trait CEvent {
    /// Its JSON text, `type` first.
    fn json(&self) -> crate::Result<String>;
    /// Whether it is the terminal event.
    fn is_terminal(&self) -> bool;
}

/// The Rust side of a pull-mode handle: its queue of events.
pub(crate) trait PullSide {
    type Event: CEvent;
    /// Takes the next event, waiting until `deadline` (`None`: as long as it takes).
    fn pop(&self, deadline: Option<Instant>) -> Result<Self::Event, RecvTimeoutError>;
}

/// A handle's Rust side just started: the running object `R` (which stops and joins its thread when
/// dropped), its stopper, and whatever else the handle keeps of it.
pub(crate) struct Started<R, X> {
    pub(crate) running: R,
    pub(crate) stopper: Stopper,
    pub(crate) keep: X,
}

/// How a handle of type `H` delivers its events, and its stopper: to a C callback on its own thread
/// (the Rust side `C`), or into a queue for its `*_next` (the Rust side `P`).
pub(crate) struct Events<C, P, H> {
    stopper: Stopper,
    mode: Mode<C, P, H>,
}

enum Mode<C, P, H> {
    Callback {
        /// Taken out by the free, which then drops (stops and joins) it outside the lock.
        running: Mutex<Option<C>>,
        shared: Arc<CallbackShared<H>>,
    },
    Pull {
        running: P,
        /// Released by the call that takes the terminal event, or by the free.
        userdata: Mutex<Option<Userdata>>,
    },
}

impl<C, P, H> Drop for Events<C, P, H> {
    fn drop(&mut self) {
        // Before the fields, whose drop joins the thread: that thread may still wait at the gate if the
        // constructor unwound before opening it.
        if let Mode::Callback { shared, .. } = &self.mode {
            shared.open();
        }
    }
}

impl<C, P, H> Events<C, P, H> {
    /// Asks the handle to stop; returns at once.
    pub(crate) fn stop(&self) {
        self.stopper.stop();
    }
}

impl<C, P: PullSide, H> Events<C, P, H> {
    /// Starts a handle's Rust side: with `callback` (given the sink that calls `cb`) when `cb` is not
    /// NULL, else with `pull`. `userdata` is released if starting fails (the sink drops it).
    pub(crate) fn start<X>(
        cb: pieces_event_cb,
        userdata: Userdata,
        callback: impl FnOnce(CallbackSink<H>) -> crate::Result<Started<C, X>>,
        pull: impl FnOnce() -> crate::Result<Started<P, X>>,
    ) -> Result<(Self, X), CallError> {
        Ok(match cb {
            Some(cb) => {
                let shared = CallbackShared::new();
                let started = callback(CallbackSink::new(cb, userdata, Arc::clone(&shared)))?;
                let mode = Mode::Callback {
                    running: Mutex::new(Some(started.running)),
                    shared,
                };
                (
                    Events {
                        stopper: started.stopper,
                        mode,
                    },
                    started.keep,
                )
            }
            None => {
                let started = pull()?;
                let mode = Mode::Pull {
                    running: started.running,
                    userdata: Mutex::new(Some(userdata)),
                };
                (
                    Events {
                        stopper: started.stopper,
                        mode,
                    },
                    started.keep,
                )
            }
        })
    }

    /// Opens the gate for the callbacks when dropped: keep it until `*out` has been written.
    pub(crate) fn gate(&self) -> OpenOnDrop<H> {
        OpenOnDrop(match &self.mode {
            Mode::Callback { shared, .. } => Some(Arc::clone(shared)),
            Mode::Pull { .. } => None,
        })
    }

    /// What `*_next` does: the next event's JSON text as a new C string, with `timeout_ms` as the
    /// `*_next` functions take it (< 0: as long as it takes, 0: only a look, > 0: at most that many
    /// milliseconds). The call that takes the terminal event also runs the userdata's finaliser (taken
    /// out under its lock, run after it: user code never runs while a lock is held). `function`,
    /// `parameter` and `noun` name the call, the handle parameter and the handle in errors.
    pub(crate) fn next(
        &self,
        timeout_ms: i32,
        function: &'static str,
        parameter: &'static str,
        noun: &str,
    ) -> Result<*mut c_char, CallError> {
        let (running, userdata) = match &self.mode {
            Mode::Pull { running, userdata } => (running, userdata),
            Mode::Callback { shared, .. } if shared.in_callback() => {
                return Err(CallError::in_callback(function));
            }
            Mode::Callback { .. } => {
                return Err(CallError::argument(
                    parameter,
                    format!("is a callback-mode {noun}: its events go to the callback, not to {function}"),
                ));
            }
        };
        let deadline = (timeout_ms >= 0)
            .then(|| Instant::now() + Duration::from_millis(timeout_ms.unsigned_abs().into()));
        let event = running.pop(deadline).map_err(|err| match err {
            RecvTimeoutError::Timeout => CallError::no_event(timeout_ms),
            RecvTimeoutError::Disconnected => CallError::closed(),
        })?;
        // JSON text never holds a raw NUL byte (serde_json escapes U+0000), so this is never refused.
        let text = event.json().and_then(|json| {
            owned_c_string(json).map_err(|err| Error::internal("hand an event to C as text", err))
        });
        if event.is_terminal() {
            let finished = lock(userdata).take();
            if let Some(userdata) = finished {
                userdata.release();
            }
        }
        Ok(text?)
    }
}

/// What `*_free` does with a handle: stops it and, from any thread but its own, joins its thread and
/// releases it; from inside its own callback (which cannot join the thread it runs on) it leaves the
/// handle to that thread, which releases it after the terminal event.
///
/// # Safety
/// `pointer` is a live handle from `Box::into_raw`, given back once, not used by the caller afterwards;
/// `events` returns the handle's own [`Events`].
pub(crate) unsafe fn free<C, P, H>(pointer: *mut H, events: impl FnOnce(&H) -> &Events<C, P, H>) {
    // SAFETY: a live handle, as the caller guarantees; only shared references to it exist until it is
    // turned back into its Box below, after the last use of `handle`.
    let handle = unsafe { &*pointer };
    let events = events(handle);
    events.stop();
    // SAFETY (for each `Box::from_raw` below): `pointer` came from `Box::into_raw` and is given back
    // once, as the caller guarantees; `handle` and `events` are not used after it.
    match &events.mode {
        Mode::Callback { shared, .. } if shared.in_callback() => {
            // The sink on this very thread drops the handle after the terminal event.
            let shared = Arc::clone(shared);
            // SAFETY: see above.
            shared.adopt(unsafe { Box::from_raw(pointer) });
        }
        Mode::Callback { running, .. } => {
            // Stop and join while the handle is still whole: the callback may call the handle's stop
            // (or, for a mirror, its reads) meanwhile.
            let running = lock(running).take();
            drop(running);
            // SAFETY: see above.
            drop(unsafe { Box::from_raw(pointer) });
        }
        Mode::Pull { .. } => {
            // Dropping the Rust side stops and joins its thread; then the userdata, if the terminal
            // event was never taken, is released here on the caller's thread.
            // SAFETY: see above.
            drop(unsafe { Box::from_raw(pointer) });
        }
    }
}
