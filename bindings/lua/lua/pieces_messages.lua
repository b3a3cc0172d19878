--[[
pieces_messages: PiecesOS conversation messages for LuaJIT hosts (Neovim and others), through the
pieces_os_client C library and LuaJIT's FFI.

    local pieces = require("pieces_messages")
    local client = pieces.client()              -- no base_url: PiecesOS is found on 127.0.0.1
    local mirror = client:mirror()              -- every message, kept current by the library
    for _, event in ipairs(mirror:poll()) do    -- from the host's own loop; never waits
      if event.message then print(event.type, event.message.text) end
    end

Pull mode only: the library queues events and never calls into Lua (LuaJIT cannot be entered from a
thread of the library). Take them from the host's loop; in Neovim, a libuv timer:

    local timer = vim.uv.new_timer()
    timer:start(0, 200, vim.schedule_wrap(function()
      for _, event in ipairs(mirror:poll()) do render(event) end
      if mirror.finished then timer:close() end
    end))

Handles are freed by :close(), or by the garbage collector (ffi.gc) when forgotten. A free stops a
subscription or mirror and joins its thread, which in pull mode never runs Lua code, so the collector
may run it anywhere; it may wait for a fetch under way (at most the client's request_timeout_ms), so
close what you are done with (in Neovim, on VimLeavePre) instead of leaving it to the collector.

Failed calls raise an error object (see pieces.Error): status, kind, message, detail (the last-error
JSON decoded) and json (its text), read right after the failing call. JSON goes through vim.json in
Neovim, else lua-cjson (`require "cjson"`); set pieces.json = { encode = f, decode = g } for another.
The library is the file named by $PIECES_OS_CLIENT_LIBRARY, else libpieces_os_client.so beside this
file, else the system's (ffi.load("pieces_os_client")); pieces.load(path) chooses it explicitly.
]]

local ffi = require("ffi")

local M = {}

--- The ABI line this module was written for: 0.MINOR before 1.0, MAJOR from 1.0 on.
M.ABI_LINE = "0.1"

--- The environment variable that names the library.
M.LIBRARY_ENV = "PIECES_OS_CLIENT_LIBRARY"

--- pieces_status values (include/pieces_os_client.h): explicit, never renumbered.
M.status = {
  OK = 0, NULL_PARAMETER = 1, INVALID_UTF8 = 2, INVALID_JSON = 3, INVALID_ARGUMENT = 4,
  CONNECTION = 5, TIMEOUT = 6, HTTP_STATUS = 7, DECODE = 8, WEBSOCKET = 9, NO_EVENT = 10,
  CLOSED = 11, IN_CALLBACK = 12, PANIC = 13, BODY_TOO_LARGE = 14, NOT_RUNNING = 15,
  INCOMPATIBLE_VERSION = 16, INTERNAL = 17, NOT_FOUND = 18,
}
local status = M.status

--- Whether PiecesOS includes heavy content (a fragment's text) in what it answers.
M.transferables = { DEFAULT = 0, INCLUDE = 1, EXCLUDE = 2 }

-- The declarations of include/pieces_os_client.h this module uses (cdef takes no preprocessor lines).
-- Callbacks are never passed, so their parameters are plain pointers, always NULL.
ffi.cdef([[
typedef struct pieces_client pieces_client;
typedef struct pieces_subscription pieces_subscription;
typedef struct pieces_mirror pieces_mirror;
typedef uint32_t pieces_status;
typedef uint32_t pieces_transferables;

const char *pieces_version(void);
const char *pieces_last_error_json(void);
void pieces_string_free(char *s);
pieces_status pieces_client_new(const char *config_json, pieces_client **out);
void pieces_client_free(pieces_client *client);
pieces_status pieces_client_base_url(const pieces_client *client, char **out);
pieces_status pieces_client_check_version(const pieces_client *client, char **out_version);
pieces_status pieces_messages_snapshot(const pieces_client *c, pieces_transferables t, char **out_json);
pieces_status pieces_messages_create(const pieces_client *c, const char *seed_json, pieces_transferables t,
                                     char **out_json);
pieces_status pieces_messages_delete(const pieces_client *c, const char *message_id);
pieces_status pieces_messages_search(const pieces_client *c, const char *search_input_json,
                                     pieces_transferables t, char **out_json);
pieces_status pieces_messages_get(const pieces_client *c, const char *message_id, pieces_transferables t,
                                  char **out_json);
pieces_status pieces_messages_update(const pieces_client *c, const char *message_json, pieces_transferables t,
                                     char **out_json);
pieces_status pieces_messages_subscribe(const pieces_client *c, void *cb, void *userdata, void *userdata_free,
                                        pieces_subscription **out);
pieces_status pieces_subscription_next(pieces_subscription *s, int32_t timeout_ms, char **out_json);
pieces_status pieces_subscription_stop(pieces_subscription *s);
void pieces_subscription_free(pieces_subscription *s);
pieces_status pieces_mirror_new(const pieces_client *c, const char *options_json, void *cb, void *userdata,
                                void *userdata_free, pieces_mirror **out);
pieces_status pieces_mirror_next(pieces_mirror *m, int32_t timeout_ms, char **out_json);
pieces_status pieces_mirror_get(const pieces_mirror *m, const char *message_id, char **out_json);
pieces_status pieces_mirror_list(const pieces_mirror *m, const char *conversation_id, char **out_json);
pieces_status pieces_mirror_stop(pieces_mirror *m);
void pieces_mirror_free(pieces_mirror *m);
]])

-- JSON ------------------------------------------------------------------------------------------------

local function default_json()
  if type(vim) == "table" and vim.json then
    return vim.json
  end
  local ok, cjson = pcall(require, "cjson")
  if ok then
    return cjson
  end
  return nil
end

--- The JSON codec: { encode = function(value) -> text, decode = function(text) -> value }.
M.json = default_json()

local function codec()
  if not M.json then
    error("pieces_messages: no JSON codec: install lua-cjson, or set pieces.json = { encode = ..., decode = ... }", 3)
  end
  return M.json
end

-- Whether a decoded JSON value is present (not absent, not JSON null, which codecs decode to userdata).
local function present(value, kind)
  return type(value) == kind
end

-- The end (one past the last byte) of the JSON value that starts at byte i of s. The library hands out
-- checked JSON, so only strings (with escapes) and nesting need care.
local function value_end(s, i)
  local depth = 0
  local n = #s
  while i <= n do
    local c = s:byte(i)
    if c == 34 then -- "
      i = i + 1
      while true do
        local b = s:byte(i)
        if b == 92 then
          i = i + 2
        elseif b == 34 or b == nil then
          break
        else
          i = i + 1
        end
      end
      if depth == 0 then
        return i + 1
      end
    elseif c == 123 or c == 91 then -- { [
      depth = depth + 1
    elseif c == 125 or c == 93 then -- } ]
      depth = depth - 1
      if depth == 0 then
        return i + 1
      end
      if depth < 0 then
        return i
      end
    elseif depth == 0 and (c == 44 or c == 32 or c == 9 or c == 10 or c == 13) then
      return i
    end
    i = i + 1
  end
  return i
end

local function skip_space(s, i)
  return s:find("[^ \t\r\n]", i) or #s + 1
end

-- Walks a JSON array or object, calling visit(key_text_or_nil, value_text) with the exact text of each
-- element or member.
local function walk(s, open, close, visit)
  local i = skip_space(s, 1)
  assert(s:byte(i) == open, "pieces_messages: unexpected JSON from the library")
  i = skip_space(s, i + 1)
  if s:byte(i) == close then
    return
  end
  while true do
    local key
    if open == 123 then
      local key_end = value_end(s, i)
      key = s:sub(i, key_end - 1)
      i = skip_space(s, key_end)
      assert(s:byte(i) == 58, "pieces_messages: unexpected JSON from the library") -- :
      i = skip_space(s, i + 1)
    end
    local stop = value_end(s, i)
    visit(key, s:sub(i, stop - 1))
    i = skip_space(s, stop)
    if s:byte(i) == close then
      return
    end
    assert(s:byte(i) == 44, "pieces_messages: unexpected JSON from the library") -- ,
    i = skip_space(s, i + 1)
  end
end

--- The exact text of each element of a JSON array.
function M.elements(text)
  local found = {}
  walk(text, 91, 93, function(_, value)
    found[#found + 1] = value
  end)
  return found
end

--- The exact text of each member of a JSON object, by key (a repeated key: its last value).
function M.members(text)
  local found = {}
  walk(text, 123, 125, function(key, value)
    found[codec().decode(key)] = value
  end)
  return found
end

-- Messages and events ---------------------------------------------------------------------------------

--- A message from the server's exact JSON text: { json = text, data = decoded, id, conversation_id,
--- role, text, created } (a field PiecesOS did not send is nil; so is text without the content).
function M.message(json_text)
  local data = codec().decode(json_text)
  local conversation = data.conversation
  local fragment = data.fragment
  local string_value = present(fragment, "table") and fragment.string or nil
  local created = data.created
  return {
    json = json_text,
    data = data,
    id = data.id,
    conversation_id = present(conversation, "table") and present(conversation.id, "string") and conversation.id or nil,
    role = present(data.role, "string") and data.role or nil,
    text = present(string_value, "table") and present(string_value.raw, "string") and string_value.raw or nil,
    created = present(created, "table") and present(created.value, "string") and created.value or nil,
  }
end

local function messages_of_array(text)
  local list = {}
  for index, element in ipairs(M.elements(text)) do
    list[index] = M.message(element)
  end
  return list
end

--- An event from its JSON text: { json, data, type, terminal, message (added/updated), id (removed, or
--- the message's), count (synced), error (error, stale, disconnected) }.
function M.event(json_text)
  local data = codec().decode(json_text)
  local event = {
    json = json_text,
    data = data,
    type = data.type,
    terminal = data.type == "closed" or data.type == "error",
    count = present(data.count, "number") and data.count or nil,
    error = present(data.error, "table") and data.error or nil,
    id = present(data.id, "string") and data.id or nil,
  }
  if present(data.message, "table") then
    event.message = M.message(M.members(json_text).message)
    event.id = event.message.id
  end
  return event
end

-- The library and errors ------------------------------------------------------------------------------

--- The metatable of the errors this module raises.
M.Error = {}
M.Error.__index = M.Error
M.Error.__tostring = function(e)
  return string.format("%s: %s: %s", e.fn, e.status_name or tostring(e.status), e.message)
end

--- Whether a value caught by pcall is an error of this module.
function M.is_error(value)
  return getmetatable(value) == M.Error
end

local status_names = {}
for name, value in pairs(status) do
  status_names[value] = name
end

local C

local function abi_line(version)
  local major, minor = version:match("^(%d+)%.(%d+)")
  return major == "0" and ("0." .. minor) or major
end
M.abi_line = abi_line

local function module_dir()
  local source = debug.getinfo(1, "S").source
  return source:sub(1, 1) == "@" and (source:sub(2):match("^(.*)[/\\]") or ".") or "."
end

local function readable(path)
  local file = io.open(path, "rb")
  if file then
    file:close()
    return true
  end
  return false
end

--- Loads the library (once): `path`, else $PIECES_OS_CLIENT_LIBRARY, else libpieces_os_client.so beside
--- this file, else the system's. Returns the path or name it loaded.
function M.load(path)
  if C then
    return M.library_path
  end
  local candidates = {}
  if path then
    candidates[1] = path
  else
    local named = os.getenv(M.LIBRARY_ENV)
    if named and named ~= "" then
      candidates[#candidates + 1] = named
    end
    local beside = module_dir() .. "/libpieces_os_client.so"
    if readable(beside) then
      candidates[#candidates + 1] = beside
    end
    candidates[#candidates + 1] = "pieces_os_client"
  end
  local chosen = candidates[1]
  local loaded = ffi.load(chosen)
  local version = ffi.string(loaded.pieces_version())
  if abi_line(version) ~= M.ABI_LINE then
    error(string.format("pieces_messages: %s is pieces_os_client %s; this module needs %s.x", chosen, version, M.ABI_LINE), 2)
  end
  C, M.library_path = loaded, chosen
  return chosen
end

local function lib()
  if not C then
    M.load()
  end
  return C
end

--- The version of the loaded library, such as "0.1.0".
function M.version()
  return ffi.string(lib().pieces_version())
end

-- Raises the error for a status other than OK, with the last error read now (right after the call).
local function check(fn, code)
  if code == status.OK then
    return
  end
  local text_ptr = C.pieces_last_error_json()
  local text = text_ptr ~= nil and ffi.string(text_ptr) or nil
  local detail = {}
  if text then
    local ok, decoded = pcall(codec().decode, text)
    detail = ok and decoded or { message = text }
  end
  code = tonumber(code)
  error(setmetatable({
    fn = fn,
    status = code,
    status_name = status_names[code],
    kind = present(detail.kind, "string") and detail.kind or nil,
    message = present(detail.message, "string") and detail.message or (text or "no detail"),
    detail = detail,
    json = text,
  }, M.Error), 3)
end

-- Copies a returned string and frees it in the library.
local function take(out)
  local text = ffi.string(out[0])
  C.pieces_string_free(out[0])
  return text
end

local function string_call(fn, ...)
  local out = ffi.new("char *[1]")
  local args = { ... }
  local n = select("#", ...)
  args[n + 1] = out
  check(fn, lib()[fn](unpack(args, 1, n + 1)))
  return take(out)
end

local function json_text(value)
  if type(value) == "string" then
    return value
  end
  return codec().encode(value)
end

local function transferables_of(value)
  return value or M.transferables.DEFAULT
end

-- Handles -----------------------------------------------------------------------------------------------

-- What clients, subscriptions and mirrors share: a handle owned with ffi.gc, freed once (self._free is
-- the name of its free function, self._what what it is called in errors).
local Owned = {}
Owned.__index = Owned

function Owned:_live()
  if self._handle == nil then
    error("pieces_messages: this " .. self._what .. " is closed", 3)
  end
  return self._handle
end

--- Frees it now rather than when the collector runs: a subscription or mirror is stopped and its thread
--- joined; a client's subscriptions and mirrors live on. Closing twice does nothing.
function Owned:close()
  local handle = self._handle
  if handle ~= nil then
    self._handle = nil
    C[self._free](ffi.gc(handle, nil))
  end
end

-- Pull-mode handles (subscription and mirror) ---------------------------------------------------------

local Pull = setmetatable({}, { __index = Owned })
Pull.__index = Pull

local function pull(handle, functions)
  return setmetatable(
    { _handle = handle, _fn = functions, _free = functions.free, _what = functions.what, finished = false },
    functions.class
  )
end

--- The next event within timeout_ms (negative: wait until one comes, 0: only look), or nil when none
--- came in time or everything has been taken (then self.finished is true). A wait blocks the thread:
--- in Neovim use 0, from a timer.
function Pull:next(timeout_ms)
  local handle = self:_live()
  local out = ffi.new("char *[1]")
  local code = C[self._fn.next](handle, timeout_ms or 0, out)
  if code == status.OK then
    local event = M.event(take(out))
    if event.terminal then
      self.finished = true
    end
    return event
  elseif code == status.CLOSED then
    self.finished = true
    return nil
  elseif code == status.NO_EVENT then
    return nil
  end
  check(self._fn.next, code)
end

--- The events waiting now, oldest first (at most max_events), without waiting: what a timer calls.
function Pull:poll(max_events)
  local events = {}
  while not max_events or #events < max_events do
    local event = self:next(0)
    if not event then
      break
    end
    events[#events + 1] = event
  end
  return events
end

--- An iterator over the events, waiting up to timeout_ms for each (default: without limit); it ends
--- when one does not come in time, or after the terminal event.
function Pull:events(timeout_ms)
  local done = false
  return function()
    if done then
      return nil
    end
    local event = self:next(timeout_ms or -1)
    done = event == nil or event.terminal
    return event
  end
end

--- Asks it to stop and returns at once; the terminal "closed" event follows the events queued.
function Pull:stop()
  check(self._fn.stop, C[self._fn.stop](self:_live()))
end

local Subscription = setmetatable({}, { __index = Pull })
Subscription.__index = Subscription
local subscription_functions = {
  class = Subscription,
  next = "pieces_subscription_next",
  stop = "pieces_subscription_stop",
  free = "pieces_subscription_free",
  what = "subscription",
}

local Mirror = setmetatable({}, { __index = Pull })
Mirror.__index = Mirror
local mirror_functions = {
  class = Mirror,
  next = "pieces_mirror_next",
  stop = "pieces_mirror_stop",
  free = "pieces_mirror_free",
  what = "mirror",
}

--- The mirror's copy of one message (no request), or nil when it holds no such message.
function Mirror:get(message_id)
  local handle = self:_live()
  local out = ffi.new("char *[1]")
  local code = C.pieces_mirror_get(handle, message_id, out)
  if code == status.NOT_FOUND then
    return nil
  end
  check("pieces_mirror_get", code)
  return M.message(take(out))
end

--- The messages it holds, oldest first: all, or those of one conversation.
function Mirror:messages(conversation_id)
  return messages_of_array(string_call("pieces_mirror_list", self:_live(), conversation_id))
end

-- The client ------------------------------------------------------------------------------------------

local Client = setmetatable({}, { __index = Owned })
Client.__index = Client

--- A client. `config` is a table of the configuration JSON's keys (base_url, application_id,
--- request_timeout_ms, stream, discovery, ...), or JSON text, or nil: without base_url (and
--- PIECES_OS_URL) the client finds PiecesOS on 127.0.0.1 at its first request.
function M.client(config)
  local out = ffi.new("pieces_client *[1]")
  local text = config ~= nil and json_text(config) or nil
  check("pieces_client_new", lib().pieces_client_new(text, out))
  return setmetatable({ _handle = ffi.gc(out[0], C.pieces_client_free), _free = "pieces_client_free", _what = "client" }, Client)
end

--- The URL requests go to (a client that discovers PiecesOS scans now if it has not yet).
function Client:base_url()
  return string_call("pieces_client_base_url", self:_live())
end

--- PiecesOS's version, checked against the client's compatible_versions.
function Client:check_version()
  return string_call("pieces_client_check_version", self:_live())
end

--- Every conversation message, as messages (see pieces.message).
function Client:snapshot(transferables)
  local text = string_call("pieces_messages_snapshot", self:_live(), transferables_of(transferables))
  return messages_of_array(M.members(text).iterable or "[]")
end

--- One message; an error with status NOT_FOUND for an id PiecesOS does not know.
function Client:get(message_id, transferables)
  return M.message(string_call("pieces_messages_get", self:_live(), message_id, transferables_of(transferables)))
end

--- Adds a text message to a conversation (role "USER" unless given) and returns it as stored.
function Client:create(conversation_id, text, role)
  return self:create_from_seed({
    role = role or "USER",
    conversation = { id = conversation_id },
    fragment = { string = { raw = text } },
  })
end

--- Creates a message from a whole SeededConversationMessage (a table, or JSON text sent as it is).
function Client:create_from_seed(seed, transferables)
  return M.message(string_call("pieces_messages_create", self:_live(), json_text(seed), transferables_of(transferables)))
end

--- Sends a whole message back and returns it as stored: a message of this module (its exact text is
--- sent), a table (encoded), or JSON text.
function Client:update(message, transferables)
  local text = type(message) == "table" and message.json or json_text(message)
  return M.message(string_call("pieces_messages_update", self:_live(), text, transferables_of(transferables)))
end

--- Deletes a message (PiecesOS answers an id it does not know with HTTP 500: status HTTP_STATUS).
function Client:delete(message_id)
  check("pieces_messages_delete", C.pieces_messages_delete(self:_live(), message_id))
end

--- Searches the messages' text: a query string, or a whole SearchInput (table or JSON text). Returns the
--- hits, best first: { json, data, id, similarity, exact }.
function Client:search(query, transferables)
  local input = type(query) == "string" and { engines = { iterable = { { query = query } } } } or query
  local text = string_call("pieces_messages_search", self:_live(), json_text(input), transferables_of(transferables))
  local hits = {}
  for index, element in ipairs(M.elements(M.members(text).iterable or "[]")) do
    local data = codec().decode(element)
    hits[index] = {
      json = element,
      data = data,
      id = data.identifier,
      similarity = present(data.similarity, "number") and data.similarity or nil,
      exact = present(data.exact, "boolean") and data.exact or nil,
    }
  end
  return hits
end

--- The identifier stream, in pull mode: "connected", "identifiers" (data.full, data.data), "disconnected",
--- then one terminal "closed" or "error".
function Client:subscribe()
  local out = ffi.new("pieces_subscription *[1]")
  check("pieces_messages_subscribe", C.pieces_messages_subscribe(self:_live(), nil, nil, nil, out))
  return pull(ffi.gc(out[0], C.pieces_subscription_free), subscription_functions)
end

--- A mirror of every message, in pull mode. `options` (table or JSON text, optional): transferables,
--- announce_initial, snapshot_threshold, retry_initial_ms, retry_max_ms, stale_after. Events: "added",
--- "updated" (event.message), "removed" (event.id), "synced" (event.count), "stale", "disconnected", then
--- one terminal "closed" or "error"; mirror:get(id) and mirror:messages(conversation_id) read it.
function Client:mirror(options)
  local out = ffi.new("pieces_mirror *[1]")
  local text = options ~= nil and json_text(options) or nil
  check("pieces_mirror_new", C.pieces_mirror_new(self:_live(), text, nil, nil, nil, out))
  return pull(ffi.gc(out[0], C.pieces_mirror_free), mirror_functions)
end

return M
