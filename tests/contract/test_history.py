"""Contract: History (run listings with keyset pagination, counts, traces, outputs, jobs)."""

from __future__ import annotations

import dataclasses

import orjson
import pytest

from inngestd import errors
from inngestd.domain import effects as fx
from inngestd.domain.runs import RunStatus, StepSpan
from inngestd.store.base import RunFilter, SchedulePlan, Store
from tests.contract.conftest import NOW, event, lease_one, new_run


async def _runs(store: Store, specs: list[tuple[str, int]]) -> list[str]:
    """Create one run per (function id, created offset ms); returns their ids."""
    out = []
    for i, (fn, offset) in enumerate(specs):
        [ev] = await store.events.append([event(f"app/{fn}")])
        plan = new_run(ev, run_id=f"run-{offset:06d}-{i:03d}", function_id=fn)
        plan = dataclasses.replace(
            plan, run=dataclasses.replace(plan.run, created_ms=NOW + offset)
        )
        created = await store.runs.schedule([SchedulePlan(ev, new_runs=[plan])], NOW)
        out.append(created[0].id)
    return out


async def _finish(store: Store, run_id: str, status: RunStatus) -> None:
    await store.runs.apply_run(run_id, [fx.Finish(status, b'"out"')], NOW + 10_000)


async def _all(store: Store, flt: RunFilter, limit: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        page = await store.history.list_runs(flt, cursor=cursor, limit=limit)
        assert len(page.rows) <= limit
        assert len(page.row_cursors) == len(page.rows)
        seen += [r.run.id for r in page.rows]
        if page.cursor is None:
            return seen
        assert page.cursor == page.row_cursors[-1]
        cursor = page.cursor


async def test_list_runs_newest_first_across_pages(store: Store) -> None:
    # Ties on created_ms are broken by id, so no run is skipped or repeated.
    ids = await _runs(store, [("app-a", i // 3) for i in range(10)])
    expected = sorted(ids, key=lambda r: (int(r.split("-")[1]), r), reverse=True)
    for limit in (1, 3, 4, 10, 50):
        assert await _all(store, RunFilter(), limit) == expected
    page = await store.history.list_runs(RunFilter(), limit=10)
    assert page.cursor is None
    row = page.rows[0]
    assert row.event_name == "app/app-a"
    assert row.function_name is None  # the function was never synced


async def test_list_runs_filters(store: Store) -> None:
    ids = await _runs(
        store, [("app-a", 1), ("app-b", 2), ("app-a", 3), ("app-c", 4), ("app-a", 5)]
    )
    await _finish(store, ids[0], RunStatus.COMPLETED)
    await _finish(store, ids[1], RunStatus.FAILED)
    await _finish(store, ids[2], RunStatus.FAILED)

    async def listed(**kw: object) -> list[str]:
        return await _all(store, RunFilter(**kw), 2)  # type: ignore[arg-type]

    assert await listed(function_ids=frozenset({"app-a"})) == [ids[4], ids[2], ids[0]]
    assert await listed(statuses=frozenset({RunStatus.FAILED})) == [ids[2], ids[1]]
    assert await listed(
        statuses=frozenset({RunStatus.FAILED, RunStatus.COMPLETED}),
        function_ids=frozenset({"app-a", "app-b"}),
    ) == [ids[2], ids[1], ids[0]]
    assert await listed(statuses=frozenset({RunStatus.QUEUED})) == [ids[4], ids[3]]
    assert await listed(after_ms=NOW + 2, before_ms=NOW + 4) == [ids[2], ids[1]]
    assert await listed(app_ids=frozenset({"app"})) == list(reversed(ids))
    assert await listed(app_ids=frozenset({"other"})) == []
    assert await listed(
        app_ids=frozenset({"app"}), function_ids=frozenset({"app-c"})
    ) == [ids[3]]
    assert await store.history.count_runs(RunFilter()) == 5
    assert (
        await store.history.count_runs(
            RunFilter(
                statuses=frozenset({RunStatus.FAILED}),
                function_ids=frozenset({"app-a"}),
            )
        )
        == 1
    )


async def test_many_branches_fall_back_to_one_query(store: Store) -> None:
    ids = await _runs(store, [(f"fn-{i}", i) for i in range(12)])
    flt = RunFilter(
        statuses=frozenset(RunStatus),
        function_ids=frozenset(f"fn-{i}" for i in range(12)),
    )  # 6 x 12 branches: more than MAX_BRANCHES
    assert await _all(store, flt, 5) == list(reversed(ids))


async def test_list_runs_rejects_a_foreign_cursor(store: Store) -> None:
    for bad in ("garbage!", "bm90IGpzb24", "WzEsMl0"):
        with pytest.raises(errors.InvalidInput):
            await store.history.list_runs(RunFilter(), cursor=bad)


async def test_run_trace_and_span_outputs(store: Store) -> None:
    [run_id] = await _runs(store, [("app-a", 0)])
    lease = await lease_one(store, run_id=run_id)

    def span(
        step: str, status: str, output: bytes | None, attempt: int = 0
    ) -> fx.Effect:
        return fx.RecordSpan(
            StepSpan(
                run_id,
                step,
                step.upper(),
                "StepRun",
                attempt,
                NOW,
                NOW + 5,
                status,
                output,
            )
        )

    memo = orjson.dumps({"data": [1, 2]})
    await store.runs.apply(
        lease,
        [
            span(
                "s1", "ERRORED", orjson.dumps({"error": {"name": "E", "message": "x"}})
            ),
            span("s1", "COMPLETED", memo, attempt=1),
            fx.SaveStep("s1", memo),
            span("nap", "SLEEPING", None),
            fx.SaveStep("nap", b"null"),
        ],
        NOW,
    )
    trace = await store.history.run_trace(run_id)
    assert trace is not None
    assert trace.run.run.id == run_id
    assert trace.run.event_name == "app/app-a"
    assert len(trace.events) == 1
    assert trace.events[0]["name"] == "app/app-a"
    assert [(s.step_id, s.attempt, s.status, s.step_done) for s in trace.spans] == [
        ("s1", 0, "ERRORED", True),
        ("s1", 1, "COMPLETED", True),
        ("nap", 0, "SLEEPING", True),
    ]
    first, second, nap = trace.spans
    assert orjson.loads(await store.history.span_output(first.output_id) or b"") == {
        "error": {"name": "E", "message": "x"}
    }
    assert await store.history.span_output(second.output_id) == memo
    # A span recorded before its step finished falls back to the step's memo.
    assert await store.history.span_output(nap.output_id) == b"null"
    assert await store.history.span_output("999999") is None
    assert await store.history.span_output("not-an-id") is None
    assert await store.history.run_trace("missing") is None
    row = await store.history.get_run(run_id)
    assert row is not None
    assert row.run.status is RunStatus.RUNNING
