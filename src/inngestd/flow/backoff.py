"""Retry delays: Inngest's backoff table, the fixed `--retry-interval`, and `Retry-After`."""

from __future__ import annotations

import datetime
import email.utils
import re
from typing import Final

from inngestd.domain.durations import parse_datetime_ms

__all__ = [
    "BACKOFF_TABLE_MS",
    "MAX_JITTER_MS",
    "MAX_RETRY_AFTER_MS",
    "MIN_RETRY_AFTER_MS",
    "parse_retry_after",
    "retry_delay_ms",
]

_SECOND: Final[int] = 1_000
_MINUTE: Final[int] = 60 * _SECOND
_HOUR: Final[int] = 60 * _MINUTE

#: Delay after the n-th failed attempt (0-based); the last entry repeats (Go `pkg/backoff`).
BACKOFF_TABLE_MS: Final[tuple[int, ...]] = (
    15 * _SECOND,
    30 * _SECOND,
    1 * _MINUTE,
    2 * _MINUTE,
    5 * _MINUTE,
    10 * _MINUTE,
    20 * _MINUTE,
    40 * _MINUTE,
    1 * _HOUR,
    2 * _HOUR,
)
#: The caller draws jitter uniformly from [0, MAX_JITTER_MS).
MAX_JITTER_MS: Final[int] = 30 * _SECOND
MIN_RETRY_AFTER_MS: Final[int] = 1 * _SECOND
MAX_RETRY_AFTER_MS: Final[int] = 24 * _HOUR
_MAX_SECONDS_LEN: Final[int] = 7  # Go: "no dates can be <= 7 characters"
_SECONDS: Final[re.Pattern[str]] = re.compile(r"-?[0-9]+")


def retry_delay_ms(
    attempt: int, *, fixed_interval_ms: int | None = None, jitter_ms: int = 0
) -> int:
    """The delay before retrying after 0-based `attempt` failed.

    With `fixed_interval_ms` (the CLI's `--retry-interval`) that interval exactly, without
    jitter; otherwise the table entry (clamped to the last) plus `jitter_ms`.
    """
    if fixed_interval_ms is not None:
        return fixed_interval_ms
    index = min(max(attempt, 0), len(BACKOFF_TABLE_MS) - 1)
    return BACKOFF_TABLE_MS[index] + jitter_ms


def _parse_http_date_ms(value: str) -> int | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # "-0000": UTC, with no claim about local time
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return int(parsed.timestamp()) * _SECOND


def parse_retry_after(value: str | None, now_ms: int) -> int | None:
    """The absolute epoch-ms due time a `Retry-After` header asks for, or None.

    Accepts integer seconds (at most 7 characters), an RFC 3339 / ISO 8601 timestamp or an HTTP
    date. The result is clamped to [now + 1s, now + 24h] (Go `httpdriver.ParseRetry`).
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    due: int | None = None
    if len(text) <= _MAX_SECONDS_LEN and _SECONDS.fullmatch(text):
        due = now_ms + int(text) * _SECOND
    else:
        due = parse_datetime_ms(text)
        if due is None:
            due = _parse_http_date_ms(text)
    if due is None:
        return None
    return min(max(due, now_ms + MIN_RETRY_AFTER_MS), now_ms + MAX_RETRY_AFTER_MS)
