"""Cron triggers: keep one pending tick per (function, schedule) in the queue."""

from __future__ import annotations

import logging

from inngestd.clock import Clock
from inngestd.domain.functions import Function, Trigger
from inngestd.domain.queue import ItemKind, QueueItem
from inngestd.flow.cron import jitter_ms, next_fire_ms, parse_jitter_ms
from inngestd.flow.keys import xxh64_hex
from inngestd.functions import FunctionIndex
from inngestd.store.base import RunState

log = logging.getLogger("inngestd.cron")


def tick_item(fn: Function, trigger: Trigger, after_ms: int) -> QueueItem:
    """The queue item for the first occurrence of `trigger` after `after_ms`."""
    expr = trigger.cron or ""
    scheduled = next_fire_ms(expr, after_ms)
    max_jitter = parse_jitter_ms(trigger.jitter)
    delay = jitter_ms(fn.id, scheduled, max_jitter) if max_jitter else 0
    return QueueItem(
        id=f"cron:{fn.id}:{xxh64_hex(expr)}:{scheduled}",
        run_id="",
        function_id=fn.id,
        kind=ItemKind.CRON,
        due_ms=scheduled + delay,
        ref=f"{scheduled}|{expr}",
    )


async def sync(runs: RunState, functions: FunctionIndex, clock: Clock) -> None:
    """Bring the pending cron ticks in line with the synced functions."""
    now = clock.now_ms()
    items = []
    for fn in functions.all():
        for trigger in fn.crons:
            try:
                items.append(tick_item(fn, trigger, now))
            except ValueError as exc:
                log.warning("function %s: cron %r: %s", fn.id, trigger.cron, exc)
    await runs.sync_crons(items)
