"""Pull-mode events: the identifier stream and the mirror, taken from the test's own thread."""

from __future__ import annotations

import gc
import threading
import time
from typing import Callable, Optional

import pytest

from pieces_messages import Client, Event, InvalidInput, Mirror, Status, Subscription

from conftest import library_threads

WAIT_S = 30.0


def wait_for(source: Subscription | Mirror, predicate: Callable[[Event], bool]) -> Optional[Event]:
    """Takes events until one satisfies ``predicate``, polling as a host's loop would, for at most WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        event = source.next(0.1)
        if event is not None and predicate(event):
            return event
    return None


def mentions(event: Event, message_id: str, deleted: bool = False) -> bool:
    if event.type != "identifiers":
        return False
    return any(
        (item.get("conversationMessage") or {}).get("id") == message_id and bool(item.get("deleted")) == deleted
        for item in event.data["data"]["iterable"]
    )


def test_subscription_events_arrive_in_order_and_end_with_closed(url: str) -> None:
    with Client(url) as client, client.subscribe() as subscription:
        first = subscription.next(WAIT_S)
        assert first is not None and first.type == "connected"
        full = wait_for(subscription, lambda event: event.type == "identifiers")
        assert full is not None and full.data["full"] is True
        assert len(full.data["data"]["iterable"]) == 5

        created = client.create("python-stream", "on the stream")
        assert wait_for(subscription, lambda event: mentions(event, created.id)) is not None
        client.delete(created.id)
        assert wait_for(subscription, lambda event: mentions(event, created.id, deleted=True)) is not None

        subscription.stop()
        closed = wait_for(subscription, lambda event: event.terminal)
        assert closed is not None and closed.type == "closed"
        assert subscription.finished
        assert subscription.next(0) is None
        assert subscription.drain() == []


def test_drain_never_waits_and_iteration_ends_after_the_terminal_event(url: str) -> None:
    with Client(url) as client, client.subscribe() as subscription:
        assert wait_for(subscription, lambda event: event.type == "identifiers") is not None
        started = time.monotonic()
        assert subscription.drain() == []
        assert time.monotonic() - started < 5.0
        subscription.stop()
        seen = [event.type for event in subscription]
        assert seen[-1] == "closed" and seen.count("closed") == 1
        assert list(subscription) == []


def test_close_from_another_thread_ends_a_wait(url: str) -> None:
    client = Client(url)
    subscription = client.subscribe()
    assert wait_for(subscription, lambda event: event.type == "identifiers") is not None
    results: list[Optional[Event]] = []
    waiter = threading.Thread(target=lambda: results.append(subscription.next(None)))
    waiter.start()
    time.sleep(0.3)
    subscription.close()  # stops, waits for the waiter's call to return, then frees
    waiter.join(WAIT_S)
    assert not waiter.is_alive()
    assert results and (results[0] is None or results[0].type == "closed")
    with pytest.raises(ValueError, match="closed"):
        subscription.next(0)
    client.close()


def test_the_mirror_announces_the_messages_then_every_change(url: str) -> None:
    with Client(url) as client, client.mirror() as mirror:
        initial: list[Event] = []

        def until_synced(event: Event) -> bool:
            initial.append(event)
            return event.type == "synced"

        synced = wait_for(mirror, until_synced)
        assert synced is not None and synced.count == 5
        assert [event.type for event in initial] == ["added"] * 5 + ["synced"]
        held = mirror.messages()
        assert [message.id for message in held] == [event.message.id for event in initial[:5] if event.message]
        assert all(message.text for message in held)

        created = client.create("python-mirror", "Hello from the Python mirror")
        added = wait_for(mirror, lambda event: event.type == "added")
        assert added is not None and added.message is not None
        assert added.message.text == "Hello from the Python mirror" and added.id == created.id
        assert mirror.get(created.id) == added.message  # the same exact text
        assert [message.id for message in mirror.messages("python-mirror")] == [created.id]
        assert mirror.messages("no-such-conversation") == []

        changed = dict(created.data)
        changed["fragment"] = {"string": {"raw": "edited"}}
        client.update(changed)
        updated = wait_for(mirror, lambda event: event.type == "updated")
        assert updated is not None and updated.message is not None and updated.message.text == "edited"
        current = mirror.get(created.id)
        assert current is not None and current.text == "edited"

        client.delete(created.id)
        removed = wait_for(mirror, lambda event: event.type == "removed")
        assert removed is not None and removed.id == created.id
        assert mirror.get(created.id) is None
        assert len(mirror.messages()) == 5

        mirror.stop()
        closed = wait_for(mirror, lambda event: event.terminal)
        assert closed is not None and closed.type == "closed" and mirror.finished
        assert mirror.next(0) is None
        assert len(mirror.messages()) == 5  # readable until closed


def test_a_mirror_without_initial_announcements_starts_with_synced(url: str) -> None:
    with Client(url) as client, client.mirror(announce_initial=False, transferables=False) as mirror:
        first = mirror.next(WAIT_S)
        assert first is not None and first.type == "synced" and first.count == 5
        assert all(message.text is None for message in mirror.messages())


def test_mirror_options_are_checked(url: str) -> None:
    with Client(url) as client:
        with pytest.raises(InvalidInput) as error:
            client.mirror(stale_after=0)
        assert error.value.status == Status.INVALID_ARGUMENT and error.value.detail.get("argument")


def test_closing_or_forgetting_a_mirror_ends_its_thread(url: str) -> None:
    before = library_threads("pieces-mirror")
    with Client(url) as client:
        mirror = client.mirror()
        assert wait_for(mirror, lambda event: event.type == "synced") is not None
        assert library_threads("pieces-mirror") == before + 1
        mirror.close()
        assert library_threads("pieces-mirror") == before

        forgotten = client.mirror()
        assert wait_for(forgotten, lambda event: event.type == "synced") is not None
        assert library_threads("pieces-mirror") == before + 1
        del forgotten
        gc.collect()
        assert library_threads("pieces-mirror") == before
