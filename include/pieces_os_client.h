/*
 * pieces_os_client.h: the C API of pieces-os-client, a blocking client for the PiecesOS
 * conversation-messages API. Link with -lpieces_os_client.
 *
 * GENERATED FILE: build.rs makes it with cbindgen from the modules of src/ffi/ (the doc comments there are the
 * text below). Do not edit it by hand; change the Rust source and rebuild. CI fails when the committed
 * copy differs from what the build generates.
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */

#ifndef PIECES_OS_CLIENT_H
#define PIECES_OS_CLIENT_H

/* Generated with cbindgen:0.29.4 */

#include <stddef.h>
#include <stdint.h>

/** The version of this header, equal to the crate version (Cargo.toml). Compare it with
 * pieces_version(), the version of the library actually loaded. */
#define PIECES_OS_CLIENT_VERSION_MAJOR 0
#define PIECES_OS_CLIENT_VERSION_MINOR 1
#define PIECES_OS_CLIENT_VERSION_PATCH 0
#define PIECES_OS_CLIENT_VERSION "0.1.0"


/**
 * The outcome of a call. Values are explicit and never renumbered; later releases only add values, so
 * treat an unknown value as a failure and read pieces_last_error_json().
 *
 * In C this is a `uint32_t` with the `PIECES_STATUS_*` constants below.
 */
enum pieces_status
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif /* defined(__cplusplus) || __STDC_VERSION__ >= 202311L */
 {
    /**
     * Success; out-parameters have been written.
     */
    PIECES_STATUS_OK = 0,
    /**
     * A pointer parameter that must not be NULL was NULL; the last error names it.
     */
    PIECES_STATUS_NULL_PARAMETER = 1,
    /**
     * A string parameter is not valid UTF-8; the last error names it and the byte offset.
     */
    PIECES_STATUS_INVALID_UTF8 = 2,
    /**
     * A JSON parameter (config, seed, search input, message, mirror options) is not valid JSON or not
     * its model; nothing was sent. The last error has the message, `line` and `column`.
     */
    PIECES_STATUS_INVALID_JSON = 3,
    /**
     * A parameter was refused before anything was sent (a bad base URL, an empty message id, a
     * `pieces_transferables` out of range, a call that does not fit the subscription's or mirror's
     * mode, mirror options out of range, …).
     */
    PIECES_STATUS_INVALID_ARGUMENT = 4,
    /**
     * PiecesOS could not be reached, or the connection broke during the request.
     */
    PIECES_STATUS_CONNECTION = 5,
    /**
     * PiecesOS did not answer in time.
     */
    PIECES_STATUS_TIMEOUT = 6,
    /**
     * PiecesOS answered with an HTTP error status; the last error has `status` and `body`.
     */
    PIECES_STATUS_HTTP_STATUS = 7,
    /**
     * PiecesOS answered with a body that is not the endpoint's model.
     */
    PIECES_STATUS_DECODE = 8,
    /**
     * The WebSocket stream failed.
     */
    PIECES_STATUS_WEBSOCKET = 9,
    /**
     * pieces_subscription_next(), pieces_mirror_next(): no event arrived within the timeout. Not a
     * failure of the subscription or mirror; call again.
     */
    PIECES_STATUS_NO_EVENT = 10,
    /**
     * pieces_subscription_next(), pieces_mirror_next(): the terminal event has already been taken; no
     * event will follow.
     */
    PIECES_STATUS_CLOSED = 11,
    /**
     * The call is not allowed from inside the callback of the subscription or mirror it is given.
     */
    PIECES_STATUS_IN_CALLBACK = 12,
    /**
     * A panic (a bug in this library) was caught at the C boundary. The process is still sound, but
     * the handle's state may be partial: free it.
     */
    PIECES_STATUS_PANIC = 13,
    /**
     * A response body was larger than the configured `max_body_bytes`.
     */
    PIECES_STATUS_BODY_TOO_LARGE = 14,
    /**
     * PiecesOS is not running: the client has no `base_url` (nor `PIECES_OS_URL`), and no port of the
     * scanned range answered its health check. The last error's `scanned` names the range
     * (`"39300-39399"`). A client given a URL reports PIECES_STATUS_CONNECTION instead.
     */
    PIECES_STATUS_NOT_RUNNING = 15,
    /**
     * PiecesOS runs a version outside the client's `compatible_versions`. The last error has `found`
     * (what PiecesOS reported), `required` (`">=12.0.0, <13.0.0"`) and `update` (`"pieces-os"`: PiecesOS
     * is too old; `"client"`: this library is too old), and its message says the same.
     */
    PIECES_STATUS_INCOMPATIBLE_VERSION = 16,
    /**
     * The library could not do its own part of the work (the system refused it a thread, or it could
     * not write a value as JSON text); nothing about the arguments or the server was wrong. The last
     * error's `message` says what failed.
     */
    PIECES_STATUS_INTERNAL = 17,
    /**
     * There is no such message: PiecesOS answered HTTP 410 for its id (pieces_messages_get(); the last
     * error has `status` 410, `body` and `id`), or a mirror does not hold it (pieces_mirror_get()).
     */
    PIECES_STATUS_NOT_FOUND = 18
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum pieces_status pieces_status;
#else
typedef uint32_t pieces_status;
#endif /* __STDC_VERSION__ >= 202311L */
#endif /* __cplusplus */

/**
 * A client for one PiecesOS: its base URL, application id, timeouts and a pool of kept-alive
 * connections. Opaque; made by pieces_client_new(), released by pieces_client_free().
 *
 * Thread-safe: one client may be used by any number of threads at once, and calls on it do not
 * serialise each other (each waits only for its own request).
 */
typedef struct pieces_client pieces_client;

/**
 * A running mirror: a local copy of every conversation message, kept current on a thread of its own.
 * Opaque; made by pieces_mirror_new(), released by pieces_mirror_free().
 *
 * pieces_mirror_get(), pieces_mirror_list() and pieces_mirror_stop() may be called from any thread at
 * any time before the free (from the mirror's own callback too); pieces_mirror_next() (pull mode) from
 * any thread, also while another thread stops it.
 */
typedef struct pieces_mirror pieces_mirror;

/**
 * A running subscription to the stream of message-identifier changes. Opaque; made by
 * pieces_messages_subscribe(), released by pieces_subscription_free().
 *
 * pieces_subscription_stop() may be called from any thread at any time before the free;
 * pieces_subscription_next() (pull mode) from any thread, also while another thread stops it.
 */
typedef struct pieces_subscription pieces_subscription;

/**
 * Whether PiecesOS includes heavy content (such as a fragment's text) in what it answers: one of the
 * `PIECES_TRANSFERABLES_*` constants. An integer, checked on every call: any other value is
 * PIECES_STATUS_INVALID_ARGUMENT.
 */
typedef uint32_t pieces_transferables;

/**
 * Receives the events of a callback-mode subscription or mirror.
 *
 * `event_json` is one event as NUL-terminated JSON text of `len` bytes (the NUL not counted). It
 * belongs to the library and is valid only during the call: copy what you need. `userdata` is the
 * pointer given to pieces_messages_subscribe() or pieces_mirror_new().
 *
 * The callback runs on the handle's own thread, one event at a time, never while the library holds a
 * lock. It may call any function of this API, including the stop and free functions of its own handle
 * (see there), and blocking ones such as pieces_messages_snapshot() (the handle reads no further while
 * it waits). It must not unwind (no C++ exception, no `longjmp` out of it).
 */
typedef void (*pieces_event_cb)(void *userdata, const char *event_json, size_t len);

/**
 * Leave the `transferables` query parameter out, as the official SDKs do when it is unset (PiecesOS
 * then includes the content).
 */
#define PIECES_TRANSFERABLES_DEFAULT 0

/**
 * `transferables=true`: include the content.
 */
#define PIECES_TRANSFERABLES_INCLUDE 1

/**
 * `transferables=false`: leave the content out (ids, timestamps and the rest stay).
 */
#define PIECES_TRANSFERABLES_EXCLUDE 2

#ifdef __cplusplus
extern "C" {
#endif /* __cplusplus */

/**
 * Makes a client from a JSON configuration.
 *
 * `config_json` is the JSON form of `ClientConfig`: an object whose keys are all optional —
 * `base_url` (default: the `PIECES_OS_URL` environment variable, else discovery: see below),
 * `application_id` (sent as the API key; default none), `api_key_header` (`"X-Application-ID"`),
 * `connect_timeout_ms` (2000), `request_timeout_ms` (60000; `null`: none), `max_body_bytes` (1 GiB),
 * `user_agent`, `stream`: {`retry_initial_ms`, `retry_max_ms`, `max_attempts` (`null`: retry
 * forever), `ping_interval_ms`, `idle_timeout_ms`, `queue_capacity`}, `discovery`: {`ports`
 * (`"START-END"`; `null`: the `PIECES_OS_PORTS` environment variable, else `"39300-39399"`),
 * `connect_timeout_ms` (50), `answer_timeout_ms` (500), `use_environment` (`true`; `false` ignores
 * `PIECES_OS_URL` and `PIECES_OS_PORTS`)}, and `compatible_versions`: {`at_least` (`"12.0.0"`),
 * `below` (`"13.0.0"`)}. Unknown keys are refused. Nothing is sent: the first request connects.
 *
 * Without `base_url` (and `PIECES_OS_URL`), the client finds PiecesOS itself: at its first request it
 * scans the `discovery` ports of 127.0.0.1 and takes the lowest one whose `GET /.well-known/health`
 * answers 200. The URL found is kept, and found again when PiecesOS stops answering there (it may
 * restart on another port); subscriptions look again before each reconnection. Finding nothing is
 * PIECES_STATUS_NOT_RUNNING. See pieces_client_base_url().
 *
 * # Ownership
 * On success `*out` receives a new client, which the caller frees with pieces_client_free().
 * `config_json` is only read during the call.
 *
 * # NULL
 * `config_json` may be NULL: every setting takes its default. `out` must not be NULL.
 *
 * # Threads
 * Any thread.
 *
 * # Errors
 * PIECES_STATUS_NULL_PARAMETER (`out`), PIECES_STATUS_INVALID_UTF8, PIECES_STATUS_INVALID_JSON (not
 * JSON, a wrong type, an unknown key: the last error has `message`, `line`, `column`),
 * PIECES_STATUS_INVALID_ARGUMENT (a value refused, such as a base URL that is not http(s)://, a header
 * value with CR/LF, a zero timeout: the last error's `argument` names it).
 *
 * # Safety
 * `config_json` is NULL or a NUL-terminated string; `out` is NULL or valid for writing a pointer.
 */
pieces_status pieces_client_new(const char *config_json, pieces_client **out);

/**
 * Frees a client.
 *
 * Subscriptions made from it keep working until they are freed themselves (they share the client's
 * settings, not its handle).
 *
 * # Ownership
 * Takes the client back; it must not be used afterwards, and no other call on it may still be running.
 *
 * # NULL
 * NULL is accepted and does nothing.
 *
 * # Threads
 * Any thread, inside a subscription callback too.
 *
 * # Safety
 * `client` is NULL or a client from pieces_client_new() that has not been freed yet.
 */
void pieces_client_free(pieces_client *client);

/**
 * The base URL the client's requests go to, without a trailing slash: `base_url` of the configuration,
 * else `PIECES_OS_URL`, else the PiecesOS found by discovery (for example `"http://127.0.0.1:39300"`).
 *
 * A client that discovers PiecesOS and has not found it yet scans now (a few milliseconds when nothing
 * listens; see pieces_client_new()), so this call also answers "is PiecesOS running?". The URL found is
 * kept for later requests.
 *
 * # Ownership
 * On success `*out` receives a new string, which the caller frees with pieces_string_free().
 *
 * # NULL
 * `client` and `out` must not be NULL.
 *
 * # Threads
 * Any thread, inside a subscription callback too. Calls that need the URL while a scan runs wait for
 * that scan rather than start their own.
 *
 * # Errors
 * PIECES_STATUS_NULL_PARAMETER, PIECES_STATUS_NOT_RUNNING (discovery found nothing; the last error's
 * `scanned` names the ports, e.g. `"39300-39399"`).
 *
 * # Safety
 * `client` is NULL or a live client from pieces_client_new(); `out` is NULL or valid for writing a
 * pointer.
 */
pieces_status pieces_client_base_url(const pieces_client *client, char **out);

/**
 * Asks PiecesOS for its version (`GET /.well-known/version`) and checks it against the client's
 * `compatible_versions` (by default 12.0.0 or later, below 13.0.0, as the official plugins accept).
 * `debug`, the answer of a development build, always passes; a suffix such as `-beta` is ignored.
 * Call it once after making the client, before relying on PiecesOS.
 *
 * # Ownership
 * On success, when `out_version` is not NULL, `*out_version` receives the version as PiecesOS reported
 * it (white space trimmed, e.g. `"12.1.0"`), which the caller frees with pieces_string_free().
 *
 * # NULL
 * `client` must not be NULL. `out_version` may be NULL: then the version is only checked.
 *
 * # Threads
 * Any thread, inside a subscription callback too.
 *
 * # Errors
 * PIECES_STATUS_NULL_PARAMETER (`client`), PIECES_STATUS_INCOMPATIBLE_VERSION (the last error has
 * `found`, `required`, and `update`: `"pieces-os"` when PiecesOS is too old, `"client"` when this
 * library is; its `message` says which to update), PIECES_STATUS_NOT_RUNNING (discovery found nothing),
 * PIECES_STATUS_CONNECTION, PIECES_STATUS_TIMEOUT, PIECES_STATUS_HTTP_STATUS, PIECES_STATUS_DECODE
 * (the answer is not a version).
 *
 * # Safety
 * `client` is NULL or a live client from pieces_client_new(); `out_version` is NULL or valid for
 * writing a pointer.
 */
pieces_status pieces_client_check_version(const pieces_client *client, char **out_version);

/**
 * `messages_snapshot` (`GET /messages`): every conversation message, as the server's JSON text (a
 * `ConversationMessages`: `{"iterable": [...], "indices": {...}}`), checked against the model but not
 * re-encoded.
 *
 * # Ownership
 * On success `*out_json` receives a new string; free it with pieces_string_free().
 *
 * # NULL
 * `client` and `out_json` must not be NULL.
 *
 * # Threads
 * Any thread; blocks it until the answer arrived or a timeout ran out.
 *
 * # Errors
 * PIECES_STATUS_NULL_PARAMETER, PIECES_STATUS_INVALID_ARGUMENT (`transferables` out of range),
 * PIECES_STATUS_CONNECTION, PIECES_STATUS_TIMEOUT, PIECES_STATUS_HTTP_STATUS (the last error has
 * `status` and `body`), PIECES_STATUS_DECODE, PIECES_STATUS_BODY_TOO_LARGE.
 *
 * # Safety
 * `client` is NULL or a live client; `out_json` is NULL or valid for writing a pointer.
 */
pieces_status pieces_messages_snapshot(const pieces_client *client,
                                       pieces_transferables transferables,
                                       char **out_json);

/**
 * `messages_create_specific_message` (`POST /messages/create`): creates a message from a
 * `SeededConversationMessage` given as JSON text (for example
 * `{"role": "USER", "conversation": {"id": "..."}, "fragment": {"string": {"raw": "text"}}}`), and
 * returns the stored `ConversationMessage` as the server's JSON text.
 *
 * The seed is checked against its model before anything is sent, then sent unchanged (keys this
 * library does not know are kept). PiecesOS refuses a seed without a `conversation` (HTTP 500).
 *
 * # Ownership
 * `seed_json` is only read during the call. On success `*out_json` receives a new string; free it with
 * pieces_string_free().
 *
 * # NULL
 * No parameter may be NULL.
 *
 * # Threads
 * Any thread; blocks it until the answer arrived or a timeout ran out.
 *
 * # Errors
 * PIECES_STATUS_NULL_PARAMETER, PIECES_STATUS_INVALID_UTF8, PIECES_STATUS_INVALID_JSON (the last
 * error has `message`, `line`, `column`; nothing was sent), PIECES_STATUS_INVALID_ARGUMENT,
 * PIECES_STATUS_CONNECTION, PIECES_STATUS_TIMEOUT, PIECES_STATUS_HTTP_STATUS, PIECES_STATUS_DECODE,
 * PIECES_STATUS_BODY_TOO_LARGE.
 *
 * # Safety
 * `client` is NULL or a live client; `seed_json` is NULL or NUL-terminated; `out_json` is NULL or
 * valid for writing a pointer.
 */
pieces_status pieces_messages_create(const pieces_client *client,
                                     const char *seed_json,
                                     pieces_transferables transferables,
                                     char **out_json);

/**
 * `messages_delete_specific_message` (`POST /messages/{message}/delete`): deletes a message.
 *
 * The id is percent-encoded as one path segment, so no id can reach another path.
 *
 * # Ownership
 * `message_id` is only read during the call.
 *
 * # NULL
 * No parameter may be NULL.
 *
 * # Threads
 * Any thread; blocks it until the answer arrived or a timeout ran out.
 *
 * # Errors
 * PIECES_STATUS_NULL_PARAMETER, PIECES_STATUS_INVALID_UTF8, PIECES_STATUS_INVALID_ARGUMENT (an empty
 * id), PIECES_STATUS_CONNECTION, PIECES_STATUS_TIMEOUT, PIECES_STATUS_HTTP_STATUS (PiecesOS answers
 * 500 for an id it does not know; the last error has `status` and `body`).
 *
 * # Safety
 * `client` is NULL or a live client; `message_id` is NULL or NUL-terminated.
 */
pieces_status pieces_messages_delete(const pieces_client *client, const char *message_id);

/**
 * `search_messages` (`POST /messages/search`): searches the messages' text with a `SearchInput` given
 * as JSON text (for example `{"engines": {"iterable": [{"query": "lifetime"}]}}`), and returns the
 * `SearchedConversationMessages` as the server's JSON text.
 *
 * The input is checked against its model before anything is sent, then sent unchanged.
 *
 * # Ownership
 * `search_input_json` is only read during the call. On success `*out_json` receives a new string; free
 * it with pieces_string_free().
 *
 * # NULL
 * No parameter may be NULL.
 *
 * # Threads
 * Any thread; blocks it until the answer arrived or a timeout ran out.
 *
 * # Errors
 * As pieces_messages_create().
 *
 * # Safety
 * `client` is NULL or a live client; `search_input_json` is NULL or NUL-terminated; `out_json` is
 * NULL or valid for writing a pointer.
 */
pieces_status pieces_messages_search(const pieces_client *client,
                                     const char *search_input_json,
                                     pieces_transferables transferables,
                                     char **out_json);

/**
 * `message_specific_message_snapshot` (`GET /message/{message}`): one message, as the server's JSON
 * text (a `ConversationMessage`), checked against the model but not re-encoded.
 *
 * The id is percent-encoded as one path segment, so no id can reach another path.
 *
 * # Ownership
 * `message_id` is only read during the call. On success `*out_json` receives a new string; free it
 * with pieces_string_free().
 *
 * # NULL
 * No parameter may be NULL.
 *
 * # Threads
 * Any thread; blocks it until the answer arrived or a timeout ran out.
 *
 * # Errors
 * PIECES_STATUS_NOT_FOUND: PiecesOS holds no message with this id (it answered HTTP 410; the last
 * error has `status`, `body` and `id`). PIECES_STATUS_NULL_PARAMETER, PIECES_STATUS_INVALID_UTF8,
 * PIECES_STATUS_INVALID_ARGUMENT (an empty id, `transferables` out of range),
 * PIECES_STATUS_CONNECTION, PIECES_STATUS_TIMEOUT, PIECES_STATUS_HTTP_STATUS, PIECES_STATUS_DECODE,
 * PIECES_STATUS_BODY_TOO_LARGE.
 *
 * # Safety
 * `client` is NULL or a live client; `message_id` is NULL or NUL-terminated; `out_json` is NULL or
 * valid for writing a pointer.
 */
pieces_status pieces_messages_get(const pieces_client *client,
                                  const char *message_id,
                                  pieces_transferables transferables,
                                  char **out_json);

/**
 * `message_specific_message_update` (`POST /message/update`): sends a whole `ConversationMessage`
 * given as JSON text (PiecesOS finds the message by its `id`) and returns the message as stored, as
 * the server's JSON text.
 *
 * The message is checked against its model before anything is sent, then sent unchanged, so every key
 * of it is kept, those this library does not know included: a message fetched, changed in one field
 * and sent back keeps all the others. Send a message fetched with its content (transferables DEFAULT
 * or INCLUDE): PiecesOS stores what it is sent.
 *
 * # Ownership
 * `message_json` is only read during the call. On success `*out_json` receives a new string; free it
 * with pieces_string_free().
 *
 * # NULL
 * No parameter may be NULL.
 *
 * # Threads
 * Any thread; blocks it until the answer arrived or a timeout ran out.
 *
 * # Errors
 * As pieces_messages_create(); PiecesOS answers an id it does not know with HTTP 500
 * (PIECES_STATUS_HTTP_STATUS).
 *
 * # Safety
 * `client` is NULL or a live client; `message_json` is NULL or NUL-terminated; `out_json` is NULL or
 * valid for writing a pointer.
 */
pieces_status pieces_messages_update(const pieces_client *client,
                                     const char *message_json,
                                     pieces_transferables transferables,
                                     char **out_json);

/**
 * Starts a mirror: a local copy of every conversation message that a thread of its own keeps current,
 * from the identifier stream and the endpoints `GET /messages` and `GET /message/{message}`.
 *
 * On every connection and reconnection of the stream the mirror takes one snapshot and makes itself
 * equal to it; between them it fetches each changed message by id (several changes of one message
 * before its fetch: one fetch; more changes waiting than a snapshot costs: one snapshot), removes
 * deleted ones, and retries what failed with backoff. It tells what changed with JSON events, `type`
 * first, always in this order of meaning:
 * - `{"type":"added","message":{…}}`, `{"type":"updated","message":{…}}`: the message (its new
 *   version) as the server's JSON text, byte for byte; `{"type":"removed","id":"…"}`;
 * - `{"type":"synced","count":N}` after each snapshot has been reconciled (the `added`, `updated` and
 *   `removed` events it caused come before it), with how many messages the mirror holds;
 * - `{"type":"stale","error":{…}}` when PiecesOS failed `stale_after` tries in a row: the mirror may
 *   lag behind until its next `synced` (it keeps retrying, then syncs with a snapshot);
 * - `{"type":"disconnected","error":{…},"retry_in_ms":N}` when the stream's connection was lost (a
 *   `synced` follows the reconnection);
 * - exactly one terminal event, after which nothing follows: `{"type":"closed"}` after a stop, or
 *   `{"type":"error","error":{…}}` when it gave up (the client's `stream.max_attempts`).
 *
 * Each event comes after the mirror's state changed accordingly: pieces_mirror_get() inside the
 * callback of an `added` event finds the message.
 *
 * `options_json` is an object whose keys are all optional: `transferables` (`null`: the query
 * parameter left out, as by default; `true`; `false`: a mirror without the heavy content),
 * `announce_initial` (`true`: the first sync announces every message with `added`; `false`: only
 * `synced`), `snapshot_threshold` (more changed ids waiting than this: one snapshot instead; `null`:
 * decided from measured costs), `retry_initial_ms` (100), `retry_max_ms` (5000), `stale_after` (3).
 * Unknown keys are refused. The stream's settings (reconnection, the pull queue's `queue_capacity` and
 * `queue_max_bytes`) are the client's.
 *
 * **Callback mode** (`cb` not NULL): `cb(userdata, event_json, len)` is called on the mirror's thread
 * with each event. The first call waits until this function has written `*out`, so a callback may use
 * the handle through the variable `out` pointed to. **Pull mode** (`cb` NULL): events wait in a
 * bounded queue for pieces_mirror_next() (when it is full, the mirror waits: nothing is dropped), and no
 * function of the caller is ever called on another thread.
 *
 * # Ownership
 * `userdata` belongs to the mirror from the moment this function is called: `userdata_free` (when not
 * NULL) is called with it **exactly once**, after which the library never uses it again:
 * - when this function fails, whatever the status, before it returns, on the calling thread;
 * - in callback mode, on the mirror's thread right after the callback has returned from the terminal
 *   event (so before pieces_mirror_free() returns, when called from another thread);
 * - in pull mode, on the caller's thread: inside the pieces_mirror_next() call that takes the terminal
 *   event (before it returns), or else inside pieces_mirror_free().
 *
 * On success `*out` receives the mirror, which the caller frees with pieces_mirror_free(); it stays
 * valid until then, whatever happened to the stream. The client may be freed before it.
 * `options_json` is only read during the call.
 *
 * # NULL
 * `client` and `out` must not be NULL. `options_json` NULL takes every default; `cb` NULL selects pull
 * mode; `userdata` and `userdata_free` may be NULL.
 *
 * # Threads
 * Any thread. In callback mode `cb` and `userdata_free` run on the mirror's thread.
 *
 * # Errors
 * PIECES_STATUS_NULL_PARAMETER, PIECES_STATUS_INVALID_UTF8, PIECES_STATUS_INVALID_JSON (options that
 * are not JSON, or have an unknown key or a wrong type), PIECES_STATUS_INVALID_ARGUMENT (an option out
 * of range: the last error's `argument` names it), PIECES_STATUS_INTERNAL (the thread cannot be
 * started). PiecesOS being unreachable is not an error of this call: it arrives as events.
 *
 * # Safety
 * `client` is NULL or a live client; `options_json` is NULL or NUL-terminated; `out` is NULL or valid
 * for writing a pointer; `cb` and `userdata_free` are NULL or functions that may be called as
 * documented here.
 */
pieces_status pieces_mirror_new(const pieces_client *client,
                                const char *options_json,
                                pieces_event_cb cb,
                                void *userdata,
                                void (*userdata_free)(void *userdata),
                                pieces_mirror **out);

/**
 * Takes the next event of a pull-mode mirror (one made with a NULL callback).
 *
 * `timeout_ms` < 0 waits until an event arrives, 0 only looks, > 0 waits at most that many
 * milliseconds. Events are those of pieces_mirror_new(); the queue holds up to the client's
 * `stream.queue_capacity` events and `stream.queue_max_bytes` bytes of them, and while the next event
 * does not fit the mirror waits (nothing is dropped; its reads stay current up to where it waits).
 *
 * # Ownership
 * On PIECES_STATUS_OK `*out_json` receives a new string with one event; free it with
 * pieces_string_free(). The call that hands out the terminal event also runs `userdata_free`.
 *
 * # NULL
 * `m` and `out_json` must not be NULL.
 *
 * # Threads
 * Any thread, several at once (each event goes to one of them); another thread may stop the mirror
 * meanwhile, which ends a wait promptly with the terminal `closed` event.
 *
 * # Errors
 * PIECES_STATUS_NO_EVENT: nothing arrived in time (call again). PIECES_STATUS_CLOSED: the terminal
 * event was already taken; nothing will follow. PIECES_STATUS_INVALID_ARGUMENT: `m` is in callback
 * mode (PIECES_STATUS_IN_CALLBACK when called from its own callback). PIECES_STATUS_NULL_PARAMETER.
 *
 * # Safety
 * `m` is NULL or a live mirror; `out_json` is NULL or valid for writing a pointer.
 */
pieces_status pieces_mirror_next(pieces_mirror *m, int32_t timeout_ms, char **out_json);

/**
 * One message of the mirror, as the server's JSON text (a `ConversationMessage`), byte for byte as it
 * arrived. No request is made: this is the mirror's current copy.
 *
 * # Ownership
 * `message_id` is only read during the call. On success `*out_json` receives a new string; free it
 * with pieces_string_free().
 *
 * # NULL
 * No parameter may be NULL.
 *
 * # Threads
 * Any thread, the mirror's own callback included; never waits for the mirror's thread (only, briefly,
 * for a change being applied).
 *
 * # Errors
 * PIECES_STATUS_NOT_FOUND: the mirror holds no message with this id (the last error has `id`).
 * PIECES_STATUS_NULL_PARAMETER, PIECES_STATUS_INVALID_UTF8.
 *
 * # Safety
 * `m` is NULL or a live mirror; `message_id` is NULL or NUL-terminated; `out_json` is NULL or valid for
 * writing a pointer.
 */
pieces_status pieces_mirror_get(const pieces_mirror *m, const char *message_id, char **out_json);

/**
 * The mirror's messages as a JSON array of the server's JSON texts, in creation order (oldest first):
 * every message when `conversation_id` is NULL, else those of that conversation (`[]` for one the
 * mirror holds no message of). No request is made, and the array is taken at one point: it never mixes
 * messages from before and after a change.
 *
 * # Ownership
 * `conversation_id` is only read during the call. On success `*out_json` receives a new string; free
 * it with pieces_string_free().
 *
 * # NULL
 * `m` and `out_json` must not be NULL; `conversation_id` NULL lists every message.
 *
 * # Threads
 * As pieces_mirror_get().
 *
 * # Errors
 * PIECES_STATUS_NULL_PARAMETER, PIECES_STATUS_INVALID_UTF8.
 *
 * # Safety
 * `m` is NULL or a live mirror; `conversation_id` is NULL or NUL-terminated; `out_json` is NULL or
 * valid for writing a pointer.
 */
pieces_status pieces_mirror_list(const pieces_mirror *m, const char *conversation_id, char **out_json);

/**
 * Asks a mirror to stop, and returns at once.
 *
 * The mirror shuts its stream down, wakes from any backoff wait, and delivers the terminal
 * `{"type":"closed"}` event (to the callback, or to pieces_mirror_next()); events not yet taken in pull
 * mode stay queued before it. A fetch under way is finished first (within the client's
 * `request_timeout_ms`). The messages stay readable until the free. Stopping again, or after the
 * terminal event, does nothing.
 *
 * # NULL
 * `m` must not be NULL.
 *
 * # Threads
 * Any thread, including from inside the mirror's own callback. Never waits for the mirror's thread.
 *
 * # Errors
 * PIECES_STATUS_NULL_PARAMETER.
 *
 * # Safety
 * `m` is NULL or a live mirror.
 */
pieces_status pieces_mirror_stop(pieces_mirror *m);

/**
 * Stops a mirror, waits for its thread to end, and frees it.
 *
 * From any thread but the mirror's own, it returns once the thread has ended: the terminal event has
 * been delivered, `userdata_free` has run (callback mode; in pull mode it runs here if the terminal
 * event was never taken), and no callback runs any more. Called **from inside the mirror's own
 * callback** (or its `userdata_free`), it cannot wait for the thread it runs on: it stops the mirror
 * and returns at once; the callback then still receives the terminal `{"type":"closed"}` event (after
 * any events already under way), `userdata_free` runs, and the mirror's thread releases the handle and
 * ends right there. Either way the handle is invalid once this function has been called.
 *
 * # Ownership
 * Takes the mirror back, and with it every message it held (strings handed out before stay valid: they
 * are copies). No other call on it may run at the same time or follow, except pieces_mirror_stop(),
 * pieces_mirror_get() and pieces_mirror_list() from inside its own callback while another thread
 * frees it.
 *
 * # NULL
 * NULL is accepted and does nothing.
 *
 * # Threads
 * Any thread, its own callback included (see above). It waits for the mirror's callback to return, so a
 * callback must not wait for the thread that frees its mirror.
 *
 * # Safety
 * `m` is NULL or a mirror from pieces_mirror_new() that has not been freed yet.
 */
void pieces_mirror_free(pieces_mirror *m);

/**
 * The last error of the calling thread, as JSON text, or NULL when no call on this thread has failed
 * yet.
 *
 * The object has `kind` (a short stable name: `null_parameter`, `invalid_utf8`, `invalid_json`,
 * `invalid_input`, `connection`, `timeout`, `http_status`, `not_found`, `decode`, `websocket`,
 * `body_too_large`, `no_event`, `closed`, `in_callback`, `panic`, `not_running`,
 * `incompatible_version`, `internal`, …) and `message` (for people), and when they apply: `status` (the
 * HTTP status) and `body` (PiecesOS's text body), `argument` (the parameter at fault), `line` and
 * `column` (1-based position of a JSON problem), `offset` (of an invalid UTF-8 byte), `endpoint`, `id`
 * (of a message not found), `url`, `scanned` (the ports discovery tried), `found`, `required` and
 * `update` (of an incompatible version).
 *
 * # Ownership
 * The string belongs to the library: do not free it. It stays valid until the next call of a
 * `pieces_*` function on the same thread, or the end of the thread; copy it to keep it.
 *
 * # Threads
 * Each thread has its own last error. Every call that returns a status other than
 * PIECES_STATUS_OK sets it (PIECES_STATUS_NO_EVENT and PIECES_STATUS_CLOSED included); a successful
 * call leaves it unchanged, so read it right after a failing status.
 */
const char *pieces_last_error_json(void);

/**
 * The version of the loaded library, such as `"0.1.0"` (semantic versioning).
 *
 * Compare it with PIECES_OS_CLIENT_VERSION, the version of the header compiled against: within one
 * major version (and, before 1.0, one minor version) the ABI only grows.
 *
 * # Ownership
 * A static string: never free it.
 *
 * # Threads
 * Any thread, any time. Never fails, never NULL.
 */
const char *pieces_version(void);

/**
 * Frees a string returned by this library through a `char **` out-parameter (message JSON, events).
 *
 * # Ownership
 * Takes the string back; it must not be used afterwards. Only strings this library returned may be
 * passed, and each only once; never pass one to `free()`, and never pass pieces_version() or
 * pieces_last_error_json(), which the library keeps.
 *
 * # NULL
 * NULL is accepted and does nothing.
 *
 * # Threads
 * Any thread, not only the one that received the string.
 *
 * # Safety
 * `s` is NULL or a string from this library's out-parameters that has not been freed yet.
 */
void pieces_string_free(char *s);

/**
 * Subscribes to the stream of message-identifier changes (`conversation_messages_stream_identifiers`).
 *
 * The subscription runs on a thread of its own: it connects, reconnects after a lost connection with
 * exponential backoff (the client's `stream` settings), and turns everything into events, JSON objects
 * with a `type`, always in this order:
 * - `{"type":"connected","url":"ws://…"}` when a connection is open;
 * - `{"type":"identifiers","full":true|false,"data":{…}}` for each frame (`data` is the
 *   StreamedIdentifiers frame; the first after each `connected` has `full: true` and lists every
 *   current message, later ones carry changes, `"deleted": true` on removed messages);
 * - `{"type":"disconnected","error":{"kind":…,"message":…},"retry_in_ms":N}` when a connection was
 *   lost or could not be made, with the delay before the next try;
 * - exactly one terminal event, after which nothing follows: `{"type":"closed"}` after a stop, or
 *   `{"type":"error","error":{…}}` when it gave up (`stream.max_attempts` failed tries in a row).
 *
 * **Callback mode** (`cb` not NULL): `cb(userdata, event_json, len)` is called on the subscription
 * thread with each event. The first call waits until this function has written `*out`, so a callback
 * may read the handle from the variable `out` pointed to. **Pull mode** (`cb` NULL): events wait in a
 * bounded queue for pieces_subscription_next(), and no function of the caller is ever called on
 * another thread: the mode for hosts such as LuaJIT or Python that must not be entered from a foreign
 * thread.
 *
 * # Ownership
 * `userdata` belongs to the subscription from the moment this function is called: `userdata_free`
 * (when not NULL) is called with it **exactly once**, after which the library never uses it again:
 * - when this function fails, whatever the status, before it returns, on the calling thread;
 * - in callback mode, on the subscription thread right after the callback has returned from the
 *   terminal event (so before pieces_subscription_free() returns, when called from another thread);
 * - in pull mode, on the caller's thread: inside the pieces_subscription_next() call that takes the
 *   terminal event (before it returns), or else inside pieces_subscription_free().
 *
 * On success `*out` receives the subscription, which the caller frees with pieces_subscription_free();
 * it stays valid until then, whatever happened to the stream. The client may be freed before it.
 *
 * # NULL
 * `client` and `out` must not be NULL. `cb` NULL selects pull mode; `userdata` and `userdata_free`
 * may be NULL.
 *
 * # Threads
 * Any thread. In callback mode `cb` and `userdata_free` run on the subscription thread.
 *
 * # Errors
 * PIECES_STATUS_NULL_PARAMETER; PIECES_STATUS_INTERNAL when the subscription thread cannot be
 * started. Connection failures are not errors of this call: they arrive as `disconnected` events.
 *
 * # Safety
 * `client` is NULL or a live client; `out` is NULL or valid for writing a pointer; `cb` and
 * `userdata_free` are NULL or functions that may be called as documented here.
 */
pieces_status pieces_messages_subscribe(const pieces_client *client,
                                        pieces_event_cb cb,
                                        void *userdata,
                                        void (*userdata_free)(void *userdata),
                                        pieces_subscription **out);

/**
 * Takes the next event of a pull-mode subscription (one made with a NULL callback).
 *
 * `timeout_ms` < 0 waits until an event arrives, 0 only looks, > 0 waits at most that many
 * milliseconds. Events are those of pieces_messages_subscribe(); the queue holds up to
 * `stream.queue_capacity` of them, and while it is full the subscription stops reading (nothing is
 * dropped).
 *
 * # Ownership
 * On PIECES_STATUS_OK `*out_json` receives a new string with one event; free it with
 * pieces_string_free(). The call that hands out the terminal event also runs `userdata_free`.
 *
 * # NULL
 * `s` and `out_json` must not be NULL.
 *
 * # Threads
 * Any thread, several at once (each event goes to one of them); another thread may stop the
 * subscription meanwhile, which ends a wait promptly with the terminal `closed` event.
 *
 * # Errors
 * PIECES_STATUS_NO_EVENT: nothing arrived in time (call again). PIECES_STATUS_CLOSED: the terminal
 * event was already taken; nothing will follow. PIECES_STATUS_INVALID_ARGUMENT: `s` is in callback
 * mode (PIECES_STATUS_IN_CALLBACK when called from its own callback). PIECES_STATUS_NULL_PARAMETER.
 *
 * # Safety
 * `s` is NULL or a live subscription; `out_json` is NULL or valid for writing a pointer.
 */
pieces_status pieces_subscription_next(pieces_subscription *s, int32_t timeout_ms, char **out_json);

/**
 * Asks a subscription to stop, and returns at once.
 *
 * The subscription shuts its connection down, wakes from any backoff wait, and delivers the terminal
 * `{"type":"closed"}` event (to the callback, or to pieces_subscription_next()); events not yet taken
 * in pull mode stay queued before it. Stopping again, or after the terminal event, does nothing.
 *
 * # NULL
 * `s` must not be NULL.
 *
 * # Threads
 * Any thread, including from inside the subscription's own callback. Never waits for the subscription
 * thread.
 *
 * # Errors
 * PIECES_STATUS_NULL_PARAMETER.
 *
 * # Safety
 * `s` is NULL or a live subscription.
 */
pieces_status pieces_subscription_stop(pieces_subscription *s);

/**
 * Stops a subscription, waits for its thread to end, and frees it.
 *
 * From any thread but the subscription's own, it returns once the thread has ended: the terminal
 * event has been delivered, `userdata_free` has run (callback mode; in pull mode it runs here if the
 * terminal event was never taken), and no callback runs any more. Called **from inside the
 * subscription's own callback** (or its `userdata_free`), it cannot wait for the thread it runs on:
 * it stops the subscription and returns at once; the callback then still receives the terminal
 * `{"type":"closed"}` event, `userdata_free` runs, and the subscription thread releases the handle and
 * ends right there. Either way the handle is invalid once this function has been called.
 *
 * # Ownership
 * Takes the subscription back. No other call on it may run at the same time or follow, except
 * pieces_subscription_stop() from inside its own callback while another thread frees it.
 *
 * # NULL
 * NULL is accepted and does nothing.
 *
 * # Threads
 * Any thread, its own callback included (see above). It waits for the subscription's callback to
 * return, so a callback must not wait for the thread that frees its subscription.
 *
 * # Safety
 * `s` is NULL or a subscription from pieces_messages_subscribe() that has not been freed yet.
 */
void pieces_subscription_free(pieces_subscription *s);

#ifdef __cplusplus
}  /* extern "C" */
#endif  /* __cplusplus */

#endif  /* PIECES_OS_CLIENT_H */
