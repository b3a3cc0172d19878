'use strict';
// pieces-messages: PiecesOS conversation messages for Node.js hosts (VS Code and other Electron
// programs), through the pieces_os_client C library and koffi. See index.d.ts for the documented API.
//
// Blocking calls come twice: `snapshotSync()` runs on the calling thread, as the C function does;
// `snapshot()` returns a promise and runs it on a worker thread (offload.js). Events use pull mode only:
// the library queues them and never calls into JavaScript from its own threads.

const native = require('./native');
const { offload } = require('./offload');

/** `pieces_status` values (include/pieces_os_client.h): explicit, never renumbered. */
const Status = Object.freeze({
  OK: 0, NULL_PARAMETER: 1, INVALID_UTF8: 2, INVALID_JSON: 3, INVALID_ARGUMENT: 4, CONNECTION: 5,
  TIMEOUT: 6, HTTP_STATUS: 7, DECODE: 8, WEBSOCKET: 9, NO_EVENT: 10, CLOSED: 11, IN_CALLBACK: 12,
  PANIC: 13, BODY_TOO_LARGE: 14, NOT_RUNNING: 15, INCOMPATIBLE_VERSION: 16, INTERNAL: 17, NOT_FOUND: 18,
});
const STATUS_NAMES = Object.fromEntries(Object.entries(Status).map(([name, value]) => [value, name]));

/** Whether PiecesOS includes heavy content (a fragment's text) in what it answers. */
const Transferables = Object.freeze({ DEFAULT: 0, INCLUDE: 1, EXCLUDE: 2 });

// A blocking wait on a worker is cut into slices of this long, so that a closing process never waits
// for a worker stuck in a long call.
const WAIT_SLICE_MS = 500;

class PiecesError extends Error {
  constructor(fn, status, json) {
    let detail = {};
    if (json) {
      try {
        detail = JSON.parse(json);
      } catch {
        detail = { message: json };
      }
    }
    const code = STATUS_NAMES[status] ?? String(status);
    super(`${fn}: ${code}: ${detail.message ?? json ?? 'no detail'}`);
    this.name = 'PiecesError';
    this.status = status;
    this.code = code;
    this.fn = fn;
    this.detail = detail;
    this.json = json ?? null;
    this.kind = typeof detail.kind === 'string' ? detail.kind : null;
  }
}

function unwrap(fn, result) {
  if (result.status !== Status.OK) throw new PiecesError(fn, result.status, result.error);
  return result.value;
}

// JSON slices -------------------------------------------------------------------------------------------

const SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

function skipSpace(text, i) {
  while (i < text.length && SPACE.has(text.charCodeAt(i))) i++;
  return i;
}

// One past the end of the JSON value that starts at i. The library hands out checked JSON, so only
// strings (with escapes) and nesting need care.
function valueEnd(text, i) {
  let depth = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) {
        if (text.charCodeAt(i) === 0x5c) i++;
      }
      if (depth === 0) return i + 1;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return i + 1;
      if (depth < 0) return i;
    } else if (depth === 0 && (c === 0x2c || SPACE.has(c))) {
      return i;
    }
  }
  return i;
}

function walk(text, open, close, visit) {
  let i = skipSpace(text, 0);
  if (text[i] !== open) throw new SyntaxError(`expected ${open} in the library's JSON`);
  i = skipSpace(text, i + 1);
  if (text[i] === close) return;
  for (;;) {
    let key;
    if (open === '{') {
      const keyEnd = valueEnd(text, i);
      key = JSON.parse(text.slice(i, keyEnd));
      i = skipSpace(text, keyEnd);
      if (text[i] !== ':') throw new SyntaxError("expected ':' in the library's JSON");
      i = skipSpace(text, i + 1);
    }
    const end = valueEnd(text, i);
    visit(key, text.slice(i, end));
    i = skipSpace(text, end);
    if (text[i] === close) return;
    if (text[i] !== ',') throw new SyntaxError("expected ',' in the library's JSON");
    i = skipSpace(text, i + 1);
  }
}

/** The exact text of each element of a JSON array. */
function elements(text) {
  const found = [];
  walk(text, '[', ']', (_, value) => found.push(value));
  return found;
}

/** The exact text of each member of a JSON object, by key (a repeated key: its last value). */
function members(text) {
  const found = Object.create(null);
  walk(text, '{', '}', (key, value) => {
    found[key] = value;
  });
  return found;
}

// Messages and events ------------------------------------------------------------------------------------

const str = (value) => (typeof value === 'string' ? value : null);

class Message {
  constructor(json) {
    this.json = json;
    this._data = undefined;
  }

  get data() {
    if (this._data === undefined) this._data = JSON.parse(this.json);
    return this._data;
  }

  get id() {
    return String(this.data.id);
  }

  get conversationId() {
    return str(this.data.conversation?.id);
  }

  get role() {
    return str(this.data.role);
  }

  get text() {
    return str(this.data.fragment?.string?.raw);
  }

  get created() {
    return str(this.data.created?.value);
  }
}

const messagesOfArray = (text) => elements(text).map((element) => new Message(element));

class SearchHit {
  constructor(json) {
    this.json = json;
    this.data = JSON.parse(json);
  }

  get id() {
    return String(this.data.identifier);
  }

  get similarity() {
    return typeof this.data.similarity === 'number' ? this.data.similarity : null;
  }

  get exact() {
    return typeof this.data.exact === 'boolean' ? this.data.exact : null;
  }
}

class Event {
  constructor(json) {
    this.json = json;
    this.data = JSON.parse(json);
    this.type = String(this.data.type);
    this.terminal = this.type === 'closed' || this.type === 'error';
    this.message = this.data.message && typeof this.data.message === 'object' ? new Message(members(json).message) : null;
    this.id = this.message ? this.message.id : str(this.data.id);
    this.count = typeof this.data.count === 'number' ? this.data.count : null;
    this.error = this.data.error && typeof this.data.error === 'object' ? this.data.error : null;
  }
}

// Handles ------------------------------------------------------------------------------------------------

// Frees handles whose owner was collected without close(). The held value is the NativeHandle, not the
// owner, so a call still running on a worker defers the free until it returns. In pull mode a free joins
// a thread that never runs JavaScript, so it is safe here (the callback runs on the main thread, from
// the event loop); it may wait for a fetch under way, at most the client's request_timeout_ms.
const collected = new FinalizationRegistry((handle) => handle.close());

function textArgument(value, what) {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`);
  if (value.includes('\0')) throw new TypeError(`${what} contains a NUL character`);
  return value;
}

function jsonArgument(value, what) {
  return textArgument(typeof value === 'string' ? value : JSON.stringify(value), what);
}

class NativeHandle {
  constructor(owner, pointer, freeName, stopName) {
    this.pointer = pointer;
    this.freeName = freeName;
    this.stopName = stopName;
    this.busy = 0;
    this.closed = false;
    this.freed = false;
    collected.register(owner, this, this);
  }

  use(what) {
    if (this.closed) throw new Error(`pieces-messages: this ${what} is closed`);
    return this.pointer;
  }

  callSync(what, name, args, out) {
    return unwrap(name, native.invoke(name, [this.use(what), ...args], out));
  }

  // native.invoke() on a worker thread; the handle stays allocated until the call has returned.
  async callOffloaded(what, name, args, out) {
    const pointer = this.use(what);
    this.busy++;
    try {
      return await offload(native.load().path, name, [pointer, ...args], out);
    } finally {
      this.busy--;
      if (this.closed && this.busy === 0) this.free();
    }
  }

  async call(what, name, args, out) {
    return unwrap(name, await this.callOffloaded(what, name, args, out));
  }

  // Stops a subscription or mirror (which ends the waits of calls running on workers), then frees the
  // handle at once, or when the last of those calls has returned: the C API allows no free during
  // another call on the same handle.
  close() {
    if (this.closed) return;
    this.closed = true;
    collected.unregister(this);
    if (this.stopName) native.invoke(this.stopName, [this.pointer]);
    if (this.busy === 0) this.free();
  }

  free() {
    if (this.freed) return;
    this.freed = true;
    native.free(this.freeName, this.pointer);
  }
}

// Pull-mode events -----------------------------------------------------------------------------------------

class PullEvents {
  constructor(pointer, names, what) {
    this._handle = new NativeHandle(this, pointer, names.free, names.stop);
    this._names = names;
    this._what = what;
    this.finished = false;
  }

  _taken(result) {
    if (result.status === Status.OK) {
      const event = new Event(result.value);
      if (event.terminal) this.finished = true;
      return event;
    }
    if (result.status === Status.CLOSED) this.finished = true;
    else if (result.status !== Status.NO_EVENT) unwrap(this._names.next, result);
    return null;
  }

  /** The next event within timeoutMs on this thread (0: only look), or null. */
  nextSync(timeoutMs = 0) {
    const pointer = this._handle.use(this._what);
    return this._taken(native.invoke(this._names.next, [pointer, timeoutMs], 'string'));
  }

  /** The next event, waiting on a worker thread at most timeoutMs (negative: until one comes), or null. */
  async next(timeoutMs = -1) {
    const deadline = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
    for (;;) {
      const wait = Math.max(0, Math.min(WAIT_SLICE_MS, deadline - Date.now()));
      const result = await this._handle.callOffloaded(this._what, this._names.next, [wait], 'string');
      const event = this._taken(result);
      if (event || result.status === Status.CLOSED || Date.now() >= deadline || this._handle.closed) return event;
    }
  }

  /** The events waiting now, oldest first (at most maxEvents), without waiting: what a timer calls. */
  poll(maxEvents = Infinity) {
    const events = [];
    while (events.length < maxEvents) {
      const event = this.nextSync(0);
      if (!event) break;
      events.push(event);
    }
    return events;
  }

  /** Every event, each awaited on a worker thread; ends after the terminal one (or at close). */
  async *[Symbol.asyncIterator]() {
    for (;;) {
      const event = await this.next(-1);
      if (!event) return;
      yield event;
      if (event.terminal) return;
    }
  }

  /** Asks it to stop and returns at once; the terminal "closed" event follows those queued. */
  stop() {
    this._handle.callSync(this._what, this._names.stop, [], null);
  }

  /** Stops it, joins its thread and frees it (after calls still running on workers). Twice: nothing. */
  close() {
    this._handle.close();
  }

  [Symbol.dispose]() {
    this.close();
  }
}

class Subscription extends PullEvents {
  constructor(pointer) {
    super(pointer, {
      next: 'pieces_subscription_next',
      stop: 'pieces_subscription_stop',
      free: 'pieces_subscription_free',
    }, 'subscription');
  }
}

class Mirror extends PullEvents {
  constructor(pointer) {
    super(pointer, { next: 'pieces_mirror_next', stop: 'pieces_mirror_stop', free: 'pieces_mirror_free' }, 'mirror');
  }

  /** The mirror's copy of one message (no request), or null when it holds no such message. */
  get(messageId) {
    const pointer = this._handle.use(this._what);
    const result = native.invoke('pieces_mirror_get', [pointer, textArgument(messageId, 'messageId')], 'string');
    if (result.status === Status.NOT_FOUND) return null;
    return new Message(unwrap('pieces_mirror_get', result));
  }

  /** The messages it holds, oldest first: all, or those of one conversation. */
  messages(conversationId = null) {
    const conversation = conversationId === null ? null : textArgument(conversationId, 'conversationId');
    return messagesOfArray(this._handle.callSync(this._what, 'pieces_mirror_list', [conversation], 'string'));
  }
}

// The client -----------------------------------------------------------------------------------------------

// The blocking operations: each becomes `nameSync(...)` and `name(...)` (a promise) on Client. `args`
// turns the JavaScript arguments into the C ones after the handle; `result` turns the C result into the
// answer.
const OPERATIONS = {
  baseUrl: { fn: 'pieces_client_base_url', out: 'string', args: () => [], result: (text) => text },
  checkVersion: { fn: 'pieces_client_check_version', out: 'string', args: () => [], result: (text) => text },
  snapshot: {
    fn: 'pieces_messages_snapshot',
    out: 'string',
    args: (transferables = Transferables.DEFAULT) => [transferables],
    result: (text) => messagesOfArray(members(text).iterable ?? '[]'),
  },
  get: {
    fn: 'pieces_messages_get',
    out: 'string',
    args: (messageId, transferables = Transferables.DEFAULT) => [textArgument(messageId, 'messageId'), transferables],
    result: (text) => new Message(text),
  },
  create: {
    fn: 'pieces_messages_create',
    out: 'string',
    args: (conversationId, text, role = 'USER') => [
      jsonArgument({ role, conversation: { id: conversationId }, fragment: { string: { raw: text } } }, 'seed'),
      Transferables.DEFAULT,
    ],
    result: (text) => new Message(text),
  },
  createFromSeed: {
    fn: 'pieces_messages_create',
    out: 'string',
    args: (seed, transferables = Transferables.DEFAULT) => [jsonArgument(seed, 'seed'), transferables],
    result: (text) => new Message(text),
  },
  update: {
    fn: 'pieces_messages_update',
    out: 'string',
    args: (message, transferables = Transferables.DEFAULT) => [
      jsonArgument(message instanceof Message ? message.json : message, 'message'),
      transferables,
    ],
    result: (text) => new Message(text),
  },
  delete: {
    fn: 'pieces_messages_delete',
    out: null,
    args: (messageId) => [textArgument(messageId, 'messageId')],
    result: () => undefined,
  },
  search: {
    fn: 'pieces_messages_search',
    out: 'string',
    args: (query, transferables = Transferables.DEFAULT) => [
      jsonArgument(typeof query === 'string' ? { engines: { iterable: [{ query }] } } : query, 'searchInput'),
      transferables,
    ],
    result: (text) => elements(members(text).iterable ?? '[]').map((hit) => new SearchHit(hit)),
  },
};

class Client {
  /**
   * A client: `config` is a base URL, or an object of the configuration JSON's keys (`base_url`,
   * `application_id`, `request_timeout_ms`, `stream`, `discovery`, …), or nothing: without `base_url`
   * (and PIECES_OS_URL) the client finds PiecesOS on 127.0.0.1 at its first request.
   */
  constructor(config = {}) {
    const settings = typeof config === 'string' ? { base_url: config } : config;
    const pointer = unwrap('pieces_client_new', native.invoke('pieces_client_new', [jsonArgument(settings, 'config')], 'handle'));
    this._handle = new NativeHandle(this, pointer, 'pieces_client_free', null);
  }

  /** The identifier stream, in pull mode. */
  subscribe() {
    return new Subscription(this._handle.callSync('client', 'pieces_messages_subscribe', [null, null, null], 'handle'));
  }

  /** A mirror of every message, in pull mode; `options` are those of the README's mirror table. */
  mirror(options = {}) {
    const text = jsonArgument(options, 'options');
    return new Mirror(this._handle.callSync('client', 'pieces_mirror_new', [text, null, null, null], 'handle'));
  }

  /** Frees the client (after calls still running on workers); its subscriptions and mirrors live on. */
  close() {
    this._handle.close();
  }

  [Symbol.dispose]() {
    this.close();
  }
}

for (const [name, operation] of Object.entries(OPERATIONS)) {
  Client.prototype[`${name}Sync`] = function operationSync(...args) {
    return operation.result(this._handle.callSync('client', operation.fn, operation.args(...args), operation.out));
  };
  Client.prototype[name] = async function operationAsync(...args) {
    const cArgs = operation.args(...args);
    return operation.result(await this._handle.call('client', operation.fn, cArgs, operation.out));
  };
}

/** The version of the loaded library, such as "0.1.0". */
function version() {
  return native.load().version;
}

/** The file the library was loaded from. */
function libraryPath() {
  return native.load().path;
}

module.exports = {
  ABI_LINE: native.ABI_LINE,
  Client,
  Event,
  LIBRARY_ENV: native.LIBRARY_ENV,
  Message,
  Mirror,
  PiecesError,
  SearchHit,
  Status,
  Subscription,
  Transferables,
  elements,
  libraryPath,
  members,
  version,
};
