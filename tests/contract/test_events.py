"""Contract: EventLog (append order, lookups, the unscheduled backlog, resends), on every
read backend."""

from __future__ import annotations

from tests.contract.conftest import NOW, ReadStore, event


async def test_append_assigns_increasing_seq_in_request_order(
    read_store: ReadStore,
) -> None:
    first = await read_store.events.append([event("a/1"), event("a/2"), event("a/3")])
    second = await read_store.events.append([event("a/4"), event("a/5")])
    seqs = [e.seq for e in first + second]
    assert all(s > 0 for s in seqs)
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    assert [e.name for e in first + second] == ["a/1", "a/2", "a/3", "a/4", "a/5"]


async def test_get_returns_the_stored_event(read_store: ReadStore) -> None:
    ev = event("app/get", {"k": [1, 2]}, user_id="user-key")
    [stored] = await read_store.events.append([ev])
    got = await read_store.events.get(ev.internal_id)
    assert got is not None
    assert got.internal_id == ev.internal_id
    assert got.name == "app/get"
    assert got.payload == ev.payload
    assert got.user_id == "user-key"
    assert got.received_ms == NOW
    assert got.seq == stored.seq
    assert got.id == "user-key"
    assert await read_store.events.get("missing") is None


async def test_recent_is_newest_first_and_filters_by_name_and_seq(
    read_store: ReadStore,
) -> None:
    stored = await read_store.events.append(
        [event("x/a"), event("x/b"), event("x/a"), event("x/b"), event("x/a")]
    )
    everything = await read_store.events.recent()
    assert [e.internal_id for e in everything] == [
        e.internal_id for e in reversed(stored)
    ]
    only_a = await read_store.events.recent(name="x/a")
    assert [e.seq for e in only_a] == [stored[4].seq, stored[2].seq, stored[0].seq]
    older_a = await read_store.events.recent(name="x/a", before_seq=stored[4].seq)
    assert [e.seq for e in older_a] == [stored[2].seq, stored[0].seq]
    page = await read_store.events.recent(limit=2, before_seq=stored[3].seq)
    assert [e.seq for e in page] == [stored[2].seq, stored[1].seq]
    assert await read_store.events.recent(name="x/none") == []


async def test_unscheduled_is_oldest_first_until_scheduled(
    read_store: ReadStore,
) -> None:
    stored = await read_store.events.append([event("u/1"), event("u/2"), event("u/3")])
    backlog = await read_store.events.unscheduled(10)
    assert [e.internal_id for e in backlog] == [e.internal_id for e in stored]
    assert [e.seq for e in await read_store.events.unscheduled(2)] == [
        stored[0].seq,
        stored[1].seq,
    ]
    await read_store.mark_scheduled([stored[0], stored[2]])
    assert [e.internal_id for e in await read_store.events.unscheduled(10)] == [
        stored[1].internal_id
    ]


async def test_resending_the_same_internal_id_keeps_the_first(
    read_store: ReadStore,
) -> None:
    first = event("r/1", {"v": 1}, internal_id="01SEEDEDID")
    [stored] = await read_store.events.append([first])
    again = event("r/1", {"v": 2}, internal_id="01SEEDEDID", received_ms=NOW + 5)
    [restored] = await read_store.events.append([again])
    assert restored.seq == stored.seq
    got = await read_store.events.get("01SEEDEDID")
    assert got is not None
    assert got.data == {"v": 1}
    assert got.received_ms == NOW
    assert len(await read_store.events.recent()) == 1
    assert len(await read_store.events.unscheduled(10)) == 1


async def test_a_resend_of_an_already_scheduled_event_is_not_scheduled_again(
    read_store: ReadStore,
) -> None:
    ev = event("r/2", internal_id="01SEEDEDAGAIN")
    [stored] = await read_store.events.append([ev])
    await read_store.mark_scheduled([stored])
    await read_store.events.append([ev])
    assert await read_store.events.unscheduled(10) == []
