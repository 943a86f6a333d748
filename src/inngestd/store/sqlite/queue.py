"""SQLite Queue: leased work items ordered by when they become available."""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from inngestd import errors
from inngestd.domain.queue import ItemKind, Lease, QueueItem
from inngestd.store.sqlite.db import Database

_COLS = (
    "id, run_id, function_id, kind, step_id, pause_id, attempt, max_attempts, due_ms"
)


def insert_item(conn: sqlite3.Connection, item: QueueItem) -> bool:
    """Enqueue `item` unless an item with its id exists (ids are deterministic, so a
    replayed enqueue is a no-op)."""
    cur = conn.execute(
        f"INSERT INTO queue ({_COLS}, available_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(id) DO NOTHING",
        (
            item.id,
            item.run_id,
            item.function_id,
            item.kind.value,
            item.step_id,
            item.pause_id,
            item.attempt,
            item.max_attempts,
            item.due_ms,
            item.due_ms,
        ),
    )
    return cur.rowcount > 0


def _item(row: Any) -> QueueItem:
    return QueueItem(
        id=str(row[0]),
        run_id=str(row[1]),
        function_id=str(row[2]),
        kind=ItemKind(row[3]),
        step_id=row[4],
        pause_id=row[5],
        attempt=int(row[6]),
        max_attempts=int(row[7]),
        due_ms=int(row[8]),
    )


class SQLiteQueue:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def lease(self, now_ms: int, limit: int, lease_ms: int) -> list[Lease]:
        def tx(conn: sqlite3.Connection) -> list[Lease]:
            rows = conn.execute(
                f"SELECT {_COLS} FROM queue WHERE available_ms <= ? ORDER BY available_ms LIMIT ?",
                (now_ms, limit),
            ).fetchall()
            leases = []
            expires = now_ms + lease_ms
            for row in rows:
                token = uuid.uuid4().hex
                conn.execute(
                    "UPDATE queue SET available_ms = ?, lease_token = ? WHERE id = ?",
                    (expires, token, row[0]),
                )
                leases.append(Lease(_item(row), token, expires))
            return leases

        return await self._db.write(tx)

    async def extend(self, lease: Lease, now_ms: int, lease_ms: int) -> Lease:
        def tx(conn: sqlite3.Connection) -> Lease:
            expires = now_ms + lease_ms
            cur = conn.execute(
                "UPDATE queue SET available_ms = ? WHERE id = ? AND lease_token = ?",
                (expires, lease.item.id, lease.token),
            )
            if cur.rowcount == 0:
                raise errors.LeaseLost()
            return Lease(lease.item, lease.token, expires)

        return await self._db.write(tx)

    async def next_due_ms(self) -> int | None:
        def q(conn: sqlite3.Connection) -> int | None:
            row = conn.execute("SELECT MIN(available_ms) FROM queue").fetchone()
            return int(row[0]) if row and row[0] is not None else None

        return await self._db.read(q)

    async def release_all(self) -> None:
        """Make every leased item available now: only used at start-up, when this process
        holds the data directory's lock, so every lease belongs to a dead process."""

        def tx(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE queue SET available_ms = due_ms, lease_token = NULL WHERE lease_token IS NOT NULL"
            )

        await self._db.write(tx)
