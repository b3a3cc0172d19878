//! Ctrl-C for `watch`: the first SIGINT asks for a clean stop, a second one ends the program at once.
//!
//! On Unix a handler sets a flag that the watch loop polls, and puts back the default action, so a
//! stop that hangs can still be cut short. Elsewhere Ctrl-C keeps its default action, which ends the
//! program without the final `closed` line.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether Ctrl-C (SIGINT) has been pressed since [`catch`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Acquire)
}

/// Catches the next SIGINT.
#[cfg(unix)]
#[allow(unsafe_code)] // Installing a signal handler: the one thing here that needs it.
pub fn catch() {
    extern "C" fn on_interrupt(_signal: libc::c_int) {
        // Only async-signal-safe work here: an atomic store, and signal(), which POSIX lists as safe.
        INTERRUPTED.store(true, Ordering::Release);
        // SAFETY: resets SIGINT to its default action; no memory is touched.
        unsafe {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
        }
    }
    let handler = on_interrupt as extern "C" fn(libc::c_int);
    // SAFETY: the handler only does async-signal-safe work (see above) and lives for the whole program.
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
    }
}

/// Keeps the default action of Ctrl-C (see the module documentation).
#[cfg(not(unix))]
pub fn catch() {}
