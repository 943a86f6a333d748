"""A small SDK app whose function set depends on ``E2E_SYNC_VARIANT`` (v1 | v2).

* v1: ``alpha`` ("Alpha v1", on ``e2e-sync/alpha``) and ``beta`` (on ``e2e-sync/beta``).
* v2: ``alpha`` renamed "Alpha v2" and re-triggered on ``e2e-sync/alpha2``; ``beta`` removed;
  ``gamma`` added (on ``e2e-sync/gamma``).

Restarting the process with another variant and re-syncing must add, remove and
update functions on the server.
"""

from __future__ import annotations

import os

import fastapi
import inngest
import inngest.fast_api

from tests.e2e.apps import is_production

APP_ID = "e2e-sync"
VARIANT = os.environ.get("E2E_SYNC_VARIANT", "v1")

client = inngest.Inngest(app_id=APP_ID, is_production=is_production())


def _make_alpha() -> inngest.Function[str]:
    event = "e2e-sync/alpha" if VARIANT == "v1" else "e2e-sync/alpha2"

    @client.create_function(
        fn_id="alpha",
        name=f"Alpha {VARIANT}",
        trigger=inngest.TriggerEvent(event=event),
    )
    async def alpha(ctx: inngest.Context) -> str:
        return f"alpha-{VARIANT}"

    return alpha


@client.create_function(
    fn_id="beta", trigger=inngest.TriggerEvent(event="e2e-sync/beta")
)
async def beta(ctx: inngest.Context) -> str:
    return f"beta-{VARIANT}"


@client.create_function(
    fn_id="gamma", trigger=inngest.TriggerEvent(event="e2e-sync/gamma")
)
async def gamma(ctx: inngest.Context) -> str:
    return f"gamma-{VARIANT}"


FUNCTIONS: list[inngest.Function[str]] = (
    [_make_alpha(), beta] if VARIANT == "v1" else [_make_alpha(), gamma]
)
SLUGS = sorted(f.id for f in FUNCTIONS)

app = fastapi.FastAPI()


@app.get("/variant")
async def variant() -> dict[str, str]:
    return {"variant": VARIANT}


inngest.fast_api.serve(app, client, FUNCTIONS)
