"""The client's requests and their errors, against the stand-in."""

from __future__ import annotations

import json
import threading

import pytest

from pieces_messages import (
    Client,
    ConnectionFailed,
    HTTPStatusError,
    InvalidInput,
    Message,
    NotFound,
    NotRunning,
    PiecesError,
    Status,
    Transferables,
)

from conftest import free_port


def test_create_get_snapshot_search_update_and_delete(url: str) -> None:
    with Client(url, application_id="python-tests") as client:
        assert client.base_url() == url
        assert client.check_version()
        seeded = client.snapshot()
        assert len(seeded) == 5

        created = client.create("python-conversation", "a python plugin was here", role="ASSISTANT")
        assert (created.text, created.role, created.conversation_id) == (
            "a python plugin was here",
            "ASSISTANT",
            "python-conversation",
        )
        assert client.get(created.id).data == created.data

        light = {message.id: message for message in client.snapshot(Transferables.EXCLUDE)}
        assert created.id in light and light[created.id].text is None
        assert len(light) == 6

        hits = client.search("python plugin")
        assert created.id in [hit.id for hit in hits]
        assert all(hit.similarity is None or 0.0 <= hit.similarity <= 1.0 for hit in hits)

        changed = dict(created.data)
        changed["fragment"] = {"string": {"raw": "changed by python"}}
        changed["x_unknown_key"] = {"kept": [1, 2]}
        stored = client.update(changed)
        assert stored.text == "changed by python"
        assert client.get(created.id).text == "changed by python"

        client.delete(created.id)
        with pytest.raises(NotFound) as gone:
            client.get(created.id)
        assert gone.value.status == Status.NOT_FOUND
        assert gone.value.detail["status"] == 410 and gone.value.detail["id"] == created.id


def test_create_from_seed_sends_the_seed_text_as_it_is(url: str) -> None:
    with Client(url) as client:
        seed = '{"role":"USER","conversation":{"id":"seeded"},"fragment":{"string":{"raw":"from text"}}}'
        created = client.create_from_seed(seed)
        assert created.text == "from text" and created.conversation_id == "seeded"
        assert isinstance(client.update(created), Message)


def test_deleting_twice_is_http_500_with_the_status_and_body_in_the_error(url: str) -> None:
    with Client(url) as client:
        created = client.create("c", "short-lived")
        client.delete(created.id)
        with pytest.raises(HTTPStatusError) as error:
            client.delete(created.id)
    assert error.value.status == Status.HTTP_STATUS
    assert error.value.http_status == 500
    assert error.value.kind == "http_status"
    assert error.value.body and created.id in error.value.body
    assert error.value.function == "pieces_messages_delete"
    assert json.loads(error.value.json or "{}") == error.value.detail


def test_a_server_failing_every_request_is_an_http_error(failing_url: str) -> None:
    with Client(failing_url) as client, pytest.raises(HTTPStatusError) as error:
        client.snapshot()
    assert error.value.http_status == 500


def test_a_refused_connection_is_connection_failed(refused_url: str) -> None:
    with Client(refused_url, config={"connect_timeout_ms": 2000}) as client, pytest.raises(ConnectionFailed) as error:
        client.snapshot()
    assert error.value.status == Status.CONNECTION and error.value.kind == "connection"


def test_without_a_url_the_client_discovers_the_stand_in(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIECES_OS_URL", raising=False)
    port = url.rsplit(":", 1)[1]
    with Client(config={"discovery": {"ports": f"{port}-{port}", "use_environment": False}}) as client:
        assert client.base_url() == url
        assert len(client.snapshot()) == 5


def test_without_a_url_and_nothing_running_the_error_is_not_running() -> None:
    port = free_port()
    discovery = {"ports": f"{port}-{port}", "use_environment": False}
    with Client(config={"discovery": discovery}) as client, pytest.raises(NotRunning) as error:
        client.base_url()
    assert error.value.status == Status.NOT_RUNNING
    assert error.value.detail["scanned"] == f"{port}-{port}"


def test_bad_configuration_and_input_are_refused_before_anything_is_sent(url: str) -> None:
    with pytest.raises(InvalidInput) as unknown_key:
        Client(url, config={"no_such_key": 1})
    assert unknown_key.value.status == Status.INVALID_JSON
    assert {"line", "column"} <= unknown_key.value.detail.keys()
    with pytest.raises(InvalidInput) as bad_url:
        Client("ftp://127.0.0.1:1")
    assert bad_url.value.status == Status.INVALID_ARGUMENT and bad_url.value.detail.get("argument")
    with Client(url) as client:
        with pytest.raises(InvalidInput) as not_json:
            client.create_from_seed("{not json")
        assert not_json.value.status == Status.INVALID_JSON
        with pytest.raises(InvalidInput) as empty_id:
            client.get("")
        assert empty_id.value.status == Status.INVALID_ARGUMENT
        with pytest.raises(InvalidInput) as out_of_range:
            client.snapshot(7)  # type: ignore[arg-type]
        assert out_of_range.value.status == Status.INVALID_ARGUMENT
        with pytest.raises(ValueError, match="NUL"):
            client.get("a\0b")
        assert len(client.snapshot()) == 5


def test_a_closed_client_refuses_calls_and_closes_once(url: str) -> None:
    client = Client(url)
    client.close()
    client.close()
    with pytest.raises(ValueError, match="closed"):
        client.snapshot()


def test_each_thread_gets_its_own_last_error(url: str, refused_url: str) -> None:
    """The last error is per thread: errors raised in two threads at once each carry their own."""
    failures: list[str] = []

    def fail_repeatedly(client: Client, expected: type[PiecesError], kind: str) -> None:
        for _ in range(40):
            try:
                client.get("no-such-message") if kind == "not_found" else client.snapshot()
                failures.append(f"{kind}: no error")
            except PiecesError as error:
                if not isinstance(error, expected) or error.kind != kind:
                    failures.append(f"{kind}: got {error!r}")

    with Client(url) as live, Client(refused_url) as refused:
        threads = [
            threading.Thread(target=fail_repeatedly, args=(live, NotFound, "not_found")),
            threading.Thread(target=fail_repeatedly, args=(refused, ConnectionFailed, "connection")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert failures == []
