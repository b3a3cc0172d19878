//! Ctrl-C for `watch`: the first one asks for a clean stop, a second one ends the program at once (exit
//! status 130, as a shell reports a program ended by Ctrl-C).
//!
//! signal-hook installs the handlers: on Unix for SIGINT, on Windows for the console's Ctrl-C (through
//! the C runtime's `signal`). The first sets a flag that the watch loop polls; the second finds the flag
//! set and exits, so a stop that hangs can still be cut short.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use signal_hook::consts::SIGINT;
use signal_hook::flag;

/// The exit status after a second Ctrl-C: 128 + SIGINT's number 2, what shells report for Ctrl-C.
const EXIT_INTERRUPTED: i32 = 130;

static INTERRUPTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Whether Ctrl-C has been pressed since [`catch`].
pub fn interrupted() -> bool {
    INTERRUPTED.get().is_some_and(|flag| flag.load(Ordering::Acquire))
}

/// Catches Ctrl-C from now on. When the handlers cannot be installed, Ctrl-C keeps its default action
/// (the program ends without its final `stopped` line), which is all that is lost.
pub fn catch() {
    let interrupted = INTERRUPTED.get_or_init(|| Arc::new(AtomicBool::new(false)));
    // The order matters: the exit is registered first, so the first Ctrl-C finds the flag still unset
    // and only the second one exits.
    let _ = flag::register_conditional_shutdown(SIGINT, EXIT_INTERRUPTED, Arc::clone(interrupted))
        .and_then(|_| flag::register(SIGINT, Arc::clone(interrupted)));
}
