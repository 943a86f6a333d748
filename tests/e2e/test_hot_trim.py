"""Bounded hot memory: on Redis + PostgreSQL, `inngestd start` removes ended runs and old
events from Redis once PostgreSQL has them, and the APIs answer the same from PostgreSQL.

Runs against the shared backends only (it reads Redis directly), whatever
INNGESTD_TEST_BACKEND says."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inngestd.store.redis.keys import Keys
from tests.e2e.harness import (
    REDIS_URL,
    Api,
    free_port,
    shared_backend_args,
    sync_redis,
    uid,
    wait_until,
)
from tests.e2e.test_gql import RUN_DETAIL
from tests.e2e.test_start_auth import (
    APP_ID,
    BEARER,
    EVENT_KEY,
    SLUGS,
    CloudAppProcess,
    keyed_server,
)

RUNS = 5
# Long enough to read every API answer while the run is still in Redis.
HOT_RETENTION_S = 6
# Kinds a finished, trimmed deployment may keep: counters, the trim bookkeeping, leases of
# singleton tasks, and idempotency claims (they expire after their 24 h window).
CONSTANT_KINDS = {"seq", "spanseq", "trimgen", "trimmark", "relayed", "leader", "idem"}
# Transient: records on their way to PostgreSQL.
CONSTANT_KINDS |= {"outbox", "outboxwip"}


def _option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


class Deployment:
    def __init__(self, tmp_path: Path) -> None:
        self.shared = shared_backend_args()
        self.keys = Keys(_option(self.shared, "--redis-prefix"))
        app_port = free_port()
        self.server = keyed_server(
            tmp_path,
            "data",
            self.shared,
            [f"http://127.0.0.1:{app_port}/api/inngest"],
            "--hot-retention",
            str(HOT_RETENTION_S),
            "--trim-interval",
            "0.2",
        )
        self.app = CloudAppProcess.for_server(
            app_port, self.server.url, tmp_path / "cloud-app.log"
        )
        self.redis = sync_redis(REDIS_URL)
        self.api = Api(self.server.url, EVENT_KEY, bearer=BEARER)

    def redis_keys(self) -> list[str]:
        pattern = self.keys.pattern()
        return [k.decode() for k in self.redis.scan_iter(match=pattern, count=1000)]

    def kinds(self) -> Counter[str]:
        root = self.keys.root + ":"
        return Counter(k.removeprefix(root).split(":", 1)[0] for k in self.redis_keys())

    def keys_naming(self, idents: list[str]) -> dict[str, list[str]]:
        """Keys about each run or event, from one scan (an idempotency claim names its
        event, but stays)."""
        idem = f"{self.keys.root}:idem:"
        keys = [k for k in self.redis_keys() if not k.startswith(idem)]
        return {i: [k for k in keys if i in k] for i in idents}

    def close(self) -> None:
        self.api.close()
        self.redis.close()
        self.app.stop()
        self.server.stop()


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    d = Deployment(tmp_path)
    try:
        d.server.start()
        d.app.start()
        d.api.wait_synced(APP_ID, slugs=SLUGS, timeout=30)
        yield d
    finally:
        d.close()


def _get(api: Api, path: str) -> Any:
    r = api.http.get(path)
    assert r.status_code == 200, f"GET {path}: {r.status_code} {r.text}"
    return r.json()


def _gql(api: Api, run_id: str) -> Any:
    r = api.http.post(
        "/v0/gql", json={"query": RUN_DETAIL, "variables": {"runID": run_id}}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, body
    return body["data"]


def _answers(api: Api, event_id: str, run_id: str) -> dict[str, Any]:
    """Everything the HTTP API tells about the run and its event."""
    return {
        "run": _get(api, f"/v1/runs/{run_id}"),
        "steps": _get(api, f"/v1/runs/{run_id}/steps"),
        "event": _get(api, f"/v1/events/{event_id}"),
        "event_runs": _get(api, f"/v1/events/{event_id}/runs"),
        "gql": _gql(api, run_id),
    }


@pytest.mark.timeout(180)
def test_ended_runs_leave_redis_and_read_the_same_from_postgres(
    deployment: Deployment,
) -> None:
    d, api = deployment, deployment.api
    baseline = len(d.redis_keys())
    tag = uid()
    event_ids = [api.send_one("cloud/steps", {"k": f"{tag}-{i}"}) for i in range(RUNS)]
    runs = [api.wait_for_run(eid, "Completed", timeout=60) for eid in event_ids]
    run_ids = [r["run_id"] for r in runs]

    # Read while the runs are hot (status from Redis). The trace comes from PostgreSQL,
    # which the outbox relay feeds a moment behind the run: wait for the last step's span.
    def traced(run_id: str) -> bool:
        trace = _gql(api, run_id)["run"]["trace"] or {}
        names = {c["name"]: c["status"] for c in trace.get("childrenSpans") or []}
        return names.get("b") == "COMPLETED"

    for run_id in run_ids:
        wait_until(lambda r=run_id: traced(r), timeout=10, message=f"trace of {run_id}")
    before = [_answers(api, e, r) for e, r in zip(event_ids, run_ids, strict=True)]
    hot_keys = len(d.redis_keys())
    naming = d.keys_naming(run_ids + event_ids)
    for ident, keys in naming.items():
        assert keys, f"{ident} already left Redis: too slow"
    assert before[0]["run"]["data"]["status"] == "Completed"
    assert [s["step_id"] for s in before[0]["steps"]["data"]]

    # The trim task removes them a few seconds after they ended.
    def gone() -> bool:
        return not any(d.keys_naming(run_ids + event_ids).values())

    wait_until(
        gone,
        timeout=60,
        interval=0.2,
        message=lambda: f"runs and events left Redis; left: {d.kinds()}",
    )
    after = [_answers(api, e, r) for e, r in zip(event_ids, run_ids, strict=True)]
    for b, a in zip(before, after, strict=True):
        assert a == b

    # Listing still shows the trimmed events (newest first, from PostgreSQL).
    listed = _get(api, "/v1/events?name=cloud/steps")["data"]
    assert [e["internal_id"] for e in listed] == list(reversed(event_ids))

    # Memory is bounded: what is left does not grow with the runs (but for idempotency
    # claims, which expire), and the finish events the runs emitted left too.
    def settled() -> bool:
        return set(d.kinds()) <= CONSTANT_KINDS

    wait_until(settled, timeout=60, interval=0.2, message=f"only {CONSTANT_KINDS}")
    kinds = d.kinds()
    assert kinds["idem"] == RUNS, kinds
    left = len(d.redis_keys())
    assert left - kinds["idem"] <= baseline + len(CONSTANT_KINDS), (baseline, kinds)
    assert left < hot_keys, (left, hot_keys)

    # A trimmed run can still be rerun from a step: its step results come from PostgreSQL.
    run_id, k0 = run_ids[0], f"{tag}-0"
    steps = {s["name"]: s["step_id"] for s in before[0]["steps"]["data"]}
    r = api.http.post(f"/v1/runs/{run_id}/rerun", json={"from_step": steps["b"]})
    assert r.status_code == 200, r.text
    new = api.wait_run_status(r.json()["data"]["run_id"], "Completed")
    assert new["output"] == before[0]["run"]["data"]["output"]
    counts = d.app.counts()
    assert (counts[f"a:{k0}"], counts[f"b:{k0}"]) == (1, 2), counts
    assert "Traceback" not in d.server.log_text(), d.server.log_tail()
