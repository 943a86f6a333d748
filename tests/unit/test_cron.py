"""Unit tests for inngestd.flow.cron."""

from __future__ import annotations

import datetime
import itertools

import pytest

from inngestd.flow.cron import (
    DESCRIPTORS,
    MAX_JITTER_MS,
    MIN_JITTER_MS,
    InvalidCron,
    jitter_ms,
    next_fire_ms,
    parse_jitter_ms,
    scheduled_id,
    validate_cron,
)


def ms(text: str) -> int:
    """Epoch ms of an ISO timestamp (UTC unless it says otherwise)."""
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp() * 1000)


@pytest.mark.parametrize(
    ("expr", "after", "expected"),
    [
        ("0 9 * * *", "2024-01-01T08:59:59", "2024-01-01T09:00:00"),
        ("0 9 * * *", "2024-01-01T09:00:00", "2024-01-02T09:00:00"),  # strictly after
        ("0 9 * * *", "2024-01-01T09:00:00.500", "2024-01-02T09:00:00"),
        ("*/5 * * * *", "2024-01-01T09:02:30", "2024-01-01T09:05:00"),
        ("0 9 * * MON-FRI", "2024-01-06T10:00:00", "2024-01-08T09:00:00"),  # Sat → Mon
        ("0 9 * * 1-5", "2024-01-06T10:00:00", "2024-01-08T09:00:00"),
        ("0 0 ? * SUN", "2024-01-01T00:00:00", "2024-01-07T00:00:00"),
        ("0 0 1 jan *", "2024-03-01T00:00:00", "2025-01-01T00:00:00"),
        ("  15   10  *  *  *  ", "2024-01-01T00:00:00", "2024-01-01T10:15:00"),
        ("@hourly", "2024-01-01T09:30:00", "2024-01-01T10:00:00"),
        ("@daily", "2024-01-01T09:30:00", "2024-01-02T00:00:00"),
        ("@midnight", "2024-01-01T09:30:00", "2024-01-02T00:00:00"),
        ("@weekly", "2024-01-01T09:30:00", "2024-01-07T00:00:00"),
        ("@monthly", "2024-01-15T09:30:00", "2024-02-01T00:00:00"),
        ("@yearly", "2024-01-15T09:30:00", "2025-01-01T00:00:00"),
        ("@annually", "2024-01-15T09:30:00", "2025-01-01T00:00:00"),
        ("@HOURLY", "2024-01-01T09:30:00", "2024-01-01T10:00:00"),
        # Time zones: 9:00 New York is 14:00Z in winter (EST) and 13:00Z in summer (EDT).
        ("TZ=America/New_York 0 9 * * *", "2024-01-01T00:00:00", "2024-01-01T14:00:00"),
        ("TZ=America/New_York 0 9 * * *", "2024-07-01T00:00:00", "2024-07-01T13:00:00"),
        ("CRON_TZ=Asia/Tokyo 0 9 * * *", "2024-01-01T01:00:00", "2024-01-02T00:00:00"),
        ("TZ=Europe/Paris @daily", "2024-01-01T12:00:00", "2024-01-01T23:00:00"),
        ("TZ=UTC 30 1 * * *", "2024-01-01T00:00:00", "2024-01-01T01:30:00"),
    ],
)
def test_next_fire(expr: str, after: str, expected: str) -> None:
    validate_cron(expr)
    assert next_fire_ms(expr, ms(after)) == ms(expected)


def test_successive_fires_walk_the_schedule() -> None:
    at = ms("2024-01-01T00:00:00")
    fires = []
    for _ in range(4):
        at = next_fire_ms("*/15 * * * *", at)
        fires.append(at)
    assert [b - a for a, b in itertools.pairwise(fires)] == [15 * 60_000] * 3


def test_dst_spring_forward_still_fires_once() -> None:
    # 2:30 does not exist in New York on 2024-03-10; cronsim fires at the next valid time.
    expr = "TZ=America/New_York 30 2 * * *"
    first = next_fire_ms(expr, ms("2024-03-09T12:00:00-05:00"))
    assert first == ms("2024-03-10T03:00:00-04:00")
    assert next_fire_ms(expr, first) == ms("2024-03-11T02:30:00-04:00")


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("* * * *", "expected 5 fields"),
        ("0 0 * * * *", "expected 5 fields"),  # no seconds field
        ("61 * * * *", "isn't a valid cron schedule"),
        ("0 25 * * *", "isn't a valid cron schedule"),
        ("0 0 * * FOO", "bad day-of-week"),
        ("0 0 * MON *", "bad month"),
        ("0 0 L * *", "bad day-of-month"),  # cronsim extension robfig lacks
        ("0 0 * * 1#2", "bad day-of-week"),
        ("0 0 30 2 *", "isn't a valid cron schedule"),
        ("*/0 * * * *", "isn't a valid cron schedule"),
        ("@every 1h", "unknown descriptor"),
        ("@reboot", "unknown descriptor"),
        ("TZ=Mars/Base 0 0 * * *", "unknown time zone"),
        ("TZ=UTC", "nothing after the time zone"),
        ("0 0 * * *" + " " * 250 + "x", "too long"),
    ],
)
def test_invalid(expr: str, problem: str) -> None:
    with pytest.raises(InvalidCron, match=problem):
        validate_cron(expr)
    assert issubclass(InvalidCron, ValueError)


def test_next_fire_raises_for_invalid() -> None:
    with pytest.raises(InvalidCron):
        next_fire_ms("nope", 0)


def test_descriptors_are_valid_five_field_expressions() -> None:
    for fields in DESCRIPTORS.values():
        validate_cron(fields)


@pytest.mark.parametrize(
    ("text", "expected"),
    [(None, 0), ("", 0), ("0s", 0), ("1s", 1_000), ("30s", 30_000), ("5m", 300_000)],
)
def test_parse_jitter(text: str | None, expected: int) -> None:
    assert parse_jitter_ms(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("500ms", "at least 1s"),
        ("5m1s", "less than or equal"),
        ("-1s", "greater than"),
        ("x", "valid jitter"),
    ],
)
def test_parse_jitter_invalid(text: str, problem: str) -> None:
    with pytest.raises(InvalidCron, match=problem):
        parse_jitter_ms(text)


def test_jitter_is_deterministic_and_in_range() -> None:
    t = ms("2024-01-01T09:00:00")
    values = {jitter_ms("app-fn", t + i * 60_000, MAX_JITTER_MS) for i in range(200)}
    assert all(MIN_JITTER_MS <= v < MAX_JITTER_MS for v in values)
    assert len(values) > 150  # spread out across occurrences
    assert jitter_ms("app-fn", t, 30_000) == jitter_ms("app-fn", t, 30_000)
    assert jitter_ms("app-fn", t, 30_000) != jitter_ms("other-fn", t, 30_000)


@pytest.mark.parametrize(
    ("max_jitter", "expected"), [(0, 0), (-5, 0), (1_000, 1_000), (500, 1_000)]
)
def test_jitter_edges(max_jitter: int, expected: int) -> None:
    assert jitter_ms("fn", 0, max_jitter) == expected


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (ms("2024-01-01T09:00:00"), "2024-01-01T09:00:00Z"),
        (ms("2024-01-01T09:00:00") + 999, "2024-01-01T09:00:00Z"),
        (0, "1970-01-01T00:00:00Z"),
        (ms("2099-12-31T23:59:59"), "2099-12-31T23:59:59Z"),
    ],
)
def test_scheduled_id(when: int, expected: str) -> None:
    assert scheduled_id(when) == expected
