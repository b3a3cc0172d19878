//! Locks and waits that survive a panic elsewhere.
//!
//! Every mutex of this crate guards values that no panic can leave half-written: flags, options, queues
//! and maps changed by single calls. A panic in a user's handler (or a bug) while such a lock is held must
//! not turn every later call into a second panic, so a poisoned lock is taken over as it is, here, in
//! one place.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Locks `mutex`, taking it over if a panic poisoned it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits on `condvar` until notified (or woken spuriously), taking the lock over if it was poisoned.
pub(crate) fn wait<'a, T>(condvar: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    condvar.wait(guard).unwrap_or_else(PoisonError::into_inner)
}

/// Waits on `condvar` at most `timeout`, taking the lock over if it was poisoned. The caller checks its
/// own condition and deadline again afterwards, so whether the wait timed out is not returned.
pub(crate) fn wait_timeout<'a, T>(
    condvar: &Condvar,
    guard: MutexGuard<'a, T>,
    timeout: Duration,
) -> MutexGuard<'a, T> {
    condvar
        .wait_timeout(guard, timeout)
        .unwrap_or_else(PoisonError::into_inner)
        .0
}

/// Waits on `condvar` while `condition` holds, at most `timeout`, taking the lock over if it was
/// poisoned.
pub(crate) fn wait_timeout_while<'a, T>(
    condvar: &Condvar,
    guard: MutexGuard<'a, T>,
    timeout: Duration,
    condition: impl FnMut(&mut T) -> bool,
) -> MutexGuard<'a, T> {
    condvar
        .wait_timeout_while(guard, timeout, condition)
        .unwrap_or_else(PoisonError::into_inner)
        .0
}
