"""A hot store in front of its read side, for start mode's bounded hot memory.

The hot store (Redis) keeps runs and events only while they are in flight and for a grace
period after; then they are trimmed, and only the read side (PostgreSQL) has them. These
wrappers answer reads from the hot store and fall back to the read side for what it no
longer holds, so the APIs read the same data before and after a trim. Writes and the
scheduler's reads (unscheduled events, pauses) only concern live data: they go to the hot
store unchanged. Typed against the Protocols only: any backend pair composes.
"""

from __future__ import annotations

from collections.abc import Sequence

from inngestd.domain.effects import Effect
from inngestd.domain.events import Event
from inngestd.domain.queue import Lease, QueueItem
from inngestd.domain.runs import Pause, Run, RunContext, StepSpan
from inngestd.store.base import (
    ApplyResult,
    Cancel,
    EventLog,
    Fire,
    History,
    PendingStart,
    RunState,
    SchedulePlan,
)


class TieredEventLog:
    """Events from `hot`, and from `cold` once trimmed from `hot`."""

    def __init__(self, hot: EventLog, cold: EventLog) -> None:
        self._hot = hot
        self._cold = cold

    async def append(self, events: Sequence[Event]) -> list[Event]:
        return await self._hot.append(events)

    async def get(self, internal_id: str) -> Event | None:
        found = await self._hot.get(internal_id)
        return found if found is not None else await self._cold.get(internal_id)

    async def recent(
        self,
        *,
        name: str | None = None,
        limit: int = 100,
        before_seq: int | None = None,
    ) -> list[Event]:
        # The newest `limit` of the union are among the newest `limit` of each side
        # (the read side lags by a moment; the hot side lacks what was trimmed).
        hot = await self._hot.recent(name=name, limit=limit, before_seq=before_seq)
        cold = await self._cold.recent(name=name, limit=limit, before_seq=before_seq)
        merged = {e.internal_id: e for e in cold}
        merged.update((e.internal_id, e) for e in hot)
        return sorted(merged.values(), key=lambda e: e.seq, reverse=True)[:limit]

    async def unscheduled(self, limit: int) -> list[Event]:
        return await self._hot.unscheduled(limit)


class TieredRunState:
    """Runs from `hot`; an ended run trimmed from `hot` is read from `cold` (History)."""

    def __init__(self, hot: RunState, cold: History) -> None:
        self._hot = hot
        self._cold = cold

    async def get_run(self, run_id: str) -> Run | None:
        run = await self._hot.get_run(run_id)
        if run is not None:
            return run
        row = await self._cold.get_run(run_id)
        return None if row is None else row.run

    async def runs_for_event(self, internal_id: str) -> list[Run]:
        # Some of the event's runs may be trimmed and others not (or the event itself
        # trimmed while its runs go on): the union, with the hot (newer) state winning.
        runs = {r.id: r for r in await self._cold.runs_for_event(internal_id)}
        for run in await self._hot.runs_for_event(internal_id):
            runs[run.id] = run
        for run_id, run in list(runs.items()):
            if not run.status.is_ended:
                hot = await self._hot.get_run(run_id)
                if hot is not None:
                    runs[run_id] = hot
        return [runs[k] for k in sorted(runs)]

    async def spans(self, run_id: str) -> list[StepSpan]:
        # The hot list holds every span of a run it holds, so empty means "trimmed" or
        # "none yet": the read side then has all of them, or none either.
        return await self._hot.spans(run_id) or await self._cold.spans(run_id)

    async def load(self, run_id: str) -> RunContext | None:
        ctx = await self._hot.load(run_id)
        if ctx is not None:
            return ctx
        # Only ended runs are trimmed: the read side has their events and step memos
        # (what a rerun, or a rerun from a step, needs).
        trace = await self._cold.run_trace(run_id)
        if trace is None:
            return None
        memos = await self._cold.step_memos(run_id)
        return RunContext(
            trace.run.run, trace.events, dict(memos), [s for s, _ in memos]
        )

    # -- live data: the hot store only ---------------------------------------------------------
    async def schedule(self, plans: Sequence[SchedulePlan], now_ms: int) -> list[Run]:
        return await self._hot.schedule(plans, now_ms)

    async def apply(
        self, lease: Lease, effects: Sequence[Effect], now_ms: int, *, ack: bool = True
    ) -> ApplyResult:
        return await self._hot.apply(lease, effects, now_ms, ack=ack)

    async def apply_run(
        self, run_id: str, effects: Sequence[Effect], now_ms: int
    ) -> ApplyResult:
        return await self._hot.apply_run(run_id, effects, now_ms)

    async def pending_start(self, kind: str, key: str) -> PendingStart | None:
        return await self._hot.pending_start(kind, key)

    async def fire(self, lease: Lease, fire: Fire, now_ms: int) -> bool:
        return await self._hot.fire(lease, fire, now_ms)

    async def sync_crons(self, items: Sequence[QueueItem]) -> None:
        await self._hot.sync_crons(items)

    async def cancel(self, cancel: Cancel, now_ms: int) -> Run | None:
        return await self._hot.cancel(cancel, now_ms)

    async def pauses_for(
        self, event_name: str, before_seq: int, now_ms: int
    ) -> list[Pause]:
        return await self._hot.pauses_for(event_name, before_seq, now_ms)

    async def pause_by_correlation(self, correlation_id: str) -> Pause | None:
        return await self._hot.pause_by_correlation(correlation_id)
