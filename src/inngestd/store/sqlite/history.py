"""SQLite History: run listings, counts and traces for the APIs and the dashboard.

Listing is keyset-paginated on `(created_ms, id)`, newest first. A filter on several
statuses or functions becomes one `UNION ALL` branch per combination, each walking its own
index range (`runs_status_created`, `runs_fn_status_created`, ...) and stopping after
`limit` rows, so a page costs O(limit x branches) however many runs the store holds.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import sqlite3
from typing import Any

import orjson

from inngestd import errors
from inngestd.domain.queue import ItemKind, QueueItem
from inngestd.store.base import (
    RunFilter,
    RunJob,
    RunPage,
    RunRow,
    RunTrace,
    TraceSpan,
)
from inngestd.store.sqlite.db import Database
from inngestd.store.sqlite.runs import RUN_COLUMNS, run_from_row

_COLS = RUN_COLUMNS
_SELECT = ", ".join(f"r.{c}" for c in _COLS)
_INNER = ", ".join(_COLS)
# Beyond this many (status x function x app) combinations a single IN query is cheaper.
MAX_BRANCHES = 64


def _row(row: Any) -> RunRow:
    n = len(RUN_COLUMNS)
    return RunRow(run_from_row(row), row[n], row[n + 1])


def encode_cursor(created_ms: int, run_id: str) -> str:
    raw = orjson.dumps([created_ms, run_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """Raises errors.InvalidInput for anything `encode_cursor` did not produce."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, run_id = orjson.loads(raw)
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError):
        raise errors.InvalidInput(f"invalid cursor {cursor!r}") from None
    if not isinstance(created, int) or not isinstance(run_id, str):
        raise errors.InvalidInput(f"invalid cursor {cursor!r}")
    return created, run_id


def _where(
    flt: RunFilter,
    status: str | None,
    function_id: str | None,
    app_id: str | None,
    after: tuple[int, str] | None,
) -> tuple[str, list[object]]:
    """The WHERE clause of one branch: equalities first, then the time/keyset range."""
    clauses: list[str] = []
    args: list[object] = []
    for col, value in (
        ("function_id", function_id),
        ("app_id", app_id),
        ("status", status),
    ):
        if value is not None:
            clauses.append(f"{col} = ?")
            args.append(value)
    if flt.after_ms is not None:
        clauses.append("created_ms >= ?")
        args.append(flt.after_ms)
    if flt.before_ms is not None:
        clauses.append("created_ms < ?")
        args.append(flt.before_ms)
    if after is not None:
        clauses.append("(created_ms, id) < (?, ?)")
        args += list(after)
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), args


def _in_where(
    flt: RunFilter, after: tuple[int, str] | None
) -> tuple[str, list[object]]:
    where, args = _where(flt, None, None, None, after)
    extra: list[str] = []
    for col, values in (
        ("status", sorted(s.value for s in flt.statuses)),
        ("function_id", sorted(flt.function_ids)),
        ("app_id", sorted(flt.app_ids)),
    ):
        if values:
            extra.append(f"{col} IN ({', '.join('?' * len(values))})")
            args += values
    if extra:
        joined = " AND ".join(extra)
        where = f"{where} AND {joined}" if where else f"WHERE {joined}"
    return where, args


def _or_any(values: list[str]) -> list[str | None]:
    return list(values) if values else [None]


def _branches(flt: RunFilter) -> list[tuple[str | None, str | None, str | None]]:
    statuses = _or_any(sorted(s.value for s in flt.statuses))
    functions = _or_any(sorted(flt.function_ids))
    # With functions given, the app is implied by them: filter it per branch instead.
    apps = _or_any(sorted(flt.app_ids) if not flt.function_ids else [])
    return list(itertools.product(statuses, functions, apps))


def _list_sql(
    flt: RunFilter, after: tuple[int, str] | None, limit: int
) -> tuple[str, list[object]]:
    order = "ORDER BY created_ms DESC, id DESC"
    branches = _branches(flt)
    args: list[object] = []
    if len(branches) > MAX_BRANCHES:
        where, args = _in_where(flt, after)
        inner = f"SELECT {_INNER} FROM runs {where} {order} LIMIT ?"
        args.append(limit)
    else:
        parts = []
        for status, fn, app in branches:
            where, branch_args = _where(flt, status, fn, app, after)
            if flt.app_ids and flt.function_ids:
                marks = ", ".join("?" * len(flt.app_ids))
                where += f" AND app_id IN ({marks})"
                branch_args += sorted(flt.app_ids)
            parts.append(
                f"SELECT * FROM (SELECT {_INNER} FROM runs {where} {order} LIMIT ?)"
            )
            args += [*branch_args, limit]
        inner = " UNION ALL ".join(parts)
    sql = (
        f"SELECT {_SELECT}, f.name, e.name FROM ({inner}) r"
        " LEFT JOIN functions f ON f.id = r.function_id"
        " LEFT JOIN events e ON e.internal_id = r.event_id"
        f" ORDER BY r.created_ms DESC, r.id DESC LIMIT ?"
    )
    return sql, [*args, limit]


class SQLiteHistory:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def list_runs(
        self, filter: RunFilter, *, cursor: str | None = None, limit: int = 50
    ) -> RunPage:
        after = decode_cursor(cursor) if cursor else None
        sql, args = _list_sql(filter, after, limit + 1)

        def q(conn: sqlite3.Connection) -> list[RunRow]:
            return [_row(r) for r in conn.execute(sql, args)]

        rows = await self._db.read(q)
        more = len(rows) > limit
        rows = rows[:limit]
        cursors = [encode_cursor(r.run.created_ms, r.run.id) for r in rows]
        return RunPage(rows, cursors[-1] if more and cursors else None, cursors)

    async def count_runs(self, filter: RunFilter) -> int:
        where, args = _in_where(filter, None)

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

    async def run_jobs(self, run_id: str) -> list[RunJob]:
        def q(conn: sqlite3.Connection) -> list[RunJob]:
            rows = conn.execute(
                "SELECT id, run_id, function_id, kind, due_ms, step_id, attempt,"
                " max_attempts, pause_id, lease_token IS NOT NULL FROM queue"
                " WHERE run_id = ? ORDER BY due_ms, id",
                (run_id,),
            )
            return [
                RunJob(
                    QueueItem(
                        id=str(r[0]),
                        run_id=str(r[1]),
                        function_id=str(r[2]),
                        kind=ItemKind(r[3]),
                        due_ms=int(r[4]),
                        step_id=r[5],
                        attempt=int(r[6]),
                        max_attempts=int(r[7]),
                        pause_id=r[8],
                    ),
                    leased=bool(r[9]),
                )
                for r in rows
            ]

        return await self._db.read(q)


def _get(conn: sqlite3.Connection, run_id: str) -> RunRow | None:
    row = conn.execute(
        f"SELECT {_SELECT}, f.name, e.name FROM runs r"
        " LEFT JOIN functions f ON f.id = r.function_id"
        " LEFT JOIN events e ON e.internal_id = r.event_id WHERE r.id = ?",
        (run_id,),
    ).fetchone()
    return _row(row) if row else None
