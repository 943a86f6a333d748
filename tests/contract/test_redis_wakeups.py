"""Cross-process wake-ups: work committed through one process's hot store reaches the
listeners of another process on the same prefix at once, through Redis pub/sub."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from inngestd.store.base import SchedulePlan
from inngestd.store.redis import HotStore, open_hot_store
from tests.contract.conftest import NOW, event, new_run
from tests.contract.redis_backend import REDIS_URL, delete_prefix, unreachable


async def _wait_for(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.005)


@pytest.fixture(params=["redis", "redis-cluster"])
async def pair(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[HotStore, HotStore, list[str]]]:
    """Two processes' hot stores on one prefix; the second listens for wake-ups."""
    url = REDIS_URL
    if request.param == "redis-cluster":
        url = request.getfixturevalue("redis_cluster_url")
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    try:
        a = await open_hot_store(url, prefix=prefix)
    except OSError as exc:
        unreachable(exc)
    b = await open_hot_store(url, prefix=prefix)
    seen: list[str] = []
    b.subscribe(seen.append)
    listener = asyncio.create_task(b.listen())
    # The first delivery after subscribing is the catch-up look: wait for it, then clear.
    await _wait_for(lambda: "queue" in seen)
    seen.clear()
    try:
        yield a, b, seen
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await a.aclose()
        await b.aclose()
        if url == REDIS_URL:
            await delete_prefix(REDIS_URL, prefix)


async def test_an_event_appended_elsewhere_wakes_the_scheduler_here(
    pair: tuple[HotStore, HotStore, list[str]],
) -> None:
    a, _b, seen = pair
    started = time.monotonic()
    await a.events.append([event()])
    await _wait_for(lambda: "events" in seen)
    assert time.monotonic() - started < 1.0  # well under any poll interval


async def test_queued_work_elsewhere_wakes_the_workers_here(
    pair: tuple[HotStore, HotStore, list[str]],
) -> None:
    a, _b, seen = pair
    [ev] = await a.events.append([event()])
    await a.runs.schedule([SchedulePlan(ev, new_runs=[new_run(ev)])], NOW)
    await _wait_for(lambda: "queue" in seen)


async def test_a_process_does_not_wake_itself_twice(
    pair: tuple[HotStore, HotStore, list[str]],
) -> None:
    """The publisher's own listeners were called directly; its message comes back to it
    through the channel and is dropped."""
    a, b, seen_b = pair
    seen_a: list[str] = []
    a.subscribe(seen_a.append)
    listener = asyncio.create_task(a.listen())
    try:
        await _wait_for(lambda: "queue" in seen_a)  # a's catch-up look
        seen_a.clear()
        [ev] = await a.events.append([event()])
        assert seen_a == ["events"]  # the direct call, before any message
        await _wait_for(lambda: "events" in seen_b)
        # b's message reaches a after a's own (one channel, in order): once a has taken
        # b's "queue", its own "events" message was already dropped.
        await b.runs.schedule([SchedulePlan(ev, new_runs=[new_run(ev)])], NOW)
        await _wait_for(lambda: "queue" in seen_a)
        assert seen_a == ["events", "queue"]
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
