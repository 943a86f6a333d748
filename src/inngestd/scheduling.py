"""From accepted events to work: new runs, resumed pauses and cancellations.

Events are read from the event log in arrival order; each event's consequences are applied
in one store transaction that also marks the event scheduled, so a crash never loses or
doubles them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from inngestd import ids, run_start
from inngestd.clock import Clock
from inngestd.domain.events import FUNCTION_FINISHED, FUNCTION_INVOKED, Event
from inngestd.domain.expressions import compile_expression
from inngestd.domain.finish import cancellation_events
from inngestd.domain.functions import Function
from inngestd.domain.patterns import trigger_matches
from inngestd.domain.runs import PauseKind, Run
from inngestd.functions import FunctionIndex
from inngestd.store.base import (
    BatchEvent,
    Cancel,
    DebounceEvent,
    NewRun,
    Resume,
    SchedulePlan,
    Store,
)

log = logging.getLogger("inngestd.scheduling")

BATCH = 500


def _matches(expression: str | None, variables: dict[str, Any]) -> bool:
    if not expression:
        return True
    try:
        return compile_expression(expression).matches(variables)
    except Exception:  # an invalid expression never matches; sync rejects most of them
        log.warning("expression %r failed to compile", expression)
        return False


def triggered_by(fn: Function, event: Event) -> bool:
    variables = {"event": event.payload}
    return any(
        t.event is not None
        and trigger_matches(t.event, event.name)
        and _matches(t.expression, variables)
        for t in fn.triggers
    )


class Scheduler:
    def __init__(
        self,
        store: Store,
        functions: FunctionIndex,
        clock: Clock,
        *,
        shared: bool = False,
    ) -> None:
        # Several processes share the store: another may have synced an app a moment ago,
        # so the function index is reloaded before each batch is matched.
        self._shared = shared
        self._store = store
        self._functions = functions
        self._clock = clock
        self._wake = asyncio.Event()
        store.subscribe(self._on_notify)

    def _on_notify(self, topic: str) -> None:
        if topic == "events":
            self._wake.set()

    async def run(
        self, poll_ms: int = 1000, leader: Callable[[], Awaitable[bool]] | None = None
    ) -> None:
        """Schedule events as they arrive. With `leader`, only while this process leads
        (several processes share one store; one schedules at a time, in order)."""
        while True:
            self._wake.clear()
            try:
                if leader is not None and not await leader():
                    await asyncio.sleep(poll_ms / 1000)
                    continue
                busy = await self.tick()
            except Exception:
                log.exception("scheduling failed; retrying")
                busy = False
                await asyncio.sleep(0.5)
            if busy:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), poll_ms / 1000)

    async def tick(self) -> bool:
        """Schedule one batch of waiting events. Returns True when there was work."""
        events = await self._store.events.unscheduled(BATCH)
        if not events:
            return False
        if self._shared:
            await self._functions.refresh()
        plans: list[SchedulePlan] = []
        for event in events:
            plan = await self.plan(event)
            plans.append(plan)
            # A new run's cancelOn pauses must exist before later events are matched.
            if any(new.pauses for new in plan.new_runs):
                await self._store.runs.schedule(plans, self._clock.now_ms())
                plans = []
        if plans:
            await self._store.runs.schedule(plans, self._clock.now_ms())
        return True

    async def plan(self, event: Event) -> SchedulePlan:
        now = self._clock.now_ms()
        new_runs: list[NewRun] = []
        resumes: list[Resume] = []
        cancels: list[Cancel] = []
        debounces: list[DebounceEvent] = []
        batches: list[BatchEvent] = []
        if event.name == FUNCTION_INVOKED:
            await self._plan_invoke(event, now, new_runs, resumes)
        else:
            for fn in self._functions.for_event(event.name):
                if triggered_by(fn, event):
                    self._plan_start(fn, event, now, new_runs, debounces, batches)
        if event.name == FUNCTION_FINISHED:
            await self._plan_invoke_finished(event, resumes)
        for pause in await self._store.runs.pauses_for(event.name, event.seq, now):
            variables = {"event": pause.trigger or {}, "async": event.payload}
            if not _matches(pause.expression, variables):
                continue
            if pause.kind is PauseKind.CANCEL:
                cancel = await self._cancel_for(pause.run_id, now)
                if cancel is not None:
                    cancels.append(cancel)
            else:
                resumes.append(Resume(pause.id, event.to_json()))
        return SchedulePlan(event, new_runs, resumes, cancels, debounces, batches)

    def _plan_start(
        self,
        fn: Function,
        event: Event,
        now: int,
        new_runs: list[NewRun],
        debounces: list[DebounceEvent],
        batches: list[BatchEvent],
    ) -> None:
        """A triggered function: batch the event, debounce it, or start a run now."""
        flow = fn.flow
        if flow.batch is not None and run_start.batch_applies(fn, event.payload):
            key = run_start.batch_key(fn, event.payload)
            batch = flow.batch
            batches.append(
                BatchEvent(
                    key,
                    fn.id,
                    event,
                    batch.max_size,
                    batch.timeout_ms,
                    ids.new_ulid(now),
                )
            )
        elif flow.debounce is not None:
            key = run_start.debounce_key(fn, event.payload)
            d = flow.debounce
            debounces.append(
                DebounceEvent(
                    key, fn.id, event, d.period_ms, d.timeout_ms, ids.new_ulid(now)
                )
            )
        else:
            new_runs.append(self.new_run(fn, [event], now))

    async def _plan_invoke(
        self, event: Event, now: int, new_runs: list[NewRun], resumes: list[Resume]
    ) -> None:
        meta = event.data.get("_inngest") or {}
        fn_id = str(meta.get("fn_id", ""))
        correlation = meta.get("correlation_id")
        fn = self._functions.get(fn_id)
        if fn is not None:
            new_runs.append(
                self.new_run(fn, [event], now, key=str(correlation or event.id))
            )
            return
        # The caller's step fails at once rather than waiting for its timeout.
        pause = (
            await self._store.runs.pause_by_correlation(str(correlation))
            if correlation
            else None
        )
        if pause is not None:
            error = {
                "name": "Error",
                "message": f"could not find function with ID: {fn_id}",
            }
            resumes.append(Resume(pause.id, orjson.dumps({"error": error})))

    async def _plan_invoke_finished(self, event: Event, resumes: list[Resume]) -> None:
        cid = event.data.get("correlation_id")
        if not isinstance(cid, str):
            return
        pause = await self._store.runs.pause_by_correlation(cid)
        if pause is None:
            return
        if "error" in event.data:
            memo = orjson.dumps({"error": event.data["error"]})
        else:
            memo = orjson.dumps({"data": event.data.get("result")})
        resumes.append(Resume(pause.id, memo))

    async def _cancel_for(self, run_id: str, now: int) -> Cancel | None:
        ctx = await self._store.runs.load(run_id)
        if ctx is None or ctx.run.status.is_ended:
            return None
        events = cancellation_events(ctx, "function cancelled", now)
        return Cancel(run_id, events)

    def new_run(
        self, fn: Function, events: list[Event], now: int, *, key: str | None = None
    ) -> NewRun:
        return run_start.new_run(fn, events, now, key=key)

    async def cancel_run(
        self, run_id: str, reason: str = "cancelled via API"
    ) -> Run | None:
        """Cancel one run now (API). Returns the run, or None if it was not active."""
        now = self._clock.now_ms()
        cancel = await self._cancel_for(run_id, now)
        if cancel is None:
            return None
        return await self._store.runs.cancel(
            Cancel(cancel.run_id, cancel.events, reason), now
        )
