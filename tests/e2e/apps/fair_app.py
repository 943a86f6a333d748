"""An SDK app for the queue fairness scenario: `flood` (a slow step, run many times) and
`other` (one quick step). ``GET /counts`` -> how many `flood` step bodies have run.

Run: ``INNGEST_DEV=1 INNGEST_BASE_URL=http://127.0.0.1:P \
python -m uvicorn tests.e2e.apps.fair_app:app --port Q``
"""

from __future__ import annotations

import asyncio

import fastapi
import inngest
import inngest.fast_api

from tests.e2e.apps import is_production

APP_ID = "e2e-fair"
FLOOD_STEP_SECONDS = 0.2

client = inngest.Inngest(app_id=APP_ID, is_production=is_production())
FLOOD_STEPS = 0


@client.create_function(
    fn_id="flood", trigger=inngest.TriggerEvent(event="e2e-fair/flood")
)
async def flood(ctx: inngest.Context) -> str:
    async def slow() -> str:
        global FLOOD_STEPS
        FLOOD_STEPS += 1
        await asyncio.sleep(FLOOD_STEP_SECONDS)
        return "slow"

    return await ctx.step.run("slow", slow)


@client.create_function(
    fn_id="other", trigger=inngest.TriggerEvent(event="e2e-fair/other")
)
async def other(ctx: inngest.Context) -> str:
    async def quick() -> str:
        return "quick"

    return await ctx.step.run("quick", quick)


FUNCTIONS = [flood, other]
SLUGS = sorted(f.id for f in FUNCTIONS)

app = fastapi.FastAPI()


@app.get("/counts")
async def counts() -> dict[str, int]:
    return {"flood": FLOOD_STEPS}


inngest.fast_api.serve(app, client, FUNCTIONS)
