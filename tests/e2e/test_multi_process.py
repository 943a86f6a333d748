"""Two `inngestd start` processes on one Redis and PostgreSQL share the work, and when one
is killed with SIGKILL in the middle of 200 runs, the other finishes every run."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import (
    Api,
    free_port,
    shared_backend_args,
    uid,
    wait_until,
)
from tests.e2e.test_start_auth import (
    APP_ID,
    BEARER,
    EVENT_KEY,
    SLUGS,
    CloudAppProcess,
    keyed_server,
)

RUNS = 200
STEPS = ("s1", "s2", "s3")


@pytest.mark.timeout(300)
def test_two_processes_share_runs_and_survive_a_kill(tmp_path: Path) -> None:
    shared = shared_backend_args()
    app_port = free_port()
    app_url = f"http://127.0.0.1:{app_port}/api/inngest"
    first = keyed_server(tmp_path, "first", shared, [app_url])
    second = keyed_server(tmp_path, "second", shared, [])
    app = CloudAppProcess.for_server(app_port, first.url, tmp_path / "app.log")
    try:
        first.start()
        second.start()
        app.start()
        api_first = Api(first.url, EVENT_KEY, bearer=BEARER)
        api_first.wait_synced(APP_ID, slugs=SLUGS, timeout=30)
        tag = uid()
        keys = [f"{tag}-{i}" for i in range(RUNS)]
        ids: list[str] = []
        for start in range(0, RUNS, 50):
            batch = [
                {"name": "cloud/work", "data": {"k": k}}
                for k in keys[start : start + 50]
            ]
            r = httpx.post(f"{app.url}/send", json=batch, timeout=30)
            assert r.status_code == 200, r.text
            ids += r.json()["ids"]
        assert len(ids) == RUNS

        def counts() -> dict[str, int]:
            return dict(httpx.get(f"{app.url}/counts", timeout=10).json())

        # Both processes take calls before the kill.
        wait_until(
            lambda: len(httpx.get(f"{app.url}/workers", timeout=10).json()) >= 2,
            timeout=60,
            message="both inngestd processes calling the app",
        )
        wait_until(
            lambda: (
                sum(v for c, v in counts().items() if c.endswith(tuple(keys)))
                >= RUNS // 2
            ),
            timeout=60,
            message="half the steps executed",
        )
        first.kill9()

        api_second = Api(second.url, EVENT_KEY, bearer=BEARER)
        try:

            def all_completed() -> bool:
                done = 0
                for event_id in ids:
                    runs = api_second.runs_for_event(event_id)
                    done += sum(1 for run in runs if run["status"] == "Completed")
                return done == RUNS

            wait_until(
                all_completed,
                timeout=180,
                interval=1.0,
                message="all 200 runs completed",
            )
            for event_id, k in zip(ids[:20], keys[:20], strict=True):
                [run] = api_second.runs_for_event(event_id)
                assert run["output"] == {
                    "k": k,
                    "steps": [f"{s}-{k}" for s in STEPS],
                }, run
        finally:
            api_second.close()
            api_first.close()
        seen = counts()
        missing = [
            f"{s}:{k}" for k in keys for s in STEPS if seen.get(f"{s}:{k}", 0) < 1
        ]
        assert not missing, missing[:10]
        # A step body runs again only when the killed process had its call in flight.
        repeats = sum(seen.get(f"{s}:{k}", 0) - 1 for k in keys for s in STEPS)
        assert repeats <= 100, f"{repeats} repeated step executions"
        assert "Traceback" not in second.log_text(), second.log_tail()
    finally:
        app.stop()
        second.stop()
        first.stop()
