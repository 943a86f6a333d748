"""Redis-only checks of the hot store, and the EventLog contract on the Redis EventLog.

`test_events.py` runs on the read-side backends (`read_store`); in start mode the event log
the scheduler and the scripts use is Redis's, so the same test functions run here on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import replace
from typing import Any

import orjson
import pytest

from inngestd.domain import effects as fx
from inngestd.domain.events import Event
from inngestd.domain.queue import Limit
from inngestd.domain.runs import RunStatus, StepSpan
from inngestd.store.base import SchedulePlan, Store
from inngestd.store.redis import open_hot_store
from inngestd.store.redis.codec import item_from_json
from inngestd.store.redis.keys import Keys
from inngestd.store.redis.scripts import SCRIPTS, source
from tests.contract import test_events
from tests.contract.conftest import (
    LEASE_MS,
    NOW,
    ReadStore,
    event,
    lease_all,
    lease_one,
    new_run,
    start_run,
)
from tests.contract.redis_backend import REDIS_URL, close_redis_store, open_redis_store

Case = Callable[[ReadStore], Coroutine[Any, Any, None]]
EVENT_CASES: list[Case] = [
    getattr(test_events, name) for name in dir(test_events) if name.startswith("test_")
]


@pytest.fixture
async def rstore(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Store]:
    opened = await open_redis_store(request, tmp_path)
    try:
        yield opened
    finally:
        opened.close()
        await close_redis_store(opened)


@pytest.mark.parametrize("case", EVENT_CASES, ids=lambda c: c.__name__)
async def test_event_log_contract(case: Case, rstore: Store) -> None:
    async def mark(events: Sequence[Event]) -> None:
        await rstore.runs.schedule([SchedulePlan(ev) for ev in events], NOW)

    await case(ReadStore("redis", rstore.catalog, rstore.events, rstore.history, mark))


async def test_every_key_is_under_the_hash_tag(rstore: Store) -> None:
    run = await start_run(rstore)
    await rstore.runs.apply(await lease_one(rstore), [fx.SaveStep("a", b"1")], NOW)
    client = rstore.runs._r  # type: ignore[attr-defined]
    root = rstore.runs._k.root  # type: ignore[attr-defined]
    found = [k async for k in client.scan_iter(match=Keys(root[1:-1]).pattern())]
    assert found
    assert all(k.decode().startswith(root + ":") for k in found)
    assert await rstore.runs.get_run(run.id) is not None


async def test_large_numbers_come_back_as_exact_ints(rstore: Store) -> None:
    """cjson prints 14 significant digits: ms timestamps must survive as ints."""
    far = 4_102_444_799_999  # the last ms Inngest accepts (2099)
    [ev] = await rstore.events.append([event(received_ms=far)])
    assert isinstance(ev.seq, int)
    got = await rstore.events.get(ev.internal_id)
    assert got is not None
    assert got.received_ms == far
    assert isinstance(got.received_ms, int)
    nr = new_run(ev, due_ms=far, max_attempts=7)
    nr = replace(nr, run=replace(nr.run, created_ms=far))
    await rstore.runs.schedule([SchedulePlan(ev, new_runs=[nr])], far)
    [lease] = await rstore.queue.lease(far, 10, LEASE_MS)
    assert lease.item.due_ms == far
    assert all(
        isinstance(v, int)
        for v in (lease.item.due_ms, lease.item.attempt, lease.item.max_attempts)
    )
    assert await rstore.queue.next_due_ms() == far + LEASE_MS
    span = StepSpan(nr.run.id, "s", "s", "StepRun", 0, far - 1, far, "COMPLETED", b"1")
    await rstore.runs.apply(
        lease, [fx.RecordSpan(span), fx.SleepUntil("z", far + 9)], far
    )
    assert await rstore.runs.spans(nr.run.id) == [span]
    run = await rstore.runs.get_run(nr.run.id)
    assert run is not None
    assert (run.created_ms, run.started_ms) == (far, far)
    assert isinstance(run.started_ms, int)
    # A float that is not integral never passes as an int.
    with pytest.raises(ValueError, match="expected an integer"):
        item_from_json(b'{"id":"x","function_id":"f","kind":"call","due_ms":1.5}')


async def test_binary_memos_and_outputs_are_kept_byte_for_byte(rstore: Store) -> None:
    run = await start_run(rstore)
    memo = '{"data":"\u00e9\u2603 \\u0000"}'.encode()
    await rstore.runs.apply(await lease_one(rstore), [fx.SaveStep("a", memo)], NOW)
    await rstore.runs.apply(
        await lease_one(rstore), [fx.Finish(RunStatus.FAILED, b"\xff\x00raw")], NOW
    )
    ctx = await rstore.runs.load(run.id)
    assert ctx is not None
    assert ctx.steps == {"a": memo}
    assert ctx.run.output == b"\xff\x00raw"


async def test_the_scavenger_keeps_concurrency_counts_exact(rstore: Store) -> None:
    """A dead worker's item comes back after its lease expired without leaking its slot."""
    for _ in range(2):
        [ev] = await rstore.events.append([event()])
        nr = new_run(ev)
        nr = replace(
            nr, first_item=replace(nr.first_item, concurrency=(Limit("k", 1),))
        )
        await rstore.runs.schedule([SchedulePlan(ev, new_runs=[nr])], NOW)
    [dead] = await lease_all(rstore)
    assert await lease_all(rstore, NOW + 1) == []
    [taken] = await lease_all(rstore, NOW + LEASE_MS)
    assert taken.item.id == dead.item.id
    client = rstore.runs._r  # type: ignore[attr-defined]
    inuse = rstore.runs._k.key("inuse", "k")  # type: ignore[attr-defined]
    assert int(await client.get(inuse)) == 1
    await rstore.runs.apply(taken, [], NOW + LEASE_MS)
    assert await client.get(inuse) is None
    [other] = await lease_all(rstore, NOW + LEASE_MS)
    assert other.item.run_id != dead.item.run_id
    await rstore.runs.apply(
        other, [fx.Finish(RunStatus.COMPLETED, b"1")], NOW + LEASE_MS
    )
    assert await client.get(inuse) is None


async def test_outbox_records_and_redelivery(tmp_path: Any) -> None:
    import uuid

    from redis.exceptions import ConnectionError

    from tests.contract.redis_backend import delete_prefix, unreachable

    prefix = f"test-{uuid.uuid4().hex[:12]}"
    try:
        hot = await open_hot_store(REDIS_URL, prefix=prefix, consumer="c1")
    except (OSError, ConnectionError) as exc:
        unreachable(exc)
        raise
    try:
        [ev] = await hot.events.append([event("app/x", {"big": 12345678901234567890})])
        nr = new_run(ev)
        await hot.runs.schedule([SchedulePlan(ev, new_runs=[nr])], NOW)
        [lease] = await hot.queue.lease(NOW, 10, LEASE_MS)
        span = StepSpan(nr.run.id, "a", "a", "StepRun", 0, NOW, NOW, "COMPLETED", b"1")
        await hot.runs.apply(
            lease,
            [fx.SaveStep("a", b'{"data":1}'), fx.RecordSpan(span)],
            NOW,
        )
        first = await hot.outbox.drain(3)
        assert [r["t"] for r in first] == ["event", "run", "status"]
        assert orjson.loads(first[0]["payload"])["data"] == {
            "big": 12345678901234567890
        }
        assert first[0]["seq"] == ev.seq
        assert isinstance(first[0]["seq"], int)
        assert first[1]["created_ms"] == NOW
        assert isinstance(first[1]["created_ms"], int)
        assert first[2] == {
            "t": "status",
            "id": nr.run.id,
            "status": "RUNNING",
            "started_ms": NOW,
        }
        # Not acked: the same records come back (a relay that crashed).
        assert await hot.outbox.drain(10) == first
        await hot.outbox.ack(len(first))
        rest = await hot.outbox.drain_outbox(10)
        assert [r["t"] for r in rest] == ["step", "span"]
        assert rest[1]["span"]["output"] == "1"
        await hot.outbox.ack(len(rest))
        assert await hot.outbox.drain(10) == []
    finally:
        await hot.aclose()
        await delete_prefix(REDIS_URL, prefix)


async def test_scripts_reload_after_a_script_flush(rstore: Store) -> None:
    client = rstore.runs._r  # type: ignore[attr-defined]
    await client.script_flush()
    run = await start_run(rstore)
    assert (await lease_one(rstore)).item.run_id == run.id
    for name in SCRIPTS:
        assert "local P = KEYS[1]" in source(name)
