# Sourced, not run: what tests/install/check.sh and bindings/check.sh share. A temporary directory
# ($work) that is removed when the checks passed and kept for a look when they failed, stand-in PiecesOS
# processes that end with the script (start_stand_in), `fail`, and the crate's $version.
#
# The sourcing script sets `checks_name` first (it names the directory and the failure message), and
# `server` (the pieces-os-server to run) before it calls start_stand_in.

work=$(mktemp -d "${TMPDIR:-/tmp}/pieces-$checks_name-check.XXXXXX")
server_pids=()
finish() {
    local status=$? pid
    for pid in ${server_pids[@]+"${server_pids[@]}"}; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "$status" = 0 ]; then
        rm -rf "$work"
    else
        echo "$checks_name checks FAILED; their files are kept in $work" >&2
    fi
}
trap finish EXIT

fail() {
    echo "FAILED: $*" >&2
    exit 1
}

version=$(sed -n 's/^version = "\([^"]*\)"$/\1/p' Cargo.toml | head -n 1)

# Starts a stand-in with the given options on a free port and sets stand_in_url to its URL; finish()
# ends it.
start_stand_in() {
    local out
    out=$(mktemp "$work/stand-in.XXXXXX")
    "$server" --port 0 "$@" >"$out" &
    server_pids+=("$!")
    for _ in $(seq 100); do
        grep -q '^listening on ' "$out" && break
        sleep 0.1
    done
    stand_in_url=$(sed -n 's/^listening on //p' "$out")
    [ -n "$stand_in_url" ] || fail "the stand-in ($*) did not start"
}
