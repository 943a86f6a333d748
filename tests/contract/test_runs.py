"""Contract: RunState (schedule, resume, cancel, and apply() of every effect)."""

from __future__ import annotations

import dataclasses

import orjson

from inngestd.domain import effects as fx
from inngestd.domain.events import FUNCTION_CANCELLED, FUNCTION_FINISHED
from inngestd.domain.queue import ItemKind, Lease
from inngestd.domain.runs import PauseKind, RunStatus, StepSpan
from inngestd.store.base import Cancel, Resume, SchedulePlan, Store
from tests.contract.conftest import (
    LEASE_MS,
    NOW,
    event,
    lease_all,
    lease_one,
    new_run,
    pause,
    start_run,
)

MEMO_A = orjson.dumps({"data": "a"})
MEMO_B = orjson.dumps({"data": "b"})


def discoveries(leases: list[Lease]) -> list[Lease]:
    return [
        lease
        for lease in leases
        if lease.item.kind is ItemKind.CALL and lease.item.step_id is None
    ]


# -- schedule ---------------------------------------------------------------------------------
async def test_schedule_creates_a_run_and_its_first_item(store: Store) -> None:
    [ev] = await store.events.append([event("app/go", {"x": 1})])
    plan = new_run(ev, max_attempts=5)
    created = await store.runs.schedule([SchedulePlan(ev, new_runs=[plan])], NOW)
    assert created == [plan.run]

    run = await store.runs.get_run(plan.run.id)
    assert run is not None
    assert run.status is RunStatus.QUEUED
    assert (run.function_id, run.event_id, run.max_attempts) == (
        "app-fn",
        ev.internal_id,
        5,
    )
    assert await store.runs.runs_for_event(ev.internal_id) == [run]

    ctx = await store.runs.load(plan.run.id)
    assert ctx is not None
    assert ctx.events == [ev.payload]
    assert ctx.steps == {}
    assert ctx.stack == []
    assert ctx.pending == frozenset()

    lease = await lease_one(store)
    assert lease.item == plan.first_item
    assert await store.runs.load("missing") is None
    assert await store.runs.get_run("missing") is None


async def test_a_new_run_can_start_with_step_results(store: Store) -> None:
    """A rerun from a step: the steps before it are memoised when the run is created,
    in their order, and the first call is the run's usual start (no extra discovery)."""
    [ev] = await store.events.append([event("app/go")])
    plan = dataclasses.replace(
        new_run(ev), steps=[("s-b", MEMO_B), ("s-a", MEMO_A), ("s-n", b"null")]
    )
    [run] = await store.runs.schedule([SchedulePlan(ev, new_runs=[plan])], NOW)
    ctx = await store.runs.load(run.id)
    assert ctx is not None
    assert ctx.stack == ["s-b", "s-a", "s-n"]
    assert ctx.steps == {"s-b": MEMO_B, "s-a": MEMO_A, "s-n": b"null"}
    assert [lease.item for lease in await lease_all(store)] == [plan.first_item]


async def test_schedule_marks_events_scheduled(store: Store) -> None:
    [ev, other] = await store.events.append([event(), event()])
    await store.runs.schedule([SchedulePlan(ev, new_runs=[new_run(ev)])], NOW)
    assert [e.internal_id for e in await store.events.unscheduled(10)] == [
        other.internal_id
    ]


async def test_idempotency_key_blocks_a_second_run_until_it_expires(
    store: Store,
) -> None:
    [e1, e2, e3, e4] = await store.events.append([event(), event(), event(), event()])
    first = new_run(e1, key="app-fn:k", expires_ms=NOW + 1_000)
    assert await store.runs.schedule([SchedulePlan(e1, new_runs=[first])], NOW) == [
        first.run
    ]

    blocked = new_run(e2, key="app-fn:k", expires_ms=NOW + 500 + 1_000)
    assert (
        await store.runs.schedule([SchedulePlan(e2, new_runs=[blocked])], NOW + 500)
        == []
    )
    assert await store.runs.get_run(blocked.run.id) is None
    assert await store.runs.runs_for_event(e2.internal_id) == []

    other_key = new_run(e3, key="app-fn:other", expires_ms=NOW + 1_000)
    assert await store.runs.schedule(
        [SchedulePlan(e3, new_runs=[other_key])], NOW + 500
    ) == [other_key.run]

    later = new_run(e4, key="app-fn:k", expires_ms=NOW + 5_000)
    assert await store.runs.schedule(
        [SchedulePlan(e4, new_runs=[later])], NOW + 2_000
    ) == [later.run]
    # Blocked events are still marked scheduled.
    assert await store.events.unscheduled(10) == []


async def test_two_runs_with_one_key_in_one_call_create_one_run(store: Store) -> None:
    [e1, e2] = await store.events.append([event(), event()])
    a = new_run(e1, key="app-fn:same")
    b = new_run(e2, key="app-fn:same")
    created = await store.runs.schedule(
        [SchedulePlan(e1, new_runs=[a]), SchedulePlan(e2, new_runs=[b])], NOW
    )
    assert created == [a.run]


async def test_schedule_stores_the_cancel_pauses_of_a_new_run(store: Store) -> None:
    [ev] = await store.events.append([event()])
    plan = new_run(ev, run_id="run-cp")
    cancel_pause = pause(
        plan.run,
        "cancel-0",
        kind=PauseKind.CANCEL,
        event_name="app/cancel",
        expression="event.data.id == async.data.id",
        trigger=ev.payload,
        timeout_memo=None,
    )
    plan = new_run(ev, run_id="run-cp", pauses=[cancel_pause])
    await store.runs.schedule([SchedulePlan(ev, new_runs=[plan])], NOW)
    [found] = await store.runs.pauses_for("app/cancel", ev.seq + 1, NOW)
    assert found.id == cancel_pause.id
    assert found.kind is PauseKind.CANCEL
    assert found.expression == "event.data.id == async.data.id"
    assert found.trigger == ev.payload


# -- pauses: resume, expire, cancel -----------------------------------------------------------
async def _waiting_run(store: Store, **pause_kwargs: object) -> tuple[str, str]:
    """A run whose discovery reply created a wait pause `w`; returns (run id, pause id)."""
    run = await start_run(store)
    p = pause(run, "w", trigger={"name": "app/test"}, **pause_kwargs)  # type: ignore[arg-type]
    result = await store.runs.apply(await lease_one(store), [fx.CreatePause(p)], NOW)
    assert result.applied
    return run.id, p.id


async def test_create_pause_is_found_by_later_events_only(store: Store) -> None:
    [before] = await store.events.append([event("app/go")])
    run_id, pause_id = await _waiting_run(store, expression="async.data.ok == true")
    [after] = await store.events.append([event("app/go")])

    assert await store.runs.pauses_for("app/go", before.seq, NOW) == []
    [found] = await store.runs.pauses_for("app/go", after.seq, NOW)
    assert (found.id, found.run_id, found.step_id) == (pause_id, run_id, "w")
    assert found.kind is PauseKind.WAIT
    assert found.expression == "async.data.ok == true"
    assert found.trigger == {"name": "app/test"}
    assert found.timeout_memo == b"null"
    assert await store.runs.pauses_for("app/other", after.seq, NOW) == []
    # An expired pause no longer matches.
    assert await store.runs.pauses_for("app/go", after.seq, NOW + 60_000) == []


async def test_resume_consumes_a_pause_exactly_once(store: Store) -> None:
    run_id, pause_id = await _waiting_run(store)
    [e1, e2] = await store.events.append([event("app/go"), event("app/go")])
    await store.runs.schedule(
        [SchedulePlan(e1, resumes=[Resume(pause_id, e1.to_json())])], NOW
    )

    ctx = await store.runs.load(run_id)
    assert ctx is not None
    assert ctx.steps == {"w": e1.to_json()}
    assert ctx.stack == ["w"]
    assert await store.runs.pauses_for("app/go", e2.seq, NOW) == []
    [discovery] = await lease_all(store)
    assert discovery.item.step_id is None
    assert discovery.item.kind is ItemKind.CALL
    assert discovery.item.attempt == 0

    # A second resume of the same pause (a second matching event) is a no-op.
    await store.runs.schedule(
        [SchedulePlan(e2, resumes=[Resume(pause_id, e2.to_json())])], NOW
    )
    ctx = await store.runs.load(run_id)
    assert ctx is not None
    assert ctx.steps == {"w": e1.to_json()}
    assert ctx.stack == ["w"]
    assert await lease_all(store, NOW + LEASE_MS - 1) == []
    # The pause's timeout was dropped with it: only the leased discovery remains.
    assert await store.queue.next_due_ms() == NOW + LEASE_MS


async def test_expire_pause_memoises_its_timeout_value(store: Store) -> None:
    run_id, pause_id = await _waiting_run(store)
    assert await lease_all(store, NOW + 59_999) == []
    timeout = await lease_one(store, NOW + 60_000)
    assert timeout.item.kind is ItemKind.PAUSE_TIMEOUT
    assert timeout.item.pause_id == pause_id
    assert timeout.item.due_ms == NOW + 60_000

    assert (
        await store.runs.apply(timeout, [fx.ExpirePause(pause_id)], NOW + 60_000)
    ).applied
    ctx = await store.runs.load(run_id)
    assert ctx is not None
    assert ctx.steps == {"w": b"null"}
    [discovery] = await lease_all(store, NOW + 60_000)
    assert discovery.item.step_id is None

    # A matching event after the timeout finds nothing to resume.
    [late] = await store.events.append([event("app/go")])
    assert await store.runs.pauses_for("app/go", late.seq, NOW) == []
    await store.runs.schedule(
        [SchedulePlan(late, resumes=[Resume(pause_id, late.to_json())])], NOW
    )
    ctx = await store.runs.load(run_id)
    assert ctx is not None
    assert ctx.steps == {"w": b"null"}


async def test_expire_invoke_pause_memoises_the_timeout_error(store: Store) -> None:
    run = await start_run(store)
    memo = orjson.dumps(
        {"error": {"name": "InngestInvokeTimeoutError", "message": "t"}}
    )
    p = pause(
        run,
        "inv",
        kind=PauseKind.INVOKE,
        event_name=FUNCTION_FINISHED,
        correlation_id=f"{run.id}.inv",
        timeout_memo=memo,
    )
    await store.runs.apply(await lease_one(store), [fx.CreatePause(p)], NOW)
    found = await store.runs.pause_by_correlation(f"{run.id}.inv")
    assert found is not None
    assert found.id == p.id
    assert found.kind is PauseKind.INVOKE
    assert await store.runs.pause_by_correlation("nope") is None
    # Invoke pauses are matched by correlation id, not by event name.
    assert await store.runs.pauses_for(FUNCTION_FINISHED, 10**9, NOW) == []

    timeout = await lease_one(store, NOW + 60_000)
    await store.runs.apply(timeout, [fx.ExpirePause(p.id)], NOW + 60_000)
    ctx = await store.runs.load(run.id)
    assert ctx is not None
    assert ctx.steps == {"inv": memo}
    assert await store.runs.pause_by_correlation(f"{run.id}.inv") is None


async def test_expire_cancel_pause_memoises_nothing(store: Store) -> None:
    [ev] = await store.events.append([event()])
    base = new_run(ev, run_id="run-cx")
    p = pause(base.run, "cancel-0", kind=PauseKind.CANCEL, timeout_memo=None)
    await store.runs.schedule(
        [SchedulePlan(ev, new_runs=[new_run(ev, run_id="run-cx", pauses=[p])])], NOW
    )
    start = await lease_one(store)
    assert start.item.step_id is None
    await store.runs.apply(start, [], NOW)
    timeout = await lease_one(store, NOW + 60_000)
    assert timeout.item.kind is ItemKind.PAUSE_TIMEOUT
    await store.runs.apply(timeout, [fx.ExpirePause(p.id)], NOW + 60_000)
    ctx = await store.runs.load("run-cx")
    assert ctx is not None
    assert ctx.steps == {}
    assert ctx.run.status is RunStatus.RUNNING
    assert await store.queue.next_due_ms() is None


async def test_resume_wins_over_a_timeout_leased_at_the_same_time(store: Store) -> None:
    run_id, pause_id = await _waiting_run(store)
    timeout = await lease_one(store, NOW + 60_000)
    [ev] = await store.events.append([event("app/go")])
    await store.runs.schedule(
        [SchedulePlan(ev, resumes=[Resume(pause_id, ev.to_json())])], NOW
    )
    late = await store.runs.apply(timeout, [fx.ExpirePause(pause_id)], NOW + 60_000)
    assert late.applied is False
    ctx = await store.runs.load(run_id)
    assert ctx is not None
    assert ctx.steps == {"w": ev.to_json()}


async def test_schedule_cancel_ends_the_run_and_drops_its_pauses(store: Store) -> None:
    run_id, _pause_id = await _waiting_run(store)
    [trigger] = await store.events.append([event("app/cancel")])
    cancelled = event(FUNCTION_CANCELLED, {"run_id": run_id})
    await store.runs.schedule(
        [
            SchedulePlan(
                trigger, cancels=[Cancel(run_id, [cancelled], "cancelled by event")]
            )
        ],
        NOW + 10,
    )
    run = await store.runs.get_run(run_id)
    assert run is not None
    assert run.status is RunStatus.CANCELLED
    assert run.reason == "cancelled by event"
    assert run.ended_ms == NOW + 10
    [probe] = await store.events.append([event("app/go")])
    assert await store.runs.pauses_for("app/go", probe.seq, NOW) == []
    assert await store.queue.next_due_ms() is None
    assert await store.events.get(cancelled.internal_id) is not None


# -- apply: steps -----------------------------------------------------------------------------
async def test_save_step_is_write_once_and_keeps_stack_order(store: Store) -> None:
    run = await start_run(store, max_attempts=4)
    result = await store.runs.apply(
        await lease_one(store), [fx.SaveStep("a", MEMO_A)], NOW
    )
    assert result.applied
    assert result.run_status is RunStatus.RUNNING

    discovery = await lease_one(store)
    assert discovery.item.kind is ItemKind.CALL
    assert discovery.item.step_id is None
    assert discovery.item.attempt == 0
    assert discovery.item.max_attempts == 4
    await store.runs.apply(discovery, [fx.SaveStep("b", MEMO_B)], NOW)

    # A replayed save with another memo is ignored and enqueues nothing.
    replay = await lease_one(store)
    await store.runs.apply(
        replay, [fx.SaveStep("a", orjson.dumps({"data": "other"}))], NOW
    )
    ctx = await store.runs.load(run.id)
    assert ctx is not None
    assert ctx.steps == {"a": MEMO_A, "b": MEMO_B}
    assert ctx.stack == ["a", "b"]
    assert await lease_all(store) == []


async def test_the_first_lease_starts_the_run(store: Store) -> None:
    run = await start_run(store)
    queued = await store.runs.get_run(run.id)
    assert queued is not None
    assert queued.status is RunStatus.QUEUED
    lease = await lease_one(store, NOW + 3)
    started = await store.runs.get_run(run.id)
    assert started is not None
    assert started.status is RunStatus.RUNNING
    assert started.started_ms == NOW + 3
    await store.runs.apply(lease, [], NOW + 7)
    # ack removed the item.
    assert await store.queue.next_due_ms() is None


async def _parallel(store: Store, *, race: bool) -> tuple[str, dict[str, Lease]]:
    """A run whose discovery planned steps a and b in parallel; returns their leases."""
    run = await start_run(store)
    effects: list[fx.Effect] = [
        fx.MarkParallel(("a", "b"), race=race),
        fx.PlanStep("a"),
        fx.PlanStep("b"),
    ]
    await store.runs.apply(await lease_one(store), effects, NOW)
    ctx = await store.runs.load(run.id)
    assert ctx is not None
    assert ctx.pending == frozenset({"a", "b"})
    assert ctx.run.disable_immediate is True
    planned = {lease.item.step_id: lease for lease in await lease_all(store)}
    assert set(planned) == {"a", "b"}
    assert all(lease.item.attempt == 0 for lease in planned.values())
    return run.id, planned  # type: ignore[return-value]


async def test_parallel_wait_mode_discovers_once_after_the_last_step(
    store: Store,
) -> None:
    run_id, planned = await _parallel(store, race=False)
    await store.runs.apply(planned["a"], [fx.SaveStep("a", MEMO_A)], NOW)
    assert await lease_all(store) == []
    await store.runs.apply(planned["b"], [fx.SaveStep("b", MEMO_B)], NOW)
    [discovery] = discoveries(await lease_all(store))
    assert discovery.item.attempt == 0
    ctx = await store.runs.load(run_id)
    assert ctx is not None
    assert ctx.stack == ["a", "b"]
    assert ctx.pending == frozenset()
    assert ctx.run.disable_immediate is False


async def test_parallel_race_mode_discovers_after_every_step(store: Store) -> None:
    _run_id, planned = await _parallel(store, race=True)
    await store.runs.apply(planned["b"], [fx.SaveStep("b", MEMO_B)], NOW)
    assert len(discoveries(await lease_all(store))) == 1
    await store.runs.apply(planned["a"], [fx.SaveStep("a", MEMO_A)], NOW)
    assert len(discoveries(await lease_all(store))) == 1


async def test_plan_step_is_ignored_while_queued_running_or_done(store: Store) -> None:
    run = await start_run(store)
    # Two plans of one step in one reply: one item.
    await store.runs.apply(
        await lease_one(store),
        [fx.PlanStep("a"), fx.PlanStep("a"), fx.PlanStep("b")],
        NOW,
    )
    planned = {lease.item.step_id: lease for lease in await lease_all(store)}
    assert set(planned) == {"a", "b"}
    # While a is running (leased), b's reply plans it again: no second item.
    await store.runs.apply(
        planned["b"], [fx.SaveStep("b", MEMO_B), fx.PlanStep("a")], NOW
    )
    after_b = await lease_all(store)
    assert [lease.item.step_id for lease in after_b] == [None]
    # Once a is memoised, planning it again does nothing.
    await store.runs.apply(planned["a"], [fx.SaveStep("a", MEMO_A)], NOW)
    for lease in discoveries(await lease_all(store)) + after_b:
        await store.runs.apply(lease, [fx.PlanStep("a")], NOW)
    assert await lease_all(store) == []
    ctx = await store.runs.load(run.id)
    assert ctx is not None
    assert ctx.steps == {"b": MEMO_B, "a": MEMO_A}


async def test_sleep_until_creates_an_item_due_at_that_time(store: Store) -> None:
    run = await start_run(store)
    await store.runs.apply(
        await lease_one(store), [fx.SleepUntil("nap", NOW + 5_000)], NOW
    )
    assert await store.queue.next_due_ms() == NOW + 5_000
    assert await lease_all(store, NOW + 4_999) == []
    sleep = await lease_one(store, NOW + 5_000)
    assert sleep.item.kind is ItemKind.SLEEP
    assert sleep.item.step_id == "nap"
    assert sleep.item.due_ms == NOW + 5_000
    assert sleep.item.attempt == 0

    await store.runs.apply(sleep, [fx.SaveStep("nap", b"null")], NOW + 5_000)
    ctx = await store.runs.load(run.id)
    assert ctx is not None
    assert ctx.steps == {"nap": b"null"}
    assert len(discoveries(await lease_all(store, NOW + 5_000))) == 1


async def test_retry_requeues_the_item_with_the_next_attempt(store: Store) -> None:
    run = await start_run(store)
    lease = await lease_one(store)
    result = await store.runs.apply(lease, [fx.Retry(NOW + 15_000)], NOW)
    assert result.applied
    assert await store.queue.next_due_ms() == NOW + 15_000
    assert await lease_all(store, NOW + 14_999) == []
    again = await lease_one(store, NOW + 15_000)
    assert again.item.id == lease.item.id
    assert again.item.attempt == 1
    assert again.item.due_ms == NOW + 15_000
    assert again.token != lease.token
    ctx = await store.runs.load(run.id)
    assert ctx is not None
    assert ctx.steps == {}

    await store.runs.apply(again, [fx.Retry(NOW + 45_000)], NOW + 15_000)
    third = await lease_one(store, NOW + 45_000)
    assert third.item.attempt == 2


async def test_finish_ends_the_run_and_drops_items_and_pauses(store: Store) -> None:
    run = await start_run(store)
    effects: list[fx.Effect] = [
        fx.MarkParallel(("w", "nap", "a")),
        fx.CreatePause(pause(run, "w")),
        fx.SleepUntil("nap", NOW + 5_000),
        fx.PlanStep("a"),
    ]
    await store.runs.apply(await lease_one(store), effects, NOW)
    planned = await lease_one(store)
    assert planned.item.step_id == "a"

    result = await store.runs.apply(
        planned, [fx.Finish(RunStatus.COMPLETED, b'{"ok":true}')], NOW + 100
    )
    assert result.applied
    assert result.run_status is RunStatus.COMPLETED
    got = await store.runs.get_run(run.id)
    assert got is not None
    assert got.status is RunStatus.COMPLETED
    assert got.output == b'{"ok":true}'
    assert got.ended_ms == NOW + 100
    assert await store.queue.next_due_ms() is None
    [probe] = await store.events.append([event("app/go")])
    assert await store.runs.pauses_for("app/go", probe.seq, NOW) == []
    ctx = await store.runs.load(run.id)
    assert ctx is not None
    assert ctx.pending == frozenset()


async def test_finish_failed_keeps_the_reason(store: Store) -> None:
    run = await start_run(store)
    await store.runs.apply(
        await lease_one(store),
        [fx.Finish(RunStatus.FAILED, b'{"name":"Error"}', "sleep too long")],
        NOW,
    )
    got = await store.runs.get_run(run.id)
    assert got is not None
    assert got.status is RunStatus.FAILED
    assert got.reason == "sleep too long"
    assert got.output == b'{"name":"Error"}'


async def test_apply_with_a_stale_lease_token_applies_nothing(store: Store) -> None:
    run = await start_run(store)
    lease = await lease_one(store)
    stale = Lease(lease.item, "not-the-token", lease.expires_ms)
    emitted = event(FUNCTION_FINISHED)
    result = await store.runs.apply(
        stale,
        [
            fx.SaveStep("a", MEMO_A),
            fx.Emit(emitted),
            fx.Finish(RunStatus.COMPLETED, b"1"),
        ],
        NOW,
    )
    assert result.applied is False
    ctx = await store.runs.load(run.id)
    assert ctx is not None
    assert ctx.steps == {}
    assert (
        ctx.run.status is RunStatus.RUNNING
    )  # started by the lease, untouched by the stale apply
    assert await store.events.get(emitted.internal_id) is None
    # The real holder can still apply.
    assert (await store.runs.apply(lease, [fx.SaveStep("a", MEMO_A)], NOW)).applied


async def test_apply_after_the_lease_was_taken_over_applies_nothing(
    store: Store,
) -> None:
    run = await start_run(store)
    dead = await lease_one(store)
    taken = await lease_one(store, NOW + LEASE_MS)
    assert taken.item.id == dead.item.id
    assert not (
        await store.runs.apply(dead, [fx.SaveStep("a", MEMO_A)], NOW + LEASE_MS)
    ).applied
    assert (
        await store.runs.apply(taken, [fx.SaveStep("a", MEMO_B)], NOW + LEASE_MS)
    ).applied
    ctx = await store.runs.load(run.id)
    assert ctx is not None
    assert ctx.steps == {"a": MEMO_B}


async def test_apply_on_an_ended_run_applies_nothing(store: Store) -> None:
    run = await start_run(store)
    lease = await lease_one(store)
    ended = await store.runs.cancel(Cancel(run.id, []), NOW + 1)
    assert ended is not None
    emitted = event(FUNCTION_FINISHED)
    result = await store.runs.apply(
        lease,
        [fx.SaveStep("a", MEMO_A), fx.Emit(emitted), fx.SleepUntil("s", NOW + 10)],
        NOW + 2,
    )
    assert result.applied is False
    ctx = await store.runs.load(run.id)
    assert ctx is not None
    assert ctx.run.status is RunStatus.CANCELLED
    assert ctx.steps == {}
    assert await store.events.get(emitted.internal_id) is None
    assert await store.queue.next_due_ms() is None


async def test_emit_appends_an_event(store: Store) -> None:
    await start_run(store)
    emitted = event(FUNCTION_FINISHED, {"run_id": "x"})
    await store.runs.apply(await lease_one(store), [fx.Emit(emitted)], NOW)
    got = await store.events.get(emitted.internal_id)
    assert got is not None
    assert got.seq > 0
    assert got.data == {"run_id": "x"}
    assert emitted.internal_id in [
        e.internal_id for e in await store.events.unscheduled(10)
    ]


async def test_set_request_version_discover_and_record_span(store: Store) -> None:
    run = await start_run(store)
    span = StepSpan(
        run.id, "a", "first", "StepRun", 0, NOW - 5, NOW, "COMPLETED", MEMO_A
    )
    await store.runs.apply(
        await lease_one(store),
        [fx.SetRequestVersion(2), fx.Discover("again"), fx.RecordSpan(span)],
        NOW,
    )
    got = await store.runs.get_run(run.id)
    assert got is not None
    assert got.request_version == 2
    assert await store.runs.spans(run.id) == [span]
    assert len(discoveries(await lease_all(store))) == 1


async def test_apply_without_ack_keeps_the_leased_item(store: Store) -> None:
    await start_run(store)
    lease = await lease_one(store)
    assert (await store.runs.apply(lease, [], NOW, ack=False)).applied
    assert await lease_all(store) == []
    assert (await lease_one(store, NOW + LEASE_MS)).item.id == lease.item.id


# -- cancel -----------------------------------------------------------------------------------
async def test_cancel_an_active_run(store: Store) -> None:
    run_id, _pause_id = await _waiting_run(store)
    cancelled = event(FUNCTION_CANCELLED)
    got = await store.runs.cancel(Cancel(run_id, [cancelled], "by api"), NOW + 3)
    assert got is not None
    assert got.id == run_id
    assert got.status is RunStatus.CANCELLED
    assert got.reason == "by api"
    assert got.ended_ms == NOW + 3
    assert await store.queue.next_due_ms() is None
    assert await store.events.get(cancelled.internal_id) is not None
    # A second cancel finds nothing active.
    again = event(FUNCTION_CANCELLED)
    assert await store.runs.cancel(Cancel(run_id, [again]), NOW + 4) is None
    assert await store.events.get(again.internal_id) is None


async def test_cancel_an_ended_run_is_a_no_op(store: Store) -> None:
    run = await start_run(store)
    await store.runs.apply(
        await lease_one(store), [fx.Finish(RunStatus.COMPLETED, b"1")], NOW
    )
    cancelled = event(FUNCTION_CANCELLED)
    assert await store.runs.cancel(Cancel(run.id, [cancelled]), NOW + 1) is None
    got = await store.runs.get_run(run.id)
    assert got is not None
    assert got.status is RunStatus.COMPLETED
    assert await store.events.get(cancelled.internal_id) is None
    assert await store.runs.cancel(Cancel("missing", []), NOW) is None


async def test_runs_for_event_lists_every_run_of_an_event(store: Store) -> None:
    [ev] = await store.events.append([event()])
    a = new_run(ev, run_id="run-a", function_id="app-one")
    b = new_run(ev, run_id="run-b", function_id="app-two")
    await store.runs.schedule([SchedulePlan(ev, new_runs=[a, b])], NOW)
    assert [r.id for r in await store.runs.runs_for_event(ev.internal_id)] == [
        "run-a",
        "run-b",
    ]
    assert await store.runs.runs_for_event("missing") == []
