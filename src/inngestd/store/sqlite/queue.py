"""SQLite Queue: leased work items, taken in score order within a partition and fairly
across partitions (flow/fairness.py), with flow control at lease time.

Concurrency limits count leased call items per key; a run-level limit counts runs holding a
slot; a throttle spaces run starts (GCRA). An item blocked by a limit is parked and woken as
soon as an item holding that key is released, so blocked work starts in order.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

import orjson

from inngestd import errors
from inngestd.domain.queue import (
    BLOCKED_RECHECK_MS,
    PARTITIONS_PER_LEASE,
    SCAN_EXTRA,
    ItemKind,
    Lease,
    Limit,
    QueueItem,
    ThrottleSpec,
    partition_of,
)
from inngestd.flow import fairness, gcra
from inngestd.store.base import RunJob
from inngestd.store.sqlite.db import Database

_COLS = (
    "id, run_id, function_id, kind, step_id, pause_id, attempt, max_attempts, due_ms,"
    " ck1, cl1, ck2, cl2, rk, rl, throttle, priority_ms, ref"
)


def score_of(item: QueueItem, now_ms: int) -> int:
    """Priority pulls a due call earlier in the order; it never makes a future item due."""
    if item.priority_ms and item.kind is ItemKind.CALL and item.due_ms <= now_ms:
        return item.due_ms - item.priority_ms
    return item.due_ms


def insert_item(
    conn: sqlite3.Connection, item: QueueItem, now_ms: int | None = None
) -> bool:
    """Enqueue `item` unless an item with its id exists (ids are deterministic, so a
    replayed enqueue is a no-op)."""
    c = item.concurrency
    score = score_of(item, item.due_ms if now_ms is None else now_ms)
    throttle = item.throttle
    cur = conn.execute(
        f"INSERT INTO queue ({_COLS}, score_ms, available_ms, part)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
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
            c[0].key if c else None,
            c[0].limit if c else None,
            c[1].key if len(c) > 1 else None,
            c[1].limit if len(c) > 1 else None,
            item.run_limit.key if item.run_limit else None,
            item.run_limit.limit if item.run_limit else None,
            orjson.dumps(
                [throttle.key, throttle.limit, throttle.period_ms, throttle.burst]
            ).decode()
            if throttle
            else None,
            item.priority_ms,
            item.ref,
            score,
            score,
            partition_of(item),
        ),
    )
    return cur.rowcount > 0


def item_from_row(row: Any) -> QueueItem:
    keys = tuple(
        Limit(k, n) for k, n in ((row[9], row[10]), (row[11], row[12])) if k is not None
    )
    throttle = orjson.loads(row[15]) if row[15] else None
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
        concurrency=keys,
        run_limit=Limit(row[13], int(row[14])) if row[13] is not None else None,
        throttle=ThrottleSpec(*throttle) if throttle else None,
        priority_ms=int(row[16]),
        ref=row[17],
    )


def release_keys(conn: sqlite3.Connection, keys: list[str]) -> None:
    """Wake items parked on any of `keys` (a slot was freed), in their original order."""
    if keys:
        conn.execute(
            f"UPDATE queue SET available_ms = score_ms, blocked_key = NULL"
            f" WHERE blocked_key IN ({','.join('?' * len(keys))})",
            keys,
        )


def mark_started(
    conn: sqlite3.Connection, run_id: str, function_id: str, now_ms: int
) -> None:
    """The run's first call begins: it is RUNNING from now, and its finish timeout (if it
    has one) starts counting, as in Go where a run starts with its first request."""
    row = conn.execute(
        "UPDATE runs SET status = 'RUNNING', started_ms = ? WHERE id = ? AND status = 'QUEUED'"
        " RETURNING flow",
        (now_ms, run_id),
    ).fetchone()
    if row is None or not row[0]:
        return
    finish_ms = orjson.loads(row[0]).get("f")
    if finish_ms:
        insert_item(
            conn,
            QueueItem(
                id=f"{run_id}:timeout:finish",
                run_id=run_id,
                function_id=function_id,
                kind=ItemKind.TIMEOUT,
                due_ms=now_ms + int(finish_ms),
                ref="finish",
            ),
        )


def held_keys(item: QueueItem) -> list[str]:
    return [lim.key for lim in item.concurrency]


class _Gate:
    """Counts of slots in use, loaded lazily and updated as one lease call takes items."""

    def __init__(self, conn: sqlite3.Connection, now_ms: int) -> None:
        self._conn = conn
        self._now = now_ms
        self._steps: dict[str, int] = {}
        self._runs: dict[str, int] = {}

    def steps_in_use(self, key: str) -> int:
        if key not in self._steps:
            # A lease that expired (its worker died) no longer holds its slot.
            row = self._conn.execute(
                "SELECT (SELECT COUNT(*) FROM queue WHERE ck1 = ?1 AND lease_token IS NOT NULL"
                " AND available_ms > ?2) + (SELECT COUNT(*) FROM queue WHERE ck2 = ?1"
                " AND lease_token IS NOT NULL AND available_ms > ?2)",
                (key, self._now),
            ).fetchone()
            self._steps[key] = int(row[0])
        return self._steps[key]

    def runs_in_use(self, key: str) -> int:
        if key not in self._runs:
            row = self._conn.execute(
                "SELECT COUNT(*) FROM slots WHERE key = ?", (key,)
            ).fetchone()
            self._runs[key] = int(row[0])
        return self._runs[key]

    def blocked_by(self, item: QueueItem) -> str | None:
        """The key whose limit stops `item` from starting now, if any."""
        if item.kind is not ItemKind.CALL:
            return None
        for lim in item.concurrency:
            if lim.limit > 0 and self.steps_in_use(lim.key) >= lim.limit:
                return lim.key
        rl = item.run_limit
        if rl is not None and rl.limit > 0:
            holds = self._conn.execute(
                "SELECT 1 FROM slots WHERE key = ? AND run_id = ?",
                (rl.key, item.run_id),
            ).fetchone()
            if holds is None and self.runs_in_use(rl.key) >= rl.limit:
                return rl.key
        return None

    def take(self, item: QueueItem) -> None:
        for lim in item.concurrency:
            self._steps[lim.key] = self.steps_in_use(lim.key) + 1
        rl = item.run_limit
        if rl is not None:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO slots (key, run_id) VALUES (?, ?)",
                (rl.key, item.run_id),
            )
            if cur.rowcount:
                self._runs[rl.key] = self.runs_in_use(rl.key) + 1

    def throttled_until(self, item: QueueItem) -> int | None:
        """GCRA on run starts: None if the start may go now (and the slot is spent)."""
        spec = item.throttle
        if spec is None:
            return None
        row = self._conn.execute(
            "SELECT tat_ms FROM gcra WHERE key = ?", (spec.key,)
        ).fetchone()
        result = gcra.throttle(
            row[0] if row else None,
            self._now,
            limit=spec.limit,
            period_ms=spec.period_ms,
            burst=spec.burst,
        )
        if not result.allowed:
            return result.retry_at_ms
        self._conn.execute(
            "INSERT INTO gcra (key, tat_ms) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET tat_ms = excluded.tat_ms",
            (spec.key, result.new_tat_ms),
        )
        return None


class SQLiteQueue:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def lease(self, now_ms: int, limit: int, lease_ms: int) -> list[Lease]:
        def tx(conn: sqlite3.Connection) -> list[Lease]:
            due = [
                r[0]
                for r in conn.execute(
                    "SELECT part FROM queue_parts WHERE next_ms <= ? ORDER BY next_ms LIMIT ?",
                    (now_ms, PARTITIONS_PER_LEASE),
                )
            ]
            parts = fairness.rotate(due, fairness.spin())
            per_part = fairness.candidates_per_partition(limit, len(parts), SCAN_EXTRA)
            candidates = [
                [
                    item_from_row(row)
                    for row in conn.execute(
                        f"SELECT {_COLS} FROM queue WHERE part = ? AND available_ms <= ?"
                        " ORDER BY available_ms LIMIT ?",
                        (part, now_ms, per_part),
                    )
                ]
                for part in parts
            ]
            gate = _Gate(conn, now_ms)
            leases: list[Lease] = []
            expires = now_ms + lease_ms

            def take(item: QueueItem) -> bool:
                blocker = gate.blocked_by(item)
                if blocker is not None:
                    conn.execute(
                        "UPDATE queue SET available_ms = ?, blocked_key = ? WHERE id = ?",
                        (now_ms + BLOCKED_RECHECK_MS, blocker, item.id),
                    )
                    return False
                wait_until = gate.throttled_until(item)
                if wait_until is not None:
                    conn.execute(
                        "UPDATE queue SET available_ms = ? WHERE id = ?",
                        (wait_until, item.id),
                    )
                    return False
                gate.take(item)
                if item.kind is ItemKind.CALL:
                    mark_started(conn, item.run_id, item.function_id, now_ms)
                token = uuid.uuid4().hex
                conn.execute(
                    "UPDATE queue SET available_ms = ?, lease_token = ?, blocked_key = NULL"
                    " WHERE id = ?",
                    (expires, token, item.id),
                )
                leases.append(Lease(item, token, expires))
                return True

            fairness.lease_fairly(candidates, limit, take)
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

    async def jobs(self, run_id: str) -> list[RunJob]:
        def q(conn: sqlite3.Connection) -> list[RunJob]:
            rows = conn.execute(
                f"SELECT {_COLS}, lease_token IS NOT NULL FROM queue WHERE run_id = ?"
                " ORDER BY due_ms, id",
                (run_id,),
            )
            return [RunJob(item_from_row(r), bool(r[-1])) for r in rows]

        return await self._db.read(q)

    async def next_due_ms(self) -> int | None:
        def q(conn: sqlite3.Connection) -> int | None:
            row = conn.execute("SELECT MIN(next_ms) FROM queue_parts").fetchone()
            return int(row[0]) if row and row[0] is not None else None

        return await self._db.read(q)

    async def release_all(self) -> None:
        """Make every leased or parked item available: only used at start-up, when this
        process holds the data directory's lock, so every lease belongs to a dead process."""

        def tx(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE queue SET available_ms = score_ms, lease_token = NULL, blocked_key = NULL"
                " WHERE lease_token IS NOT NULL OR blocked_key IS NOT NULL"
            )

        await self._db.write(tx)
