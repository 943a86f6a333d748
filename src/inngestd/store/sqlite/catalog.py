"""SQLite Catalog: apps and functions."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from inngestd import ids
from inngestd.domain.flow_config import from_json as flow_from_json
from inngestd.domain.flow_config import to_json as flow_to_json
from inngestd.domain.functions import (
    App,
    Function,
    SyncResult,
    cancel_from_json,
    cancel_to_json,
    triggers_from_json,
    triggers_to_json,
)
from inngestd.store.sqlite.db import Database

_FN_COLS = "id, app_id, name, url, retries, config"


def _function(row: Any) -> Function:
    fid, app_id, name, url, retries, config = row
    cfg = orjson.loads(config)
    return Function(
        id=str(fid),
        app_id=str(app_id),
        name=str(name),
        url=str(url),
        triggers=triggers_from_json(cfg["triggers"]),
        retries=int(retries),
        cancel=cancel_from_json(cfg.get("cancel", [])),
        config=orjson.dumps(cfg.get("raw", {})),
        flow=flow_from_json(cfg.get("flow") or {}),
    )


def _config_record(fn: Function) -> bytes:
    return orjson.dumps(
        {
            "triggers": triggers_to_json(fn.triggers),
            "cancel": cancel_to_json(fn.cancel),
            "flow": flow_to_json(fn.flow),
            "raw": orjson.Fragment(fn.config),
        }
    )


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
                [
                    (
                        fn.id,
                        app.id,
                        fn.name,
                        fn.url,
                        fn.retries,
                        _config_record(fn),
                        now_ms,
                    )
                    for fn in functions
                ],
            )
            synced = App(
                app.id,
                app.url,
                app.sdk,
                app.framework,
                app.checksum,
                now_ms,
                None,
                tuple(functions),
            )
            return SyncResult(synced, modified, ids.new_ulid(now_ms))

        return await self._db.write(tx)

    async def record_sync_error(self, url: str, error: str, now_ms: int) -> None:
        def tx(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE apps SET error = ? WHERE url = ?", (error, url))

        await self._db.write(tx)

    async def apps(self) -> list[App]:
        def q(conn: sqlite3.Connection) -> list[App]:
            fns: dict[str, list[Function]] = {}
            for row in conn.execute(
                f"SELECT {_FN_COLS} FROM functions WHERE archived = 0 ORDER BY id"
            ):
                fn = _function(row)
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
                _function(r)
                for r in conn.execute(
                    f"SELECT {_FN_COLS} FROM functions WHERE archived = 0"
                )
            ]

        return await self._db.read(q)
