"""Flow control enforced by the store: limits at lease time, gates at run creation,
debounce/batch state, cron ticks."""

from __future__ import annotations

from dataclasses import replace

from inngestd.domain import effects as fx
from inngestd.domain.queue import ItemKind, Limit, QueueItem, ThrottleSpec
from inngestd.domain.runs import RunFlow, RunStatus
from inngestd.store.base import (
    BatchEvent,
    DebounceEvent,
    Fire,
    RateGate,
    SchedulePlan,
    SingletonGate,
    Store,
)
from tests.contract.conftest import LEASE_MS, NOW, event, lease_all, new_run


async def _runs_with(store: Store, n: int, **item_fields: object) -> list[str]:
    """Schedule `n` runs whose start items carry `item_fields` (limits, throttle)."""
    ids = []
    for _ in range(n):
        [ev] = await store.events.append([event()])
        nr = new_run(ev)
        nr = replace(nr, first_item=replace(nr.first_item, **item_fields))
        await store.runs.schedule([SchedulePlan(ev, new_runs=[nr])], NOW)
        ids.append(nr.run.id)
    return ids


async def test_lease_holds_back_items_over_a_concurrency_limit(store: Store) -> None:
    await _runs_with(store, 3, concurrency=(Limit("f:fn", 2),))
    first = await lease_all(store)
    assert len(first) == 2
    assert await lease_all(store) == []
    # Acking one frees its slot: the parked item is woken at once, in order.
    await store.runs.apply(first[0], [], NOW)
    third = await lease_all(store)
    assert len(third) == 1
    assert third[0].item.run_id not in {lease.item.run_id for lease in first}


async def test_keys_are_limited_independently(store: Store) -> None:
    await _runs_with(store, 2, concurrency=(Limit("f:fn:a", 1),))
    await _runs_with(store, 2, concurrency=(Limit("f:fn:b", 1),))
    leased = await lease_all(store)
    assert sorted(lease.item.concurrency[0].key for lease in leased) == [
        "f:fn:a",
        "f:fn:b",
    ]


async def test_a_retry_releases_the_slot(store: Store) -> None:
    await _runs_with(store, 2, concurrency=(Limit("f:fn", 1),))
    [first] = await lease_all(store)
    await store.runs.apply(first, [fx.Retry(NOW + 60_000)], NOW)
    [second] = await lease_all(store)
    assert second.item.run_id != first.item.run_id


async def test_run_level_limit_holds_a_slot_until_the_run_ends(store: Store) -> None:
    run_ids = await _runs_with(store, 2, run_limit=Limit("run:f:fn", 1))
    [first] = await lease_all(store)
    # The run keeps its slot after its first call: the other run may not start.
    await store.runs.apply(first, [fx.SaveStep("s1", b'{"data":1}')], NOW)
    [again] = await lease_all(store)
    assert again.item.run_id == first.item.run_id
    await store.runs.apply(again, [fx.Finish(RunStatus.COMPLETED, b"1")], NOW)
    [other] = await lease_all(store)
    assert other.item.run_id == ({*run_ids} - {first.item.run_id}).pop()


async def test_throttle_spaces_run_starts(store: Store) -> None:
    spec = ThrottleSpec("throttle:fn", limit=1, period_ms=10_000, burst=0)
    await _runs_with(store, 2, throttle=spec)
    assert len(await store.queue.lease(NOW, 10, LEASE_MS)) == 1
    assert await store.queue.lease(NOW + 5_000, 10, LEASE_MS) == []
    assert len(await store.queue.lease(NOW + 10_000, 10, LEASE_MS)) == 1


async def test_priority_orders_due_calls(store: Store) -> None:
    [low] = await _runs_with(store, 1)
    [high] = await _runs_with(store, 1, priority_ms=60_000)
    leased = await store.queue.lease(NOW, 1, LEASE_MS)
    assert leased[0].item.run_id == high
    assert low != high


async def test_rate_limited_runs_are_recorded_as_skipped(store: Store) -> None:
    created = []
    for _ in range(3):
        [ev] = await store.events.append([event()])
        nr = replace(new_run(ev), rate=RateGate("ratelimit:fn", 1, 60_000))
        created += await store.runs.schedule([SchedulePlan(ev, new_runs=[nr])], NOW)
    assert [r.status for r in created] == [
        RunStatus.QUEUED,
        RunStatus.SKIPPED,
        RunStatus.SKIPPED,
    ]
    assert created[1].reason == "RateLimited"
    skipped = await store.runs.get_run(created[1].id)
    assert skipped is not None
    assert skipped.status is RunStatus.SKIPPED
    assert len(await lease_all(store)) == 1


async def test_singleton_skip_and_cancel(store: Store) -> None:
    async def start(mode: str) -> list[RunStatus]:
        [ev] = await store.events.append([event()])
        nr = replace(new_run(ev), singleton=SingletonGate(f"singleton:{mode}", mode))
        return [
            r.status
            for r in await store.runs.schedule([SchedulePlan(ev, new_runs=[nr])], NOW)
        ]

    assert await start("skip") == [RunStatus.QUEUED]
    assert await start("skip") == [RunStatus.SKIPPED]
    assert await start("cancel") == [RunStatus.QUEUED]
    assert await start("cancel") == [RunStatus.QUEUED]
    cancelled = await store.events.recent(name="inngest/function.cancelled")
    assert len(cancelled) == 1


async def test_debounce_keeps_the_last_event_and_fires_once(store: Store) -> None:
    evs = await store.events.append([event(data={"n": i}) for i in range(3)])
    for i, ev in enumerate(evs):
        plan = SchedulePlan(
            ev,
            debounces=[
                DebounceEvent("debounce:fn", "app-fn", ev, 5_000, None, f"d{i}")
            ],
        )
        await store.runs.schedule([plan], NOW + i * 1_000)
    assert await store.queue.lease(NOW + 6_000, 10, LEASE_MS) == []
    [lease] = await store.queue.lease(NOW + 7_000, 10, LEASE_MS)
    assert lease.item.kind is ItemKind.DEBOUNCE
    pending = await store.runs.pending_start("debounce", "debounce:fn")
    assert pending is not None
    assert pending.id == "d0"
    assert pending.event_ids == [evs[-1].internal_id]
    run = new_run(evs[-1])
    assert await store.runs.fire(lease, Fire(run, pending, "debounce"), NOW + 7_000)
    assert await store.runs.pending_start("debounce", "debounce:fn") is None
    assert (await store.runs.get_run(run.run.id)) is not None


async def test_a_changed_debounce_is_not_fired(store: Store) -> None:
    [a, b] = await store.events.append([event(), event()])
    await store.runs.schedule(
        [
            SchedulePlan(
                a, debounces=[DebounceEvent("k", "app-fn", a, 1_000, None, "d1")]
            )
        ],
        NOW,
    )
    [lease] = await store.queue.lease(NOW + 1_000, 10, LEASE_MS)
    seen = await store.runs.pending_start("debounce", "k")
    assert seen is not None
    await store.runs.schedule(
        [
            SchedulePlan(
                b, debounces=[DebounceEvent("k", "app-fn", b, 1_000, None, "d2")]
            )
        ],
        NOW + 1_000,
    )
    assert not await store.runs.fire(
        lease, Fire(new_run(a), seen, "debounce"), NOW + 1_000
    )
    latest = await store.runs.pending_start("debounce", "k")
    assert latest is not None
    assert latest.event_ids == [b.internal_id]


async def test_a_full_batch_is_due_at_once(store: Store) -> None:
    evs = await store.events.append([event() for _ in range(3)])
    for i, ev in enumerate(evs):
        plan = SchedulePlan(
            ev, batches=[BatchEvent("batch:fn", "app-fn", ev, 3, 60_000, f"b{i}")]
        )
        await store.runs.schedule([plan], NOW)
    [lease] = await store.queue.lease(NOW, 10, LEASE_MS)
    assert lease.item.kind is ItemKind.BATCH
    pending = await store.runs.pending_start("batch", "batch:fn")
    assert pending is not None
    assert pending.event_ids == [e.internal_id for e in evs]
    assert await store.runs.fire(lease, Fire(new_run(evs[0]), pending, "batch"), NOW)
    assert await store.runs.pending_start("batch", "batch:fn") is None


async def test_a_partial_batch_waits_for_its_timeout(store: Store) -> None:
    [ev] = await store.events.append([event()])
    await store.runs.schedule(
        [SchedulePlan(ev, batches=[BatchEvent("b", "app-fn", ev, 5, 10_000, "b1")])],
        NOW,
    )
    assert await store.queue.lease(NOW + 9_999, 10, LEASE_MS) == []
    assert len(await store.queue.lease(NOW + 10_000, 10, LEASE_MS)) == 1


def _cron(fn: str, expr: str, scheduled: int) -> QueueItem:
    return QueueItem(
        id=f"cron:{fn}:{expr}:{scheduled}",
        run_id="",
        function_id=fn,
        kind=ItemKind.CRON,
        due_ms=scheduled,
        ref=f"{scheduled}|{expr}",
    )


async def test_sync_crons_keeps_pending_ticks_and_drops_removed_ones(
    store: Store,
) -> None:
    await store.runs.sync_crons(
        [_cron("f1", "* * * * *", NOW), _cron("f2", "0 * * * *", NOW)]
    )
    # A later sync computes a later tick for the same schedule: the pending one is kept.
    await store.runs.sync_crons([_cron("f1", "* * * * *", NOW + 60_000)])
    leased = await store.queue.lease(NOW, 10, LEASE_MS)
    assert [lease.item.id for lease in leased] == [f"cron:f1:* * * * *:{NOW}"]


async def test_finish_timeout_item_is_queued_when_the_run_starts(store: Store) -> None:
    [ev] = await store.events.append([event()])
    nr = new_run(ev)
    nr = replace(nr, run=replace(nr.run, flow=RunFlow(finish_timeout_ms=5_000)))
    await store.runs.schedule([SchedulePlan(ev, new_runs=[nr])], NOW)
    [lease] = await lease_all(store)
    await store.runs.apply(lease, [fx.SaveStep("s", b'{"data":1}')], NOW)
    due = [lease.item for lease in await store.queue.lease(NOW + 5_000, 10, LEASE_MS)]
    assert any(item.kind is ItemKind.TIMEOUT and item.ref == "finish" for item in due)


async def test_an_expired_lease_does_not_hold_its_concurrency_slot(
    store: Store,
) -> None:
    await _runs_with(store, 1, concurrency=(Limit("f:fn", 1),))
    [first] = await lease_all(store)
    # The worker died: after the lease expires the item is taken again, not parked.
    later = first.expires_ms + 1
    [again] = await store.queue.lease(later, 10, LEASE_MS)
    assert again.item.id == first.item.id
    assert again.token != first.token
