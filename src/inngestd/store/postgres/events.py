"""PostgreSQL EventLog: every accepted event, committed before `append` returns.

Sequence numbers come from `next_seq(n) -> first` (in start mode a Redis `INCRBY`, shared
with the scripts that emit events, so one counter orders every event); without it, from
the `events_seq` sequence. Scheduling state is `mark_scheduled` (start mode schedules in
Redis, then marks the events here).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from inngestd.domain.events import Event
from inngestd.store.records import EVENT_COLUMNS, event_from_row

NextSeq = Callable[[int], Awaitable[int]]


class PostgresEventLog:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        next_seq: NextSeq | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self._pool = pool
        self._next_seq = next_seq
        self._notify = notify

    async def _seqs(self, conn: asyncpg.Connection, n: int) -> list[int]:
        """`n` increasing sequence numbers for one append, in request order."""
        if self._next_seq is not None:
            first = await self._next_seq(n)
            return list(range(first, first + n))
        rows = await conn.fetch(
            "SELECT nextval('events_seq') FROM generate_series(1, $1::int) ORDER BY 1",
            n,
        )
        return [int(r[0]) for r in rows]

    async def copy(self, events: Sequence[Event]) -> None:
        """Store copies of events that already have their `seq` (the relay from the Redis
        event log); a copy delivered twice is ignored."""
        if not events:
            return
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO events (seq, internal_id, name, user_id, received_ms, payload,"
                " scheduled) SELECT s, i, n, u, r, p, TRUE FROM unnest($1::bigint[], $2::text[],"
                " $3::text[], $4::text[], $5::bigint[], $6::bytea[]) AS t(s, i, n, u, r, p)"
                " ON CONFLICT (internal_id) DO NOTHING",
                [ev.seq for ev in events],
                [ev.internal_id for ev in events],
                [ev.name for ev in events],
                [ev.user_id for ev in events],
                [ev.received_ms for ev in events],
                [ev.to_json() for ev in events],
            )

    async def append(self, events: Sequence[Event]) -> list[Event]:
        if not events:
            return []
        async with self._pool.acquire() as conn:
            seqs = await self._seqs(conn, len(events))
            rows = await conn.fetch(
                "INSERT INTO events (seq, internal_id, name, user_id, received_ms, payload)"
                " SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[],"
                " $5::bigint[], $6::bytea[]) ON CONFLICT (internal_id) DO NOTHING"
                " RETURNING internal_id, seq",
                seqs,
                [ev.internal_id for ev in events],
                [ev.name for ev in events],
                [ev.user_id for ev in events],
                [ev.received_ms for ev in events],
                [ev.to_json() for ev in events],
            )
            stored = {str(r[0]): int(r[1]) for r in rows}
            resent = [ev.internal_id for ev in events if ev.internal_id not in stored]
            if resent:  # a resend with the same seeded id: keep the first
                for r in await conn.fetch(
                    "SELECT internal_id, seq FROM events WHERE internal_id = ANY($1::text[])",
                    resent,
                ):
                    stored[str(r[0])] = int(r[1])
        if self._notify is not None:
            self._notify("events")
        return [
            Event(
                ev.internal_id,
                ev.name,
                ev.payload,
                ev.received_ms,
                ev.user_id,
                stored[ev.internal_id],
            )
            for ev in events
        ]

    async def get(self, internal_id: str) -> Event | None:
        row = await self._pool.fetchrow(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE internal_id = $1", internal_id
        )
        return event_from_row(row) if row else None

    async def recent(
        self,
        *,
        name: str | None = None,
        limit: int = 100,
        before_seq: int | None = None,
    ) -> list[Event]:
        where: list[str] = []
        args: list[object] = []
        if name is not None:
            args.append(name)
            where.append(f"name = ${len(args)}")
        if before_seq is not None:
            args.append(before_seq)
            where.append(f"seq < ${len(args)}")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        args.append(limit)
        rows = await self._pool.fetch(
            f"SELECT {EVENT_COLUMNS} FROM events {clause}"
            f" ORDER BY seq DESC LIMIT ${len(args)}",
            *args,
        )
        return [event_from_row(r) for r in rows]

    async def unscheduled(self, limit: int) -> list[Event]:
        rows = await self._pool.fetch(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE NOT scheduled ORDER BY seq LIMIT $1",
            limit,
        )
        return [event_from_row(r) for r in rows]

    async def mark_scheduled(self, internal_ids: Sequence[str]) -> None:
        """Take these events off the unscheduled backlog (idempotent)."""
        if internal_ids:
            await self._pool.execute(
                "UPDATE events SET scheduled = true"
                " WHERE internal_id = ANY($1::text[]) AND NOT scheduled",
                list(internal_ids),
            )
