"""Debounce state transitions: create, push back (capped by timeout) or ignore an event."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Literal

from inngestd.domain.flow_config import Debounce

__all__ = [
    "GO_FIRE_DELAY_MS",
    "DebounceAction",
    "DebounceDecision",
    "DebounceState",
    "is_due",
    "on_event",
]

#: Go enqueues the debounce job at `due + 50 ms + 1 s` to dodge races between Redis calls
#: (`pkg/execution/debounce/debounce.go`: `now.Add(ttl).Add(buffer).Add(time.Second)`).
#: A transactional store does not need it; add it to `due_ms` only for timing parity.
GO_FIRE_DELAY_MS: Final[int] = 1_050

DebounceAction = Literal["created", "updated", "ignored"]


@dataclass(frozen=True, slots=True)
class DebounceState:
    """One pending debounce (per function and key). The event itself is stored by the caller.

    `deadline_ms` is `first_ms + timeout` (None without a timeout); `due_ms` never passes it.
    """

    debounce_id: str
    first_ms: int
    due_ms: int
    event_ts_ms: int
    deadline_ms: int | None = None


@dataclass(frozen=True, slots=True)
class DebounceDecision:
    """What `on_event` decided. Store `state`; if `replace_event`, store the new event too and
    move the debounce job to `due_ms`. `ignored` changes nothing."""

    action: DebounceAction
    state: DebounceState

    @property
    def replace_event(self) -> bool:
        return self.action != "ignored"

    @property
    def due_ms(self) -> int:
        return self.state.due_ms


def _due(now_ms: int, period_ms: int, deadline_ms: int | None) -> int:
    due = now_ms + period_ms
    if deadline_ms is not None:
        due = max(min(due, deadline_ms), now_ms)
    return due


def on_event(
    state: DebounceState | None,
    event_ts_ms: int,
    now_ms: int,
    cfg: Debounce,
    *,
    debounce_id: str,
) -> DebounceDecision:
    """Apply one incoming event (with timestamp `event_ts_ms`) to the debounce for its key.

    * No state: a new debounce `debounce_id` due at `now + period` (or the timeout, if sooner).
    * State: the event replaces the stored one and the debounce is pushed to `now + period`,
      capped at `first_ms + timeout`. `debounce_id` is unused.
    * An event older than the stored one (`event_ts_ms < state.event_ts_ms`) is ignored and
      does not push the debounce back (Go `updateDebounce.lua` returns -2). Equal is newer.

    The caller must delete the state atomically when the debounce job starts, so an event that
    arrives while it runs starts a new debounce (Go: update fails on a leased job → create).
    """
    if state is None:
        deadline = None if cfg.timeout_ms is None else now_ms + cfg.timeout_ms
        return DebounceDecision(
            "created",
            DebounceState(
                debounce_id=debounce_id,
                first_ms=now_ms,
                due_ms=_due(now_ms, cfg.period_ms, deadline),
                event_ts_ms=event_ts_ms,
                deadline_ms=deadline,
            ),
        )
    if event_ts_ms < state.event_ts_ms:
        return DebounceDecision("ignored", state)
    return DebounceDecision(
        "updated",
        replace(
            state,
            due_ms=_due(now_ms, cfg.period_ms, state.deadline_ms),
            event_ts_ms=event_ts_ms,
        ),
    )


def is_due(state: DebounceState, now_ms: int) -> bool:
    """Whether the debounce should fire at `now_ms`."""
    return now_ms >= state.due_ms
