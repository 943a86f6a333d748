"""Unit tests for inngestd.flow.batching (fake clock: plain integer ms)."""

from __future__ import annotations

import pytest

from inngestd.domain.flow_config import Batch
from inngestd.flow.batching import MAX_BATCH_BYTES, BatchDecision, on_event

T0 = 1_800_000_000_000
CFG = Batch(max_size=3, timeout_ms=5_000)


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        (0, BatchDecision("new", 1, fire_now=False, schedule_at_ms=T0 + 5_000)),
        (1, BatchDecision("append", 2, fire_now=False, schedule_at_ms=None)),
        (2, BatchDecision("full", 3, fire_now=True, schedule_at_ms=None)),
        (5, BatchDecision("full", 6, fire_now=True, schedule_at_ms=None)),
    ],
)
def test_append(before: int, expected: BatchDecision) -> None:
    assert on_event(before, T0, CFG) == expected


def test_sequence_opens_a_new_batch_after_full() -> None:
    size = 0
    decisions = []
    for i in range(7):
        d = on_event(size, T0 + i, CFG)
        decisions.append(d)
        size = 0 if d.fire_now else d.size_after
    assert [d.status for d in decisions] == ["new", "append", "full"] * 2 + ["new"]
    assert [d.new_batch for d in decisions] == [True, False, False] * 2 + [True]
    assert decisions[3].schedule_at_ms == T0 + 3 + 5_000


@pytest.mark.parametrize("before", [0, 1])
def test_bytes_limit_fills_the_batch(before: int) -> None:
    d = on_event(before, T0, CFG, batch_bytes_after=MAX_BATCH_BYTES)
    assert d.status == "maxsize"
    assert d.fire_now
    assert d.schedule_at_ms is None
    assert not on_event(before, T0, CFG, batch_bytes_after=MAX_BATCH_BYTES - 1).fire_now


def test_max_size_two() -> None:
    cfg = Batch(max_size=2, timeout_ms=1_000)
    assert on_event(0, T0, cfg).schedule_at_ms == T0 + 1_000
    assert on_event(1, T0, cfg).fire_now
