"""Turns the results of benches/compare.sh (results.jsonl: one JSON object per line) into tables, the
target checks and a gnuplot plot of snapshot time against message count.

  python3 benches/report.py RESULTS.jsonl OUT_DIR [--update-docs REPO_ROOT]

Writes OUT_DIR/results.md, OUT_DIR/snapshot.dat, OUT_DIR/snapshot.gp and OUT_DIR/snapshot.png, and
prints results.md. With --update-docs, also replaces the part of REPO_ROOT/BENCHMARKS.md between
`<!-- results:begin -->` and `<!-- results:end -->` and copies the plot to
REPO_ROOT/docs/benchmarks-snapshot.png. Standard library only.
"""

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

SNAPSHOT_CLIENTS = [
    ("raw_floor", "raw floor (ureq, bytes)"),
    ("raw_floor_reused", "raw floor, reused buffer"),
    ("rust_typed", "Rust typed"),
    ("rust_json", "Rust JSON text"),
    ("c_api", "C API"),
    ("python_raw", "raw Python (http.client + json)"),
    ("python_sdk", "Python SDK 5.0.1"),
]
CALL_CLIENTS = [
    ("raw_floor", "raw floor"),
    ("rust", "Rust"),
    ("c_api", "C API"),
    ("raw_floor_threaded", "floor with a resolver thread (before)"),
    ("python_raw", "raw Python"),
    ("python_sdk", "Python SDK"),
]
# The Rust clients whose instructions callgrind counts.
COUNTED_SNAPSHOT_CLIENTS = ["raw_floor", "raw_floor_reused", "rust_typed", "rust_json", "c_api"]
COUNTED_CALL_CLIENTS = ["raw_floor", "rust", "c_api", "raw_floor_threaded"]


def stats(values):
    values = sorted(values)
    n = len(values)
    median = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
    p99 = values[min(max(math.ceil(0.99 * n), 1), n) - 1]
    return {"samples": n, "median": median, "p99": p99, "min": values[0], "max": values[-1],
            "mean": sum(values) / n}


def load(path):
    """The result lines; lines of one case, client and size from several processes are merged into one,
    their samples pooled."""
    rows = []
    merged = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line:
            continue
        row = json.loads(line)
        if "values" not in row:
            rows.append(row)
            continue
        key = (row.get("case"), row.get("client"), row.get("messages"), row.get("calls"))
        if key in merged:
            merged[key]["values"].extend(row["values"])
            merged[key].setdefault("cpu_values", []).extend(row.get("cpu_values", []))
            merged[key]["runs"] += 1
        else:
            row["runs"] = 1
            merged[key] = row
            rows.append(row)
    for row in merged.values():
        row.update(stats(row["values"]))
        if row.get("cpu_values"):
            row["cpu_median"] = stats(row["cpu_values"])["median"]
    return rows


def find(rows, case, client=None, **match):
    for row in rows:
        if row.get("case") != case or (client is not None and row.get("client") != client):
            continue
        if all(row.get(key) == value for key, value in match.items()):
            return row
    return None


def fmt(value, digits=None):
    if value is None:
        return "—"
    if digits is None:
        digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:,.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def xfmt(value):
    return "—" if value is None else f"{value:.2f}×"


def median(row):
    return None if row is None else row.get("median")


def cpu(row):
    return None if row is None else row.get("cpu_median")


def report(rows):
    out = []
    machine = find(rows, "machine") or {}
    run = find(rows, "run") or {}
    build = find(rows, "build") or {}
    cdylib = find(rows, "cdylib") or {}
    out.append("### Machine and run\n")
    out.append(f"- date (UTC): {machine.get('date', '?')}")
    out.append(
        f"- machine: {machine.get('nproc', '?')} cores ({machine.get('cpu', '?')}), "
        f"{fmt(machine.get('mem_kb', 0) / 1048576, 1)} GiB memory, Linux {machine.get('kernel', '?')}"
    )
    out.append(f"- {machine.get('rustc', '?')}; {machine.get('python', '?')}; pieces-os-client (Python) {machine.get('sdk', '?')}")
    out.append(
        f"- load average (1, 5, 15 min) before: {machine.get('load_before', '?')}; after: {run.get('load_after', '?')}"
        + ("; **quick run** (fewer samples)" if machine.get("quick") else "")
    )
    out.append(f"- whole run: {run.get('seconds', '?')} s, builds and venv included")
    out.append("")
    steps = [row for row in rows if row.get("case") == "step"]
    if steps:
        out.append("Load average (1, 5, 15 min) as each step began; every figure below comes from the step named:\n")
        out.append("| s | step | load |")
        out.append("|---:|---|---|")
        for row in steps:
            out.append(f"| {row['at_s']} | {row['step']} | {row['load']} |")
        out.append("")

    # Snapshots.
    sizes = sorted({row["messages"] for row in rows if row.get("case") == "snapshot"})
    present = [(key, label) for key, label in SNAPSHOT_CLIENTS if any(find(rows, "snapshot", key, messages=n) for n in sizes)]
    out.append("### Snapshots: median ms (× the raw floor)\n")
    header = "| messages | body MB | " + " | ".join(label for _, label in present) + " |"
    out.append(header)
    out.append("|---:|---:|" + "---:|" * len(present))
    for n in sizes:
        floor = median(find(rows, "snapshot", "raw_floor", messages=n))
        body = (find(rows, "snapshot", "raw_floor", messages=n) or {}).get("bytes")
        cells = []
        for key, _ in present:
            value = median(find(rows, "snapshot", key, messages=n))
            cells.append(f"{fmt(value)} ({xfmt(ratio(value, floor))})" if value is not None else "—")
        out.append(f"| {n:,} | {fmt(body / 1e6 if body else None, 1)} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("p99 ms of the same runs (samples per client in parentheses):\n")
    out.append(header.replace("body MB | ", ""))
    out.append("|---:|" + "---:|" * len(present))
    for n in sizes:
        cells = []
        for key, _ in present:
            row = find(rows, "snapshot", key, messages=n)
            cells.append(f"{fmt(row['p99'])} ({row['samples']})" if row else "—")
        out.append(f"| {n:,} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("CPU time of the calling thread, median ms (share of the wall time in parentheses): what the client\n"
               "itself worked, the rest being waiting for the server, the kernel's copies to arrive or the CPU:\n")
    out.append(header.replace("body MB | ", ""))
    out.append("|---:|" + "---:|" * len(present))
    for n in sizes:
        cells = []
        for key, _ in present:
            row = find(rows, "snapshot", key, messages=n)
            used = cpu(row)
            cells.append("—" if used is None else f"{fmt(used)} ({100 * used / row['median']:.0f} %)")
        out.append(f"| {n:,} | " + " | ".join(cells) + " |")
    out.append("")
    counted = [row for row in rows if row.get("case") == "instructions_snapshot"]
    if counted:
        counted_sizes = sorted({row["messages"] for row in counted})
        labels = dict(SNAPSHOT_CLIENTS)
        out.append("Instructions per snapshot (callgrind, the client's process only, user space only), and per MB of body:\n")
        out.append("| messages | " + " | ".join(labels[key] for key in COUNTED_SNAPSHOT_CLIENTS) + " |")
        out.append("|---:|" + "---:|" * len(COUNTED_SNAPSHOT_CLIENTS))
        for n in counted_sizes:
            body = (find(rows, "snapshot", "raw_floor", messages=n) or {}).get("bytes")
            cells = []
            for key in COUNTED_SNAPSHOT_CLIENTS:
                row = find(rows, "instructions_snapshot", key, messages=n)
                if row is None:
                    cells.append("—")
                    continue
                per_mb = f" ({fmt(row['instructions'] / body * 1e6 / 1e6, 2)} M/MB)" if body else ""
                cells.append(f"{fmt(row['instructions'] / 1e6, 1)} M{per_mb}")
            out.append(f"| {n:,} | " + " | ".join(cells) + " |")
        out.append("")
    out.append("How many times faster than the Python SDK (its median ÷ the client's median):\n")
    faster = [(key, label) for key, label in present if key != "python_sdk"]
    out.append("| messages | " + " | ".join(label for _, label in faster) + " |")
    out.append("|---:|" + "---:|" * len(faster))
    for n in sizes:
        sdk = median(find(rows, "snapshot", "python_sdk", messages=n))
        cells = [xfmt(ratio(sdk, median(find(rows, "snapshot", key, messages=n)))) for key, _ in faster]
        out.append(f"| {n:,} | " + " | ".join(cells) + " |")
    out.append("")

    # The stand-in's own time.
    out.append("### The stand-in's own time (a hand-written client on a plain socket, no HTTP library)\n")
    out.append("| messages | first byte, cached body (ms) | whole body read into a reused buffer (ms) | first byte right after a write: body rebuilt (ms) |")
    out.append("|---:|---:|---:|---:|")
    for n in sizes:
        first = find(rows, "server_first_byte", messages=n)
        whole = find(rows, "server_snapshot", messages=n)
        rebuild = find(rows, "server_rebuild_first_byte", messages=n)
        out.append(f"| {n:,} | {fmt(median(first), 3)} | {fmt(median(whole))} | {fmt(median(rebuild))} |")
    out.append("")
    out.append("| messages | `GET /.well-known/health` round trip (µs) | create round trip, then delete (µs) |")
    out.append("|---:|---:|---:|")
    for n in sizes:
        health = find(rows, "server_health", messages=n)
        create = find(rows, "server_create", messages=n)
        out.append(f"| {n:,} | {fmt(median(health))} | {fmt(median(create))} |")
    out.append("")

    # Single calls.
    out.append("### Single calls, sequential: p50 / p99 µs (p50 over the raw floor's p50)\n")
    calls_present = [(key, label) for key, label in CALL_CLIENTS if find(rows, "create", key)]
    out.append("| call | " + " | ".join(label for _, label in calls_present) + " |")
    out.append("|---|" + "---:|" * len(calls_present))
    for case in ["create", "search", "delete"]:
        floor = median(find(rows, case, "raw_floor"))
        cells = []
        for key, _ in calls_present:
            row = find(rows, case, key)
            if row is None:
                cells.append("—")
                continue
            over = "" if key == "raw_floor" else f" ({row['median'] - floor:+.1f})"
            cells.append(f"{fmt(row['median'])} / {fmt(row['p99'])}{over}")
        count = (find(rows, case, "rust") or {}).get("calls", "?")
        out.append(f"| {case} ×{count} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("CPU time of the calling thread per call, median µs:\n")
    out.append("| call | " + " | ".join(label for _, label in calls_present) + " |")
    out.append("|---|" + "---:|" * len(calls_present))
    for case in ["create", "search", "delete"]:
        cells = [fmt(cpu(find(rows, case, key))) for key, _ in calls_present]
        out.append(f"| {case} | " + " | ".join(cells) + " |")
    out.append("")
    if any(row.get("case") == "instructions_call" for row in rows):
        labels = dict(CALL_CLIENTS)
        out.append("Instructions per call (callgrind, the client's process only, user space only), thousands:\n")
        out.append("| call | " + " | ".join(labels[key] for key in COUNTED_CALL_CLIENTS) + " |")
        out.append("|---|" + "---:|" * len(COUNTED_CALL_CLIENTS))
        for case in ["create", "search", "delete"]:
            cells = []
            for key in COUNTED_CALL_CLIENTS:
                row = find(rows, "instructions_call", key, kind=case)
                cells.append("—" if row is None else fmt(row["instructions"] / row["calls"] / 1e3, 1))
            out.append(f"| {case} | " + " | ".join(cells) + " |")
        out.append("")
    out.append("Throughput, 8 threads sharing one client (create + search + delete per cycle):\n")
    out.append("| client | calls/s | × the raw floor | × the Python SDK |")
    out.append("|---|---:|---:|---:|")
    floor_tp = (find(rows, "throughput", "raw_floor") or {}).get("calls_per_s")
    sdk_tp = (find(rows, "throughput", "python_sdk") or {}).get("calls_per_s")
    for key, label in CALL_CLIENTS:
        row = find(rows, "throughput", key)
        if row:
            out.append(
                f"| {label} | {fmt(row['calls_per_s'], 0)} | {xfmt(ratio(row['calls_per_s'], floor_tp))} | "
                f"{xfmt(ratio(row['calls_per_s'], sdk_tp))} |"
            )
    out.append("")

    # Events and stop.
    out.append("### Events: from a create being called to its id in the caller's hands, µs\n")
    out.append("| path | from the create's call: p50 | p99 | from the create's return: p50 / p99 (negative: the id came first) | id arrived before the create returned |")
    out.append("|---|---:|---:|---:|---:|")
    event_paths = [("rust_handler", "Rust handler"), ("c_callback", "C callback"), ("rust_pull", "Rust pull (`next_timeout`)"), ("c_pull", "C pull (`pieces_subscription_next`)")]
    for key, label in event_paths:
        row = find(rows, "event_from_call", key)
        if row:
            from_return = find(rows, "event_from_return", key) or {}
            early = from_return.get("before_create_returned")
            early = "—" if early is None else f"{early} of {row['samples']}"
            out.append(
                f"| {label} | {fmt(row['median'])} | {fmt(row['p99'])} | {fmt(from_return.get('median'))} / "
                f"{fmt(from_return.get('p99'))} | {early} |"
            )
    out.append("")
    out.append("Stopping a subscription (until its thread is joined), ms:\n")
    out.append("| kind | p50 | p99 | samples |")
    out.append("|---|---:|---:|---:|")
    for key, label in [("rust_handler", "Rust, handler (`stop`)"), ("rust_pull", "Rust, pull (`stop` + drop)"), ("c_callback", "C, callback (`pieces_subscription_free`)"), ("c_pull", "C, pull (`pieces_subscription_free`)")]:
        row = find(rows, "stop", key)
        if row:
            out.append(f"| {label} | {fmt(row['median'], 3)} | {fmt(row['p99'], 3)} | {row['samples']} |")
    out.append("")

    # Footprint.
    body10k = (find(rows, "snapshot", "raw_floor", messages=10000) or {}).get("bytes")
    out.append(f"### Footprint on the 10,000-message snapshot (body {fmt(body10k / 1e6 if body10k else None, 1)} MB)\n")
    out.append("| client | peak RSS MB (`/usr/bin/time -v`) | × body | peak before the call MB |")
    out.append("|---|---:|---:|---:|")
    for key, label in SNAPSHOT_CLIENTS:
        row = find(rows, "rss", key)
        timed = find(rows, "time_v", key)
        if row:
            peak = (timed or row)["peak_rss_kb"] * 1024
            out.append(
                f"| {label} | {fmt(peak / 1e6, 1)} | {xfmt(ratio(peak, body10k))} | "
                f"{fmt(row['peak_rss_before_kb'] * 1024 / 1e6, 1)} |"
            )
    out.append("")
    if cdylib:
        out.append(
            f"- `libpieces_os_client.so`: {fmt(cdylib['bytes'] / 1e6, 2)} MB, stripped "
            f"{fmt(cdylib['stripped_bytes'] / 1e6, 2)} MB"
        )
    if build:
        out.append(f"- clean `{build['client']}` (dependencies fetched, not built): {build['seconds']} s")
    out.append("")

    # Targets.
    out.append("### Targets\n")
    out.append("| target | measured | met |")
    out.append("|---|---|:---:|")

    def target(name, measured, ok):
        out.append(f"| {name} | {measured} | {'—' if ok is None else ('yes' if ok else '**no**')} |")

    for case in ["create", "search", "delete"]:
        floor = median(find(rows, case, "raw_floor"))
        for key, label in [("rust", "Rust"), ("c_api", "C API")]:
            value = median(find(rows, case, key))
            over = None if value is None or floor is None else value - floor
            target(f"{label} {case}: p50 over the thread-free raw floor ≤ +10 µs", "not measured" if over is None else f"{over:+.1f} µs", None if over is None else over <= 10)
    for case in ["create", "search", "delete"]:
        before = median(find(rows, case, "raw_floor_threaded"))
        for key, label in [("rust", "Rust"), ("c_api", "C API")]:
            value = median(find(rows, case, key))
            cut = None if value is None or not before else 1 - value / before
            target(
                f"{label} {case}: p50 ≥ 30 % below the floor with a resolver thread (which the client before this change exceeded)",
                "not measured" if cut is None else f"{fmt(value)} vs {fmt(before)} µs: {100 * cut:.0f} % lower",
                None if cut is None else cut >= 0.30,
            )
    for n in sizes:
        floor = median(find(rows, "snapshot", "raw_floor", messages=n))
        typed = median(find(rows, "snapshot", "rust_typed", messages=n))
        limit = {1000: 3.0, 10000: 2.0, 50000: 2.0}.get(n)
        if limit:
            r = ratio(typed, floor)
            target(f"typed snapshot ≤ {limit:g}× the raw floor ({n:,})", xfmt(r), None if r is None else r <= limit)
    for n in sizes:
        if n in (10000, 50000):
            r = ratio(median(find(rows, "snapshot", "c_api", messages=n)), median(find(rows, "snapshot", "raw_floor", messages=n)))
            target(f"C API snapshot ≤ 1.3× the raw floor ({n:,})", xfmt(r) if r else "not measured", None if r is None else r <= 1.3)
    for n in sizes:
        r = ratio(median(find(rows, "snapshot", "python_sdk", messages=n)), median(find(rows, "snapshot", "rust_typed", messages=n)))
        target(f"typed snapshot ≥ 30× faster than the Python SDK ({n:,})", xfmt(r), None if r is None else r >= 30)
    row = find(rows, "time_v", "rust_typed") or find(rows, "rss", "rust_typed")
    r = None if row is None or not body10k else row["peak_rss_kb"] * 1024 / body10k
    target("typed peak RSS ≤ 2.4× the body (10,000)", "not measured" if r is None else xfmt(r), None if r is None else r <= 2.4)
    if cdylib:
        size = cdylib["stripped_bytes"] / 1e6
        target("stripped cdylib ≤ 1.6 MB", f"{fmt(size, 2)} MB", size <= 1.6)
    for key, label in event_paths:
        row = find(rows, "event_from_call", key)
        target(f"event latency p50 ≤ 1 ms, from the create's call ({label.split(' (')[0]})", "not measured" if row is None else f"{fmt(row['median'])} µs", None if row is None else row["median"] <= 1000)
    for key, label in [("rust_handler", "Rust handler"), ("rust_pull", "Rust pull"), ("c_callback", "C callback"), ("c_pull", "C pull")]:
        row = find(rows, "stop", key)
        target(f"stop p99 ≤ 50 ms ({label})", "not measured" if row is None else f"{fmt(row['p99'], 3)} ms", None if row is None else row["p99"] <= 50)
    out.append("")
    return "\n".join(out), sizes


def plot(rows, sizes, out_dir):
    present = [(key, label) for key, label in SNAPSHOT_CLIENTS if all(find(rows, "snapshot", key, messages=n) for n in sizes)]
    data = out_dir / "snapshot.dat"
    with data.open("w") as f:
        f.write("# messages " + " ".join(key for key, _ in present) + "\n")
        for n in sizes:
            f.write(f"{n} " + " ".join(str(median(find(rows, 'snapshot', key, messages=n))) for key, _ in present) + "\n")
    png = out_dir / "snapshot.png"
    machine = find(rows, "machine") or {}
    lines = [
        "set terminal pngcairo size 1000,640 noenhanced font 'DejaVu Sans,11'" if has_cairo() else "set terminal png size 1000,640 noenhanced",
        f"set output '{png}'",
        f"set title \"Snapshot of N realistic messages (about 5 KB each): median time per call\\n{machine.get('nproc', '?')} cores, {machine.get('date', '')[:10]}, one pieces-os-server on 127.0.0.1\"",
        "set xlabel 'messages in the snapshot (log scale)'",
        "set ylabel 'median time per snapshot, ms (log scale)'",
        "set logscale xy",
        "set xtics (1000, 5000, 10000, 50000)",
        "set format y '%g'",
        "set grid xtics ytics mytics",
        "set key top left box opaque",
        "set xrange [800:65000]",
    ]
    styles = ["lc rgb '#000000' dt 2", "lc rgb '#7f7f7f' dt 3", "lc rgb '#d62728'", "lc rgb '#ff7f0e'", "lc rgb '#8c564b'", "lc rgb '#2ca02c'", "lc rgb '#1f77b4'"]
    series = []
    for i, (key, label) in enumerate(present):
        style = styles[[k for k, _ in SNAPSHOT_CLIENTS].index(key)]
        series.append(f"'{data}' using 1:{i + 2} with linespoints lw 2 pt 7 ps 1.2 {style} title '{label}'")
    lines.append("plot " + ", \\\n     ".join(series))
    script = out_dir / "snapshot.gp"
    script.write_text("\n".join(lines) + "\n")
    subprocess.run(["gnuplot", str(script)], check=True)
    return png


def has_cairo():
    try:
        result = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True, check=False)
        return "pngcairo" in (result.stdout + result.stderr)
    except FileNotFoundError:
        return False


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    rows = load(argv[0])
    out_dir = Path(argv[1])
    text, sizes = report(rows)
    (out_dir / "results.md").write_text(text + "\n")
    print(text)
    png = plot(rows, sizes, out_dir) if sizes else None
    if len(argv) >= 4 and argv[2] == "--update-docs":
        root = Path(argv[3])
        doc = root / "BENCHMARKS.md"
        content = doc.read_text()
        begin, end = "<!-- results:begin -->", "<!-- results:end -->"
        if begin not in content or end not in content:
            raise SystemExit(f"{doc} has no {begin} … {end} section")
        head, rest = content.split(begin, 1)
        _, tail = rest.split(end, 1)
        doc.write_text(head + begin + "\n" + text + "\n" + end + tail)
        if png:
            (root / "docs").mkdir(exist_ok=True)
            shutil.copy(png, root / "docs" / "benchmarks-snapshot.png")
        print(f"updated {doc}")


if __name__ == "__main__":
    main(sys.argv[1:])
