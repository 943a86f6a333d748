"""Contract: checkpointed steps (SaveStep(discover=False) through apply_run), as the TS
SDK's checkpoint API stores them while the call that ran them is still in flight."""

from __future__ import annotations

import orjson

from inngestd.domain import effects as fx
from inngestd.store.base import Store
from tests.contract.conftest import NOW, lease_all, lease_one, start_run

MEMO_A = orjson.dumps({"data": "a"})
MEMO_B = orjson.dumps({"data": "b"})


async def test_checkpointed_steps_are_write_once_and_schedule_nothing(
    store: Store,
) -> None:
    run = await start_run(store)
    call = await lease_one(store)  # the in-flight call that checkpoints

    result = await store.runs.apply_run(
        run.id,
        [fx.SaveStep("a", MEMO_A, discover=False), fx.SaveStep("b", MEMO_B, False)],
        NOW,
    )
    assert result.applied
    # A replayed checkpoint keeps the first memo.
    await store.runs.apply_run(
        run.id, [fx.SaveStep("a", orjson.dumps({"data": "x"}), discover=False)], NOW
    )
    ctx = await store.runs.load(run.id)
    assert ctx is not None
    assert ctx.steps == {"a": MEMO_A, "b": MEMO_B}
    assert ctx.stack == ["a", "b"]
    # Nothing was enqueued: the running call goes on by itself.
    assert await lease_all(store, NOW + 1) == []

    # If the call fails, its retry replays the checkpointed memos.
    await store.runs.apply(call, [fx.Retry(NOW + 1_000)], NOW)
    retry = await lease_one(store, NOW + 1_000)
    assert retry.item.id == call.item.id
    assert retry.item.attempt == call.item.attempt + 1


async def test_a_step_reported_again_in_the_reply_schedules_the_next_call(
    store: Store,
) -> None:
    """The SDK may also put a checkpointed step in its 206 reply (after a failed
    checkpoint): the memo stays, and the handler's explicit Discover enqueues the next
    call (the write-once save alone schedules nothing for a known step)."""
    run = await start_run(store)
    call = await lease_one(store)
    await store.runs.apply_run(run.id, [fx.SaveStep("a", MEMO_A, False)], NOW)
    await store.runs.apply(call, [fx.SaveStep("a", MEMO_A), fx.Discover("a")], NOW)
    ctx = await store.runs.load(run.id)
    assert ctx is not None
    assert ctx.stack == ["a"]
    nxt = await lease_one(store)
    assert nxt.item.step_id is None
