//! The stand-in's HTTP request parser: request heads, Content-Length and chunked framing, bodies,
//! keep-alive and the target's percent-encoded path segments, fed one connection's bytes. Whatever the
//! bytes, it must return: no panic, no hang, no allocation far beyond the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let read = pieces_os_client::server::fuzz_read_requests(bytes);
    // Each request takes at least a request line and an empty line: "A / HTTP/1.1\n\n", 14 bytes
    // (httparse accepts bare line feeds).
    assert!(read <= bytes.len() / 14);
});
