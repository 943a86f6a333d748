"""Unit tests for inngestd.flow.debounce (fake clock: plain integer ms)."""

from __future__ import annotations

import pytest

from inngestd.domain.flow_config import Debounce
from inngestd.flow.debounce import (
    GO_FIRE_DELAY_MS,
    DebounceDecision,
    DebounceState,
    is_due,
    on_event,
)

T0 = 1_800_000_000_000
S = 1_000
M = 60 * S


def test_first_event_creates_a_debounce() -> None:
    cfg = Debounce(period_ms=5 * S)
    decision = on_event(None, event_ts_ms=T0 - 10, now_ms=T0, cfg=cfg, debounce_id="d1")
    assert decision == DebounceDecision(
        "created",
        DebounceState(
            debounce_id="d1", first_ms=T0, due_ms=T0 + 5 * S, event_ts_ms=T0 - 10
        ),
    )
    assert decision.replace_event
    assert decision.due_ms == T0 + 5 * S


def test_later_event_replaces_and_pushes_back() -> None:
    cfg = Debounce(period_ms=5 * S)
    state = on_event(None, T0, T0, cfg, debounce_id="d1").state
    decision = on_event(state, T0 + 3 * S, T0 + 3 * S, cfg, debounce_id="ignored-id")
    assert decision.action == "updated"
    assert decision.replace_event
    assert decision.state == DebounceState("d1", T0, T0 + 8 * S, T0 + 3 * S)


@pytest.mark.parametrize(
    ("arrivals", "expected_due"),
    [
        # period 10 s, timeout 25 s: each event pushes to now+10s, never past T0+25s.
        ([0], 10),
        ([0, 5], 15),
        ([0, 5, 12], 22),
        ([0, 5, 12, 20], 25),
        ([0, 5, 12, 20, 24], 25),
    ],
)
def test_timeout_caps_the_push_back(arrivals: list[int], expected_due: int) -> None:
    cfg = Debounce(period_ms=10 * S, timeout_ms=25 * S)
    state: DebounceState | None = None
    for at in arrivals:
        now = T0 + at * S
        state = on_event(state, now, now, cfg, debounce_id="d").state
    assert state is not None
    assert state.deadline_ms == T0 + 25 * S
    assert state.due_ms == T0 + expected_due * S


def test_timeout_shorter_than_period() -> None:
    cfg = Debounce(period_ms=M, timeout_ms=10 * S)
    assert on_event(None, T0, T0, cfg, debounce_id="d").due_ms == T0 + 10 * S


def test_due_never_before_now_after_the_deadline() -> None:
    cfg = Debounce(period_ms=10 * S, timeout_ms=10 * S)
    state = on_event(None, T0, T0, cfg, debounce_id="d").state
    late = T0 + 30 * S  # the job has not fired yet, e.g. the server was down
    assert on_event(state, late, late, cfg, debounce_id="d").due_ms == late


@pytest.mark.parametrize(
    ("stored_ts", "incoming_ts", "action"),
    [
        (T0, T0 - 1, "ignored"),
        (T0, T0, "updated"),  # equal is not older
        (T0, T0 + 1, "updated"),
    ],
)
def test_out_of_order_events_are_ignored(
    stored_ts: int, incoming_ts: int, action: str
) -> None:
    cfg = Debounce(period_ms=5 * S)
    state = DebounceState("d", first_ms=T0, due_ms=T0 + 5 * S, event_ts_ms=stored_ts)
    decision = on_event(state, incoming_ts, T0 + 2 * S, cfg, debounce_id="x")
    assert decision.action == action
    if action == "ignored":
        assert decision.state is state  # nothing to store, the job is not moved
        assert not decision.replace_event
        assert decision.due_ms == T0 + 5 * S
    else:
        assert decision.due_ms == T0 + 7 * S


def test_is_due_and_go_delay() -> None:
    state = DebounceState("d", T0, T0 + 5 * S, T0)
    assert not is_due(state, T0 + 5 * S - 1)
    assert is_due(state, T0 + 5 * S)
    assert GO_FIRE_DELAY_MS == 1_050
