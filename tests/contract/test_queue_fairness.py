"""Contract: leasing is fair between queue partitions (one per function, one per keyed
concurrency or throttle key), so one deep backlog cannot starve other work."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from inngestd.domain.queue import PARTITIONS_PER_LEASE, Limit, ThrottleSpec
from inngestd.store.base import SchedulePlan, Store
from tests.contract.conftest import LEASE_MS, NOW, event, new_run


async def _backlog(
    store: Store, n: int, *, function_id: str, due_ms: int = NOW, **fields: object
) -> list[str]:
    """Schedule `n` runs of `function_id` whose start items are due at `due_ms`."""
    plans, ids = [], []
    for _ in range(n):
        [ev] = await store.events.append([event()])
        nr = new_run(ev, function_id=function_id, due_ms=due_ms)
        nr = replace(nr, first_item=replace(nr.first_item, **fields))
        plans.append(SchedulePlan(ev, new_runs=[nr]))
        ids.append(nr.run.id)
    await store.runs.schedule(plans, NOW)
    return ids


async def test_a_deep_backlog_does_not_starve_another_function(store: Store) -> None:
    """Function A queued 300 starts before function B's one: B's start is among the first
    leased, although every one of A's items is older."""
    await _backlog(store, 300, function_id="app-a", due_ms=NOW - 10_000)
    [b_run] = await _backlog(store, 1, function_id="app-b", due_ms=NOW)
    leased = await store.queue.lease(NOW, 10, LEASE_MS)
    assert len(leased) == 10
    assert b_run in {lease.item.run_id for lease in leased}
    by_fn = Counter(lease.item.function_id for lease in leased)
    assert by_fn == {"app-a": 9, "app-b": 1}


async def test_partitions_share_one_lease_call_equally(store: Store) -> None:
    await _backlog(store, 50, function_id="app-a", due_ms=NOW - 5_000)
    await _backlog(store, 50, function_id="app-b", due_ms=NOW)
    leased = await store.queue.lease(NOW, 10, LEASE_MS)
    assert Counter(lease.item.function_id for lease in leased) == {
        "app-a": 5,
        "app-b": 5,
    }


async def test_within_a_partition_the_oldest_item_goes_first(store: Store) -> None:
    older = await _backlog(store, 3, function_id="app-a", due_ms=NOW - 3_000)
    newer = await _backlog(store, 3, function_id="app-a", due_ms=NOW - 1_000)
    await _backlog(store, 3, function_id="app-b", due_ms=NOW)
    leased = await store.queue.lease(NOW, 4, LEASE_MS)
    a_runs = {
        lease.item.run_id for lease in leased if lease.item.function_id == "app-a"
    }
    assert a_runs <= set(older)
    assert len(a_runs) == 2
    assert not a_runs & set(newer)


async def test_a_share_one_partition_cannot_use_goes_to_the_others(
    store: Store,
) -> None:
    await _backlog(store, 20, function_id="app-a", due_ms=NOW - 1_000)
    await _backlog(store, 2, function_id="app-b", due_ms=NOW)
    leased = await store.queue.lease(NOW, 10, LEASE_MS)
    assert Counter(lease.item.function_id for lease in leased) == {
        "app-a": 8,
        "app-b": 2,
    }


async def test_one_busy_concurrency_key_does_not_starve_other_keys(
    store: Store,
) -> None:
    """Per-key partitions: a flood for customer `a` of one function does not hold back
    customer `b` of the same function."""
    await _backlog(
        store,
        200,
        function_id="app-fn",
        due_ms=NOW - 10_000,
        concurrency=(Limit("f:app-fn:aaaa", 100),),
    )
    [b_run] = await _backlog(
        store, 1, function_id="app-fn", concurrency=(Limit("f:app-fn:bbbb", 100),)
    )
    leased = await store.queue.lease(NOW, 5, LEASE_MS)
    assert len(leased) == 5
    assert b_run in {lease.item.run_id for lease in leased}


async def test_keyed_throttles_get_partitions_of_their_own(store: Store) -> None:
    """A keyed throttle at its limit parks only its own key's items; another key's start
    goes in the same lease call."""
    await _backlog(
        store,
        50,
        function_id="app-fn",
        due_ms=NOW - 10_000,
        throttle=ThrottleSpec("throttle:app-fn-aaaa", 1, 60_000, 0),
    )
    [b_run] = await _backlog(
        store,
        1,
        function_id="app-fn",
        throttle=ThrottleSpec("throttle:app-fn-bbbb", 1, 60_000, 0),
    )
    leased = await store.queue.lease(NOW, 10, LEASE_MS)
    assert sorted(
        lease.item.throttle.key for lease in leased if lease.item.throttle
    ) == [
        "throttle:app-fn-aaaa",
        "throttle:app-fn-bbbb",
    ]
    assert b_run in {lease.item.run_id for lease in leased}


async def test_every_partition_is_served_when_there_are_more_than_one_call_visits(
    store: Store,
) -> None:
    """One call visits the partitions due longest; the ones it leased from move back, so
    the following calls reach the rest."""
    total = PARTITIONS_PER_LEASE + 6
    for i in range(total):
        await _backlog(store, 2, function_id=f"app-f{i:03d}", due_ms=NOW - 1_000 + i)
    first = await store.queue.lease(NOW, 1_000, LEASE_MS)
    assert len({lease.item.function_id for lease in first}) == PARTITIONS_PER_LEASE
    seen = {lease.item.function_id for lease in first}
    rest = await store.queue.lease(NOW, 1_000, LEASE_MS)
    seen |= {lease.item.function_id for lease in rest}
    assert len(seen) == total
    assert len(first) + len(rest) == 2 * total


async def test_next_due_follows_the_earliest_partition(store: Store) -> None:
    await _backlog(store, 2, function_id="app-a", due_ms=NOW + 5_000)
    await _backlog(store, 1, function_id="app-b", due_ms=NOW + 2_000)
    assert await store.queue.next_due_ms() == NOW + 2_000
    [lease] = await store.queue.lease(NOW + 2_000, 10, LEASE_MS)
    assert await store.queue.next_due_ms() == NOW + 5_000
    assert lease.item.function_id == "app-b"
