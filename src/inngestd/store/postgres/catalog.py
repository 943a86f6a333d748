"""PostgreSQL Catalog: apps and their functions (the semantics of SQLiteCatalog)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from inngestd.domain.functions import App, Function, SyncResult
from inngestd.store.records import (
    FUNCTION_COLUMNS,
    function_from_row,
    function_rows,
    sync_result,
)

_APP_COLS = "id, url, sdk, framework, checksum, synced_ms, error"


class PostgresCatalog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def sync_app(
        self, app: App, functions: Sequence[Function], now_ms: int
    ) -> SyncResult:
        async with self._pool.acquire() as conn, conn.transaction():
            # Serialise syncs of one app, so `modified` is decided on the latest checksum.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1))", f"inngestd.app:{app.id}"
            )
            old = await conn.fetchval("SELECT checksum FROM apps WHERE id = $1", app.id)
            modified = old is None or old != app.checksum
            await conn.execute(
                "INSERT INTO apps (id, url, sdk, framework, checksum, synced_ms, error)"
                " VALUES ($1, $2, $3, $4, $5, $6, NULL) ON CONFLICT (id) DO UPDATE SET"
                " url = excluded.url, sdk = excluded.sdk, framework = excluded.framework,"
                " checksum = excluded.checksum, synced_ms = excluded.synced_ms, error = NULL",
                app.id,
                app.url,
                app.sdk,
                app.framework,
                app.checksum,
                now_ms,
            )
            await conn.execute(
                "UPDATE functions SET archived = true, updated_ms = $1 WHERE app_id = $2"
                " AND NOT archived AND NOT (id = ANY($3::text[]))",
                now_ms,
                app.id,
                [fn.id for fn in functions],
            )
            if functions:
                await conn.executemany(
                    "INSERT INTO functions"
                    " (id, app_id, name, url, retries, config, archived, updated_ms)"
                    " VALUES ($1, $2, $3, $4, $5, $6, false, $7) ON CONFLICT (id) DO UPDATE"
                    " SET app_id = excluded.app_id, name = excluded.name, url = excluded.url,"
                    " retries = excluded.retries, config = excluded.config, archived = false,"
                    " updated_ms = excluded.updated_ms",
                    function_rows(app, functions, now_ms),
                )
        return sync_result(app, functions, modified, now_ms)

    async def record_sync_error(self, url: str, error: str, now_ms: int) -> None:
        await self._pool.execute(
            "UPDATE apps SET error = $1 WHERE url = $2", error, url
        )

    async def apps(self) -> list[App]:
        async with (
            self._pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            fns: dict[str, list[Function]] = {}
            for row in await conn.fetch(
                f"SELECT {FUNCTION_COLUMNS} FROM functions WHERE NOT archived ORDER BY id"
            ):
                fn = function_from_row(row)
                fns.setdefault(fn.app_id, []).append(fn)
            rows = await conn.fetch(f"SELECT {_APP_COLS} FROM apps ORDER BY id")
        return [
            App(r[0], r[1], r[2], r[3], r[4], r[5], r[6], tuple(fns.get(r[0], [])))
            for r in rows
        ]

    async def functions(self) -> list[Function]:
        rows = await self._pool.fetch(
            f"SELECT {FUNCTION_COLUMNS} FROM functions WHERE NOT archived ORDER BY id"
        )
        return [function_from_row(r) for r in rows]
