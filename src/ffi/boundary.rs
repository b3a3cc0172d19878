//! The panic boundary, and the checks every pointer and string from C goes through.
//!
//! Each exported body is written as `ffi_boundary! { … }`: the body runs in a closure under
//! `catch_unwind`, so cbindgen still sees a plain `extern "C" fn` and no panic unwinds into C. What the
//! body evaluates to decides what C gets back ([`BoundaryOutput`]): a `Result<(), CallError>` becomes a
//! [`pieces_status`] (recording the last error on failure), `()` stays nothing, a pointer stays a
//! pointer (NULL after a panic). A test (`ffi::tests`) reads these sources and fails if any `extern "C"
//! fn` body does not start with the macro.

use std::ffi::{c_char, CStr, CString, NulError};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use super::status::{pieces_status, CallError};
use crate::error::panic_message;

/// Runs the body of an exported function inside the panic boundary. See the module documentation.
macro_rules! ffi_boundary {
    ($($body:tt)*) => {
        $crate::ffi::boundary::guard(move || { $($body)* })
    };
}

/// What an exported body may evaluate to, and what C receives for it.
pub(crate) trait BoundaryOutput {
    /// The C return type.
    type C;
    /// The C value for a body that ended normally.
    fn into_c(self) -> Self::C;
    /// The C value after a panic (already recorded as the last error).
    fn after_panic() -> Self::C;
}

impl BoundaryOutput for Result<(), CallError> {
    type C = pieces_status;

    fn into_c(self) -> pieces_status {
        match self {
            Ok(()) => pieces_status::Ok,
            Err(failure) => failure.record(),
        }
    }

    fn after_panic() -> pieces_status {
        pieces_status::Panic
    }
}

impl BoundaryOutput for () {
    type C = ();

    fn into_c(self) {}

    fn after_panic() {}
}

impl BoundaryOutput for *const c_char {
    type C = *const c_char;

    fn into_c(self) -> *const c_char {
        self
    }

    fn after_panic() -> *const c_char {
        ptr::null()
    }
}

/// The boundary itself; use it through `ffi_boundary!`.
pub(crate) fn guard<R: BoundaryOutput>(body: impl FnOnce() -> R) -> R::C {
    // AssertUnwindSafe: after a panic nothing the body touched is used again by this call, and every
    // shared structure it may have touched (mutexes) is recovered from poisoning where it is locked.
    match catch_unwind(AssertUnwindSafe(|| body().into_c())) {
        Ok(value) => value,
        Err(payload) => {
            let message = panic_message(payload.as_ref());
            // Dropping a payload can itself panic (a payload whose Drop panics); keep that inside too.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            let _ = catch_unwind(|| CallError::panic(&message).record());
            R::after_panic()
        }
    }
}

/// Borrows the object behind a `const T *` handle, refusing NULL.
///
/// # Safety
/// A non-NULL `pointer` must come from `Box::into_raw` of a `T` that is still alive (not yet freed) for
/// the whole of `'a`, as the C API's handles do until their `*_free`.
pub(crate) unsafe fn handle<'a, T>(pointer: *const T, parameter: &'static str) -> Result<&'a T, CallError> {
    // SAFETY: the caller guarantees a non-NULL pointer is a live, aligned `T`; NULL gives None.
    unsafe { pointer.as_ref() }.ok_or_else(|| CallError::null(parameter))
}

/// Reads a NUL-terminated UTF-8 string parameter, refusing NULL and invalid UTF-8.
///
/// # Safety
/// A non-NULL `pointer` must point to a NUL-terminated string that stays unchanged for `'a`.
pub(crate) unsafe fn c_str<'a>(
    pointer: *const c_char,
    parameter: &'static str,
) -> Result<&'a str, CallError> {
    if pointer.is_null() {
        return Err(CallError::null(parameter));
    }
    // SAFETY: non-NULL and NUL-terminated, as the caller guarantees.
    let bytes = unsafe { CStr::from_ptr(pointer) };
    bytes
        .to_str()
        .map_err(|err| CallError::utf8(parameter, err.valid_up_to()))
}

/// An out-parameter, checked for NULL before any work is done and written only on success.
pub(crate) struct Out<T> {
    pointer: *mut T,
}

impl<T> Out<T> {
    /// Refuses a NULL out-parameter.
    pub(crate) fn new(pointer: *mut T, parameter: &'static str) -> Result<Self, CallError> {
        if pointer.is_null() {
            Err(CallError::null(parameter))
        } else {
            Ok(Out { pointer })
        }
    }

    /// Writes the result.
    ///
    /// # Safety
    /// The pointer given to [`Out::new`] must be valid for a write of one `T`.
    pub(crate) unsafe fn write(self, value: T) {
        // SAFETY: non-NULL (checked in `new`) and valid for writes, as the caller guarantees; `write`
        // does not read or drop the old value, which may be uninitialised.
        unsafe { self.pointer.write(value) }
    }
}

/// Hands a response body that `wire::checked_text` passed to C as a `char *` that pieces_string_free()
/// releases, without scanning it for NUL bytes again: it is valid JSON, which holds none (see
/// `checked_text`). On a snapshot of tens of MB that scan was a tenth of the C API's own work.
pub(crate) fn checked_json_c_string(text: String) -> *mut c_char {
    debug_assert!(!text.as_bytes().contains(&0), "checked JSON holds no NUL byte");
    // SAFETY: `text` passed `wire::checked_text`, so it is valid JSON and holds no NUL byte.
    unsafe { CString::from_vec_unchecked(text.into_bytes()) }.into_raw()
}

/// Hands text to C as a `char *` that pieces_string_free() releases; a NUL byte inside the text, which C
/// would read as its end, is refused and returned for the caller to say whose text it was.
pub(crate) fn owned_c_string(text: String) -> Result<*mut c_char, NulError> {
    CString::new(text).map(CString::into_raw)
}
