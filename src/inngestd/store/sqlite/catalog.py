"""SQLite Catalog: apps and functions."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from inngestd.domain.functions import App, Function, SyncResult
from inngestd.store.records import (
    FUNCTION_COLUMNS,
    function_from_row,
    function_rows,
    sync_result,
)
from inngestd.store.sqlite.db import Database


class SQLiteCatalog:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def sync_app(
        self, app: App, functions: Sequence[Function], now_ms: int
    ) -> SyncResult:
        def tx(conn: sqlite3.Connection) -> SyncResult:
            row = conn.execute(
                "SELECT checksum FROM apps WHERE id = ?", (app.id,)
            ).fetchone()
            modified = row is None or row[0] != app.checksum
            conn.execute(
                "INSERT INTO apps (id, url, sdk, framework, checksum, synced_ms, error)"
                " VALUES (?, ?, ?, ?, ?, ?, NULL) ON CONFLICT(id) DO UPDATE SET url = excluded.url,"
                " sdk = excluded.sdk, framework = excluded.framework, checksum = excluded.checksum,"
                " synced_ms = excluded.synced_ms, error = NULL",
                (app.id, app.url, app.sdk, app.framework, app.checksum, now_ms),
            )
            keep = [fn.id for fn in functions]
            conn.execute(
                f"UPDATE functions SET archived = 1, updated_ms = ? WHERE app_id = ?"
                f" AND archived = 0 AND id NOT IN ({','.join('?' * len(keep))})",
                (now_ms, app.id, *keep),
            )
            conn.executemany(
                "INSERT INTO functions (id, app_id, name, url, retries, config, archived, updated_ms)"
                " VALUES (?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT(id) DO UPDATE SET app_id = excluded.app_id,"
                " name = excluded.name, url = excluded.url, retries = excluded.retries,"
                " config = excluded.config, archived = 0, updated_ms = excluded.updated_ms",
                function_rows(app, functions, now_ms),
            )
            return sync_result(app, functions, modified, now_ms)

        return await self._db.write(tx)

    async def record_sync_error(self, url: str, error: str, now_ms: int) -> None:
        def tx(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE apps SET error = ? WHERE url = ?", (error, url))

        await self._db.write(tx)

    async def apps(self) -> list[App]:
        def q(conn: sqlite3.Connection) -> list[App]:
            fns: dict[str, list[Function]] = {}
            for row in conn.execute(
                f"SELECT {FUNCTION_COLUMNS} FROM functions WHERE archived = 0 ORDER BY id"
            ):
                fn = function_from_row(row)
                fns.setdefault(fn.app_id, []).append(fn)
            return [
                App(r[0], r[1], r[2], r[3], r[4], r[5], r[6], tuple(fns.get(r[0], [])))
                for r in conn.execute(
                    "SELECT id, url, sdk, framework, checksum, synced_ms, error FROM apps ORDER BY id"
                )
            ]

        return await self._db.read(q)

    async def functions(self) -> list[Function]:
        def q(conn: sqlite3.Connection) -> list[Function]:
            return [
                function_from_row(r)
                for r in conn.execute(
                    f"SELECT {FUNCTION_COLUMNS} FROM functions WHERE archived = 0"
                )
            ]

        return await self._db.read(q)
