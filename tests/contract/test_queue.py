"""Contract: Queue (due items only, exclusive leases, expiry, extend, next_due_ms)."""

from __future__ import annotations

import pytest

from inngestd import errors
from inngestd.domain import effects as fx
from inngestd.domain.queue import ItemKind, Lease
from inngestd.store.base import Store
from tests.contract.conftest import LEASE_MS, NOW, lease_all, lease_one, start_run


async def test_empty_queue(store: Store) -> None:
    assert await store.queue.next_due_ms() is None
    assert await store.queue.lease(NOW, 10, LEASE_MS) == []


async def test_lease_returns_only_due_items(store: Store) -> None:
    now_run = await start_run(store)
    later_run = await start_run(store, due_ms=NOW + 1_000)
    [lease] = await store.queue.lease(NOW, 10, LEASE_MS)
    assert lease.item.run_id == now_run.id
    assert lease.item.kind is ItemKind.CALL
    assert lease.item.function_id == "app-fn"
    assert lease.item.due_ms == NOW
    assert lease.expires_ms == NOW + LEASE_MS
    assert lease.token
    assert await store.queue.lease(NOW + 999, 10, LEASE_MS) == []
    [later] = await store.queue.lease(NOW + 1_000, 10, LEASE_MS)
    assert later.item.run_id == later_run.id


async def test_lease_respects_the_limit_and_takes_the_earliest_first(
    store: Store,
) -> None:
    runs = [await start_run(store, due_ms=NOW - offset) for offset in (10, 30, 20)]
    first = await store.queue.lease(NOW, 1, LEASE_MS)
    assert [lease.item.run_id for lease in first] == [runs[1].id]
    rest = await store.queue.lease(NOW, 5, LEASE_MS)
    assert {lease.item.run_id for lease in rest} == {runs[0].id, runs[2].id}


async def test_leased_items_are_not_leased_again_before_expiry(store: Store) -> None:
    await start_run(store)
    lease = await lease_one(store)
    assert await lease_all(store, NOW) == []
    assert await lease_all(store, NOW + LEASE_MS - 1) == []
    assert await store.queue.next_due_ms() == lease.expires_ms


async def test_an_expired_lease_is_leasable_again(store: Store) -> None:
    """The worker holding it died: another worker takes the item over."""
    await start_run(store)
    dead = await lease_one(store)
    again = await lease_one(store, NOW + LEASE_MS)
    assert again.item == dead.item
    assert again.token != dead.token
    assert again.expires_ms == NOW + 2 * LEASE_MS
    with pytest.raises(errors.LeaseLost):
        await store.queue.extend(dead, NOW + LEASE_MS + 1, LEASE_MS)
    # The new holder keeps it.
    extended = await store.queue.extend(again, NOW + LEASE_MS + 1, LEASE_MS)
    assert extended.token == again.token


async def test_extend_pushes_the_expiry(store: Store) -> None:
    await start_run(store)
    lease = await lease_one(store)
    extended = await store.queue.extend(lease, NOW + 20_000, LEASE_MS)
    assert extended.item == lease.item
    assert extended.token == lease.token
    assert extended.expires_ms == NOW + 20_000 + LEASE_MS
    assert await lease_all(store, NOW + LEASE_MS) == []
    assert await store.queue.next_due_ms() == NOW + 20_000 + LEASE_MS
    assert (await lease_one(store, NOW + 20_000 + LEASE_MS)).item == lease.item


async def test_extend_with_a_stale_token_raises_lease_lost(store: Store) -> None:
    await start_run(store)
    lease = await lease_one(store)
    with pytest.raises(errors.LeaseLost):
        await store.queue.extend(
            Lease(lease.item, "stale", lease.expires_ms), NOW, LEASE_MS
        )
    # The real lease was not disturbed.
    assert (
        await store.queue.extend(lease, NOW + 1, LEASE_MS)
    ).expires_ms == NOW + 1 + LEASE_MS


async def test_extend_after_the_item_was_acked_raises_lease_lost(store: Store) -> None:
    await start_run(store)
    lease = await lease_one(store)
    await store.runs.apply(lease, [], NOW)
    with pytest.raises(errors.LeaseLost):
        await store.queue.extend(lease, NOW + 1, LEASE_MS)


async def test_next_due_ms_tracks_the_earliest_item(store: Store) -> None:
    await start_run(store, due_ms=NOW + 5_000)
    await start_run(store, due_ms=NOW + 1_000)
    assert await store.queue.next_due_ms() == NOW + 1_000
    # A leased item counts from its lease expiry.
    lease = await lease_one(store, NOW + 1_000)
    assert await store.queue.next_due_ms() == NOW + 5_000
    await store.runs.apply(lease, [fx.Retry(NOW + 2_000)], NOW + 1_000)
    assert await store.queue.next_due_ms() == NOW + 2_000


async def test_leases_carry_attempts_and_step_targets(store: Store) -> None:
    run = await start_run(store, max_attempts=6)
    await store.runs.apply(await lease_one(store), [fx.PlanStep("a")], NOW)
    planned = await lease_one(store)
    assert planned.item.run_id == run.id
    assert planned.item.kind is ItemKind.CALL
    assert planned.item.step_id == "a"
    assert planned.item.attempt == 0
    assert planned.item.max_attempts == 6


async def test_jobs_lists_a_runs_items_and_whether_they_are_leased(
    store: Store,
) -> None:
    run = await start_run(store)
    [job] = await store.queue.jobs(run.id)
    assert job.item.id == f"{run.id}:start"
    assert not job.leased
    await lease_one(store)
    [job] = await store.queue.jobs(run.id)
    assert job.leased
    assert await store.queue.jobs("no-such-run") == []
