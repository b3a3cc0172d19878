#!/usr/bin/env python3
"""A message panel, as a Python plugin would keep one: the current messages, then each change.

It uses the pieces_messages package (bindings/python) and its mirror in pull mode: the library keeps every
message current on a thread of its own, and this program takes the changes from its own loop, the way
a host's timer would; the library never calls into Python.

    python3 -m pip install bindings/python        # the wheel carries the C library
    python3 examples/python/message_panel.py      # finds PiecesOS on 127.0.0.1 by itself
    python3 examples/python/message_panel.py http://127.0.0.1:39300 --seconds 10
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Optional

from pieces_messages import Client, Event, Message, NotRunning, PiecesError


def line(message: Message) -> str:
    text = " ".join((message.text or "").split())
    return f"[{message.role}] {text[:72]}"


def show(event: Event, messages: list[Message]) -> None:
    if event.type == "synced":
        print(f"{event.count} messages")
        for message in messages:
            print(f"  {line(message)}")
    elif event.type == "added" and event.message:
        print(f"+ {line(event.message)}")
    elif event.type == "updated" and event.message:
        print(f"~ {line(event.message)}")
    elif event.type == "removed":
        print(f"- {event.id}")
    elif event.type in ("stale", "disconnected", "error"):
        print(f"! {event.type}: {(event.error or {}).get('message')}")


def main() -> int:
    parser = argparse.ArgumentParser(description="Print the current PiecesOS messages, then each change.")
    parser.add_argument("url", nargs="?", help="PiecesOS base URL (default: find it on 127.0.0.1)")
    parser.add_argument("--seconds", type=float, help="stop after this long (default: at Ctrl-C)")
    args = parser.parse_args()
    deadline: Optional[float] = None if args.seconds is None else time.monotonic() + args.seconds
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # each change shows at once

    try:
        with Client(args.url, application_id="python-message-panel") as client:
            print(f"PiecesOS {client.check_version()} at {client.base_url()}")
            with client.mirror(announce_initial=False) as mirror:
                while deadline is None or time.monotonic() < deadline:
                    for event in mirror.drain():  # what a host's timer calls: it never waits
                        show(event, mirror.messages() if event.type == "synced" else [])
                    time.sleep(0.1)
    except NotRunning:
        print("PiecesOS is not running: start it, or give its URL", file=sys.stderr)
        return 1
    except PiecesError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
