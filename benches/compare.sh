#!/usr/bin/env bash
# Benchmarks side by side: this crate (typed, JSON text, C API), the raw floors (ureq reading the body
# bytes, parsing nothing, into fresh or reused memory), the official Python SDK and raw Python, all
# against ONE stand-in PiecesOS (the release `pieces-os-server`), on 127.0.0.1 only. Besides wall times
# it records the calling thread's CPU time, callgrind's instruction counts for the Rust clients, and the
# load average at every step. Prints a table at the end; BENCHMARKS.md explains every case.
#
#   benches/compare.sh                 # the full run (15-20 minutes on 2 cores, clean build and venv included)
#   benches/compare.sh --quick         # fewer samples, for trying the script
#   benches/compare.sh --update-docs   # also rewrites the results section of BENCHMARKS.md and the plot
#
# Environment: COMPARE_OUT (default: target/compare) holds the build, the Python venv, the raw results
# (results.jsonl), the report (results.md) and the plot (snapshot.png). Needs cargo, python3 (with venv),
# and, installed here with apt-get when missing: gnuplot, GNU time, binutils (strip), valgrind.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
QUICK=""
UPDATE_DOCS=""
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK="--quick" ;;
        --update-docs) UPDATE_DOCS=1 ;;
        -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done

OUT=${COMPARE_OUT:-$ROOT/target/compare}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
# A target directory of its own, so that the clean build below is really clean and nobody else's
# build is thrown away.
export CARGO_TARGET_DIR="$OUT/target"
RESULTS="$OUT/results.jsonl"
LOG="$OUT/run.log"
: >"$RESULTS"
: >"$LOG"
STARTED=$(date +%s)

# Each step is announced with the machine's load average at its start, which the report prints beside
# the figures of that step (the machine may be shared; see BENCHMARKS.md).
say() {
    printf '== %s (%ds, load %s)\n' "$*" $(($(date +%s) - STARTED)) "$(cut -d' ' -f1-3 /proc/loadavg)" |
        tee -a "$LOG" >&2
    [ ! -w "$RESULTS" ] || python3 -c 'import json, sys; print(json.dumps({"case": "step", "client": "", "step": sys.argv[1], "at_s": int(sys.argv[2]), "load": sys.argv[3]}))' \
        "$*" $(($(date +%s) - STARTED)) "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS"
}
# Keeps the BENCH lines of a command's output, echoing them.
record() { "$@" | tee -a "$LOG" | grep '^BENCH ' | sed 's/^BENCH //' | tee -a "$RESULTS"; }
note() { echo "$1" >>"$RESULTS"; }

# --- tools -------------------------------------------------------------------------------------------
missing=()
command -v gnuplot >/dev/null || missing+=(gnuplot-nox)
[ -x /usr/bin/time ] || missing+=(time)
command -v strip >/dev/null || missing+=(binutils)
command -v valgrind >/dev/null || missing+=(valgrind)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} with apt-get"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq >>"$LOG" 2>&1
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >>"$LOG" 2>&1
fi

# --- the official Python SDK in a venv of its own ------------------------------------------------------
VENV="$OUT/venv"
if ! "$VENV/bin/python" -c 'import pieces_os_client.api.conversation_messages_api' 2>/dev/null; then
    say "creating the Python venv with pieces-os-client==5.0.1"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check pieces-os-client==5.0.1 >>"$LOG" 2>&1
fi
PY="$VENV/bin/python"
SDK_VERSION=$("$PY" -c 'import importlib.metadata as m; print(m.version("pieces_os_client"))')

# --- builds ------------------------------------------------------------------------------------------
say "fetching crates (not timed)"
cargo fetch --locked >>"$LOG" 2>&1
say "clean release build of the library (timed)"
# COMPARE_KEEP_BUILD=1 keeps the previous build (for trying the script; the build time is then not clean).
[ -n "${COMPARE_KEEP_BUILD:-}" ] || rm -rf "$CARGO_TARGET_DIR"
build_started=$(date +%s.%N)
# The crate is an rlib only; the C library is asked for (as scripts/install.sh does, without its SONAME).
cargo rustc --release --locked --lib --features capi --crate-type cdylib >>"$LOG" 2>&1
build_seconds=$(python3 -c "import time; print(round(time.time() - $build_started, 1))")
LIB="$CARGO_TARGET_DIR/release/libpieces_os_client.so"
strip -o "$OUT/libpieces_os_client.stripped.so" "$LIB"
note "{\"case\": \"build\", \"client\": \"cargo rustc --release --lib --features capi --crate-type cdylib\", \"seconds\": $build_seconds}"
note "{\"case\": \"cdylib\", \"client\": \"libpieces_os_client.so\", \"bytes\": $(stat -c %s "$LIB"), \"stripped_bytes\": $(stat -c %s "$OUT/libpieces_os_client.stripped.so")}"
say "building the stand-in and the bench harness"
cargo build --release --locked --features server,cli --bin pieces-os-server >>"$LOG" 2>&1
BENCH_BIN=$(cargo bench --locked --bench compare --no-run --message-format=json 2>>"$LOG" |
    python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "compare" and m.get("executable"):
        print(m["executable"])')
SERVER_BIN="$CARGO_TARGET_DIR/release/pieces-os-server"

# --- the machine -------------------------------------------------------------------------------------
CPU=$(sed -n 's/^model name\s*:\s*//p' /proc/cpuinfo | head -1)
MHZ=$(sed -n 's/^cpu MHz\s*:\s*//p' /proc/cpuinfo | head -1)
[ -z "$MHZ" ] || CPU="$CPU, $MHZ MHz"
MEM_KB=$(sed -n 's/^MemTotal:\s*\([0-9]*\).*/\1/p' /proc/meminfo)
note "$(python3 -c 'import json, sys; print(json.dumps({"case": "machine", "client": "", "nproc": int(sys.argv[1]), "cpu": sys.argv[2], "mem_kb": int(sys.argv[3]), "kernel": sys.argv[4], "rustc": sys.argv[5], "python": sys.argv[6], "sdk": sys.argv[7], "date": sys.argv[8], "load_before": sys.argv[9], "quick": bool(sys.argv[10])}))' \
    "$(nproc)" "$CPU" "$MEM_KB" "$(uname -r)" "$(rustc --version)" "$("$PY" --version)" "$SDK_VERSION" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$QUICK")"

# --- one stand-in server for every case ----------------------------------------------------------------
say "starting the stand-in"
SERVER_LOG="$OUT/server.log"
"$SERVER_BIN" --port 0 --seed 0 >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true' EXIT
URL=""
for _ in $(seq 100); do
    URL=$(sed -n 's/^listening on //p' "$SERVER_LOG")
    [ -n "$URL" ] && break
    sleep 0.1
done
[ -n "$URL" ] || { echo "the stand-in did not start: $(cat "$SERVER_LOG")" >&2; exit 1; }
say "stand-in at $URL (pid $SERVER_PID)"
RUST=("$BENCH_BIN" --url "$URL" $QUICK)
RUST_SNAPSHOT_CLIENTS=(raw_floor raw_floor_reused rust_typed rust_json c_api)
PYTHON=("$PY" "$ROOT/benches/python/bench.py" --url "$URL" $QUICK)

if [ -n "$QUICK" ]; then CALLS=200; CYCLES=25; EVENTS=200; STOPS=20; COUNTED=20; else CALLS=1000; CYCLES=200; EVENTS=1000; STOPS=100; COUNTED=100; fi

# The instructions (callgrind) a bench command runs inside `compare::counted`: only the client's own
# work, in this process, not the stand-in's. Appended to the results as one line.
count_instructions() {
    local case=$1 client=$2 fields=$3
    shift 3
    local out="$OUT/callgrind.out"
    valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect='compare::counted' \
        "${RUST[@]}" "$@" >>"$LOG" 2>&1
    note "{\"case\": \"$case\", \"client\": \"$client\", $fields, \"instructions\": $(sed -n 's/^summary: *//p' "$out")}"
    rm -f "$out"
}

# Single calls, events and stops run first, on a store that holds only the messages they create, so
# that the server's search (a scan of every message's text) stays small next to the clients' costs.
say "single calls: $CALLS creates, searches, deletes per client"
record "${RUST[@]}" calls "$CALLS"
record "${PYTHON[@]}" calls "$CALLS"
say "instructions per call (callgrind): $COUNTED of each call per client"
for kind in create search delete; do
    for client in raw_floor rust c_api raw_floor_threaded; do
        count_instructions instructions_call "$client" "\"kind\": \"$kind\", \"calls\": $COUNTED" \
            count "$kind" "$COUNTED" "$client"
    done
done
say "throughput: 8 threads sharing one client"
record "${RUST[@]}" throughput 8 "$CYCLES"
record "${PYTHON[@]}" throughput 8 "$CYCLES"
say "events and stop latency"
record "${RUST[@]}" events "$EVENTS"
record "${RUST[@]}" stop "$STOPS"

# Snapshots: the store grows through POST /messages/create with the stand-in's realistic messages.
have=0
for n in 1000 5000 10000 50000; do
    say "growing the store to $n messages"
    record "${RUST[@]}" grow "$have" "$n"
    have=$n
    say "snapshot of $n messages"
    record "${RUST[@]}" server "$n"
    # Each client in a process of its own (a client's allocations must not warm the memory another
    # one uses), twice in alternation so that a change of machine load weighs on all alike; the
    # report pools the two runs' samples.
    for _ in 1 2; do
        for client in "${RUST_SNAPSHOT_CLIENTS[@]}"; do record "${RUST[@]}" snapshot "$n" "$client"; done
        for client in python_raw python_sdk; do record "${PYTHON[@]}" snapshot "$n" "$client"; done
    done
    if [ "$n" -le 10000 ] && [ "$n" -ne 5000 ]; then
        say "instructions per snapshot of $n messages (callgrind)"
        for client in "${RUST_SNAPSHOT_CLIENTS[@]}"; do
            count_instructions instructions_snapshot "$client" "\"messages\": $n" count snapshot "$n" "$client"
        done
    fi
    if [ "$n" -eq 10000 ]; then
        say "peak RSS of each client on the $n snapshot"
        for client in rust_typed rust_json c_api raw_floor; do
            /usr/bin/time -v -o "$OUT/time-$client.txt" "${RUST[@]}" rss "$client" >"$OUT/rss-$client.txt"
            grep '^BENCH ' "$OUT/rss-$client.txt" | sed 's/^BENCH //' | tee -a "$RESULTS"
            note "{\"case\": \"time_v\", \"client\": \"$client\", \"peak_rss_kb\": $(sed -n 's/.*Maximum resident set size (kbytes): //p' "$OUT/time-$client.txt")}"
        done
        for client in python_sdk python_raw; do
            /usr/bin/time -v -o "$OUT/time-$client.txt" "${PYTHON[@]}" rss "$client" >"$OUT/rss-$client.txt"
            grep '^BENCH ' "$OUT/rss-$client.txt" | sed 's/^BENCH //' | tee -a "$RESULTS"
            note "{\"case\": \"time_v\", \"client\": \"$client\", \"peak_rss_kb\": $(sed -n 's/.*Maximum resident set size (kbytes): //p' "$OUT/time-$client.txt")}"
        done
    fi
done

kill "$SERVER_PID" 2>/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true
trap - EXIT
note "{\"case\": \"run\", \"client\": \"\", \"seconds\": $(($(date +%s) - STARTED)), \"load_after\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}"

say "report"
python3 "$ROOT/benches/report.py" "$RESULTS" "$OUT" ${UPDATE_DOCS:+--update-docs "$ROOT"}
say "done: $OUT/results.md, $OUT/snapshot.png"
