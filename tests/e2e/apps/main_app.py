"""The main SDK app for the e2e tier (official `inngest` Python SDK + FastAPI).

Every function reads a per-test tag ``event.data.k`` and counts each step body
execution under ``"<fn>:<step>:<k>"``. ``GET /counts`` returns those counters, so
tests can assert that a memoized step is never executed again. ``GET /records``
returns what recorders (the on_failure handler) received, keyed by ``k``.

Run: ``INNGEST_DEV=1 INNGEST_BASE_URL=http://127.0.0.1:P \
python -m uvicorn tests.e2e.apps.main_app:app --port Q``
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections import Counter, defaultdict
from typing import Any

import fastapi
import inngest
import inngest.fast_api

from tests.e2e.apps import is_production

APP_ID = "e2e-app"

client = inngest.Inngest(app_id=APP_ID, is_production=is_production())

COUNTS: Counter[str] = Counter()
RECORDS: defaultdict[str, list[Any]] = defaultdict(list)


def _k(ctx: inngest.Context) -> str:
    return str(ctx.event.data.get("k", ""))


def _count(fn: str, step: str, k: str) -> int:
    key = f"{fn}:{step}:{k}"
    COUNTS[key] += 1
    return COUNTS[key]


# ----------------------------------------------------------------------------- steps


@client.create_function(fn_id="chain", trigger=inngest.TriggerEvent(event="e2e/chain"))
async def chain(ctx: inngest.Context) -> dict[str, Any]:
    k = _k(ctx)
    _count("chain", "call", k)  # one per SDK call (the handler replays on every call)
    base = int(ctx.event.data.get("n", 1))

    async def a() -> int:
        _count("chain", "a", k)
        return base + 1

    va = await ctx.step.run("a", a)

    async def b() -> int:
        _count("chain", "b", k)
        return va * 10

    vb = await ctx.step.run("b", b)

    async def c() -> str:
        _count("chain", "c", k)
        return f"{va}-{vb}"

    vc = await ctx.step.run("c", c)
    return {"a": va, "b": vb, "c": vc, "sum": va + vb}


@client.create_function(
    fn_id="parallel", trigger=inngest.TriggerEvent(event="e2e/parallel")
)
async def parallel(ctx: inngest.Context) -> dict[str, Any]:
    k = _k(ctx)
    _count("parallel", "call", k)

    def make(i: int) -> Any:
        async def body() -> int:
            _count("parallel", f"p{i}", k)
            return i * i

        return lambda: ctx.step.run(f"p{i}", body)

    results = await ctx.group.parallel(tuple(make(i) for i in (1, 2, 3)))

    async def after() -> int:
        _count("parallel", "after", k)
        return sum(results)

    total = await ctx.step.run("after", after)
    return {"parallel": list(results), "after": total}


@client.create_function(fn_id="sleep", trigger=inngest.TriggerEvent(event="e2e/sleep"))
async def sleep_fn(ctx: inngest.Context) -> dict[str, Any]:
    k = _k(ctx)
    seconds = float(ctx.event.data.get("seconds", 2))

    async def before() -> float:
        _count("sleep", "before", k)
        return time.time()

    t0 = await ctx.step.run("before", before)
    await ctx.step.sleep("nap", datetime.timedelta(seconds=seconds))

    async def after() -> float:
        _count("sleep", "after", k)
        return time.time()

    t1 = await ctx.step.run("after", after)
    return {"before": t0, "after": t1}


@client.create_function(
    fn_id="sleep-until", trigger=inngest.TriggerEvent(event="e2e/sleep-until")
)
async def sleep_until_fn(ctx: inngest.Context) -> dict[str, Any]:
    k = _k(ctx)
    until_ms = int(ctx.event.data["until_ms"])
    until = datetime.datetime.fromtimestamp(until_ms / 1000, tz=datetime.UTC)
    await ctx.step.sleep_until("until", until)

    async def after() -> float:
        _count("sleep-until", "after", k)
        return time.time()

    t1 = await ctx.step.run("after", after)
    return {"until_ms": until_ms, "after": t1}


@client.create_function(fn_id="flaky", trigger=inngest.TriggerEvent(event="e2e/flaky"))
async def flaky(ctx: inngest.Context) -> dict[str, Any]:
    """Step `flaky` fails twice, then succeeds (default retries = 4)."""
    k = _k(ctx)

    async def pre() -> str:
        _count("flaky", "pre", k)
        return "pre"

    await ctx.step.run("pre", pre)

    async def flaky_step() -> dict[str, Any]:
        n = _count("flaky", "flaky", k)
        if n <= 2:
            raise ValueError(f"flaky failure {n}")
        return {"attempts": n, "attempt_ctx": ctx.attempt}

    out = await ctx.step.run("flaky", flaky_step)
    return {"result": "ok", **out}


@client.create_function(
    fn_id="retry-after", trigger=inngest.TriggerEvent(event="e2e/retry-after")
)
async def retry_after(ctx: inngest.Context) -> dict[str, Any]:
    """The step asks for a retry in 2 seconds once, then succeeds."""
    k = _k(ctx)

    async def later() -> dict[str, Any]:
        n = _count("retry-after", "later", k)
        if n == 1:
            raise inngest.RetryAfterError(f"come back later {k}", 2000)
        return {"attempts": n, "at": time.time()}

    out = await ctx.step.run("later", later)
    return {"result": "ok", **out}


# ----------------------------------------------------------------------------- wait / invoke


@client.create_function(fn_id="wait", trigger=inngest.TriggerEvent(event="e2e/wait"))
async def wait_fn(ctx: inngest.Context) -> dict[str, Any]:
    k = _k(ctx)

    async def before() -> str:
        _count("wait", "before", k)
        return "waiting"

    await ctx.step.run("before", before)
    ev = await ctx.step.wait_for_event(
        "wait",
        event="e2e/wait.reply",
        if_exp="event.data.id == async.data.id",
        timeout=datetime.timedelta(seconds=float(ctx.event.data.get("timeout_s", 30))),
    )

    async def after() -> str:
        _count("wait", "after", k)
        return "done"

    await ctx.step.run("after", after)
    return {
        "matched": None
        if ev is None
        else {"name": ev.name, "data": dict(ev.data), "id": ev.id}
    }


@client.create_function(
    fn_id="invoked", trigger=inngest.TriggerEvent(event="e2e/invoked.direct")
)
async def invoked(ctx: inngest.Context) -> dict[str, Any]:
    k = _k(ctx)

    async def work() -> int:
        _count("invoked", "work", k)
        return int(ctx.event.data.get("x", 0)) * 2

    doubled = await ctx.step.run("work", work)
    return {"doubled": doubled, "k": k}


@client.create_function(
    fn_id="invoker", trigger=inngest.TriggerEvent(event="e2e/invoke")
)
async def invoker(ctx: inngest.Context) -> dict[str, Any]:
    k = _k(ctx)
    result = await ctx.step.invoke(
        "call",
        function=invoked,
        data={"x": int(ctx.event.data.get("x", 0)), "k": k},
    )

    async def after() -> str:
        _count("invoker", "after", k)
        return "after"

    await ctx.step.run("after", after)
    return {"invoked": result}


@client.create_function(
    fn_id="send-event", trigger=inngest.TriggerEvent(event="e2e/send-event")
)
async def send_event_fn(ctx: inngest.Context) -> dict[str, Any]:
    k = _k(ctx)
    ids = await ctx.step.send_event(
        "emit",
        [
            inngest.Event(
                name="e2e/simple", data={"k": f"{k}-a", "from": "send-event"}
            ),
            inngest.Event(
                name="e2e/simple", data={"k": f"{k}-b", "from": "send-event"}
            ),
        ],
    )

    async def after() -> str:
        _count("send-event", "after", k)
        return "after"

    await ctx.step.run("after", after)
    return {"ids": ids}


# ----------------------------------------------------------------------------- failures / cancel


async def _record_failure(ctx: inngest.Context) -> None:
    """on_failure handler: records the inngest/function.failed event it received."""
    data = dict(ctx.event.data)
    original = data.get("event") or {}
    k = (
        str((original.get("data") or {}).get("k", ""))
        if isinstance(original, dict)
        else ""
    )
    RECORDS[f"on_failure:{k}"].append(
        {"name": ctx.event.name, "id": ctx.event.id, "data": data, "run_id": ctx.run_id}
    )


@client.create_function(
    fn_id="nonretriable",
    trigger=inngest.TriggerEvent(event="e2e/nonretriable"),
    on_failure=_record_failure,
)
async def nonretriable(ctx: inngest.Context) -> None:
    k = _k(ctx)

    async def pre() -> str:
        _count("nonretriable", "pre", k)
        return "pre"

    await ctx.step.run("pre", pre)
    _count("nonretriable", "raise", k)
    raise inngest.NonRetriableError(f"nope {k}")


@client.create_function(
    fn_id="exhaust",
    retries=1,
    trigger=inngest.TriggerEvent(event="e2e/exhaust"),
)
async def exhaust(ctx: inngest.Context) -> None:
    k = _k(ctx)

    async def boom() -> None:
        _count("exhaust", "boom", k)
        raise ValueError(f"boom {k}")

    await ctx.step.run("boom", boom)


@client.create_function(
    fn_id="cancellable",
    trigger=inngest.TriggerEvent(event="e2e/cancellable"),
    cancel=[
        inngest.Cancel(event="e2e/cancel", if_exp="event.data.id == async.data.id")
    ],
)
async def cancellable(ctx: inngest.Context) -> str:
    k = _k(ctx)

    async def start() -> str:
        _count("cancellable", "start", k)
        return "started"

    await ctx.step.run("start", start)
    await ctx.step.sleep("long", datetime.timedelta(seconds=60))

    async def after() -> str:
        _count("cancellable", "after", k)
        return "after"

    await ctx.step.run("after", after)
    return "not cancelled"


@client.create_function(
    fn_id="invoke-err", trigger=inngest.TriggerEvent(event="e2e/invoke-err")
)
async def invoke_err(ctx: inngest.Context) -> dict[str, Any]:
    """Invokes a failing function (mode=fail) or a slow one with a 2s timeout (mode=timeout)
    and reports the StepError the SDK raised."""
    k = _k(ctx)
    mode = ctx.event.data.get("mode")
    try:
        if mode == "fail":
            await ctx.step.invoke("call", function=nonretriable, data={"k": k})
        else:
            await ctx.step.invoke(
                "call",
                function=cancellable,
                data={"k": k, "id": f"invoked-{k}"},
                timeout=datetime.timedelta(seconds=2),
            )
    except inngest.StepError as err:
        return {"caught": True, "name": err.name, "message": err.message}
    return {"caught": False}


# ----------------------------------------------------------------------------- restart


SLOW_STEPS = 5


@client.create_function(fn_id="slow", trigger=inngest.TriggerEvent(event="e2e/slow"))
async def slow(ctx: inngest.Context) -> list[int]:
    """5 steps, each sleeping 0.5s in-process: a run that is easy to kill mid-way."""
    k = _k(ctx)
    out: list[int] = []
    for i in range(SLOW_STEPS):

        async def body(i: int = i) -> int:
            _count("slow", f"s{i}", k)
            await asyncio.sleep(0.5)
            return i

        out.append(await ctx.step.run(f"s{i}", body))
    return out


@client.create_function(
    fn_id="simple", trigger=inngest.TriggerEvent(event="e2e/simple")
)
async def simple(ctx: inngest.Context) -> dict[str, Any]:
    """No steps: counts each execution and reports when it ran."""
    k = _k(ctx)
    _count("simple", "body", k)
    return {
        "k": k,
        "ran_at": time.time(),
        "event_id": ctx.event.id,
        "event_ts": ctx.event.ts,
    }


# ----------------------------------------------------------------------------- triggers


@client.create_function(
    fn_id="expr",
    trigger=inngest.TriggerEvent(
        event="e2e/expr", expression="event.data.amount > 100"
    ),
)
async def expr(ctx: inngest.Context) -> dict[str, Any]:
    _count("expr", "body", _k(ctx))
    return {"amount": ctx.event.data.get("amount")}


@client.create_function(fn_id="wild", trigger=inngest.TriggerEvent(event="e2e/wild.*"))
async def wild(ctx: inngest.Context) -> dict[str, Any]:
    _count("wild", "body", _k(ctx))
    return {"name": ctx.event.name}


@client.create_function(
    fn_id="multi",
    trigger=[
        inngest.TriggerEvent(event="e2e/multi.a"),
        inngest.TriggerEvent(event="e2e/multi.b"),
    ],
)
async def multi(ctx: inngest.Context) -> dict[str, Any]:
    _count("multi", "body", _k(ctx))
    return {"name": ctx.event.name}


FUNCTIONS = [
    chain,
    parallel,
    sleep_fn,
    sleep_until_fn,
    flaky,
    retry_after,
    wait_fn,
    invoked,
    invoker,
    send_event_fn,
    invoke_err,
    nonretriable,
    exhaust,
    cancellable,
    slow,
    simple,
    expr,
    wild,
    multi,
]

#: Every function slug the SDK registers (on_failure handlers are separate functions).
EXPECTED_SLUGS = sorted(
    [f.id for f in FUNCTIONS]
    + [f.on_failure_fn_id for f in FUNCTIONS if f.on_failure_fn_id]
)

app = fastapi.FastAPI()


@app.get("/counts")
async def counts() -> dict[str, int]:
    return dict(COUNTS)


@app.get("/records")
async def records() -> dict[str, list[Any]]:
    return dict(RECORDS)


@app.post("/send")
async def send(request: fastapi.Request) -> dict[str, Any]:
    """Send the body (an event or a list of events) through the SDK client."""
    payload = await request.json()
    items = payload if isinstance(payload, list) else [payload]
    ids = await client.send(
        [inngest.Event(name=e["name"], data=e.get("data") or {}) for e in items]
    )
    return {"ids": ids}


inngest.fast_api.serve(app, client, FUNCTIONS)
