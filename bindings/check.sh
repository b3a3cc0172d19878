#!/usr/bin/env bash
# The checks of the modules for plugin hosts (what .ci/run runs, one language a step):
#
#   bindings/check.sh python   the wheel (bindings/python), installed into a fresh venv; mypy --strict on
#                              the installed package; its pytest tests; the README's Python snippet
#   bindings/check.sh lua      the LuaJIT tests (bindings/lua), the module vendored beside the library, the
#                              README's Lua snippets (the Neovim one under a stand-in for vim)
#   bindings/check.sh node     npm ci, the TypeScript declarations (tsc), the node --test tests
#                              (bindings/node), the module vendored beside the library, the README's Node
#                              snippet, and the message-panel example (examples/node)
#
# Every test runs against stand-in PiecesOS processes on 127.0.0.1, and against the C library built from
# this clone's sources by scripts/install.sh (the wheel's build hook runs it too; cargo rebuilds only what
# changed). The Python and LuaJIT examples run in `cargo test` (tests/c_api.rs).
#
# Needs cargo and binutils (as scripts/install.sh does), and: python3 with venv and pip (python);
# luajit and lua-cjson (lua); node 20 or later and npm (node). Packages come from the registries through
# pip and npm. The temporary directory is removed when everything passed and kept when something failed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

[ $# -ge 1 ] || {
    echo "usage: bindings/check.sh python|lua|node..." >&2
    exit 2
}

checks_name=bindings
# shellcheck source=scripts/check-helpers.sh
source scripts/check-helpers.sh

# The stand-in program and the pieces-messages CLI, built from this clone.
server=$(cargo build --quiet --features server,cli --bin pieces-os-server --bin pieces-messages --message-format=json |
    grep -o '"executable":"[^"]*pieces-os-server"' | sed 's/^"executable":"//; s/"$//')
[ -x "$server" ] || fail "cargo built no pieces-os-server"
cli=$(dirname "$server")/pieces-messages
export PIECES_OS_SERVER=$server

# The C library, installed as for C programs; its real file is what the modules load.
library() {
    if [ ! -f "$work/prefix/lib/libpieces_os_client.so.$version" ]; then
        scripts/install.sh --prefix "$work/prefix" >&2
    fi
    echo "$work/prefix/lib/libpieces_os_client.so.$version"
}

# The README's snippet marked <!-- ci: NAME -->, written to FILE.
readme_snippet() {
    awk -v marker="<!-- ci: $1 -->" '
        $0 == marker { wanted = 1; next }
        wanted && /^```/ { if (inside) exit; inside = 1; next }
        inside { print }
    ' README.md >"$2"
    [ -s "$2" ] || fail "README.md has no snippet marked <!-- ci: $1 -->"
}

# Runs a README snippet (the command, then the snippet's file) with PIECES_OS_URL naming a stand-in of
# three messages, from $work, and checks that it printed them: one line each, with the role first.
run_message_snippet() {
    local name=$1
    shift
    start_stand_in --seed 3
    (cd "$work" && PIECES_OS_URL=$stand_in_url "$@") | tee "$work/snippet.out"
    [ "$(grep -cE '^(USER|ASSISTANT|SYSTEM)' "$work/snippet.out")" = 3 ] ||
        fail "the README's $name snippet did not print the three messages"
}

check_python() {
    echo "-- the wheel, built from this clone"
    python3 -m venv "$work/build-venv"
    "$work/build-venv/bin/python" -m pip install --quiet --upgrade pip
    "$work/build-venv/bin/python" -m pip wheel --no-deps --wheel-dir "$work/dist" bindings/python
    local wheel
    wheel=$(ls "$work"/dist/pieces_messages-"$version"-py3-none-*.whl)
    python3 -m zipfile -l "$wheel" | tee "$work/wheel-files"
    for file in pieces_messages/libpieces_os_client.so pieces_messages/py.typed pieces_messages/__init__.py; do
        grep -q "^$file " "$work/wheel-files" || fail "the wheel has no $file"
    done

    echo "-- installed into a fresh venv"
    python3 -m venv "$work/venv"
    "$work/venv/bin/python" -m pip install --quiet "$wheel" pytest mypy
    # From the venv, with no variable naming a library: the wheel's own library is the one loaded.
    (cd "$work" && env -u PIECES_OS_CLIENT_LIBRARY "$work/venv/bin/python" -c '
import pathlib, sys, pieces_messages
path = pieces_messages.library_path()
assert pathlib.Path(sys.prefix) in path.parents, f"{path} is not inside the venv {sys.prefix}"
print("pieces_messages", pieces_messages.version(), "loads", path)
')

    echo "-- mypy --strict on the installed package (its py.typed marker makes it checkable)"
    (cd "$work" && "$work/venv/bin/python" -m mypy --strict --no-incremental -p pieces_messages)

    echo "-- the package's tests, against the stand-in"
    (cd "$work" && env -u PIECES_OS_CLIENT_LIBRARY "$work/venv/bin/python" -m pytest -p no:cacheprovider \
        --rootdir "$root/bindings/python" -c "$root/bindings/python/pyproject.toml" "$root/bindings/python/tests")

    echo "-- the README's Python snippet, with the installed wheel"
    readme_snippet python/panel.py "$work/panel.py"
    run_message_snippet python env -u PIECES_OS_CLIENT_LIBRARY "$work/venv/bin/python" panel.py
}

check_lua() {
    local lib
    lib=$(library)
    luajit -e 'require("cjson")' || fail "luajit cannot load lua-cjson (apt-get install lua-cjson)"

    echo "-- the module's tests, against the stand-in"
    PIECES_OS_CLIENT_LIBRARY=$lib luajit bindings/lua/tests/test_pieces_messages.lua

    echo "-- vendored: the module with the library beside it, and no variable"
    mkdir -p "$work/vendored-lua"
    cp bindings/lua/lua/pieces_messages.lua "$work/vendored-lua/"
    cp "$lib" "$work/vendored-lua/libpieces_os_client.so"
    start_stand_in --seed 3
    (cd / && env -u PIECES_OS_CLIENT_LIBRARY LUA_PATH="$work/vendored-lua/?.lua;;" luajit -e "
local pieces = require('pieces_messages')
local messages = pieces.client({ base_url = '$stand_in_url' }):snapshot()
assert(#messages == 3, #messages)
assert(pieces.library_path == '$work/vendored-lua/libpieces_os_client.so', pieces.library_path)
print('vendored module loads ' .. pieces.library_path .. ' and reads ' .. #messages .. ' messages')
")

    echo "-- the README's Lua snippets: plain luajit, and the Neovim timer under a stand-in for vim"
    export LUA_PATH="$root/bindings/lua/lua/?.lua;;" PIECES_OS_CLIENT_LIBRARY=$lib
    readme_snippet lua/panel.lua "$work/panel.lua"
    run_message_snippet lua luajit panel.lua
    readme_snippet lua/neovim.lua "$work/neovim.lua"
    start_stand_in --seed 3
    (cd "$work" && PIECES_OS_URL=$stand_in_url luajit -e '
-- Just what the snippet uses of Neovim: a timer whose callback this script fires, vim.notify, and the
-- VimLeavePre autocommand, run at the end.
local timer_callback, timer_closed, on_leave, notes = nil, false, {}, {}
vim = { uv = {}, api = {} }
function vim.uv.new_timer()
  return { start = function(_, _, _, callback) timer_callback = callback end, close = function() timer_closed = true end }
end
function vim.schedule_wrap(f) return f end
function vim.notify(text) print(text) notes[#notes + 1] = text end
function vim.api.nvim_create_autocmd(event, options)
  assert(event == "VimLeavePre")
  on_leave[#on_leave + 1] = options.callback
end
dofile("neovim.lua")
for _ = 1, 100 do
  timer_callback()
  if notes[#notes] == "3 messages" then break end
  os.execute("sleep 0.1")
end
assert(notes[#notes] == "3 messages", "the timer never saw the mirror synced")
for _, callback in ipairs(on_leave) do callback() end
assert(timer_closed, "VimLeavePre did not close the timer")
')
    unset LUA_PATH PIECES_OS_CLIENT_LIBRARY
}

check_node() {
    local lib major
    lib=$(library)
    major=$(node -p 'process.versions.node.split(".")[0]')
    [ "$major" -ge 20 ] || fail "node $(node --version) is too old: the module needs Node.js 20 or later"

    echo "-- npm ci, and the TypeScript declarations"
    npm ci --prefix bindings/node --no-fund --no-audit
    npm run --prefix bindings/node typecheck

    echo "-- the module's tests, against the stand-in"
    PIECES_OS_CLIENT_LIBRARY=$lib npm test --prefix bindings/node

    echo "-- vendored: the module with the library beside it, and no variable"
    mkdir -p "$work/vendored-node"
    cp -r bindings/node/lib bindings/node/package.json bindings/node/index.d.ts bindings/node/node_modules "$work/vendored-node/"
    cp "$lib" "$work/vendored-node/libpieces_os_client.so"
    start_stand_in --seed 3
    (cd / && env -u PIECES_OS_CLIENT_LIBRARY node -e "
const pieces = require('$work/vendored-node');
const assert = require('node:assert/strict');
assert.equal(pieces.libraryPath(), '$work/vendored-node/libpieces_os_client.so');
new pieces.Client('$stand_in_url').snapshot().then((messages) => {
  assert.equal(messages.length, 3);
  console.log('vendored module loads ' + pieces.libraryPath() + ' and reads ' + messages.length + ' messages');
});
")

    echo "-- the README's Node snippet, requiring the module by its name"
    mkdir -p "$work/node_path"
    ln -s "$root/bindings/node" "$work/node_path/pieces-messages"
    readme_snippet node/panel.js "$work/panel.js"
    run_message_snippet node env NODE_PATH="$work/node_path" PIECES_OS_CLIENT_LIBRARY="$lib" node panel.js

    echo "-- examples/node/message_panel.js: finds the stand-in, prints its messages and a change, stops"
    start_stand_in --seed 5
    local port=${stand_in_url##*:} out=$work/panel.out
    env -u PIECES_OS_URL PIECES_OS_PORTS="$port" PIECES_OS_CLIENT_LIBRARY="$lib" \
        node examples/node/message_panel.js --seconds 6 >"$out" 2>&1 &
    local panel=$!
    for _ in $(seq 300); do
        grep -qx '5 messages' "$out" && break
        sleep 0.1
    done
    "$cli" --url "$stand_in_url" create --conversation panel-smoke "Hello from the panel smoke"
    wait "$panel" || {
        cat "$out"
        fail "the Node message panel failed"
    }
    cat "$out"
    for expected in " at $stand_in_url" '5 messages' '+ [USER] Hello from the panel smoke'; do
        grep -qF -- "$expected" "$out" || fail "the Node message panel did not print '$expected'"
    done
}

for language in "$@"; do
    case "$language" in
        python) check_python ;;
        lua) check_lua ;;
        node) check_node ;;
        *) fail "unknown language: $language (python, lua or node)" ;;
    esac
done
