"""PiecesOS conversation messages from Python, through the pieces_os_client C library (ctypes: nothing to
compile).

The centre is the mirror: every message, kept current by a thread of the library, and the changes as
events that the host takes from its own loop (pull mode: the library never calls into Python)::

    from pieces_messages import Client

    with Client() as client, client.mirror() as mirror:   # Client(): PiecesOS is found on 127.0.0.1
        for event in mirror:                               # blocks for each event
            if event.type in ("added", "updated"):
                print(event.message.role, event.message.text)

The shared library is the one named by ``$PIECES_OS_CLIENT_LIBRARY``, else the one beside this package
(the wheel carries it). Every failed call raises a :class:`PiecesError` (or a subclass) with the C
status and the library's last-error JSON.
"""

from ._client import Client, Mirror, Subscription, Transferables, version
from ._errors import (
    ConnectionFailed,
    HTTPStatusError,
    IncompatibleVersion,
    InvalidInput,
    NotFound,
    NotRunning,
    PiecesError,
    Status,
)
from ._model import Event, Message, SearchHit
from ._native import ABI_LINE, LIBRARY_ENV, library_path

__all__ = [
    "ABI_LINE",
    "LIBRARY_ENV",
    "Client",
    "ConnectionFailed",
    "Event",
    "HTTPStatusError",
    "IncompatibleVersion",
    "InvalidInput",
    "Message",
    "Mirror",
    "NotFound",
    "NotRunning",
    "PiecesError",
    "SearchHit",
    "Status",
    "Subscription",
    "Transferables",
    "library_path",
    "version",
]
