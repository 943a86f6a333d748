"""Redis EventLog: sequence numbers from one counter, taken inside the append script."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from inngestd.domain.events import Event
from inngestd.store.redis.client import RedisClient
from inngestd.store.redis.codec import (
    _int,
    as_bytes,
    as_map,
    event_arg,
    event_from_hash,
)
from inngestd.store.redis.keys import Keys
from inngestd.store.redis.scripts import Blobs, Scripts


class RedisEventLog:
    def __init__(
        self,
        client: RedisClient,
        keys: Keys,
        scripts: Scripts,
        notify: Callable[[str], None],
    ) -> None:
        self._r = client
        self._k = keys
        self._s = scripts
        self._notify = notify

    async def append(self, events: Sequence[Event]) -> list[Event]:
        if not events:
            return []
        blobs = Blobs()
        req = {"events": [event_arg(ev, blobs) for ev in events]}
        seqs = await self._s.call("append", req, blobs)
        self._notify("events")
        return [
            Event(
                ev.internal_id,
                ev.name,
                ev.payload,
                ev.received_ms,
                ev.user_id,
                _int(seq),
            )
            for ev, seq in zip(events, seqs, strict=True)
        ]

    async def _load(self, internal_ids: Sequence[bytes]) -> list[Event]:
        if not internal_ids:
            return []
        async with self._r.pipeline(transaction=False) as pipe:
            for iid in internal_ids:
                pipe.hgetall(self._k.ev(iid.decode()))
            rows = await pipe.execute()
        return [
            event_from_hash(iid.decode(), as_map(h))
            for iid, h in zip(internal_ids, rows, strict=True)
            if h
        ]

    async def get(self, internal_id: str) -> Event | None:
        h = await self._r.hgetall(self._k.ev(internal_id))
        return event_from_hash(internal_id, as_map(h)) if h else None

    async def recent(
        self,
        *,
        name: str | None = None,
        limit: int = 100,
        before_seq: int | None = None,
    ) -> list[Event]:
        key = self._k.evlog() if name is None else self._k.evname(name)
        top = "+inf" if before_seq is None else f"({before_seq}"
        iids = await self._r.zrevrangebyscore(key, top, "-inf", start=0, num=limit)
        return await self._load([as_bytes(i) for i in iids])

    async def unscheduled(self, limit: int) -> list[Event]:
        """Events not yet handed to scheduling, oldest first."""
        if limit <= 0:
            return []
        iids = await self._r.zrange(self._k.unsched(), 0, limit - 1)
        return await self._load([as_bytes(i) for i in iids])
