"""SQLite History: run listings, counts and traces for the APIs and the dashboard.

Listing is keyset-paginated on `(created_ms, id)`, newest first; the query (one index range
per status x function combination) is built by `inngestd.store.run_listing`, shared with
the PostgreSQL backend.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from inngestd.domain.runs import Run, StepSpan
from inngestd.store.base import (
    RunFilter,
    RunPage,
    RunRow,
    RunTrace,
    TraceSpan,
)
from inngestd.store.records import (
    RUN_COLUMNS,
    SPAN_COLUMNS,
    decode_cursor,
    encode_cursor,
    run_from_row,
    span_from_row,
)
from inngestd.store.run_listing import (
    MAX_BRANCHES,
    NAMED_FROM,
    SELECT,
    in_where,
    list_sql,
)
from inngestd.store.sqlite.db import Database

# Kept importable from here (the listing helpers moved to inngestd.store.run_listing).
__all__ = ["MAX_BRANCHES", "SQLiteHistory", "decode_cursor", "encode_cursor"]


def _row(row: Any) -> RunRow:
    n = len(RUN_COLUMNS)
    return RunRow(run_from_row(row), row[n], row[n + 1])


class SQLiteHistory:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def list_runs(
        self, filter: RunFilter, *, cursor: str | None = None, limit: int = 50
    ) -> RunPage:
        after = decode_cursor(cursor) if cursor else None
        sql, args = list_sql(filter, after, limit + 1)

        def q(conn: sqlite3.Connection) -> list[RunRow]:
            return [_row(r) for r in conn.execute(sql, args)]

        rows = await self._db.read(q)
        more = len(rows) > limit
        rows = rows[:limit]
        cursors = [encode_cursor(r.run.created_ms, r.run.id) for r in rows]
        return RunPage(rows, cursors[-1] if more and cursors else None, cursors)

    async def count_runs(self, filter: RunFilter) -> int:
        where, args = in_where(filter, None)

        def q(conn: sqlite3.Connection) -> int:
            return int(
                conn.execute(f"SELECT COUNT(*) FROM runs {where}", args).fetchone()[0]
            )

        return await self._db.read(q)

    async def get_run(self, run_id: str) -> RunRow | None:
        def q(conn: sqlite3.Connection) -> RunRow | None:
            return _get(conn, run_id)

        return await self._db.read(q)

    async def run_trace(self, run_id: str) -> RunTrace | None:
        def q(conn: sqlite3.Connection) -> RunTrace | None:
            row = _get(conn, run_id)
            if row is None:
                return None
            events = conn.execute(
                "SELECT events FROM runs WHERE id = ?", (run_id,)
            ).fetchone()[0]
            spans = [
                TraceSpan(
                    output_id=str(r[0]),
                    step_id=str(r[1]),
                    name=str(r[2]),
                    op=str(r[3]),
                    attempt=int(r[4]),
                    started_ms=int(r[5]),
                    ended_ms=int(r[6]),
                    status=str(r[7]),
                    step_done=bool(r[8]),
                )
                for r in conn.execute(
                    "SELECT s.id, s.step_id, s.name, s.op, s.attempt, s.started_ms,"
                    " s.ended_ms, s.status, EXISTS(SELECT 1 FROM steps st"
                    " WHERE st.run_id = s.run_id AND st.step_id = s.step_id)"
                    " FROM spans s WHERE s.run_id = ? ORDER BY s.id",
                    (run_id,),
                )
            ]
            return RunTrace(row, orjson.loads(events), spans)

        return await self._db.read(q)

    async def span_output(self, output_id: str) -> bytes | None:
        if not output_id.isdigit():
            return None

        def q(conn: sqlite3.Connection) -> bytes | None:
            row = conn.execute(
                "SELECT COALESCE(s.output, (SELECT memo FROM steps st"
                " WHERE st.run_id = s.run_id AND st.step_id = s.step_id))"
                " FROM spans s WHERE s.id = ?",
                (int(output_id),),
            ).fetchone()
            return None if row is None or row[0] is None else bytes(row[0])

        return await self._db.read(q)

    async def runs_for_event(self, internal_id: str) -> list[Run]:
        return await self._db.read(
            lambda conn: select_runs_for_event(conn, internal_id)
        )

    async def spans(self, run_id: str) -> list[StepSpan]:
        return await self._db.read(lambda conn: select_spans(conn, run_id))

    async def step_memos(self, run_id: str) -> list[tuple[str, bytes]]:
        return await self._db.read(lambda conn: select_step_memos(conn, run_id))


def select_runs_for_event(conn: sqlite3.Connection, internal_id: str) -> list[Run]:
    """The runs of one event (History and RunState read the same tables here)."""
    rows = conn.execute(
        f"SELECT {SELECT} FROM run_events e JOIN runs r ON r.id = e.run_id"
        " WHERE e.event_id = ? ORDER BY r.id",
        (internal_id,),
    )
    return [run_from_row(r) for r in rows]


def select_step_memos(conn: sqlite3.Connection, run_id: str) -> list[tuple[str, bytes]]:
    """A run's step memos in stack order (History and RunState read the same table)."""
    rows = conn.execute(
        "SELECT step_id, memo FROM steps WHERE run_id = ? ORDER BY position", (run_id,)
    )
    return [(str(r[0]), bytes(r[1])) for r in rows]


def select_spans(conn: sqlite3.Connection, run_id: str) -> list[StepSpan]:
    rows = conn.execute(
        f"SELECT {SPAN_COLUMNS} FROM spans WHERE run_id = ? ORDER BY id", (run_id,)
    )
    return [span_from_row(r) for r in rows]


def _get(conn: sqlite3.Connection, run_id: str) -> RunRow | None:
    row = conn.execute(
        f"SELECT {SELECT}, f.name, e.name FROM runs r{NAMED_FROM} WHERE r.id = ?",
        (run_id,),
    ).fetchone()
    return _row(row) if row else None
