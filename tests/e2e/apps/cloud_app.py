"""An SDK app in cloud mode (official `inngest` Python SDK + FastAPI), for `inngestd start`.

The client's mode comes from the environment (no ``is_production`` argument): run it with
``INNGEST_DEV=0``, ``INNGEST_SIGNING_KEY=signkey-<env>-<hex>``, ``INNGEST_EVENT_KEY=<key>``
and ``INNGEST_BASE_URL=http://127.0.0.1:<port>``. In cloud mode the SDK rejects every
request whose ``X-Inngest-Signature`` does not verify, signs its replies, sends the bearer
hash of its key to ``/fn/register`` and its event key in ``/e/{key}``: a run that finishes
proves the server signs correctly.

``GET /counts`` returns how many times each step body ran; ``POST /send`` sends events
through the SDK client (so the event key in ``/e/{key}`` is the SDK's own).
"""

from __future__ import annotations

import asyncio
import datetime
from collections import Counter
from typing import Any

import fastapi
import inngest
import inngest.fast_api

APP_ID = "e2e-cloud-app"

client = inngest.Inngest(app_id=APP_ID)

COUNTS: Counter[str] = Counter()


def _count(step: str, k: str) -> None:
    COUNTS[f"{step}:{k}"] += 1


@client.create_function(
    fn_id="steps", trigger=inngest.TriggerEvent(event="cloud/steps")
)
async def steps(ctx: inngest.Context) -> dict[str, Any]:
    k = str(ctx.event.data.get("k", ""))
    text = str(ctx.event.data.get("text", ""))

    async def a() -> dict[str, Any]:
        _count("a", k)
        # Keys out of order, non-ASCII text and floats: the memo sent back in later
        # calls must be signed over its canonical (JCS) form.
        return {"z": 1.5, "a": text, "m": [3, 2.25, {"y": None, "b": True}]}

    va = await ctx.step.run("a", a)
    await ctx.step.sleep("nap", datetime.timedelta(milliseconds=200))

    async def b() -> str:
        _count("b", k)
        return f"{va['a']}|{va['z']}"

    vb = await ctx.step.run("b", b)
    return {"a": va, "b": vb}


FUNCTIONS = [steps]

WORKERS: Counter[str] = Counter()


@client.create_function(
    fn_id="work", trigger=inngest.TriggerEvent(event="cloud/work"), retries=5
)
async def work(ctx: inngest.Context) -> dict[str, Any]:
    """Three slow steps (multi-process test): counts each body and which server called."""
    k = str(ctx.event.data.get("k", ""))
    out = []
    for name in ("s1", "s2", "s3"):

        async def body(name: str = name) -> str:
            _count(name, k)
            await asyncio.sleep(0.1)
            return f"{name}-{k}"

        out.append(await ctx.step.run(name, body))
    return {"k": k, "steps": out}


FUNCTIONS.append(work)

app = fastapi.FastAPI()


@app.middleware("http")
async def record_worker(request: fastapi.Request, call_next: Any) -> Any:
    worker = request.headers.get("x-inngestd-worker")
    if worker:
        WORKERS[worker] += 1
    return await call_next(request)


@app.get("/workers")
async def workers() -> dict[str, int]:
    return dict(WORKERS)


@app.get("/counts")
async def counts() -> dict[str, int]:
    return dict(COUNTS)


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
