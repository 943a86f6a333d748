"""Unit tests for the TS checkpoint path in inngestd.execution.handlers."""

from __future__ import annotations

import dataclasses

import orjson

from inngestd.domain import effects as fx
from inngestd.domain.ops import Op, Ops
from inngestd.execution.handlers import checkpoint, handle
from tests.unit.test_handlers import context, env, item, only, op


def test_checkpointed_steps_are_saved_without_scheduling() -> None:
    effects = checkpoint(
        context(),
        [
            op("StepRun", "h1", data={"x": 1}, has_data=True, display_name="one"),
            op("Step", "h2", data={"data": 2}, has_data=True),
            op("DeferAdd", "h3"),
        ],
        env(),
        {"h1": 123},
    )
    saves = only(effects, fx.SaveStep)
    assert saves == [
        fx.SaveStep("h1", orjson.dumps({"data": {"x": 1}}), discover=False),
        fx.SaveStep("h2", orjson.dumps({"data": 2}), discover=False),
    ]
    spans = [e.span for e in only(effects, fx.RecordSpan)]
    assert [(s.step_id, s.name, s.status) for s in spans] == [
        ("h1", "one", "COMPLETED"),
        ("h2", "h2", "COMPLETED"),
    ]
    assert spans[0].started_ms == 123
    assert not only(effects, fx.Discover)
    assert not only(effects, fx.Finish)


def test_a_lone_step_reply_asks_for_the_next_discovery() -> None:
    """A step the SDK checkpointed and then also reports is already memoised; the
    explicit Discover keeps the run going (same item id as the save's discovery)."""
    effects = handle(
        context(), item(), Ops((op("StepRun", data=1, has_data=True),)), env()
    )
    assert only(effects, fx.Discover) == [fx.Discover("h1")]


def test_no_extra_discovery_in_parallel_mode() -> None:
    ctx = context()
    parallel = dataclasses.replace(ctx, pending=frozenset({"h1", "h2"}))
    effects = handle(
        parallel,
        item(step_id="h1"),
        Ops((op("StepRun", data=1, has_data=True),)),
        env(),
    )
    assert not only(effects, fx.Discover)
    planned = dataclasses.replace(
        ctx, run=dataclasses.replace(ctx.run, disable_immediate=True)
    )
    effects = handle(
        planned, item(), Ops((op("StepRun", data=1, has_data=True),)), env()
    )
    assert not only(effects, fx.Discover)
    two: tuple[Op, ...] = (
        op("StepRun", "h1", data=1, has_data=True),
        op("Sleep", "h2", name="1s"),
    )
    assert not only(handle(ctx, item(), Ops(two), env()), fx.Discover)
