//! The configuration JSON of `pieces_client_new`, through `ClientConfig::from_json` and through the C
//! function itself: never a panic; a config that decodes encodes and decodes to itself; and the C
//! function says OK exactly when the Rust side accepts the config (else its last error is JSON).
#![no_main]

use std::ffi::{CStr, CString};
use std::ptr;

use libfuzzer_sys::fuzz_target;
use pieces_os_client::ffi::{pieces_client_free, pieces_client_new, pieces_last_error_json, pieces_status};
use pieces_os_client::{Client, ClientConfig};

fuzz_target!(|data: &[u8]| {
    // What a C caller can pass: the bytes up to the first NUL.
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let c_text = CString::new(&data[..end]).expect("no NUL before `end`");

    let rust = std::str::from_utf8(&data[..end]).ok().map(|text| {
        ClientConfig::from_json(text).map(|config| {
            let json = serde_json::to_string(&config).expect("a config encodes");
            let again = ClientConfig::from_json(&json).expect("an encoded config decodes");
            assert_eq!(again, config, "{json}");
            Client::new(config).is_ok()
        })
    });

    let mut client = ptr::null_mut();
    // SAFETY: a NUL-terminated string and a valid out-pointer.
    let status = unsafe { pieces_client_new(c_text.as_ptr(), &mut client) };
    let accepted = matches!(rust, Some(Ok(true)));
    if status == pieces_status::Ok {
        assert!(accepted, "C accepted what Rust refused: {rust:?}");
        assert!(!client.is_null());
        // SAFETY: a client pieces_client_new just made.
        unsafe { pieces_client_free(client) };
    } else {
        assert!(!accepted, "C refused ({status:?}) what Rust accepted");
        assert!(client.is_null(), "out was written on failure");
        // SAFETY: valid until the next call on this thread.
        let error = unsafe { CStr::from_ptr(pieces_last_error_json()) };
        serde_json::from_slice::<serde_json::Value>(error.to_bytes()).expect("the last error is JSON");
    }
});
