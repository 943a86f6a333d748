"""The PostgreSQL read side of `inngestd start`: Catalog, EventLog, History, HistoryWriter.

One asyncpg pool per process. Every connection of the pool has `search_path` set to
`schema`, so several deployments (or test runs) can share one database side by side.
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg

from inngestd.store.postgres.catalog import PostgresCatalog
from inngestd.store.postgres.events import NextSeq, PostgresEventLog
from inngestd.store.postgres.history import PostgresHistory, PostgresHistoryWriter
from inngestd.store.postgres.migrate import check_schema, migrate


class PostgresReadStore:
    """The read-side seams on one pool; `close()` closes the pool."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        next_seq: NextSeq | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.pool = pool
        self.catalog = PostgresCatalog(pool)
        self.events = PostgresEventLog(pool, next_seq=next_seq, notify=notify)
        self.history = PostgresHistory(pool)
        self.history_writer = PostgresHistoryWriter(pool)

    async def close(self) -> None:
        await self.pool.close()


async def open_read_store(
    uri: str,
    *,
    schema: str = "public",
    apply_migrations: bool = True,
    next_seq: NextSeq | None = None,
    notify: Callable[[str], None] | None = None,
    min_size: int = 1,
    max_size: int = 10,
) -> PostgresReadStore:
    """Open a pool on `uri` working in `schema`, first applying pending migrations
    (`apply_migrations`; safe when several processes start together).

    `next_seq(n) -> first` hands out event sequence numbers (start mode: the Redis
    counter); by default they come from the `events_seq` sequence."""
    check_schema(schema)
    if apply_migrations:
        await migrate(uri, schema)
    pool = await asyncpg.create_pool(
        uri,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": f'"{schema}"'},
    )
    return PostgresReadStore(pool, next_seq=next_seq, notify=notify)


__all__ = [
    "PostgresCatalog",
    "PostgresEventLog",
    "PostgresHistory",
    "PostgresHistoryWriter",
    "PostgresReadStore",
    "migrate",
    "open_read_store",
]
