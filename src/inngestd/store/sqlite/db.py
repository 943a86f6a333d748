"""SQLite access from asyncio: one writer thread with group commit, one reader thread.

Each write job runs inside its own SAVEPOINT, so it is atomic on its own, while many jobs
share one COMMIT (one fsync). A caller's future resolves only after that COMMIT: whatever a
write returned is durable.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

# Jobs committed together. Large enough to amortise the commit, small enough that a burst
# does not hold the write lock for long.
MAX_GROUP = 256

_STOP = object()


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode survives a process crash (kill -9); only a power loss can drop the
    # last commits, which is the trade every WAL deployment makes.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA cache_size=-65536")
    return conn


class _Worker:
    def __init__(self, conn: sqlite3.Connection, name: str, *, writer: bool) -> None:
        self._conn = conn
        self._writer = writer
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(
        self, fn: Callable[[sqlite3.Connection], Any], fut: asyncio.Future[Any]
    ) -> None:
        self._jobs.put((fn, fut, fut.get_loop()))

    def stop(self) -> None:
        self._jobs.put(_STOP)
        self._thread.join(timeout=10)
        self._conn.close()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            batch = [job]
            stop = False
            while len(batch) < MAX_GROUP:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            if self._writer:
                self._write_group(batch)
            else:
                self._read_each(batch)
            if stop:
                return

    def _read_each(self, batch: list[Any]) -> None:
        for fn, fut, loop in batch:
            try:
                result = fn(self._conn)
            except BaseException as exc:  # handed to the awaiting coroutine
                loop.call_soon_threadsafe(_set_exception, fut, exc)
            else:
                loop.call_soon_threadsafe(_set_result, fut, result)

    def _write_group(self, batch: list[Any]) -> None:
        conn = self._conn
        outcomes: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, _fut, _loop in batch:
                conn.execute("SAVEPOINT job")
                try:
                    result = fn(conn)
                except BaseException as exc:
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    outcomes.append((False, exc))
                else:
                    conn.execute("RELEASE job")
                    outcomes.append((True, result))
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(False, exc)] * len(batch)
        for (ok, value), (_fn, fut, loop) in zip(outcomes, batch, strict=True):
            loop.call_soon_threadsafe(_set_result if ok else _set_exception, fut, value)


def _set_result(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _set_exception(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


def _upgrade(conn: sqlite3.Connection) -> None:
    """Bring a data directory written by an older inngestd up to schema.sql (whose
    `CREATE ... IF NOT EXISTS` statements add new tables, not new columns)."""
    cols = {row[1] for row in conn.execute("PRAGMA table_info(queue)")}
    if cols and "part" not in cols:
        # Items queued before partitions share one partition; they are leased as before.
        conn.execute("ALTER TABLE queue ADD COLUMN part TEXT NOT NULL DEFAULT ''")


def _rebuild_partitions(conn: sqlite3.Connection) -> None:
    """Recompute the partition index from the queue (cheap: one grouped index scan), so
    it is right even for a file written before the index existed."""
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("DELETE FROM queue_parts")
    conn.execute(
        "INSERT INTO queue_parts (part, next_ms)"
        " SELECT part, MIN(available_ms) FROM queue GROUP BY part"
    )
    conn.execute("COMMIT")


class Database:
    """A SQLite file opened for asyncio callers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        writer_conn = connect(path)
        _upgrade(writer_conn)
        schema = (Path(__file__).parent / "schema.sql").read_text()
        writer_conn.executescript(schema)
        _rebuild_partitions(writer_conn)
        self._writer = _Worker(writer_conn, "inngestd-sqlite-writer", writer=True)
        self._reader = _Worker(connect(path), "inngestd-sqlite-reader", writer=False)

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._writer.submit(fn, fut)
        return await fut

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._reader.submit(fn, fut)
        return await fut

    def close(self) -> None:
        self._writer.stop()
        self._reader.stop()
