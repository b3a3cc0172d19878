"""Stand-in PiecesOS servers for the tests, each a process of ``pieces-os-server`` on 127.0.0.1.

The program is ``$PIECES_OS_SERVER``; without it, cargo builds it from the repository these tests are in.
The library is whatever ``pieces_messages`` loads: the wheel's own (CI installs the wheel and leaves
``PIECES_OS_CLIENT_LIBRARY`` unset) or the one that variable names.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest

REPOSITORY = Path(__file__).resolve().parents[3]
START_TIMEOUT_S = 30.0


def _server_program() -> str:
    named = os.environ.get("PIECES_OS_SERVER")
    if named:
        return named
    built = subprocess.run(
        ["cargo", "build", "--quiet", "--features", "server,cli", "--bin", "pieces-os-server", "--message-format=json"],
        cwd=REPOSITORY,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in built.stdout.splitlines():
        message = json.loads(line)
        if message.get("reason") == "compiler-artifact" and message.get("executable"):
            return str(message["executable"])
    raise RuntimeError("cargo built no pieces-os-server")


@pytest.fixture(scope="session")
def server_program() -> str:
    return _server_program()


StandIn = Callable[..., str]


@pytest.fixture
def stand_in(server_program: str) -> Iterator[StandIn]:
    """Starts a stand-in with the given options on a free port and returns its URL; every one started
    is stopped after the test."""
    processes: list[subprocess.Popen[str]] = []

    def start(*options: str) -> str:
        process = subprocess.Popen(
            [server_program, "--port", "0", *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        processes.append(process)
        first_line: list[Optional[str]] = [None]
        reader = threading.Thread(target=lambda: first_line.__setitem__(0, process.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(START_TIMEOUT_S)
        line = first_line[0] or ""
        if not line.startswith("listening on "):
            raise RuntimeError(f"the stand-in did not start: {line!r}")
        return line[len("listening on ") :].strip()

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def url(stand_in: StandIn) -> str:
    """A stand-in with five realistic messages."""
    return stand_in("--seed", "5")


@pytest.fixture
def failing_url(stand_in: StandIn) -> str:
    """A stand-in that answers every request with HTTP 500."""
    return stand_in("--fail-every", "1")


@pytest.fixture
def refused_url() -> str:
    """A loopback port that was free a moment ago: connections are refused."""
    return f"http://127.0.0.1:{free_port()}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def library_threads(prefix: str) -> int:
    """How many threads of this process have a name starting with ``prefix`` (Linux names them in
    /proc; the library names its threads ``pieces-…``)."""
    count = 0
    for task in Path("/proc/self/task").iterdir():
        try:
            if (task / "comm").read_text().startswith(prefix):
                count += 1
        except OSError:
            pass  # the thread ended meanwhile
    return count
