//! What the C handles that deliver events share (subscriptions and mirrors): the callback type, the
//! caller's userdata and its finaliser, the gate that holds the first callback until the handle has been
//! written to `*out`, a handle freed from inside its own callback, which callback runs on this thread,
//! and the pull side (`*_next`).

use std::cell::Cell;
use std::ffi::{c_char, c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::boundary::owned_c_string;
use super::status::CallError;
use crate::error::Error;
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

/// Opens the gate when dropped, so a constructor that unwinds cannot leave the thread waiting.
pub(crate) struct OpenOnDrop<'a, H>(pub(crate) &'a CallbackShared<H>);

impl<H> Drop for OpenOnDrop<'_, H> {
    fn drop(&mut self) {
        self.0.open();
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
    pub(crate) fn deliver(&mut self, json: String, terminal: bool) {
        if !self.waited {
            self.shared.wait_open();
            self.waited = true;
        }
        // JSON text never holds a raw NUL byte (serde_json escapes U+0000); an event that did could not be
        // handed over whole, and is skipped rather than cut. The terminal work below runs regardless.
        if let Ok(text) = CString::new(json) {
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

/// Waits for the next event of a pull-mode handle, with `timeout_ms` as the `*_next` functions take it
/// (< 0: as long as it takes, 0: only a look, > 0: at most that many milliseconds).
pub(crate) fn take_next<E>(
    timeout_ms: i32,
    pop: impl FnOnce(Option<Instant>) -> Result<E, RecvTimeoutError>,
) -> Result<E, CallError> {
    let deadline =
        (timeout_ms >= 0).then(|| Instant::now() + Duration::from_millis(timeout_ms.unsigned_abs().into()));
    pop(deadline).map_err(|err| match err {
        RecvTimeoutError::Timeout => CallError::no_event(timeout_ms),
        RecvTimeoutError::Disconnected => CallError::closed(),
    })
}

/// Hands a pull-mode event's JSON text to C; on the terminal event, also runs the userdata's finaliser
/// (taken out under its lock, run after it: user code never runs while a lock is held).
pub(crate) fn hand_out(
    json: String,
    terminal: bool,
    userdata: &Mutex<Option<Userdata>>,
) -> Result<*mut c_char, CallError> {
    // JSON text never holds a raw NUL byte (serde_json escapes U+0000), so this is never refused.
    let text = owned_c_string(json).map_err(|err| Error::internal("hand an event to C as text", err));
    if terminal {
        let finished = lock(userdata).take();
        if let Some(userdata) = finished {
            userdata.release();
        }
    }
    Ok(text?)
}
