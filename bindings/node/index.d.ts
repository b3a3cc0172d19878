// Type declarations of pieces-messages: PiecesOS conversation messages for Node.js hosts (VS Code and
// other Electron programs), through the pieces_os_client C library and koffi.
//
// Blocking calls come twice: `xSync()` runs on the calling thread, as the C function does; `x()` returns
// a promise and runs it on a worker thread, which also reads the call's last error. Events use pull mode
// only: the library queues them and never calls into JavaScript from its own threads. Take them with
// `poll()` from a timer, `await next(ms)`, or `for await (const event of mirror)`.
//
// The library is the file named by $PIECES_OS_CLIENT_LIBRARY, else libpieces_os_client.so in the
// module's directory.

/** `pieces_status` values (include/pieces_os_client.h): explicit, never renumbered. */
export declare const Status: Readonly<{
  OK: 0; NULL_PARAMETER: 1; INVALID_UTF8: 2; INVALID_JSON: 3; INVALID_ARGUMENT: 4; CONNECTION: 5;
  TIMEOUT: 6; HTTP_STATUS: 7; DECODE: 8; WEBSOCKET: 9; NO_EVENT: 10; CLOSED: 11; IN_CALLBACK: 12;
  PANIC: 13; BODY_TOO_LARGE: 14; NOT_RUNNING: 15; INCOMPATIBLE_VERSION: 16; INTERNAL: 17; NOT_FOUND: 18;
}>;
export type StatusName = keyof typeof Status;

/** Whether PiecesOS includes heavy content (a fragment's text) in what it answers. */
export declare const Transferables: Readonly<{
  /** The query parameter is left out, as the official SDKs do; PiecesOS includes the content. */
  DEFAULT: 0;
  /** `transferables=true`. */
  INCLUDE: 1;
  /** `transferables=false`: ids, times and the rest, without the content. */
  EXCLUDE: 2;
}>;
export type Transferables = 0 | 1 | 2;

/** The ABI line this module was written for (0.MINOR before 1.0, MAJOR from 1.0 on). */
export declare const ABI_LINE: string;
/** "PIECES_OS_CLIENT_LIBRARY": the environment variable that names the library. */
export declare const LIBRARY_ENV: string;

/** The version of the loaded library, such as "0.1.0". */
export declare function version(): string;
/** The file the library was loaded from. */
export declare function libraryPath(): string;

/** The library's last-error object: `kind` and `message`, and the keys that apply to the failure. */
export interface ErrorDetail {
  kind?: string;
  message?: string;
  /** The HTTP status, on `http_status` and `not_found`. */
  status?: number;
  /** PiecesOS's text body. */
  body?: string;
  /** The parameter at fault, on `invalid_input`. */
  argument?: string;
  /** 1-based position of a JSON problem. */
  line?: number;
  column?: number;
  /** The id of a message not found. */
  id?: string;
  /** The ports discovery tried, on `not_running`. */
  scanned?: string;
  url?: string;
  [key: string]: unknown;
}

/** A call that did not return PIECES_STATUS_OK. */
export declare class PiecesError extends Error {
  /** The `pieces_status`. */
  readonly status: number;
  /** The status's name ("NOT_FOUND", …), or its number for one this module does not know. */
  readonly code: StatusName | string;
  /** The C function that failed. */
  readonly fn: string;
  /** The last error, decoded. */
  readonly detail: ErrorDetail;
  /** The last error's JSON text (null when the library set none). */
  readonly json: string | null;
  /** `detail.kind`: a short, stable name such as "http_status" or "not_found". */
  readonly kind: string | null;
}

/** One conversation message (a ConversationMessage), as PiecesOS sent it. */
export declare class Message {
  constructor(json: string);
  /** The server's JSON text, byte for byte. */
  readonly json: string;
  /** `json` decoded (once, on first use). */
  readonly data: Record<string, any>;
  readonly id: string;
  readonly conversationId: string | null;
  /** "USER", "ASSISTANT", "SYSTEM", … */
  readonly role: string | null;
  /** `fragment.string.raw`; null without content (Transferables.EXCLUDE). */
  readonly text: string | null;
  /** When it was created (RFC 3339, UTC). */
  readonly created: string | null;
}

/** One result of a search. */
export declare class SearchHit {
  readonly json: string;
  readonly data: Record<string, any>;
  /** The id of the message found. */
  readonly id: string;
  readonly similarity: number | null;
  readonly exact: boolean | null;
}

export type SubscriptionEventType = 'connected' | 'identifiers' | 'disconnected' | 'closed' | 'error';
export type MirrorEventType = 'added' | 'updated' | 'removed' | 'synced' | 'stale' | 'disconnected' | 'closed' | 'error';

/** One event of a subscription or mirror. */
export declare class Event<Type extends string = string> {
  readonly json: string;
  readonly data: Record<string, any>;
  readonly type: Type;
  /** Whether it is the last event ("closed" or "error"). */
  readonly terminal: boolean;
  /** The message of "added" and "updated", with its exact text. */
  readonly message: Message | null;
  /** The id of a "removed" message, or of the event's message. */
  readonly id: string | null;
  /** How many messages the mirror holds, on "synced". */
  readonly count: number | null;
  /** The error of "error", "stale" and "disconnected". */
  readonly error: ErrorDetail | null;
}

/** Pull-mode events of a subscription or mirror. */
declare class PullEvents<Type extends string> implements AsyncIterable<Event<Type>> {
  /** Whether the terminal event has been taken: nothing follows it. */
  readonly finished: boolean;
  /** The next event within `timeoutMs` on this thread (0, the default: only look), or null. */
  nextSync(timeoutMs?: number): Event<Type> | null;
  /** The next event, waited for on a worker thread at most `timeoutMs` (negative, the default: until one comes), or null. */
  next(timeoutMs?: number): Promise<Event<Type> | null>;
  /** The events waiting now, oldest first, without waiting: what a timer calls. */
  poll(maxEvents?: number): Event<Type>[];
  /** Every event; ends after the terminal one, or when closed. */
  [Symbol.asyncIterator](): AsyncIterator<Event<Type>>;
  /** Asks it to stop and returns at once; the terminal "closed" event follows those queued. */
  stop(): void;
  /** Stops it, joins its thread and frees it (after calls still running on workers). Twice: nothing. */
  close(): void;
  [Symbol.dispose](): void;
}

/** The identifier stream: "connected", "identifiers" (`data.full`, `data.data`), "disconnected", then "closed" or "error". */
export declare class Subscription extends PullEvents<SubscriptionEventType> {}

/**
 * A local copy of every message, kept current by a thread of the library: "added"/"updated" (with the
 * message), "removed", "synced" (`count`), "stale", "disconnected", then "closed" or "error". Each event
 * comes after the mirror changed, so `get` and `messages` (no request) already show it.
 */
export declare class Mirror extends PullEvents<MirrorEventType> {
  /** The mirror's copy of one message, or null when it holds no such message. */
  get(messageId: string): Message | null;
  /** The messages it holds, oldest first: all, or those of one conversation. */
  messages(conversationId?: string | null): Message[];
}

/** The configuration JSON's keys (README, "Configuration"); all optional, unknown keys refused. */
export interface ClientConfig {
  base_url?: string;
  application_id?: string;
  api_key_header?: string;
  connect_timeout_ms?: number;
  request_timeout_ms?: number | null;
  max_body_bytes?: number;
  user_agent?: string;
  stream?: Record<string, number | null>;
  discovery?: { ports?: string | null; connect_timeout_ms?: number; answer_timeout_ms?: number; use_environment?: boolean };
  compatible_versions?: { at_least?: string; below?: string };
}

/** The mirror's options (README, "A mirror of every message"). */
export interface MirrorOptions {
  transferables?: boolean | null;
  announce_initial?: boolean;
  snapshot_threshold?: number | null;
  retry_initial_ms?: number;
  retry_max_ms?: number;
  stale_after?: number;
}

export type Json = string | Record<string, unknown>;

/** A client for one PiecesOS. Thread-safe in the library; calls of both forms may overlap. */
export declare class Client {
  /**
   * `config`: a base URL, an object of configuration keys, or nothing: without `base_url` (and
   * PIECES_OS_URL) the client finds PiecesOS on 127.0.0.1 at its first request.
   */
  constructor(config?: string | ClientConfig);

  /** The URL requests go to (a discovering client scans now if it has not yet). */
  baseUrl(): Promise<string>;
  baseUrlSync(): string;
  /** PiecesOS's version, checked against `compatible_versions`. */
  checkVersion(): Promise<string>;
  checkVersionSync(): string;
  /** Every conversation message. */
  snapshot(transferables?: Transferables): Promise<Message[]>;
  snapshotSync(transferables?: Transferables): Message[];
  /** One message; a PiecesError with status NOT_FOUND for an id PiecesOS does not know. */
  get(messageId: string, transferables?: Transferables): Promise<Message>;
  getSync(messageId: string, transferables?: Transferables): Message;
  /** Adds a text message to a conversation and returns it as stored. */
  create(conversationId: string, text: string, role?: string): Promise<Message>;
  createSync(conversationId: string, text: string, role?: string): Message;
  /** Creates a message from a whole SeededConversationMessage (an object, or JSON text sent as it is). */
  createFromSeed(seed: Json, transferables?: Transferables): Promise<Message>;
  createFromSeedSync(seed: Json, transferables?: Transferables): Message;
  /** Sends a whole message back (a Message: its exact text) and returns it as stored. */
  update(message: Message | Json, transferables?: Transferables): Promise<Message>;
  updateSync(message: Message | Json, transferables?: Transferables): Message;
  /** Deletes a message (an unknown id: HTTP_STATUS, 500). */
  delete(messageId: string): Promise<void>;
  deleteSync(messageId: string): void;
  /** Searches the messages' text: a query, or a whole SearchInput. Best match first. */
  search(query: string | Record<string, unknown>, transferables?: Transferables): Promise<SearchHit[]>;
  searchSync(query: string | Record<string, unknown>, transferables?: Transferables): SearchHit[];

  /** The identifier stream, in pull mode. */
  subscribe(): Subscription;
  /** A mirror of every message, in pull mode. */
  mirror(options?: MirrorOptions): Mirror;
  /** Frees the client (after calls still running on workers); its subscriptions and mirrors live on. */
  close(): void;
  [Symbol.dispose](): void;
}

/** The exact text of each element of a JSON array. */
export declare function elements(text: string): string[];
/** The exact text of each member of a JSON object, by key. */
export declare function members(text: string): Record<string, string>;
