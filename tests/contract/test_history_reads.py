"""Contract: History.runs_for_event and History.spans, on SQLite (written by its RunState)
and PostgreSQL (written by the relay's HistoryWriter). Start mode reads trimmed runs here."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from inngestd.domain import effects as fx
from inngestd.domain.events import Event
from inngestd.domain.runs import RunStatus, StepSpan
from inngestd.store.base import History, NewRun, SchedulePlan
from inngestd.store.postgres import PostgresReadStore
from tests.contract.conftest import NOW, event, new_run, open_postgres

# Writes: events, the runs (each with its events), then r1's spans and end.
Write = Callable[[list[Event], list[NewRun], list[StepSpan]], Awaitable[list[NewRun]]]


@pytest.fixture(params=["sqlite", "postgres"])
async def side(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[History, Write]]:
    if request.param == "sqlite":
        from inngestd.store.sqlite import open_store

        full = await open_store(tmp_path / "data")

        async def write_sqlite(
            events: list[Event], runs: list[NewRun], spans: list[StepSpan]
        ) -> list[NewRun]:
            stored = await full.events.append(events)
            plans = [
                SchedulePlan(ev, new_runs=[r for r in runs if r.events[0].id == ev.id])
                for ev in stored
            ]
            await full.runs.schedule(plans, NOW)
            first = runs[0].run.id
            effects: list[fx.Effect] = [fx.RecordSpan(s) for s in spans]
            effects.append(fx.Finish(RunStatus.COMPLETED, b'"out"'))
            await full.runs.apply_run(first, effects, NOW + 5)
            return runs

        try:
            yield full.history, write_sqlite
        finally:
            full.close()
        return
    async for pg in open_postgres():

        async def write_pg(
            events: list[Event],
            runs: list[NewRun],
            spans: list[StepSpan],
            pg: PostgresReadStore = pg,
        ) -> list[NewRun]:
            stored = {e.id: e for e in await pg.events.append(events)}
            for nr in runs:
                await pg.history_writer.record_run(
                    nr.run, [stored[e.id] for e in nr.events]
                )
            for span in spans:
                await pg.history_writer.record_span(span)
            await pg.history_writer.record_status(
                runs[0].run.id,
                RunStatus.COMPLETED,
                started_ms=NOW + 5,
                ended_ms=NOW + 5,
                output=b'"out"',
            )
            return runs

        yield pg.history, write_pg


async def test_runs_for_event_and_spans(side: tuple[History, Write]) -> None:
    history, write = side
    e1, e2, e3, e4 = (event(f"app/e{i}") for i in range(4))
    r1 = new_run(e1, run_id="run-b", key="k1")
    r2 = new_run(e1, run_id="run-a", key="k2")
    r3 = new_run(e2, run_id="run-c", key="k3")
    batch = dataclasses.replace(new_run(e3, run_id="run-d", key="k4"), events=[e3, e4])
    spans = [
        StepSpan("run-b", "s", "S", "StepRun", 0, NOW, NOW + 1, "ERRORED", b'{"e":1}'),
        StepSpan("run-b", "s", "S", "StepRun", 1, NOW + 2, NOW + 3, "COMPLETED", b"7"),
        StepSpan("run-b", "nap", "nap", "Sleep", 0, NOW, NOW, "SLEEPING", None),
    ]
    await write([e1, e2, e3, e4], [r1, r2, r3, batch], spans)

    runs = await history.runs_for_event(e1.internal_id)
    assert [r.id for r in runs] == ["run-a", "run-b"]
    ended = runs[1]
    assert (ended.status, ended.output, ended.ended_ms) == (
        RunStatus.COMPLETED,
        b'"out"',
        NOW + 5,
    )
    assert (ended.function_id, ended.event_id) == (r1.run.function_id, e1.internal_id)
    assert runs[0].status is RunStatus.QUEUED
    assert [r.id for r in await history.runs_for_event(e2.internal_id)] == ["run-c"]
    # Every event of a batch lists the batch's run.
    assert [r.id for r in await history.runs_for_event(e4.internal_id)] == ["run-d"]
    assert await history.runs_for_event("missing") == []

    assert await history.spans("run-b") == spans
    assert await history.spans("run-a") == []
    assert await history.spans("missing") == []


async def test_sqlite_history_gives_step_memos_in_stack_order(tmp_path: Path) -> None:
    from inngestd.store.sqlite import open_store

    full = await open_store(tmp_path / "data")
    try:
        [ev] = await full.events.append([event()])
        steps = [("b", b'{"data":1}'), ("a", b"null"), ("c", b'{"data":3}')]
        plan = dataclasses.replace(new_run(ev), steps=steps)
        await full.runs.schedule([SchedulePlan(ev, new_runs=[plan])], NOW)
        assert await full.history.step_memos(plan.run.id) == steps
        assert await full.history.step_memos("missing") == []
    finally:
        full.close()
