"""The client, its subscriptions and its mirrors."""

from __future__ import annotations

import ctypes
import enum
import json
from typing import Any, Mapping, Optional, Union

from . import _native
from ._errors import NotFound
from ._handles import Owned, PullEvents
from ._model import Message, SearchHit, elements, members, messages_of_array


class Transferables(enum.IntEnum):
    """Whether PiecesOS includes heavy content (a fragment's text) in what it answers."""

    DEFAULT = 0
    """The query parameter is left out, as the official SDKs do; PiecesOS includes the content."""
    INCLUDE = 1
    """``transferables=true``."""
    EXCLUDE = 2
    """``transferables=false``: ids, times and the rest, without the content."""


def version() -> str:
    """The version of the loaded library, such as ``"0.1.0"``."""
    return str(_native.library().pieces_version().decode())


def _json_text(value: Union[str, Mapping[str, Any]], what: str) -> bytes:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return _native.encode(text, what)


class Client:
    """A client for one PiecesOS: its URL, application id, timeouts and a pool of kept-alive connections.

    Without ``base_url`` (and without ``PIECES_OS_URL`` in the environment) it finds PiecesOS itself: at
    the first request it scans 127.0.0.1:39300-39399 (README, "Connecting to PiecesOS"). ``config`` takes
    any other key of the configuration JSON (``request_timeout_ms``, ``stream``, ``discovery``, …);
    unknown keys are refused with :class:`InvalidInput`. Nothing is sent until the first request.

    Thread-safe: one client may serve any number of threads at once. Use it as a context manager, or
    call :meth:`close`; subscriptions and mirrors made from it live on after it is closed.
    """

    def __init__(
        self,
        base_url: Optional[str] = None,
        *,
        application_id: Optional[str] = None,
        config: Optional[Mapping[str, Any]] = None,
    ) -> None:
        settings = dict(config or {})
        if base_url is not None:
            settings["base_url"] = base_url
        if application_id is not None:
            settings["application_id"] = application_id
        out = ctypes.c_void_p()
        _native.call("pieces_client_new", _json_text(settings, "config"), ctypes.byref(out))
        self._owned = _OwnedClient(out)

    def close(self) -> None:
        """Frees the client (after calls still running in other threads). Closing twice does nothing."""
        self._owned.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _string_call(self, function: str, *args: Any) -> str:
        handle = self._owned._enter()
        try:
            return _native.call_for_string(function, handle, *args)
        finally:
            self._owned._leave()

    def base_url(self) -> str:
        """The URL requests go to; a client that discovers PiecesOS scans now if it has not yet
        (:class:`NotRunning` when nothing answers)."""
        return self._string_call("pieces_client_base_url")

    def check_version(self) -> str:
        """PiecesOS's version, checked against the client's ``compatible_versions``
        (:class:`IncompatibleVersion` when outside)."""
        return self._string_call("pieces_client_check_version")

    def snapshot(self, transferables: Transferables = Transferables.DEFAULT) -> list[Message]:
        """Every conversation message (``GET /messages``), in the order PiecesOS lists them."""
        text = self._string_call("pieces_messages_snapshot", int(transferables))
        return messages_of_array(members(text).get("iterable", "[]"))

    def get(self, message_id: str, transferables: Transferables = Transferables.DEFAULT) -> Message:
        """One message (``GET /message/{id}``); :class:`NotFound` for an id PiecesOS does not know."""
        return Message(
            self._string_call(
                "pieces_messages_get", _native.encode(message_id, "message_id"), int(transferables)
            )
        )

    def create(
        self,
        conversation_id: str,
        text: str,
        *,
        role: str = "USER",
        transferables: Transferables = Transferables.DEFAULT,
    ) -> Message:
        """Adds a text message to a conversation and returns it as stored."""
        seed = {"role": role, "conversation": {"id": conversation_id}, "fragment": {"string": {"raw": text}}}
        return self.create_from_seed(seed, transferables)

    def create_from_seed(
        self,
        seed: Union[str, Mapping[str, Any]],
        transferables: Transferables = Transferables.DEFAULT,
    ) -> Message:
        """Creates a message from a whole ``SeededConversationMessage`` (a dict, or JSON text sent as
        it is)."""
        return Message(
            self._string_call("pieces_messages_create", _json_text(seed, "seed"), int(transferables))
        )

    def update(
        self,
        message: Union[Message, str, Mapping[str, Any]],
        transferables: Transferables = Transferables.DEFAULT,
    ) -> Message:
        """Sends a whole message back (``POST /message/update``) and returns it as stored. Every key is
        sent, those this package does not know included; send a message fetched with its content."""
        text: Union[str, Mapping[str, Any]] = message.json if isinstance(message, Message) else message
        return Message(
            self._string_call("pieces_messages_update", _json_text(text, "message"), int(transferables))
        )

    def delete(self, message_id: str) -> None:
        """Deletes a message; PiecesOS answers an id it does not know with HTTP 500
        (:class:`HTTPStatusError`)."""
        handle = self._owned._enter()
        try:
            _native.call("pieces_messages_delete", handle, _native.encode(message_id, "message_id"))
        finally:
            self._owned._leave()

    def search(
        self,
        query: Union[str, Mapping[str, Any]],
        transferables: Transferables = Transferables.DEFAULT,
    ) -> list[SearchHit]:
        """Searches the messages' text: a query string, or a whole ``SearchInput`` (a dict or JSON
        text). Best match first."""
        search_input = {"engines": {"iterable": [{"query": query}]}} if isinstance(query, str) else query
        text = self._string_call(
            "pieces_messages_search", _json_text(search_input, "search_input"), int(transferables)
        )
        return [SearchHit(hit) for hit in elements(members(text).get("iterable", "[]"))]

    def subscribe(self) -> "Subscription":
        """The identifier stream in pull mode: ids of messages as they change (see :class:`Subscription`)."""
        handle = self._owned._enter()
        try:
            out = ctypes.c_void_p()
            _native.call("pieces_messages_subscribe", handle, None, None, None, ctypes.byref(out))
            return Subscription(out)
        finally:
            self._owned._leave()

    def mirror(
        self,
        *,
        transferables: Optional[bool] = None,
        announce_initial: bool = True,
        snapshot_threshold: Optional[int] = None,
        retry_initial_ms: Optional[int] = None,
        retry_max_ms: Optional[int] = None,
        stale_after: Optional[int] = None,
    ) -> "Mirror":
        """A mirror of every message in pull mode (see :class:`Mirror`); the options are those of the
        README's mirror table (``None``: the default)."""
        options: dict[str, Any] = {"announce_initial": announce_initial}
        for key, value in (
            ("transferables", transferables),
            ("snapshot_threshold", snapshot_threshold),
            ("retry_initial_ms", retry_initial_ms),
            ("retry_max_ms", retry_max_ms),
            ("stale_after", stale_after),
        ):
            if value is not None:
                options[key] = value
        handle = self._owned._enter()
        try:
            out = ctypes.c_void_p()
            _native.call(
                "pieces_mirror_new", handle, _json_text(options, "options"), None, None, None, ctypes.byref(out)
            )
            return Mirror(out)
        finally:
            self._owned._leave()


class _OwnedClient(Owned):
    _free_function = "pieces_client_free"


class Subscription(PullEvents):
    """The identifier stream: ``connected``, ``identifiers`` (the first after each connection lists
    every message, ``full`` true), ``disconnected`` (it reconnects by itself), then one terminal
    ``closed`` or ``error``. One thread of the library, stopped and joined by :meth:`close`."""

    _free_function = "pieces_subscription_free"
    _next_function = "pieces_subscription_next"
    _stop_function = "pieces_subscription_stop"


class Mirror(PullEvents):
    """A local copy of every message that a thread of the library keeps current, and its events:
    ``added``/``updated`` (with the message), ``removed`` (its id), ``synced`` (``count``), ``stale``,
    ``disconnected``, then one terminal ``closed`` or ``error``. Each event comes after the mirror
    changed, so :meth:`get` and :meth:`messages` already show it; they make no request."""

    _free_function = "pieces_mirror_free"
    _next_function = "pieces_mirror_next"
    _stop_function = "pieces_mirror_stop"

    def get(self, message_id: str) -> Optional[Message]:
        """The mirror's copy of one message, or None when it holds no such message."""
        handle = self._enter()
        try:
            return Message(
                _native.call_for_string("pieces_mirror_get", handle, _native.encode(message_id, "message_id"))
            )
        except NotFound:
            return None
        finally:
            self._leave()

    def messages(self, conversation_id: Optional[str] = None) -> list[Message]:
        """The messages it holds (those of one conversation, when given), oldest first, taken at one
        point in time."""
        handle = self._enter()
        try:
            conversation = None if conversation_id is None else _native.encode(conversation_id, "conversation_id")
            return messages_of_array(_native.call_for_string("pieces_mirror_list", handle, conversation))
        finally:
            self._leave()
