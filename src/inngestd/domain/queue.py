"""Queue items: the unit of work a worker leases."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DISCOVERY = "step"
# A parked item is looked at again after this long even if no release woke it (a worker
# that died holds its slots until its lease expires).
BLOCKED_RECHECK_MS = 2_000
# How many due items one lease call may look at beyond the ones it takes.
SCAN_EXTRA = 200
# How many due partitions one lease call serves (the ones waiting longest).
PARTITIONS_PER_LEASE = 64


class ItemKind(StrEnum):
    # Call the app: a discovery call when step_id is None, else the targeted step.
    CALL = "call"
    # A sleep ended: memoise null for step_id.
    SLEEP = "sleep"
    # A pause expired: resolve it with its timeout value.
    PAUSE_TIMEOUT = "pause_timeout"
    # A debounce period ended: start the run with the last event.
    DEBOUNCE = "debounce"
    # A batch is full or timed out: start the run with its events.
    BATCH = "batch"
    # A start or finish timeout may cancel the run.
    TIMEOUT = "timeout"
    # A cron schedule is due: start the run and queue the next tick.
    CRON = "cron"


@dataclass(frozen=True, slots=True)
class Limit:
    """A concurrency slot key and how many items (or runs) may hold it at once."""

    key: str
    limit: int


@dataclass(frozen=True, slots=True)
class ThrottleSpec:
    """Throttle of run starts: GCRA state lives under `key`."""

    key: str
    limit: int
    period_ms: int
    burst: int


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
    # Flow control checked when the item is leased (calls only).
    concurrency: tuple[Limit, ...] = ()
    run_limit: Limit | None = None
    throttle: ThrottleSpec | None = None
    priority_ms: int = 0
    # What a non-call item acts on (debounce/batch id, timeout kind, cron expression).
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class Lease:
    item: QueueItem
    token: str
    expires_ms: int


def partition_of(item: QueueItem) -> str:
    """The queue partition `item` waits in; leasing is fair between partitions.

    Every function has its own partition (`fn:<id>`), so one function's backlog cannot
    starve another. A call limited by a keyed concurrency limit (or else a keyed
    throttle) waits in that key's partition instead, so one busy key (one user, one
    tenant) cannot starve the function's other keys. The Redis lease script applies the
    same rule (`part_of` in store/redis/lua/lib.lua).
    """
    fn = item.function_id
    if item.kind is ItemKind.CALL:
        for lim in item.concurrency:
            if lim.key != f"f:{fn}":
                return lim.key
        if item.throttle is not None and item.throttle.key != f"throttle:{fn}":
            return item.throttle.key
    return f"fn:{fn}"
