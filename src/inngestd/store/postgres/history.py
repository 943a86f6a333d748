"""PostgreSQL History (run listings, counts, traces) and HistoryWriter (what the outbox
relay records: runs, status changes, spans, step memos; and retention).

Listing uses the same keyset query as SQLite (`inngestd.store.run_listing`): one
`UNION ALL` branch per status x function combination, each a backward scan of one
`(…, created_ms, id)` index stopping after `limit` rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson

from inngestd.domain.events import Event
from inngestd.domain.runs import Run, RunStatus, StepSpan
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
    flow_record,
    run_from_row,
    span_from_row,
)
from inngestd.store.run_listing import NAMED_FROM, SELECT, in_where, list_sql, numbered

_ENDED = [s.value for s in RunStatus if s.is_ended]


def _row(row: Any) -> RunRow:
    n = len(RUN_COLUMNS)
    return RunRow(run_from_row(row), row[n], row[n + 1])


class PostgresHistory:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def list_runs(
        self, filter: RunFilter, *, cursor: str | None = None, limit: int = 50
    ) -> RunPage:
        after = decode_cursor(cursor) if cursor else None
        sql, args = list_sql(filter, after, limit + 1)
        rows = [_row(r) for r in await self._pool.fetch(numbered(sql), *args)]
        more = len(rows) > limit
        rows = rows[:limit]
        cursors = [encode_cursor(r.run.created_ms, r.run.id) for r in rows]
        return RunPage(rows, cursors[-1] if more and cursors else None, cursors)

    async def count_runs(self, filter: RunFilter) -> int:
        where, args = in_where(filter, None)
        return int(
            await self._pool.fetchval(
                numbered(f"SELECT count(*) FROM runs {where}"), *args
            )
        )

    async def get_run(self, run_id: str) -> RunRow | None:
        row = await self._pool.fetchrow(
            f"SELECT {SELECT}, f.name, e.name FROM runs r{NAMED_FROM} WHERE r.id = $1",
            run_id,
        )
        return _row(row) if row else None

    async def run_trace(self, run_id: str) -> RunTrace | None:
        async with (
            self._pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            row = await conn.fetchrow(
                f"SELECT {SELECT}, f.name, e.name, r.events FROM runs r{NAMED_FROM}"
                " WHERE r.id = $1",
                run_id,
            )
            if row is None:
                return None
            spans = await conn.fetch(
                "SELECT s.id, s.step_id, s.name, s.op, s.attempt, s.started_ms,"
                " s.ended_ms, s.status, EXISTS(SELECT 1 FROM steps st"
                " WHERE st.run_id = s.run_id AND st.step_id = s.step_id)"
                " FROM spans s WHERE s.run_id = $1 ORDER BY s.id",
                run_id,
            )
        return RunTrace(
            _row(row),
            orjson.loads(row[-1]),
            [
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
                for r in spans
            ],
        )

    async def span_output(self, output_id: str) -> bytes | None:
        if not output_id.isdigit() or len(output_id) > 18:
            return None
        out = await self._pool.fetchval(
            "SELECT COALESCE(s.output, (SELECT memo FROM steps st"
            " WHERE st.run_id = s.run_id AND st.step_id = s.step_id))"
            " FROM spans s WHERE s.id = $1",
            int(output_id),
        )
        return None if out is None else bytes(out)

    async def runs_for_event(self, internal_id: str) -> list[Run]:
        rows = await self._pool.fetch(
            f"SELECT {SELECT} FROM run_events e JOIN runs r ON r.id = e.run_id"
            " WHERE e.event_id = $1 ORDER BY r.id",
            internal_id,
        )
        return [run_from_row(r) for r in rows]

    async def spans(self, run_id: str) -> list[StepSpan]:
        rows = await self._pool.fetch(
            f"SELECT {SPAN_COLUMNS} FROM spans WHERE run_id = $1 ORDER BY id", run_id
        )
        return [span_from_row(r) for r in rows]

    async def step_memos(self, run_id: str) -> list[tuple[str, bytes]]:
        rows = await self._pool.fetch(
            "SELECT step_id, memo FROM steps WHERE run_id = $1"
            " ORDER BY position NULLS LAST, step_id",
            run_id,
        )
        return [(str(r[0]), bytes(r[1])) for r in rows]


def span_key(span: StepSpan) -> str:
    """The default de-duplication key of a span record: a digest of its content."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(
        orjson.dumps(
            [
                span.step_id,
                span.name,
                span.op,
                span.attempt,
                span.started_ms,
                span.ended_ms,
                span.status,
            ]
        )
    )
    digest.update(b"\x00" if span.output is None else b"\x01" + span.output)
    return digest.hexdigest()


_INSERT_SPAN = (
    "INSERT INTO spans (run_id, key, step_id, name, op, attempt, started_ms,"
    " ended_ms, status, output) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    " ON CONFLICT (run_id, key) DO NOTHING"
)
_INSERT_STEP = (
    "INSERT INTO steps (run_id, step_id, memo, position) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT DO NOTHING"
)


class PostgresHistoryWriter:
    """Writes through the pool (each record commits alone) or, inside `batch()`, through
    one connection whose transaction commits every record of the block at once."""

    def __init__(
        self, pool: asyncpg.Pool, conn: asyncpg.Connection | None = None
    ) -> None:
        self._pool = pool
        self._conn = conn
        self._db: asyncpg.Pool | asyncpg.Connection = pool if conn is None else conn
        # Inside a batch: spans and step memos wait for the end of the block.
        self._spans: list[tuple[Any, ...]] = []
        self._steps: list[tuple[str, str, bytes, int | None]] = []

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[PostgresHistoryWriter]:
        # One commit (one WAL flush) per relay batch instead of one per record.
        async with self._pool.acquire() as conn, conn.transaction():
            writer = PostgresHistoryWriter(self._pool, conn)
            yield writer
            await writer._flush()

    @asynccontextmanager
    async def _atomic(self) -> AsyncIterator[asyncpg.Connection]:
        if self._conn is not None:
            yield self._conn
            return
        async with self._pool.acquire() as conn, conn.transaction():
            yield conn

    async def record_run(self, run: Run, events: Sequence[Event]) -> None:
        ended_ms = run.ended_ms
        if ended_ms is None and run.status.is_ended:
            ended_ms = run.created_ms
        async with self._atomic() as conn:
            await conn.execute(
                "INSERT INTO runs (id, function_id, app_id, event_id, events, status,"
                " created_ms, started_ms, ended_ms, output, reason, request_version,"
                " disable_immediate, max_attempts, flow) VALUES ($1, $2, $3, $4, $5, $6,"
                " $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (id) DO NOTHING",
                run.id,
                run.function_id,
                run.app_id,
                run.event_id,
                orjson.dumps([e.payload for e in events]),
                run.status.value,
                run.created_ms,
                run.started_ms,
                ended_ms,
                run.output,
                run.reason,
                run.request_version,
                run.disable_immediate,
                run.max_attempts,
                flow_record(run),
            )
            await conn.execute(
                "INSERT INTO run_events (run_id, event_id)"
                " SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
                run.id,
                [e.internal_id for e in events],
            )

    async def record_status(
        self,
        run_id: str,
        status: RunStatus,
        *,
        started_ms: int | None = None,
        ended_ms: int | None = None,
        output: bytes | None = None,
        reason: str | None = None,
    ) -> bool:
        # An ended run is final; a late QUEUED never moves a RUNNING run back.
        found = await self._db.fetchval(
            "WITH changed AS (UPDATE runs SET status = $2,"
            " started_ms = COALESCE(started_ms, $3), ended_ms = COALESCE($4, ended_ms),"
            " output = COALESCE($5, output), reason = COALESCE($6, reason)"
            " WHERE id = $1 AND status <> ALL($7::text[])"
            " AND NOT (status = 'RUNNING' AND $2 = 'QUEUED') RETURNING 1)"
            " SELECT EXISTS(SELECT 1 FROM runs WHERE id = $1)",
            run_id,
            status.value,
            started_ms,
            ended_ms,
            output,
            reason,
            _ENDED,
        )
        return bool(found)

    async def record_span(self, span: StepSpan, *, key: str | None = None) -> None:
        row = (
            span.run_id,
            key if key is not None else span_key(span),
            span.step_id,
            span.name,
            span.op,
            span.attempt,
            span.started_ms,
            span.ended_ms,
            span.status,
            span.output,
        )
        if self._conn is not None:
            self._spans.append(row)
        else:
            await self._pool.execute(_INSERT_SPAN, *row)

    async def record_step(
        self, run_id: str, step_id: str, memo: bytes, position: int | None = None
    ) -> None:
        if self._conn is not None:
            self._steps.append((run_id, step_id, memo, position))
        else:
            await self._pool.execute(_INSERT_STEP, run_id, step_id, memo, position)

    async def _flush(self) -> None:
        """A batch's spans and step memos, each kind in one pipelined statement (nothing
        else in a batch reads them, so they can wait for its end; order is kept)."""
        if self._conn is None:
            return
        if self._spans:
            await self._conn.executemany(_INSERT_SPAN, self._spans)
        if self._steps:
            await self._conn.executemany(_INSERT_STEP, self._steps)
        self._spans, self._steps = [], []

    async def delete_before(self, cutoff_ms: int, batch: int) -> int:
        # SKIP LOCKED: two processes running retention take disjoint batches.
        deleted = await self._pool.fetchval(
            "WITH doomed AS (SELECT id FROM runs WHERE ended_ms < $1"
            " ORDER BY ended_ms LIMIT $2 FOR UPDATE SKIP LOCKED),"
            " s AS (DELETE FROM spans WHERE run_id IN (SELECT id FROM doomed)),"
            " st AS (DELETE FROM steps WHERE run_id IN (SELECT id FROM doomed)),"
            " re AS (DELETE FROM run_events WHERE run_id IN (SELECT id FROM doomed)),"
            " r AS (DELETE FROM runs WHERE id IN (SELECT id FROM doomed) RETURNING 1)"
            " SELECT count(*) FROM r",
            cutoff_ms,
            batch,
        )
        return int(deleted)
