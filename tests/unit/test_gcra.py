"""Unit tests for inngestd.flow.gcra (fake clock: plain integer ms)."""

from __future__ import annotations

import itertools

import pytest

from inngestd.flow.gcra import (
    GCRAResult,
    gcra,
    rate_limit,
    rate_limit_burst,
    throttle,
    throttle_burst,
)

T0 = 1_800_000_000_000
S = 1_000


def admitted_at(
    times: list[int], *, limit: int, period_ms: int, burst: int, kind: str = "gcra"
) -> list[int]:
    """Feed requests at `times`; return the times that were admitted."""
    tat: int | None = None
    out = []
    for now in times:
        if kind == "throttle":
            res = throttle(tat, now, limit=limit, period_ms=period_ms, burst=burst)
        elif kind == "rate_limit":
            res = rate_limit(tat, now, limit=limit, period_ms=period_ms)
        else:
            res = gcra(tat, now, limit=limit, period_ms=period_ms, burst=burst)
        tat = res.new_tat_ms
        if res.allowed:
            out.append(now)
    return out


def test_one_per_10s_admits_one_then_rejects_until_10s() -> None:
    first = gcra(None, T0, limit=1, period_ms=10 * S, burst=0)
    assert first == GCRAResult(
        allowed=True, new_tat_ms=T0 + 10 * S, retry_at_ms=T0 + 10 * S
    )
    for dt in (0, 1, 5 * S, 10 * S - 1):
        res = gcra(first.new_tat_ms, T0 + dt, limit=1, period_ms=10 * S, burst=0)
        assert res == GCRAResult(False, first.new_tat_ms, T0 + 10 * S)
    again = gcra(first.new_tat_ms, T0 + 10 * S, limit=1, period_ms=10 * S, burst=0)
    assert again.allowed
    assert again.new_tat_ms == T0 + 20 * S


@pytest.mark.parametrize("burst", [0, 1, 2, 4, 9])
def test_burst_admits_burst_plus_one_at_once(burst: int) -> None:
    times = [T0] * 20
    assert len(admitted_at(times, limit=1, period_ms=10 * S, burst=burst)) == burst + 1


@pytest.mark.parametrize(
    ("limit", "period_ms", "burst"),
    [(1, 10 * S, 0), (2, 10 * S, 0), (3, S, 2), (10, 60 * S, 1), (7, 1_000, 0)],
)
def test_retry_at_is_when_the_next_passes(
    limit: int, period_ms: int, burst: int
) -> None:
    tat: int | None = None
    now = T0
    for _ in range(3 * (burst + 1)):
        res = gcra(tat, now, limit=limit, period_ms=period_ms, burst=burst)
        tat = res.new_tat_ms
        if res.allowed:
            continue
        # One ms before retry_at is still rejected; at retry_at it passes.
        before = gcra(
            tat, res.retry_at_ms - 1, limit=limit, period_ms=period_ms, burst=burst
        )
        at = gcra(tat, res.retry_at_ms, limit=limit, period_ms=period_ms, burst=burst)
        assert not before.allowed
        assert at.allowed
        now = res.retry_at_ms
    # After an admission, retry_at says when the following request would pass.
    res = gcra(tat, now, limit=limit, period_ms=period_ms, burst=burst)
    if res.allowed and res.retry_at_ms > now:
        nxt = res.retry_at_ms
        assert not gcra(
            res.new_tat_ms, nxt - 1, limit=limit, period_ms=period_ms, burst=burst
        ).allowed
        assert gcra(
            res.new_tat_ms, nxt, limit=limit, period_ms=period_ms, burst=burst
        ).allowed


def test_rate_is_sustained_over_time() -> None:
    # A request every 100 ms for 60 s against 10 per 10 s: ~1 per second gets through.
    times = [T0 + i * 100 for i in range(600)]
    got = admitted_at(times, limit=10, period_ms=10 * S, burst=0)
    assert len(got) == 60
    gaps = {b - a for a, b in itertools.pairwise(got)}
    assert gaps == {S}


def test_fractional_emission_never_exceeds_limit() -> None:
    # 3 per second (e = 333.33 ms): over 10 s of 1 ms polling, at most 30 (+1 at t=0).
    times = [T0 + i for i in range(10_000)]
    got = admitted_at(times, limit=3, period_ms=S, burst=0)
    assert 29 <= len(got) <= 31


def test_keys_are_independent() -> None:
    state: dict[str, int | None] = {"a": None, "b": None}
    results = {}
    for key in ("a", "b", "a", "b"):
        res = gcra(state[key], T0, limit=1, period_ms=10 * S, burst=0)
        state[key] = res.new_tat_ms
        results.setdefault(key, []).append(res.allowed)
    assert results == {"a": [True, False], "b": [True, False]}


def test_stale_tat_behaves_like_none() -> None:
    old = gcra(T0 - 60 * S, T0, limit=2, period_ms=10 * S, burst=1)
    fresh = gcra(None, T0, limit=2, period_ms=10 * S, burst=1)
    assert old == fresh


def test_limit_below_one_is_one_and_period_must_be_positive() -> None:
    assert gcra(None, T0, limit=0, period_ms=S, burst=0).new_tat_ms == T0 + S
    with pytest.raises(ValueError, match="period_ms"):
        gcra(None, T0, limit=1, period_ms=0, burst=0)


# -- the Go bursts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "burst", "expected"),
    [(1, 0, 0), (1, 1, 1), (2, 0, 1), (2, 1, 2), (0, 0, 0)],
)
def test_throttle_burst(limit: int, burst: int, expected: int) -> None:
    assert throttle_burst(limit, burst) == expected


@pytest.mark.parametrize(
    ("limit", "expected"), [(1, 0), (9, 0), (10, 1), (25, 2), (100, 10)]
)
def test_rate_limit_burst(limit: int, expected: int) -> None:
    assert rate_limit_burst(limit) == expected


@pytest.mark.parametrize(
    ("limit", "burst", "period_s", "at_once", "gap_ms"),
    [
        # tests/golang/throttle_test.go matrix: five events sent at once.
        (1, 0, 5, 1, 5_000),  # "single limit": one per 5 s
        (2, 0, 5, 2, 2_500),  # "multiple": two at once, then one per 2.5 s
        (1, 1, 5, 2, 5_000),  # "single with burst"
        (2, 1, 5, 3, 2_500),  # "multiple with burst"
    ],
)
def test_throttle_matches_go(
    limit: int, burst: int, period_s: int, at_once: int, gap_ms: int
) -> None:
    times = [T0] * 5 + [T0 + i * 100 for i in range(1, 200)]
    got = admitted_at(
        times, limit=limit, period_ms=period_s * S, burst=burst, kind="throttle"
    )
    assert got[:at_once] == [T0] * at_once
    assert got[at_once] - T0 == gap_ms
    assert {b - a for a, b in zip(got[at_once:], got[at_once + 1 :], strict=False)} == {
        gap_ms
    }


def test_rate_limit_one_per_day_is_idempotency() -> None:
    day = 24 * 3_600 * S
    got = admitted_at(
        [T0, T0 + 1, T0 + day - 1, T0 + day],
        limit=1,
        period_ms=day,
        burst=0,
        kind="rate_limit",
    )
    assert got == [T0, T0 + day]


def test_rate_limit_ten_per_minute_admits_two_at_once() -> None:
    got = admitted_at([T0] * 5, limit=10, period_ms=60 * S, burst=0, kind="rate_limit")
    assert got == [T0, T0]
