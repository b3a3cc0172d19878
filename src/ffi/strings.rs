//! Strings the library hands out: [`pieces_version`] and [`pieces_string_free`].

use std::ffi::{c_char, CString};

/// The crate version, NUL-terminated, as `pieces_version` returns it.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The version of the loaded library, such as `"0.1.0"` (semantic versioning).
///
/// Compare it with PIECES_OS_CLIENT_VERSION, the version of the header compiled against: within one
/// major version (and, before 1.0, one minor version) the ABI only grows.
///
/// # Ownership
/// A static string: never free it.
///
/// # Threads
/// Any thread, any time. Never fails, never NULL.
#[no_mangle]
pub extern "C" fn pieces_version() -> *const c_char {
    ffi_boundary! {
        VERSION.as_ptr().cast::<c_char>()
    }
}

/// Frees a string returned by this library through a `char **` out-parameter (message JSON, events).
///
/// # Ownership
/// Takes the string back; it must not be used afterwards. Only strings this library returned may be
/// passed, and each only once; never pass one to `free()`, and never pass pieces_version() or
/// pieces_last_error_json(), which the library keeps.
///
/// # NULL
/// NULL is accepted and does nothing.
///
/// # Threads
/// Any thread, not only the one that received the string.
///
/// # Safety
/// `s` is NULL or a string from this library's out-parameters that has not been freed yet.
#[no_mangle]
pub unsafe extern "C" fn pieces_string_free(s: *mut c_char) {
    ffi_boundary! {
        if s.is_null() {
            return;
        }
        // SAFETY: every string handed out through an out-parameter is `CString::into_raw` (see
        // `boundary::owned_c_string`), and the caller gives it back once.
        drop(unsafe { CString::from_raw(s) });
    }
}
