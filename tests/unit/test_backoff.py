"""Unit tests for inngestd.flow.backoff."""

from __future__ import annotations

import pytest

from inngestd.flow.backoff import (
    BACKOFF_TABLE_MS,
    MAX_JITTER_MS,
    MAX_RETRY_AFTER_MS,
    MIN_RETRY_AFTER_MS,
    parse_retry_after,
    retry_delay_ms,
)

NOW_MS = 1_800_000_000_000  # 2027-01-15T08:00:00Z
S = 1_000
M = 60 * S
H = 60 * M


def test_table_matches_inngest() -> None:
    assert BACKOFF_TABLE_MS == (
        15 * S,
        30 * S,
        1 * M,
        2 * M,
        5 * M,
        10 * M,
        20 * M,
        40 * M,
        1 * H,
        2 * H,
    )
    assert MAX_JITTER_MS == 30 * S


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [
        (0, 15 * S),
        (1, 30 * S),
        (2, 1 * M),
        (3, 2 * M),
        (4, 5 * M),
        (7, 40 * M),
        (8, 1 * H),
        (9, 2 * H),
        (10, 2 * H),
        (20, 2 * H),
        (1000, 2 * H),
        (-1, 15 * S),
    ],
)
def test_retry_delay_table(attempt: int, expected: int) -> None:
    assert retry_delay_ms(attempt) == expected


@pytest.mark.parametrize("jitter", [0, 1, 12_345, 29_999])
def test_retry_delay_adds_jitter(jitter: int) -> None:
    assert retry_delay_ms(2, jitter_ms=jitter) == 1 * M + jitter


@pytest.mark.parametrize("attempt", [0, 1, 5, 50])
def test_retry_delay_fixed_interval_ignores_table_and_jitter(attempt: int) -> None:
    assert retry_delay_ms(attempt, fixed_interval_ms=2 * S, jitter_ms=9_999) == 2 * S
    assert retry_delay_ms(attempt, fixed_interval_ms=0) == 0


@pytest.mark.parametrize(
    ("value", "expected_delay"),
    [
        ("5", 5 * S),
        ("1", 1 * S),
        ("120", 120 * S),
        (" 30 ", 30 * S),
        ("0", MIN_RETRY_AFTER_MS),
        ("-3", MIN_RETRY_AFTER_MS),
        ("86400", MAX_RETRY_AFTER_MS),
        ("9999999", MAX_RETRY_AFTER_MS),
        ("2027-01-15T08:01:00.000Z", 1 * M),
        ("2027-01-15T08:00:30.500Z", 30_500),
        ("2027-01-15T09:00:00+01:00", MIN_RETRY_AFTER_MS),  # == now
        ("2027-01-15T08:00:00.250Z", MIN_RETRY_AFTER_MS),
        ("2020-01-01T00:00:00Z", MIN_RETRY_AFTER_MS),
        ("2030-01-01T00:00:00Z", MAX_RETRY_AFTER_MS),
        ("Fri, 15 Jan 2027 08:02:00 GMT", 2 * M),
        ("Fri, 15 Jan 2027 08:02:00 -0000", 2 * M),
        ("Wed, 21 Oct 2015 07:28:00 GMT", MIN_RETRY_AFTER_MS),
    ],
)
def test_parse_retry_after(value: str, expected_delay: int) -> None:
    assert parse_retry_after(value, NOW_MS) == NOW_MS + expected_delay


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "abc", "1e5", "--5", "5s", "12345678", "Fri, 99 Foo 2027"],
)
def test_parse_retry_after_unparseable(value: str | None) -> None:
    assert parse_retry_after(value, NOW_MS) is None
