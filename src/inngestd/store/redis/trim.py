"""Bounded hot memory: ended runs and old events leave Redis once PostgreSQL has them.

`trim.lua` removes one bounded batch per call. It must never remove what the relay has yet
to copy, so it does not trust clocks: it puts a marker record into the outbox, the relay
reports the marker once it has stored every record before it (`relayed.lua`), and only runs
that ended (and events that arrived) before the last reported marker are removed. A relay
that crashes mid-batch re-delivers the marker, so the watermark is never ahead of
PostgreSQL. Readers find trimmed runs and events in PostgreSQL (`inngestd.store.tiered`).
"""

from __future__ import annotations

from typing import NamedTuple

from inngestd.store.redis.codec import _int
from inngestd.store.redis.scripts import Scripts

# A marker lost in flight (its outbox list was deleted by hand) is replaced after this.
REMARK_MS = 60_000


class Trimmed(NamedTuple):
    runs: int
    events: int


class Trimmer:
    def __init__(self, scripts: Scripts) -> None:
        self._s = scripts

    async def trim(self, now_ms: int, cutoff_ms: int, batch: int) -> Trimmed:
        """Remove at most `batch` runs that ended and `batch` events received before
        `cutoff_ms` that are already in PostgreSQL; the caller loops while a count equals
        `batch`."""
        runs, events = await self._s.call(
            "trim",
            {"now": now_ms, "cutoff": cutoff_ms, "batch": batch, "remark": REMARK_MS},
        )
        return Trimmed(_int(runs), _int(events))
