//! The C API: JSON text in and out, over opaque handles, with explicit status codes.
//!
//! Every item here is `extern "C"` or `#[repr]`-stable and is declared in `include/pieces_os_client.h`,
//! which `build.rs` generates from these sources with cbindgen (the doc comments become the header's).
//! One module per C object, as in rustls-ffi:
//!
//! | module | C objects |
//! |---|---|
//! | `boundary` | the panic boundary every exported body runs in; pointer and string checks |
//! | [`status`] | [`pieces_status`], the thread-local last error, [`pieces_last_error_json`] |
//! | [`strings`] | [`pieces_version`], [`pieces_string_free`] |
//! | [`client`] | [`pieces_client`], [`pieces_client_new`], [`pieces_client_free`], [`pieces_client_base_url`], [`pieces_client_check_version`] |
//! | [`messages`] | [`pieces_transferables`] and the six HTTP endpoints |
//! | `callback` | [`pieces_event_cb`], userdata and its finaliser, what subscriptions and mirrors share |
//! | [`subscription`] | [`pieces_subscription`]: subscribe / next / stop / free |
//! | [`mirror`] | [`pieces_mirror`]: new / next / get / list / stop / free |
//!
//! # Conventions
//!
//! * **Status.** Every function that can fail returns a [`pieces_status`]; `PIECES_STATUS_OK` (0) is
//!   success. The values are explicit and never renumbered; new ones are only ever added.
//! * **Last error.** Every call that returns a status other than `PIECES_STATUS_OK` also records a JSON
//!   object `{"kind", "message", …}` for the calling thread, read with [`pieces_last_error_json`]. A
//!   successful call does **not** clear it (as with `errno`): read it right after a failing status.
//! * **Outputs** are written only on success; on failure the out-parameter is left untouched.
//! * **NULL.** Every pointer parameter is checked; a NULL where one is needed is
//!   `PIECES_STATUS_NULL_PARAMETER`, and the last error names the parameter. Every `*_free` accepts NULL.
//! * **Strings** coming in must be NUL-terminated UTF-8 (else `PIECES_STATUS_INVALID_UTF8`); strings
//!   going out are NUL-terminated UTF-8, owned by the caller, and freed only with [`pieces_string_free`]
//!   (never with `free()`: the allocator may differ).
//! * **Integers, not enums, come in.** A [`pieces_transferables`] is a `uint32_t` checked against its
//!   constants; any other value is `PIECES_STATUS_INVALID_ARGUMENT`, never undefined behaviour.
//! * **Threads.** A [`pieces_client`] may be used from any number of threads at once. A
//!   [`pieces_subscription`] or [`pieces_mirror`] may be stopped from any thread, its own callback
//!   included; a mirror may be read from any thread.
//! * **Panics** never cross the boundary: each exported body runs inside `ffi_boundary!`, which turns a
//!   panic into `PIECES_STATUS_PANIC` (or NULL, or nothing, by return type), and each callback
//!   invocation runs inside `catch_unwind` as well. The callbacks themselves must not unwind (no C++
//!   exception, no `longjmp` out of them).

#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

#[macro_use]
mod boundary;
mod callback;
pub mod client;
pub mod messages;
pub mod mirror;
pub mod status;
pub mod strings;
pub mod subscription;

#[cfg(test)]
mod tests;

pub use client::{
    pieces_client, pieces_client_base_url, pieces_client_check_version, pieces_client_free, pieces_client_new,
};
pub use messages::{
    pieces_messages_create, pieces_messages_delete, pieces_messages_get, pieces_messages_search,
    pieces_messages_snapshot, pieces_messages_update, pieces_transferables, PIECES_TRANSFERABLES_DEFAULT,
    PIECES_TRANSFERABLES_EXCLUDE, PIECES_TRANSFERABLES_INCLUDE,
};
pub use mirror::{
    pieces_mirror, pieces_mirror_free, pieces_mirror_get, pieces_mirror_list, pieces_mirror_new,
    pieces_mirror_next, pieces_mirror_stop,
};
pub use status::{pieces_last_error_json, pieces_status};
pub use strings::{pieces_string_free, pieces_version};
pub use subscription::{
    pieces_event_cb, pieces_messages_subscribe, pieces_subscription, pieces_subscription_free,
    pieces_subscription_next, pieces_subscription_stop,
};
