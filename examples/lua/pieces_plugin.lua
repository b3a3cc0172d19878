--[[
A PiecesOS "plugin" in LuaJIT, through its FFI and the pieces_os_client C library.

A Lua state must never be entered from a thread of the library (LuaJIT cannot take callbacks from
foreign threads), so this uses pull mode: the subscription queues its events, and this script takes
them with pieces_subscription_next whenever it likes, as an editor's timer or idle loop would. No
function of this script is ever handed to the library.

    scripts/install.sh --prefix "$HOME/.local"
    luajit examples/lua/pieces_plugin.lua "$HOME/.local/lib/libpieces_os_client.so" http://127.0.0.1:39300

It creates a message, watches it arrive on the identifier stream, finds it with a search, deletes it,
watches the deletion arrive, and shows what an error looks like. The last line is
"lua: N passed, M failed"; the exit status is 0 only when nothing failed.
]]

local ffi = require("ffi")

-- The declarations of include/pieces_os_client.h that this plugin uses (LuaJIT's cdef takes no
-- preprocessor lines, so they are repeated here; the types are the header's).
ffi.cdef([[
typedef struct pieces_client pieces_client;
typedef struct pieces_subscription pieces_subscription;
typedef uint32_t pieces_status;
typedef uint32_t pieces_transferables;
typedef void (*pieces_event_cb)(void *userdata, const char *event_json, size_t len);

const char *pieces_version(void);
const char *pieces_last_error_json(void);
void pieces_string_free(char *s);
pieces_status pieces_client_new(const char *config_json, pieces_client **out);
void pieces_client_free(pieces_client *client);
pieces_status pieces_messages_snapshot(const pieces_client *client, pieces_transferables transferables,
                                       char **out_json);
pieces_status pieces_messages_create(const pieces_client *client, const char *seed_json,
                                     pieces_transferables transferables, char **out_json);
pieces_status pieces_messages_delete(const pieces_client *client, const char *message_id);
pieces_status pieces_messages_search(const pieces_client *client, const char *search_input_json,
                                     pieces_transferables transferables, char **out_json);
pieces_status pieces_messages_subscribe(const pieces_client *client, pieces_event_cb cb, void *userdata,
                                        void (*userdata_free)(void *userdata), pieces_subscription **out);
pieces_status pieces_subscription_next(pieces_subscription *s, int32_t timeout_ms, char **out_json);
pieces_status pieces_subscription_stop(pieces_subscription *s);
void pieces_subscription_free(pieces_subscription *s);
]])

-- pieces_status values; never renumbered.
local OK, HTTP_STATUS, NO_EVENT, CLOSED = 0, 7, 10, 11
local TRANSFERABLES_DEFAULT, TRANSFERABLES_EXCLUDE = 0, 2

local library_path, url = arg[1], arg[2]
if not library_path or not url then
  io.stderr:write("usage: luajit pieces_plugin.lua LIBRARY URL\n")
  os.exit(2)
end
local C = ffi.load(library_path)

local passed, failed = 0, 0
local function check(condition, what)
  if condition then
    passed = passed + 1
  else
    failed = failed + 1
    io.stderr:write("CHECK failed: " .. what .. "\n")
  end
end

local function last_error()
  local text = C.pieces_last_error_json()
  return text ~= nil and ffi.string(text) or "(none)"
end

-- Calls a status-returning function; errors (with the last-error JSON) unless it returned OK.
local function call(name, ...)
  local status = C[name](...)
  if status ~= OK then
    error(string.format("%s returned %d: %s", name, tonumber(status), last_error()), 2)
  end
end

-- Copies a returned string into Lua and frees it in the library.
local function take(out)
  local text = ffi.string(out[0])
  C.pieces_string_free(out[0])
  return text
end

-- The string value of `key` at the top level of a JSON object (enough for ids, which are plain).
local function top_level_string(json, key)
  local depth, i = 0, 1
  while i <= #json do
    local c = json:sub(i, i)
    if c == '"' then
      local j = i + 1
      while j <= #json and json:sub(j, j) ~= '"' do
        j = j + (json:sub(j, j) == "\\" and 2 or 1)
      end
      if depth == 1 and json:sub(i + 1, j - 1) == key then
        return json:match('^%s*:%s*"([^"]*)"', j + 1)
      end
      i = j
    elseif c == "{" or c == "[" then
      depth = depth + 1
    elseif c == "}" or c == "]" then
      depth = depth - 1
    end
    i = i + 1
  end
  return nil
end

local function event_type(event)
  return event:match('^{"type":"(%a+)"')
end

-- ffi.gc makes the garbage collector free a handle nobody freed explicitly.
local out_client = ffi.new("pieces_client *[1]")
call("pieces_client_new", string.format('{"base_url": "%s", "application_id": "lua-plugin"}', url), out_client)
local client = ffi.gc(out_client[0], C.pieces_client_free)

local function json_call(name, ...)
  local out = ffi.new("char *[1]")
  local args = { ... }
  args[#args + 1] = out
  call(name, client, unpack(args))
  return take(out)
end

local out_sub = ffi.new("pieces_subscription *[1]")
call("pieces_messages_subscribe", client, nil, nil, nil, out_sub)
local subscription = ffi.gc(out_sub[0], C.pieces_subscription_free)

-- Takes one event within timeout_ms, or nil.
local function poll(timeout_ms)
  local out = ffi.new("char *[1]")
  local status = C.pieces_subscription_next(subscription, timeout_ms, out)
  if status == OK then
    return take(out)
  elseif status == NO_EVENT or status == CLOSED then
    return nil
  end
  error("pieces_subscription_next: " .. last_error())
end

-- Polls until an event satisfies the predicate, at most 30 s (300 polls of 100 ms).
local function wait_for(predicate)
  for _ = 1, 300 do
    local event = poll(100)
    if event and predicate(event) then
      return event
    end
  end
  return nil
end

print("pieces_os_client " .. ffi.string(C.pieces_version()))

local first = wait_for(function() return true end)
check(first and event_type(first) == "connected", "the first event is connected")
local full = wait_for(function(e) return event_type(e) == "identifiers" end)
check(full and full:find('"full":true', 1, true), "then the full set of ids")

local created = json_call("pieces_messages_create",
  '{"role": "USER", "conversation": {"id": "lua-plugin"}, "fragment": {"string": {"raw": "a lua plugin was here"}}}',
  TRANSFERABLES_DEFAULT)
local id = top_level_string(created, "id")
check(id ~= nil, "create returns the message with its id")
check(created:find("a lua plugin was here", 1, true), "and its text")
check(wait_for(function(e) return event_type(e) == "identifiers" and e:find(id, 1, true) end),
  "the new message arrives on the stream")

local found = json_call("pieces_messages_search", '{"engines": {"iterable": [{"query": "lua plugin"}]}}',
  TRANSFERABLES_DEFAULT)
check(found:find('"identifier":"' .. id .. '"', 1, true), "search finds it")
local snapshot = json_call("pieces_messages_snapshot", TRANSFERABLES_EXCLUDE)
check(snapshot:find(id, 1, true), "the snapshot has it")

call("pieces_messages_delete", client, id)
check(wait_for(function(e) return e:find(id, 1, true) and e:find('"deleted":true', 1, true) end),
  "the deletion arrives on the stream")

local status = C.pieces_messages_delete(client, id)
check(status == HTTP_STATUS and last_error():find('"status":500', 1, true),
  "deleting twice is HTTP 500, with the status in the last error")

call("pieces_subscription_stop", subscription)
local closed = wait_for(function(e) local t = event_type(e) return t == "closed" or t == "error" end)
check(closed and event_type(closed) == "closed", "stop ends with a closed event")
local out = ffi.new("char *[1]")
check(C.pieces_subscription_next(subscription, 0, out) == CLOSED, "nothing after the terminal event")

-- Free now rather than whenever the collector runs: the subscription's thread ends here.
C.pieces_subscription_free(ffi.gc(subscription, nil))
C.pieces_client_free(ffi.gc(client, nil))

print(string.format("lua: %d passed, %d failed", passed, failed))
os.exit((failed == 0 and passed > 0) and 0 or 1)
