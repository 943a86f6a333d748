"""The Lua scripts: one per atomic store method, loaded once and called by SHA.

Each script is `local P = KEYS[1]`, the key builders generated from `keys.py`, the shared
helpers (`lua/lib*.lua`, in `LIBS` order) and the script's own body. redis-py's
`register_script` calls EVALSHA and falls back to loading the script on NOSCRIPT (a Redis
restart or SCRIPT FLUSH).

A request is one JSON document (ARGV[1]); binary values (memos, outputs, event payloads)
follow it as ARGV[2..] and the JSON refers to them by index (`Blobs`), so they reach Redis
byte for byte and JSON numbers stay small integers.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson
from redis.commands.core import AsyncScript

from inngestd.store.redis.client import RedisClient
from inngestd.store.redis.keys import lua_key_functions

_LUA = Path(__file__).parent / "lua"
LIBS = ("lib", "lib_runs", "lib_flow", "lib_apply")
SCRIPTS = (
    "append",
    "schedule",
    "apply",
    "apply_run",
    "lease",
    "extend",
    "cancel",
    "fire",
    "sync_crons",
    "trim",
    "relayed",
    "drain",
)


@cache
def source(name: str) -> str:
    """The full text of script `name` as Redis runs it."""
    parts = ["local P = KEYS[1]\n", lua_key_functions()]
    parts += [(_LUA / f"{lib}.lua").read_text() for lib in LIBS]
    parts.append((_LUA / f"{name}.lua").read_text())
    return "\n".join(parts)


class Blobs:
    """Binary arguments of one request; `add` returns the index the JSON refers to."""

    def __init__(self) -> None:
        self.items: list[bytes] = []

    def add(self, value: bytes) -> int:
        self.items.append(bytes(value))
        return len(self.items)

    def opt(self, value: bytes | None) -> int | None:
        return None if value is None else self.add(value)


class Scripts:
    def __init__(self, client: RedisClient, root: str) -> None:
        self._root = root
        self._scripts: dict[str, AsyncScript] = {
            name: client.register_script(source(name)) for name in SCRIPTS
        }

    async def call(
        self, name: str, request: dict[str, Any], blobs: Blobs | None = None
    ) -> Any:
        args: list[bytes] = [orjson.dumps(request)]
        if blobs is not None:
            args += blobs.items
        return await self._scripts[name](keys=[self._root], args=args)
