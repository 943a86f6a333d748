"""The tiered store: reads answer from the hot store, and from the read side for runs and
events trimmed from it (start mode's bounded Redis memory)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from inngestd.domain.events import Event
from inngestd.domain.runs import Run, RunContext, RunStatus, StepSpan
from inngestd.store.base import RunRow, RunTrace
from inngestd.store.tiered import TieredEventLog, TieredRunState

NOW = 1_700_000_000_000


def _run(run_id: str, status: RunStatus = RunStatus.COMPLETED) -> Run:
    return Run(run_id, "fn", "app", "ev", status, NOW)


def _span(run_id: str, step: str) -> StepSpan:
    return StepSpan(run_id, step, step, "StepRun", 0, NOW, NOW, "COMPLETED", b"1")


@dataclass
class HotRuns:
    runs: dict[str, Run] = field(default_factory=dict)
    by_event: dict[str, list[str]] = field(default_factory=dict)
    spans_of: dict[str, list[StepSpan]] = field(default_factory=dict)

    async def get_run(self, run_id: str) -> Run | None:
        return self.runs.get(run_id)

    async def runs_for_event(self, internal_id: str) -> list[Run]:
        ids = self.by_event.get(internal_id, [])
        return [self.runs[i] for i in sorted(ids) if i in self.runs]

    async def spans(self, run_id: str) -> list[StepSpan]:
        return self.spans_of.get(run_id, []) if run_id in self.runs else []

    async def load(self, run_id: str) -> RunContext | None:
        run = self.runs.get(run_id)
        return None if run is None else RunContext(run, [{"hot": True}], {}, [])


@dataclass
class Cold:
    runs: dict[str, Run] = field(default_factory=dict)
    by_event: dict[str, list[str]] = field(default_factory=dict)
    spans_of: dict[str, list[StepSpan]] = field(default_factory=dict)

    async def get_run(self, run_id: str) -> RunRow | None:
        run = self.runs.get(run_id)
        return None if run is None else RunRow(run, "Fn", "app/ev")

    async def runs_for_event(self, internal_id: str) -> list[Run]:
        return [self.runs[i] for i in sorted(self.by_event.get(internal_id, []))]

    async def spans(self, run_id: str) -> list[StepSpan]:
        return self.spans_of.get(run_id, [])

    async def run_trace(self, run_id: str) -> RunTrace | None:
        row = await self.get_run(run_id)
        return None if row is None else RunTrace(row, [{"name": "app/ev"}], [])

    async def step_memos(self, run_id: str) -> list[tuple[str, bytes]]:
        return [("s1", b'{"data":1}')] if run_id in self.runs else []


def _tiered(hot: HotRuns, cold: Cold) -> TieredRunState:
    return TieredRunState(hot, cold)  # type: ignore[arg-type]


async def test_a_trimmed_run_is_read_from_the_read_side() -> None:
    hot = HotRuns(runs={"r-hot": _run("r-hot", RunStatus.RUNNING)})
    cold = Cold(
        runs={"r-cold": _run("r-cold"), "r-hot": _run("r-hot", RunStatus.QUEUED)}
    )
    tiered = _tiered(hot, cold)
    assert await tiered.get_run("r-hot") == hot.runs["r-hot"]  # the hot side is newer
    assert await tiered.get_run("r-cold") == cold.runs["r-cold"]
    assert await tiered.get_run("missing") is None


async def test_spans_come_from_the_side_that_has_the_run() -> None:
    hot = HotRuns(runs={"a": _run("a")}, spans_of={"a": [_span("a", "s1")]})
    cold = Cold(spans_of={"a": [_span("a", "old")], "b": [_span("b", "s2")]})
    tiered = _tiered(hot, cold)
    assert [s.step_id for s in await tiered.spans("a")] == ["s1"]
    assert [s.step_id for s in await tiered.spans("b")] == ["s2"]
    assert await tiered.spans("missing") == []


async def test_runs_for_event_join_both_sides_with_hot_status_winning() -> None:
    # run-a was trimmed; run-b is hot, but its event was trimmed (the read side lists it
    # with an older status); run-c is only hot so far (the read side lags).
    hot = HotRuns(
        runs={"run-b": _run("run-b", RunStatus.RUNNING), "run-c": _run("run-c")},
        by_event={"ev": ["run-c"]},
    )
    cold = Cold(
        runs={"run-a": _run("run-a"), "run-b": _run("run-b", RunStatus.QUEUED)},
        by_event={"ev": ["run-a", "run-b"]},
    )
    runs = await _tiered(hot, cold).runs_for_event("ev")
    assert [(r.id, r.status) for r in runs] == [
        ("run-a", RunStatus.COMPLETED),
        ("run-b", RunStatus.RUNNING),
        ("run-c", RunStatus.COMPLETED),
    ]


async def test_load_of_a_trimmed_run_has_its_events_and_steps() -> None:
    tiered = _tiered(HotRuns(runs={"h": _run("h")}), Cold(runs={"c": _run("c")}))
    hot_ctx = await tiered.load("h")
    assert hot_ctx is not None
    assert hot_ctx.events == [{"hot": True}]
    ctx = await tiered.load("c")
    assert ctx is not None
    assert (ctx.run.id, ctx.events) == ("c", [{"name": "app/ev"}])
    assert (ctx.steps, ctx.stack) == ({"s1": b'{"data":1}'}, ["s1"])
    assert await tiered.load("missing") is None


class Events:
    def __init__(self, events: list[Event]) -> None:
        self.events = events

    async def get(self, internal_id: str) -> Event | None:
        return next((e for e in self.events if e.internal_id == internal_id), None)

    async def recent(self, **kw: Any) -> list[Event]:
        found = sorted(self.events, key=lambda e: e.seq, reverse=True)
        if kw.get("before_seq") is not None:
            found = [e for e in found if e.seq < kw["before_seq"]]
        return found[: kw["limit"]]


def _event(seq: int) -> Event:
    return Event(f"e{seq}", "app/x", {"n": seq}, NOW + seq, None, seq)


async def test_events_merge_newest_first_without_duplicates() -> None:
    # e5, e4 still hot (e4 already copied); e3..e1 trimmed from the hot side.
    hot = Events([_event(5), replace(_event(4), payload={"hot": True})])
    cold = Events([_event(4), _event(3), _event(2), _event(1)])
    tiered = TieredEventLog(hot, cold)  # type: ignore[arg-type]
    page = await tiered.recent(limit=3)
    assert [e.seq for e in page] == [5, 4, 3]
    assert page[1].payload == {"hot": True}
    assert [e.seq for e in await tiered.recent(limit=3, before_seq=3)] == [2, 1]
    assert await tiered.get("e2") == _event(2)
    assert await tiered.get("e5") == _event(5)
    assert await tiered.get("nope") is None
