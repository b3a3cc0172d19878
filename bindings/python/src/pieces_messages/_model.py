"""Messages, search hits and events: each keeps the server's JSON text exactly and decodes it on demand.

The library hands out PiecesOS's own bytes. A message taken out of a larger text (a snapshot, a mirror
list, an event) keeps its own exact slice of it, found with ``json.JSONDecoder.raw_decode``, so
``message.json`` is what PiecesOS sent, whatever ``json.loads`` would make of it (long decimals,
repeated keys).
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Optional

_DECODER = json.JSONDecoder()
_SPACE = " \t\r\n"


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in _SPACE:
        index += 1
    return index


def _expect(text: str, index: int, char: str) -> int:
    index = _skip_space(text, index)
    if not text.startswith(char, index):
        raise ValueError(f"expected {char!r} at offset {index} of the library's JSON")
    return index + 1


def elements(text: str) -> Iterator[str]:
    """The exact text of each element of a JSON array."""
    index = _expect(text, 0, "[")
    index = _skip_space(text, index)
    if text.startswith("]", index):
        return
    while True:
        index = _skip_space(text, index)
        _, end = _DECODER.raw_decode(text, index)
        yield text[index:end]
        index = _skip_space(text, end)
        if text.startswith("]", index):
            return
        index = _expect(text, index, ",")


def members(text: str) -> dict[str, str]:
    """The exact text of each member of a JSON object, by key (a repeated key: its last value)."""
    found: dict[str, str] = {}
    index = _expect(text, 0, "{")
    index = _skip_space(text, index)
    if text.startswith("}", index):
        return found
    while True:
        key, index = _DECODER.raw_decode(text, _skip_space(text, index))
        index = _skip_space(text, _expect(text, index, ":"))
        _, end = _DECODER.raw_decode(text, index)
        found[key] = text[index:end]
        index = _skip_space(text, end)
        if text.startswith("}", index):
            return found
        index = _expect(text, index, ",")


class Message:
    """One conversation message (a ``ConversationMessage``), as PiecesOS sent it.

    ``json`` is the server's text, byte for byte; ``data`` is it decoded (a dict, decoded once, on first
    use). The properties read the fields a plugin shows; the rest is in ``data``.
    """

    __slots__ = ("json", "_data")

    def __init__(self, json_text: str) -> None:
        self.json = json_text
        self._data: Optional[dict[str, Any]] = None

    @property
    def data(self) -> dict[str, Any]:
        """The message decoded from :attr:`json`."""
        if self._data is None:
            self._data = json.loads(self.json)
        return self._data

    @property
    def id(self) -> str:
        """The message's id."""
        return str(self.data["id"])

    @property
    def conversation_id(self) -> Optional[str]:
        """The id of the conversation it belongs to."""
        conversation = self.data.get("conversation") or {}
        value = conversation.get("id")
        return value if isinstance(value, str) else None

    @property
    def role(self) -> Optional[str]:
        """``USER``, ``ASSISTANT``, ``SYSTEM``, … (values this package does not know are kept)."""
        value = self.data.get("role")
        return value if isinstance(value, str) else None

    @property
    def text(self) -> Optional[str]:
        """The text (``fragment.string.raw``); None when the message has none, or was fetched without
        its content (``Transferables.EXCLUDE``)."""
        fragment = self.data.get("fragment") or {}
        value = (fragment.get("string") or {}).get("raw")
        return value if isinstance(value, str) else None

    @property
    def created(self) -> Optional[str]:
        """When it was created, as PiecesOS wrote it (RFC 3339, UTC)."""
        value = (self.data.get("created") or {}).get("value")
        return value if isinstance(value, str) else None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and other.json == self.json

    def __hash__(self) -> int:
        return hash(self.json)

    def __repr__(self) -> str:
        return f"Message(id={self.id!r}, role={self.role!r}, text={self.text!r})"


def messages_of_array(text: str) -> list[Message]:
    """The messages of a JSON array of messages."""
    return [Message(element) for element in elements(text)]


class SearchHit:
    """One result of a search (a ``SearchedConversationMessage``)."""

    __slots__ = ("json", "data")

    def __init__(self, json_text: str) -> None:
        self.json = json_text
        self.data: dict[str, Any] = json.loads(json_text)

    @property
    def id(self) -> str:
        """The id of the message found."""
        return str(self.data["identifier"])

    @property
    def similarity(self) -> Optional[float]:
        """How well it matched, when PiecesOS says."""
        value = self.data.get("similarity")
        return float(value) if isinstance(value, (int, float)) else None

    @property
    def exact(self) -> Optional[bool]:
        """Whether the query matched exactly, when PiecesOS says."""
        value = self.data.get("exact")
        return value if isinstance(value, bool) else None

    @property
    def message(self) -> Optional[Message]:
        """The message itself, when the answer carries it."""
        text = members(self.json).get("conversationMessage")
        return Message(text) if text is not None and text != "null" else None

    def __repr__(self) -> str:
        return f"SearchHit(id={self.id!r}, similarity={self.similarity!r})"


class Event:
    """One event of a subscription or a mirror: a JSON object with a ``type``.

    Subscription events: ``connected``, ``identifiers`` (``data["data"]`` is the frame, ``data["full"]``
    whether it lists every message), ``disconnected``; mirror events: ``added``, ``updated`` (with
    :attr:`message`), ``removed`` (:attr:`id`), ``synced`` (:attr:`count`), ``stale``, ``disconnected``;
    then exactly one terminal ``closed`` or ``error`` (:attr:`error`).
    """

    __slots__ = ("json", "data", "_members")

    def __init__(self, json_text: str) -> None:
        self.json = json_text
        self.data: dict[str, Any] = json.loads(json_text)
        self._members: Optional[dict[str, str]] = None

    @property
    def type(self) -> str:
        """The event's ``type``."""
        return str(self.data["type"])

    @property
    def terminal(self) -> bool:
        """Whether this is the last event (``closed`` or ``error``)."""
        return self.type in ("closed", "error")

    @property
    def message(self) -> Optional[Message]:
        """The message of an ``added`` or ``updated`` event, with its exact text."""
        if "message" not in self.data:
            return None
        if self._members is None:
            self._members = members(self.json)
        return Message(self._members["message"])

    @property
    def id(self) -> Optional[str]:
        """The id of a ``removed`` message; for ``added``/``updated``, the message's id."""
        value = self.data.get("id")
        if isinstance(value, str):
            return value
        message = self.data.get("message")
        return str(message["id"]) if isinstance(message, dict) and "id" in message else None

    @property
    def count(self) -> Optional[int]:
        """How many messages the mirror holds, on ``synced``."""
        value = self.data.get("count")
        return value if isinstance(value, int) else None

    @property
    def error(self) -> Optional[dict[str, Any]]:
        """The error of ``error``, ``stale`` and ``disconnected`` events (``kind``, ``message``, …)."""
        value = self.data.get("error")
        return value if isinstance(value, dict) else None

    def __repr__(self) -> str:
        return f"Event({self.json[:120]!r})"
