"""The C library: where it is found, and its functions declared for ctypes.

Everything that touches a raw pointer lives here. Strings the library returns through ``char **`` are
received as ``c_void_p`` (a ``c_char_p`` would copy them and lose the pointer), copied into Python and
handed back to ``pieces_string_free`` at once. ``pieces_last_error_json`` is thread-local and valid only
until the next call on the thread, so :func:`call` reads it right after a failing call, on the same
thread; ctypes releases the GIL during each foreign call, and a Python thread is an OS thread, so no
other thread's call can come in between.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any, Optional

from ._errors import Status, error_for

#: The environment variable that names the shared library to load, before the one beside this package.
LIBRARY_ENV = "PIECES_OS_CLIENT_LIBRARY"

#: The ABI line this package was written for (README, "SONAME and ABI"): 0.MINOR before 1.0, MAJOR after.
ABI_LINE = "0.1"

_FILE_NAMES = {"darwin": "libpieces_os_client.dylib", "win32": "pieces_os_client.dll"}
LIBRARY_FILE = _FILE_NAMES.get(sys.platform, "libpieces_os_client.so")

_HANDLE = ctypes.c_void_p
_OUT = ctypes.POINTER(ctypes.c_void_p)
_STATUS = ctypes.c_uint32
_TEXT = ctypes.c_char_p

# name: (restype, argtypes), as in include/pieces_os_client.h. Callbacks are never passed (the package
# uses pull mode only), so the callback and userdata parameters are plain pointers, always NULL.
_DECLARATIONS: dict[str, tuple[Any, list[Any]]] = {
    "pieces_version": (_TEXT, []),
    "pieces_last_error_json": (_TEXT, []),
    "pieces_string_free": (None, [ctypes.c_void_p]),
    "pieces_client_new": (_STATUS, [_TEXT, _OUT]),
    "pieces_client_free": (None, [_HANDLE]),
    "pieces_client_base_url": (_STATUS, [_HANDLE, _OUT]),
    "pieces_client_check_version": (_STATUS, [_HANDLE, _OUT]),
    "pieces_messages_snapshot": (_STATUS, [_HANDLE, ctypes.c_uint32, _OUT]),
    "pieces_messages_create": (_STATUS, [_HANDLE, _TEXT, ctypes.c_uint32, _OUT]),
    "pieces_messages_delete": (_STATUS, [_HANDLE, _TEXT]),
    "pieces_messages_search": (_STATUS, [_HANDLE, _TEXT, ctypes.c_uint32, _OUT]),
    "pieces_messages_get": (_STATUS, [_HANDLE, _TEXT, ctypes.c_uint32, _OUT]),
    "pieces_messages_update": (_STATUS, [_HANDLE, _TEXT, ctypes.c_uint32, _OUT]),
    "pieces_messages_subscribe": (
        _STATUS,
        [_HANDLE, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, _OUT],
    ),
    "pieces_subscription_next": (_STATUS, [_HANDLE, ctypes.c_int32, _OUT]),
    "pieces_subscription_stop": (_STATUS, [_HANDLE]),
    "pieces_subscription_free": (None, [_HANDLE]),
    "pieces_mirror_new": (
        _STATUS,
        [_HANDLE, _TEXT, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, _OUT],
    ),
    "pieces_mirror_next": (_STATUS, [_HANDLE, ctypes.c_int32, _OUT]),
    "pieces_mirror_get": (_STATUS, [_HANDLE, _TEXT, _OUT]),
    "pieces_mirror_list": (_STATUS, [_HANDLE, _TEXT, _OUT]),
    "pieces_mirror_stop": (_STATUS, [_HANDLE]),
    "pieces_mirror_free": (None, [_HANDLE]),
}

_lock = threading.Lock()
_library: Optional[ctypes.CDLL] = None
_library_path: Optional[Path] = None


def library_candidates() -> list[Path]:
    """Where the library is looked for, in order: ``$PIECES_OS_CLIENT_LIBRARY``, then beside this package
    (where the wheel puts it)."""
    candidates = []
    named = os.environ.get(LIBRARY_ENV)
    if named:
        candidates.append(Path(named))
    candidates.append(Path(__file__).resolve().parent / LIBRARY_FILE)
    return candidates


def library() -> ctypes.CDLL:
    """The loaded library, loaded and declared at the first call; raises ``OSError`` when it is missing
    or of another ABI line."""
    global _library, _library_path
    with _lock:
        if _library is not None:
            return _library
        candidates = library_candidates()
        path = next((candidate for candidate in candidates if candidate.is_file()), None)
        if path is None:
            tried = ", ".join(str(candidate) for candidate in candidates)
            raise OSError(
                f"the pieces_os_client library was not found (tried {tried}); set {LIBRARY_ENV} to its path"
            )
        loaded = ctypes.CDLL(str(path))
        for name, (restype, argtypes) in _DECLARATIONS.items():
            function = getattr(loaded, name)
            function.restype = restype
            function.argtypes = argtypes
        version = loaded.pieces_version().decode()
        if abi_line(version) != ABI_LINE:
            raise OSError(
                f"{path} is pieces_os_client {version}, but this package needs the ABI line {ABI_LINE} "
                f"(a library {ABI_LINE}.x)"
            )
        _library, _library_path = loaded, path
        return loaded


def library_path() -> Path:
    """The file the library was loaded from (loading it first if needed)."""
    library()
    assert _library_path is not None
    return _library_path


def abi_line(version: str) -> str:
    """``0.MINOR`` for a version before 1.0, ``MAJOR`` from 1.0 on."""
    major, minor = (version.split(".") + ["0"])[:2]
    return f"0.{minor}" if major == "0" else major


def last_error() -> Optional[str]:
    """The calling thread's last-error JSON text, or None."""
    text = library().pieces_last_error_json()
    return text.decode("utf-8", "replace") if text is not None else None


def check(function: str, status: int) -> None:
    """Raises the :class:`PiecesError` for ``status`` unless it is OK, with the last error read now, on
    this thread (call it right after the failing call)."""
    if status != Status.OK:
        text = last_error()
        detail: dict[str, Any] = {}
        if text:
            try:
                detail = json.loads(text)
            except ValueError:
                detail = {"message": text}
        raise error_for(function, status, detail, text)


def call(function: str, *args: Any) -> None:
    """Calls a status-returning function and raises unless it returned OK."""
    check(function, getattr(library(), function)(*args))


def call_for_string(function: str, *args: Any) -> str:
    """Calls a function whose last parameter is a ``char **`` out-parameter and returns that string,
    freed in the library after the copy."""
    out = ctypes.c_void_p()
    call(function, *args, ctypes.byref(out))
    return take_string(out)


def take_string(out: ctypes.c_void_p) -> str:
    """Copies a string the library returned and frees it with ``pieces_string_free``."""
    if out.value is None:
        raise RuntimeError("the library reported success but returned no string")
    try:
        return ctypes.string_at(out.value).decode("utf-8")
    finally:
        library().pieces_string_free(out)


def encode(text: str, what: str) -> bytes:
    """A string parameter as NUL-terminated UTF-8; a NUL inside would cut it short, so it is refused."""
    if "\0" in text:
        raise ValueError(f"{what} contains a NUL character")
    return text.encode("utf-8")


__all__ = [
    "ABI_LINE",
    "LIBRARY_ENV",
    "LIBRARY_FILE",
    "call",
    "call_for_string",
    "check",
    "encode",
    "last_error",
    "library",
    "library_candidates",
    "library_path",
    "take_string",
]
