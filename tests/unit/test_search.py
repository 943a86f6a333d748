"""Run search: CEL over the trigger event and the output, newest first, bounded scans."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from inngestd import errors, search
from inngestd.domain.events import Event
from inngestd.domain.runs import Run, RunStatus
from inngestd.store.base import RunFilter, RunPage, RunRow


class _History:
    """`list_runs` over a fixed list, newest first, cursors are positions."""

    def __init__(self, rows: list[RunRow]) -> None:
        self.rows = rows
        self.calls = 0

    async def list_runs(
        self, filter: RunFilter, *, cursor: str | None = None, limit: int = 50
    ) -> RunPage:
        self.calls += 1
        start = int(cursor) if cursor else 0
        rows = self.rows[start : start + limit]
        cursors = [str(start + i + 1) for i in range(len(rows))]
        more = start + limit < len(self.rows)
        return RunPage(rows, cursors[-1] if more else None, cursors)


class _Events:
    def __init__(self, events: dict[str, Event]) -> None:
        self.events = events

    async def get(self, internal_id: str) -> Event | None:
        return self.events.get(internal_id)


def _world(n: int) -> tuple[Any, Any]:
    rows, events = [], {}
    for i in range(n):
        ev = Event(f"ev{i}", "app/go", {"name": "app/go", "data": {"i": i}}, 0)
        events[ev.internal_id] = ev
        run = Run(
            f"run{i}",
            "fn",
            "app",
            ev.internal_id,
            RunStatus.COMPLETED,
            0,
            output=orjson.dumps({"double": 2 * i}),
        )
        rows.append(RunRow(run, None, "app/go"))
    return _History(rows), _Events(events)


async def _all(history: Any, events: Any, query: str, limit: int) -> list[str]:
    out, cursor = [], None
    while True:
        page = await search.search_runs(
            history, events, RunFilter(), query, cursor=cursor, limit=limit
        )
        out += [r.run.id for r in page.rows]
        if page.cursor is None:
            return out
        cursor = page.cursor


async def test_matches_on_event_and_output_across_pages() -> None:
    history, events = _world(500)
    query = "event.data.i % 7 == 0 && output.double > 100"
    want = [f"run{i}" for i in range(500) if i % 7 == 0 and 2 * i > 100]
    for limit in (1, 3, 50, 1000):
        assert await _all(history, events, query, limit) == want


async def test_a_rare_match_costs_a_bounded_scan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(search, "SCAN_LIMIT", 100)
    history, events = _world(450)
    page = await search.search_runs(
        history, events, RunFilter(), "event.data.i == 420", cursor=None, limit=10
    )
    assert page.rows == []  # nothing among the newest 100 candidates
    assert page.cursor == "100"  # ... and the cursor goes on from there
    assert await _all(history, events, "event.data.i == 420", 10) == ["run420"]
    assert (
        await search.count_runs(history, events, RunFilter(), "output.double < 6") == 3
    )


async def test_errors_and_missing_fields() -> None:
    history, events = _world(3)
    # A field some runs lack is no match (not an error).
    assert await _all(history, events, "output.missing == 1", 10) == []
    with pytest.raises(errors.InvalidExpression, match="undeclared reference"):
        await _all(history, events, "vars.x == 1", 10)
    with pytest.raises(errors.InvalidExpression):
        await _all(history, events, "event.data.i ==", 10)
