"""Go-style duration strings (plus `d` and `w`) and sleep/timeout deadlines."""

from __future__ import annotations

import datetime
import re
from typing import Final

from inngestd import errors

__all__ = ["format_duration", "parse_datetime_ms", "parse_duration", "resolve_until"]

_NS_PER_UNIT: Final[dict[str, int]] = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 micro sign
    "μs": 1_000,  # U+03BC Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    "w": 604_800_000_000_000,
}
# One `<number><unit>` term; Go allows "1.", ".5" but not ".".
_TERM: Final[re.Pattern[str]] = re.compile(
    r"([0-9]*)(?:\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h|d|w)"
)
_MAX_NS: Final[int] = 2**63 - 1  # Go's time.Duration is an int64 of nanoseconds
_EPOCH: Final[datetime.datetime] = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_ONE_MS: Final[datetime.timedelta] = datetime.timedelta(milliseconds=1)
_MIN_TIMESTAMP_LEN: Final[int] = 10


def _invalid(text: str, why: str) -> errors.InvalidDuration:
    return errors.InvalidDuration(f"invalid duration {text!r}: {why}")


def _parse_ns(text: str) -> int:
    """Parse `text` into signed nanoseconds, the way Go's time.ParseDuration does (with d, w)."""
    rest = text
    negative = False
    if rest[:1] in ("-", "+"):
        negative = rest[0] == "-"
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise _invalid(text, "it is empty")
    total = 0
    pos = 0
    while pos < len(rest):
        match = _TERM.match(rest, pos)
        if match is None:
            raise _invalid(text, f"expected a number and a unit at {rest[pos:]!r}")
        whole, frac, unit = match.group(1), match.group(2) or "", match.group(3)
        if not whole and not frac:
            raise _invalid(text, f"missing number before {unit!r}")
        scale = _NS_PER_UNIT[unit]
        total += int(whole or "0") * scale
        if frac:
            total += int(frac) * scale // 10 ** len(frac)
        if total > _MAX_NS:
            raise _invalid(text, "it is too large")
        pos = match.end()
    return -total if negative else total


def parse_duration(text: str) -> datetime.timedelta:
    """Parse `"300ms"`, `"1.5h"`, `"2h45m"`, `"1d"`, `"1w"`, `"2d12h"`, ... into a timedelta.

    Sub-microsecond parts are truncated. Raises `errors.InvalidDuration`.
    """
    ns = _parse_ns(text)
    sign = -1 if ns < 0 else 1
    return sign * datetime.timedelta(microseconds=abs(ns) // 1_000)


def parse_datetime_ms(text: str) -> int | None:
    """An RFC 3339 / ISO 8601 timestamp as epoch ms (naive means UTC); None if it is not one."""
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return (parsed - _EPOCH) // _ONE_MS


def resolve_until(text: str, now_ms: int) -> int:
    """The epoch-ms deadline for a sleep/timeout value: an ISO timestamp, or now + a duration.

    Raises `errors.InvalidDuration` if `text` is neither.
    """
    if len(text) >= _MIN_TIMESTAMP_LEN:
        at_ms = parse_datetime_ms(text)
        if at_ms is not None:
            return at_ms
    ns = _parse_ns(text)
    # Round towards zero at the millisecond, as Go's Duration.Milliseconds does.
    return now_ms + (ns // 1_000_000 if ns >= 0 else -(-ns // 1_000_000))


_FORMAT_UNITS: Final[tuple[tuple[str, int], ...]] = (
    ("d", 86_400_000_000),
    ("h", 3_600_000_000),
    ("m", 60_000_000),
    ("s", 1_000_000),
    ("ms", 1_000),
    ("us", 1),
)


def format_duration(td: datetime.timedelta) -> str:
    """Format as the largest exact units, e.g. `1h30m`, `2d`, `1s500ms`; zero is `0s`.

    The result round-trips through `parse_duration`.
    """
    micros = td // datetime.timedelta(microseconds=1)
    if micros == 0:
        return "0s"
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    parts: list[str] = []
    for unit, size in _FORMAT_UNITS:
        count, micros = divmod(micros, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)
