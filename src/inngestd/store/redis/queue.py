"""Redis Queue: leases, extension and the scavenger, in lua/lease.lua and lua/extend.lua.

Items wait in per-partition sorted sets (one per function, one per concurrency or throttle
key: domain.queue.partition_of) and a lease serves the due partitions round robin.

Flow control at lease time as in store/sqlite/queue.py: concurrency keys (exact in-use
counters), run-level slots, throttle (GCRA), priority (score), and parking of blocked items
with a wake-up when a slot is released and a recheck after `BLOCKED_RECHECK_MS`.
"""

from __future__ import annotations

import uuid

from inngestd import errors
from inngestd.domain.queue import (
    BLOCKED_RECHECK_MS,
    PARTITIONS_PER_LEASE,
    SCAN_EXTRA,
    Lease,
)
from inngestd.flow import fairness
from inngestd.store.base import RunJob
from inngestd.store.redis.client import RedisClient
from inngestd.store.redis.codec import _int, item_from_json
from inngestd.store.redis.keys import Keys
from inngestd.store.redis.scripts import Scripts


class RedisQueue:
    def __init__(self, client: RedisClient, keys: Keys, scripts: Scripts) -> None:
        self._r = client
        self._k = keys
        self._s = scripts

    async def lease(self, now_ms: int, limit: int, lease_ms: int) -> list[Lease]:
        if limit <= 0:
            return []
        expires = now_ms + lease_ms
        req = {
            "now": now_ms,
            "limit": limit,
            "expires": expires,
            "token": uuid.uuid4().hex,
            "scan": SCAN_EXTRA,
            "recheck": BLOCKED_RECHECK_MS,
            "parts": PARTITIONS_PER_LEASE,
            "spin": fairness.spin(),
        }
        rows = await self._s.call("lease", req)
        return [Lease(item_from_json(j), tok.decode(), expires) for j, tok in rows]

    async def extend(self, lease: Lease, now_ms: int, lease_ms: int) -> Lease:
        expires = now_ms + lease_ms
        req = {"item_id": lease.item.id, "token": lease.token, "expires": expires}
        if not _int(await self._s.call("extend", req)):
            raise errors.LeaseLost()
        return Lease(lease.item, lease.token, expires)

    async def jobs(self, run_id: str) -> list[RunJob]:
        ids = sorted(
            m.decode() if isinstance(m, bytes) else str(m)
            for m in await self._r.smembers(self._k.key("runitems", run_id))
        )
        jobs = []
        for item_id in ids:
            raw, tok = await self._r.hmget(self._k.item(item_id), ["j", "tok"])
            if raw is not None:
                jobs.append(RunJob(item_from_json(raw), bool(tok)))
        return sorted(jobs, key=lambda j: (j.item.due_ms, j.item.id))

    async def next_due_ms(self) -> int | None:
        first = await self._r.zrange(self._k.parts(), 0, 0, withscores=True)
        return _int(first[0][1]) if first else None
