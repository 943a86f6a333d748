"""The executor's lease extender stops when the call is over, even if the cancellation it
gets lands inside a store call that swallows it (redis-py can do that mid-command): an
extender that kept running would keep the item leased for ever."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace
from typing import Any

from inngestd.domain.queue import ItemKind, Lease, QueueItem
from inngestd.execution.executor import Executor

LEASE_MS = 30  # the extender runs every 10 ms


class SwallowingQueue:
    """`extend` that eats a cancellation arriving while it waits, as redis-py may."""

    def __init__(self) -> None:
        self.calls = 0
        self.in_call = asyncio.Event()

    async def extend(self, lease: Lease, now_ms: int, lease_ms: int) -> Lease:
        self.calls += 1
        self.in_call.set()
        with contextlib.suppress(
            asyncio.CancelledError
        ):  # lost: the caller is not told
            await asyncio.sleep(0.02)
        return Lease(lease.item, lease.token, now_ms + lease_ms)


def _extender(queue: object) -> tuple[asyncio.Task[None], asyncio.Event]:
    """An executor's lease extender over `queue`, and the event that tells it to stop."""
    store: Any = SimpleNamespace(queue=queue)
    clock: Any = SimpleNamespace(now_ms=lambda: 0)
    executor = Executor(store, None, None, clock, lease_ms=LEASE_MS)  # type: ignore[arg-type]
    item = QueueItem(id="i", run_id="r", function_id="f", kind=ItemKind.CALL, due_ms=0)
    done = asyncio.Event()
    task = asyncio.create_task(executor._keep_leased(Lease(item, "t", LEASE_MS), done))
    return task, done


async def test_the_extender_ends_although_its_cancellation_was_swallowed() -> None:
    queue = SwallowingQueue()
    task, done = _extender(queue)
    await asyncio.wait_for(queue.in_call.wait(), 5)
    done.set()
    task.cancel()  # lands inside extend, which swallows it
    # It ends by itself (an extender that missed its stop would loop for ever).
    await asyncio.wait_for(task, 5)
    assert task.done()
    assert not task.cancelled()


class FlakyQueue:
    """`extend` that fails like an unreachable Redis (a failover) the first times."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.extended = asyncio.Event()

    async def extend(self, lease: Lease, now_ms: int, lease_ms: int) -> Lease:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("Redis is failing over")
        self.extended.set()
        return Lease(lease.item, lease.token, now_ms + lease_ms)


async def test_the_extender_outlives_a_store_error() -> None:
    """A failed extension is tried again; the extender's end raises nothing, so the
    call's result is kept (an extender that died of the error would discard it)."""
    queue = FlakyQueue(failures=2)
    task, done = _extender(queue)
    await asyncio.wait_for(queue.extended.wait(), 5)
    assert not task.done()
    done.set()
    await asyncio.wait_for(task, 5)
    assert task.exception() is None
