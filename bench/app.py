"""The SDK app driven by ``bench/run.py`` (official ``inngest`` SDK + FastAPI).

One function, ``ten-steps``, triggered by ``bench/ten-steps``: ten sequential
``step.run`` steps, each returning a small dict. Every event carries a unique
integer ``data.i``; the app records, in-process, the wall-clock time
(``time.time()``) at which the last step body finished and at which the function
body returned (the call that completes the run), keyed by ``i``. The benchmark
client runs on the same machine, so ``returned_at - sent_at`` is the
event-to-completion latency without any polling error.

Routes besides the SDK's ``/api/inngest``:

* ``GET /bench/results`` -> ``{"<i>": {"last_step_at": t, "returned_at": t}}``;
* ``POST /bench/wait`` ``{"ids": [i, ...], "timeout": s}`` -> long-poll until every
  listed ``i`` has returned (or the timeout passes); answers ``{"missing": n}``;
* ``GET /bench/stats`` -> how many step bodies / final calls executed in total and
  which ``i`` executed a step body more than once (should be none);
* ``POST /bench/noop`` -> ``{"ok": true}``, the bare HTTP round trip for the floor.

Run: ``INNGEST_DEV=1 INNGEST_BASE_URL=http://127.0.0.1:P \
python -m uvicorn bench.app:app --port Q``
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from typing import Any

import fastapi
import inngest
import inngest.fast_api

APP_ID = "bench"
FUNCTION_ID = "ten-steps"
EVENT_NAME = "bench/ten-steps"
STEPS = 10

client = inngest.Inngest(app_id=APP_ID, is_production=False)

#: ``i`` -> timestamps of the run's completion (first observation wins).
RESULTS: dict[int, dict[str, float]] = {}
#: ``(i, step index)`` -> how many times that step body executed.
STEP_EXECUTIONS: Counter[tuple[int, int]] = Counter()
#: ``i`` -> when the last step body finished (first execution wins).
LAST_STEP_AT: dict[int, float] = {}
#: How many times the function body ran to its ``return`` (1 per run ideally).
RETURNS: Counter[int] = Counter()
#: Notified whenever a run completes, for ``/bench/wait``.
_COMPLETED = asyncio.Condition()


def _make_step(i: int, index: int) -> Any:
    async def body() -> dict[str, Any]:
        STEP_EXECUTIONS[(i, index)] += 1
        if index == STEPS - 1:
            LAST_STEP_AT.setdefault(i, time.time())
        return {"i": i, "step": index, "ok": True}

    return body


@client.create_function(
    fn_id=FUNCTION_ID,
    trigger=inngest.TriggerEvent(event=EVENT_NAME),
    retries=0,
)
async def ten_steps(ctx: inngest.Context) -> dict[str, Any]:
    i = int(ctx.event.data["i"])
    last: Any = None
    for index in range(STEPS):
        last = await ctx.step.run(f"step-{index}", _make_step(i, index))
    # Only reached on the call in which every step is memoized: the final call.
    now = time.time()
    RETURNS[i] += 1
    if i not in RESULTS:
        RESULTS[i] = {"last_step_at": LAST_STEP_AT.get(i, now), "returned_at": now}
        async with _COMPLETED:
            _COMPLETED.notify_all()
    return {"i": i, "steps": STEPS, "last": last}


app = fastapi.FastAPI()


@app.post("/bench/noop")
async def noop() -> dict[str, bool]:
    return {"ok": True}


@app.get("/bench/results")
async def results() -> dict[str, dict[str, float]]:
    return {str(i): r for i, r in RESULTS.items()}


@app.post("/bench/wait")
async def wait(body: dict[str, Any]) -> dict[str, int]:
    ids = [int(i) for i in body.get("ids", [])]
    timeout = float(body.get("timeout", 10.0))

    def missing() -> int:
        return sum(1 for i in ids if i not in RESULTS)

    async with _COMPLETED:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await _COMPLETED.wait_for(lambda: missing() == 0)
    return {"missing": missing()}


@app.get("/bench/stats")
async def stats() -> dict[str, Any]:
    dup_steps = sorted({i for (i, _), n in STEP_EXECUTIONS.items() if n > 1})
    dup_returns = sorted(i for i, n in RETURNS.items() if n > 1)
    return {
        "step_executions": sum(STEP_EXECUTIONS.values()),
        "returns": sum(RETURNS.values()),
        "completed": len(RESULTS),
        "duplicate_step_runs": dup_steps,
        "duplicate_returns": dup_returns,
    }


inngest.fast_api.serve(app, client, [ten_steps])
