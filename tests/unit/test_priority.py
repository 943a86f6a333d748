"""Unit tests for inngestd.flow.priority."""

from __future__ import annotations

import pytest

from inngestd.flow.priority import (
    PRIORITY_FACTOR_MAX_S,
    PRIORITY_FACTOR_MIN_S,
    priority_factor_ms,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (120, 120_000),
        (-600, -600_000),
        (600, 600_000),
        (43_200, 43_200_000),
        (43_201, 43_200_000),
        (10**12, 43_200_000),
        (-43_201, -43_200_000),
        (True, 0),
        (False, 0),
        (1.0, 0),
        (120.5, 0),
        ("120", 0),
        (None, 0),
        ([1], 0),
        ({"a": 1}, 0),
    ],
)
def test_priority_factor(value: object, expected: int) -> None:
    assert priority_factor_ms(value) == expected


def test_bounds_are_the_servers_12h() -> None:
    assert PRIORITY_FACTOR_MAX_S == 43_200
    assert PRIORITY_FACTOR_MIN_S == -43_200
