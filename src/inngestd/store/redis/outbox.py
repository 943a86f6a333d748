"""The outbox: what the Lua scripts did that the read side (PostgreSQL) must show.

Every script that creates, starts or ends a run, memoises a step, records a span or appends
an event RPUSHes one compact JSON record to `{prefix}:outbox` in the same atomic step:

* `{"t": "event", "id", "seq", "name", "user"?, "recv", "payload"}` (payload: JSON text)
* `{"t": "run", "id", "function_id", "app_id", "event_id", "status", "created_ms",
  "ended_ms"?, "reason"?, "max_attempts", "flow" (JSON text), "event_ids"}`
* `{"t": "status", "id", "status", "started_ms"?, "ended_ms"?, "output"?, "reason"?}`
* `{"t": "step", "run_id", "step_id", "memo", "pos"}` (memo: JSON text; pos: its place in
  the run's stack, from 0)
* `{"t": "span", "k" (unique record id), "span": {StepSpan fields, "output"?}}`
* `{"t": "mark", "g", "seq"}`: a trimming marker (`trim.py`); the relay reports it with
  `relayed` after storing every record before it

Absent optional fields are omitted; an empty list may arrive as `{}` (Lua's cjson cannot tell
them apart). The relay calls `drain(n)`, writes the records with idempotent upserts, then
`ack(len(records))`. `drain` (one script call, `drain.lua`) moves records to this consumer's
processing list first, so a relay that dies before its ack gets the same records again from
its next `drain`.
"""

from __future__ import annotations

from typing import Any

import orjson

from inngestd.store.redis.client import RedisClient
from inngestd.store.redis.codec import as_bytes
from inngestd.store.redis.keys import Keys
from inngestd.store.redis.scripts import Scripts


def _ints(value: Any) -> Any:
    """Integral floats (cjson may print a number as 1.7e+12) back to ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


def _record(raw: bytes) -> dict[str, Any]:
    try:
        rec = orjson.loads(raw)
    except orjson.JSONDecodeError:
        # A run output that is not UTF-8 (an app's raw error body): cjson copies its bytes
        # as they are. Keep the record; the bytes are replaced (U+FFFD) in the read side.
        rec = orjson.loads(raw.decode("utf-8", "replace"))
    return dict(_ints(rec))


class Outbox:
    def __init__(
        self,
        client: RedisClient,
        keys: Keys,
        consumer: str = "relay",
        *,
        scripts: Scripts | None = None,
    ) -> None:
        self._r = client
        self._src = keys.outbox()
        self._consumer = consumer
        self._wip = keys.outboxwip(consumer)
        self._s = scripts if scripts is not None else Scripts(client, keys.root)

    async def drain(self, max_n: int) -> list[dict[str, Any]]:
        """Up to `max_n` records, oldest first; unacknowledged ones come back first."""
        if max_n <= 0:
            return []
        raw = [as_bytes(r) for r in await self._r.lrange(self._wip, 0, max_n - 1)]
        if not raw:
            moved = await self._s.call("drain", {"c": self._consumer, "n": max_n})
            raw = [as_bytes(r) for r in moved]
        return [_record(r) for r in raw]

    drain_outbox = drain

    async def ack(self, n: int) -> None:
        """The first `n` records of the last `drain` are stored: forget them."""
        if n > 0:
            await self._r.ltrim(self._wip, n, -1)

    async def relayed(self, mark: dict[str, Any]) -> None:
        """Every record before the `mark` record is stored: what it covers may be trimmed."""
        await self._s.call("relayed", {"g": int(mark["g"]), "seq": int(mark["seq"])})

    async def pending(self) -> int:
        return int(await self._r.llen(self._src)) + int(await self._r.llen(self._wip))
