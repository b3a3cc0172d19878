'use strict';
// The C library through koffi: where it is found, its functions, and one call with its result.
//
// Loaded both on the main thread and in the worker threads of offload.js; the library is loaded once
// per process by the dynamic loader, so handles (koffi represents pointers as BigInt) are valid in every
// thread. invoke() is the one place a function is called: it reads pieces_last_error_json() right after
// a failing call, on the same thread (the last error is thread-local and valid until the next call on
// that thread), and copies a returned string before handing it back to pieces_string_free().

const fs = require('node:fs');
const path = require('node:path');
const koffi = require('koffi');

/** The environment variable that names the library. */
const LIBRARY_ENV = 'PIECES_OS_CLIENT_LIBRARY';
/** The ABI line this module was written for: 0.MINOR before 1.0, MAJOR from 1.0 on. */
const ABI_LINE = '0.1';
const LIBRARY_FILE = { darwin: 'libpieces_os_client.dylib', win32: 'pieces_os_client.dll' }[process.platform] ??
  'libpieces_os_client.so';

// Declared as in include/pieces_os_client.h. Handles are `void *` (BigInt in JavaScript); callbacks are
// never passed (pull mode only), so their parameters are plain pointers, always null.
const PROTOTYPES = [
  'const char *pieces_version(void)',
  'const char *pieces_last_error_json(void)',
  'void pieces_string_free(void *s)',
  'uint32_t pieces_client_new(const char *config_json, _Out_ void **out)',
  'void pieces_client_free(void *client)',
  'uint32_t pieces_client_base_url(void *client, _Out_ void **out)',
  'uint32_t pieces_client_check_version(void *client, _Out_ void **out_version)',
  'uint32_t pieces_messages_snapshot(void *client, uint32_t transferables, _Out_ void **out_json)',
  'uint32_t pieces_messages_create(void *client, const char *seed_json, uint32_t transferables, _Out_ void **out_json)',
  'uint32_t pieces_messages_delete(void *client, const char *message_id)',
  'uint32_t pieces_messages_search(void *client, const char *search_input_json, uint32_t transferables, _Out_ void **out_json)',
  'uint32_t pieces_messages_get(void *client, const char *message_id, uint32_t transferables, _Out_ void **out_json)',
  'uint32_t pieces_messages_update(void *client, const char *message_json, uint32_t transferables, _Out_ void **out_json)',
  'uint32_t pieces_messages_subscribe(void *client, void *cb, void *userdata, void *userdata_free, _Out_ void **out)',
  'uint32_t pieces_subscription_next(void *s, int32_t timeout_ms, _Out_ void **out_json)',
  'uint32_t pieces_subscription_stop(void *s)',
  'void pieces_subscription_free(void *s)',
  'uint32_t pieces_mirror_new(void *client, const char *options_json, void *cb, void *userdata, void *userdata_free, _Out_ void **out)',
  'uint32_t pieces_mirror_next(void *m, int32_t timeout_ms, _Out_ void **out_json)',
  'uint32_t pieces_mirror_get(void *m, const char *message_id, _Out_ void **out_json)',
  'uint32_t pieces_mirror_list(void *m, const char *conversation_id, _Out_ void **out_json)',
  'uint32_t pieces_mirror_stop(void *m)',
  'void pieces_mirror_free(void *m)',
];

/** Where the library is looked for: $PIECES_OS_CLIENT_LIBRARY, then beside the module (its root). */
function libraryCandidates() {
  const candidates = [];
  if (process.env[LIBRARY_ENV]) candidates.push(process.env[LIBRARY_ENV]);
  candidates.push(path.join(__dirname, '..', LIBRARY_FILE));
  return candidates;
}

function abiLine(version) {
  const [major, minor] = version.split('.');
  return major === '0' ? `0.${minor}` : major;
}

let loaded = null;

/** Loads the library (once per thread) from `libraryPath`, else the first candidate that exists. */
function load(libraryPath) {
  if (loaded) return loaded;
  const candidates = libraryPath ? [libraryPath] : libraryCandidates();
  const chosen = candidates.find((candidate) => fs.existsSync(candidate));
  if (!chosen) {
    throw new Error(`the pieces_os_client library was not found (tried ${candidates.join(', ')}); set ${LIBRARY_ENV} to its path`);
  }
  const library = koffi.load(chosen);
  const functions = {};
  for (const prototype of PROTOTYPES) {
    const name = prototype.match(/(pieces_\w+)\(/)[1];
    functions[name] = library.func(prototype);
  }
  const version = functions.pieces_version();
  if (abiLine(version) !== ABI_LINE) {
    throw new Error(`${chosen} is pieces_os_client ${version}, but this module needs the ABI line ${ABI_LINE} (${ABI_LINE}.x)`);
  }
  loaded = { path: chosen, version, functions };
  return loaded;
}

/**
 * Calls `name` with `args` and, when `out` is 'string' or 'handle', one more out-parameter. Returns
 * `{status, value}` on success and `{status, error}` (the last-error JSON text, or null) otherwise:
 * plain data, which crosses from a worker thread unchanged.
 */
function invoke(name, args, out) {
  const { functions } = load();
  const slot = [null];
  const status = out ? functions[name](...args, slot) : functions[name](...args);
  if (status !== 0) return { status, error: functions.pieces_last_error_json() };
  if (out === 'string') {
    try {
      return { status, value: koffi.decode.string(slot[0]) };
    } finally {
      functions.pieces_string_free(slot[0]);
    }
  }
  return { status, value: out === 'handle' ? slot[0] : undefined };
}

/** Frees a handle (`pieces_*_free`); only on the main thread, never during another call on it. */
function free(name, handle) {
  load().functions[name](handle);
}

module.exports = { ABI_LINE, LIBRARY_ENV, LIBRARY_FILE, abiLine, free, invoke, libraryCandidates, load };
