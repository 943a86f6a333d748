"""The lease loop: keeps up to `concurrency` queue items executing at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from inngestd.clock import Clock
from inngestd.execution.executor import Executor
from inngestd.store.base import Store

log = logging.getLogger("inngestd.worker")


class Worker:
    def __init__(
        self,
        store: Store,
        executor: Executor,
        clock: Clock,
        *,
        concurrency: int = 100,
        lease_ms: int = 60_000,
        poll_ms: int = 1000,
    ) -> None:
        self._store = store
        self._executor = executor
        self._clock = clock
        self._concurrency = concurrency
        self._lease_ms = lease_ms
        self._poll_ms = poll_ms
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._draining = False
        store.subscribe(self._on_notify)

    def _on_notify(self, topic: str) -> None:
        if topic == "queue":
            self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                self._wake.clear()
                try:
                    await self._fill()
                    delay = await self._idle_ms()
                except Exception:
                    log.exception("leasing failed; retrying")
                    delay = 500
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), delay / 1000)
        finally:
            for task in list(self._inflight):
                task.cancel()
            await asyncio.gather(*self._inflight, return_exceptions=True)

    async def drain(self, timeout_s: float) -> int:
        """Graceful shutdown: lease nothing more and let the steps in flight finish (their
        results are stored) for up to `timeout_s`. Returns how many are still running;
        whoever stops the worker then cancels them, and their leases expire (as if this
        process had died), so another process takes them over."""
        self._draining = True
        self._wake.set()
        pending = set(self._inflight)
        if pending and timeout_s > 0:
            _, pending = await asyncio.wait(pending, timeout=timeout_s)
        return len(pending)

    async def _fill(self) -> None:
        if self._draining:
            return
        free = self._concurrency - len(self._inflight)
        while free > 0:
            leases = await self._store.queue.lease(
                self._clock.now_ms(), free, self._lease_ms
            )
            for lease in leases:
                task = asyncio.create_task(self._execute(lease))
                self._inflight.add(task)
                task.add_done_callback(self._done)
            if len(leases) < free:
                return
            free = self._concurrency - len(self._inflight)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()

    async def _execute(self, lease: object) -> None:
        try:
            await self._executor.execute(lease)  # type: ignore[arg-type]
        except Exception:
            log.exception(
                "executing %s failed; it will be retried when its lease expires", lease
            )

    async def _idle_ms(self) -> int:
        if len(self._inflight) >= self._concurrency:
            return self._poll_ms
        next_due = await self._store.queue.next_due_ms()
        if next_due is None:
            return self._poll_ms
        return max(0, min(self._poll_ms, next_due - self._clock.now_ms()))
