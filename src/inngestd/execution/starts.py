"""Queue items that start or stop runs on a timer: debounce and batch fires, cron ticks,
start and finish timeouts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from inngestd import ids, run_start
from inngestd.cron import tick_item
from inngestd.domain.events import SCHEDULED_TIMER, Event, make_event
from inngestd.domain.finish import cancellation_events
from inngestd.domain.functions import Trigger
from inngestd.domain.queue import ItemKind, Lease
from inngestd.domain.runs import RunStatus
from inngestd.flow.cron import scheduled_id
from inngestd.functions import FunctionIndex
from inngestd.store.base import Cancel, Fire, Store

log = logging.getLogger("inngestd.executor")


def _iso(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, UTC)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z")
    )


async def execute(
    lease: Lease, store: Store, functions: FunctionIndex, now: int
) -> None:
    item = lease.item
    if item.kind is ItemKind.TIMEOUT:
        await _timeout(lease, store, now)
    elif item.kind in (ItemKind.DEBOUNCE, ItemKind.BATCH):
        await _fire_pending(lease, store, functions, now)
    elif item.kind is ItemKind.CRON:
        await _cron(lease, store, functions, now)
    else:
        log.warning("dropping queue item %s of unknown kind %s", item.id, item.kind)
        await store.runs.fire(lease, Fire(None), now)


async def _timeout(lease: Lease, store: Store, now: int) -> None:
    item = lease.item
    ctx = await store.runs.load(item.run_id)
    run = ctx.run if ctx else None
    due = run is not None and (
        (item.ref == "start" and run.status is RunStatus.QUEUED)
        or (item.ref == "finish" and not run.status.is_ended)
    )
    if ctx is None or not due:
        await store.runs.fire(lease, Fire(None), now)
        return
    reason = f"function {'start' if item.ref == 'start' else 'finish'} timeout exceeded"
    events = cancellation_events(ctx, reason, now, name="InngestTimeoutError")
    # Cancelling drops every queue item of the run, this one included.
    await store.runs.cancel(Cancel(item.run_id, events, reason), now)


async def _fire_pending(
    lease: Lease, store: Store, functions: FunctionIndex, now: int
) -> None:
    item = lease.item
    kind = item.kind.value
    pending = await store.runs.pending_start(kind, item.ref or "")
    fn = functions.get(item.function_id)
    if pending is None or fn is None:
        await store.runs.fire(lease, Fire(None, pending, kind), now)
        return
    events: list[Event] = []
    for event_id in pending.event_ids:
        event = await store.events.get(event_id)
        if event is not None:
            events.append(event)
    new = None
    if events:
        # Debounce fires bypass the rate limit, as in Go; a batch's id is its idempotency key.
        new = run_start.new_run(
            fn, events, now, key=pending.id, rate_limited=item.kind is ItemKind.BATCH
        )
    await store.runs.fire(lease, Fire(new, pending, kind), now)


async def _cron(lease: Lease, store: Store, functions: FunctionIndex, now: int) -> None:
    item = lease.item
    scheduled_text, _, expr = (item.ref or "").partition("|")
    fn = functions.get(item.function_id)
    if (
        fn is None
        or not scheduled_text.isdigit()
        or expr not in {t.cron for t in fn.crons}
    ):
        await store.runs.fire(lease, Fire(None), now)  # the schedule was removed
        return
    scheduled = int(scheduled_text)
    sid = scheduled_id(scheduled)
    data = {"cron": expr, "scheduledAt": _iso(scheduled), "fireAt": _iso(now)}
    event = make_event(ids.new_ulid(now), SCHEDULED_TIMER, data, now, user_id=sid)
    trigger = next(t for t in fn.crons if t.cron == expr)
    following = tick_item(fn, Trigger(cron=expr, jitter=trigger.jitter), scheduled)
    new = run_start.new_run(fn, [event], now, key=sid)
    await store.runs.fire(lease, Fire(new, events=[event], next_items=[following]), now)
