"""The embedded store: one SQLite file holds everything (WAL, group commit)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

from inngestd import errors
from inngestd.store.base import Store
from inngestd.store.sqlite.catalog import SQLiteCatalog
from inngestd.store.sqlite.db import Database
from inngestd.store.sqlite.events import SQLiteEventLog
from inngestd.store.sqlite.history import SQLiteHistory
from inngestd.store.sqlite.queue import SQLiteQueue
from inngestd.store.sqlite.runs import SQLiteRunState

DB_NAME = "inngestd.db"


def _lock(data_dir: Path) -> int:
    """Hold an exclusive lock on the directory for this process's lifetime."""
    data_dir.mkdir(parents=True, exist_ok=True)
    lock_fd = os.open(data_dir / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock_fd)
        raise errors.DataDirLocked(
            f"another inngestd process is using {data_dir}"
        ) from None
    return lock_fd


async def open_store(data_dir: Path) -> Store:
    """Open (creating if needed) the store in `data_dir`; one process per directory."""
    lock_fd = _lock(data_dir)
    db = Database(data_dir / DB_NAME)
    listeners: list[Callable[[str], None]] = []

    def notify(topic: str) -> None:
        for listener in listeners:
            listener(topic)

    queue = SQLiteQueue(db)
    await queue.release_all()

    def close() -> None:
        db.close()
        os.close(lock_fd)

    return Store(
        catalog=SQLiteCatalog(db),
        events=SQLiteEventLog(db, notify),
        runs=SQLiteRunState(db, notify),
        queue=queue,
        close=close,
        subscribe=listeners.append,
        history=SQLiteHistory(db),
    )


__all__ = ["open_store"]
