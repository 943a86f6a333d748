"""Unit tests for inngestd.domain.durations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inngestd import errors
from inngestd.domain.durations import (
    format_duration,
    parse_datetime_ms,
    parse_duration,
    resolve_until,
)

NOW_MS = 1_800_000_000_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", timedelta(0)),
        ("0s", timedelta(0)),
        ("300ms", timedelta(milliseconds=300)),
        ("10s", timedelta(seconds=10)),
        ("1.5h", timedelta(minutes=90)),
        ("2h45m", timedelta(hours=2, minutes=45)),
        ("1h30m10s", timedelta(hours=1, minutes=30, seconds=10)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        ("2d12h", timedelta(days=2, hours=12)),
        ("1w2d", timedelta(days=9)),
        ("5m", timedelta(minutes=5)),
        ("90s", timedelta(seconds=90)),
        ("1.s", timedelta(seconds=1)),
        (".5s", timedelta(milliseconds=500)),
        ("1.25s", timedelta(milliseconds=1250)),
        ("100us", timedelta(microseconds=100)),
        ("100µs", timedelta(microseconds=100)),
        ("100μs", timedelta(microseconds=100)),
        ("1500ns", timedelta(microseconds=1)),
        ("999ns", timedelta(0)),
        ("+5s", timedelta(seconds=5)),
        ("-5s", timedelta(seconds=-5)),
        ("-1.5h", timedelta(minutes=-90)),
        ("1h1h", timedelta(hours=2)),
        ("0.000001s", timedelta(microseconds=1)),
        ("2562047h", timedelta(hours=2562047)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-",
        "+",
        "5",
        "s",
        ".s",
        "1.5",
        "1x",
        "1 h",
        " 1h",
        "1h ",
        "1H",
        "h1",
        "1h-5m",
        "1..5s",
        "abc",
        "\u0661s",  # non-ASCII digit
        "2562048h",  # over Go's int64 nanoseconds
        "1y",
        "2026-11-26",
    ],
)
def test_parse_duration_invalid(text: str) -> None:
    with pytest.raises(errors.InvalidDuration) as info:
        parse_duration(text)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10s", NOW_MS + 10_000),
        ("1d", NOW_MS + 86_400_000),
        ("300ms", NOW_MS + 300),
        ("1500us", NOW_MS + 1),
        ("0s", NOW_MS),
        ("-1s", NOW_MS - 1_000),
        ("1h30m10s5ms", NOW_MS + 5_410_005),  # long but not a timestamp
        ("2026-11-26T23:35:36.763Z", 1_795_736_136_763),
        ("2026-11-26T23:35:36.763+00:00", 1_795_736_136_763),
        ("2026-11-27T00:35:36.763+01:00", 1_795_736_136_763),
        ("2026-11-26T23:35:36Z", 1_795_736_136_000),
        ("2026-11-26T23:35:36.763456Z", 1_795_736_136_763),
        ("2026-11-26T23:35:36", 1_795_736_136_000),  # naive means UTC
        ("2026-11-26", 1_795_651_200_000),
        ("1970-01-01T00:00:00Z", 0),
    ],
)
def test_resolve_until(text: str, expected: int) -> None:
    assert resolve_until(text, NOW_MS) == expected


@pytest.mark.parametrize(
    "text", ["", "soon", "2026-13-45T00:00:00Z", "tomorrow!!", "5"]
)
def test_resolve_until_invalid(text: str) -> None:
    with pytest.raises(errors.InvalidDuration):
        resolve_until(text, NOW_MS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-26T23:35:36.763Z", 1_795_736_136_763),
        ("not a date", None),
        ("10s", None),
        ("", None),
    ],
)
def test_parse_datetime_ms(text: str, expected: int | None) -> None:
    assert parse_datetime_ms(text) == expected


@pytest.mark.parametrize(
    ("td", "expected"),
    [
        (timedelta(0), "0s"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(hours=1), "1h"),
        (timedelta(days=2), "2d"),
        (timedelta(days=2, hours=12), "2d12h"),
        (timedelta(weeks=1), "7d"),
        (timedelta(seconds=1, milliseconds=500), "1s500ms"),
        (timedelta(milliseconds=300), "300ms"),
        (timedelta(microseconds=15), "15us"),
        (timedelta(hours=1, minutes=30, seconds=10), "1h30m10s"),
        (timedelta(seconds=-90), "-1m30s"),
    ],
)
def test_format_duration(td: timedelta, expected: str) -> None:
    assert format_duration(td) == expected
    assert parse_duration(expected) == td
