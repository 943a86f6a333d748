"""SQLite EventLog: every accepted event, committed before the sender hears 200."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from inngestd.domain.events import Event
from inngestd.store.records import EVENT_COLUMNS, event_from_row
from inngestd.store.sqlite.db import Database

_COLS = EVENT_COLUMNS


def insert_events(conn: sqlite3.Connection, events: Sequence[Event]) -> list[Event]:
    out = []
    for ev in events:
        cur = conn.execute(
            "INSERT INTO events (internal_id, name, user_id, received_ms, payload) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(internal_id) DO NOTHING RETURNING seq",
            (ev.internal_id, ev.name, ev.user_id, ev.received_ms, ev.to_json()),
        )
        row = cur.fetchone()
        if row is None:  # a resend with the same seeded id: keep the first
            row = conn.execute(
                "SELECT seq FROM events WHERE internal_id = ?", (ev.internal_id,)
            ).fetchone()
        out.append(
            Event(
                ev.internal_id,
                ev.name,
                ev.payload,
                ev.received_ms,
                ev.user_id,
                int(row[0]),
            )
        )
    return out


class SQLiteEventLog:
    def __init__(self, db: Database, notify: Callable[[str], None]) -> None:
        self._db = db
        self._notify = notify

    async def append(self, events: Sequence[Event]) -> list[Event]:
        stored = await self._db.write(lambda conn: insert_events(conn, events))
        self._notify("events")
        return stored

    async def get(self, internal_id: str) -> Event | None:
        def q(conn: sqlite3.Connection) -> Event | None:
            row = conn.execute(
                f"SELECT {_COLS} FROM events WHERE internal_id = ?", (internal_id,)
            ).fetchone()
            return event_from_row(row) if row else None

        return await self._db.read(q)

    async def recent(
        self,
        *,
        name: str | None = None,
        limit: int = 100,
        before_seq: int | None = None,
    ) -> list[Event]:
        def q(conn: sqlite3.Connection) -> list[Event]:
            where: list[str] = []
            args: list[object] = []
            if name is not None:
                where.append("name = ?")
                args.append(name)
            if before_seq is not None:
                where.append("seq < ?")
                args.append(before_seq)
            clause = f"WHERE {' AND '.join(where)}" if where else ""
            rows = conn.execute(
                f"SELECT {_COLS} FROM events {clause} ORDER BY seq DESC LIMIT ?",
                (*args, limit),
            )
            return [event_from_row(r) for r in rows]

        return await self._db.read(q)

    async def unscheduled(self, limit: int) -> list[Event]:
        def q(conn: sqlite3.Connection) -> list[Event]:
            rows = conn.execute(
                f"SELECT {_COLS} FROM events WHERE scheduled = 0 ORDER BY seq LIMIT ?",
                (limit,),
            )
            return [event_from_row(r) for r in rows]

        # Read on the writer so an event appended a moment ago is always visible.
        return await self._db.write(q)
