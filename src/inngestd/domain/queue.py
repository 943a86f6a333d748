"""Queue items: the unit of work a worker leases."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DISCOVERY = "step"


class ItemKind(StrEnum):
    CALL = (
        "call"  # call the app (discovery when step_id is None, else the targeted step)
    )
    SLEEP = "sleep"  # a sleep ended: memoise null for step_id
    PAUSE_TIMEOUT = (
        "pause_timeout"  # a pause expired: resolve it with its timeout value
    )


@dataclass(frozen=True, slots=True)
class QueueItem:
    id: str
    run_id: str
    function_id: str
    kind: ItemKind
    due_ms: int
    step_id: str | None = None
    attempt: int = 0
    max_attempts: int = 1
    pause_id: str | None = None


@dataclass(frozen=True, slots=True)
class Lease:
    item: QueueItem
    token: str
    expires_ms: int
