"""The event API body (`POST /e/{key}`): one event or an array, normalised for storage."""

from __future__ import annotations

from typing import Any

import orjson

from inngestd import errors, ids
from inngestd.domain.events import (
    MAX_EVENT_BYTES,
    MAX_EVENTS_PER_REQUEST,
    MAX_NAME_LENGTH,
    MAX_TS_MS,
    MIN_TS_MS,
    RESERVED_PREFIX,
    Event,
)


def parse_events(body: bytes, now_ms: int, seed: str | None = None) -> list[Event]:
    """Validate and normalise every event; raises errors.InvalidEvent naming the problem."""
    if not body.strip():
        raise errors.InvalidEvent(
            "request body is empty; send an event object or an array of events"
        )
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise errors.InvalidEvent(f"request body is not valid JSON: {exc}") from None
    items = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else None
    if items is None:
        raise errors.InvalidEvent(
            f"request body must be an event object or an array of events, got {type(raw).__name__}"
        )
    if not items:
        raise errors.InvalidEvent("no events in the request")
    if len(items) > MAX_EVENTS_PER_REQUEST:
        raise errors.InvalidEvent(
            f"too many events: {len(items)} (at most {MAX_EVENTS_PER_REQUEST} per request)"
        )
    internal_ids = _internal_ids(seed, len(items), now_ms)
    return [
        _event(i, item, internal_ids[i], now_ms, many=isinstance(raw, list))
        for i, item in enumerate(items)
    ]


def _internal_ids(seed: str | None, count: int, now_ms: int) -> list[str]:
    if seed:
        try:
            return ids.seeded_event_ids(seed, count)
        except ValueError as exc:
            raise errors.InvalidEvent(
                f"invalid x-inngest-event-id-seed header: {exc}"
            ) from None
    return [ids.new_ulid(now_ms) for _ in range(count)]


def _event(index: int, raw: Any, internal_id: str, now_ms: int, *, many: bool) -> Event:
    where = f"event {index}: " if many else ""
    if not isinstance(raw, dict):
        raise errors.InvalidEvent(f"{where}each event must be a JSON object")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise errors.InvalidEvent(
            f"{where}field 'name' is required and must be a non-empty string"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise errors.InvalidEvent(
            f"{where}field 'name' is longer than {MAX_NAME_LENGTH} characters"
        )
    if name.lower().startswith(RESERVED_PREFIX):
        raise errors.InvalidEvent(
            f"{where}event name is reserved for internal use: {name}"
        )
    data = raw.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise errors.InvalidEvent(
            f"{where}field 'data' must be an object, got {type(data).__name__}"
        )
    data.pop("_inngest", None)
    user = raw.get("user")
    if user is None:
        user = {}
    if not isinstance(user, dict):
        raise errors.InvalidEvent(f"{where}field 'user' must be an object")
    user_id = raw.get("id")
    if user_id is not None and not isinstance(user_id, str):
        raise errors.InvalidEvent(f"{where}field 'id' must be a string")
    ts = _ts(raw.get("ts"), now_ms, where)
    payload: dict[str, Any] = {
        "name": name,
        "data": data,
        "id": user_id or internal_id,
        "ts": ts,
        "user": user,
    }
    version = raw.get("v")
    if version is not None:
        if not isinstance(version, str):
            raise errors.InvalidEvent(f"{where}field 'v' must be a string")
        payload["v"] = version
    size = len(orjson.dumps(payload))
    if size > MAX_EVENT_BYTES:
        raise errors.PayloadTooLarge(
            f"{where}event is {size} bytes; the limit is {MAX_EVENT_BYTES} bytes (3 MiB)"
        )
    return Event(internal_id, name, payload, now_ms, user_id=user_id or None)


def _ts(ts: Any, now_ms: int, where: str) -> int:
    if ts is None or (ts == 0 and not isinstance(ts, bool)):
        return now_ms
    if isinstance(ts, float) and ts.is_integer():
        ts = int(ts)
    if not isinstance(ts, int) or isinstance(ts, bool):
        raise errors.InvalidEvent(
            f"{where}field 'ts' must be an integer of milliseconds since the epoch"
        )
    if not MIN_TS_MS <= ts <= MAX_TS_MS:
        raise errors.InvalidEvent(
            f"{where}field 'ts' must lie between 1980 and 2100 (milliseconds since the epoch)"
        )
    return ts
