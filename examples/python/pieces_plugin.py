#!/usr/bin/env python3
"""A PiecesOS "plugin" in Python, through ctypes and the pieces_os_client C library.

It uses pull mode: events wait in the library until this (the host's) thread asks for them with
pieces_subscription_next, so the library never calls into Python from a thread of its own. That is the
shape a plugin for an editor's Python host needs.

    scripts/install.sh --prefix "$HOME/.local"
    python3 examples/python/pieces_plugin.py --library "$HOME/.local/lib/libpieces_os_client.so" \\
        --url http://127.0.0.1:39300

It creates a message, watches it arrive on the identifier stream, finds it with a search, deletes it,
watches the deletion arrive, and shows what an error looks like. Each step is a check; the last line is
"python: N passed, M failed" and the exit status is 0 only when nothing failed.
"""

import argparse
import ctypes
import json
import sys
import time

# pieces_status values (include/pieces_os_client.h); they are never renumbered.
OK, HTTP_STATUS, NO_EVENT, CLOSED = 0, 7, 10, 11
TRANSFERABLES_DEFAULT, TRANSFERABLES_EXCLUDE = 0, 2


class PiecesError(Exception):
    """A call that did not return PIECES_STATUS_OK, with the library's last-error JSON."""

    def __init__(self, function, status, detail):
        super().__init__(f"{function} returned {status}: {detail}")
        self.status = status
        self.detail = detail


class Pieces:
    """The C API, declared for ctypes. Strings the library returns are kept as raw pointers
    (c_void_p), copied into Python, and handed back to pieces_string_free."""

    def __init__(self, library):
        lib = ctypes.CDLL(library)
        handle = ctypes.c_void_p
        out = ctypes.POINTER(ctypes.c_void_p)
        status = ctypes.c_uint32
        declarations = {
            "pieces_version": (ctypes.c_char_p, []),
            "pieces_last_error_json": (ctypes.c_char_p, []),
            "pieces_string_free": (None, [ctypes.c_void_p]),
            "pieces_client_new": (status, [ctypes.c_char_p, out]),
            "pieces_client_free": (None, [handle]),
            "pieces_messages_snapshot": (status, [handle, ctypes.c_uint32, out]),
            "pieces_messages_create": (status, [handle, ctypes.c_char_p, ctypes.c_uint32, out]),
            "pieces_messages_delete": (status, [handle, ctypes.c_char_p]),
            "pieces_messages_search": (status, [handle, ctypes.c_char_p, ctypes.c_uint32, out]),
            # cb and userdata_free are passed as NULL (pull mode, nothing to release).
            "pieces_messages_subscribe": (status, [handle, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, out]),
            "pieces_subscription_next": (status, [handle, ctypes.c_int32, out]),
            "pieces_subscription_stop": (status, [handle]),
            "pieces_subscription_free": (None, [handle]),
        }
        for name, (restype, argtypes) in declarations.items():
            function = getattr(lib, name)
            function.restype = restype
            function.argtypes = argtypes
        self.lib = lib

    def version(self):
        return self.lib.pieces_version().decode()

    def last_error(self):
        text = self.lib.pieces_last_error_json()
        return json.loads(text) if text else None

    def call(self, name, *args):
        """Calls a status-returning function; raises PiecesError unless it returned OK."""
        status = getattr(self.lib, name)(*args)
        if status != OK:
            raise PiecesError(name, status, self.last_error())

    def take_string(self, pointer):
        """Copies a returned string into Python and frees it in the library."""
        try:
            return ctypes.string_at(pointer.value).decode("utf-8")
        finally:
            self.lib.pieces_string_free(pointer)


class Client:
    def __init__(self, pieces, config):
        self.pieces = pieces
        self.handle = ctypes.c_void_p()
        pieces.call("pieces_client_new", json.dumps(config).encode(), ctypes.byref(self.handle))

    def close(self):
        self.pieces.lib.pieces_client_free(self.handle)
        self.handle = ctypes.c_void_p()

    def _json_call(self, name, *args):
        out = ctypes.c_void_p()
        self.pieces.call(name, self.handle, *args, ctypes.byref(out))
        return json.loads(self.pieces.take_string(out))

    def snapshot(self, transferables=TRANSFERABLES_DEFAULT):
        return self._json_call("pieces_messages_snapshot", transferables)

    def create(self, seed, transferables=TRANSFERABLES_DEFAULT):
        return self._json_call("pieces_messages_create", json.dumps(seed).encode(), transferables)

    def search(self, query, transferables=TRANSFERABLES_DEFAULT):
        search_input = {"engines": {"iterable": [{"query": query}]}}
        return self._json_call("pieces_messages_search", json.dumps(search_input).encode(), transferables)

    def delete(self, message_id):
        self.pieces.call("pieces_messages_delete", self.handle, message_id.encode())

    def subscribe(self):
        return Subscription(self)


class Subscription:
    """A pull-mode subscription: poll() returns the next event (a dict) or None."""

    def __init__(self, client):
        self.pieces = client.pieces
        self.handle = ctypes.c_void_p()
        self.pieces.call("pieces_messages_subscribe", client.handle, None, None, None, ctypes.byref(self.handle))

    def poll(self, timeout_ms):
        out = ctypes.c_void_p()
        status = self.pieces.lib.pieces_subscription_next(self.handle, timeout_ms, ctypes.byref(out))
        if status == OK:
            return json.loads(self.pieces.take_string(out))
        if status in (NO_EVENT, CLOSED):
            return None
        raise PiecesError("pieces_subscription_next", status, self.pieces.last_error())

    def wait_for(self, predicate, timeout_s=30.0):
        """Polls until an event satisfies predicate, as an editor's idle loop would, at most timeout_s."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            event = self.poll(100)
            if event is not None and predicate(event):
                return event
        return None

    def stop(self):
        self.pieces.call("pieces_subscription_stop", self.handle)

    def close(self):
        self.pieces.lib.pieces_subscription_free(self.handle)
        self.handle = ctypes.c_void_p()


def has_message(event, message_id, deleted=False):
    if event["type"] != "identifiers":
        return False
    for item in event["data"]["iterable"]:
        reference = item.get("conversationMessage") or {}
        if reference.get("id") == message_id and bool(item.get("deleted")) == deleted:
            return True
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", required=True, help="path to libpieces_os_client.so")
    parser.add_argument("--url", required=True, help="PiecesOS base URL")
    args = parser.parse_args()

    passed = failed = 0

    def check(condition, what):
        nonlocal passed, failed
        if condition:
            passed += 1
        else:
            failed += 1
            print(f"CHECK failed: {what}", file=sys.stderr)

    pieces = Pieces(args.library)
    print(f"pieces_os_client {pieces.version()}")
    check(pieces.version().count(".") == 2, "the version is MAJOR.MINOR.PATCH")

    client = Client(pieces, {"base_url": args.url, "application_id": "python-plugin"})
    subscription = client.subscribe()
    try:
        first = subscription.wait_for(lambda e: True)
        check(first is not None and first["type"] == "connected", "the first event is connected")
        full = subscription.wait_for(lambda e: e["type"] == "identifiers")
        check(full is not None and full["full"], "then the full set of ids")

        created = client.create({
            "role": "USER",
            "conversation": {"id": "python-plugin"},
            "fragment": {"string": {"raw": "a python plugin was here"}},
        })
        message_id = created["id"]
        check(created["fragment"]["string"]["raw"] == "a python plugin was here", "create returns the message")
        check(subscription.wait_for(lambda e: has_message(e, message_id)) is not None,
              "the new message arrives on the stream")

        found = client.search("python plugin")
        check(any(hit["identifier"] == message_id for hit in found["iterable"]), "search finds it")
        snapshot = client.snapshot(TRANSFERABLES_EXCLUDE)
        check(any(m["id"] == message_id for m in snapshot["iterable"]), "the snapshot has it")

        client.delete(message_id)
        check(subscription.wait_for(lambda e: has_message(e, message_id, deleted=True)) is not None,
              "the deletion arrives on the stream")

        try:
            client.delete(message_id)
            check(False, "deleting twice fails")
        except PiecesError as error:
            check(error.status == HTTP_STATUS and error.detail["status"] == 500,
                  "deleting twice is HTTP 500, with the status in the last error")

        subscription.stop()
        closed = subscription.wait_for(lambda e: e["type"] in ("closed", "error"))
        check(closed is not None and closed["type"] == "closed", "stop ends with a closed event")
        check(subscription.poll(0) is None, "nothing after the terminal event")
    finally:
        subscription.close()
        client.close()

    print(f"python: {passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
