"""Contract: EventLog (append order, lookups, the unscheduled backlog, resends)."""

from __future__ import annotations

from inngestd.store.base import SchedulePlan, Store
from tests.contract.conftest import NOW, event


async def test_append_assigns_increasing_seq_in_request_order(store: Store) -> None:
    first = await store.events.append([event("a/1"), event("a/2"), event("a/3")])
    second = await store.events.append([event("a/4"), event("a/5")])
    seqs = [e.seq for e in first + second]
    assert all(s > 0 for s in seqs)
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    assert [e.name for e in first + second] == ["a/1", "a/2", "a/3", "a/4", "a/5"]


async def test_get_returns_the_stored_event(store: Store) -> None:
    ev = event("app/get", {"k": [1, 2]}, user_id="user-key")
    [stored] = await store.events.append([ev])
    got = await store.events.get(ev.internal_id)
    assert got is not None
    assert got.internal_id == ev.internal_id
    assert got.name == "app/get"
    assert got.payload == ev.payload
    assert got.user_id == "user-key"
    assert got.received_ms == NOW
    assert got.seq == stored.seq
    assert got.id == "user-key"
    assert await store.events.get("missing") is None


async def test_recent_is_newest_first_and_filters_by_name_and_seq(store: Store) -> None:
    stored = await store.events.append(
        [event("x/a"), event("x/b"), event("x/a"), event("x/b"), event("x/a")]
    )
    everything = await store.events.recent()
    assert [e.internal_id for e in everything] == [
        e.internal_id for e in reversed(stored)
    ]
    only_a = await store.events.recent(name="x/a")
    assert [e.seq for e in only_a] == [stored[4].seq, stored[2].seq, stored[0].seq]
    older_a = await store.events.recent(name="x/a", before_seq=stored[4].seq)
    assert [e.seq for e in older_a] == [stored[2].seq, stored[0].seq]
    page = await store.events.recent(limit=2, before_seq=stored[3].seq)
    assert [e.seq for e in page] == [stored[2].seq, stored[1].seq]
    assert await store.events.recent(name="x/none") == []


async def test_unscheduled_is_oldest_first_until_scheduled(store: Store) -> None:
    stored = await store.events.append([event("u/1"), event("u/2"), event("u/3")])
    backlog = await store.events.unscheduled(10)
    assert [e.internal_id for e in backlog] == [e.internal_id for e in stored]
    assert [e.seq for e in await store.events.unscheduled(2)] == [
        stored[0].seq,
        stored[1].seq,
    ]
    await store.runs.schedule([SchedulePlan(stored[0]), SchedulePlan(stored[2])], NOW)
    assert [e.internal_id for e in await store.events.unscheduled(10)] == [
        stored[1].internal_id
    ]


async def test_resending_the_same_internal_id_keeps_the_first(store: Store) -> None:
    first = event("r/1", {"v": 1}, internal_id="01SEEDEDID")
    [stored] = await store.events.append([first])
    again = event("r/1", {"v": 2}, internal_id="01SEEDEDID", received_ms=NOW + 5)
    [restored] = await store.events.append([again])
    assert restored.seq == stored.seq
    got = await store.events.get("01SEEDEDID")
    assert got is not None
    assert got.data == {"v": 1}
    assert got.received_ms == NOW
    assert len(await store.events.recent()) == 1
    assert len(await store.events.unscheduled(10)) == 1


async def test_a_resend_of_an_already_scheduled_event_is_not_scheduled_again(
    store: Store,
) -> None:
    ev = event("r/2", internal_id="01SEEDEDAGAIN")
    [stored] = await store.events.append([ev])
    await store.runs.schedule([SchedulePlan(stored)], NOW)
    await store.events.append([ev])
    assert await store.events.unscheduled(10) == []
