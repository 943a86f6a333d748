"""From one call outcome to the effects it has: one pure function per opcode."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from inngestd import errors
from inngestd.domain import effects as fx
from inngestd.domain.durations import parse_duration, resolve_until
from inngestd.domain.events import FUNCTION_FINISHED, FUNCTION_INVOKED, make_event
from inngestd.domain.expressions import compile_expression
from inngestd.domain.finish import finish_events, standard_error
from inngestd.domain.ops import CallOutcome, Completed, Failed, Op, Opcode, Ops
from inngestd.domain.queue import QueueItem
from inngestd.domain.runs import Pause, PauseKind, RunContext, RunStatus, StepSpan
from inngestd.flow.backoff import retry_delay_ms

# Sleeps and waits may last at most 366 days (Inngest's MaxSleepDuration).
MAX_SLEEP_MS = 366 * 24 * 3600 * 1000
DEFAULT_INVOKE_TIMEOUT_MS = 365 * 24 * 3600 * 1000
INVOKE_TIMEOUT_MEMO = orjson.dumps(
    {
        "error": {
            "name": "InngestInvokeTimeoutError",
            "message": "Timed out waiting for invoked function to complete",
            "error": "InngestInvokeTimeoutError: Timed out waiting for invoked function to complete",
        }
    }
)
# Ops whose result is memoised at once (then the next discovery call follows).
_SAVED = {
    Opcode.STEP_RUN.value,
    Opcode.STEP.value,
    Opcode.STEP_FAILED.value,
    Opcode.STEP_ERROR.value,
}
# Ops that end a branch without work for the server.
_LAZY = {Opcode.NONE.value, Opcode.DEFER_ADD.value, Opcode.DEFER_ABORT.value}


@dataclass(frozen=True, slots=True)
class Env:
    """What handlers may read besides the outcome: time, ids, retry policy."""

    now_ms: int
    started_ms: int
    new_id: Callable[[], str]
    retry_interval_ms: int | None = None
    jitter_ms: int = 0
    app_id: str = ""


def handle(
    ctx: RunContext, item: QueueItem, outcome: CallOutcome, env: Env
) -> list[fx.Effect]:
    if isinstance(outcome, Completed):
        return _finish(ctx, RunStatus.COMPLETED, outcome.body, None, env)
    if isinstance(outcome, Failed):
        return _failed(ctx, item, outcome, env)
    return _ops(ctx, item, outcome, env)


def _can_retry(item: QueueItem, no_retry: bool) -> bool:
    return not no_retry and item.attempt + 1 < item.max_attempts


def _retry(item: QueueItem, retry_at_ms: int | None, env: Env) -> fx.Retry:
    if retry_at_ms is not None:
        return fx.Retry(retry_at_ms)
    delay = retry_delay_ms(
        item.attempt, fixed_interval_ms=env.retry_interval_ms, jitter_ms=env.jitter_ms
    )
    return fx.Retry(env.now_ms + delay)


def _finish(
    ctx: RunContext,
    status: RunStatus,
    output: bytes | None,
    error: dict[str, Any] | None,
    env: Env,
    reason: str | None = None,
) -> list[fx.Effect]:
    effects: list[fx.Effect] = [fx.Finish(status, output, reason)]
    effects += [
        fx.Emit(e)
        for e in finish_events(
            ctx,
            status,
            output=output,
            error=error,
            now_ms=env.now_ms,
            new_id=env.new_id,
        )
    ]
    return effects


def fail_run(ctx: RunContext, name: str, message: str, env: Env) -> list[fx.Effect]:
    """Fail the run for a reason the server found (not the app)."""
    body = orjson.dumps({"name": name, "message": message})
    return _finish(
        ctx,
        RunStatus.FAILED,
        body,
        {"error": message, "name": name, "message": message, "stack": None},
        env,
        message,
    )


def _failed(
    ctx: RunContext, item: QueueItem, outcome: Failed, env: Env
) -> list[fx.Effect]:
    span = _span(
        ctx, item, item.step_id or "step", "error", outcome.body, env, "FAILED"
    )
    if _can_retry(item, outcome.no_retry):
        return [_retry(item, outcome.retry_at_ms, env), span]
    error = standard_error(outcome.body, outcome.status, outcome.no_retry)
    output = (
        outcome.body
        if _is_json_object(outcome.body)
        else orjson.dumps({"name": "Error", "message": outcome.message})
    )
    return [span, *_finish(ctx, RunStatus.FAILED, output, error, env)]


def _is_json_object(raw: bytes) -> bool:
    try:
        return isinstance(orjson.loads(raw), dict)
    except orjson.JSONDecodeError:
        return False


def _span(
    ctx: RunContext,
    item: QueueItem,
    name: str,
    op: str,
    output: bytes | None,
    env: Env,
    status: str,
    step_id: str | None = None,
) -> fx.RecordSpan:
    return fx.RecordSpan(
        StepSpan(
            run_id=ctx.run.id,
            step_id=step_id or item.step_id or "step",
            name=name,
            op=op,
            attempt=item.attempt,
            started_ms=env.started_ms,
            ended_ms=env.now_ms,
            status=status,
            output=output,
        )
    )


def _ops(ctx: RunContext, item: QueueItem, outcome: Ops, env: Env) -> list[fx.Effect]:
    effects: list[fx.Effect] = []
    if (
        outcome.request_version is not None
        and outcome.request_version != ctx.run.request_version
    ):
        effects.append(fx.SetRequestVersion(outcome.request_version))
    ops = [op for op in outcome.ops if op.op not in _LAZY]
    # A retryable step error stops here: nothing is saved and the same call is retried.
    for op in ops:
        if op.op == Opcode.STEP_ERROR and _can_retry(item, outcome.no_retry):
            return [
                *effects,
                _retry(item, outcome.retry_at_ms, env),
                _span(
                    ctx, item, op.label, op.op, _error_memo(op), env, "ERRORED", op.id
                ),
            ]
    if len(ops) > 1:
        waiting = tuple(
            op.id
            for op in ops
            if op.op
            not in (Opcode.STEP_RUN, Opcode.STEP, Opcode.STEP_FAILED, Opcode.STEP_ERROR)
        )
        race = any(op.opts.get("parallelMode") == "race" for op in ops)
        if waiting:
            effects.append(fx.MarkParallel(waiting, race))
    for op in ops:
        produced = _op(ctx, item, op, env)
        effects += produced
        if any(isinstance(e, fx.Finish) for e in produced):
            break
    if (
        len(ops) == 1
        and ops[0].op in _SAVED
        and not ctx.pending
        and not ctx.run.disable_immediate
    ):
        # The step may already be memoised: a TS SDK that checkpointed it (api/
        # checkpoint.py; a checkpoint schedules nothing) also reports it here when it
        # thought the checkpoint failed. The write-once save then schedules nothing
        # either, so ask for the next discovery explicitly (same item id: a no-op when
        # the save already enqueued it).
        effects.append(fx.Discover(ops[0].id))
    return effects


def _error_memo(op: Op) -> bytes:
    error = dict(op.error or {})
    error.setdefault("name", "Error")
    error.setdefault("message", "step failed")
    error["name"] = str(error["name"])
    error["message"] = str(error["message"])
    return orjson.dumps({"error": error})


def _op(ctx: RunContext, item: QueueItem, op: Op, env: Env) -> list[fx.Effect]:
    kind = op.op
    if kind in (Opcode.STEP_RUN, Opcode.STEP):
        memo = (
            orjson.dumps({"data": op.data})
            if kind == Opcode.STEP_RUN
            else orjson.dumps(op.data)
        )
        return [
            fx.SaveStep(op.id, memo),
            _span(ctx, item, op.label, kind, memo, env, "COMPLETED", op.id),
        ]
    if kind in (Opcode.STEP_ERROR, Opcode.STEP_FAILED):
        memo = _error_memo(op)
        return [
            fx.SaveStep(op.id, memo),
            _span(ctx, item, op.label, kind, memo, env, "FAILED", op.id),
        ]
    if kind == Opcode.STEP_PLANNED:
        return [fx.PlanStep(op.id)]
    if kind == Opcode.SLEEP:
        return _sleep(ctx, item, op, env)
    if kind == Opcode.WAIT_FOR_EVENT:
        return _wait(ctx, item, op, env)
    if kind == Opcode.INVOKE_FUNCTION:
        return _invoke(ctx, item, op, env)
    if kind in (Opcode.RUN_COMPLETE, Opcode.SYNC_RUN_COMPLETE):
        return _finish(ctx, RunStatus.COMPLETED, orjson.dumps(op.data), None, env)
    if kind == Opcode.DISCOVERY_REQUEST:
        return [fx.Discover(op.id or env.new_id())]
    # Gateway, AIGateway, WaitForSignal: not served yet; the step fails visibly.
    memo = orjson.dumps(
        {
            "error": {
                "name": "Error",
                "message": f"inngestd does not support the {kind} op yet",
            }
        }
    )
    return [
        fx.SaveStep(op.id, memo),
        _span(ctx, item, op.label, kind, memo, env, "FAILED", op.id),
    ]


def _sleep(ctx: RunContext, item: QueueItem, op: Op, env: Env) -> list[fx.Effect]:
    text = op.opts.get("duration") or op.name
    try:
        until = resolve_until(str(text), env.now_ms)
    except errors.InvalidDuration as exc:
        return fail_run(ctx, "InngestErrInvalidSleep", str(exc), env)
    if until - env.now_ms > MAX_SLEEP_MS:
        return fail_run(
            ctx,
            "InngestErrTimeoutTooLong",
            f"sleep {text!r} is longer than 366 days",
            env,
        )
    return [
        fx.SleepUntil(op.id, until),
        _span(ctx, item, op.label, op.op, None, env, "SLEEPING", op.id),
    ]


def _expires(op: Op, env: Env, default_ms: int | None) -> int | None:
    timeout = op.opts.get("timeout")
    if not timeout:
        return env.now_ms + default_ms if default_ms is not None else env.now_ms
    return resolve_until(str(timeout), env.now_ms)


def _wait(ctx: RunContext, item: QueueItem, op: Op, env: Env) -> list[fx.Effect]:
    event_name = str(op.opts.get("event") or op.name)
    expression = op.opts.get("if") or None
    try:
        if expression is not None:
            compile_expression(str(expression))
        expires = _expires(op, env, None) or env.now_ms
    except (errors.InvalidExpression, errors.InvalidDuration) as exc:
        return fail_run(ctx, "InngestErrInvalidWaitForEvent", str(exc), env)
    if expires - env.now_ms > MAX_SLEEP_MS:
        return fail_run(
            ctx,
            "InngestErrTimeoutTooLong",
            "waitForEvent timeout is longer than 366 days",
            env,
        )
    pause = Pause(
        id=f"{ctx.run.id}:{op.id}",
        run_id=ctx.run.id,
        step_id=op.id,
        kind=PauseKind.WAIT,
        event_name=event_name,
        expires_ms=expires,
        after_seq=0,
        expression=str(expression) if expression is not None else None,
        trigger=ctx.events[0] if ctx.events else {},
        timeout_memo=b"null",
    )
    return [
        fx.CreatePause(pause),
        _span(ctx, item, op.label, op.op, None, env, "WAITING", op.id),
    ]


def _invoke(ctx: RunContext, item: QueueItem, op: Op, env: Env) -> list[fx.Effect]:
    target = op.opts.get("function_id")
    payload = op.opts.get("payload") or {}
    if not isinstance(target, str) or not target:
        memo = orjson.dumps(
            {"error": {"name": "Error", "message": "invoke needs opts.function_id"}}
        )
        return [fx.SaveStep(op.id, memo)]
    try:
        expires = _expires(op, env, DEFAULT_INVOKE_TIMEOUT_MS) or env.now_ms
    except errors.InvalidDuration as exc:
        return fail_run(ctx, "InngestErrInvalidInvoke", str(exc), env)
    correlation = f"{ctx.run.id}.{op.id}"
    data = dict(payload.get("data") or {}) if isinstance(payload, dict) else {}
    data["_inngest"] = {
        "fn_id": target,
        "correlation_id": correlation,
        "expire": expires,
        "source_app_id": env.app_id,
        "source_fn_id": ctx.run.function_id,
        "source_run_id": ctx.run.id,
    }
    invoked = make_event(env.new_id(), FUNCTION_INVOKED, data, env.now_ms)
    if isinstance(payload, dict) and isinstance(payload.get("user"), dict):
        invoked.payload["user"] = payload["user"]
    pause = Pause(
        id=f"{ctx.run.id}:{op.id}",
        run_id=ctx.run.id,
        step_id=op.id,
        kind=PauseKind.INVOKE,
        event_name=FUNCTION_FINISHED,
        expires_ms=expires,
        after_seq=0,
        correlation_id=correlation,
        timeout_memo=INVOKE_TIMEOUT_MEMO,
    )
    return [
        fx.CreatePause(pause),
        fx.Emit(invoked),
        _span(ctx, item, op.label, op.op, None, env, "INVOKING", op.id),
    ]


def parse_timeout_ms(text: str) -> int:
    return int(parse_duration(text).total_seconds() * 1000)


# Ops the checkpoint API stores; lazy ops ride along and are ignored.
CHECKPOINTABLE = frozenset({Opcode.STEP_RUN.value, Opcode.STEP.value})


def checkpoint(
    ctx: RunContext, ops: list[Op], env: Env, started_ms: dict[str, int] | None = None
) -> list[fx.Effect]:
    """Step results the SDK checkpointed (`POST /v1/checkpoint/{run}/async`) while the
    call that runs them continues: memoise each write-once, without scheduling anything
    (the running call goes on to the next step itself). Only StepRun/Step are expected;
    the caller rejects other non-lazy ops."""
    effects: list[fx.Effect] = []
    for op in ops:
        if op.op not in CHECKPOINTABLE:
            continue
        memo = (
            orjson.dumps({"data": op.data})
            if op.op == Opcode.STEP_RUN
            else orjson.dumps(op.data)
        )
        effects.append(fx.SaveStep(op.id, memo, discover=False))
        effects.append(
            fx.RecordSpan(
                StepSpan(
                    run_id=ctx.run.id,
                    step_id=op.id,
                    name=op.label,
                    op=op.op,
                    attempt=0,
                    started_ms=(started_ms or {}).get(op.id, env.started_ms),
                    ended_ms=env.now_ms,
                    status="COMPLETED",
                    output=memo,
                )
            )
        )
    return effects
