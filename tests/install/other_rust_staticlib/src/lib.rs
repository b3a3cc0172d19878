//! A small Rust static library with a C function that uses what every Rust library uses (the
//! allocator, formatting, collections, a thread, unwinding), so that it carries the same parts of the
//! standard library as libpieces_os_client.a.

use std::collections::HashMap;
use std::ffi::c_char;
use std::panic;
use std::thread;

/// Counts the words of a NUL-terminated string on another thread and returns how many distinct words
/// it has, or -1 for NULL, invalid UTF-8 or a panic.
///
/// # Safety
/// `text` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn other_rust_distinct_words(text: *const c_char) -> i64 {
    if text.is_null() {
        return -1;
    }
    // SAFETY: the caller passes a NUL-terminated string.
    let Ok(text) = unsafe { std::ffi::CStr::from_ptr(text) }.to_str() else {
        return -1;
    };
    let text = text.to_owned();
    let counted = panic::catch_unwind(move || {
        thread::spawn(move || {
            let mut counts: HashMap<String, usize> = HashMap::new();
            for word in text.split_whitespace() {
                *counts.entry(word.to_lowercase()).or_default() += 1;
            }
            counts.len() as i64
        })
        .join()
        .unwrap_or(-1)
    });
    counted.unwrap_or(-1)
}
