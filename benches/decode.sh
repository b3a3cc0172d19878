#!/usr/bin/env bash
# Instructions (callgrind) and peak memory (/usr/bin/time -v) of decoding and checking one stand-in
# snapshot in isolation: what BENCHMARKS.md records under "Decoding and checking".
#
#   benches/decode.sh              # 1 000 messages for the instruction counts, 10 000 for peak memory
#   MESSAGES=5000 benches/decode.sh
#
# Needs valgrind. Instruction counts are per run of the step (the bench runs it twice under callgrind);
# they hold on a busy machine, where wall times do not.
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${MESSAGES:-1000}
rss_messages=${RSS_MESSAGES:-10000}

cargo bench --bench decode --no-run 2>/dev/null
bench=$(cargo bench --bench decode --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*decode-[^"]*\)".*/\1/p' | tail -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The bodies, fetched once from an in-process stand-in, then read from files by every step.
body="$work/snapshot-$messages.json"
rss_body="$work/snapshot-$rss_messages.json"
for n in "$messages" "$rss_messages"; do
    [ -f "$work/snapshot-$n.json" ] || "$bench" save --messages "$n" --body "$work/snapshot-$n.json"
done

echo "body: $(wc -c <"$body") bytes ($messages messages); instructions per run of each step:"
for step in typed check copy; do
    out="$work/callgrind.$step"
    valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect="decode::$step" \
        "$bench" "$step" --body "$body" --repeat 2 >/dev/null 2>&1
    total=$(sed -n 's/^summary: *//p' "$out")
    echo "  $step: $((total / 2)) instructions, $((total / 2 * 1000000 / $(wc -c <"$body"))) per MB"
done

echo "peak RSS, $(wc -c <"$rss_body") bytes ($rss_messages messages), the body read from a file first:"
for step in typed check copy; do
    kb=$(/usr/bin/time -v "$bench" "$step" --body "$rss_body" --repeat 1 2>&1 >/dev/null |
        sed -n 's/.*Maximum resident set size (kbytes): //p')
    echo "  $step: $kb KB"
done
