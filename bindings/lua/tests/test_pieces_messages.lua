--[[
The tests of pieces_messages, with plain luajit, against stand-in PiecesOS processes on 127.0.0.1.

    PIECES_OS_SERVER=path/to/pieces-os-server PIECES_OS_CLIENT_LIBRARY=path/to/libpieces_os_client.so \
        luajit bindings/lua/tests/test_pieces_messages.lua

bindings/check.sh lua builds both and runs this. Each test starts the stand-ins it needs (the program's
--port 0 prints the URL); every wait is bounded. The last line is "lua: N passed, M failed".
]]

local here = debug.getinfo(1, "S").source:sub(2):match("^(.*)/") or "."
package.path = here .. "/../lua/?.lua;" .. package.path

local pieces = require("pieces_messages")
local status = pieces.status

local server_program = assert(os.getenv("PIECES_OS_SERVER"), "set PIECES_OS_SERVER to the stand-in program")
local WAIT_MS = 30000

-- Stand-ins -------------------------------------------------------------------------------------------

local started = {}

-- Starts a stand-in with the given options and returns its URL. The shell prints its pid, then becomes
-- the program (exec), so the pid is the program's.
local function stand_in(options)
  local pipe = assert(io.popen("exec sh -c 'echo $$; exec \"$0\" --port 0 " .. (options or "") .. " 2>/dev/null' '" .. server_program .. "'", "r"))
  local pid = pipe:read("*l")
  local line = pipe:read("*l") or ""
  started[#started + 1] = { pid = pid, pipe = pipe }
  local url = line:match("^listening on (%S+)")
  assert(url, "the stand-in did not start: " .. line)
  return url
end

local function stop_stand_ins()
  for _, server in ipairs(started) do
    os.execute("kill " .. server.pid .. " 2>/dev/null")
    server.pipe:close()
  end
  started = {}
end

-- A loopback port that nothing listens on: the stand-in's own port, after it stopped.
local function refused_url()
  local url = stand_in("")
  stop_stand_ins()
  return url
end

-- Harness ---------------------------------------------------------------------------------------------

local tests = {}
local function test(name, body)
  tests[#tests + 1] = { name = name, body = body }
end

local function expect_error(expected_status, fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error with status " .. expected_status)
  assert(pieces.is_error(err), "not an error of the module: " .. tostring(err))
  assert(err.status == expected_status, string.format("status %s, expected %d: %s", tostring(err.status), expected_status, tostring(err)))
  return err
end

-- Takes events until one satisfies the predicate, polling as a host's loop would, at most WAIT_MS.
local function wait_for(source, predicate)
  for _ = 1, WAIT_MS / 100 do
    local event = source:next(100)
    if event and predicate(event) then
      return event
    end
  end
  return nil
end

local function mentions(event, id, deleted)
  if event.type ~= "identifiers" then
    return false
  end
  for _, item in ipairs(event.data.data.iterable) do
    local reference = item.conversationMessage
    if type(reference) == "table" and reference.id == id and (item.deleted == true) == (deleted == true) then
      return true
    end
  end
  return false
end

-- How many threads of this process have a name starting with prefix (the library names its threads
-- "pieces-..."; Linux shows them in /proc).
local function library_threads(prefix)
  local pid = io.open("/proc/self/stat"):read("*l"):match("^(%d+)")
  local count = 0
  local tasks = io.popen("ls /proc/" .. pid .. "/task")
  for task in tasks:lines() do
    local comm = io.open("/proc/" .. pid .. "/task/" .. task .. "/comm")
    if comm then
      local name = comm:read("*l") or ""
      comm:close()
      if name:sub(1, #prefix) == prefix then
        count = count + 1
      end
    end
  end
  tasks:close()
  return count
end

-- Tests -----------------------------------------------------------------------------------------------

test("the version is the library's, of the module's ABI line", function()
  local version = pieces.version()
  assert(version:match("^%d+%.%d+%.%d+$"), version)
  assert(pieces.abi_line(version) == pieces.ABI_LINE)
  assert(pieces.abi_line("1.4.2") == "1" and pieces.abi_line("0.2.9") == "0.2")
  local named = os.getenv(pieces.LIBRARY_ENV)
  assert(not named or pieces.library_path == named, "the library named by the variable is the one loaded")
end)

test("JSON slices keep the exact text of each element and member", function()
  local elements = pieces.elements(' [ {"a": "]}\\"[", "n": 12345678901234567890.000000000000000001} , [1,[2]], "x" ,null]')
  assert(#elements == 4)
  assert(elements[1] == '{"a": "]}\\"[", "n": 12345678901234567890.000000000000000001}', elements[1])
  assert(elements[2] == "[1,[2]]" and elements[3] == '"x"' and elements[4] == "null")
  assert(#pieces.elements("[]") == 0)
  local members = pieces.members('{"type":"added","message":{"id":"m","v":1.10},"k" : [ ] }')
  assert(members.type == '"added"' and members.message == '{"id":"m","v":1.10}' and members.k == "[ ]")
end)

test("create, get, snapshot, search, update and delete", function()
  local url = stand_in("--seed 5")
  local client = pieces.client({ base_url = url, application_id = "lua-tests" })
  assert(client:base_url() == url)
  assert(#client:check_version() > 0)
  assert(#client:snapshot() == 5)

  local created = client:create("lua-conversation", "a lua plugin was here", "ASSISTANT")
  assert(created.id and created.text == "a lua plugin was here", created.json)
  assert(created.role == "ASSISTANT" and created.conversation_id == "lua-conversation")
  assert(client:get(created.id).text == created.text)

  local found = false
  for _, message in ipairs(client:snapshot(pieces.transferables.EXCLUDE)) do
    if message.id == created.id then
      found = message.text == nil
    end
  end
  assert(found, "the snapshot without content has it, without its text")

  local hit = false
  for _, result in ipairs(client:search("lua plugin")) do
    hit = hit or result.id == created.id
  end
  assert(hit, "search finds it")

  local changed = created.json:gsub("a lua plugin was here", "changed by lua")
  assert(client:update(changed).text == "changed by lua")
  assert(client:get(created.id).text == "changed by lua")

  client:delete(created.id)
  local gone = expect_error(status.NOT_FOUND, client.get, client, created.id)
  assert(gone.kind == "not_found" and gone.detail.status == 410 and gone.detail.id == created.id)
  client:close()
  client:close()
  local ok, err = pcall(client.snapshot, client)
  assert(not ok and tostring(err):find("closed"), "a closed client refuses calls")
  stop_stand_ins()
end)

test("deleting twice is HTTP 500, with the status and body in the error", function()
  local client = pieces.client({ base_url = stand_in("--seed 1") })
  local created = client:create("c", "short-lived")
  client:delete(created.id)
  local err = expect_error(status.HTTP_STATUS, client.delete, client, created.id)
  assert(err.kind == "http_status" and err.detail.status == 500, err.json)
  assert(err.detail.body:find(created.id, 1, true), err.json)
  assert(err.fn == "pieces_messages_delete" and err.json:find('"status":500', 1, true))
  assert(tostring(err):find("HTTP_STATUS", 1, true))
  client:close()
  stop_stand_ins()
end)

test("failing, refused and missing servers are precise errors", function()
  local failing = pieces.client({ base_url = stand_in("--fail-every 1") })
  assert(expect_error(status.HTTP_STATUS, failing.snapshot, failing).detail.status == 500)
  local refused = pieces.client({ base_url = refused_url() })
  assert(expect_error(status.CONNECTION, refused.snapshot, refused).kind == "connection")
  local port = refused_url():match(":(%d+)$")
  local nowhere = pieces.client({ discovery = { ports = port .. "-" .. port, use_environment = false } })
  local err = expect_error(status.NOT_RUNNING, nowhere.base_url, nowhere)
  assert(err.detail.scanned == port .. "-" .. port, err.json)
  stop_stand_ins()
end)

test("without a URL the client discovers the stand-in", function()
  local url = stand_in("--seed 5")
  local port = url:match(":(%d+)$")
  local client = pieces.client({ discovery = { ports = port .. "-" .. port, use_environment = false } })
  assert(client:base_url() == url)
  assert(#client:snapshot() == 5)
  client:close()
  stop_stand_ins()
end)

test("bad configuration and input are refused before anything is sent", function()
  local url = stand_in("--seed 5")
  local err = expect_error(status.INVALID_JSON, pieces.client, { base_url = url, no_such_key = 1 })
  assert(err.detail.line and err.detail.column, err.json)
  assert(expect_error(status.INVALID_ARGUMENT, pieces.client, { base_url = "ftp://127.0.0.1:1" }).detail.argument)
  local client = pieces.client({ base_url = url })
  expect_error(status.INVALID_JSON, client.create_from_seed, client, "{not json")
  expect_error(status.INVALID_ARGUMENT, client.get, client, "")
  expect_error(status.INVALID_ARGUMENT, client.snapshot, client, 7)
  assert(#client:snapshot() == 5, "nothing was sent")
  stop_stand_ins()
end)

test("the identifier stream in pull mode: order, changes, stop, nothing after the terminal event", function()
  local client = pieces.client({ base_url = stand_in("--seed 5") })
  local subscription = client:subscribe()
  local first = subscription:next(WAIT_MS)
  assert(first and first.type == "connected", "the first event is connected")
  local full = wait_for(subscription, function(e) return e.type == "identifiers" end)
  assert(full and full.data.full == true and #full.data.data.iterable == 5, "then the full set of ids")

  local created = client:create("lua-stream", "on the stream")
  assert(wait_for(subscription, function(e) return mentions(e, created.id) end), "the new message arrives")
  client:delete(created.id)
  assert(wait_for(subscription, function(e) return mentions(e, created.id, true) end), "the deletion arrives")

  assert(#subscription:poll() == 0, "poll takes what waits and never waits")
  subscription:stop()
  local closed = wait_for(subscription, function(e) return e.terminal end)
  assert(closed and closed.type == "closed", "stop ends with a closed event")
  assert(subscription.finished and subscription:next(0) == nil, "nothing after the terminal event")
  subscription:close()
  local ok, err = pcall(subscription.next, subscription, 0)
  assert(not ok and tostring(err):find("closed"))
  client:close()
  stop_stand_ins()
end)

test("the mirror announces the messages, then every change, and reads them back", function()
  local client = pieces.client({ base_url = stand_in("--seed 5") })
  local mirror = client:mirror()
  local initial = {}
  local synced = wait_for(mirror, function(e)
    initial[#initial + 1] = e.type
    return e.type == "synced"
  end)
  assert(synced and synced.count == 5 and #initial == 6 and initial[1] == "added", table.concat(initial, ","))
  assert(#mirror:messages() == 5)

  local created = client:create("lua-mirror", "Hello from the Lua mirror")
  local added = wait_for(mirror, function(e) return e.type == "added" end)
  assert(added and added.message.text == "Hello from the Lua mirror" and added.id == created.id)
  assert(mirror:get(created.id).json == added.message.json, "the mirror holds the event's exact text")
  local conversation = mirror:messages("lua-mirror")
  assert(#conversation == 1 and conversation[1].id == created.id)
  assert(#mirror:messages("no-such-conversation") == 0)

  client:update(created.json:gsub("Hello from the Lua mirror", "edited"))
  local updated = wait_for(mirror, function(e) return e.type == "updated" end)
  assert(updated and updated.message.text == "edited" and mirror:get(created.id).text == "edited")

  client:delete(created.id)
  local removed = wait_for(mirror, function(e) return e.type == "removed" end)
  assert(removed and removed.id == created.id and mirror:get(created.id) == nil)

  mirror:stop()
  local events = {}
  for event in mirror:events(WAIT_MS) do
    events[#events + 1] = event.type
  end
  assert(events[#events] == "closed" and mirror.finished, table.concat(events, ","))
  assert(#mirror:messages() == 5, "readable until closed")
  mirror:close()
  client:close()
  stop_stand_ins()
end)

test("mirror options: announce_initial false starts with synced; bad options are refused", function()
  local client = pieces.client({ base_url = stand_in("--seed 5") })
  local mirror = client:mirror({ announce_initial = false, transferables = false })
  local first = mirror:next(WAIT_MS)
  assert(first and first.type == "synced" and first.count == 5)
  for _, message in ipairs(mirror:messages()) do
    assert(message.text == nil, "no content with transferables false")
  end
  mirror:close()
  expect_error(status.INVALID_ARGUMENT, client.mirror, client, { stale_after = 0 })
  expect_error(status.INVALID_JSON, client.mirror, client, { no_such_option = true })
  stop_stand_ins()
end)

test("close and the garbage collector end the mirror's thread", function()
  local client = pieces.client({ base_url = stand_in("--seed 5") })
  local before = library_threads("pieces-mirror")
  local mirror = client:mirror()
  assert(wait_for(mirror, function(e) return e.type == "synced" end))
  assert(library_threads("pieces-mirror") == before + 1)
  mirror:close()
  assert(library_threads("pieces-mirror") == before)
  local forgotten = client:mirror()
  assert(wait_for(forgotten, function(e) return e.type == "synced" end))
  assert(library_threads("pieces-mirror") == before + 1)
  forgotten = nil -- luacheck: ignore
  collectgarbage()
  collectgarbage()
  assert(library_threads("pieces-mirror") == before, "ffi.gc freed the forgotten mirror")
  stop_stand_ins()
end)

-- Run -------------------------------------------------------------------------------------------------

local passed, failed = 0, 0
for _, case in ipairs(tests) do
  local ok, err = xpcall(case.body, function(e) return debug.traceback(tostring(e), 2) end)
  stop_stand_ins()
  if ok then
    passed = passed + 1
    print("ok - " .. case.name)
  else
    failed = failed + 1
    print("FAILED - " .. case.name .. "\n" .. err)
  end
end
print(string.format("lua: %d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1)
