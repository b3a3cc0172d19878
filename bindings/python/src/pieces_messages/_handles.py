"""Ownership of the library's handles: close, context managers, the finalizer, and pull-mode events."""

from __future__ import annotations

import ctypes
import threading
import time
import weakref
from typing import Iterator, Optional, TypeVar

from . import _native
from ._errors import Status
from ._model import Event

# A blocking wait is cut into slices of this many milliseconds, so that Ctrl-C (which Python handles only
# between two foreign calls) stops a waiting plugin within this long.
_WAIT_SLICE_MS = 250

_Self = TypeVar("_Self", bound="Owned")


def _free(free_function: str, address: int) -> None:
    getattr(_native.library(), free_function)(ctypes.c_void_p(address))


class Owned:
    """A handle of the library, freed exactly once: by :meth:`close`, by ``with``, or by the garbage
    collector (``weakref.finalize``, also at interpreter exit) when the object was forgotten.

    A subscription's or mirror's free stops it and joins its thread. In pull mode that thread never
    runs Python code, so the free is safe from any thread, a finalizer's included; it may wait for a
    fetch the mirror has under way (at most the client's ``request_timeout_ms``), which is why
    :meth:`close` (or ``with``) is the way to choose when that happens. :meth:`close` also waits for
    calls on the handle still running in other threads (after stopping it, which ends their waits): the
    C API forbids a free during another call on the same handle.
    """

    _free_function = ""

    def __init__(self, handle: ctypes.c_void_p) -> None:
        if handle.value is None:
            raise RuntimeError("the library reported success but returned no handle")
        self._handle = handle
        self._state = threading.Condition()
        self._busy = 0
        self._closed = False
        self._finalizer = weakref.finalize(self, _free, self._free_function, handle.value)

    def _enter(self) -> ctypes.c_void_p:
        with self._state:
            if self._closed:
                raise ValueError(f"this {type(self).__name__} is closed")
            self._busy += 1
            return self._handle

    def _leave(self) -> None:
        with self._state:
            self._busy -= 1
            self._state.notify_all()

    def _before_close(self) -> None:
        """Ends what calls in other threads wait for (a subscription or mirror stops)."""

    def close(self) -> None:
        """Frees the handle, after calls still running on it in other threads have returned. Closing
        twice does nothing."""
        with self._state:
            if self._closed:
                return
            self._closed = True
            self._before_close()
            while self._busy:
                self._state.wait()
        self._finalizer()

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class PullEvents(Owned):
    """Pull-mode events of a subscription or a mirror: the library queues them, and nothing of Python is
    ever called from the library's thread. Take them from the host's own loop: :meth:`drain` from a
    timer (it never waits), :meth:`next` with a timeout, or iterate (it blocks for each event and ends
    after the terminal one)."""

    _next_function = ""
    _stop_function = ""

    def __init__(self, handle: ctypes.c_void_p) -> None:
        super().__init__(handle)
        self._finished = False

    @property
    def finished(self) -> bool:
        """Whether the terminal event (``closed`` or ``error``) has been taken: nothing follows it."""
        return self._finished

    def next(self, timeout: Optional[float] = None) -> Optional[Event]:
        """The next event, waiting at most ``timeout`` seconds (``None``: until one arrives, ``0``: only
        look); ``None`` when nothing arrived in time or everything has been taken (see
        :attr:`finished`), or when another thread closed it meanwhile."""
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        first = True
        while True:
            if not first and self._closed:
                return None
            first = False
            if deadline is None:
                wait_ms = _WAIT_SLICE_MS
            else:
                wait_ms = min(_WAIT_SLICE_MS, max(0, round((deadline - time.monotonic()) * 1000)))
            status, event = self._next_once(wait_ms)
            if status == Status.OK:
                return event
            if status == Status.CLOSED or (deadline is not None and time.monotonic() >= deadline):
                return None

    def _next_once(self, wait_ms: int) -> tuple[int, Optional[Event]]:
        handle = self._enter()
        try:
            out = ctypes.c_void_p()
            status = getattr(_native.library(), self._next_function)(handle, wait_ms, ctypes.byref(out))
            if status == Status.OK:
                event = Event(_native.take_string(out))
                if event.terminal:
                    self._finished = True
                return status, event
            if status == Status.CLOSED:
                self._finished = True
            elif status != Status.NO_EVENT:
                _native.check(self._next_function, status)
            return status, None
        finally:
            self._leave()

    def drain(self, max_events: Optional[int] = None) -> list[Event]:
        """The events waiting now, oldest first (at most ``max_events``), without waiting: what a
        timer of the host calls."""
        taken: list[Event] = []
        while max_events is None or len(taken) < max_events:
            status, event = self._next_once(0)
            if event is None:
                break
            taken.append(event)
        return taken

    def __iter__(self) -> Iterator[Event]:
        while True:
            event = self.next()
            if event is None:
                return
            yield event
            if event.terminal:
                return

    def stop(self) -> None:
        """Asks it to stop and returns at once; the terminal ``closed`` event follows the events
        already queued."""
        handle = self._enter()
        try:
            _native.call(self._stop_function, handle)
        finally:
            self._leave()

    def _before_close(self) -> None:
        getattr(_native.library(), self._stop_function)(self._handle)
