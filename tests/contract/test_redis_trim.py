"""Redis trimming (trim.lua, relayed.lua, the relay's markers): ended runs and old events
leave Redis only once the relay has stored every outbox record about them, in bounded
batches, and never while something still points at a run."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
from redis.asyncio import Redis

from inngestd.domain import effects as fx
from inngestd.domain.events import Event
from inngestd.domain.runs import Run, RunStatus, StepSpan
from inngestd.relay import Relay
from inngestd.store.base import SchedulePlan
from inngestd.store.redis import HotStore, open_hot_store
from inngestd.store.redis.keys import Keys
from tests.contract.conftest import NOW, event, new_run
from tests.contract.redis_backend import REDIS_URL, delete_prefix, unreachable

LATER = NOW + 100_000
CUTOFF = NOW + 10_000


class Hot:
    def __init__(self, store: HotStore, client: Redis, keys: Keys) -> None:
        self.store = store
        self.client = client
        self.keys = keys

    async def run(self, *, now: int = NOW, end: RunStatus | None = None) -> Run:
        """A run with one step and one span; ended at `now` with `end`."""
        [ev] = await self.store.events.append([event(received_ms=now)])
        nr = new_run(ev)
        [run] = await self.store.runs.schedule([SchedulePlan(ev, new_runs=[nr])], now)
        span = StepSpan(run.id, "a", "a", "StepRun", 0, now, now, "COMPLETED", b"1")
        effects: list[fx.Effect] = [
            fx.SaveStep("a", b'{"data":1}', discover=False),
            fx.RecordSpan(span),
        ]
        if end is not None:
            effects.append(fx.Finish(end, b'"out"'))
        assert (await self.store.runs.apply_run(run.id, effects, now)).applied
        return run

    async def relay_all(self) -> int:
        """What the relay does with markers: report each after the records before it."""
        marks = 0
        while records := await self.store.outbox.drain(100):
            for rec in records:
                if rec["t"] == "mark":
                    await self.store.outbox.relayed(rec)
                    marks += 1
            await self.store.outbox.ack(len(records))
        return marks

    async def keys_of(self, ident: str) -> list[str]:
        found = [
            k.decode()
            async for k in self.client.scan_iter(match=self.keys.pattern())
            if ident in k.decode()
        ]
        return sorted(found)


@pytest.fixture
async def hot() -> AsyncIterator[Hot]:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    try:
        store = await open_hot_store(REDIS_URL, prefix=prefix)
    except OSError as exc:
        unreachable(exc)
        raise
    client: Redis = Redis.from_url(REDIS_URL)
    try:
        yield Hot(store, client, Keys(prefix))
    finally:
        await client.aclose()
        await store.aclose()
        await delete_prefix(REDIS_URL, prefix)


async def test_only_relayed_runs_that_ended_before_the_cutoff_are_removed(
    hot: Hot,
) -> None:
    done = await hot.run(end=RunStatus.COMPLETED)
    failed = await hot.run(end=RunStatus.FAILED)
    running = await hot.run()
    recent = await hot.run(now=LATER - 1_000, end=RunStatus.COMPLETED)
    assert await hot.keys_of(done.id)  # run, steps, stack, spans
    # Nothing has been relayed yet: nothing goes, and a marker is put in the outbox.
    assert await hot.store.trim(LATER, CUTOFF, 100) == (0, 0)
    assert await hot.relay_all() == 1
    # Ended after the marker: its records may not be relayed yet, however old it is.
    unrelayed = await hot.run(end=RunStatus.CANCELLED)

    removed = await hot.store.trim(LATER, CUTOFF, 100)

    assert removed.runs == 2
    for gone in (done, failed):
        assert await hot.keys_of(gone.id) == []
        assert await hot.store.runs.get_run(gone.id) is None
    for kept in (running, recent, unrelayed):
        assert await hot.store.runs.get_run(kept.id) is not None
        assert await hot.store.runs.spans(kept.id)
    # Events: scheduled, received before the cutoff and covered by the marker.
    assert removed.events == 3
    for run in (done, failed, running):
        assert await hot.store.events.get(run.event_id) is None
    for run in (recent, unrelayed):
        assert await hot.store.events.get(run.event_id) is not None
    # The unrelayed run goes once a later marker was relayed.
    assert await hot.store.trim(LATER, CUTOFF, 100) == (0, 0)
    await hot.relay_all()
    assert (await hot.store.trim(LATER, CUTOFF, 100)).runs == 1
    assert await hot.keys_of(unrelayed.id) == []


async def test_unscheduled_events_stay(hot: Hot) -> None:
    [ev] = await hot.store.events.append([event(received_ms=NOW)])
    await hot.store.trim(LATER, CUTOFF, 100)
    await hot.relay_all()
    assert await hot.store.trim(LATER, CUTOFF, 100) == (0, 0)
    assert await hot.store.events.unscheduled(10) == [ev]
    await hot.store.runs.schedule([SchedulePlan(ev)], NOW)
    assert (await hot.store.trim(LATER, CUTOFF, 100)).events == 1
    assert await hot.store.events.get(ev.internal_id) is None
    assert await hot.store.events.recent() == []


async def test_each_call_removes_a_bounded_batch(hot: Hot) -> None:
    runs = [await hot.run(end=RunStatus.COMPLETED) for _ in range(5)]
    await hot.store.trim(LATER, CUTOFF, 2)
    await hot.relay_all()
    counts = [await hot.store.trim(LATER, CUTOFF, 2) for _ in range(4)]
    assert [c.runs for c in counts] == [2, 2, 1, 0]
    assert [c.events for c in counts] == [2, 2, 1, 0]
    for run in runs:
        assert await hot.keys_of(run.id) == []


async def test_a_run_still_referenced_is_kept_until_it_is_not(hot: Hot) -> None:
    run = await hot.run(end=RunStatus.COMPLETED)
    await hot.store.trim(LATER, CUTOFF, 100)
    await hot.relay_all()
    items = hot.keys.key("runitems", run.id)
    await hot.client.sadd(items, "late-item")  # e.g. an item inserted after the end
    assert (await hot.store.trim(LATER, CUTOFF, 100)).runs == 0
    assert await hot.store.runs.get_run(run.id) is not None
    await hot.client.srem(items, "late-item")
    # It was looked at again a grace period later (its index entry moved to LATER).
    assert (await hot.store.trim(LATER, CUTOFF, 100)).runs == 0
    assert (await hot.store.trim(LATER + 20_000, LATER + 10_000, 100)).runs == 1
    assert await hot.keys_of(run.id) == []


async def test_idempotency_keys_expire_after_their_window(hot: Hot) -> None:
    run = await hot.run()
    [key] = [k for k in await hot.keys_of(run.event_id) if ":idem:" in k]
    ttl = await hot.client.pttl(key)
    # The claim lasts a day (new_run's expires_ms) plus the clock-skew margin.
    assert 24 * 3600 * 1000 < ttl <= 24 * 3600 * 1000 + 60_000


class _Writer:
    """Records what the relay stores; fails on the `nth` record of kind `fail_on`."""

    def __init__(self, fail_on: str | None = None, nth: int = 1) -> None:
        self.fail_on = fail_on
        self.nth = nth
        self.stored: list[str] = []

    async def record_run(self, run: Run, events: Sequence[Event]) -> None:
        self._store("run")

    async def record_status(self, run_id: str, status: RunStatus, **_: Any) -> bool:
        self._store("status")
        return True

    async def record_span(self, span: StepSpan, *, key: str | None = None) -> None:
        self._store("span")

    async def record_step(
        self, run_id: str, step_id: str, memo: bytes, position: int | None = None
    ) -> None:
        self._store("step")

    async def delete_before(self, cutoff_ms: int, batch: int) -> int:
        return 0

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[_Writer]:
        yield self

    def _store(self, kind: str) -> None:
        if kind == self.fail_on and self.stored.count(kind) == self.nth - 1:
            raise RuntimeError("PostgreSQL went away")
        self.stored.append(kind)


class _Copies:
    async def copy(self, events: Sequence[Event]) -> None:
        pass


async def test_the_relay_reports_a_marker_only_after_the_records_before_it(
    hot: Hot,
) -> None:
    await hot.run(end=RunStatus.COMPLETED)
    await hot.store.trim(LATER, CUTOFF, 100)  # marker after the run's records
    await hot.run(end=RunStatus.COMPLETED)  # records after the marker
    relayed = hot.keys.key("relayed")

    # The relay dies on a record before the marker: the marker is not reported.
    failing = Relay(hot.store.outbox, _Writer("span"), hot.store.events, _Copies())
    with pytest.raises(RuntimeError):
        await failing.tick()
    assert await hot.client.hget(relayed, "g") is None
    assert (await hot.store.trim(LATER, CUTOFF, 100)).runs == 0

    # It dies after the marker, in the same batch: the batch is stored all or none, so
    # the marker is not reported either, and the batch comes again.
    after = Relay(hot.store.outbox, _Writer("run", 2), hot.store.events, _Copies())
    with pytest.raises(RuntimeError):
        await after.tick()  # fails on the second run's record, after the marker
    assert await hot.client.hget(relayed, "g") is None
    writer = _Writer()
    relay = Relay(hot.store.outbox, writer, hot.store.events, _Copies())
    while await relay.tick():
        pass
    assert await hot.client.hget(relayed, "g") == b"1"
    assert (await hot.store.trim(LATER, CUTOFF, 100)).runs == 1


async def test_a_trimmed_run_leaves_the_run_lists_of_all_its_events(hot: Hot) -> None:
    e1, e2 = await hot.store.events.append(
        [event(received_ms=NOW), event(received_ms=LATER)]  # e2 is still young
    )
    nr = dataclasses.replace(new_run(e1), events=[e1, e2])
    [run] = await hot.store.runs.schedule([SchedulePlan(e1, new_runs=[nr])], NOW)
    await hot.store.runs.schedule([SchedulePlan(e2)], NOW)
    fin: list[fx.Effect] = [fx.Finish(RunStatus.COMPLETED, None)]
    await hot.store.runs.apply_run(run.id, fin, NOW)
    assert [r.id for r in await hot.store.runs.runs_for_event(e2.internal_id)] == [
        run.id
    ]
    await hot.store.trim(LATER, CUTOFF, 100)
    await hot.relay_all()
    assert await hot.store.trim(LATER, CUTOFF, 100) == (1, 1)
    assert await hot.store.events.get(e2.internal_id) is not None
    assert await hot.store.runs.runs_for_event(e2.internal_id) == []
    assert await hot.keys_of(run.id) == []
