--[[
A message panel, as a LuaJIT plugin would keep one: the current messages, then each change.

It uses the pieces_messages module (bindings/lua) and its mirror in pull mode: the library keeps every
message current on a thread of its own, and the host takes the changes from its own loop; the library
never calls into Lua. In Neovim (`:luafile examples/lua/message_panel.lua`, with bindings/lua on the
runtimepath) a vim.uv timer polls it; under plain luajit the script's own loop does.

    LUA_PATH="bindings/lua/lua/?.lua;;" PIECES_OS_CLIENT_LIBRARY=path/to/libpieces_os_client.so \
        luajit examples/lua/message_panel.lua [URL] [SECONDS]

Without a URL it finds PiecesOS on 127.0.0.1 by itself.
]]

local pieces = require("pieces_messages")

local url, seconds = arg and arg[1], arg and tonumber(arg[2])
if url == "" then
  url = nil
end

local function line(message)
  local text = (message.text or ""):gsub("%s+", " ")
  return string.format("[%s] %s", message.role or "?", text:sub(1, 72))
end

local function show(mirror, event)
  if event.type == "synced" then
    print(event.count .. " messages")
    for _, message in ipairs(mirror:messages()) do
      print("  " .. line(message))
    end
  elseif event.type == "added" then
    print("+ " .. line(event.message))
  elseif event.type == "updated" then
    print("~ " .. line(event.message))
  elseif event.type == "removed" then
    print("- " .. event.id)
  elseif event.type == "stale" or event.type == "disconnected" or event.type == "error" then
    print("! " .. event.type .. ": " .. tostring(event.error and event.error.message))
  end
end

io.stdout:setvbuf("line") -- each change shows at once, also in a pipe
local client = pieces.client({ base_url = url, application_id = "lua-message-panel" })
print(string.format("PiecesOS %s at %s", client:check_version(), client:base_url()))
local mirror = client:mirror({ announce_initial = false })

if vim and vim.uv then
  -- Neovim: poll from a timer on the main loop; nothing blocks the editor.
  local timer = vim.uv.new_timer()
  timer:start(0, 200, vim.schedule_wrap(function()
    for _, event in ipairs(mirror:poll()) do
      show(mirror, event)
    end
  end))
  vim.api.nvim_create_autocmd("VimLeavePre", {
    callback = function()
      timer:close()
      mirror:close()
      client:close()
    end,
  })
else
  -- Plain LuaJIT: this loop is the host; each wait is at most 200 ms.
  local deadline = seconds and os.time() + seconds
  while not deadline or os.time() < deadline do
    local event = mirror:next(200)
    if event then
      show(mirror, event)
    end
  end
  mirror:close()
  client:close()
end
