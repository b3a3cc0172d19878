#!/usr/bin/env bash
# Runs the fuzz targets, each for SECONDS, from the committed seeds (fuzz/seeds/) plus what earlier runs
# found (fuzz/corpus/, not committed). Needs the nightly toolchain and cargo-fuzz (fuzz/README.md).
#
#   fuzz/run.sh                       every target, 30 s each (what .ci/run does)
#   fuzz/run.sh 600 check_vs_decode   one target for ten minutes
#   FUZZ_JOBS=2 fuzz/run.sh 3600      every target for an hour, two at a time
#
# A finding stops its target with the input saved in fuzz/artifacts/TARGET/; the script fails at the end
# if any target failed. Reproduce one with `cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/FILE`.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:-30}
shift || true
if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
jobs=${FUZZ_JOBS:-1}

# The seeds each target starts from: the model targets share one directory (the first byte of each
# input picks the model), the others have their own.
seeds_of() {
    case $1 in
        round_trip | check_vs_decode) echo seeds/models ;;
        *) echo "seeds/$1" ;;
    esac
}

run_one() {
    local target=$1 seeds status=0
    seeds=$(seeds_of "$target")
    mkdir -p "corpus/$target" "artifacts/$target"
    [ -d "$seeds" ] || seeds=
    # -timeout: one input taking seconds is a finding (a hang); -rss_limit_mb: so is a runaway allocation.
    cargo +nightly fuzz run --release "$target" "corpus/$target" $seeds -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
        -print_final_stats=1 -artifact_prefix="artifacts/$target/" \
        >"artifacts/$target.log" 2>&1 || status=$?
    echo "$status" >"artifacts/$target.status"
}

# Build once, before any run starts, so that parallel runs do not race on the build.
cargo +nightly fuzz build --release >/dev/null

running=0
for target in "${targets[@]}"; do
    run_one "$target" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

failed=()
for target in "${targets[@]}"; do
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "artifacts/$target.log" | tail -1)
    if [ "$(cat "artifacts/$target.status")" = 0 ]; then
        echo "fuzz $target: ${runs:-?} runs in ${seconds} s, no finding"
    else
        echo "fuzz $target: FAILED after ${runs:-?} runs"
        failed+=("$target")
    fi
done
for target in "${failed[@]}"; do
    echo "== the end of fuzz/artifacts/$target.log:"
    tail -n 40 "artifacts/$target.log"
done
[ ${#failed[@]} -eq 0 ]
