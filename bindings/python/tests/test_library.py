"""Loading the library, and the package's JSON slicing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import pieces_messages
from pieces_messages import _model, _native

from conftest import REPOSITORY


def test_version_is_the_crate_version_and_of_the_package_abi_line() -> None:
    crate = re.search(r'(?m)^version = "([^"]+)"', (REPOSITORY / "Cargo.toml").read_text())
    assert crate is not None
    assert pieces_messages.version() == crate.group(1)
    assert re.fullmatch(r"\d+\.\d+\.\d+", pieces_messages.version())
    assert _native.abi_line(pieces_messages.version()) == pieces_messages.ABI_LINE


def test_library_comes_from_the_variable_else_from_beside_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    beside = Path(pieces_messages.__file__).resolve().parent / _native.LIBRARY_FILE
    loaded = pieces_messages.library_path()
    named = __import__("os").environ.get(pieces_messages.LIBRARY_ENV)
    assert loaded == (Path(named) if named else beside)
    monkeypatch.setenv(pieces_messages.LIBRARY_ENV, "/nowhere/libpieces_os_client.so")
    assert _native.library_candidates() == [Path("/nowhere/libpieces_os_client.so"), beside]
    monkeypatch.delenv(pieces_messages.LIBRARY_ENV)
    assert _native.library_candidates() == [beside]


def test_abi_line_follows_the_soname_rule() -> None:
    assert _native.abi_line("0.1.7") == "0.1"
    assert _native.abi_line("0.2.0") == "0.2"
    assert _native.abi_line("1.4.2") == "1"


def test_slices_keep_the_exact_text_of_each_element_and_member() -> None:
    text = ' [ {"a": "]}\\"[", "n": 12345678901234567890.000000000000000001} , [1,[2]], "x" ,null]'
    assert list(_model.elements(text.strip())) == [
        '{"a": "]}\\"[", "n": 12345678901234567890.000000000000000001}',
        "[1,[2]]",
        '"x"',
        "null",
    ]
    assert list(_model.elements("[]")) == []
    members = _model.members('{"type":"added","message":{"id":"m","v":1.10},"k" : [ ] }')
    assert members == {"type": '"added"', "message": '{"id":"m","v":1.10}', "k": "[ ]"}
    with pytest.raises(ValueError):
        list(_model.elements('{"not": "an array"}'))


def test_a_message_keeps_its_text_and_reads_its_fields() -> None:
    text = (
        '{"id":"m1","role":"ASSISTANT","conversation":{"id":"c1"},"created":{"value":"2025-01-01T00:00:00Z"},'
        '"fragment":{"string":{"raw":"hi"}},"score":1.000000000000000000001}'
    )
    message = pieces_messages.Message(text)
    assert message.json == text
    assert (message.id, message.role, message.conversation_id, message.text, message.created) == (
        "m1",
        "ASSISTANT",
        "c1",
        "hi",
        "2025-01-01T00:00:00Z",
    )
    assert pieces_messages.Message('{"id":"m2","role":"USER"}').text is None
