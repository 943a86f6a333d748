"""The checkpoint API the TypeScript SDK 4.x uses by default (protocol §6.1).

A serve-mode TS function checkpoints when the call's `ctx.fn_id` is non-empty, no step is
targeted and immediate execution is allowed (`execution/request.py` sends `fn_id`). It then
runs step after step inside one call and POSTs each result to
`/v1/checkpoint/{runId}/async` instead of answering 206 per step; the call finally answers
with the ops that need the server (`RunComplete`, `Sleep`, `WaitForEvent`, ...).

Checkpointed steps are memoised write-once (a replayed checkpoint, or a step the SDK also
reports in its reply, is a no-op) and schedule nothing: the running call continues the
function. If the app dies mid-call, the call fails, is retried like any other, and the
retry replays the checkpointed memos instead of running those steps again.

Replies: 200 stored; 400 a malformed body, an op that cannot be checkpointed (only
`StepRun`/`Step`; lazy ops are ignored) or a function id that is not the run's; 404 no
such run; 409 a stale dispatch (the run has ended, or the queue item the call was made for
is no longer the one being executed), which makes the SDK stop running further steps.

The durable-endpoint routes (`POST /v1/checkpoint`, `/{runId}/steps`, `/{runId}/output`)
serve functions that are plain HTTP handlers, not served functions; they answer 501.
Both the public prefix `/v1/checkpoint` and the beta prefix `/v1/http/runs` are served.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from inngestd import errors, ids
from inngestd.api import responses
from inngestd.api.context import ctx, guard, log, read_body
from inngestd.domain.ops import Op, Opcode
from inngestd.execution.handlers import CHECKPOINTABLE, Env, checkpoint

PREFIXES = ("/v1/checkpoint", "/v1/http/runs")
# Ops the SDK may append to a checkpoint (deferred work, no-ops); nothing to store.
_LAZY = frozenset({Opcode.NONE.value, Opcode.DEFER_ADD.value, Opcode.DEFER_ABORT.value})
# One checkpoint carries a few buffered step outputs (each at most 4 MiB in Inngest).
MAX_CHECKPOINT_BODY = 64 * 1024 * 1024


def _parse_op(raw: Any) -> Op:
    if not isinstance(raw, dict) or not isinstance(raw.get("op"), str):
        raise errors.InvalidInput("each step must be an object with a string 'op'")
    if not isinstance(raw.get("id"), str) or not raw["id"]:
        raise errors.InvalidInput("each step needs a non-empty string 'id'")
    opts = raw.get("opts")
    error = raw.get("error")
    return Op(
        op=raw["op"],
        id=raw["id"],
        name=str(raw.get("name") or ""),
        display_name=str(raw.get("displayName") or ""),
        opts=opts if isinstance(opts, dict) else {},
        data=raw.get("data"),
        has_data="data" in raw,
        error=error if isinstance(error, dict) else None,
    )


def _started_ms(raw: Any) -> int | None:
    """The step's start time from `timing` ({start, end} in ms), when the SDK sent it."""
    timing = raw.get("timing") if isinstance(raw, dict) else None
    start = timing.get("start") if isinstance(timing, dict) else None
    return int(start) if isinstance(start, int | float) and start > 0 else None


def _parse(body: bytes, run_id: str) -> tuple[dict[str, Any], list[Op], list[Any]]:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise errors.InvalidInput(f"invalid JSON body: {exc}") from None
    if not isinstance(parsed, dict):
        raise errors.InvalidInput("the body must be a JSON object")
    if parsed.get("run_id") not in (None, "", run_id):
        raise errors.InvalidInput(
            f"body run_id {parsed.get('run_id')!r} is not the path's {run_id!r}"
        )
    steps = parsed.get("steps")
    if steps is None:
        steps = []
    if not isinstance(steps, list):
        raise errors.InvalidInput("'steps' must be a list of ops")
    return parsed, [_parse_op(s) for s in steps], steps


async def _stale(request: Request, run_id: str, qi_id: Any) -> bool:
    """The call was made for queue item `qi_id`: stale when that item is no longer being
    executed (requeued after a lost lease or a restart, or already done)."""
    if not isinstance(qi_id, str) or not qi_id:
        return False
    store, _clock, _services = ctx(request)
    jobs = await store.queue.jobs(run_id)
    return not any(job.item.id == qi_id and job.leased for job in jobs)


def _conflict(message: str) -> Response:
    return responses.json({"error": message, "status": 409}, 409)


async def checkpoint_async(request: Request) -> Response:
    store, clock, _services = ctx(request)
    run_id = request.path_params["run_id"]
    body, ops, raw_ops = _parse(await read_body(request, MAX_CHECKPOINT_BODY), run_id)
    bad = sorted({op.op for op in ops if op.op not in CHECKPOINTABLE | _LAZY})
    if bad:
        raise errors.InvalidInput(
            f"cannot checkpoint opcode(s) {', '.join(bad)}: only StepRun and Step"
        )
    run_ctx = await store.runs.load(run_id)
    if run_ctx is None:
        raise errors.RunNotFound(f"run {run_id!r} not found")
    fn_id = body.get("fn_id")
    if fn_id not in (None, "", run_ctx.run.function_id):
        raise errors.InvalidInput(
            f"fn_id {fn_id!r} is not the function of run {run_id!r}"
        )
    if run_ctx.run.status.is_ended:
        return _conflict(f"run {run_id} has ended ({run_ctx.run.status.value})")
    if await _stale(request, run_id, body.get("qi_id")):
        return _conflict(
            f"stale dispatch: queue item {body.get('qi_id')!r} of run {run_id}"
            " is no longer executing"
        )
    now = clock.now_ms()
    started = {
        op.id: ms
        for op, raw in zip(ops, raw_ops, strict=True)
        if (ms := _started_ms(raw))
    }
    env = Env(now_ms=now, started_ms=now, new_id=lambda: ids.new_ulid(now))
    effects = checkpoint(run_ctx, ops, env, started)
    if effects:
        result = await store.runs.apply_run(run_id, effects, now)
        if not result.applied:
            return _conflict(f"run {run_id} has ended")
    log.debug("checkpointed %d step(s) of run %s", len(effects) // 2, run_id)
    return responses.json({"status": 200})


async def not_supported(request: Request) -> Response:
    return responses.json(
        {
            "error": "durable endpoints (sync-mode checkpointing) are not supported by"
            " inngestd; serve functions with the SDK's serve handler",
            "status": 501,
        },
        501,
    )


def routes() -> list[BaseRoute]:
    out: list[BaseRoute] = []
    for prefix in PREFIXES:
        out += [
            Route(
                f"{prefix}/{{run_id}}/async", guard(checkpoint_async), methods=["POST"]
            ),
            Route(prefix, not_supported, methods=["POST"]),
            Route(f"{prefix}/{{run_id}}/steps", not_supported, methods=["POST"]),
            Route(
                f"{prefix}/{{run_id}}/output", not_supported, methods=["GET", "POST"]
            ),
        ]
    return out
