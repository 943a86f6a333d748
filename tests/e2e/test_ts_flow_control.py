"""Flow control declared through the TypeScript SDK's own option shapes (ts_app fc-*
functions: `concurrency: 1` as a bare number, `throttle`, `rateLimit`, `idempotency`,
`debounce`, `batchEvents`, `singleton`), with and without checkpointing."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest

from tests.e2e.conftest import SdkStack
from tests.e2e.harness import fmt, uid, wait_until


@pytest.fixture(params=["typescript", "typescript-no-checkpoint"])
def ts(request: pytest.FixtureRequest) -> SdkStack:
    name = "ts_stack" if request.param == "typescript" else "ts_stack_no_checkpoint"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


def _runs(ts: SdkStack, eids: list[str], fn: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for eid in eids:
        out += [
            r for r in ts.api.runs_for_event(eid) if r["function_id"] == ts.slug(fn)
        ]
    return out


def _all_ended(ts: SdkStack, eids: list[str], fn: str, n: int) -> list[dict[str, Any]]:
    def check() -> list[dict[str, Any]] | None:
        runs = _runs(ts, eids, fn)
        ended = [r for r in runs if r["status"] in ("Completed", "Skipped", "Failed")]
        return runs if len(ended) == n and len(runs) == n else None

    return wait_until(check, 30, message=f"{n} ended {fn} runs")


def test_concurrency_number_serialises_steps(ts: SdkStack) -> None:
    k = uid()
    eids = ts.api.send(
        [
            {"name": "e2e-ts/fc-concurrency", "data": {"k": f"{k}-{i}", "work_ms": 500}}
            for i in range(3)
        ]
    )
    runs = _all_ended(ts, eids, "fc-concurrency", 3)
    assert all(r["status"] == "Completed" for r in runs), fmt(runs)
    spans = sorted((r["output"]["start"], r["output"]["end"]) for r in runs)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end - 0.01, f"steps overlapped under concurrency 1: {spans}"


def test_throttle_spaces_starts(ts: SdkStack) -> None:
    k = uid()
    eids = ts.api.send(
        [{"name": "e2e-ts/fc-throttle", "data": {"k": f"{k}-{i}"}} for i in range(3)]
    )
    runs = _all_ended(ts, eids, "fc-throttle", 3)
    assert all(r["status"] == "Completed" for r in runs), fmt(runs)
    starts = sorted(r["output"]["start"] for r in runs)
    assert starts[2] - starts[0] >= 3.5, f"throttle 1/2s did not space: {starts}"


def test_rate_limit_and_idempotency_skip(ts: SdkStack) -> None:
    k = uid()
    rate = ts.api.send(
        [{"name": "e2e-ts/fc-rate-limit", "data": {"k": k}} for _ in range(2)]
    )
    idem = ts.api.send(
        [
            {"name": "e2e-ts/fc-idempotency", "data": {"k": k, "order": f"o-{k}"}},
            {"name": "e2e-ts/fc-idempotency", "data": {"k": k, "order": f"o-{k}"}},
        ]
    )
    for eids, fn in ((rate, "fc-rate-limit"), (idem, "fc-idempotency")):
        time.sleep(0.5)
        wait_until(
            lambda eids=eids, fn=fn: [
                r for r in _runs(ts, eids, fn) if r["status"] == "Completed"
            ],
            20,
            message=f"a completed {fn} run",
        )
        time.sleep(1)
        completed = [r for r in _runs(ts, eids, fn) if r["status"] == "Completed"]
        assert len(completed) == 1, f"{fn}: {fmt(_runs(ts, eids, fn))}"
    assert ts.app.count(f"fc-rate-limit:work:{k}") == 1
    assert ts.app.count(f"fc-idempotency:work:{k}") == 1


def test_debounce_runs_once_with_the_last_event(ts: SdkStack) -> None:
    k = uid()
    ts.api.send_one("e2e-ts/fc-debounce", {"k": k, "seq": 1})
    time.sleep(0.5)
    ts.api.send_one("e2e-ts/fc-debounce", {"k": k, "seq": 2})
    wait_until(
        lambda: ts.app.count(f"fc-debounce:work:{k}") >= 1, 20, message="debounced run"
    )
    time.sleep(2.5)
    assert ts.app.count(f"fc-debounce:work:{k}") == 1


def test_batch_events(ts: SdkStack) -> None:
    k = uid()
    eids = ts.api.send(
        [{"name": "e2e-ts/fc-batch", "data": {"k": k, "seq": i}} for i in range(3)]
    )
    wait_until(lambda: ts.app.count(f"fc-batch:run:{k}") >= 1, 20, message="batch")

    def completed() -> dict[str, Any] | None:
        for eid in eids:
            for r in ts.api.runs_for_event(eid):
                if r["status"] == "Completed":
                    return r
        return None

    run = wait_until(completed, 20, message="the batch run to complete")
    assert run["output"] == {"k": k, "seqs": [0, 1, 2]}, fmt(run)
    assert ts.app.count(f"fc-batch:run:{k}") == 1


def test_singleton_skip(ts: SdkStack) -> None:
    k = uid()
    first = ts.api.send_one("e2e-ts/fc-singleton", {"k": k, "work_ms": 1500})
    wait_until(
        lambda: ts.app.count(f"fc-singleton:work:{k}") == 1, 20, message="first run"
    )
    second = ts.api.send_one("e2e-ts/fc-singleton", {"k": k, "work_ms": 10})
    ts.api.wait_for_run(second, "Skipped", timeout=20)
    ts.api.wait_for_run(first, "Completed", timeout=20)
    assert ts.app.count(f"fc-singleton:work:{k}") == 1
