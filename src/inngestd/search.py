"""Search runs and events with a CEL expression (the dashboard's and GraphQL's `query`).

As in Go's dev server, a run matches when the expression is true for its trigger `event`
and its `output` (JSON, or null before it ended); an event matches on `event`. The store
lists candidates with the other filters, newest first, and the expression is checked
here: one request looks at no more than `SCAN_LIMIT` candidates, so a rare match costs
bounded time, and the cursor then continues where the scan stopped.
"""

from __future__ import annotations

from typing import Any

import orjson

from inngestd.domain.expressions import Expression, compile_search
from inngestd.store.base import EventLog, History, RunFilter, RunPage, RunRow

SCAN_LIMIT = 2_000
_BATCH = 200


def _output(raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")


async def _run_matches(expr: Expression, row: RunRow, events: EventLog) -> bool:
    event = await events.get(row.run.event_id) if row.run.event_id else None
    return expr.matches(
        {
            "event": event.payload if event is not None else {},
            "output": _output(row.run.output),
        }
    )


async def search_runs(
    history: History,
    events: EventLog,
    flt: RunFilter,
    query: str,
    *,
    cursor: str | None,
    limit: int,
) -> RunPage:
    """Up to `limit` runs matching `query` (and `flt`), newest first. Raises
    errors.InvalidExpression for a query that does not compile."""
    expr = compile_search(query)
    rows: list[RunRow] = []
    cursors: list[str] = []
    scanned = 0
    last = cursor
    while True:
        page = await history.list_runs(flt, cursor=last, limit=_BATCH)
        for row, row_cursor in zip(page.rows, page.row_cursors, strict=True):
            scanned += 1
            last = row_cursor
            if await _run_matches(expr, row, events):
                rows.append(row)
                cursors.append(row_cursor)
            if len(rows) == limit or scanned >= SCAN_LIMIT:
                # More may follow unless this was the store's very last row.
                done = page.cursor is None and row_cursor == page.row_cursors[-1]
                return RunPage(rows, None if done else last, cursors)
        if page.cursor is None:
            return RunPage(rows, None, cursors)
        last = page.cursor


async def count_runs(
    history: History, events: EventLog, flt: RunFilter, query: str
) -> int:
    """How many runs match, counting among the newest `SCAN_LIMIT` candidates only."""
    page = await search_runs(history, events, flt, query, cursor=None, limit=SCAN_LIMIT)
    return len(page.rows)
