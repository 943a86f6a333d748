"""The flow-control SDK app for the e2e tier (official `inngest` Python SDK + FastAPI).

One function per flow-control feature. Every function reads a per-test tag
``event.data.k`` (for batches: the first event's) and records what it saw in
process, so tests can check what the server did from the app's side:

* ``GET /inflight`` -> ``{"<fn>:<k>[:<user>]": {"now": n, "max": m}}``: how many
  step bodies were executing at once (current and the maximum ever seen);
* ``GET /log`` -> ``{"<fn>:<k>": [record, ...]}``: one record per step body
  execution that a function logs (run id, event id(s), event data, wall time);
* ``GET /counts`` -> ``{"<fn>:<step>:<k>": n}``: step body executions.

The cron function is only defined when ``E2E_FLOW_CRON=1``, so that only the
server of the cron test fires it.

Run: ``INNGEST_DEV=1 INNGEST_BASE_URL=http://127.0.0.1:P \
python -m uvicorn tests.e2e.apps.flow_app:app --port Q``
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from typing import Any

import fastapi
import inngest
import inngest.fast_api

from tests.e2e.apps import is_production

APP_ID = "e2e-flow"

client = inngest.Inngest(app_id=APP_ID, is_production=is_production())

COUNTS: Counter[str] = Counter()
LOG: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
INFLIGHT: defaultdict[str, dict[str, int]] = defaultdict(lambda: {"now": 0, "max": 0})

#: How long a tracked step body runs (in process), seconds.
STEP_SECONDS = 0.3


def _k(ctx: inngest.Context) -> str:
    return str(ctx.event.data.get("k", ""))


def _count(fn: str, step: str, k: str) -> None:
    COUNTS[f"{fn}:{step}:{k}"] += 1


@contextlib.asynccontextmanager
async def _inflight(*keys: str) -> AsyncIterator[None]:
    for key in keys:
        slot = INFLIGHT[key]
        slot["now"] += 1
        slot["max"] = max(slot["max"], slot["now"])
    try:
        yield
    finally:
        for key in keys:
            INFLIGHT[key]["now"] -= 1


def _record(fn: str, ctx: inngest.Context, **extra: Any) -> dict[str, Any]:
    rec = {
        "run_id": ctx.run_id,
        "event_id": ctx.event.id,
        "data": dict(ctx.event.data),
        "events": [{"id": e.id, "data": dict(e.data)} for e in ctx.events],
        "t": time.time(),
        **extra,
    }
    LOG[f"{fn}:{_k(ctx)}"].append(rec)
    return rec


async def _tracked_steps(
    fn: str, ctx: inngest.Context, n: int, *keys: str
) -> list[float]:
    """Run ``n`` steps that each sleep STEP_SECONDS while counted in ``keys``."""
    k = _k(ctx)
    out = []
    for i in range(n):

        async def body(i: int = i) -> float:
            _count(fn, f"s{i}", k)
            if i == 0:
                _record(fn, ctx)
            async with _inflight(*keys):
                started = time.time()
                await asyncio.sleep(STEP_SECONDS)
            return started

        out.append(await ctx.step.run(f"s{i}", body))
    return out


# ----------------------------------------------------------------------------- concurrency


@client.create_function(
    fn_id="concurrency",
    trigger=inngest.TriggerEvent(event="e2e-flow/concurrency"),
    concurrency=[inngest.Concurrency(limit=2)],
)
async def concurrency_fn(ctx: inngest.Context) -> list[float]:
    return await _tracked_steps("concurrency", ctx, 3, f"concurrency:{_k(ctx)}")


@client.create_function(
    fn_id="concurrency-key",
    trigger=inngest.TriggerEvent(event="e2e-flow/concurrency-key"),
    concurrency=[inngest.Concurrency(limit=1, key="event.data.user")],
)
async def concurrency_key_fn(ctx: inngest.Context) -> list[float]:
    k, user = _k(ctx), str(ctx.event.data.get("user"))
    return await _tracked_steps(
        "concurrency-key",
        ctx,
        2,
        f"concurrency-key:{k}",
        f"concurrency-key:{k}:{user}",
    )


# ----------------------------------------------------------------------------- throttle / rate


@client.create_function(
    fn_id="throttle",
    trigger=inngest.TriggerEvent(event="e2e-flow/throttle"),
    throttle=inngest.Throttle(limit=1, period=datetime.timedelta(seconds=2)),
)
async def throttle_fn(ctx: inngest.Context) -> float:
    async def first() -> float:
        return float(_record("throttle", ctx)["t"])

    return await ctx.step.run("first", first)


@client.create_function(
    fn_id="rate-limit",
    trigger=inngest.TriggerEvent(event="e2e-flow/rate-limit"),
    rate_limit=inngest.RateLimit(
        limit=1, period=datetime.timedelta(seconds=10), key="event.data.key"
    ),
)
async def rate_limit_fn(ctx: inngest.Context) -> str:
    async def work() -> str:
        _record("rate-limit", ctx)
        return str(ctx.event.data.get("key"))

    return await ctx.step.run("work", work)


@client.create_function(
    fn_id="idempotency",
    trigger=inngest.TriggerEvent(event="e2e-flow/idempotency"),
    idempotency="event.data.order",
)
async def idempotency_fn(ctx: inngest.Context) -> str:
    async def work() -> str:
        _record("idempotency", ctx)
        return str(ctx.event.data.get("order"))

    return await ctx.step.run("work", work)


# ----------------------------------------------------------------------------- debounce / batch


@client.create_function(
    fn_id="debounce",
    trigger=inngest.TriggerEvent(event="e2e-flow/debounce"),
    debounce=inngest.Debounce(period=datetime.timedelta(seconds=2), key="event.data.k"),
)
async def debounce_fn(ctx: inngest.Context) -> Any:
    async def work() -> Any:
        _record("debounce", ctx)
        return ctx.event.data.get("n")

    return await ctx.step.run("work", work)


@client.create_function(
    fn_id="debounce-timeout",
    trigger=inngest.TriggerEvent(event="e2e-flow/debounce-timeout"),
    debounce=inngest.Debounce(
        period=datetime.timedelta(seconds=1),
        timeout=datetime.timedelta(seconds=2),
        key="event.data.k",
    ),
)
async def debounce_timeout_fn(ctx: inngest.Context) -> Any:
    async def work() -> Any:
        _record("debounce-timeout", ctx)
        return ctx.event.data.get("n")

    return await ctx.step.run("work", work)


@client.create_function(
    fn_id="batch",
    trigger=inngest.TriggerEvent(event="e2e-flow/batch"),
    batch_events=inngest.Batch(max_size=5, timeout=datetime.timedelta(seconds=5)),
)
async def batch_fn(ctx: inngest.Context) -> list[str]:
    async def work() -> list[str]:
        _record("batch", ctx)
        return [str(e.id) for e in ctx.events]

    return await ctx.step.run("work", work)


@client.create_function(
    fn_id="batch-if",
    trigger=inngest.TriggerEvent(event="e2e-flow/batch-if"),
    batch_events=inngest.Batch(
        max_size=5,
        timeout=datetime.timedelta(seconds=2),
        key="event.data.k",
        if_exp="event.data.ok == true",
    ),
)
async def batch_if_fn(ctx: inngest.Context) -> list[str]:
    async def work() -> list[str]:
        _record("batch-if", ctx)
        return [str(e.id) for e in ctx.events]

    return await ctx.step.run("work", work)


# ----------------------------------------------------------------------------- priority


@client.create_function(
    fn_id="priority",
    trigger=inngest.TriggerEvent(event="e2e-flow/priority"),
    concurrency=[inngest.Concurrency(limit=1)],
    priority=inngest.Priority(run="event.data.prio"),
)
async def priority_fn(ctx: inngest.Context) -> str:
    async def work() -> str:
        _record("priority", ctx)
        await asyncio.sleep(float(ctx.event.data.get("hold", STEP_SECONDS)))
        return str(ctx.event.data.get("name"))

    return await ctx.step.run("work", work)


# ----------------------------------------------------------------------------- singleton


async def _start_then_sleep(fn: str, ctx: inngest.Context) -> str:
    async def first() -> str:
        _record(fn, ctx, step="first")
        return "first"

    await ctx.step.run("first", first)
    await ctx.step.sleep(
        "nap", datetime.timedelta(seconds=float(ctx.event.data.get("sleep", 0)))
    )

    async def last() -> str:
        _record(fn, ctx, step="last")
        return "last"

    await ctx.step.run("last", last)
    return str(ctx.event.data.get("name"))


@client.create_function(
    fn_id="singleton-skip",
    trigger=inngest.TriggerEvent(event="e2e-flow/singleton-skip"),
    singleton=inngest.Singleton(mode="skip", key="event.data.k"),
)
async def singleton_skip_fn(ctx: inngest.Context) -> str:
    return await _start_then_sleep("singleton-skip", ctx)


@client.create_function(
    fn_id="singleton-cancel",
    trigger=inngest.TriggerEvent(event="e2e-flow/singleton-cancel"),
    singleton=inngest.Singleton(mode="cancel", key="event.data.k"),
)
async def singleton_cancel_fn(ctx: inngest.Context) -> str:
    return await _start_then_sleep("singleton-cancel", ctx)


# ----------------------------------------------------------------------------- timeouts


@client.create_function(
    fn_id="timeout-finish",
    trigger=inngest.TriggerEvent(event="e2e-flow/timeout-finish"),
    timeouts=inngest.Timeouts(finish=datetime.timedelta(seconds=2)),
)
async def timeout_finish_fn(ctx: inngest.Context) -> str:
    return await _start_then_sleep("timeout-finish", ctx)


@client.create_function(
    fn_id="timeout-start",
    trigger=inngest.TriggerEvent(event="e2e-flow/timeout-start"),
    concurrency=[inngest.Concurrency(limit=1)],
    timeouts=inngest.Timeouts(start=datetime.timedelta(seconds=2)),
)
async def timeout_start_fn(ctx: inngest.Context) -> str:
    # `begin` is the run's first execution (held `first_hold` s); `work` then holds the
    # function's only concurrency slot for `hold` s while the run is already started.
    async def begin() -> str:
        _record("timeout-start", ctx, step="begin")
        await asyncio.sleep(float(ctx.event.data.get("first_hold", 0)))
        return "begin"

    await ctx.step.run("begin", begin)

    async def work() -> str:
        _record("timeout-start", ctx, step="work")
        await asyncio.sleep(float(ctx.event.data.get("hold", 0)))
        return str(ctx.event.data.get("name"))

    return await ctx.step.run("work", work)


FUNCTIONS: list[inngest.Function[Any]] = [
    concurrency_fn,
    concurrency_key_fn,
    throttle_fn,
    rate_limit_fn,
    idempotency_fn,
    debounce_fn,
    debounce_timeout_fn,
    batch_fn,
    batch_if_fn,
    priority_fn,
    singleton_skip_fn,
    singleton_cancel_fn,
    timeout_finish_fn,
    timeout_start_fn,
]

# ----------------------------------------------------------------------------- cron

if os.environ.get("E2E_FLOW_CRON") == "1":

    @client.create_function(fn_id="cron", trigger=inngest.TriggerCron(cron="* * * * *"))
    async def cron_fn(ctx: inngest.Context) -> dict[str, Any]:
        async def tick() -> dict[str, Any]:
            rec = _record("cron", ctx)
            return {"event_id": rec["event_id"], "data": rec["data"]}

        return await ctx.step.run("tick", tick)

    FUNCTIONS.append(cron_fn)

EXPECTED_SLUGS = sorted(f.id for f in FUNCTIONS)

# ----------------------------------------------------------------------------- serve

app = fastapi.FastAPI()
inngest.fast_api.serve(app, client, FUNCTIONS)


@app.get("/counts")
async def counts() -> dict[str, int]:
    return dict(COUNTS)


@app.get("/inflight")
async def inflight() -> dict[str, dict[str, int]]:
    return {k: dict(v) for k, v in INFLIGHT.items()}


@app.get("/log")
async def log() -> dict[str, list[dict[str, Any]]]:
    return {k: list(v) for k, v in LOG.items()}
