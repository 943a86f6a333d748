"""Events: the normalised envelope every trigger, pause and system event works on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

RESERVED_PREFIX = "inngest/"
FUNCTION_INVOKED = "inngest/function.invoked"
FUNCTION_FINISHED = "inngest/function.finished"
FUNCTION_FAILED = "inngest/function.failed"
FUNCTION_CANCELLED = "inngest/function.cancelled"
SCHEDULED_TIMER = "inngest/scheduled.timer"

MAX_EVENTS_PER_REQUEST = 5000
MAX_EVENT_BYTES = 3 * 1024 * 1024
MAX_NAME_LENGTH = 512
# Inngest accepts timestamps between 1980 and 2100 (pkg/event).
MIN_TS_MS = 315_532_800_000
MAX_TS_MS = 4_102_444_800_000


@dataclass(frozen=True, slots=True)
class Event:
    """One accepted event.

    `internal_id` is the server's ULID; `payload` is the object given to functions
    (`{name, data, id, ts, user, v?}`), where `id` is the user's id or the internal one.
    `seq` orders events by arrival; it is 0 until the event log assigns it.
    """

    internal_id: str
    name: str
    payload: dict[str, Any]
    received_ms: int
    user_id: str | None = None
    seq: int = 0

    @property
    def id(self) -> str:
        return str(self.payload.get("id") or self.internal_id)

    @property
    def ts(self) -> int:
        ts = self.payload.get("ts")
        return ts if isinstance(ts, int) else self.received_ms

    @property
    def data(self) -> dict[str, Any]:
        data = self.payload.get("data")
        return data if isinstance(data, dict) else {}

    def to_json(self) -> bytes:
        return orjson.dumps(self.payload)


def make_event(
    internal_id: str,
    name: str,
    data: dict[str, Any],
    now_ms: int,
    *,
    user_id: str | None = None,
) -> Event:
    """Build a server-made event (system events, invocations, cron ticks)."""
    payload: dict[str, Any] = {
        "name": name,
        "data": data,
        "id": user_id or internal_id,
        "ts": now_ms,
        "user": {},
    }
    return Event(internal_id, name, payload, now_ms, user_id=user_id)
