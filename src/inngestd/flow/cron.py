"""Cron triggers: validate expressions, compute the next fire time, jitter, timer event id."""

from __future__ import annotations

import datetime
import re
import zoneinfo
from typing import Final

import xxhash
from cronsim import CronSim, CronSimError

from inngestd import errors
from inngestd.domain.durations import parse_duration

__all__ = [
    "DESCRIPTORS",
    "MAX_CRON_LENGTH",
    "MAX_JITTER_MS",
    "MIN_JITTER_MS",
    "InvalidCron",
    "jitter_ms",
    "next_fire_ms",
    "parse_jitter_ms",
    "scheduled_id",
    "validate_cron",
]

MAX_CRON_LENGTH: Final[int] = 255  # pkg/inngest/trigger.go MaxCronLength
MIN_JITTER_MS: Final[int] = 1_000  # MinCronJitter
MAX_JITTER_MS: Final[int] = 5 * 60_000  # MaxCronJitter

#: robfig/cron v3 descriptors (`@every` is not supported).
DESCRIPTORS: Final[dict[str, str]] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_UTC: Final[datetime.timezone] = datetime.UTC
_TZ_PREFIX: Final[re.Pattern[str]] = re.compile(
    r"^(?:CRON_)?TZ=(\S+)\s+(.*)$", re.DOTALL
)
# robfig's grammar per field: numbers, JAN..DEC / SUN..SAT names, * ? , - /
_FIELD: Final[re.Pattern[str]] = re.compile(r"^[0-9A-Za-z*?,/-]+$")
_NAMES: Final[re.Pattern[str]] = re.compile(r"[A-Za-z]+")
_MONTHS: Final[frozenset[str]] = frozenset(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
)
_DAYS: Final[frozenset[str]] = frozenset(
    ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
)
_FIELD_NAMES: Final[tuple[str, ...]] = (
    "minute",
    "hour",
    "day-of-month",
    "month",
    "day-of-week",
)


class InvalidCron(ValueError):
    """A cron expression or jitter that the server rejects; the message reads on its own."""


def _split(expr: str) -> tuple[zoneinfo.ZoneInfo | datetime.timezone, str]:
    """Resolve the optional `TZ=`/`CRON_TZ=` prefix and a descriptor into (zone, 5 fields)."""
    text = expr.strip()
    if not text:
        raise InvalidCron("the cron expression is empty")
    zone: zoneinfo.ZoneInfo | datetime.timezone = _UTC
    match = _TZ_PREFIX.match(text)
    if match:
        name, text = match.group(1), match.group(2).strip()
        try:
            zone = zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise InvalidCron(
                f"'{expr}' isn't a valid cron schedule: unknown time zone {name!r}"
            ) from None
    elif text.startswith(("TZ=", "CRON_TZ=")):
        raise InvalidCron(
            f"'{expr}' isn't a valid cron schedule: nothing after the time zone"
        )
    if text.startswith("@"):
        fields = DESCRIPTORS.get(text.lower())
        if fields is None:
            raise InvalidCron(
                f"'{expr}' isn't a valid cron schedule: unknown descriptor {text!r}"
            )
        return zone, fields
    parts = text.split()
    if len(parts) != len(_FIELD_NAMES):
        raise InvalidCron(
            f"'{expr}' isn't a valid cron schedule: expected 5 fields "
            f"(minute hour day-of-month month day-of-week), got {len(parts)}"
        )
    for index, part in enumerate(parts):
        names = _MONTHS if index == 3 else _DAYS if index == 4 else frozenset()
        bad = not _FIELD.match(part) or any(
            word.upper() not in names for word in _NAMES.findall(part)
        )
        if bad:
            raise InvalidCron(
                f"'{expr}' isn't a valid cron schedule: bad {_FIELD_NAMES[index]} {part!r}"
            )
    # robfig treats `?` as `*`; cronsim does not know `?`.
    return zone, " ".join(part.replace("?", "*") for part in parts)


def _sim(expr: str, after_ms: int) -> CronSim:
    zone, fields = _split(expr)
    start = datetime.datetime.fromtimestamp(after_ms / 1000, tz=_UTC).astimezone(zone)
    try:
        return CronSim(fields, start)
    except CronSimError as exc:
        raise InvalidCron(f"'{expr}' isn't a valid cron schedule: {exc}") from None


def validate_cron(expr: str) -> None:
    """Raise `InvalidCron` (a ValueError) unless `expr` is a schedule the server accepts.

    Accepted: 5 fields (robfig syntax: numbers, names, `* ? , - /`), the descriptors in
    `DESCRIPTORS`, an optional `TZ=Area/City ` or `CRON_TZ=Area/City ` prefix; ≤255 chars.
    """
    if len(expr) > MAX_CRON_LENGTH:
        raise InvalidCron(
            f"cron is too long. maximum length is {MAX_CRON_LENGTH} characters"
        )
    _sim(expr, 0)


def next_fire_ms(expr: str, after_ms: int) -> int:
    """The first schedule time strictly after `after_ms` (epoch ms), evaluated in the
    expression's zone (UTC by default). Raises `InvalidCron`."""
    sim = _sim(expr, after_ms)
    try:
        nxt = next(sim)
    except (CronSimError, StopIteration) as exc:
        raise InvalidCron(f"'{expr}' has no next occurrence") from exc
    return int(nxt.timestamp()) * 1000


def parse_jitter_ms(text: str | None) -> int:
    """A cron trigger's `jitter` as ms: 0 when unset; otherwise 1s..5m (`CronTrigger.Validate`)."""
    if text is None or not text.strip():
        return 0
    try:
        ms = parse_duration(text) // datetime.timedelta(milliseconds=1)
    except errors.InvalidDuration:
        raise InvalidCron(f"'{text}' isn't a valid jitter duration") from None
    if ms < 0:
        raise InvalidCron("cron jitter must be greater than or equal to zero")
    if 0 < ms < MIN_JITTER_MS:
        raise InvalidCron("cron jitter must be at least 1s")
    if ms > MAX_JITTER_MS:
        raise InvalidCron("cron jitter must be less than or equal to 5m0s")
    return ms


def jitter_ms(fn_id: str, scheduled_ms: int, max_jitter_ms: int) -> int:
    """The delay after the schedule time for this occurrence; 0 without jitter.

    Deterministic per (function, occurrence): `1s + xxh64("<fn_id>:<scheduled_ms>") mod
    (max - 1s)`, i.e. in [1s, max) — Go `DeterministicJitter(jobID, MinCronJitter, jitter)`,
    which also returns the 1 s minimum when max ≤ 1 s.
    """
    if max_jitter_ms <= 0:
        return 0
    span = max_jitter_ms - MIN_JITTER_MS
    if span <= 0:
        return MIN_JITTER_MS
    digest = xxhash.xxh64_intdigest(f"{fn_id}:{scheduled_ms}".encode())
    return MIN_JITTER_MS + digest % span


def scheduled_id(scheduled_ms: int) -> str:
    """The `inngest/scheduled.timer` event id: the schedule time as RFC 3339 UTC, whole
    seconds (Go `Format(time.RFC3339)`), e.g. `2024-01-01T09:00:00Z`."""
    moment = datetime.datetime.fromtimestamp(scheduled_ms // 1000, tz=_UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
