"""Executes one leased queue item: call the app (or resolve a timer), then apply effects."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from inngestd import errors, ids
from inngestd.clock import Clock
from inngestd.domain import effects as fx
from inngestd.domain.queue import DISCOVERY, ItemKind, Lease
from inngestd.domain.runs import StepSpan
from inngestd.execution import starts
from inngestd.execution.handlers import Env, fail_run, handle
from inngestd.execution.request import build_body, build_headers
from inngestd.functions import FunctionIndex
from inngestd.sdk import HTTPSDK
from inngestd.store.base import Store

log = logging.getLogger("inngestd.executor")

MAX_JITTER_MS = 30_000


class Executor:
    def __init__(
        self,
        store: Store,
        sdk: HTTPSDK,
        functions: FunctionIndex,
        clock: Clock,
        *,
        lease_ms: int,
        retry_interval_ms: int | None = None,
    ) -> None:
        self._store = store
        self._sdk = sdk
        self._functions = functions
        self._clock = clock
        self._lease_ms = lease_ms
        self._retry_interval_ms = retry_interval_ms

    def _env(self, started_ms: int, app_id: str = "") -> Env:
        now = self._clock.now_ms()
        return Env(
            now_ms=now,
            started_ms=started_ms,
            new_id=lambda: ids.new_ulid(now),
            retry_interval_ms=self._retry_interval_ms,
            jitter_ms=0
            if self._retry_interval_ms is not None
            else random.randint(0, MAX_JITTER_MS),
            app_id=app_id,
        )

    async def execute(self, lease: Lease) -> None:
        item = lease.item
        now = self._clock.now_ms()
        if item.kind is ItemKind.SLEEP and item.step_id is not None:
            span = StepSpan(
                item.run_id,
                item.step_id,
                "sleep",
                "Sleep",
                0,
                item.due_ms,
                now,
                "COMPLETED",
            )
            await self._store.runs.apply(
                lease, [fx.SaveStep(item.step_id, b"null"), fx.RecordSpan(span)], now
            )
            return
        if item.kind is ItemKind.PAUSE_TIMEOUT and item.pause_id is not None:
            await self._store.runs.apply(lease, [fx.ExpirePause(item.pause_id)], now)
            return
        if item.kind is ItemKind.CALL:
            await self._call(lease)
            return
        await starts.execute(lease, self._store, self._functions, now)

    async def _call(self, lease: Lease) -> None:
        item = lease.item
        ctx = await self._store.runs.load(item.run_id)
        if ctx is None or ctx.run.status.is_ended:
            await self._store.runs.apply(lease, [], self._clock.now_ms())
            return
        fn = self._functions.get(ctx.run.function_id)
        if fn is None:
            await self._functions.refresh()
            fn = self._functions.get(ctx.run.function_id)
        if fn is None:
            env = self._env(self._clock.now_ms())
            effects = fail_run(
                ctx,
                "FunctionNotFound",
                f"function {ctx.run.function_id!r} is not synced",
                env,
            )
            await self._store.runs.apply(lease, effects, env.now_ms)
            return
        body = build_body(ctx, item)
        headers = build_headers(ctx, item)
        started = self._clock.now_ms()
        done = asyncio.Event()
        extender = asyncio.create_task(self._keep_leased(lease, done))
        try:
            outcome = await self._sdk.call(
                fn.url, item.step_id or DISCOVERY, body, headers, started
            )
        finally:
            # Told to stop rather than only cancelled: redis-py can swallow a cancellation
            # that lands mid-command, and an extender that missed it would keep the lease
            # alive for ever (the item would never run again).
            done.set()
            extender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await extender
        env = self._env(started, fn.app_id)
        effects = handle(ctx, item, outcome, env)
        try:
            await self._store.runs.apply(lease, effects, env.now_ms)
        except errors.LeaseLost:
            log.warning("lease on %s lost; another worker took it over", item.id)

    async def _keep_leased(self, lease: Lease, done: asyncio.Event) -> None:
        """Extend the lease until `done`, so a long step is not taken twice."""
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self._lease_ms / 3000)
            if done.is_set():
                return
            try:
                lease = await self._store.queue.extend(
                    lease, self._clock.now_ms(), self._lease_ms
                )
            except errors.LeaseLost:
                return
            except Exception as exc:
                # The store is unreachable for a moment (a Redis failover): the lease
                # may well hold until the next try. Ending here would leave the extender's
                # error to discard the call's result, and a long step unprotected.
                log.warning("extending the lease on %s failed: %s", lease.item.id, exc)
