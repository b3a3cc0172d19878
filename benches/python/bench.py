"""The Python side of benches/compare.sh: the official Python SDK and raw Python, against the same stand-in.

Clients:
  sdk  the official SDK (pieces-os-client 5.0.1): ConversationMessagesApi over its ApiClient, which
       decodes every answer into its pydantic models.
  raw  the standard library only: http.client on one kept-alive connection, and json.loads.

Each result is one line, `BENCH {json}`, in the format of benches/compare.rs, for benches/report.py.

  python bench.py --url URL [--quick] snapshot N [CLIENT...]
  python bench.py --url URL [--quick] calls COUNT
  python bench.py --url URL throughput THREADS CYCLES
  python bench.py --url URL rss CLIENT
"""

import http.client
import json
import math
import resource
import sys
import threading
import time
import urllib.parse

from pieces_os_client.api.conversation_messages_api import ConversationMessagesApi
from pieces_os_client.api_client import ApiClient
from pieces_os_client.configuration import Configuration
from pieces_os_client.models.search_input import SearchInput
from pieces_os_client.models.seeded_conversation_message import SeededConversationMessage

CONVERSATION = "bench-conversation"


def stats(values):
    values = sorted(values)
    n = len(values)
    if n == 0:
        return {"samples": 0}
    median = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
    p99 = values[min(max(math.ceil(0.99 * n), 1), n) - 1]
    return {
        "samples": n,
        "values": [round(value, 3) for value in values],
        "median": round(median, 3),
        "p99": round(p99, 3),
        "min": round(values[0], 3),
        "max": round(values[-1], 3),
        "mean": round(sum(values) / n, 3),
    }


def emit(case, client, unit, values, cpu=None, **extra):
    """One result line; `cpu` holds the calling thread's CPU time of each sample, in the same unit."""
    line = {"case": case, "client": client, "unit": unit}
    line.update(stats(values))
    if cpu:
        cpu_stats = stats(cpu)
        line["cpu_values"] = cpu_stats["values"]
        line["cpu_median"] = cpu_stats["median"]
    line.update(extra)
    print("BENCH " + json.dumps(line, sort_keys=True), flush=True)


class Stopwatch:
    """The wall clock and the calling thread's CPU time at the start of a measured step."""

    def __init__(self):
        self.cpu = time.thread_time()
        self.wall = time.perf_counter()

    def read(self, scale):
        """(wall, cpu) since the start, multiplied by `scale` (1e3 for ms, 1e6 for µs)."""
        wall = time.perf_counter() - self.wall
        return wall * scale, (time.thread_time() - self.cpu) * scale


def needle(tag, i):
    return f"needle-{tag}-{i:06d}"


def needle_text(tag, i):
    return f"How do I keep a borrow alive across an await? {needle(tag, i)}"


def seed_dict(text):
    return {
        "conversation": {"id": CONVERSATION},
        "fragment": {"string": {"raw": text}},
        "role": "USER",
    }


class Sdk:
    name = "python_sdk"

    def __init__(self, url):
        self.api = ConversationMessagesApi(ApiClient(Configuration(host=url)))

    def snapshot(self):
        messages = self.api.messages_snapshot()
        return messages, len(messages.iterable)

    def create(self, text):
        seed = SeededConversationMessage.from_dict(seed_dict(text))
        return self.api.messages_create_specific_message(seeded_conversation_message=seed).id

    def search(self, query):
        search_input = SearchInput.from_dict({"engines": {"iterable": [{"query": query}]}})
        return len(self.api.search_messages(search_input=search_input).iterable)

    def delete(self, message_id):
        self.api.messages_delete_specific_message(message=message_id)


class Raw:
    name = "python_raw"

    def __init__(self, url):
        parsed = urllib.parse.urlsplit(url)
        self.connection = http.client.HTTPConnection(parsed.hostname, parsed.port)

    def request(self, method, path, body=None):
        headers = {"Accept": "application/json, text/plain"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        if not 200 <= response.status < 300:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:200]!r}")
        return data

    def snapshot(self):
        messages = json.loads(self.request("GET", "/messages"))
        return messages, len(messages["iterable"])

    def create(self, text):
        return json.loads(self.request("POST", "/messages/create", json.dumps(seed_dict(text))))["id"]

    def search(self, query):
        body = json.dumps({"engines": {"iterable": [{"query": query}]}})
        return len(json.loads(self.request("POST", "/messages/search", body))["iterable"])

    def delete(self, message_id):
        self.request("POST", f"/messages/{urllib.parse.quote(message_id, safe='')}/delete")


def budget(quick):
    # (fewest samples, most samples, seconds once the fewest are in)
    return (2, 20, 0.5) if quick else (3, 100, 4.0)


def snapshot(url, quick, expected, only):
    clients = [client for client in (Raw(url), Sdk(url)) if not only or client.name in only]
    fewest, most, seconds = budget(quick)
    for client in clients:  # warm-up: connections, imports, the server's cached body
        _, count = client.snapshot()
        if count != expected:
            raise SystemExit(f"{client.name}: the store holds {count} messages, not {expected}")
    samples = {client.name: [] for client in clients}
    cpu = {client.name: [] for client in clients}
    started = time.perf_counter()
    rounds = 0
    while rounds < most and (rounds < fewest or time.perf_counter() - started < seconds):
        for client in clients:
            stopwatch = Stopwatch()
            result = client.snapshot()
            wall, used = stopwatch.read(1e3)
            samples[client.name].append(wall)
            cpu[client.name].append(used)
            del result
        rounds += 1
    for client in clients:
        emit("snapshot", client.name, "ms", samples[client.name], cpu=cpu[client.name], messages=expected)


def calls(url, count):
    clients = [Raw(url), Sdk(url)]
    for round_, n in ((0, 20), (1, count)):
        # (wall, cpu) lists per case and client.
        timed = {case: {c.name: ([], []) for c in clients} for case in ("create", "search", "delete")}

        def take(case, client, stopwatch):
            wall, used = stopwatch.read(1e6)
            timed[case][client.name][0].append(wall)
            timed[case][client.name][1].append(used)

        ids = {c.name: [] for c in clients}
        for i in range(n):
            for client in clients:
                text = needle_text(f"{client.name}-{round_}", i)
                stopwatch = Stopwatch()
                message_id = client.create(text)
                take("create", client, stopwatch)
                ids[client.name].append(message_id)
        for i in range(n):
            for client in clients:
                query = needle(f"{client.name}-{round_}", i)
                stopwatch = Stopwatch()
                found = client.search(query)
                take("search", client, stopwatch)
                assert found > 0, "the search finds its message"
        for i in range(n):
            for client in clients:
                message_id = ids[client.name][i]
                stopwatch = Stopwatch()
                client.delete(message_id)
                take("delete", client, stopwatch)
        if round_ == 0:
            continue
        for client in clients:
            for case in ("create", "search", "delete"):
                wall, used = timed[case][client.name]
                emit(case, client.name, "us", wall, cpu=used, calls=n)


def throughput(url, threads, cycles):
    """THREADS threads share one SDK client; each runs CYCLES rounds of create, search, delete."""
    sdk = Sdk(url)
    barrier = threading.Barrier(threads + 1)
    errors = []

    def work(worker):
        barrier.wait()
        try:
            for cycle in range(cycles):
                tag = f"tp-sdk-{worker}"
                message_id = sdk.create(needle_text(tag, cycle))
                assert sdk.search(needle(tag, cycle)) == 1
                sdk.delete(message_id)
        except Exception as error:  # reported below, after every thread is joined
            errors.append(error)

    workers = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    begun = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - begun
    if errors:
        raise SystemExit(f"throughput failed: {errors[0]!r}")
    n = threads * cycles * 3
    line = {"case": "throughput", "client": "python_sdk", "threads": threads, "calls": n,
            "seconds": round(elapsed, 3), "calls_per_s": round(n / elapsed)}
    print("BENCH " + json.dumps(line, sort_keys=True), flush=True)


def rss(url, name):
    client = {"python_sdk": Sdk, "python_raw": Raw}[name](url)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    begun = time.perf_counter()
    result, count = client.snapshot()
    elapsed = time.perf_counter() - begun
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    del result
    line = {"case": "rss", "client": name, "messages": count, "peak_rss_kb": after,
            "peak_rss_before_kb": before, "ms": round(elapsed * 1e3, 3)}
    print("BENCH " + json.dumps(line, sort_keys=True), flush=True)


def main(argv):
    url = None
    quick = False
    while argv and argv[0].startswith("--"):
        if argv[0] == "--url":
            url, argv = argv[1], argv[2:]
        elif argv[0] == "--quick":
            quick, argv = True, argv[1:]
        else:
            raise SystemExit(f"unknown option {argv[0]}")
    if url is None or not argv:
        raise SystemExit(__doc__)
    command, args = argv[0], argv[1:]
    if command == "snapshot":
        snapshot(url, quick, int(args[0]), args[1:])
    elif command == "calls":
        calls(url, int(args[0]))
    elif command == "throughput":
        throughput(url, int(args[0]), int(args[1]))
    elif command == "rss":
        rss(url, args[0])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
