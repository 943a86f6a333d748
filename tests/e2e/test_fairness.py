"""Queue fairness end to end: a backlog of one function does not hold back another.

The server runs two steps at a time (`--queue-workers 2`). Forty `flood` runs, each with a
0.2 s step, are queued before one `other` run: served in arrival order, `other` would wait
for all forty flood steps (about 4 s); served fairly, it runs at the next lease.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.e2e.harness import TERMINAL, Api, AppProcess, ServerProcess, wait_until

FLOOD_RUNS = 40


def test_a_flooded_function_does_not_starve_another(
    server_factory: Callable[..., ServerProcess],
    app_factory: Callable[..., AppProcess],
) -> None:
    from tests.e2e.apps import fair_app

    server = server_factory(extra_args=["--queue-workers", "2"])
    app = app_factory("fair_app", server=server)
    api = Api(server.url)
    try:
        app.sync()
        api.wait_synced(fair_app.APP_ID, slugs=fair_app.SLUGS)
        flood_ids = api.send(
            [{"name": "e2e-fair/flood", "data": {"i": i}} for i in range(FLOOD_RUNS)]
        )
        other_id = api.send_one("e2e-fair/other", {})

        def other_done() -> dict[str, object] | None:
            runs = api.runs_for_event(other_id)
            return runs[0] if runs and runs[0]["status"] in TERMINAL else None

        run = wait_until(other_done, timeout=30)
        flood_steps_then = httpx.get(f"{app.url}/counts", timeout=5).json()["flood"]
        assert run["status"] == "Completed"
        # Fair: `other` ran after a few flood steps, not after the whole backlog.
        assert flood_steps_then <= FLOOD_RUNS // 2, flood_steps_then

        def all_flood_done() -> bool:
            return all(
                (runs := api.runs_for_event(i)) and runs[0]["status"] == "Completed"
                for i in flood_ids
            )

        wait_until(all_flood_done, timeout=60)
    finally:
        api.close()
