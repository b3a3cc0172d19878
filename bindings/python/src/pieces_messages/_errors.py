"""Statuses and the exceptions that carry them."""

from __future__ import annotations

import enum
from typing import Any, Optional


class Status(enum.IntEnum):
    """``pieces_status`` (include/pieces_os_client.h): explicit values, never renumbered. A later library
    may return a value not listed here; :class:`PiecesError` keeps it as a plain ``int``."""

    OK = 0
    NULL_PARAMETER = 1
    INVALID_UTF8 = 2
    INVALID_JSON = 3
    INVALID_ARGUMENT = 4
    CONNECTION = 5
    TIMEOUT = 6
    HTTP_STATUS = 7
    DECODE = 8
    WEBSOCKET = 9
    NO_EVENT = 10
    CLOSED = 11
    IN_CALLBACK = 12
    PANIC = 13
    BODY_TOO_LARGE = 14
    NOT_RUNNING = 15
    INCOMPATIBLE_VERSION = 16
    INTERNAL = 17
    NOT_FOUND = 18


class PiecesError(Exception):
    """A call that did not return ``PIECES_STATUS_OK``.

    ``status`` is the :class:`Status` (an ``int`` for one this package does not know), ``function`` the C
    function that failed, ``detail`` the library's last-error object as a dict (``kind``, ``message``,
    and ``status``/``body``/``argument``/``line``/… where they apply) and ``json`` its text.
    """

    def __init__(self, function: str, status: int, detail: dict[str, Any], json: Optional[str]) -> None:
        try:
            self.status: int = Status(status)
        except ValueError:
            self.status = status
        self.function = function
        self.detail = detail
        self.json = json
        name = self.status.name if isinstance(self.status, Status) else str(status)
        super().__init__(f"{function}: {name}: {detail.get('message', json or 'no detail')}")

    @property
    def kind(self) -> Optional[str]:
        """The last error's ``kind``: a short, stable name such as ``http_status`` or ``not_found``."""
        kind = self.detail.get("kind")
        return kind if isinstance(kind, str) else None


class ConnectionFailed(PiecesError):
    """PiecesOS could not be reached at the client's URL (``CONNECTION``) or did not answer in time
    (``TIMEOUT``)."""


class NotRunning(PiecesError):
    """Discovery found no PiecesOS on the scanned ports (``NOT_RUNNING``); ``detail["scanned"]`` names them."""


class IncompatibleVersion(PiecesError):
    """PiecesOS runs a version the client does not support (``INCOMPATIBLE_VERSION``); ``detail`` has
    ``found``, ``required`` and ``update``."""


class HTTPStatusError(PiecesError):
    """PiecesOS answered with an HTTP error status (``HTTP_STATUS``)."""

    @property
    def http_status(self) -> Optional[int]:
        """The HTTP status, e.g. 500."""
        value = self.detail.get("status")
        return value if isinstance(value, int) else None

    @property
    def body(self) -> Optional[str]:
        """PiecesOS's text body."""
        value = self.detail.get("body")
        return value if isinstance(value, str) else None


class NotFound(PiecesError):
    """There is no such message (``NOT_FOUND``): PiecesOS answered 410, or the mirror does not hold it."""


class InvalidInput(PiecesError):
    """An argument was refused before anything was sent: ``NULL_PARAMETER``, ``INVALID_UTF8``,
    ``INVALID_JSON`` (``detail`` has ``line`` and ``column``) or ``INVALID_ARGUMENT`` (``argument``)."""


_CLASSES: dict[int, type[PiecesError]] = {
    Status.CONNECTION: ConnectionFailed,
    Status.TIMEOUT: ConnectionFailed,
    Status.NOT_RUNNING: NotRunning,
    Status.INCOMPATIBLE_VERSION: IncompatibleVersion,
    Status.HTTP_STATUS: HTTPStatusError,
    Status.NOT_FOUND: NotFound,
    Status.NULL_PARAMETER: InvalidInput,
    Status.INVALID_UTF8: InvalidInput,
    Status.INVALID_JSON: InvalidInput,
    Status.INVALID_ARGUMENT: InvalidInput,
}


def error_for(function: str, status: int, detail: dict[str, Any], json: Optional[str]) -> PiecesError:
    """The exception for ``status``: the most precise subclass, else :class:`PiecesError`."""
    return _CLASSES.get(status, PiecesError)(function, status, detail, json)
