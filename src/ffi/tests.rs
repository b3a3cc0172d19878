//! Tests of the C boundary that need no server: the panic-boundary audit, NULL and UTF-8 checks, the
//! last error, the transferables range, and userdata ownership when subscribe or mirror_new fails; and a
//! pull mirror read through its C functions against the in-process stand-in. The C, C++, Python
//! and LuaJIT programs of `tests/c_api.rs` test the rest from the outside.

use std::ffi::{c_char, c_void, CStr};
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use super::*;

/// The exported functions whose names are a contract with users (the README's C API section lists them);
/// they may gain siblings, never lose or rename one.
const CONTRACT: [&str; 13] = [
    "pieces_version",
    "pieces_client_new",
    "pieces_client_free",
    "pieces_messages_snapshot",
    "pieces_messages_create",
    "pieces_messages_delete",
    "pieces_messages_search",
    "pieces_messages_subscribe",
    "pieces_subscription_next",
    "pieces_subscription_stop",
    "pieces_subscription_free",
    "pieces_string_free",
    "pieces_last_error_json",
];

/// Functions beyond the contract: where the client found PiecesOS, and its version check.
const DISCOVERY: [&str; 2] = ["pieces_client_base_url", "pieces_client_check_version"];

/// The contract's additions for one message and the mirror (DESIGN.md, "Additions").
const MIRROR: [&str; 8] = [
    "pieces_messages_get",
    "pieces_messages_update",
    "pieces_mirror_new",
    "pieces_mirror_next",
    "pieces_mirror_get",
    "pieces_mirror_list",
    "pieces_mirror_stop",
    "pieces_mirror_free",
];

/// Every `extern "C" fn NAME(…) … {` definition of `source`, with whether its body starts with
/// `ffi_boundary!`. Function-pointer types (`extern "C" fn(`, no name) are not definitions.
fn exported_bodies(source: &str) -> Vec<(String, bool)> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("extern \"C\" fn ") {
        let after = &rest[at + "extern \"C\" fn ".len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        rest = after;
        if name.is_empty() {
            continue;
        }
        // The body opens at the first `{` after the parameter list's closing parenthesis.
        let mut depth = 0usize;
        let mut close = None;
        for (i, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let close = close.expect("an exported fn has a parameter list");
        let open = close + after[close..].find('{').expect("an exported fn has a body");
        let body = after[open + 1..].trim_start();
        found.push((name, body.starts_with("ffi_boundary!")));
    }
    found
}

#[test]
fn the_audit_finds_a_body_without_the_boundary() {
    let source = r#"
        pub type cb = Option<unsafe extern "C" fn(userdata: *mut c_void)>;
        #[no_mangle]
        pub extern "C" fn guarded(x: Option<extern "C" fn(u8)>) -> u32 {
            ffi_boundary! { 0 }
        }
        #[no_mangle]
        pub unsafe extern "C" fn unguarded(x: *const u8) -> pieces_status {
            let y = 1;
            ffi_boundary! { Ok(()) }
        }
    "#;
    assert_eq!(
        exported_bodies(source),
        [("guarded".to_owned(), true), ("unguarded".to_owned(), false)]
    );
}

#[test]
fn every_exported_body_starts_with_the_panic_boundary() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ffi");
    let mut exported = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("tests.rs") {
            let source = std::fs::read_to_string(&path).unwrap();
            for (name, guarded) in exported_bodies(&source) {
                assert!(
                    guarded,
                    "{name} in {} does not start with ffi_boundary!",
                    path.display()
                );
                assert!(
                    source.contains(&format!("#[no_mangle]\npub unsafe extern \"C\" fn {name}("))
                        || source.contains(&format!("#[no_mangle]\npub extern \"C\" fn {name}(")),
                    "{name} is not a #[no_mangle] pub fn"
                );
                exported.push(name);
            }
        }
    }
    exported.sort();
    let mut contract: Vec<String> = CONTRACT
        .iter()
        .chain(&DISCOVERY)
        .chain(&MIRROR)
        .map(|name| (*name).to_owned())
        .collect();
    contract.sort();
    assert_eq!(
        exported, contract,
        "the exported functions are the contract's, discovery's and the mirror's"
    );
}

#[test]
fn the_header_declares_the_whole_contract() {
    let header =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/pieces_os_client.h"))
            .unwrap();
    for name in CONTRACT.iter().chain(&DISCOVERY).chain(&MIRROR) {
        assert!(header.contains(&format!(" {name}(")), "{name} is not declared");
    }
    for name in [
        "typedef struct pieces_client pieces_client;",
        "typedef struct pieces_subscription pieces_subscription;",
        "typedef struct pieces_mirror pieces_mirror;",
        "PIECES_STATUS_NOT_FOUND = 18",
        "typedef uint32_t pieces_status;",
        "typedef uint32_t pieces_transferables;",
        "typedef void (*pieces_event_cb)(void *userdata, const char *event_json, size_t len);",
        "PIECES_STATUS_OK = 0,",
        "PIECES_STATUS_WEBSOCKET = 9,",
        "PIECES_STATUS_BODY_TOO_LARGE = 14,",
        "PIECES_STATUS_NOT_RUNNING = 15,",
        // The last enumerator: C89 allows no comma after it.
        "PIECES_STATUS_INCOMPATIBLE_VERSION = 16",
        "#define PIECES_TRANSFERABLES_EXCLUDE 2",
        "#ifdef __cplusplus",
        "extern \"C\" {",
        "#ifndef PIECES_OS_CLIENT_H",
        "GENERATED FILE",
    ] {
        assert!(header.contains(name), "the header lacks {name:?}");
    }
    let version = format!(
        "#define PIECES_OS_CLIENT_VERSION_MAJOR {}\n#define PIECES_OS_CLIENT_VERSION_MINOR {}\n\
         #define PIECES_OS_CLIENT_VERSION_PATCH {}\n#define PIECES_OS_CLIENT_VERSION \"{}\"",
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION"),
    );
    assert!(
        header.contains(&version),
        "the version macros are not Cargo.toml's"
    );
}

fn last_error() -> Value {
    let text = pieces_last_error_json();
    assert!(!text.is_null());
    // SAFETY: a NUL-terminated string the library keeps until the next call on this thread.
    serde_json::from_str(unsafe { CStr::from_ptr(text) }.to_str().unwrap()).unwrap()
}

fn c(text: &str) -> std::ffi::CString {
    std::ffi::CString::new(text).unwrap()
}

#[test]
fn version_is_the_crate_version() {
    // SAFETY: pieces_version returns a static NUL-terminated string.
    let version = unsafe { CStr::from_ptr(pieces_version()) };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn the_last_error_is_per_thread_and_kept_across_successes() {
    std::thread::spawn(|| {
        assert!(pieces_last_error_json().is_null());
        let mut client = ptr::null_mut();
        // SAFETY: a NULL config and a NULL out-parameter, both checked.
        let status = unsafe { pieces_client_new(ptr::null(), ptr::null_mut()) };
        assert_eq!(status, pieces_status::NullParameter);
        assert_eq!(last_error()["argument"], "out");
        // SAFETY: a NULL config and a place for the handle.
        let status = unsafe { pieces_client_new(ptr::null(), &mut client) };
        assert_eq!(status, pieces_status::Ok);
        assert_eq!(
            last_error()["kind"],
            "null_parameter",
            "a success does not clear it"
        );
        // SAFETY: a client from pieces_client_new, freed once; NULL is allowed.
        unsafe {
            pieces_client_free(client);
            pieces_client_free(ptr::null_mut());
            pieces_string_free(ptr::null_mut());
            pieces_subscription_free(ptr::null_mut());
        }
        std::thread::spawn(|| assert!(pieces_last_error_json().is_null()))
            .join()
            .unwrap();
    })
    .join()
    .unwrap();
}

#[test]
fn config_errors_name_the_problem() {
    let mut client = ptr::null_mut();
    let config = c(r#"{"base_url": "http://127.0.0.1:9", "bse_url": 1}"#);
    // SAFETY: a NUL-terminated config and a place for the handle.
    let status = unsafe { pieces_client_new(config.as_ptr(), &mut client) };
    assert_eq!(status, pieces_status::InvalidJson);
    assert!(client.is_null(), "the out-parameter is written only on success");
    let error = last_error();
    assert!(error["message"].as_str().unwrap().contains("bse_url"), "{error}");
    assert_eq!(error["line"], 1);

    let config = c(r#"{"base_url": "ftp://127.0.0.1:9"}"#);
    // SAFETY: as above.
    let status = unsafe { pieces_client_new(config.as_ptr(), &mut client) };
    assert_eq!(status, pieces_status::InvalidArgument);
    assert_eq!(last_error()["argument"], "base_url");

    let bad: &[u8] = b"{\"base_url\": \"http://127.0.0.1:9/\xff\"}\0";
    // SAFETY: a NUL-terminated byte string.
    let status = unsafe { pieces_client_new(bad.as_ptr().cast::<c_char>(), &mut client) };
    assert_eq!(status, pieces_status::InvalidUtf8);
    assert_eq!(last_error()["offset"], 33);
}

/// A client for a port nothing listens on (port 9, discard, is closed on loopback in test machines).
fn unreachable_client() -> *mut pieces_client {
    let mut client = ptr::null_mut();
    let config = c(r#"{"base_url": "http://127.0.0.1:9", "connect_timeout_ms": 2000,
                      "stream": {"max_attempts": 2, "retry_initial_ms": 10, "retry_max_ms": 20}}"#);
    // SAFETY: a NUL-terminated config and a place for the handle.
    let status = unsafe { pieces_client_new(config.as_ptr(), &mut client) };
    assert_eq!(status, pieces_status::Ok);
    client
}

#[test]
fn base_url_and_check_version_check_their_pointers() {
    let client = unreachable_client();
    let sentinel = ptr::dangling_mut::<c_char>();
    let mut out = sentinel;
    // SAFETY: every pointer is NULL, a live client or a place for a pointer; the strings returned are
    // freed once with pieces_string_free.
    unsafe {
        assert_eq!(
            pieces_client_base_url(ptr::null(), &mut out),
            pieces_status::NullParameter
        );
        assert_eq!(last_error()["argument"], "client");
        assert_eq!(
            pieces_client_base_url(client, ptr::null_mut()),
            pieces_status::NullParameter
        );
        assert_eq!(last_error()["argument"], "out");
        assert_eq!(
            pieces_client_check_version(ptr::null(), &mut out),
            pieces_status::NullParameter
        );
        assert_eq!(out, sentinel);

        // A URL that was given comes back as given, and is never scanned: nothing answers there, so
        // the check is a connection error, not "not running".
        assert_eq!(pieces_client_base_url(client, &mut out), pieces_status::Ok);
        assert_eq!(CStr::from_ptr(out).to_str().unwrap(), "http://127.0.0.1:9");
        pieces_string_free(out);
        out = sentinel;
        assert_eq!(
            pieces_client_check_version(client, &mut out),
            pieces_status::Connection
        );
        assert_eq!(out, sentinel);
        assert_eq!(
            pieces_client_check_version(client, ptr::null_mut()),
            pieces_status::Connection
        );
        pieces_client_free(client);
    }
}

#[test]
fn every_pointer_and_integer_is_checked_before_sending() {
    let client = unreachable_client();
    let mut out: *mut c_char = ptr::null_mut();
    let seed = c(r#"{"role": "USER", "conversation": {"id": "c"}, "fragment": {"string": {"raw": "x"}}}"#);
    let bad_utf8: &[u8] = b"{\"role\": \"\xc3\x28\"}\0";
    // SAFETY: every pointer is NULL, a live client, a NUL-terminated string or a place for a pointer.
    unsafe {
        assert_eq!(
            pieces_messages_snapshot(ptr::null(), 0, &mut out),
            pieces_status::NullParameter
        );
        assert_eq!(last_error()["argument"], "client");
        assert_eq!(
            pieces_messages_snapshot(client, 0, ptr::null_mut()),
            pieces_status::NullParameter
        );
        assert_eq!(last_error()["argument"], "out_json");
        assert_eq!(
            pieces_messages_snapshot(client, 3, &mut out),
            pieces_status::InvalidArgument
        );
        assert_eq!(last_error()["argument"], "transferables");
        assert_eq!(
            pieces_messages_create(client, ptr::null(), 0, &mut out),
            pieces_status::NullParameter
        );
        assert_eq!(last_error()["argument"], "seed_json");
        assert_eq!(
            pieces_messages_create(client, bad_utf8.as_ptr().cast(), 0, &mut out),
            pieces_status::InvalidUtf8
        );
        assert_eq!(
            pieces_messages_create(client, seed.as_ptr(), u32::MAX, &mut out),
            pieces_status::InvalidArgument
        );
        let broken = c("{\"role\": \"USER\",\n \"fragment\": 3}");
        assert_eq!(
            pieces_messages_create(client, broken.as_ptr(), 0, &mut out),
            pieces_status::InvalidJson
        );
        assert_eq!(last_error()["line"], 2);
        assert_eq!(
            pieces_messages_delete(client, ptr::null()),
            pieces_status::NullParameter
        );
        let empty = c("");
        assert_eq!(
            pieces_messages_delete(client, empty.as_ptr()),
            pieces_status::InvalidArgument
        );
        assert_eq!(
            pieces_messages_search(client, ptr::null(), 0, &mut out),
            pieces_status::NullParameter
        );
        let search = c(r#"{"engines": 3}"#);
        assert_eq!(
            pieces_messages_search(client, search.as_ptr(), 0, &mut out),
            pieces_status::InvalidJson
        );
        assert!(out.is_null(), "no output was written");
        // Checked input reaches the network and finds nothing there.
        assert_eq!(
            pieces_messages_create(client, seed.as_ptr(), 1, &mut out),
            pieces_status::Connection
        );
        assert_eq!(last_error()["kind"], "connection");
        assert_eq!(
            pieces_subscription_stop(ptr::null_mut()),
            pieces_status::NullParameter
        );
        assert_eq!(
            pieces_subscription_next(ptr::null_mut(), 0, &mut out),
            pieces_status::NullParameter
        );
        pieces_client_free(client);
    }
}

/// The `type` of every event a pull-mode `*_next` (called through `next`) hands out, until it answers
/// CLOSED (at most ten).
fn event_types_until_closed(mut next: impl FnMut(&mut *mut c_char) -> pieces_status) -> Vec<String> {
    let mut types = Vec::new();
    for _ in 0..10 {
        let mut event = ptr::null_mut();
        match next(&mut event) {
            pieces_status::Ok => {
                // SAFETY: a NUL-terminated string from the library, freed once right after.
                let text = unsafe { CStr::from_ptr(event) }.to_str().unwrap().to_owned();
                // SAFETY: as above.
                unsafe { pieces_string_free(event) };
                let json: Value = serde_json::from_str(&text).unwrap();
                types.push(json["type"].as_str().unwrap().to_owned());
            }
            pieces_status::Closed => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    types
}

static FREED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn count_free(userdata: *mut c_void) {
    assert_eq!(userdata as usize, 0x5eed);
    FREED.fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn ignore_event(_: *mut c_void, _: *const c_char, _: usize) {}

#[test]
fn subscribe_owns_the_userdata_even_when_it_fails() {
    let client = unreachable_client();
    let userdata = 0x5eed as *mut c_void;
    let before = FREED.load(Ordering::SeqCst);
    // SAFETY: NULL parameters are refused; the functions match their types.
    unsafe {
        assert_eq!(
            pieces_messages_subscribe(
                client,
                Some(ignore_event),
                userdata,
                Some(count_free),
                ptr::null_mut()
            ),
            pieces_status::NullParameter
        );
        assert_eq!(FREED.load(Ordering::SeqCst), before + 1, "freed before returning");
        assert_eq!(
            pieces_messages_subscribe(ptr::null(), None, userdata, Some(count_free), ptr::null_mut()),
            pieces_status::NullParameter
        );
        assert_eq!(FREED.load(Ordering::SeqCst), before + 2);

        // Pull mode against a closed port: two failed attempts, then the terminal error event, and the
        // userdata is released by the call that takes it.
        let mut subscription = ptr::null_mut();
        assert_eq!(
            pieces_messages_subscribe(client, None, userdata, Some(count_free), &mut subscription),
            pieces_status::Ok
        );
        let types = event_types_until_closed(|event| pieces_subscription_next(subscription, 10_000, event));
        assert_eq!(types, ["disconnected", "error"]);
        assert_eq!(last_error()["kind"], "closed");
        assert_eq!(FREED.load(Ordering::SeqCst), before + 3);
        let mut event = ptr::null_mut();
        assert_eq!(
            pieces_subscription_next(subscription, 0, &mut event),
            pieces_status::Closed
        );
        pieces_subscription_free(subscription);
        assert_eq!(FREED.load(Ordering::SeqCst), before + 3, "exactly once");
        pieces_client_free(client);
    }
}

/// A stop that lands while a connection is being made ends with `closed`, even on the last attempt
/// `stream.max_attempts` allows: a stop is never reported as giving up.
#[test]
fn a_stop_during_the_last_connection_attempt_is_closed_not_error() {
    use crate::server::{FaultConfig, Server, ServerConfig};
    let server = Server::start(ServerConfig::default().with_faults(FaultConfig {
        delay: std::time::Duration::from_millis(1500),
        ..FaultConfig::default()
    }))
    .unwrap();
    let config = c(&format!(
        r#"{{"base_url": "{}", "stream": {{"max_attempts": 1}}}}"#,
        server.url()
    ));
    let mut client = ptr::null_mut();
    let mut subscription = ptr::null_mut();
    let mut types = Vec::new();
    // SAFETY: valid arguments throughout; every handle is freed once.
    unsafe {
        assert_eq!(pieces_client_new(config.as_ptr(), &mut client), pieces_status::Ok);
        assert_eq!(
            pieces_messages_subscribe(client, None, ptr::null_mut(), None, &mut subscription),
            pieces_status::Ok
        );
        // The upgrade is answered only after 1.5 s: stop while the handshake waits for it.
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(pieces_subscription_stop(subscription), pieces_status::Ok);
        for _ in 0..10 {
            let mut event = ptr::null_mut();
            match pieces_subscription_next(subscription, 5_000, &mut event) {
                pieces_status::Ok => {
                    let json: Value = serde_json::from_str(CStr::from_ptr(event).to_str().unwrap()).unwrap();
                    pieces_string_free(event);
                    types.push(json["type"].as_str().unwrap().to_owned());
                }
                _ => break,
            }
        }
        pieces_subscription_free(subscription);
        pieces_client_free(client);
    }
    server.stop();
    assert_eq!(types, ["closed"]);
}

/// Counts the userdata finalisers of the mirror tests (apart from the subscription's, which run at the same
/// time).
static MIRROR_FREED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn count_mirror_free(userdata: *mut c_void) {
    assert_eq!(userdata as usize, 0x5eed);
    MIRROR_FREED.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn one_message_and_mirror_functions_check_their_pointers_and_inputs() {
    let client = unreachable_client();
    let mut out: *mut c_char = ptr::null_mut();
    let id = c("m1");
    let empty = c("");
    // SAFETY: every pointer is NULL, a live handle, a NUL-terminated string or a place for a pointer.
    unsafe {
        assert_eq!(
            pieces_messages_get(client, ptr::null(), 0, &mut out),
            pieces_status::NullParameter
        );
        assert_eq!(last_error()["argument"], "message_id");
        assert_eq!(
            pieces_messages_get(client, empty.as_ptr(), 0, &mut out),
            pieces_status::InvalidArgument
        );
        assert_eq!(
            pieces_messages_get(client, id.as_ptr(), 7, &mut out),
            pieces_status::InvalidArgument
        );
        assert_eq!(
            pieces_messages_get(client, id.as_ptr(), 0, ptr::null_mut()),
            pieces_status::NullParameter
        );
        assert_eq!(
            pieces_messages_update(client, ptr::null(), 0, &mut out),
            pieces_status::NullParameter
        );
        assert_eq!(last_error()["argument"], "message_json");
        let partial = c(r#"{"id": "m1", "role": "USER"}"#);
        assert_eq!(
            pieces_messages_update(client, partial.as_ptr(), 0, &mut out),
            pieces_status::InvalidJson
        );
        assert_eq!(last_error()["argument"], "message");
        assert!(out.is_null(), "no output was written");

        assert_eq!(pieces_mirror_stop(ptr::null_mut()), pieces_status::NullParameter);
        assert_eq!(
            pieces_mirror_next(ptr::null_mut(), 0, &mut out),
            pieces_status::NullParameter
        );
        assert_eq!(
            pieces_mirror_get(ptr::null(), id.as_ptr(), &mut out),
            pieces_status::NullParameter
        );
        assert_eq!(
            pieces_mirror_list(ptr::null(), ptr::null(), &mut out),
            pieces_status::NullParameter
        );
        assert_eq!(last_error()["argument"], "m");
        pieces_mirror_free(ptr::null_mut());

        // The userdata is the mirror's from the call on: freed before a failing call returns.
        let userdata = 0x5eed as *mut c_void;
        let before = MIRROR_FREED.load(Ordering::SeqCst);
        let mut mirror = ptr::null_mut();
        let unknown_key = c(r#"{"transferable": true}"#);
        assert_eq!(
            pieces_mirror_new(
                client,
                unknown_key.as_ptr(),
                Some(ignore_event),
                userdata,
                Some(count_mirror_free),
                &mut mirror
            ),
            pieces_status::InvalidJson
        );
        assert_eq!(last_error()["argument"], "options");
        assert_eq!(MIRROR_FREED.load(Ordering::SeqCst), before + 1);
        let out_of_range = c(r#"{"stale_after": 0}"#);
        assert_eq!(
            pieces_mirror_new(
                client,
                out_of_range.as_ptr(),
                None,
                userdata,
                Some(count_mirror_free),
                &mut mirror
            ),
            pieces_status::InvalidArgument
        );
        assert_eq!(last_error()["argument"], "options.stale_after");
        assert_eq!(MIRROR_FREED.load(Ordering::SeqCst), before + 2);
        assert_eq!(
            pieces_mirror_new(
                client,
                ptr::null(),
                None,
                userdata,
                Some(count_mirror_free),
                ptr::null_mut()
            ),
            pieces_status::NullParameter
        );
        assert_eq!(MIRROR_FREED.load(Ordering::SeqCst), before + 3);
        assert!(mirror.is_null());

        // Against a closed port: the stream gives up after its two attempts; the pull call that takes
        // the terminal event frees the userdata; the (empty) mirror stays readable until the free.
        assert_eq!(
            pieces_mirror_new(
                client,
                ptr::null(),
                None,
                userdata,
                Some(count_mirror_free),
                &mut mirror
            ),
            pieces_status::Ok
        );
        let types = event_types_until_closed(|event| pieces_mirror_next(mirror, 10_000, event));
        assert_eq!(types, ["disconnected", "error"]);
        assert_eq!(MIRROR_FREED.load(Ordering::SeqCst), before + 4);
        assert_eq!(
            pieces_mirror_get(mirror, id.as_ptr(), &mut out),
            pieces_status::NotFound
        );
        assert_eq!(last_error()["kind"], "not_found");
        assert_eq!(last_error()["id"], "m1");
        assert_eq!(
            pieces_mirror_list(mirror, ptr::null(), &mut out),
            pieces_status::Ok
        );
        assert_eq!(CStr::from_ptr(out).to_str().unwrap(), "[]");
        pieces_string_free(out);
        pieces_mirror_free(mirror);
        assert_eq!(MIRROR_FREED.load(Ordering::SeqCst), before + 4, "exactly once");
        pieces_client_free(client);
    }
}

#[test]
fn a_pull_mirror_hands_out_the_servers_json_through_get_and_list() {
    use crate::server::{Server, ServerConfig};
    let server = Server::start(ServerConfig::default().with_seed_messages(3)).unwrap();
    let config = c(&format!(r#"{{"base_url": "{}"}}"#, server.url()));
    let mut client = ptr::null_mut();
    let mut mirror = ptr::null_mut();
    let mut out: *mut c_char = ptr::null_mut();
    // SAFETY: valid arguments throughout; every handle and string is freed once.
    unsafe {
        assert_eq!(pieces_client_new(config.as_ptr(), &mut client), pieces_status::Ok);
        let options = c(r#"{"announce_initial": false}"#);
        assert_eq!(
            pieces_mirror_new(client, options.as_ptr(), None, ptr::null_mut(), None, &mut mirror),
            pieces_status::Ok
        );
        assert_eq!(pieces_mirror_next(mirror, 10_000, &mut out), pieces_status::Ok);
        assert_eq!(
            CStr::from_ptr(out).to_str().unwrap(),
            r#"{"type":"synced","count":3}"#
        );
        pieces_string_free(out);
        let ids = server.message_ids();
        let id = c(&ids[1]);
        assert_eq!(
            pieces_mirror_get(mirror, id.as_ptr(), &mut out),
            pieces_status::Ok
        );
        let text = CStr::from_ptr(out).to_str().unwrap().to_owned();
        pieces_string_free(out);
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            server.message(&ids[1]).unwrap()
        );
        // The same bytes the endpoint hands out.
        assert_eq!(
            pieces_messages_get(client, id.as_ptr(), 0, &mut out),
            pieces_status::Ok
        );
        assert_eq!(CStr::from_ptr(out).to_str().unwrap(), text);
        pieces_string_free(out);

        assert_eq!(
            pieces_mirror_list(mirror, ptr::null(), &mut out),
            pieces_status::Ok
        );
        let all: Value = serde_json::from_str(CStr::from_ptr(out).to_str().unwrap()).unwrap();
        pieces_string_free(out);
        assert_eq!(all.as_array().unwrap().len(), 3);
        let conversation = all[0]["conversation"]["id"].as_str().unwrap().to_owned();
        let wanted = c(&conversation);
        assert_eq!(
            pieces_mirror_list(mirror, wanted.as_ptr(), &mut out),
            pieces_status::Ok
        );
        let listed: Value = serde_json::from_str(CStr::from_ptr(out).to_str().unwrap()).unwrap();
        pieces_string_free(out);
        assert!(listed
            .as_array()
            .unwrap()
            .iter()
            .all(|message| message["conversation"]["id"] == conversation.as_str()));
        let nobody = c("no such conversation");
        assert_eq!(
            pieces_mirror_list(mirror, nobody.as_ptr(), &mut out),
            pieces_status::Ok
        );
        assert_eq!(CStr::from_ptr(out).to_str().unwrap(), "[]");
        pieces_string_free(out);

        // PiecesOS's 410 is NOT_FOUND, with its status, body and the id.
        assert!(server.delete_message(&ids[1]));
        assert_eq!(
            pieces_messages_get(client, id.as_ptr(), 0, &mut out),
            pieces_status::NotFound
        );
        let error = last_error();
        assert_eq!(error["kind"], "not_found");
        assert_eq!(error["status"], 410);
        assert_eq!(error["id"], ids[1].as_str());
        assert!(error["body"].as_str().unwrap().contains(&ids[1]));
        assert_eq!(pieces_mirror_next(mirror, 10_000, &mut out), pieces_status::Ok);
        let removed: Value = serde_json::from_str(CStr::from_ptr(out).to_str().unwrap()).unwrap();
        pieces_string_free(out);
        assert_eq!(removed, serde_json::json!({"type": "removed", "id": ids[1]}));
        assert_eq!(
            pieces_mirror_get(mirror, id.as_ptr(), &mut out),
            pieces_status::NotFound
        );

        assert_eq!(pieces_mirror_stop(mirror), pieces_status::Ok);
        assert_eq!(pieces_mirror_next(mirror, 10_000, &mut out), pieces_status::Ok);
        assert_eq!(CStr::from_ptr(out).to_str().unwrap(), r#"{"type":"closed"}"#);
        pieces_string_free(out);
        assert_eq!(pieces_mirror_next(mirror, 0, &mut out), pieces_status::Closed);
        pieces_mirror_free(mirror);
        pieces_client_free(client);
    }
    server.stop();
}
